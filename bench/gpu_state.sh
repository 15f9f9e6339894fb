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
# EXTRA=1: Q4_0 decode with the two-subgroup row pairs for its up-to-2048-row
# weights too (VKLLM_VK_MVX_SPLIT_LIGHT=1), A/B and a profile of each by shape
if [ "${EXTRA:-0}" = 1 ]; then
  m=$(model tinyllama-1.1b q4_0)
  for e in VKLLM_X=0 VKLLM_VK_MVX_SPLIT_LIGHT=1 VKLLM_X=0 VKLLM_VK_MVX_SPLIT_LIGHT=1; do
    echo "q4_0 [$e] $(env $e $BIN bench -m $m -p 0 -n 128 -r 2 --backend vulkan 2>/dev/null | grep tg128 | awk -F'|' '{print $6}')" | tee -a "$OUT/state.txt"
  done
  k=0
  for e in VKLLM_X=0 VKLLM_VK_MVX_SPLIT_LIGHT=1; do
    k=$((k + 1))
    env $e VKLLM_VK_PROFILE_BYTES=1 $BIN run -m $m -p hello -n 64 --temp 0 --backend vulkan --profile 2> "$OUT/prof-$k.txt" > /dev/null
    echo "== $e"; grep -v '^\[vkllm\]' "$OUT/prof-$k.txt" | head -8
  done
fi
exit 0
