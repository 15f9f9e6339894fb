#!/bin/bash
# gpu_ab.sh — two builds compared on the same machine loan: for each
# SHAPE:TYPE of LIST, decode (`vkllm bench -p 0 -n N -r REPS`) with the
# binary BASE and then BIN, alternating so drift hits both; then pp512 with
# each when PP=1. Lines "ab SHAPE:TYPE base|new TEST tok/s" to $OUT/ab.txt.
# Builds nothing: carry both binaries (e.g. build-gpu/vkllm-base).
# Usage: source .gpu/on-device.sh; BASE=./build-gpu/vkllm-base bash bench/gpu_ab.sh "SHAPE:TYPE ..."
set -u
source bench/gpu_common.sh
BASE=${BASE:-./build-gpu/vkllm-base}
for st in ${1:-tinyllama-1.1b:q4_0}; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  for b in "$BASE" "$BIN"; do
    tag=new; [ "$b" = "$BASE" ] && tag=base
    r=$("$b" bench -m "$m" -p 0 -n "${N:-128}" -r "${REPS:-2}" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' tg[0-9]+ ' | awk -F'|' '{print $5, $6}')
    echo "ab $st $tag $r" | tee -a "$OUT/ab.txt"
    if [ "${PP:-0}" = 1 ]; then
      r=$("$b" bench -m "$m" -p 512 -n 0 -r "${REPS:-2}" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' pp512 ' | awk -F'|' '{print $5, $6}')
      echo "ab $st $tag $r" | tee -a "$OUT/ab.txt"
    fi
  done
done
exit 0
