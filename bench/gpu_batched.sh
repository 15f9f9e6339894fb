#!/bin/bash
# gpu_batched.sh — issue 6's measurements in one device call: prompt speed
# (pp512, pp2048) for the four shape/type pairs of its table, 32 sequences
# decoding together and the context sweep on tinyllama Q8_0. Builds nothing;
# models are synthesized once per machine. Results (JSON lines) under $OUT.
# Usage: source .gpu/on-device.sh; bash bench/gpu_batched.sh [PP_LIST]
set -u
PP=${1:-"tinyllama-1.1b:f16 tinyllama-1.1b:q4_0 llama3-8b:f16 llama3-8b:q4_0"}
. "$(dirname "$0")/gpu_common.sh"
for st in $PP; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  r=$("$BIN" bench -m "$m" -p 512,2048 -n 0 -r 3 --backend vulkan -o json 2>>"$OUT/bench.log" | tr -d '\n')
  echo "$st $r" | tee -a "$OUT/batched.txt" | sed 's/"model"[^}]*"test": //g'
done
m=$(model tinyllama-1.1b q8_0) && for b in 8 16 32; do
  r=$("$BIN" bench -m "$m" -p 0 -n 64 -r 2 --batch $b --backend vulkan -o json 2>>"$OUT/bench.log" | tr -d '\n')
  echo "tinyllama q8_0 batch $b $r" | tee -a "$OUT/batched.txt" | sed 's/"model"[^}]*"test": //g'
done
# the sweep reaches 16k only for a model trained that long: the same shape with a 32k context
m=$(model tinyllama-1.1b q8_0 32768) && r=$("$BIN" bench -m "$m" -p 0 -n 64 -r 1 --ctx-sweep --backend vulkan -o json 2>>"$OUT/bench.log" | tr -d '\n') && \
  echo "tinyllama q8_0 ctx-sweep $r" | tee -a "$OUT/batched.txt" | sed 's/"model"[^}]*"test": //g'
