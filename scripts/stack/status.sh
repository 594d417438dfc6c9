#!/usr/bin/env bash
# Prints each component of the local stack and whether it answers.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
check() { if "${@:2}" >/dev/null 2>&1; then printf '  %-28s up\n' "$1"; else printf '  %-28s DOWN\n' "$1"; fi; }
echo "kubeferry local stack ($STATE_DIR)"
check "temporal :$TEMPORAL_PORT" "$TEMPORAL_DIR/bin/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"
check "temporal web ui :$TEMPORAL_UI_PORT" curl -sf "http://127.0.0.1:$TEMPORAL_UI_PORT/"
check "versitygw :$S3_PORT" curl -sf "http://127.0.0.1:$S3_PORT/health"
check "cluster source :$SOURCE_APISERVER_PORT" "$K8S_DIR/bin/kubectl" --kubeconfig "$(kubeconfig_of source)" get --raw /readyz
check "cluster target :$TARGET_APISERVER_PORT" "$K8S_DIR/bin/kubectl" --kubeconfig "$(kubeconfig_of target)" get --raw /readyz
check "edge source :$SOURCE_APP_PORT" curl -sf "http://127.0.0.1:$SOURCE_APP_PORT/healthz"
check "edge target :$TARGET_APP_PORT" curl -sf "http://127.0.0.1:$TARGET_APP_PORT/healthz"
check "haproxy :$HAPROXY_FRONTEND_PORT" test -S "$STATE_DIR/haproxy/admin.sock"
source "$STACK_DIR/real-nodes.sh"
for c in source target; do real_node_status "$c"; done
echo "memory (RSS) of the stack's processes:"
total=0
for pidfile in "$STATE_DIR"/pids/*.pid "$STATE_DIR"/kwok/clusters/*/pids/*.pid "$STATE_DIR"/nodes/*/pids/*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid=$(cat "$pidfile"); rss=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ') || continue
  [[ -n "$rss" ]] || continue
  # Include children (the edges run node under setsid; temporal has none).
  for child in $(pgrep -P "$pid" 2>/dev/null); do rss=$((rss + $(ps -o rss= -p "$child" | tr -d ' '))); done
  total=$((total + rss))
  printf '  %-40s %6d MB\n' "$(basename "$(dirname "$(dirname "$pidfile")")")/$(basename "$pidfile" .pid)" $((rss / 1024))
done
printf '  %-40s %6d MB\n' total $((total / 1024))
