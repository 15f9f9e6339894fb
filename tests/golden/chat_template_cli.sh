#!/usr/bin/env bash
# chat_template_cli.sh — `vkllm chat-template`: exact output (no newline added)
# for template files and for models (HF folder and GGUF give the same prompt,
# bos/eos from the model), --var, --bos/--eos, and one-line errors.
# Expected prompts are Python Jinja2 renderings from the template goldens.
set -u
BIN=${VKLLM_BIN:?}
DATA=${VKLLM_TESTDATA:?}
T=$DATA/templates
M=$DATA/models
TMP=${VKLLM_TMP:-/tmp}/chat_template_cli.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect_out NAME EXPECTED(printf format) ARGS...
expect_out() {
    local name=$1 want=$2
    shift 2
    printf "$want" > "$TMP/want"
    if ! "$BIN" chat-template "$@" > "$TMP/got" 2> "$TMP/err"; then
        fail "$name: exit status $? ($(cat "$TMP/err"))"
        return
    fi
    cmp -s "$TMP/got" "$TMP/want" || fail "$name: got [$(cat "$TMP/got")] want [$(cat "$TMP/want")]"
}

# expect_err NAME NEEDLE ARGS...
expect_err() {
    local name=$1 needle=$2
    shift 2
    if "$BIN" chat-template "$@" > "$TMP/got" 2> "$TMP/err"; then
        fail "$name: succeeded, expected an error"
        return
    fi
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "$name: error is not one line: $(cat "$TMP/err")"
    grep -qF -- "$needle" "$TMP/err" || fail "$name: error '$(cat "$TMP/err")' lacks '$needle'"
    [ -s "$TMP/got" ] && fail "$name: printed output on failure"
}

printf '[{"role": "user", "content": "Hello! Who are you?"}]' > "$TMP/hello.json"
printf '[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "What is 2+2?"}]' > "$TMP/sys.json"

expect_out "qwen3 file" '<|im_start|>user\nHello! Who are you?<|im_end|>\n<|im_start|>assistant\n' \
    --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json" --add-generation-prompt
expect_out "qwen3 no generation prompt" '<|im_start|>user\nHello! Who are you?<|im_end|>\n' \
    --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json"
expect_out "qwen3 enable_thinking=false" \
    '<|im_start|>user\nHello! Who are you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' \
    --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json" --add-generation-prompt \
    --var enable_thinking=false
expect_out "phi3 eos" '<|user|>\nHello! Who are you?<|end|>\n</s>' \
    --chat-template-file "$T/microsoft-Phi-3.5-mini-instruct.jinja" --messages "$TMP/hello.json" --eos '</s>'
expect_out "phi3 eos undefined" '<|user|>\nHello! Who are you?<|end|>\n' \
    --chat-template-file "$T/microsoft-Phi-3.5-mini-instruct.jinja" --messages "$TMP/hello.json"
expect_out "llama3 bos" \
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' \
    --chat-template-file "$T/llama3.jinja" --messages "$TMP/sys.json" --bos '<|begin_of_text|>'
# extra message keys pass through (tool_calls)
printf '[{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]' > "$TMP/tools.json"
expect_out "qwen3 tool_calls" \
    '<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call><|im_end|>\n' \
    --chat-template-file "$T/qwen3.jinja" --messages "$TMP/tools.json"

# models: the HF folder and its GGUF conversion give the same prompt, with the model's bos/eos
for m in tiny-llama3 tiny-qwen2; do
    "$BIN" chat-template -m "$M/$m" --messages "$TMP/sys.json" --add-generation-prompt > "$TMP/hf" 2> "$TMP/err" \
        || fail "$m folder: $(cat "$TMP/err")"
    "$BIN" chat-template -m "$M/$m-q8_0.gguf" --messages "$TMP/sys.json" --add-generation-prompt > "$TMP/gguf" 2> "$TMP/err" \
        || fail "$m gguf: $(cat "$TMP/err")"
    [ -s "$TMP/hf" ] || fail "$m: empty prompt"
    cmp -s "$TMP/hf" "$TMP/gguf" || fail "$m: folder and GGUF prompts differ: [$(cat "$TMP/hf")] vs [$(cat "$TMP/gguf")]"
done
expect_out "tiny-llama3 model bos" \
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' \
    -m "$M/tiny-llama3" --messages "$TMP/sys.json"

# errors
expect_err "no source" "exactly one of" --messages "$TMP/hello.json"
expect_err "both sources" "exactly one of" -m "$M/tiny-qwen2" --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json"
expect_err "no messages" "--messages" --chat-template-file "$T/qwen3.jinja"
expect_err "missing template file" "cannot read" --chat-template-file "$TMP/nope.jinja" --messages "$TMP/hello.json"
printf '[{"role": "user",' > "$TMP/bad.json"
expect_err "bad messages JSON" "bad.json" --chat-template-file "$T/qwen3.jinja" --messages "$TMP/bad.json"
printf '{"role": "user"}' > "$TMP/obj.json"
expect_err "messages not an array" "array" --chat-template-file "$T/qwen3.jinja" --messages "$TMP/obj.json"
expect_err "bad --var" "NAME=JSON" --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json" --var novalue
expect_err "bad --var JSON" "bad JSON" --chat-template-file "$T/qwen3.jinja" --messages "$TMP/hello.json" --var x=tru
expect_err "template raises" "template:1:74: System role not supported" \
    --chat-template-file "$T/google-gemma-2-2b-it.jinja" --messages "$TMP/sys.json"
printf 'a\n{%% for x in y %%}' > "$TMP/broken.jinja"
expect_err "template syntax" "template:2:" --chat-template-file "$TMP/broken.jinja" --messages "$TMP/hello.json"
expect_err "model without template" "no chat template" -m "$M/tiny-llama2" --messages "$TMP/hello.json"
expect_err "GGUF without template" "no chat template" -m "$M/tiny-llama2-q8_0.gguf" --messages "$TMP/hello.json"
expect_err "missing model" "no such file" -m "$TMP/none" --messages "$TMP/hello.json"
expect_err "unknown flag" "unknown flag" --frobnicate 1

[ "$fails" -eq 0 ] && echo "chat_template_cli: all passed" || echo "chat_template_cli: $fails failed"
[ "$fails" -eq 0 ]
