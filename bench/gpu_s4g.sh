#!/bin/bash
# gpu_s4g.sh — 2026-12-02 fourth session, for the next one: where 32
# sequences decoding together spend their time (tinyllama Q8_0, --profile
# by weight size), and every pipeline's registers (VKLLM_VK_PIPE_STATS=1).
# Usage: source .gpu/on-device.sh; bash bench/gpu_s4g.sh
set -u
source bench/gpu_common.sh
export OUT
m=$(model tinyllama-1.1b q8_0)
VKLLM_VK_PROFILE_BYTES=1 $BIN bench -m $m -p 0 -n 32 -r 1 --batch 32 --backend vulkan --profile > "$OUT/b32.txt" 2> "$OUT/prof-b32.txt"
grep -E 'x32' "$OUT/b32.txt"; grep -v '^\[vkllm\]' "$OUT/prof-b32.txt" | head -24
VKLLM_VK_PIPE_STATS=1 $BIN bench -m $m -p 512 -n 16 -r 1 --batch 32 --backend vulkan 2>&1 | grep '^pipeline' | sort -u | cut -c1-200 | tee "$OUT/pipes.txt"
exit 0
