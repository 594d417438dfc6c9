# One REAL node per local cluster, beside its kwok nodes: containerd (its own socket, state and cgroup
# root: two kubelets on one containerd would kill each other's pods), a kubelet of the control plane's
# build registered as kf-<cluster>-real-0, a CNI bridge of its own on a pod range that collides with
# nothing here, and local-path-provisioner for dynamic volumes on that node. Sourced by up.sh, down.sh
# and status.sh, never run.
# shellcheck shell=bash

# Real nodes are labelled and tainted alike in both clusters, so a workload pinned to them by a
# nodeSelector and a toleration is copied as it is; everything else stays on the kwok nodes.
REAL_NODE_LABEL_KEY=kubeferry.io/node
REAL_NODE_LABEL_VALUE=real
REAL_NODE_TAINT_KEY=kubeferry.io/real-node
# Images of the stack's own, imported into each containerd; a pull from anywhere else fails at once.
PAUSE_IMAGE="kubeferry.local/pause:$KUBERNETES_VERSION"
BUSYBOX_IMAGE=kubeferry.local/busybox:1.35.0
TEST_APP_IMAGE=kubeferry.local/test-app:1
LOCAL_PATH_STORAGE_CLASS=local-path

real_node_name() { echo "kf-$1-real-0"; }
real_node_dir() { echo "$STATE_DIR/nodes/$1"; }
real_node_sock() { echo "$(real_node_dir "$1")/containerd.sock"; }
# Per cluster: pod range (10.213.0.0/16 is routed nowhere on this machine), bridge, kubelet ports.
real_node_cidr() { [[ $1 == source ]] && echo 10.213.1.0/24 || echo 10.213.2.0/24; }
real_node_bridge() { echo "kf-$1"0; }
# The bridge's own address: the pods' gateway, and the node's InternalIP (the kubelet refuses a loopback
# one), on which the kubelet listens for the API server (logs, exec, port-forward).
real_node_ip() { local cidr; cidr=$(real_node_cidr "$1"); echo "${cidr%.0/*}.1"; }
real_node_kubelet_port() { [[ $1 == source ]] && echo 10250 || echo 10260; }
real_node_healthz_port() { [[ $1 == source ]] && echo 10248 || echo 10258; }
real_node_cgroup() { echo "/kubeferry-$1"; }
# containerd names each shim's socket after its own: the pattern finds one node's shims (pgrep/pkill -f).
real_node_shims() { echo "containerd-shim-runc-v2 .*-address $(real_node_sock "$1")( |$)"; }
real_ctr() { local c="$1"; shift; "$CONTAINERD_DIR/bin/ctr" --address "$(real_node_sock "$c")" --namespace k8s.io "$@"; }
real_crictl() {
  local c="$1"; shift
  "$CRI_TOOLS_DIR/bin/crictl" --config /dev/null --runtime-endpoint "unix://$(real_node_sock "$c")" --image-endpoint "unix://$(real_node_sock "$c")" --timeout 10s "$@"
}
# The cgroup v1 controllers kubelet's cgroupfs driver writes to (this machine is hybrid: v1 controllers
# plus an empty unified hierarchy), or the unified one on a pure v2 machine.
real_node_cgroup_mounts() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo /sys/fs/cgroup; return; fi
  local d
  for d in /sys/fs/cgroup/*/; do [[ -f "$d/cgroup.procs" && ! -L "${d%/}" ]] && echo "${d%/}"; done
}

# --- images: assembled from files of this machine (see scripts/stack/image-tool/main.go) ------------
# Each tarball is named after the hash of what went into it, so it is built once per content.
real_node_image() { # <ref> <root folder> [image-tool flags...] -> prints the tarball's path
  local ref="$1" root="$2"; shift 2
  local dir="$CACHE_DIR/images" hash tar
  mkdir -p "$dir"
  hash=$( { echo "$ref $*"; cd "$root" && find . -type f -print0 | sort -z | xargs -0 sha256sum && find . ! -type f -printf '%p %y %l\n' | sort; } |
    sha256sum | cut -c1-16)
  local base; base="$dir/$(echo "$ref" | tr '/:' '__')"
  tar="$base-$hash.tar"
  if [[ ! -f $tar ]]; then
    rm -f "$base"-*.tar "$base"-*.tar.log   # earlier contents of the same image
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$tar.layer" . &&
      "$IMAGE_TOOL_DIR/bin/image-tool" -layer "$tar.layer" -tag "$ref" -out "$tar.tmp" "$@" >"$tar.log" 2>&1 &&
      mv "$tar.tmp" "$tar" || { cat "$tar.log" >&2; rm -f "$tar.layer" "$tar.tmp"; die "image $ref could not be built"; }
    rm -f "$tar.layer" "$tar.log"
  fi
  echo "$tar"
}
busybox_root() { # <folder>: /bin/busybox with its applets linked, as the image's /bin
  mkdir -p "$1/bin" "$1/tmp" "$1/etc"
  cp /bin/busybox "$1/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do [[ $applet == busybox ]] || ln -sf busybox "$1/bin/$applet"; done
  chmod 1777 "$1/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"; echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"; echo 'nogroup:x:65534:' >>"$1/etc/group"
}
real_node_image_line() { # <ref> <root folder> [image-tool flags...]: prints "<ref> <tarball>"
  local tar; tar=$(real_node_image "$@") || return 1
  echo "$1 $tar"
}
# Prints "<ref> <tarball>" lines. Its own subshell with `set -e` (a command substitution does not inherit
# it): any step that fails makes it fail, instead of an image built without its files.
real_node_build_images() (
  set -euo pipefail
  local work="$STATE_DIR/nodes/image-roots"
  rm -rf "$work"; mkdir -p "$work"/{pause,busybox,test-app}
  cp "$PAUSE_DIR/bin/pause" "$work/pause/pause"
  real_node_image_line "$PAUSE_IMAGE" "$work/pause" -entrypoint '["/pause"]'
  busybox_root "$work/busybox"
  real_node_image_line "$BUSYBOX_IMAGE" "$work/busybox" -env PATH=/bin -cmd '["sh"]'
  # The test app: this machine's Node binary with the shared libraries it links, busybox for a shell,
  # and src/dev/test-app/server.ts, run by node's type stripping.
  local app="$work/test-app" node lib
  node=$(command -v node)
  busybox_root "$app"
  mkdir -p "$app/usr/local/bin" "$app/app" "$app/data"
  cp "$node" "$app/usr/local/bin/node"
  for lib in $(ldd "$node" | grep -oE '/[^ ]+\.so[^ ]*'); do mkdir -p "$app$(dirname "$lib")"; cp -L "$lib" "$app$lib"; done
  cp "$REPO_DIR/src/dev/test-app/server.ts" "$app/app/server.ts"
  chmod 777 "$app/data"
  real_node_image_line "$TEST_APP_IMAGE" "$app" -entrypoint '["/usr/local/bin/node","/app/server.ts"]' \
    -env PATH=/usr/local/bin:/bin -env NODE_ENV=production -workdir /app -user 65534:65534
  rm -rf "$work"
)

# --- configuration files ----------------------------------------------------------------------
real_node_write_config() { # <cluster>
  local c="$1" dir name pki cluster_pki
  dir=$(real_node_dir "$c") name=$(real_node_name "$c")
  pki="$dir/pki" cluster_pki="$(cluster_dir "$c")/pki"
  mkdir -p "$dir"/{containerd/conf.d,containerd/root,containerd/state,containerd/opt,containerd/certs.d/_default,cni/net.d,cni/ipam,kubelet,pod-logs,local-path,pki}
  # Every registry resolves to a closed loopback port: a pull that would leave the machine fails at once.
  cat >"$dir/containerd/certs.d/_default/hosts.toml" <<'EOF'
# Written by scripts/stack/real-nodes.sh: the local stack has no registry and reaches none.
server = "http://127.0.0.1:9"
EOF
  cat >"$dir/containerd/config.toml" <<EOF
# Written by scripts/stack/real-nodes.sh for the $c cluster's real node.
version = 4
root = "$dir/containerd/root"
state = "$dir/containerd/state"
# Drop-ins from this node's folder, never the machine's /etc/containerd/conf.d: this containerd is the node's.
imports = ["$dir/containerd/conf.d/*.toml"]
[debug]
  level = "warn"
[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = "$(real_node_sock "$c")"
  [plugins.'io.containerd.server.v1.ttrpc']
    address = "$(real_node_sock "$c").ttrpc"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$dir/containerd/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    # Pod network namespaces under this node's state, not the machine's /var/run/netns.
    netns_mounts_under_state_dir = true
    # The kubelet asks for oom_score_adj -998 for sandboxes; lowering it needs CAP_SYS_RESOURCE, which
    # this machine withholds (runc fails with "can't get final child's PID from pipe"). Kept at least
    # containerd's own instead, as for rootless containerd.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$(command -v runc)"
          SystemdCgroup = false
          # runc's state per node, not the machine-wide /run/containerd/runc.
          Root = "$dir/containerd/runc"
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$CNI_DIR/bin"]
      conf_dir = "$dir/cni/net.d"
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins.'io.containerd.internal.v1.opt']
    path = "$dir/containerd/opt"
  # NRI's socket is machine-wide (/var/run/nri): the two nodes' containerds would share it.
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
EOF
  # Pods get an address and a route to their own range, nothing more: no default route, no masquerade,
  # and the bridge plugin leaves forwarding alone (isGateway false; real_node_up gives the bridge its
  # address). So the only traffic is between the host (the bridge address) and the pods.
  cat >"$dir/cni/net.d/10-kubeferry.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "kubeferry-$c",
  "plugins": [
    {
      "type": "bridge", "bridge": "$(real_node_bridge "$c")", "isGateway": false, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$(real_node_cidr "$c")" }]], "dataDir": "$dir/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  # The kubelet's client certificate: system:node:<name> in system:nodes, signed by the cluster's CA, so
  # the Node authorizer limits it to its own node and pods. Made anew when the cluster (its CA) is new.
  if ! openssl verify -CAfile "$cluster_pki/ca.crt" "$pki/kubelet.crt" >/dev/null 2>&1; then
    openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/kubelet.key" -subj "/O=system:nodes/CN=system:node:$name" \
      -out "$pki/kubelet.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$pki/ext.cnf"
    openssl x509 -req -in "$pki/kubelet.csr" -CA "$cluster_pki/ca.crt" -CAkey "$cluster_pki/ca.key" -CAserial "$pki/ca.srl" -CAcreateserial \
      -days 30 -extfile "$pki/ext.cnf" -out "$pki/kubelet.crt" 2>/dev/null || die "could not sign the $c kubelet's certificate with $cluster_pki/ca.key"
    chmod 600 "$pki/kubelet.key"
  fi
  local server
  server=$(grep -m1 'server:' "$(kubeconfig_of "$c")" | awk '{print $2}')
  cat >"$dir/kubelet/kubeconfig.yaml" <<EOF
apiVersion: v1
kind: Config
clusters: [{ name: $c, cluster: { server: "$server", certificate-authority: "$cluster_pki/ca.crt" } }]
users: [{ name: $name, user: { client-certificate: "$pki/kubelet.crt", client-key: "$pki/kubelet.key" } }]
contexts: [{ name: $name, context: { cluster: $c, user: $name } }]
current-context: $name
EOF
  cat >"$dir/kubelet/config.yaml" <<EOF
# Written by scripts/stack/real-nodes.sh for $name.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts cgroup v1 (hybrid): Kubernetes 1.35+ refuses it unless told, and PID 1 is no systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $(real_node_cgroup "$c")
containerRuntimeEndpoint: unix://$(real_node_sock "$c")
address: $(real_node_ip "$c")
port: $(real_node_kubelet_port "$c")
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(real_node_healthz_port "$c")
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$cluster_pki/ca.crt" }
authorization: { mode: Webhook }
registerWithTaints:
- { key: $REAL_NODE_TAINT_KEY, value: "true", effect: NoSchedule }
podLogsDir: $dir/pod-logs
maxPods: 30
failSwapOn: false
clusterDomain: cluster.local
resolvConf: ""
# The stack's images cannot be pulled again: never garbage-collect them; evict only near a full disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2% }
serializeImagePulls: false
shutdownGracePeriod: 0s
EOF
  # local-path-provisioner's settings and StorageClass; its volumes live under this node's folder.
  cat >"$dir/local-path.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: { name: local-path-storage }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: local-path-provisioner, namespace: local-path-storage }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: local-path-config, namespace: local-path-storage }
data:
  config.json: '{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["$dir/local-path"]}]}'
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: { name: helper-pod }
    spec:
      tolerations: [{ operator: Exists }]
      automountServiceAccountToken: false
      containers:
      - { name: helper-pod, image: $BUSYBOX_IMAGE, imagePullPolicy: Never }
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: $LOCAL_PATH_STORAGE_CLASS }
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
# Only the real nodes have the provisioner's folders; kwok nodes run no helper pod.
allowedTopologies:
- matchLabelExpressions: [{ key: $REAL_NODE_LABEL_KEY, values: [$REAL_NODE_LABEL_VALUE] }]
EOF
}

# --- start and stop -----------------------------------------------------------------------------
real_node_up() { # <cluster>
  local c="$1" dir name kc pids logs
  dir=$(real_node_dir "$c") name=$(real_node_name "$c") kc=$(kubeconfig_of "$c")
  pids="$dir/pids" logs="$STATE_DIR/logs"
  if pid_alive "$pids/kubelet.pid" && "$K8S_DIR/bin/kubectl" --kubeconfig "$kc" get node "$name" >/dev/null 2>&1; then
    log "real node $name: already running"; return
  fi
  [[ $EUID -eq 0 ]] || die "the real node $name needs root (a kubelet and containerd mount volumes, make network namespaces and cgroups); run the stack as root, for example in a VM or a CI machine of its own"
  real_node_down "$c"
  local port
  for port in "$(real_node_kubelet_port "$c")" "$(real_node_healthz_port "$c")"; do require_port "$port" "the $c kubelet"; done
  real_node_write_config "$c"
  mkdir -p "$pids"
  local m
  for m in $(real_node_cgroup_mounts); do mkdir -p "$m$(real_node_cgroup "$c")"; done

  setsid "$CONTAINERD_DIR/bin/containerd" --config "$dir/containerd/config.toml" >"$logs/containerd-$c.log" 2>&1 </dev/null &
  echo $! >"$pids/containerd.pid"
  PATH="$CONTAINERD_DIR/bin:$PATH" wait_for "containerd of $name" 30 real_ctr "$c" version ||
    { tail -20 "$logs/containerd-$c.log" >&2; die "containerd for $name did not start; see $logs/containerd-$c.log"; }
  # The images are assembled once for both nodes, in this shell (so a failed build stops the start).
  [[ -n ${REAL_NODE_IMAGES:-} ]] || REAL_NODE_IMAGES=$(real_node_build_images)
  local ref tar
  while read -r ref tar; do
    real_ctr "$c" images import --snapshotter overlayfs "$tar" >>"$logs/containerd-$c.log" 2>&1 ||
      die "importing $ref into $name's containerd failed; see $logs/containerd-$c.log"
  done <<<"$REAL_NODE_IMAGES"
  log "real node $name: images imported ($PAUSE_IMAGE, $BUSYBOX_IMAGE, $TEST_APP_IMAGE)"

  # The bridge exists before the first pod, with the gateway address: the node's IP is on it.
  local bridge; bridge=$(real_node_bridge "$c")
  ip link show "$bridge" >/dev/null 2>&1 || ip link add name "$bridge" type bridge
  ip addr replace "$(real_node_ip "$c")/$(real_node_cidr "$c" | cut -d/ -f2)" dev "$bridge"
  ip link set "$bridge" up
  setsid "$KUBELET_DIR/bin/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/kubelet/kubeconfig.yaml" \
    --root-dir "$dir/kubelet/root" --hostname-override "$name" --node-ip "$(real_node_ip "$c")" \
    --node-labels "$REAL_NODE_LABEL_KEY=$REAL_NODE_LABEL_VALUE" --v 1 >"$logs/kubelet-$c.log" 2>&1 </dev/null &
  echo $! >"$pids/kubelet.pid"
  wait_for "real node $name Ready" 90 "$K8S_DIR/bin/kubectl" --kubeconfig "$kc" wait --for=condition=Ready "node/$name" --timeout=2s ||
    { grep -E '^E|error' "$logs/kubelet-$c.log" | tail -15 >&2; die "the kubelet of $name did not make its node Ready within 90 s; see $logs/kubelet-$c.log"; }

  "$K8S_DIR/bin/kubectl" --kubeconfig "$kc" apply -f "$dir/local-path.yaml" >"$logs/local-path-$c.log" 2>&1 ||
    { tail -5 "$logs/local-path-$c.log" >&2; die "local-path-provisioner's objects could not be applied to $c"; }
  # It runs beside the kubelet, not in a pod: pods here have no route to an API server bound to 127.0.0.1
  # (no kube-proxy). Its helper pods, which make and remove the volume folders, run on the real node.
  setsid "$LOCAL_PATH_DIR/bin/local-path-provisioner" start --kubeconfig "$kc" --provisioner-name rancher.io/local-path \
    --namespace local-path-storage --service-account-name local-path-provisioner --configmap-name local-path-config \
    --helper-image "$BUSYBOX_IMAGE" >>"$logs/local-path-$c.log" 2>&1 </dev/null &
  echo $! >"$pids/local-path.pid"
  log "real node $name: Ready (pods on $(real_node_cidr "$c"), StorageClass $LOCAL_PATH_STORAGE_CLASS)"
}

# Stops the node's processes and removes everything it made: pods (and their network namespaces),
# mounts under its folder, its bridge and cgroups. Its state goes too: its cluster is deleted on every stop.
real_node_down() { # <cluster>
  local c="$1" dir pids name
  dir=$(real_node_dir "$c") name=$(real_node_name "$c")
  pids="$dir/pids"
  [[ -d $dir ]] || return 0
  stop_pidfile "$pids/local-path.pid" 10 >/dev/null
  stop_pidfile "$pids/kubelet.pid" 10 >/dev/null
  # With containerd still up, remove every pod sandbox: that stops its containers and tears down its network.
  if pid_alive "$pids/containerd.pid"; then real_crictl "$c" rmp --all --force >/dev/null 2>&1 || true; fi
  stop_pidfile "$pids/containerd.pid" 10 >/dev/null
  # Shims left by a containerd that died, and their runc containers with them.
  pkill -KILL -f "$(real_node_shims "$c")" 2>/dev/null || true
  local mp
  for _ in 1 2 3; do
    mp=$(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    [[ -n $mp ]] || break
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done <<<"$mp"
  done
  if awk -v d="$dir/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    die "mounts under $dir remain after stopping $name (see /proc/self/mountinfo); not removing its folder"
  fi
  ip link del "$(real_node_bridge "$c")" 2>/dev/null || true
  local m
  for m in $(real_node_cgroup_mounts); do
    if [[ -d "$m$(real_node_cgroup "$c")" ]]; then
      find "$m$(real_node_cgroup "$c")" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
  log "real node $name: stopped and removed"
}

# `status.sh`: each real node's pods and the memory of its processes.
real_node_status() { # <cluster>
  local c="$1" name pids p rss
  name=$(real_node_name "$c") pids="$(real_node_dir "$c")/pids"
  printf '  real node %s:\n' "$name"
  for p in containerd kubelet local-path; do
    if pid_alive "$pids/$p.pid"; then
      rss=$(ps -o rss= -p "$(cat "$pids/$p.pid")" | tr -d ' ')
      printf '    %-26s up   %5d MB\n' "$p" $((rss / 1024))
    else printf '    %-26s DOWN\n' "$p"; fi
  done
  pid_alive "$pids/containerd.pid" || return 0
  local shims=0 pid
  for pid in $(pgrep -f "$(real_node_shims "$c")"); do
    shims=$((shims + $(ps -o rss= -p "$pid" | tr -d ' ') ))
  done
  printf '    %-26s      %5d MB\n' "shims (all pods)" $((shims / 1024))
  # Running pods with their CPU and memory (crictl draws its table for a terminal: escapes removed).
  local running; running=$(real_crictl "$c" pods --state ready -q 2>/dev/null | wc -l)
  printf '    %d running pod(s)\n' "$running"
  ((running == 0)) || real_crictl "$c" statsp 2>/dev/null | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/^/      /'
}
