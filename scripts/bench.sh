#!/usr/bin/env bash
# `npm run bench -- --objects N --json FILE`: sets up everything (as the demo does), then one benchmark
# run on the local stack. Apart from the tests; see docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/use-node.sh   # Node 24 for this script too, not only for setup.sh (a child)
bash scripts/setup.sh >&2
exec node --import tsx bench/run.ts "$@"
