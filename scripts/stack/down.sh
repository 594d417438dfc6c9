#!/usr/bin/env bash
# Stops what scripts/stack/up.sh started, by the PIDs it recorded, and nothing else.
# --purge also deletes the stack's state (clusters, Temporal database, S3 data) under .stack/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
[[ "${1:-}" == "--purge" ]] && purge=true
[[ -d "$STATE_DIR" ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }

for pidfile in "$STATE_DIR"/pids/*.pid; do
  [[ -f "$pidfile" ]] || continue
  name=$(basename "$pidfile" .pid) pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
    log "$name: stopped (pid $pid)"
  fi
  rm -f "$pidfile"
done

export KWOK_WORKDIR="$STATE_DIR/kwok" PATH="$K8S_DIR/bin:$KWOK_DIR/bin:$PATH"
for name in source target; do
  [[ -d "$KWOK_WORKDIR/clusters/kf-$name" ]] || continue
  if $purge; then
    kwokctl --name "kf-$name" delete cluster --kubeconfig "$STATE_DIR/kwok/merged-kubeconfig.yaml" >/dev/null 2>&1 || true
    log "cluster $name: deleted"
  else
    kwokctl --name "kf-$name" stop cluster >/dev/null 2>&1 || true
    log "cluster $name: stopped (state kept; up.sh starts it again)"
  fi
done
if $purge; then rm -rf "$STATE_DIR"; log "state removed: $STATE_DIR"; fi
