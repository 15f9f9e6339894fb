#!/bin/bash
# gpu_ab.sh — builds compared on the same machine loan: for each SHAPE:TYPE
# of LIST, decode (`vkllm bench -p P -n N -r REPS`, P default 0) with each
# binary of BINS ("tag:path ..."; default base:./build-gpu/vkllm-base and
# new:$BIN), one after another so drift hits all; then pp512 with each when
# PP=1. Lines "ab SHAPE:TYPE TAG TEST tok/s" to $OUT/ab.txt. ENV (NAME=VALUE)
# is set for every run. Builds nothing: carry the binaries.
# Usage: source .gpu/on-device.sh; BINS="a:./build-gpu/vkllm-a b:./build-gpu/vkllm" bash bench/gpu_ab.sh "SHAPE:TYPE ..."
set -u
source bench/gpu_common.sh
BINS=${BINS:-"base:${BASE:-./build-gpu/vkllm-base} new:$BIN"}
for st in ${1:-tinyllama-1.1b:q4_0}; do
  m=$(model "${st%%:*}" "${st##*:}") || continue
  for tb in $BINS; do
    r=$(env ${ENV:-VKLLM_X=0} "${tb#*:}" bench -m "$m" -p "${P:-0}" -n "${N:-128}" -r "${REPS:-2}" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' tg[0-9]+ ' | awk -F'|' '{print $5, $6}')
    echo "ab $st ${tb%%:*} $r" | tee -a "$OUT/ab.txt"
    if [ "${PP:-0}" = 1 ]; then
      r=$("${tb#*:}" bench -m "$m" -p 512 -n 0 -r "${REPS:-2}" --backend vulkan 2>>"$OUT/bench.log" | grep -E ' pp512 ' | awk -F'|' '{print $5, $6}')
      echo "ab $st ${tb%%:*} $r" | tee -a "$OUT/ab.txt"
    fi
  done
done
exit 0
