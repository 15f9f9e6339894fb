#!/bin/bash
# cpu_bench.sh — CPU decode/prompt speed of TinyLlama-1.1B-shaped synthetic models
# (Q8_0, Q4_0) on this machine, for docs/PERF.md. Builds nothing (needs build/vkllm).
set -u
BIN=${VKLLM_BIN:-./build/vkllm}
MODELS=${MODELS:-/tmp/vkllm-models}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$MODELS"
for type in ${1:-q8_0 q4_0}; do
  m="$MODELS/tinyllama-1.1b-$type.gguf"
  [ -f "$m" ] || "$BIN" synth "$m" --shape tinyllama-1.1b --type "$type" || exit 1
  "$BIN" bench -m "$m" -p ${PP:-64} -n ${TG:-32} -r ${REPS:-3} --backend cpu --threads "$THREADS"
done
