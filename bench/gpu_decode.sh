#!/bin/bash
# gpu_decode.sh — decode-speed comparisons in one device call: for each model
# (synthesized once per machine) `vkllm bench` tg rows under each matvec shape
# in VKLLM_VK_MATVEC ("WG,NR"; "-" = default), then one profiled run.
# Usage: source .gpu/on-device.sh; bash bench/gpu_decode.sh "SHAPE:TYPE ..." "SHAPES" [P]
set -u
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
LIST=${1:-"tinyllama-1.1b:q4_0"}
MV=${2:-"-"}
P=${3:-512}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
PROMPT=$(head -c $((P - 1)) /dev/zero | tr '\0' 'a')
for st in $LIST; do
  shape=${st%%:*}; type=${st##*:}
  m="$MODELS/$shape-$type.gguf"
  [ -f "$m" ] || "$BIN" synth "$m" --shape "$shape" --type "$type" >> "$OUT/synth.log" 2>&1 || { echo "synth $st failed"; continue; }
  for mv in $MV; do
    if [ "$mv" = "-" ]; then unset VKLLM_VK_MATVEC; else export VKLLM_VK_MATVEC=$mv; fi
    r=$("$BIN" bench -m "$m" -p "$P" -n 128 -r "${REPS:-3}" --backend vulkan -o json 2>>"$OUT/bench.log" | tr -d '\n')
    echo "$st mv=$mv $r" | tee -a "$OUT/decode.txt" | sed 's/"model"[^}]*"test": //g'
  done
  unset VKLLM_VK_MATVEC
  "$BIN" run -m "$m" -p "$PROMPT" -n 64 --temp 0 --backend vulkan --profile > /dev/null 2> "$OUT/$shape-$type.profile"
  grep -v "^\[vkllm\]" "$OUT/$shape-$type.profile" | head -24
done
