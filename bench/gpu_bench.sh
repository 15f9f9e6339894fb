#!/bin/bash
# gpu_bench.sh — measures everything docs/PERF.md records on the GPU machine.
# Builds nothing: expects build/vkllm (carried) and writes results under $OUT.
# Usage (device tool): source .gpu/on-device.sh; bash bench/gpu_bench.sh [SHAPES] [TYPES]
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
SHAPES=${1:-"tinyllama-1.1b llama3-8b"}
TYPES=${2:-"f16 q8_0 q4_0 q4_k_m"}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$BIN" devices 2>&1 | head -40
} > "$OUT/device.txt"
for shape in $SHAPES; do
  for type in $TYPES; do
    m="$MODELS/$shape-$type.gguf"
    [ -f "$m" ] || "$BIN" synth "$m" --shape "$shape" --type "$type" >> "$OUT/synth.log" 2>&1 || { echo "synth $shape $type failed" >> "$OUT/errors.txt"; continue; }
    echo "== $shape $type" >> "$OUT/bench.log"
    "$BIN" bench -m "$m" -p 512 -n 128 -r 3 --backend vulkan -o json > "$OUT/$shape-$type.json" 2>> "$OUT/bench.log" \
      || echo "bench $shape $type failed" >> "$OUT/errors.txt"
  done
done
cat "$OUT"/*.json > "$OUT/all.json" 2>/dev/null
