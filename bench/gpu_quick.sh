#!/bin/bash
# gpu_quick.sh — one device call's worth of comparisons: for each SHAPE:TYPE
# (synthesized once per machine) `vkllm bench -p P -n 128` under each
# environment setting in ENVS ("-" = none, else NAME=VALUE), JSON lines to
# $OUT/quick.txt. Builds nothing.
# Usage: source .gpu/on-device.sh; bash bench/gpu_quick.sh "SHAPE:TYPE ..." "ENVS" [P]
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
LIST=${1:-"tinyllama-1.1b:q4_0"}
ENVS=${2:-"-"}
P=${3:-512}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
for st in $LIST; do
  shape=${st%%:*}; type=${st##*:}
  m="$MODELS/$shape-$type.gguf"
  [ -f "$m" ] || "$BIN" synth "$m" --shape "$shape" --type "$type" >> "$OUT/synth.log" 2>&1 || { echo "synth $st failed"; continue; }
  for e in $ENVS; do
    r=$(if [ "$e" = "-" ]; then "$BIN" bench -m "$m" -p "$P" -n "${N:-128}" -r "${REPS:-2}" --backend vulkan -o json; \
        else env "$e" "$BIN" bench -m "$m" -p "$P" -n "${N:-128}" -r "${REPS:-2}" --backend vulkan -o json; fi 2>>"$OUT/bench.log" | tr -d '\n')
    echo "$st $e $r" | tee -a "$OUT/quick.txt" | sed 's/"model"[^}]*"test": //g; s/"size_bytes[^}]*"test"//g'
  done
done
