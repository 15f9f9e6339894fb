# gpu_common.sh — sourced by the bench/gpu_*.sh scripts: where results,
# the binary and the synthesized models go, and model() to make one.
OUT=${OUT:-/tmp/vkllm-bench}
BIN=${VKLLM_BIN:-./build-gpu/vkllm}
MODELS=${MODELS:-/tmp/vkllm-models}
mkdir -p "$OUT" "$MODELS"
model() { # SHAPE TYPE [CTX] -> path (synthesized when missing; CTX sets the trained context)
  local m="$MODELS/$1-$2${3:+-ctx$3}.gguf"
  [ -f "$m" ] || "$BIN" synth "$m" --shape "$1" --type "$2" ${3:+--ctx $3} >> "$OUT/synth.log" 2>&1 || { echo "synth $1 $2 failed" >&2; return 1; }
  echo "$m"
}
