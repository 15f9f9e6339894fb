#!/bin/bash
# gpu_profile.sh — one device call's worth of measurements for the decode work:
# synth models (once per machine), `vkllm bench` rows as JSON, and one
# `vkllm run --profile` per model for the per-kernel table. Builds nothing.
# Usage (device tool): source .gpu/on-device.sh; bash bench/gpu_profile.sh "SHAPE:TYPE ..." [PROMPT_N]
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
LIST=${1:-"tinyllama-1.1b:q4_0"}
P=${2:-512}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>/dev/null
} > "$OUT/device.txt"
# the placeholder vocabulary of synth models is byte-level: one token per byte
PROMPT=$(head -c $((P - 1)) /dev/zero | tr '\0' 'a')
for st in $LIST; do
  shape=${st%%:*}; type=${st##*:}
  m="$MODELS/$shape-$type.gguf"
  [ -f "$m" ] || "$BIN" synth "$m" --shape "$shape" --type "$type" >> "$OUT/synth.log" 2>&1 || { echo "synth $st failed" | tee -a "$OUT/errors.txt"; continue; }
  "$BIN" bench -m "$m" -p "$P" -n 128 -r 3 --backend vulkan -o json > "$OUT/$shape-$type.json" 2>> "$OUT/bench.log" \
    || echo "bench $st failed" | tee -a "$OUT/errors.txt"
  "$BIN" run -m "$m" -p "$PROMPT" -n 64 --temp 0 --backend vulkan --profile > /dev/null 2> "$OUT/$shape-$type.profile" \
    || echo "profile $st failed" | tee -a "$OUT/errors.txt"
  echo "== $st"; cat "$OUT/$shape-$type.json"; echo
  head -40 "$OUT/$shape-$type.profile"
done
