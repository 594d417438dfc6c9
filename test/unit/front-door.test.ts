// The README's two commands are the product's front door; CI must run exactly those, tests first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/stack.js';

/** The commands of the first `sh` block under the README's "Two commands" heading, without comments. */
export function readmeCommands(readme: string): string[] {
  const section = /^## Two commands\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  assert.ok(section, 'the README has no "## Two commands" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the "Two commands" section has no ```sh block');
  return block.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

/** The commands a CI script runs, in order: every line but comments, shell set-up and traps. */
export function ciCommands(script: string): string[] {
  return script.split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !/^(set|cd|trap|export)\b/.test(l));
}

describe('front door', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const ci = fs.readFileSync(path.join(repoRoot, '.ci/run'), 'utf8');

  it('CI runs both README set-up commands, npm test first and then npm run demo, and nothing else', () => {
    const commands = readmeCommands(readme);
    assert.deepEqual([...commands].sort(), ['npm run demo', 'npm test']);
    assert.deepEqual(ciCommands(ci), ['npm test', 'npm run demo']);
  });

  it('the command check fails when CI leaves out a README command', () => {
    assert.notDeepEqual(ciCommands('#!/usr/bin/env bash\nset -e\nnpm test\n'), ['npm test', 'npm run demo']);
    assert.deepEqual(readmeCommands('## Two commands\n\n```sh\nnpm run demo   # x\nnpm test\n```\n\n## Next\n'), ['npm run demo', 'npm test']);
  });
});
