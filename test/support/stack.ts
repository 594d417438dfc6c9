// Where the local stack is, for tests. A test that needs the stack fails loudly when it is not up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readEnvFile } from '../../src/config/worker-config.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');


/** The settings scripts/stack/up.sh wrote; throws with what to do when the stack was never started. */
export function stackEnv(): Record<string, string> {
  const dir = process.env.KUBEFERRY_STATE ?? path.join(repoRoot, '.stack');
  const file = path.join(dir, 'stack.env');
  if (!fs.existsSync(file)) {
    throw new Error(`the local stack is not up (${file} is missing): run 'npm run stack:up' first, or 'npm test' which starts it`);
  }
  return readEnvFile(file);
}

/** The time-skipping test server binary installed by scripts/stack/install.sh. */
export function timeSkippingServerPath(): string {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) return fromEnv;
  const versions = readEnvFile(path.join(repoRoot, 'scripts/stack/versions.env'));
  const cache = process.env.KUBEFERRY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'kubeferry');
  const exe = path.join(cache, `temporal-test-server-${versions.TEMPORAL_TEST_SERVER_PY_VERSION}`, 'bin', 'temporal-test-server');
  if (!fs.existsSync(exe)) {
    throw new Error(`the Temporal time-skipping test server is not installed (${exe}): run 'bash scripts/stack/install.sh temporal'`);
  }
  return exe;
}
