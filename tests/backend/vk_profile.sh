#!/bin/bash
# vk_profile.sh — `vkllm run --profile` on the Vulkan backend (lavapipe in CI):
# the run succeeds and stderr holds the per-op timing table (or the one line
# saying the device has no timestamps), with the ops a llama forward pass uses.
# Leak checking is off for the CLI process (as in vk_devices.sh: the loader
# unloads lavapipe before LeakSanitizer reports, so Mesa's leaks cannot be
# suppressed); the profiler's own allocations are leak-checked by
# vk_attention_long.c, which runs a profiled backend.
set -u
T="${VKLLM_TESTDATA:-../shared/testdata}"
B="${VKLLM_BIN:?VKLLM_BIN not set}"
TMP="${VKLLM_TMP:-/tmp}"
[ -x "$B" ] || { echo "FAIL: $B is not built"; exit 1; }
err="$TMP/vk_profile.err"
if ! ASAN_OPTIONS=detect_leaks=0 "$B" run -m "$T/models/stories260K/stories260K.bin" --tokenizer "$T/models/stories260K/tok512.bin" \
    --backend vulkan --profile --temp 0 -n 4 -p "Once upon a time" >/dev/null 2>"$err"; then
    echo "FAIL: run --profile failed"; cat "$err"; exit 1
fi
if grep -q "vulkan profile: timestamps unsupported" "$err"; then echo "ok (timestamps unsupported)"; exit 0; fi
fail=0
grep -q "^vulkan profile on .*passes, .* ms GPU time" "$err" || { echo "FAIL: no profile header"; fail=1; }
grep -q "^op  *calls  *total ms  *us/call  *%  *GB/s" "$err" || { echo "FAIL: no column header"; fail=1; }
for op in embed_ matvec_ rope_kv attention argmax; do
    grep -q "^$op" "$err" || { echo "FAIL: no row for $op"; fail=1; }
done
# every matmul row carries a bandwidth column (6 fields)
awk '/^mat(mul|vec)_/ && NF != 6 { bad = 1 } END { exit bad }' "$err" || { echo "FAIL: matmul row without GB/s"; fail=1; }
[ $fail = 0 ] && echo "ok" || cat "$err"
exit $fail
