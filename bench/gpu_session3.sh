#!/bin/bash
# gpu_session3.sh — 2026-12-02 third session's decode measurements in one
# device call: kernel tests, three builds A/B (base 270c7e9, mid = x' sums and
# pre-scaled codes, new = + attention scoring 4 positions at a time; new with
# VKLLM_VK_MVX_SPLIT=2), the
# attention chunk-size sweep (VKLLM_VK_ATT_MIN_CHUNK), a Q4_0 profile.
# Usage: source .gpu/on-device.sh; bash bench/gpu_session3.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS="vk_ops vk_fused vk_attention vk_attention_long" bash bench/gpu_tests.sh
for t in vk_ops vk_fused vk_qkv_rope; do
  echo "test $t MVX_SPLIT=2: $(VKLLM_VK_MVX_SPLIT=2 ./build-gpu/test_backend_$t 2>&1 | tail -1)" | tee -a "$OUT/tests.txt"
done
export BINS="base:./build-gpu/vkllm-base mid:./build-gpu/vkllm-mid new:./build-gpu/vkllm"
REPS=2 bash bench/gpu_ab.sh "tinyllama-1.1b:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_k_m tinyllama-1.1b:f16"
ENV=VKLLM_VK_MVX_SPLIT=2 BINS="split2:$BIN" REPS=2 bash bench/gpu_ab.sh "tinyllama-1.1b:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_k_m"
P=512 REPS=1 bash bench/gpu_ab.sh "tinyllama-1.1b:q4_0"
m=$(model tinyllama-1.1b q4_0)
for p in 0 512; do
  for c in 0 96 192 384 100000; do
    echo "att p$p minchunk $c $(VKLLM_VK_ATT_MIN_CHUNK=$c $BIN bench -m $m -p $p -n 128 -r 1 --backend vulkan 2>/dev/null | grep tg128 | awk -F'|' '{print $6}')" | tee -a "$OUT/att.txt"
  done
done
VKLLM_VK_PROFILE_BYTES=1 $BIN run -m $m -p hello -n 64 --temp 0 --backend vulkan --profile 2> $OUT/prof-q4_0.txt >/dev/null
grep -v '^\[vkllm\]' $OUT/prof-q4_0.txt | head -9
REPS=1 N=64 bash bench/gpu_ab.sh "llama3-8b:q4_0 llama3-8b:q8_0"
ENV=VKLLM_VK_MVX_SPLIT=2 BINS="split2:$BIN" REPS=1 N=64 bash bench/gpu_ab.sh "llama3-8b:q4_0 llama3-8b:q8_0"
exit 0
