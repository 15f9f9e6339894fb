#!/bin/bash
# chat_cli.sh — `vkllm chat` with stdin not a terminal: one user message per
# input line, each answer printed followed by a blank line, nothing else on
# stdout; greedy answers are deterministic, and the first answer does not
# depend on the lines after it (each turn is answered before the next is read).
set -u
BIN=${VKLLM_BIN:?}
M=${VKLLM_TESTDATA:?}/models/tiny-qwen2
TMP=${VKLLM_TMP:-/tmp}/chat_cli.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
chat() { "$BIN" chat -m "$M" --temp 0 -n 6 --backend cpu --threads 1 "$@"; }

printf 'Hello\nHow are you?\n' | chat > "$TMP/two" 2> "$TMP/err" || fail "two turns: exit $? ($(cat "$TMP/err"))"
printf 'Hello\n' | chat > "$TMP/one" 2> "$TMP/err" || fail "one turn: exit $? ($(cat "$TMP/err"))"
printf 'Hello\nHow are you?\n' | chat > "$TMP/again" 2>/dev/null
# each answer ends in a blank line: the one-turn output ends in "\n\n" and is
# the start of the two-turn output, which ends in "\n\n" too
ends_blank() { [ "$(tail -c 2 "$1" | od -An -c | tr -d ' ')" = '\n\n' ]; }
ends_blank "$TMP/one" || fail "one turn: answer not followed by a blank line: [$(cat "$TMP/one")]"
ends_blank "$TMP/two" || fail "two turns: answer not followed by a blank line: [$(cat "$TMP/two")]"
cmp -s "$TMP/two" "$TMP/again" || fail "greedy chat is not deterministic"
# the first answer block of the two-turn chat is the one-turn chat's output
head -c "$(wc -c < "$TMP/one")" "$TMP/two" | cmp -s - "$TMP/one" || \
    fail "first answer differs: [$(cat "$TMP/one")] vs [$(cat "$TMP/two")]"
[ "$(wc -c < "$TMP/one")" -lt "$(wc -c < "$TMP/two")" ] || fail "second turn printed nothing"
# empty input: no answers, success
chat < /dev/null > "$TMP/none" 2> "$TMP/err" || fail "empty input: exit $? ($(cat "$TMP/err"))"
[ -s "$TMP/none" ] && fail "empty input printed [$(cat "$TMP/none")]"

[ "$fails" -eq 0 ] && echo "chat_cli: all passed" || echo "chat_cli: $fails failed"
[ "$fails" -eq 0 ]
