#!/bin/bash
# gpu_session3b.sh — split-K for GEMMs of several token tiles
# (VKLLM_VK_GEMM_SPLIT_TILES=T: GEMMs of fewer than T tiles split K): vk_ops
# with every small GEMM split, pp512 per T; a pp512 profile by weight shape;
# decode profiles of Q8_0 with and without VKLLM_VK_MVX_SPLIT=2.
# Usage: source .gpu/on-device.sh; bash bench/gpu_session3b.sh
set -u
source bench/gpu_common.sh
export OUT
echo "test vk_ops SPLIT_TILES=100000: $(VKLLM_VK_GEMM_SPLIT_TILES=100000 ./build-gpu/test_backend_vk_ops 2>&1 | tail -1)" | tee -a "$OUT/tests.txt"
for st in tinyllama-1.1b:q4_0 tinyllama-1.1b:f16 llama3-8b:q4_0; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  for t in 0 64 200 300; do
    echo "pp $st tiles<$t $(VKLLM_VK_GEMM_SPLIT_TILES=$t $BIN bench -m $m -p 512 -n 0 -r 2 --backend vulkan 2>/dev/null | grep pp512 | awk -F'|' '{print $6}')" | tee -a "$OUT/pp.txt"
  done
done
m=$(model tinyllama-1.1b q4_0)
VKLLM_VK_PROFILE_BYTES=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan --profile 2> $OUT/prof-pp-q4_0.txt > /dev/null
grep -v '^\[vkllm\]' $OUT/prof-pp-q4_0.txt | head -22
m=$(model tinyllama-1.1b q8_0)
for e in VKLLM_X=0 VKLLM_VK_MVX_SPLIT=2; do
  env $e VKLLM_VK_PROFILE_BYTES=1 $BIN run -m $m -p hello -n 64 --temp 0 --backend vulkan --profile 2> $OUT/prof-q8_0-$e.txt > /dev/null
  echo "== $e"; grep -v '^\[vkllm\]' $OUT/prof-q8_0-$e.txt | head -8
done
exit 0
