#!/usr/bin/env bash
# Everything both README commands need on a fresh machine: Node 24 (installed if the machine's is older),
# the Node dependencies, the local stack's components (built once, cached in ~/.cache/kubeferry), and the
# stack itself, started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/use-node.sh   # Node >= 24.11 on PATH, installed into the cache if this machine's is older
# node_modules is installed anew when it was installed by another Node major (its marker says which).
major=$(node -p 'process.versions.node.split(".")[0]')
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ||
  $(cat node_modules/.kubeferry-node-major 2>/dev/null) != "$major" ]]; then
  echo "[setup] npm ci (Node $(node --version))"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$major" >node_modules/.kubeferry-node-major
fi
bash scripts/stack/up.sh
