#!/usr/bin/env node
// `npx kubeferry` from the checkout: runs the TypeScript command line through tsx, no build step.
import { register } from 'tsx/esm/api';

// `kubeferry list | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
register();
const { run } = await import('../src/cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
