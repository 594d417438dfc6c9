# Sourced (never run) by every script that runs node: kubeferry needs Node >= 24.11, so an older `node` on
# PATH is replaced, for the sourcing shell and its children, by Node 24 LTS from the npm registry (package
# node-linux-<arch>, integrity checked by npm), installed once into the stack's cache outside the checkout.
# shellcheck shell=bash

kf_node_ok() { # <node binary>: is it >= 24.11?
  local v major minor
  v=$("$1" -p process.versions.node 2>/dev/null) || return 1
  IFS=. read -r major minor _ <<<"$v"
  ((major > 24 || (major == 24 && minor >= 11)))
}

kf_node_use() {
  local version=24.22.3 cache="${KUBEFERRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeferry}" # = CACHE_DIR, stack/lib.sh
  local dir found arch pkg tmp stale gc
  dir="$cache/node-v$version"
  kf_node_ok node && return 0
  found=$(command -v node >/dev/null && echo "$(node --version 2>&1) at $(command -v node)" || echo "no node on PATH")
  if ! kf_node_ok "$dir/bin/node"; then
    case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
    pkg="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$arch"
    echo "[setup] Node >= 24.11 needed, found $found: installing $pkg@$version from the npm registry into $dir" >&2
    # Unpacked into a scratch folder, renamed into place only when complete; scratch left by a dead install goes.
    for stale in "$dir".tmp.*; do kill -0 "${stale##*.tmp.}" 2>/dev/null || rm -rf "$stale"; done
    tmp="$dir.tmp.$$"
    if rm -rf "$dir" && mkdir -p "$tmp" &&
      npm pack "$pkg@$version" --pack-destination "$tmp" --loglevel=error >"$tmp/npm.log" 2>&1 &&
      tar -xzf "$tmp/$pkg-$version.tgz" -C "$tmp" && kf_node_ok "$tmp/package/bin/node"; then
      mv -T "$tmp/package" "$dir" 2>/dev/null || true # fails only if a concurrent install got there first
    fi
    if ! kf_node_ok "$dir/bin/node"; then
      mv -f "$tmp/npm.log" "$tmp.log" 2>/dev/null; rm -rf "$tmp"
      echo "[setup] error: kubeferry needs Node.js 24.11 or newer (found: $found), and installing Node $version" \
        "from the npm registry failed: $({ grep -m1 -iE 'fetcherror|404|not found|checksum|denied|space' "$tmp.log" ||
          head -1 "$tmp.log"; } 2>/dev/null | sed 's/^npm error //') (log: $tmp.log)." \
        "Install Node 24 LTS and put it first on PATH." >&2
      return 1
    fi
    rm -rf "$tmp"
  fi
  # npm (the system's, `#!/usr/bin/env node`) finds its global npmrc next to node: keep reading the old one.
  if [[ -z ${npm_config_globalconfig:-} ]] && command -v npm >/dev/null; then
    gc=$(npm config get globalconfig 2>/dev/null) && export npm_config_globalconfig="$gc"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  [[ -z ${NODE:-} ]] || export NODE="$dir/bin/node" npm_node_execpath="$dir/bin/node" # set by `npm run`
  echo "[setup] using Node $(node --version) from $dir/bin" >&2
}

kf_node_use || { unset -f kf_node_ok kf_node_use; return 1; }
unset -f kf_node_ok kf_node_use
