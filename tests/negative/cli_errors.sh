#!/bin/bash
# cli_errors.sh — bad input to the CLI: each case must exit non-zero with ONE
# line on stderr that names the file/flag and the problem, and no crash
# (exit codes >= 128 are signals; ASan/UBSan abort with their own codes).
set -u
BIN=${VKLLM_BIN:?}
TD=${VKLLM_TESTDATA:-../shared/testdata}
TMP=${VKLLM_TMP:-/tmp}/cli_errors.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail=0 n=0
STORIES=$TD/models/stories260K/stories260K.bin
TOK=$TD/models/stories260K/tok512.bin
GGUF=$TD/models/tiny-llama2-q8_0.gguf

# expect PATTERN CMD...: non-zero exit < 128, one stderr line matching PATTERN
expect() {
  local pat=$1; shift
  n=$((n+1))
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  local lines
  lines=$(printf '%s' "$err" | grep -c '')
  if [ $rc -eq 0 ] || [ $rc -ge 128 ] || [ "$lines" -ne 1 ] || ! printf '%s' "$err" | grep -qE -- "$pat"; then
    echo "FAIL: $* -> rc=$rc lines=$lines stderr: $err"
    fail=$((fail+1))
  fi
}

expect 'no such file' "$BIN" run -m "$TMP/missing.gguf" -p hi
expect 'no model' "$BIN" run -p hi
expect 'unknown command' "$BIN" frobnicate
expect 'unknown or incomplete option' "$BIN" run -m "$STORIES" --bogus
expect '--temp' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi --temp abc
expect '--temp' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi --temp -1
expect '--top-p' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi --top-p 2
expect '-n' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi -n -5
expect '--threads' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi --threads 0
expect '--backend' "$BIN" run -m "$STORIES" --backend tpu -p hi
expect 'context size' "$BIN" run -m "$STORIES" --tokenizer "$TOK" -p hi -n 100 --ctx 16 --backend cpu
expect '--ids' "$BIN" logits -m "$STORIES" --ids 1,x,3 -o "$TMP/o.f32"
expect 'out of range' "$BIN" logits -m "$STORIES" --tokenizer "$TOK" --ids 1,99999 -o "$TMP/o.f32" --backend cpu
[ -e "$TMP/o.f32" ] && { echo "FAIL: logits left a file behind"; fail=$((fail+1)); }

# corrupt model files
printf 'GGUF' > "$TMP/trunc.gguf"
expect 'trunc.gguf' "$BIN" run -m "$TMP/trunc.gguf" -p hi
head -c 100000 "$GGUF" > "$TMP/cut.gguf"
expect 'cut.gguf' "$BIN" run -m "$TMP/cut.gguf" -p hi
{ printf 'GGUX'; tail -c +5 "$GGUF"; } > "$TMP/magic.gguf"
expect 'magic' "$BIN" info "$TMP/magic.gguf"
head -c 1000 "$STORIES" > "$TMP/short.bin"
expect 'short.bin' "$BIN" run -m "$TMP/short.bin" --tokenizer "$TOK" -p hi
# a tensor the architecture needs is absent (its name changed in place)
LC_ALL=C sed 's/blk\.0\.attn_q\.weight/blk.0.attn_x.weight/' "$GGUF" > "$TMP/notensor.gguf"
expect "notensor.gguf: missing tensor 'blk.0.attn_q.weight'" "$BIN" run -m "$TMP/notensor.gguf" -p hi --backend cpu
# general.architecture's value with a byte that is not UTF-8 ("ll\xffma")
cp "$GGUF" "$TMP/archutf8.gguf"
off=$(LC_ALL=C grep -obUa 'general\.architecture' "$GGUF" | head -1 | cut -d: -f1)
printf '\377' | dd of="$TMP/archutf8.gguf" bs=1 seek=$((off + 20 + 4 + 8 + 2)) conv=notrunc 2>/dev/null
expect 'archutf8.gguf: unknown architecture' "$BIN" info "$TMP/archutf8.gguf"
mkdir -p "$TMP/hf"
echo '{ not json' > "$TMP/hf/config.json"
expect 'config.json' "$BIN" info "$TMP/hf"
cp "$TD/models/tiny-llama2/config.json" "$TMP/hf/config.json"
expect 'safetensors' "$BIN" info "$TMP/hf"
sed 's/LlamaForCausalLM/GPTNeoXForCausalLM/; s/"llama"/"gpt_neox"/' "$TD/models/tiny-llama2/config.json" > "$TMP/hf/config.json"
expect 'GPTNeoX|gpt_neox|architecture' "$BIN" info "$TMP/hf"

echo "$((n-fail)) passed, $fail failed"
[ $fail -eq 0 ]
