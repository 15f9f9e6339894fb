#!/bin/bash
# gpu_s4e.sh — 2026-12-02 fourth session: gemm_cm.comp's 128-token tiles
# (WIDE, default from 256 tokens; branch exp/gemm-wide, not on main) against the 64-token ones
# (VKLLM_VK_GEMM_WIDE_MIN=0), prompt speed A/B in one call; the kernel test
# (vk_ops has the wide-tile cases on cooperative matrices); registers.
# Usage: source .gpu/on-device.sh; bash bench/gpu_s4e.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
TESTS="vk_ops" bash bench/gpu_tests.sh
run() { # env model args... -> tok/s
  local e=$1 m=$2; shift 2
  env $e $BIN bench -m "$m" "$@" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' (tg|pp)[0-9]+ ' | awk -F'|' '{print $6}'
}
for ty in f16 q4_0 q8_0 q4_k_m; do
  m=$(model tinyllama-1.1b $ty)
  for e in VKLLM_VK_GEMM_WIDE_MIN=0 VKLLM_X=0 VKLLM_VK_GEMM_WIDE_MIN=0 VKLLM_X=0; do
    echo "pp512 tinyllama:$ty [$e] $(run $e $m -p 512 -n 0 -r 2)" | tee -a "$OUT/ab.txt"
  done
done
m=$(model tinyllama-1.1b f16)
for e in VKLLM_VK_GEMM_WIDE_MIN=0 VKLLM_X=0 VKLLM_VK_GEMM_SPLIT_TILES=0; do
  echo "pp2048 tinyllama:f16 [$e] $(run $e $m -p 2048 -n 0 -r 1)" | tee -a "$OUT/ab.txt"
done
m=$(model tinyllama-1.1b q4_0)
echo "pp512 tinyllama:q4_0 [wide, no split] $(run VKLLM_VK_GEMM_SPLIT_TILES=0 $m -p 512 -n 0 -r 2)" | tee -a "$OUT/ab.txt"
VKLLM_VK_PIPE_STATS=1 $BIN bench -m $m -p 512 -n 0 -r 1 --backend vulkan 2>&1 | grep "pipeline gemm_cm" | cut -c1-400 | tee -a "$OUT/ab.txt"
for st in llama3-8b:q4_0 llama3-8b:f16; do
  m=$(model ${st%%:*} ${st##*:})
  for e in VKLLM_VK_GEMM_WIDE_MIN=0 VKLLM_X=0; do
    echo "pp512 $st [$e] $(run $e $m -p 512 -n 0 -r 1)" | tee -a "$OUT/ab.txt"
  done
done
exit 0
