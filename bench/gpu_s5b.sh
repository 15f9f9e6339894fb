#!/bin/bash
# gpu_s5b.sh — 2026-12-02 fifth session: f16 x for gemm_cm.comp, checks and
# tuning. Last-token logits of a ~500-token prompt for the tiny-llama2 F16 /
# Q8_0 fixtures (carried in build-gpu/fix) with VKLLM_VK_GEMM_XH=0 and 128
# (compared here against the CPU backend); 32 Q8_0 sequences with f16 x from
# 32 tokens or not; split-K tile threshold with f16 x.
# Usage: source .gpu/on-device.sh; bash bench/gpu_s5b.sh
set -u
source bench/gpu_common.sh
export OUT
r=$OUT/s5b.txt
P=$(for i in $(seq 1 40); do printf 'the quick brown fox jumps over the lazy dog %d ' $i; done)
for f in f16 q8_0; do
  for xh in 0 128; do
    VKLLM_VK_GEMM_XH=$xh $BIN logits -m build-gpu/fix/tiny-llama2-$f.gguf -p "$P" -o "$OUT/l-$f-xh$xh.f32" --backend vulkan 2>> "$OUT/logits.log"
  done
  cmp -s "$OUT/l-$f-xh0.f32" "$OUT/l-$f-xh128.f32" && echo "$f logits XH=0 vs 128: bit-equal" | tee -a $r || echo "$f logits XH=0 vs 128: differ" | tee -a $r
done
m=$(model tinyllama-1.1b q8_0)
for xh in 128 32 128 32; do
  echo "batch 32 XH=$xh $(VKLLM_VK_GEMM_XH=$xh $BIN bench -m $m -p 0 -n 64 -r 2 --batch 32 --backend vulkan 2>/dev/null | grep -E 'x32 ' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a $r
done
for ty in f16 q4_0; do
  m=$(model tinyllama-1.1b $ty)
  for t in 200 0 300 200 0 300; do
    echo "tinyllama $ty SPLIT_TILES=$t $(VKLLM_VK_GEMM_SPLIT_TILES=$t $BIN bench -m $m -p 512 -n 0 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a $r
  done
done
m=$(model tinyllama-1.1b f16)
echo "tinyllama f16 pp2048 $($BIN bench -m $m -p 2048 -n 0 -r 1 --backend vulkan 2>/dev/null | grep -E 'pp2048' | awk -F'|' '{printf "%s %s ", $5, $6}')" | tee -a $r
VKLLM_VK_PROFILE_BYTES=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan --profile 2> "$OUT/prof-f16.txt" > /dev/null
grep -v '^\[vkllm\]' "$OUT/prof-f16.txt" | head -14
exit 0
