#!/bin/bash
# gpu_session3c.sh — the state to record in docs/PERF.md after the third
# session of 2026-12-02, in one device call: kernel tests (the new default
# two-subgroup row pairs for Q8_0 / K types included), the A/B of the new
# defaults (VKLLM_VK_MVX_SPLIT=1 VKLLM_VK_GEMM_SPLIT_TILES=0 = as before),
# tinyllama pp512 + tg128 per type, 32 sequences and the context sweep,
# llama3-8b pp512 + tg64.
# Usage: source .gpu/on-device.sh; bash bench/gpu_session3c.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS="vk_ops vk_fused vk_qkv_rope" bash bench/gpu_tests.sh
OLD="VKLLM_VK_MVX_SPLIT=1 VKLLM_VK_GEMM_SPLIT_TILES=0"
for st in tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_k_m tinyllama-1.1b:q4_0; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  for e in "VKLLM_X=0" "$OLD"; do
    echo "ab $st [$e] $(env $e $BIN bench -m $m -p 512 -n 128 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512|tg128' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/ab.txt"
  done
done
m=$(model tinyllama-1.1b f16)
echo "tinyllama-1.1b:f16 $($BIN bench -m $m -p 512 -n 128 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512|tg128' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/ab.txt"
m=$(model tinyllama-1.1b q8_0)
for b in 16 32; do
  echo "batch $b $($BIN bench -m $m -p 0 -n 64 -r 2 --batch $b --backend vulkan 2>/dev/null | grep -E 'tg64' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/ab.txt"
done
m=$(model tinyllama-1.1b q8_0 32768) && echo "ctx-sweep $($BIN bench -m $m -p 0 -n 64 -r 1 --ctx-sweep --backend vulkan 2>/dev/null | grep -E 'tg|ctx' | awk -F'|' '{printf "%s %s; ", $5, $6}')" | tee -a "$OUT/ab.txt"
for ty in q8_0 q4_0 f16; do
  m=$(model llama3-8b $ty) || continue
  echo "llama3-8b:$ty $($BIN bench -m $m -p 512 -n 64 -r 1 --backend vulkan 2>/dev/null | grep -E 'pp512|tg64' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/ab.txt"
  [ $ty = q8_0 ] && echo "llama3-8b:$ty [$OLD] $(env $OLD $BIN bench -m $m -p 512 -n 64 -r 1 --backend vulkan 2>/dev/null | grep -E 'pp512|tg64' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a "$OUT/ab.txt"
done
exit 0
