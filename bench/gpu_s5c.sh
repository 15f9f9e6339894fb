#!/bin/bash
# gpu_s5c.sh — 2026-12-02 fifth session: the state of main after f16 x for
# gemm_cm.comp (bench/gpu_state.sh: kernel tests, tinyllama pp512 + tg128,
# 32 sequences), llama3-8b pp512 F16 / Q4_0 (-r 2), and 32 sequences without
# split-K. Builds nothing.
# Usage: source .gpu/on-device.sh; bash bench/gpu_s5c.sh
set -u
source bench/gpu_common.sh
export OUT
TESTS="vk_ops vk_fused" bash bench/gpu_state.sh
m=$(model tinyllama-1.1b q8_0)
echo "batch 32 GEMM_SPLIT=0 $(VKLLM_VK_GEMM_SPLIT=0 $BIN bench -m $m -p 0 -n 64 -r 2 --batch 32 --backend vulkan 2>/dev/null | grep -E 'x32 ' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/state.txt"
for ty in q4_0 f16; do
  m=$(model llama3-8b $ty) || continue
  echo "llama3-8b:$ty $($BIN bench -m $m -p 512 -n 0 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/state.txt"
  rm -f "$m"
done
exit 0
