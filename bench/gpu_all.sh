#!/bin/bash
# gpu_all.sh — everything one session records in docs/PERF.md, in one device
# call, most important first (results go to $OUT as they come, so a call cut
# short still returns what it measured). Builds nothing: carry .gpu,
# build-gpu/vkllm and the test binaries named in TESTS.
#   1. the Vulkan kernel tests on this device (cooperative-matrix paths run here only)
#   2. tinyllama F16/Q8_0/Q4_0/Q4_K_M: pp512 and tg128 (bench/gpu_quick.sh), a profile
#   3. issue 6: batch 8/16/32 and the context sweep (bench/gpu_batched.sh, no pp)
#   4. llama3-8b Q4_0, F16, Q8_0: pp512 and tg128
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
bash bench/gpu_batched.sh " "
REPS=1 N=64 bash bench/gpu_quick.sh "llama3-8b:q4_0 llama3-8b:f16 llama3-8b:q8_0" "-" 512
