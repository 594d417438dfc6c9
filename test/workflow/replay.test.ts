// Determinism: the saved histories of representative runs (test/histories/*.json, recorded by
// `npm run histories:record`) replay against the current workflow code. A workflow change that would
// break running migrations fails here; such a change goes behind patched() (see
// src/workflows/migration/legacy.ts), and the *.pre-patch.json and *.pre-<name>-patch.json histories, recorded
// with the code before a patch, keep the old branch tested.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker, bundleWorkflowCode, type ReplayResult, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowsPath } from '../../src/worker.js';
import { quietRuntime } from '../support/runtime.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const historiesDir = path.join(repoRoot, 'test/histories');
const files = fs.existsSync(historiesDir) ? fs.readdirSync(historiesDir).filter((f) => f.endsWith('.json')).sort() : [];

/** A history does not carry its workflow id; the file is named after it (up to the first dot), and migrateCluster validates it. */
const workflowIdOf = (file: string) => file.split('.')[0]!;
/** A history as `temporal workflow show -o json` writes it; the replayer itself turns it into protobuf. */
interface HistoryJson { events?: { markerRecordedEventAttributes?: { markerName?: string } }[] }
const load = (file: string): HistoryJson => JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'));
const patchMarkers = (history: HistoryJson) =>
  (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length;

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never;

/** Bundles workflow code (this repository's, or a changed copy in a temporary folder), resolving packages from this repository. */
function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, modules: [...(config.resolve?.modules ?? ['node_modules']), path.join(repoRoot, 'node_modules')] },
    }),
    logger: silent,
  });
}

/** A copy of src/ in a temporary folder with a workflow file edited; throws when an edit no longer applies. */
function changedCopy(tmp: string, name: string, workflowFile: string, edits: [from: string, to: string][]): string {
  const src = path.join(tmp, name, 'src');
  fs.cpSync(path.join(repoRoot, 'src'), src, { recursive: true });
  const file = path.join(src, 'workflows', workflowFile);
  let code = fs.readFileSync(file, 'utf8');
  for (const [from, to] of edits) {
    assert.ok(code.includes(from), `src/workflows/${workflowFile} no longer contains ${JSON.stringify(from)}: update the ${name} edit in test/workflow/replay.test.ts`);
    code = code.replace(from, () => to);
  }
  fs.writeFileSync(file, code);
  return file;
}

const replay = (workflowBundle: WorkflowBundleWithSourceMap, file: string) =>
  Worker.runReplayHistory({ workflowBundle, replayName: file }, load(file), workflowIdOf(file));

const rejectsAsNondeterministic = (replaying: Promise<void>) =>
  assert.rejects(replaying, (err: unknown) => {
    assert.ok(err instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(err)}`);
    return true;
  });

let tmp: string;
/** The outcome of replaying each file against the current code (one replay worker for all of them). */
const replayed = new Map<string, ReplayResult>();

before(async () => {
  quietRuntime();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-replay-'));
  const current = await bundle(workflowsPath);
  const results = Worker.runReplayHistories({ workflowBundle: current, replayName: 'saved histories' },
    files.map((file) => ({ history: load(file), workflowId: workflowIdOf(file) })));
  let i = 0;
  for await (const result of results) replayed.set(files[i++]!, result);
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('saved workflow histories replay against the current workflow code', () => {
  it('has histories to replay', () => {
    assert.ok(files.length > 0, `no histories in ${historiesDir}: record them with 'npm run histories:record'`);
    assert.ok(files.some((f) => /^[^.]+\.json$/.test(f)), 'only pre-patch histories: record the current ones too');
  });

  for (const file of files) {
    it(`replays ${file}`, () => {
      const result = replayed.get(file);
      assert.ok(result, `${file} was not replayed`);
      if (result.error) throw result.error;
    });
  }

  it('covers both branches of each patch: a *.pre-patch.json (or *.pre-<name>-patch.json) history lacks the patch marker its counterpart has', () => {
    for (const file of files.filter((f) => /\.pre-([a-z-]+-)?patch\.json$/.test(f))) {
      const counterpart = `${workflowIdOf(file)}.json`;
      assert.ok(files.includes(counterpart), `${file} has no counterpart ${counterpart} recorded with the current code`);
      assert.ok(patchMarkers(load(counterpart)) > patchMarkers(load(file)), `${counterpart} has no patch marker that ${file} lacks`);
    }
  });
});

describe('the replay check catches a workflow change that breaks running migrations', () => {
  it('fails with DeterminismViolationError when a workflow starts a timer where it used to call an activity', async () => {
    // backups.ts alone bundles in a moment (migrate-cluster.ts brings the request schema along).
    const file = changedCopy(tmp, 'timer-first', 'backups.ts', [
      ["import { proxyActivities } from '@temporalio/workflow';", "import { proxyActivities, sleep } from '@temporalio/workflow';"],
      ['  return list({ storage, limit });', "  await sleep('1s');\n  return list({ storage, limit });"],
    ]);
    await rejectsAsNondeterministic(replay(await bundle(file), 'list-backups.json'));
  });

  it('fails with DeterminismViolationError when the held-step fix is not behind patched(): the pre-patch history breaks', async () => {
    const history = 'held-step-timeout.pre-patch.json';
    assert.ok(files.includes(history), `${history} is missing: record it with the workflow code before commit dbae331 (see scripts/record-histories.ts)`);
    const file = changedCopy(tmp, 'unpatched', 'migration/legacy.ts', [["patched('failed-phase-after-traffic-rollback')", 'true']]);
    await rejectsAsNondeterministic(replay(await bundle(path.join(path.dirname(file), '..', 'index.ts')), history));
  });
});
