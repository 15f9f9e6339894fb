#!/bin/bash
# gpu_diag.sh — where decode time goes, in one device call: the kernel tests,
# tg128 for tinyllama Q4_0 / F16 / Q8_0 / Q4_K_M (pp512 first), per-kernel
# profiles and each pipeline's register / shared-memory use (VKLLM_VK_PIPE_STATS=1)
# through bench/gpu_sweep.sh, then the price of each part of a token
# (VKLLM_VK_PAD, VKLLM_VK_SKIP: docs/PERF.md 2026-12-02). Builds nothing;
# results under $OUT.
# Usage: source .gpu/on-device.sh; bash bench/gpu_diag.sh
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
# the kernel tests, pp512 / tg128, a short profile and the pipeline statistics per type
TESTS=${TESTS:-vk_ops vk_fused vk_attention vk_attention_long} \
  LIST=${DIAG_TYPES:-tinyllama-1.1b:q4_0 tinyllama-1.1b:f16 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_k_m} \
  REPS=2 bash bench/gpu_sweep.sh
# the price of each part of a decode token, without timestamps (tg128 at -p 0):
# no setting, PAD/PAD_NB (empty dispatches), SKIP bits (1 matvecs, 2 attention,
# 8 matvecs of one workgroup; results wrong, timing only)
for ty in q4_0 f16; do
  m=$MODELS/tinyllama-1.1b-$ty.gguf
  for e in VKLLM_X=0 VKLLM_VK_MVX_DIRECT=1 VKLLM_VK_PAD=1 VKLLM_VK_PAD=4 VKLLM_VK_PAD_NB=4 VKLLM_VK_SKIP=1 VKLLM_VK_SKIP=2 VKLLM_VK_SKIP=8; do
    r=$(env $e "$BIN" bench -m "$m" -p 0 -n 128 -r 1 --backend vulkan -o json 2>>"$OUT/bench.log" | tr -d '\n')
    echo "parts $ty $e $r" | tee -a "$OUT/parts.txt" | sed 's/"model"[^}]*"tok_per_s"/tok_per_s/g'
  done
done
