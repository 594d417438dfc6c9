# Shared settings for the local-stack scripts. Sourced, never run.
# Built binaries are cached OUTSIDE the checkout, one folder per component and version,
# so a fresh clone (as CI uses) reuses them. Runtime state lives inside the checkout.

STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$STACK_DIR/../.." && pwd)"
# shellcheck source=versions.env
source "$STACK_DIR/versions.env"

CACHE_DIR="${KUBEFERRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeferry}"
STATE_DIR="${KUBEFERRY_STATE:-$REPO_DIR/.stack}"

K8S_DIR="$CACHE_DIR/kubernetes-$KUBERNETES_VERSION"
ETCD_DIR="$CACHE_DIR/etcd-$ETCD_VERSION"
KWOK_DIR="$CACHE_DIR/kwok-$KWOK_VERSION"
VERSITYGW_DIR="$CACHE_DIR/versitygw-$VERSITYGW_VERSION"
GATEWAY_API_DIR="$CACHE_DIR/gateway-api-$GATEWAY_API_VERSION"
TEMPORAL_DIR="$CACHE_DIR/temporal-cli-$TEMPORAL_CLI_PY_VERSION"
TEMPORAL_TS_DIR="$CACHE_DIR/temporal-test-server-$TEMPORAL_TEST_SERVER_PY_VERSION"
KUBELET_DIR="$CACHE_DIR/kubelet-$KUBERNETES_VERSION"
CONTAINERD_DIR="$CACHE_DIR/containerd-$CONTAINERD_VERSION"
CNI_DIR="$CACHE_DIR/cni-plugins-$CNI_PLUGINS_VERSION"
CRI_TOOLS_DIR="$CACHE_DIR/cri-tools-$CRI_TOOLS_VERSION"
LOCAL_PATH_DIR="$CACHE_DIR/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION"
# The image tool is the stack's own code: its folder is named after its source's hash too.
IMAGE_TOOL_DIR="$CACHE_DIR/image-tool-$GO_CONTAINERREGISTRY_VERSION-$(sha256sum "$STACK_DIR/image-tool/main.go" | cut -c1-12)"
PAUSE_DIR="$CACHE_DIR/pause-$KUBERNETES_VERSION"

# Loopback ports of the stack. Tests and the worker read the same values from .stack/stack.env.
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
S3_PORT="${S3_PORT:-7070}"
SOURCE_APISERVER_PORT="${SOURCE_APISERVER_PORT:-16443}"
TARGET_APISERVER_PORT="${TARGET_APISERVER_PORT:-26443}"
HAPROXY_FRONTEND_PORT="${HAPROXY_FRONTEND_PORT:-18080}"
HAPROXY_ADMIN_PORT="${HAPROXY_ADMIN_PORT:-18099}"
SOURCE_APP_PORT="${SOURCE_APP_PORT:-18081}"
TARGET_APP_PORT="${TARGET_APP_PORT:-18082}"

export GOTOOLCHAIN=local

log() { printf '\033[1m[stack]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[stack] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Waits until a command succeeds, or fails with the given message after $2 seconds.
wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
  log "$what is ready"
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process a pidfile names (its process group too, when it leads one: every start is setsid),
# with TERM and, after <seconds>, KILL; then removes the pidfile. Prints the pid when it was running.
stop_pidfile() { # <pidfile> [seconds, default 5]
  [[ -f $1 ]] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < ${2:-5} * 4; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
    echo "$pid"
  fi
  rm -f "$1"
}

# A local cluster's kwokctl folder (pki/, kubeconfig.yaml), under the stack's state.
cluster_dir() { echo "$STATE_DIR/kwok/clusters/kf-$1"; }
kubeconfig_of() { echo "$(cluster_dir "$1")/kubeconfig.yaml"; }
