import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAILURE, INPUT_FAILURES, NON_RETRYABLE } from '../../src/domain/failures.js';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('the failure vocabulary', () => {
  it('names each type by itself', () => {
    for (const [key, value] of Object.entries(FAILURE)) assert.equal(key, value);
  });

  it('treats every failure of the request as final, so the CLI never waits on one', () => {
    for (const type of INPUT_FAILURES) assert.ok((NON_RETRYABLE as readonly string[]).includes(type), type);
  });

  it('is the one place failure types are spelled: no source file writes one as a string', () => {
    const spelled = new RegExp(`['"](${Object.keys(FAILURE).join('|')})['"]`);
    const offenders = sources('src').filter((f) => !f.endsWith(join('domain', 'failures.ts')) && spelled.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
