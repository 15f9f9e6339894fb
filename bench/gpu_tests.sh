#!/bin/bash
# gpu_tests.sh — the Vulkan kernel tests on the device (the cooperative-matrix
# paths run there only): each build-gpu/test_backend_<name> of TESTS that was
# carried, its last line to $OUT/tests.txt. Builds nothing.
# Usage: source .gpu/on-device.sh; TESTS="vk_ops ..." bash bench/gpu_tests.sh
set -u
OUT=${OUT:-/tmp/vkllm-bench}
mkdir -p "$OUT"
for t in ${TESTS:-vk_ops vk_fused vk_attention vk_attention_long}; do
  f=./build-gpu/test_backend_$t
  [ -x "$f" ] && echo "test $t: $("$f" 2>&1 | tail -1)" | tee -a "$OUT/tests.txt"
done
exit 0
