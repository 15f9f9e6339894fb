#!/bin/bash
# gpu_pp_check.sh — the shortest check after a change to the prompt path:
# tinyllama Q4_0 and F16 synthesized, pp512 and tg32 (`-r 2`), then the
# rope-in-matvec test. Builds nothing; fits a device call of ~40 s.
# Usage: source .gpu/on-device.sh; bash bench/gpu_pp_check.sh
set -u
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
M=${MODELS:-/tmp/vkllm-models}
mkdir -p "$M"
for ty in q4_0 f16; do
  m=$M/tinyllama-1.1b-$ty.gguf
  [ -f "$m" ] || "$BIN" synth "$m" --shape tinyllama-1.1b --type $ty > /dev/null 2>&1
  echo "$ty $("$BIN" bench -m "$m" -p 512 -n 32 -r 2 --backend vulkan 2>/dev/null | grep -E 'pp512|tg32' | tr '\n' ' ')"
done
[ -x ./build-gpu/test_backend_vk_qkv_rope ] && echo "vk_qkv_rope: $(./build-gpu/test_backend_vk_qkv_rope 2>&1 | tail -1)"
exit 0
