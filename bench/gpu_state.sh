#!/bin/bash
# gpu_state.sh — a short check of main on the device (~90 s with synthesis):
# the kernel tests, tinyllama pp512 + tg128 for F16 / Q8_0 / Q4_0 / Q4_K_M
# and 32 Q8_0 sequences decoding together. Builds nothing.
# Usage: source .gpu/on-device.sh; bash bench/gpu_state.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS=${TESTS:-"vk_ops vk_fused vk_qkv_rope vk_attention"} bash bench/gpu_tests.sh
for ty in f16 q8_0 q4_0 q4_k_m; do
  m=$(model tinyllama-1.1b $ty) || continue
  echo "tinyllama-1.1b:$ty $($BIN bench -m $m -p 512 -n 128 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512|tg128' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/state.txt"
done
m=$(model tinyllama-1.1b q8_0) && echo "batch 32 $($BIN bench -m $m -p 0 -n 64 -r 2 --batch 32 --backend vulkan 2>/dev/null | grep -E 'x32 ' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/state.txt"
exit 0
