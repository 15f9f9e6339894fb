#!/bin/bash
# generation_stop.sh — generation ends at every end-of-generation token the
# model has (Llama 3: <|eot_id|> and <|end_of_text|>; Qwen2: <|im_end|> and
# <|endoftext|>; Llama 2: </s>), in `vkllm run` and `vkllm chat`, and the stop
# token's text is never printed. --logit-bias ID=1e6 makes the model pick the
# token at once; the control runs show the bias is obeyed for a plain token
# (its text printed -n times) and that without it the model does generate.
set -u
BIN=${VKLLM_BIN:?}
T=${VKLLM_TESTDATA:?}/models
TMP=${VKLLM_TMP:-/tmp}/generation_stop.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
run() { "$BIN" run -m "$1" -p "Hello" -n 6 --temp 0 --backend cpu --threads 1 "${@:2}"; }

# model | end-of-generation ids | a plain token id and its text | chat flags
cases="tiny-llama3|128009 128001|22691| Hello|
tiny-llama3-q8_0.gguf|128009 128001|22691| Hello|
tiny-qwen2|151645 151643|21927| Hello|
tiny-llama2|2|22557| Hello|--chat-template llama2"
while IFS='|' read -r m eogs plain text cflags; do
  M="$T/$m"
  run "$M" > "$TMP/free" 2> "$TMP/err" || fail "$m: plain run: exit $? ($(cat "$TMP/err"))"
  [ -s "$TMP/free" ] || fail "$m: plain run printed nothing"
  for id in $eogs; do
    run "$M" --logit-bias "$id=1e6" > "$TMP/out" 2> "$TMP/err" || fail "$m: run stopping at $id: exit $? ($(cat "$TMP/err"))"
    [ ! -s "$TMP/out" ] || fail "$m: run did not stop at end token $id: [$(cat "$TMP/out")]"
    grep -q "generated 0 tok" "$TMP/err" || fail "$m: telemetry does not show 0 generated tokens before $id: $(cat "$TMP/err")"
    printf 'Hi\nHow are you?\n' | "$BIN" chat -m "$M" $cflags --temp 0 -n 6 --backend cpu --threads 1 --logit-bias "$id=1e6" \
      > "$TMP/chat" 2> "$TMP/err" || fail "$m: chat stopping at $id: exit $? ($(cat "$TMP/err"))"
    [ "$(od -An -c "$TMP/chat" | tr -d ' \n')" = '\n\n\n\n' ] || fail "$m: chat answers not empty with end token $id: [$(cat "$TMP/chat")]"
  done
  # the bias is really applied: a plain token forced six times
  run "$M" --logit-bias "$plain+1e6" > "$TMP/out" 2>/dev/null
  want=$(for i in 1 2 3 4 5 6; do printf '%s' "$text"; done)
  [ "$(cat "$TMP/out")" = "$want" ] || [ "$(cat "$TMP/out")" = "${want# }" ] || \
    fail "$m: --logit-bias $plain+1e6 printed [$(cat "$TMP/out")], want [$want]"
done <<< "$cases"

# bad values: one-line errors, non-zero exit
for bad in "x=1" "5" "5=abc" "5=inf" "-3=1" "99999999=1"; do
  if "$BIN" run -m "$T/tiny-qwen2" -p "Hi" -n 2 --backend cpu --logit-bias "$bad" > /dev/null 2> "$TMP/err"; then
    fail "--logit-bias '$bad' accepted"
  fi
  [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "--logit-bias '$bad': not a one-line error: $(cat "$TMP/err")"
done
[ $fails -eq 0 ] && echo ok
exit $((fails > 0))
