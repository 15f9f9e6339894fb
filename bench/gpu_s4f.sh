#!/bin/bash
# gpu_s4f.sh — 2026-12-02 fourth session: matvec_sx staging x in one round
# (constant SG by row length; VKLLM_VK_MVX_SG=2 is the old fixed 2) and four
# steps of units fetched at once (VKLLM_VK_MVX_STEPS=4: at 8737d9b only, ignored
# since), decode A/B in one
# call, then the state of main (bench/gpu_state.sh: kernel tests, pp512 +
# tg128 of four types, 32 sequences).
# Usage: source .gpu/on-device.sh; bash bench/gpu_s4f.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
for t in vk_fused vk_qkv_rope; do
  echo "test $t STEPS=4: $(VKLLM_VK_MVX_STEPS=4 ./build-gpu/test_backend_$t 2>&1 | tail -1)" | tee -a "$OUT/tests.txt"
done
run() { # env model args... -> tok/s
  local e=$1 m=$2; shift 2
  env $e $BIN bench -m "$m" "$@" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' (tg|pp)[0-9]+ ' | awk -F'|' '{print $6}'
}
CF="VKLLM_VK_MVX_SG=2 VKLLM_X=0 VKLLM_VK_MVX_STEPS=4"
for ty in q4_0 q8_0; do
  m=$(model tinyllama-1.1b $ty)
  for rep in 1 2; do for e in $CF; do echo "tg128 tinyllama:$ty [$e] $(run $e $m -p 0 -n 128 -r 2)" | tee -a "$OUT/ab.txt"; done; done
done
for ty in q4_0; do
  m=$(model llama3-8b $ty)
  for e in $CF; do echo "tg64 llama3-8b:$ty [$e] $(run $e $m -p 0 -n 64 -r 1)" | tee -a "$OUT/ab.txt"; done
done
bash bench/gpu_state.sh
exit 0
