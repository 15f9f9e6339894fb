#!/bin/bash
# gpu_s5a.sh — 2026-12-02 fifth session: gemm_cm.comp with x as f16 rows
# (x_f16.comp, VKLLM_VK_GEMM_XH=min tokens, 0 off) against f32 x: the kernel
# tests, prompt speed A/B in one call (tinyllama F16 / Q4_0 / Q8_0, llama3-8b
# F16 / Q4_0), greedy text equal both ways (the f16 rounding is the same, so
# the GEMM inputs are bit-equal), and the GEMM pipelines' registers.
# Usage: source .gpu/on-device.sh; bash bench/gpu_s5a.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS="vk_ops" bash bench/gpu_tests.sh
r=$OUT/s5a.txt
for ty in f16 q4_0 q8_0; do
  m=$(model tinyllama-1.1b $ty) || continue
  for xh in 0 128 0 128; do
    echo "tinyllama $ty XH=$xh $(VKLLM_VK_GEMM_XH=$xh $BIN bench -m $m -p 512 -n 0 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a $r
  done
done
m=$(model tinyllama-1.1b q4_0)
P=$(for i in $(seq 1 60); do printf 'the quick brown fox jumps over the lazy dog %d ' $i; done)
for xh in 0 128; do
  VKLLM_VK_GEMM_XH=$xh $BIN run -m $m -p "$P" -n 24 --temp 0 --backend vulkan > "$OUT/run-xh$xh.txt" 2>/dev/null
done
cmp -s "$OUT/run-xh0.txt" "$OUT/run-xh128.txt" && echo "greedy text XH=0 vs 128: equal ($(wc -c < "$OUT/run-xh0.txt") bytes)" | tee -a $r || echo "greedy text XH=0 vs 128: DIFFERENT" | tee -a $r
VKLLM_VK_PIPE_STATS=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan 2>&1 | grep '^pipeline' | grep -E 'gemm|x_f16' | sort -u | cut -c1-200 | tee "$OUT/pipes.txt"
VKLLM_VK_GEMM_XH=0 VKLLM_VK_PIPE_STATS=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan 2>&1 | grep '^pipeline' | grep -E 'gemm' | sort -u | cut -c1-200 | tee -a "$OUT/pipes.txt"
VKLLM_VK_PROFILE_BYTES=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan --profile 2> "$OUT/prof-q4_0.txt" > /dev/null
grep -v '^\[vkllm\]' "$OUT/prof-q4_0.txt" | head -14
for ty in q4_0 f16; do
  m=$(model llama3-8b $ty) || continue
  for xh in 0 128; do
    echo "llama3-8b $ty XH=$xh $(VKLLM_VK_GEMM_XH=$xh $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan 2>/dev/null | grep -E 'pp512' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a $r
  done
  rm -f "$m"
done
exit 0
