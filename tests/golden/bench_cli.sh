#!/bin/bash
# bench_cli.sh — `vkllm bench` rows (no timing is checked, only which tests
# run and the JSON fields): -p lists (ppN per size), --batch B (tgNxB and
# tgNxB/seq), --ctx-sweep limited by the model's context (tgN@0, tgN@4096 on
# a 4200-position synth model, no @16384), --ubatch and --kv-type q8_0, and
# the usage errors.
set -u
T="${VKLLM_TESTDATA:-../shared/testdata}"
B="${VKLLM_BIN:?VKLLM_BIN not set}"
TMP="${VKLLM_TMP:-/tmp}"
fail=0
check() { # name, got, want
    if [ "$2" != "$3" ]; then echo "FAIL $1: got [$2] want [$3]"; fail=1; else echo "ok $1"; fi
}
tests_of() { grep -o '"test": "[^"]*"' | sed 's/"test": "\(.*\)"/\1/' | tr '\n' ' '; }
[ -x "$B" ] || { echo "FAIL: $B is not built"; exit 1; }
M="$T/models/stories260K/stories260K.bin"
out=$("$B" bench -m "$M" -p 16,32 -n 4 -r 2 --batch 3 --ubatch 8 --backend cpu --threads 1 -o json) || fail=1
check stories-rows "$(echo "$out" | tests_of)" "pp16 pp32 tg4 tg4x3 tg4x3/seq "
for f in model type size_bytes backend device test tok_per_s stddev; do
    check "field-$f" "$(echo "$out" | grep -c "\"$f\": ")" 5
done
S="$TMP/bench_cli.$$.gguf"
"$B" synth "$S" --arch llama --dim 64 --layers 1 --heads 2 --kv-heads 1 --ffn 64 --vocab-size 300 \
    --ctx 4200 --type f16 --seed 1 --threads 1 >/dev/null 2>&1 || { echo "FAIL synth"; fail=1; }
out=$("$B" bench -m "$S" -p 8 -n 2 -r 1 --ctx-sweep --kv-type q8_0 --backend cpu --threads 1 -o json) || fail=1
check sweep-rows "$(echo "$out" | tests_of)" "pp8 tg2 tg2@0 tg2@4096 "
out=$("$B" bench -m "$S" -p 0 -n 0 -r 1 --backend cpu -o json) || fail=1
check no-rows "$(echo "$out" | tests_of)" ""
rm -f "$S"
for bad in "-p 16,,x" "-p 16," "-p -1" "--batch 0" "--ubatch 0" "--kv-type q4_0"; do
    # shellcheck disable=SC2086
    err=$("$B" bench -m "$M" $bad --backend cpu 2>&1 >/dev/null) && { echo "FAIL: '$bad' accepted"; fail=1; }
    check "error-lines $bad" "$(echo "$err" | wc -l)" 1
done
err=$("$B" bench -m "$M" --kv-type q8_0 -p 4 -n 0 --backend cpu 2>&1 >/dev/null) && { echo "FAIL: q8_0 kv with head dim 8"; fail=1; }
case "$err" in *"multiple of 32"*) echo "ok q8_0 head dim" ;; *) echo "FAIL q8_0 head dim: $err"; fail=1 ;; esac
exit $fail
