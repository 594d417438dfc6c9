#!/usr/bin/env bash
# The test command (`npm test`): sets up everything, then lint, unit, workflow (time-skipping) and
# integration tests against the real local stack, in one run of node's test runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/use-node.sh   # Node 24 for this script too, not only for setup.sh (a child)
bash scripts/setup.sh
echo "[test] lint: tsc + eslint (workflow determinism rules) + dependency-cruiser (the floors of src/)"
npx tsc --noEmit
npx eslint .
npx depcruise src --config .dependency-cruiser.cjs
echo "[test] node --test"
node --import tsx --test --test-reporter=spec --test-concurrency=1 \
  test/unit/*.test.ts test/workflow/*.test.ts test/integration/*.test.ts
