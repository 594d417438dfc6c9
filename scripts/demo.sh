#!/usr/bin/env bash
# The main job (`npm run demo`): sets up everything, then migrates a sample app on the local stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
node --import tsx src/dev/demo.ts
