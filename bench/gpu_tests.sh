#!/bin/bash
# gpu_tests.sh — the Vulkan kernel tests on the device (the cooperative-matrix
# paths run there only): each build-gpu/test_backend_<name> of TESTS that was
# carried, its last line to $OUT/tests.txt (the whole log to $OUT/test-NAME.log, the first failures shown). Builds nothing.
# Usage: source .gpu/on-device.sh; TESTS="vk_ops ..." bash bench/gpu_tests.sh
set -u
OUT=${OUT:-/tmp/vkllm-bench}
mkdir -p "$OUT"
for t in ${TESTS:-vk_ops vk_fused vk_attention vk_attention_long vk_qkv_rope}; do
  f=./build-gpu/test_backend_$t
  [ -x "$f" ] || continue
  "$f" > "$OUT/test-$t.log" 2>&1
  echo "test $t: $(tail -1 "$OUT/test-$t.log")" | tee -a "$OUT/tests.txt"
  grep -m 5 -i "fail" "$OUT/test-$t.log" | grep -v " 0 failed" | cut -c1-300
done
exit 0
