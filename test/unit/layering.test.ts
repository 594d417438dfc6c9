// The floors of src/ are enforced by dependency-cruiser (.dependency-cruiser.cjs, run by `npm run lint`).
// Each rule is shown firing here on a small tree of files that breaks it, beside files that keep to it,
// so a rule that stopped matching (a renamed folder, a typo in a pattern) fails this test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '../..');
const cruiser = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const config = join(root, '.dependency-cruiser.cjs');

interface Violation { rule: { name: string }; from: string; to: string }

function cruise(cwd: string): Violation[] {
  let out: string;
  try {
    out = execFileSync(process.execPath, [cruiser, '--config', config, '--output-type', 'json', 'src'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // dependency-cruiser exits non-zero when it finds errors; its JSON report is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
    if (!out) throw err;
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

const tree = mkdtempSync(join(tmpdir(), 'kubeferry-layering-'));
after(() => rmSync(tree, { recursive: true, force: true }));
function files(entries: Record<string, string>) {
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
}

files({
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }),
  'package.json': JSON.stringify({ type: 'module' }),
  // Files that keep to their floors.
  'src/domain/rules.ts': 'export const rule = 1;\n',
  'src/objects/pure.ts': "import { rule } from '../domain/rules.js';\nexport const pure = rule;\n",
  'src/kube/client.ts': "import { pure } from '../objects/pure.js';\nexport const kube = pure;\n",
  'src/store/bucket.ts': "import { rule } from '../domain/rules.js';\nexport const bucket = rule;\n",
  'src/routers/router.ts': "import { kube } from '../kube/client.js';\nexport const router = kube;\n",
  'src/activities/contract.ts': 'export interface Activities { run(): Promise<void> }\nexport const VALUE = 1;\n',
  'src/activities/work.ts': "import { kube } from '../kube/client.js';\nimport { bucket } from '../store/bucket.js';\nimport { router } from '../routers/router.js';\nexport const work = kube + bucket + router;\n",
  'src/workflows/flow.ts': "import type { Activities } from '../activities/contract.js';\nimport { rule } from '../domain/rules.js';\nexport type A = Activities;\nexport const flow = rule;\n",
  'src/dev/demo.ts': "import { work } from '../activities/work.js';\nexport const demo = work;\n",
  // One file per rule that breaks it.
  'src/kube/circle-a.ts': "import { b } from './circle-b.js';\nexport const a = () => b;\n",
  'src/kube/circle-b.ts': "import { a } from './circle-a.js';\nexport const b = () => a;\n",
  'src/domain/impure.ts': "import { pure } from '../objects/pure.js';\nexport const impure = pure;\n",
  'src/objects/calls-api.ts': "import { kube } from '../kube/client.js';\nexport const callsApi = kube;\n",
  'src/workflows/uses-store.ts': "import type { bucket } from '../store/bucket.js';\nexport type B = typeof bucket;\n",
  'src/workflows/value-of-contract.ts': "import { VALUE } from '../activities/contract.js';\nexport const v = VALUE;\n",
  'src/routers/reaches-up.ts': "import { work } from '../activities/work.js';\nexport const up = work;\n",
  'src/store/uses-router.ts': "import { router } from '../routers/router.js';\nexport const r = router;\n",
  'src/kube/uses-store.ts': "import { bucket } from '../store/bucket.js';\nexport const s = bucket;\n",
  'src/activities/starts-workflow.ts': "import { flow } from '../workflows/flow.js';\nexport const f = flow;\n",
  'src/cli/uses-demo.ts': "import { demo } from '../dev/demo.js';\nexport const d = demo;\n",
});

describe('the floors of src/', () => {
  const violations = cruise(tree);
  const found = (rule: string) => violations.filter((v) => v.rule.name === rule).map((v) => v.from).sort();

  it('refuse a circle of imports', () => {
    // A circle is reported once, from one of its files.
    const circles = violations.filter((v) => v.rule.name === 'no-circular');
    assert.equal(circles.length, 1);
    assert.deepEqual([circles[0]!.from, circles[0]!.to].sort(), ['src/kube/circle-a.ts', 'src/kube/circle-b.ts']);
  });

  it('keep domain rules free of every other floor', () => {
    assert.deepEqual(found('domain-is-pure'), ['src/domain/impure.ts']);
  });

  it('keep the rules about objects free of I/O', () => {
    assert.deepEqual(found('objects-are-pure'), ['src/objects/calls-api.ts']);
  });

  it('let workflow code take only domain rules, its own files and the activity contract', () => {
    assert.deepEqual(found('workflows-import-only-types-of-activities'), ['src/workflows/uses-store.ts']);
    assert.deepEqual(found('workflows-take-the-activity-contract-as-types'), ['src/workflows/value-of-contract.ts']);
  });

  it('keep routers below the activities', () => {
    assert.deepEqual(found('routers-below-activities'), ['src/routers/reaches-up.ts']);
  });

  it('keep kube, store, objects, config and domain below everything that uses them', () => {
    assert.deepEqual(found('low-floors-below-activities'), ['src/store/uses-router.ts']);
    assert.deepEqual(found('kube-and-store-apart'), ['src/kube/uses-store.ts']);
  });

  it('keep activities below workflows, the client and the CLI', () => {
    assert.deepEqual(found('activities-below-workflows-and-cli'), ['src/activities/starts-workflow.ts']);
  });

  it('keep product code off the demo', () => {
    assert.deepEqual(found('only-dev-imports-dev'), ['src/cli/uses-demo.ts']);
  });

  it('find nothing else: the files that keep to their floors pass', () => {
    const expected = new Set(['src/kube/circle-a.ts', 'src/kube/circle-b.ts', 'src/domain/impure.ts', 'src/objects/calls-api.ts',
      'src/workflows/uses-store.ts', 'src/workflows/value-of-contract.ts', 'src/routers/reaches-up.ts', 'src/store/uses-router.ts',
      'src/kube/uses-store.ts', 'src/activities/starts-workflow.ts', 'src/cli/uses-demo.ts']);
    assert.deepEqual(violations.filter((v) => !expected.has(v.from)), []);
  });

  it('hold in the project itself', () => {
    assert.deepEqual(cruise(root).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
  });
});
