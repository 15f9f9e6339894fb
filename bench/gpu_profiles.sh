#!/bin/bash
# gpu_profiles.sh — per-kernel GPU time (--profile, timestamps) for the cases
# whose targets are furthest: decode of 32 / 8 sequences together, tinyllama
# decode split by weight shape (VKLLM_VK_PROFILE_BYTES=1), and pp512 of
# tinyllama F16 / Q4_0 and llama3-8b F16. Builds nothing; models synthesized
# once per machine; tables under $OUT/prof-*.txt.
# Usage: source .gpu/on-device.sh; bash bench/gpu_profiles.sh
set -u
. "$(dirname "$0")/gpu_common.sh"
show() { grep -v "^\[vkllm\]" "$1" | head -${2:-16}; }
m=$(model tinyllama-1.1b q8_0) && for b in 32 8; do
  "$BIN" bench -m "$m" -p 0 -n 16 -r 1 --batch $b --backend vulkan --profile > "$OUT/prof-batch$b.out" 2> "$OUT/prof-batch$b.txt"
  echo "== batch $b"; show "$OUT/prof-batch$b.txt"
done
m=$(model tinyllama-1.1b q4_0) && VKLLM_VK_PROFILE_BYTES=1 "$BIN" bench -m "$m" -p 0 -n 32 -r 1 --backend vulkan --profile > /dev/null 2> "$OUT/prof-tg-q4_0.txt"
echo "== tg q4_0 by shape"; show "$OUT/prof-tg-q4_0.txt" 20
for st in tinyllama-1.1b:f16 tinyllama-1.1b:q4_0 llama3-8b:f16; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  VKLLM_VK_PROFILE_BYTES=1 "$BIN" bench -m "$m" -p 512 -n 0 -r 1 --backend vulkan --profile > /dev/null 2> "$OUT/prof-pp-${st/:/-}.txt"
  echo "== pp512 $st"; show "$OUT/prof-pp-${st/:/-}.txt" 24
done
