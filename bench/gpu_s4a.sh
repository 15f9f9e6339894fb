#!/bin/bash
# gpu_s4a.sh — 2026-12-02 fourth session: what decode would cost if the
# dispatches of a token did not wait for each other at barriers
# (VKLLM_VK_SKIP=16: no barriers, wrong results, timing only), against
# the default, and with the matvecs left out (17) or of one workgroup (24).
# Usage: source .gpu/on-device.sh; bash bench/gpu_s4a.sh
set -u
source bench/gpu_common.sh
export OUT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
for t in q4_0 q8_0 f16; do
  m=$(model tinyllama-1.1b $t)
  for sk in 0 16 0 16 1 17 8 24; do
    r=$(VKLLM_VK_SKIP=$sk $BIN bench -m "$m" -p 0 -n 128 -r 2 --backend vulkan 2>>"$OUT/bench.log" | grep -E ' tg128 ' | awk -F'|' '{print $6}')
    echo "skip tinyllama:$t $sk $r" | tee -a "$OUT/skip.txt"
  done
done
m=$(model llama3-8b q4_0)
for sk in 0 16; do
  r=$(VKLLM_VK_SKIP=$sk $BIN bench -m "$m" -p 0 -n 64 -r 1 --backend vulkan 2>>"$OUT/bench.log" | grep -E ' tg64 ' | awk -F'|' '{print $6}')
  echo "skip llama3-8b:q4_0 $sk $r" | tee -a "$OUT/skip.txt"
done
exit 0
