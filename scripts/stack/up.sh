#!/usr/bin/env bash
# Starts the whole local stack on 127.0.0.1, building what is missing first (cached outside the checkout):
#   Temporal dev server + Web UI, versitygw (S3), two Kubernetes clusters "source" and "target"
#   (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes, and one REAL node each:
#   containerd + kubelet + local-path-provisioner, see real-nodes.sh), Gateway API CRDs, HAProxy, and one
#   HTTP entry point ("edge") per cluster. Idempotent: what already runs is left alone.
# Writes .stack/stack.env (ports, paths; `source` it) and .stack/kubeferry.yaml (the worker's config).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$STACK_DIR/../use-node.sh"   # the edges below run `node --import tsx`
source "$STACK_DIR/real-nodes.sh"

bash "$STACK_DIR/install.sh" all
mkdir -p "$STATE_DIR"/{logs,pids,temporal,s3/data,s3/meta,haproxy,kwok}
chmod 700 "$STATE_DIR"
LOGS="$STATE_DIR/logs" PIDS="$STATE_DIR/pids"

# Starts a long-running process in its own session, recording its PID for down.sh.
start_bg() { # <name> <command...>
  local name="$1"; shift
  if pid_alive "$PIDS/$name.pid"; then log "$name: already running (pid $(cat "$PIDS/$name.pid"))"; return 1; fi
  setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! >"$PIDS/$name.pid"
  log "$name: started (pid $!, log $LOGS/$name.log)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
require_port() { # <port> <what>
  port_free "$1" || die "port 127.0.0.1:$1 for $2 is taken by another process (see 'ss -ltnp sport = :$1'); stop it or set the port variable in scripts/stack/lib.sh"
}

# --- S3 credentials: made once per state folder, readable only by this user ------------------
if [[ ! -f "$STATE_DIR/s3-credentials.env" ]]; then
  umask 077
  printf 'AWS_ACCESS_KEY_ID=kf%s\nAWS_SECRET_ACCESS_KEY=%s\n' \
    "$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    >"$STATE_DIR/s3-credentials.env"
  umask 022
fi
set -a; source "$STATE_DIR/s3-credentials.env"; set +a
# The key that encrypts Secret archives in S3 (AES-256-GCM); it stays on the worker's side.
if [[ ! -f "$STATE_DIR/backup-key" ]]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE_DIR/backup-key")
fi

# --- Temporal dev server with Web UI ---------------------------------------------------------
SEARCH_ATTRIBUTES=(MigrationId=Keyword MigrationPhase=Keyword TrafficWeight=Int ReadyPercent=Int
  SourceCluster=Keyword TargetCluster=Keyword MigrationTask=Keyword)
if ! pid_alive "$PIDS/temporal.pid"; then
  require_port "$TEMPORAL_PORT" "Temporal"; require_port "$TEMPORAL_UI_PORT" "the Temporal Web UI"
  sa_flags=(); for sa in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa"); done
  start_bg temporal "$TEMPORAL_DIR/bin/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --db-filename "$STATE_DIR/temporal/temporal.db" --namespace default \
    --log-level warn "${sa_flags[@]}"
fi

# --- versitygw: S3 on a posix folder, metadata in a sidecar folder ----------------------------
if ! pid_alive "$PIDS/versitygw.pid"; then
  require_port "$S3_PORT" "versitygw"
  ROOT_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    start_bg versitygw "$VERSITYGW_DIR/bin/versitygw" --port "127.0.0.1:$S3_PORT" --quiet --health /health \
    posix --sidecar "$STATE_DIR/s3/meta" "$STATE_DIR/s3/data"
fi

# --- Two Kubernetes clusters through kwokctl's binary runtime --------------------------------
export KWOK_WORKDIR="$STATE_DIR/kwok"
export PATH="$K8S_DIR/bin:$KWOK_DIR/bin:$PATH"   # kwokctl calls kubectl
kwokctl_config() { # <cluster name>: its kwokctl configuration (the kubelet client certificate is its own)
  local pki; pki="$(cluster_dir "$1")/pki"
  cat >"$STATE_DIR/kwok/kwokctl-$1.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
  disableQPSLimits: true
# One controller manager and one scheduler per cluster: without leader election they ride out an API
# server that stops answering (the fault tests freeze it for 30 s) instead of exiting when their lease
# cannot be renewed, which on a real node the kubelet would restart and here nothing does.
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
# The API server reaches a real node's kubelet (logs, exec) at its InternalIP (its host name resolves
# nowhere), with the cluster's admin certificate, which the kubelet's webhook authorizer allows.
- name: kube-apiserver
  extraArgs:
  - key: kubelet-preferred-address-types
    value: InternalIP
  - key: kubelet-client-certificate
    value: $pki/admin.crt
  - key: kubelet-client-key
    value: $pki/admin.key
# kwok manages only its own (annotated) nodes: the real node beside them is its kubelet's.
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
EOF
}
clusters_created=false
cluster_up() { # <name> <apiserver port>
  local name="$1" port="$2" kc
  kc=$(kubeconfig_of "$name")
  if [[ -f "$kc" ]] && kubectl --kubeconfig "$kc" get --raw /readyz >/dev/null 2>&1; then
    log "cluster $name: already running (https://127.0.0.1:$port)"; return
  fi
  if [[ -d "$KWOK_WORKDIR/clusters/kf-$name" ]]; then
    # A stopped kwok cluster restarted with `kwokctl start` comes back with a kwok controller that no
    # longer runs pods; a new cluster takes about ten seconds, so a stopped one is made anew.
    log "cluster $name: not answering; deleting and creating it anew"
    kwokctl --name "kf-$name" delete cluster --kubeconfig "$STATE_DIR/kwok/merged-kubeconfig.yaml" >>"$LOGS/kwokctl-$name.log" 2>&1 || true
  fi
  require_port "$port" "the $name API server"
  clusters_created=true
  log "cluster $name: creating (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)"
  kwokctl_config "$name"
  kwokctl --name "kf-$name" --config "$STATE_DIR/kwok/kwokctl-$name.yaml" create cluster --runtime binary \
    --kube-apiserver-port "$port" --kubeconfig "$STATE_DIR/kwok/merged-kubeconfig.yaml" \
    --kube-apiserver-binary "$K8S_DIR/bin/kube-apiserver" \
    --kube-controller-manager-binary "$K8S_DIR/bin/kube-controller-manager" \
    --kube-scheduler-binary "$K8S_DIR/bin/kube-scheduler" \
    --kwok-controller-binary "$KWOK_DIR/bin/kwok" --etcd-binary "$ETCD_DIR/bin/etcd" \
    --wait 3m >"$LOGS/kwokctl-$name.log" 2>&1 ||
    { tail -20 "$LOGS/kwokctl-$name.log" >&2; die "cluster $name could not be created; see $LOGS/kwokctl-$name.log"; }
  # Fake nodes: kwok marks their pods Running and Ready, so Deployments become Available.
  kwokctl --name "kf-$name" scale node --replicas 2 >>"$LOGS/kwokctl-$name.log" 2>&1
  log "cluster $name: https://127.0.0.1:$port (kubeconfig $kc)"
}
cluster_up source "$SOURCE_APISERVER_PORT"
cluster_up target "$TARGET_APISERVER_PORT"

# Gateway API standard CRDs, server-side (the HTTPRoute CRD is too large for client-side apply).
for name in source target; do
  kubectl --kubeconfig "$(kubeconfig_of "$name")" apply --server-side --force-conflicts \
    -f "$GATEWAY_API_DIR/crds/" >"$LOGS/gateway-api-$name.log" 2>&1 ||
    { tail -5 "$LOGS/gateway-api-$name.log" >&2; die "Gateway API CRDs could not be applied to $name"; }
  # Served only once Established: the first tests list every type at once.
  kubectl --kubeconfig "$(kubeconfig_of "$name")" wait --for=condition=Established crd --all --timeout=60s \
    >>"$LOGS/gateway-api-$name.log" 2>&1 ||
    { tail -5 "$LOGS/gateway-api-$name.log" >&2; die "Gateway API CRDs were not Established in $name within 60 s"; }
done
log "Gateway API $GATEWAY_API_VERSION CRDs applied to both clusters and Established"

# --- One real node per cluster (a cluster made anew gets its node made anew) -------------------
real_node_up source
real_node_up target

# --- HTTP edges: one per cluster, its ingress: proxies to real pods, answers for kwok ones -------
[[ -d "$REPO_DIR/node_modules" ]] || (cd "$REPO_DIR" && npm ci --no-audit --no-fund >"$LOGS/npm-ci.log" 2>&1) ||
  die "npm ci failed; see $LOGS/npm-ci.log"
edge_up() { # <cluster> <port>
  if pid_alive "$PIDS/edge-$1.pid" && $clusters_created; then
    # It watches a cluster that was just made anew (new certificates): start it again.
    kill -TERM "$(cat "$PIDS/edge-$1.pid")"; sleep 1; rm -f "$PIDS/edge-$1.pid"
  fi
  if pid_alive "$PIDS/edge-$1.pid"; then log "edge-$1: already running"; return; fi
  require_port "$2" "the $1 edge"
  start_bg "edge-$1" node --import tsx "$REPO_DIR/src/dev/cluster-edge.ts" --cluster "$1" \
    --kubeconfig "$(kubeconfig_of "$1")" --port "$2" --pod-cidr "$(real_node_cidr "$1")"
}
edge_up source "$SOURCE_APP_PORT"
edge_up target "$TARGET_APP_PORT"

# --- HAProxy: the real data path, weights changed through its runtime API --------------------
cat >"$STATE_DIR/haproxy/haproxy.cfg" <<EOF
# Generated by scripts/stack/up.sh. One backend per migrated entrypoint, a "source" and a "target"
# server each; kubeferry moves traffic by changing their weights on the admin socket.
global
    # expose-fd listeners: a reload hands the listening sockets to the new worker (no refused connection).
    stats socket $STATE_DIR/haproxy/admin.sock mode 600 level admin expose-fd listeners
    stats timeout 10s
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A fresh server connection per request: no race with an edge closing an idle keep-alive connection.
    option http-server-close
    # On a reload the old worker answers the next request of an idle keep-alive client connection (with
    # "Connection: close") instead of closing it under a request already on its way, which would fail it.
    option idle-close-on-response
frontend web
    bind 127.0.0.1:$HAPROXY_FRONTEND_PORT
    default_backend web
backend web
    balance roundrobin
    server source 127.0.0.1:$SOURCE_APP_PORT weight 100
    server target 127.0.0.1:$TARGET_APP_PORT weight 0
EOF
if ! pid_alive "$PIDS/haproxy.pid"; then
  require_port "$HAPROXY_FRONTEND_PORT" "HAProxy"
  haproxy -c -q -f "$STATE_DIR/haproxy/haproxy.cfg" || die "the generated HAProxy configuration is invalid"
  # Master-worker (-W), as a service manager runs it: SIGUSR2 to the master reloads the configuration,
  # which sets runtime weights back to those above (test/integration/stack-faults.test.ts does that).
  start_bg haproxy haproxy -W -db -f "$STATE_DIR/haproxy/haproxy.cfg"
fi

# --- Wait for health ---------------------------------------------------------------------------
wait_for "Temporal (127.0.0.1:$TEMPORAL_PORT)" 60 "$TEMPORAL_DIR/bin/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" ||
  die "Temporal did not become healthy within 60 s; see $LOGS/temporal.log"
wait_for "Temporal Web UI (http://127.0.0.1:$TEMPORAL_UI_PORT)" 30 curl -sf "http://127.0.0.1:$TEMPORAL_UI_PORT/" ||
  die "the Temporal Web UI did not answer within 30 s; see $LOGS/temporal.log"
wait_for "versitygw (http://127.0.0.1:$S3_PORT)" 30 curl -sf "http://127.0.0.1:$S3_PORT/health" ||
  die "versitygw did not answer within 30 s; see $LOGS/versitygw.log"
# The bucket the demo and tests use; creating it twice is harmless (409 BucketAlreadyOwnedByYou).
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
status=$(curl -s -o "$LOGS/create-bucket.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: $empty_sha256" \
  -X PUT "http://127.0.0.1:$S3_PORT/kubeferry") || true
[[ $status == 200 || $status == 409 ]] || die "could not create the S3 bucket 'kubeferry' (HTTP $status): $(cat "$LOGS/create-bucket.xml")"
wait_for "HAProxy (http://127.0.0.1:$HAPROXY_FRONTEND_PORT)" 15 test -S "$STATE_DIR/haproxy/admin.sock" ||
  die "HAProxy did not start; see $LOGS/haproxy.log"
for c in source target; do
  port=$([[ $c == source ]] && echo "$SOURCE_APP_PORT" || echo "$TARGET_APP_PORT")
  wait_for "edge-$c (http://127.0.0.1:$port)" 30 curl -sf "http://127.0.0.1:$port/healthz" ||
    die "edge-$c did not answer within 30 s; see $LOGS/edge-$c.log"
done

cat >"$STATE_DIR/stack.env" <<EOF
# Written by scripts/stack/up.sh: where the local stack listens. Source it, or let the code read it.
KUBEFERRY_STACK_DIR=$STATE_DIR
KUBEFERRY_CONFIG=$STATE_DIR/kubeferry.yaml
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
TEMPORAL_TEST_SERVER=$TEMPORAL_TS_DIR/bin/temporal-test-server
S3_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_CREDENTIALS_FILE=$STATE_DIR/s3-credentials.env
SOURCE_KUBECONFIG=$(kubeconfig_of source)
TARGET_KUBECONFIG=$(kubeconfig_of target)
HAPROXY_URL=http://127.0.0.1:$HAPROXY_FRONTEND_PORT
HAPROXY_ADMIN_SOCKET=$STATE_DIR/haproxy/admin.sock
KUBECTL=$K8S_DIR/bin/kubectl
SOURCE_EDGE_URL=http://127.0.0.1:$SOURCE_APP_PORT
TARGET_EDGE_URL=http://127.0.0.1:$TARGET_APP_PORT
SOURCE_POD_CIDR=$(real_node_cidr source)
TARGET_POD_CIDR=$(real_node_cidr target)
SOURCE_REAL_NODE=$(real_node_name source)
TARGET_REAL_NODE=$(real_node_name target)
SOURCE_CONTAINERD_SOCKET=$(real_node_sock source)
TARGET_CONTAINERD_SOCKET=$(real_node_sock target)
CRICTL=$CRI_TOOLS_DIR/bin/crictl
REAL_NODE_LABEL=$REAL_NODE_LABEL_KEY=$REAL_NODE_LABEL_VALUE
REAL_NODE_TAINT=$REAL_NODE_TAINT_KEY
LOCAL_PATH_STORAGE_CLASS=$LOCAL_PATH_STORAGE_CLASS
TEST_APP_IMAGE=$TEST_APP_IMAGE
BUSYBOX_IMAGE=$BUSYBOX_IMAGE
EOF
cat >"$STATE_DIR/kubeferry.yaml" <<EOF
# kubeferry configuration for the local stack (written by scripts/stack/up.sh). The worker reads all of
# it; the kubeferry CLI reads only temporal, the cluster names, storage.bucket/prefix, routes and
# defaults, never the kubeconfig or credentials files. Migration requests name clusters and buckets only.
clusters:
  source:
    kubeconfig: $(kubeconfig_of source)
  target:
    kubeconfig: $(kubeconfig_of target)
storage:
  endpoint: http://127.0.0.1:$S3_PORT
  region: us-east-1
  forcePathStyle: true
  credentialsFile: $STATE_DIR/s3-credentials.env
  bucket: kubeferry
  prefix: kubeferry
routers:
  haproxy:
    adminSocket: $STATE_DIR/haproxy/admin.sock
backupEncryption:
  keyFile: $STATE_DIR/backup-key
temporal:
  address: 127.0.0.1:$TEMPORAL_PORT
  namespace: default
  taskQueue: kubeferry
  webUi: http://127.0.0.1:$TEMPORAL_UI_PORT
# Routes a request (or --route NAME) can name.
routes:
  web:
    router: haproxy
    backend: web
    workloads: [shop/web]
# Request fields used when neither the request nor a flag sets them.
defaults:
  source: { cluster: source }
  target: { cluster: target }
  traffic: { steps: [10, 25, 50, 100], stepInterval: 5s }
  readiness: { pollInterval: 1s, timeout: 2m }
EOF
log "stack is up. Web UI: http://127.0.0.1:$TEMPORAL_UI_PORT  settings: $STATE_DIR/stack.env"
