#!/bin/bash
# gpu_gemm.sh — the prompt GEMM and the small-batch path in one device call:
# vk_ops (the cooperative-matrix GEMM runs only there), pp512 of tinyllama
# F16 / Q4_0 / Q8_0 and llama3-8b F16 / Q4_0 (under each setting of ENVS, e.g.
# ENVS="VKLLM_X=0 VKLLM_VK_COOPMAT=0"), 32 and 16 sequences decoding together, per-kernel profiles
# and the GEMM pipelines' registers. Builds nothing; results under $OUT.
# Usage: source .gpu/on-device.sh; bash bench/gpu_gemm.sh
set -u
. "$(dirname "$0")/gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS=${TESTS:-vk_ops} bash bench/gpu_tests.sh
for st in ${PP_LIST:-tinyllama-1.1b:f16 tinyllama-1.1b:q4_0 tinyllama-1.1b:q8_0 llama3-8b:f16 llama3-8b:q4_0}; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  for e in ${ENVS:-VKLLM_X=0}; do
    r=$(env $e "$BIN" bench -m "$m" -p 512 -n 0 -r 2 --backend vulkan 2>>"$OUT/bench.log" | grep pp512)
    echo "$st $e $r" | tee -a "$OUT/gemm.txt"
  done
done
m=$(model tinyllama-1.1b q8_0) && for b in 32 16; do
  r=$("$BIN" bench -m "$m" -p 0 -n 32 -r 1 --batch $b --backend vulkan 2>>"$OUT/bench.log" | grep "x$b ")
  echo "batch $b $r" | tee -a "$OUT/gemm.txt"
done
"$BIN" bench -m "$m" -p 0 -n 16 -r 1 --batch 32 --backend vulkan --profile > /dev/null 2> "$OUT/prof-batch32.txt"
grep -v "^\[vkllm\]" "$OUT/prof-batch32.txt" | head -8
m=$(model tinyllama-1.1b f16) && VKLLM_VK_PIPE_STATS=1 VKLLM_VK_PROFILE_BYTES=1 "$BIN" bench -m "$m" -p 512 -n 0 -r 1 --backend vulkan --profile > /dev/null 2> "$OUT/prof-pp-f16.txt"
grep -E "gemm_cm" "$OUT/prof-pp-f16.txt" | cut -c1-200 | head -12
m=$(model tinyllama-1.1b q4_0) && VKLLM_VK_PIPE_STATS=1 "$BIN" bench -m "$m" -p 512 -n 0 -r 1 --backend vulkan 2>&1 | grep "pipeline gemm" | cut -c1-160
