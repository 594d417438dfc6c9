// Bundles the workflow code once, ahead of time (`npm run build:workflows`), so that a worker started
// with KUBEFERRY_WORKFLOW_BUNDLE loads it instead of running webpack in its own process: the bundler
// alone takes a few hundred MB of the worker's memory and seconds of its start-up.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../src/worker.js';

const out = path.resolve(process.argv[2] ?? 'build/workflow-bundle.js');
const { code } = await bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} } });
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, code);
console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)`);
