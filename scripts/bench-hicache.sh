#!/usr/bin/env bash
# HiCache benchmark with the defaults of the issue's closing note: the tiny model (generated when --model is not
# given), a 768-token KV pool (48 pages: too small for every prefix), host memory 1.5x the pool, and a shared-prefix
# multi-turn workload of 72 requests at once. It runs the issue's command,
#   ./run.sh bench-serving --dataset shared-prefix --compare-hicache off,l2,l2+l3 --model DIR …
# which starts a colocated worker per configuration in one JVM and prints off / l2 / l2+l3 side by side (TTFT
# p50/p90, req/s, hit rate, page hits per tier; medians of --runs). Any bench-serving flag given here replaces the
# default of the same name.
#   scripts/bench-hicache.sh [--model DIR] [--runs 3] [--max-total-tokens 768] [--hicache-ratio 1.5] [flags]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=""; ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) MODEL=$2; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [[ -z "$MODEL" ]]; then
  MODEL=$WORK/tiny
  ./run.sh make-tiny-model --out "$MODEL" --preset tiny >/dev/null
fi
DEFAULTS=(--runs 3 --max-total-tokens 768 --hicache-ratio 1.5 --gsp-num-groups 6 --gsp-prompts-per-group 4
  --gsp-system-prompt-len 256 --gsp-question-len 32 --gsp-turns 3 --output-len 16 --request-rate inf)
for ((i = 0; i < ${#DEFAULTS[@]}; i += 2)); do
  [[ " ${ARGS[*]:-} " == *" ${DEFAULTS[i]} "* ]] || ARGS+=("${DEFAULTS[i]}" "${DEFAULTS[i + 1]}")
done
./run.sh bench-serving --dataset shared-prefix --compare-hicache off,l2,l2+l3 --model "$MODEL" "${ARGS[@]}"
