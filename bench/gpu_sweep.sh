#!/bin/bash
# gpu_sweep.sh — a quick decode comparison in one device call: the kernel
# tests named in TESTS, then for each SHAPE:TYPE in LIST and each setting in
# ENVS ("-" = none), `vkllm bench -p P -n 128`; pipeline statistics of one
# decode per type. Builds nothing; results under $OUT.
# Usage: source .gpu/on-device.sh; LIST="..." ENVS="..." bash bench/gpu_sweep.sh
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
TESTS=${TESTS:-vk_ops vk_fused} bash bench/gpu_tests.sh
REPS=${REPS:-2} bash bench/gpu_quick.sh "${LIST:-tinyllama-1.1b:q4_0}" "${ENVS:--}" "${P:-512}"
for st in ${LIST:-tinyllama-1.1b:q4_0}; do
  m="$MODELS/${st%%:*}-${st##*:}.gguf"
  VKLLM_VK_PIPE_STATS=1 "$BIN" run -m "$m" -p hello -n 16 --temp 0 --backend vulkan --profile 2> "$OUT/prof-${st##*:}.txt" > /dev/null
  grep -v "^pipeline" "$OUT/prof-${st##*:}.txt" | grep -E "^[a-z]" | head -8
  grep "^pipeline matvec\|^pipeline att" "$OUT/prof-${st##*:}.txt" | sed 's/Binary Size=[0-9]* Stack Size=0 Local Memory Size=[0-9]* //' | cut -c1-120
done
