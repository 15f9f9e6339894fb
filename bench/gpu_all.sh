#!/bin/bash
# gpu_all.sh — everything one session records in docs/PERF.md, in one device
# call, most important first (results go to $OUT as they come, so a call cut
# short still returns what it measured). Builds nothing: carry .gpu,
# build-gpu/vkllm and the test binaries named in TESTS.
#   1. the Vulkan kernel tests on this device (cooperative-matrix paths run here only)
#   2. tinyllama F16/Q8_0/Q4_0/Q4_K_M: pp512 and tg128 (bench/gpu_quick.sh), a profile
#   3. decode with and without the settings in AB (default: the rope and KV
#      store in the q/k/v matvecs, VKLLM_VK_QKV_ROPE=0), tinyllama Q4_0 / F16
#   4. issue 6: batch 8/16/32 and the context sweep (bench/gpu_batched.sh, no pp)
#   5. llama3-8b Q4_0, F16, Q8_0: pp512 and tg128
# Usage: source .gpu/on-device.sh; bash bench/gpu_all.sh
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
bash bench/gpu_tests.sh
REPS=${REPS:-2} bash bench/gpu_quick.sh "tinyllama-1.1b:q4_0 tinyllama-1.1b:f16 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_k_m" "-" 512
m=${MODELS:-/tmp/vkllm-models}/tinyllama-1.1b-q4_0.gguf
"$BIN" run -m "$m" -p hello -n 64 --temp 0 --backend vulkan --profile 2> "$OUT/profile-q4_0.txt" > /dev/null
grep -E "passes|^[a-z]" "$OUT/profile-q4_0.txt" | grep -v "^\[vkllm\]" | head -14
for ty in q4_0 f16; do
  m=${MODELS:-/tmp/vkllm-models}/tinyllama-1.1b-$ty.gguf
  for e in VKLLM_X=0 ${AB:-VKLLM_VK_QKV_ROPE=0}; do
    echo "ab $ty $e $(env $e "$BIN" bench -m "$m" -p 0 -n 128 -r 2 --backend vulkan 2>>"$OUT/bench.log" | grep tg128)" | tee -a "$OUT/ab.txt"
  done
done
bash bench/gpu_batched.sh " "
REPS=1 N=64 bash bench/gpu_quick.sh "llama3-8b:q4_0 llama3-8b:f16 llama3-8b:q8_0" "-" 512
