#!/usr/bin/env bash
# `bash bench/runtime.sh`: the runtime's own costs on this machine, apart from any migration: the CLI's
# start-up (median of 10 runs of `kubeferry --help`) and a worker's memory (RSS once it polls, idle, and
# the demo's peak RSS, whose one process runs a worker and a whole migration). Needs the local stack up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f scripts/use-node.sh ]] && source scripts/use-node.sh
set -a; source .stack/stack.env; set +a
echo "node $(node --version)"
times=()
for _ in $(seq 10); do
  s=$(date +%s%N); node bin/kubeferry.js --help >/dev/null; e=$(date +%s%N)
  times+=($(( (e - s) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "cli --help median: $(( (sorted[4] + sorted[5]) / 2 )) ms (runs: ${times[*]})"
node --import tsx src/worker.ts >/tmp/kubeferry-runtime-worker.log 2>&1 &
pid=$!
sleep 25
echo "worker idle RSS after 25 s: $(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status) MB, peak $(awk '/VmHWM/{print int($2/1024)}' /proc/$pid/status) MB"
kill $pid; wait $pid 2>/dev/null || true
/usr/bin/time -f '%M' -o /tmp/kubeferry-runtime-demo.rss node --import tsx src/dev/demo.ts >/tmp/kubeferry-runtime-demo.log 2>&1
echo "demo peak RSS (worker + migration in one process): $(( $(cat /tmp/kubeferry-runtime-demo.rss) / 1024 )) MB"
