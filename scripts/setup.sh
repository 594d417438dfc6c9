#!/usr/bin/env bash
# Everything both README commands need on a fresh machine: Node dependencies, the local stack's
# components (built once, cached in ~/.cache/kubeferry), and the stack itself, started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[[ $major -ge 20 ]] || { echo "kubeferry needs Node.js 20.11 or newer (found: $(node --version 2>/dev/null || echo none))" >&2; exit 1; }
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/stack/up.sh
