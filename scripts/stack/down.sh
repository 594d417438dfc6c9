#!/usr/bin/env bash
# Stops what scripts/stack/up.sh started, by the PIDs it recorded, and nothing else.
# The kwok clusters and the real nodes are deleted (up.sh creates them anew in seconds); --purge also deletes the rest of the
# stack's state under .stack/ (Temporal database, S3 data).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
[[ "${1:-}" == "--purge" ]] && purge=true
[[ -d "$STATE_DIR" ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }
source "$STACK_DIR/real-nodes.sh"

# Real nodes first, while their API servers and containerds still answer: their pods are removed through
# containerd, their mounts, bridges and cgroups with them.
for name in source target; do real_node_down "$name"; done

for pidfile in "$STATE_DIR"/pids/*.pid; do
  [[ -f "$pidfile" ]] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(stop_pidfile "$pidfile")
  [[ -z $pid ]] || log "$name: stopped (pid $pid)"
done

export KWOK_WORKDIR="$STATE_DIR/kwok" PATH="$K8S_DIR/bin:$KWOK_DIR/bin:$PATH"
# Clusters are deleted either way: kwok clusters do not survive a stop well, and up.sh makes new ones in
# seconds. Temporal's database and the S3 data are kept unless --purge.
for name in source target; do
  [[ -d "$KWOK_WORKDIR/clusters/kf-$name" ]] || continue
  kwokctl --name "kf-$name" delete cluster --kubeconfig "$STATE_DIR/kwok/merged-kubeconfig.yaml" >/dev/null 2>&1 || true
  log "cluster $name: deleted"
done
if $purge; then rm -rf "$STATE_DIR"; log "state removed: $STATE_DIR"; fi
