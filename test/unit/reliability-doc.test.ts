// docs/reliability.md lists every fault and bad-input case the tests try, and what was lost (nothing).
// This keeps the document and the tests in step: a case added without a row, or a row naming a case
// that no longer exists, fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const doc = read('docs/reliability.md');

/** Rows of the markdown table under a heading, as cells. */
function table(heading: string): string[][] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  assert.ok(section, `docs/reliability.md has no section "## ${heading}"`);
  return section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'))
    .slice(1).map((l) => l.slice(2, -2).split(' | '));
}

/** The bad-input cases as the test declares them: name, where refused, failure type. */
function badInputCases(): { name: string; at: string; type: string; client: boolean }[] {
  const source = read('test/integration/bad-input.test.ts');
  const body = source.slice(source.indexOf('const cases: Case[] = ['));
  const starts = [...body.matchAll(/^ {2}\{ name: '([^']+)'/gm)];
  return starts.map((m, i) => {
    const chunk = body.slice(m.index, starts[i + 1]?.index ?? body.length);
    const expect = /expect: \{ at: '([A-Za-z]+)', type: '([A-Za-z]+)'/.exec(chunk);
    assert.ok(expect, `case "${m[1]}" has no expect: { at, type }`);
    return { name: m[1]!, at: expect[1]!, type: expect[2]!, client: /\bclient: \//.test(chunk) };
  });
}

describe('docs/reliability.md', () => {
  it('has a row for every fault test, and every row is a fault test; nothing was lost', () => {
    const titles = ['test/integration/worker-crash.test.ts', 'test/integration/stack-faults.test.ts', 'test/integration/network-faults.test.ts', 'test/integration/backup-attempts.test.ts']
      .flatMap((f) => [...read(f).matchAll(/^ {2}it\('([^']+)'/gm)].map((m) => m[1]!));
    assert.ok(titles.length >= 7, `fault tests: ${titles.length}`);
    const rows = table('Faults');
    assert.deepEqual(rows.map((r) => r[1]).sort(), [...titles].sort());
    for (const r of rows) assert.equal(r[2], 'nothing', `lost in "${r[0]}"`);
  });

  it('has a row for every bad-input case with where it is refused and its failure type; nothing was lost', () => {
    const cases = badInputCases();
    assert.ok(cases.length >= 30, `bad-input cases: ${cases.length}`);
    const rows = table('Bad input');
    assert.deepEqual(rows.map((r) => r[0]), cases.map((c) => c.name));
    cases.forEach((c, i) => {
      const [, where, type, lost] = rows[i]!;
      assert.equal(where, c.at === 'workflow' ? (c.client ? 'the client, and the workflow (plain JSON)' : 'the workflow') : c.at, c.name);
      assert.equal(type, `\`${c.type}\``, c.name);
      assert.equal(lost, 'nothing', c.name);
    });
  });
});
