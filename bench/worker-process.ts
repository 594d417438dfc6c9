// The kubeferry worker as its own process, as in production, so that its memory is its own: peak
// resident set size from the kernel (VmHWM), and samples of the current one (VmRSS) per phase.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface WorkerProcess {
  pid: number;
  /** Resident memory now, in MB. */
  rssMB(): number;
  /** The kernel's high-water mark of resident memory since the process started, in MB. */
  peakRssMB(): number;
  stop(): Promise<void>;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!kb) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(kb[1]) / 1024;
}

/**
 * Bundles the workflows in a process of its own first, as a production image does at build time
 * (scripts/bundle-workflows.ts), then starts the worker on that bundle.
 */
export async function startWorkerProcess(repoRoot: string, configFile: string, taskQueue: string, logFile: string): Promise<WorkerProcess> {
  const bundle = path.join(path.dirname(logFile), 'workflow-bundle.js');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/bundle-workflows.ts'), bundle], { stdio: ['ignore', 'ignore', 'inherit'] });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/worker.ts')], {
    env: { ...process.env, KUBEFERRY_CONFIG: configFile, KUBEFERRY_TASK_QUEUE: taskQueue, KUBEFERRY_WORKFLOW_BUNDLE: bundle },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.createWriteStream(logFile);
  let head = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start within 90 s; its output: ${logFile}`)), 90_000);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (head.length < 10_000) head += chunk.toString();
      if (head.includes('kubeferry worker: task queue')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => log.write(c));
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the worker exited with ${code} before polling; its output: ${logFile}\n${head}`)); });
  });
  child.removeAllListeners('exit');
  const pid = child.pid!;
  return {
    pid,
    rssMB: () => statusField(pid, 'VmRSS'),
    peakRssMB: () => statusField(pid, 'VmHWM'),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => { log.end(); resolve(); });
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }),
  };
}
