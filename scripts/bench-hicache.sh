#!/usr/bin/env bash
# HiCache benchmark: the shared-prefix multi-turn workload (bench-serving --dataset shared-prefix) against a
# colocated worker whose KV pool is too small for every prefix, three ways, one after the other in one run:
#   off     the radix cache alone
#   l2      + host memory (--enable-hierarchical-cache --hicache-ratio R)
#   l2+l3   + file storage (--hicache-storage-backend file, prefetch wait_complete), same host memory
# Prints TTFT p50/p90, request throughput, the token hit rate bench-serving saw, and the worker's page hits per
# tier (tandem_hicache_hit_pages_total) side by side. Each configuration runs RUNS times; the medians are shown.
#   scripts/bench-hicache.sh [--model DIR] [--runs 3] [--max-total-tokens 768] [--ratio 1.5] [extra bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=""; RUNS=3; POOL=768; RATIO=1.5; EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) MODEL=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --max-total-tokens) POOL=$2; shift 2 ;;
    --ratio) RATIO=$2; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
WORK=$(mktemp -d)
WORKER_PID=""
cleanup() { [[ -n "$WORKER_PID" ]] && kill "$WORKER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
./run.sh build >/dev/null
if [[ -z "$MODEL" ]]; then
  MODEL=$WORK/tiny
  ./run.sh make-tiny-model --out "$MODEL" --preset tiny >/dev/null
fi
PORT=$((31000 + RANDOM % 2000))
BENCH=(--dataset shared-prefix --gsp-num-groups 6 --gsp-prompts-per-group 4 --gsp-system-prompt-len 256
  --gsp-question-len 32 --gsp-turns 3 --output-len 16 --request-rate inf "${EXTRA[@]}")

start_worker() { # flags...
  ./run.sh worker --model "$MODEL" --port "$PORT" --max-total-tokens "$POOL" --max-running-requests 8 "$@" \
    >"$WORK/worker.log" 2>&1 &
  WORKER_PID=$!
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
    kill -0 "$WORKER_PID" 2>/dev/null || { cat "$WORK/worker.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "worker did not start" >&2; exit 1
}

stop_worker() { kill "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=""; }

tier() { # metrics-file tier -> pages
  awk -v t="tier=\"$1\"" '/^tandem_hicache_hit_pages_total\{/ && index($0, t) { s += $NF } END { printf "%d", s }' "$2"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A FLAGS=(
  [off]=""
  [l2]="--enable-hierarchical-cache --hicache-ratio $RATIO"
  [l2+l3]="--enable-hierarchical-cache --hicache-ratio $RATIO --hicache-storage-backend file --hicache-storage-dir $WORK/l3 --hicache-storage-prefetch-policy wait_complete"
)
printf '%-7s %11s %11s %9s %9s %8s %8s %8s %8s\n' config "TTFT p50" "TTFT p90" "req/s" "hit rate" "L1 pg" "L2 pg" "L3 pg" "miss pg"
for cfg in off l2 l2+l3; do
  : >"$WORK/rows"
  for run in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/l3"
    # shellcheck disable=SC2086
    start_worker ${FLAGS[$cfg]}
    if [[ $cfg == "l2+l3" ]]; then
      # A first pass fills storage, then the worker restarts cold (empty pool and host memory): L3 is all it has.
      ./run.sh bench-serving --url "http://127.0.0.1:$PORT" "${BENCH[@]}" --json >/dev/null 2>&1
      stop_worker
      # shellcheck disable=SC2086
      start_worker ${FLAGS[$cfg]}
    fi
    ./run.sh bench-serving --url "http://127.0.0.1:$PORT" "${BENCH[@]}" --json >"$WORK/report.json" 2>/dev/null
    curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics"
    stop_worker
    python3 - "$WORK/report.json" "$(tier l1 "$WORK/metrics")" "$(tier l2 "$WORK/metrics")" \
      "$(tier l3 "$WORK/metrics")" "$(awk '/^tandem_hicache_miss_pages_total\{/ { s += $NF } END { printf "%d", s }' "$WORK/metrics")" >>"$WORK/rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def find(d, *names):
    for n in names:
        cur = d
        for part in n.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is not None:
            return cur
    return float("nan")
print(find(r, "ttft_ms.median", "ttft_ms.p50"), find(r, "ttft_ms.p90"), find(r, "request_throughput"),
      find(r, "cache_hit_rate"), *sys.argv[2:])
PY
  done
  cols=()
  for c in 1 2 3 4 5 6 7 8; do cols+=("$(awk -v c=$c '{ print $c }' "$WORK/rows" | median)"); done
  printf '%-7s %8.1f ms %8.1f ms %9.2f %8.1f%% %8s %8s %8s %8s\n' "$cfg" "${cols[0]}" "${cols[1]}" "${cols[2]}" \
    "$(python3 -c "print(100 * ${cols[3]})")" "${cols[4]}" "${cols[5]}" "${cols[6]}" "${cols[7]}"
done
echo "(medians of $RUNS runs; pool $POOL tokens, host memory ${RATIO}x the pool; page hits from the worker's /metrics)"
