// Lint: type-aware TypeScript rules everywhere, plus the Temporal determinism rule for workflow code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The SDK's lib/ paths are its internals: they move between releases without notice.
const sdkInternals = { group: ['@temporalio/*/lib/*'], message: "Import from the package itself (e.g. '@temporalio/common'); lib/ paths are SDK internals." };

// Workflow code is replayed: it may not touch the network, the file system, the clock or randomness
// outside what @temporalio/workflow makes deterministic. Activities are imported as types only.
const forbiddenInWorkflows = {
  patterns: [
    sdkInternals,
    { group: ['node:*'], message: 'Workflow code must not use Node built-ins; do I/O in an activity.' },
    { group: ['@kubernetes/*', '@aws-sdk/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
      message: 'Workflow code must not import I/O clients; call an activity instead.' },
    { group: ['**/activities/*', '**/activities'], allowTypeImports: true,
      message: 'Workflow code imports activities as types only (proxyActivities<typeof ...>).' },
  ],
  paths: ['fs', 'path', 'os', 'net', 'http', 'https', 'crypto', 'child_process', 'zlib', 'stream', 'dns', 'tls',
    'events', 'worker_threads', 'timers', 'process'].map((name) => ({
    name, message: 'Workflow code must not use Node built-ins; do I/O in an activity.',
  })),
};

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', 'test/fixtures/', 'coverage/', 'build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly',
      clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', fetch: 'readonly',
      AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [sdkInternals] }],
    },
  },
  {
    // Deterministic code that workflows use obeys the same rule as workflows.
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', forbiddenInWorkflows],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'Not available in workflow code.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'fetch', message: 'Do network I/O in an activity.' },
        { name: 'Buffer', message: 'Not available in workflow code.' }],
    },
  },
  {
    // Pure logic takes time and randomness as arguments; inside workflows the SDK makes Date replay-safe.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Pure logic takes the current time as an argument.' },
        { object: 'Math', property: 'random', message: 'Pure logic takes randomness as an argument.' }],
    },
  },
);
