import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planObjectWaves, type PlanNode } from '../../src/domain/dependency-graph.js';
import { buildPlanGraph, toDot, toMermaid } from '../../src/domain/plan-graph.js';

const node = (id: string, refs: string[] = []): PlanNode => ({ id, kind: id.split('/')[0]!, refs });

const app = (ns: string): PlanNode[] => [
  node(`Namespace//${ns}`),
  node(`ServiceAccount/${ns}/web`, [`Namespace//${ns}`]),
  node(`ConfigMap/${ns}/cfg`, [`Namespace//${ns}`]),
  node(`Deployment/${ns}/web`, [`Namespace//${ns}`, `ServiceAccount/${ns}/web`, `ConfigMap/${ns}/cfg`]),
  node(`Service/${ns}/web`, [`Namespace//${ns}`]),
];

test('a small plan is drawn object by object, an arrow from what must exist first', () => {
  const nodes = app('shop');
  const g = buildPlanGraph(nodes, planObjectWaves(nodes));
  assert.equal(g.level, 'object');
  assert.equal(g.nodes.length, 5);
  assert.deepEqual(g.nodes.find((n) => n.id === 'Deployment/shop/web'), { id: 'Deployment/shop/web', label: 'Deployment shop/web', wave: 3, count: 1 });
  assert.ok(g.edges.some((e) => e.from === 'ConfigMap/shop/cfg' && e.to === 'Deployment/shop/web'));
  assert.equal(g.edges.length, 6);
});

test('a big plan is drawn by kind per namespace, then by kind per wave, and stays small', () => {
  const nodes = Array.from({ length: 40 }, (_, i) => [...app(`ns${i}`), node(`ConfigMap/ns${i}/a`), node(`ConfigMap/ns${i}/b`)]).flat();
  const byKind = buildPlanGraph(nodes, planObjectWaves(nodes), 250);
  assert.equal(byKind.level, 'kind');
  assert.equal(byKind.nodes.length, 161, "4 kinds x 40 namespaces, and the 40 Namespaces together");
  assert.deepEqual(byKind.nodes.find((n) => n.id === 'Deployment/ns7'), { id: 'Deployment/ns7', label: '1 Deployment in ns7', wave: 3, count: 1 });
  const byWave = buildPlanGraph(nodes, planObjectWaves(nodes), 80);
  assert.equal(byWave.level, 'wave');
  assert.deepEqual(byWave.nodes.map((n) => n.label), ['40 Namespace', '40 ServiceAccount', '120 ConfigMap', '40 Deployment', '40 Service']);
  assert.ok(byWave.edges.some((e) => e.from === 'ConfigMap@2' && e.to === 'Deployment@3'));
  assert.equal(byWave.nodes.reduce((n, x) => n + x.count, 0), 280);
});

test('a reference dropped to break a cycle is drawn dashed', () => {
  const nodes = [node('Role/a/r', ['RoleBinding/a/b']), node('RoleBinding/a/b', ['Role/a/r'])];
  const plan = planObjectWaves(nodes);
  const g = buildPlanGraph(nodes, plan);
  assert.equal(plan.brokenCycles.length, 1);
  assert.equal(g.edges.filter((e) => e.broken).length, 1);
  assert.match(toMermaid(g), /-\.->/);
  assert.match(toDot(g), /style=dashed, label="cycle broken"/);
});

test('Mermaid and DOT texts: one group per wave, quoted labels, positional Mermaid ids', () => {
  const nodes = app('shop');
  const g = buildPlanGraph(nodes, planObjectWaves(nodes));
  const mermaid = toMermaid(g);
  assert.match(mermaid, /^flowchart LR\n {2}subgraph wave1\["wave 1"\]\n {4}n0\["Namespace shop"\]\n {2}end\n/);
  assert.equal(mermaid.match(/subgraph/g)?.length, 5);
  assert.ok(!/n\d+\["[^"]*\/\/"/.test(mermaid));
  const dot = toDot(g);
  assert.match(dot, /^digraph restore_plan \{/);
  assert.match(dot, /subgraph cluster_wave4 \{\n {4}label="wave 4"; style=dashed;\n {4}"Deployment\/shop\/web" \[label="Deployment shop\/web"\];/);
  assert.match(dot, /"ConfigMap\/shop\/cfg" -> "Deployment\/shop\/web";/);
  assert.equal(dot.match(/style=invis/g)?.length, 4, 'waves kept in order left to right');
});
