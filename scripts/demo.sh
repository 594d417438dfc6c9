#!/usr/bin/env bash
# The main job (`npm run demo`): sets up everything, then migrates a sample app on the local stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/use-node.sh   # Node 24 for this script too, not only for setup.sh (a child)
bash scripts/setup.sh
node --import tsx src/dev/demo.ts
