#!/bin/bash
# tokenizer_cli.sh — `vkllm tokenize` / `vkllm detokenize` on each model kind:
# exact ids (Llama 2 SPM GGUF vectors, stories260K run.c prompt ids, Llama 3
# byte-level), round trip through detokenize, and the usage errors.
set -u
T="${VKLLM_TESTDATA:-../shared/testdata}"
B="${VKLLM_BIN:?VKLLM_BIN not set}"
fail=0
check() { # name, got, want
    if [ "$2" != "$3" ]; then echo "FAIL $1: got [$2] want [$3]"; fail=1; else echo "ok $1"; fi
}
[ -x "$B" ] || { echo "FAIL: $B is not built"; exit 1; }
check spm "$("$B" tokenize -m "$T/tokenizer/ggml-vocab-llama-spm.gguf" -p " Hello, world!" --no-bos)" \
    "29871 15043 29892 3186 29991"
check spm-bos "$("$B" tokenize -m "$T/tokenizer/ggml-vocab-llama-spm.gguf" -p "Hello world")" "1 15043 3186"
check llama2c "$("$B" tokenize -m "$T/models/stories260K/tok512.bin" --n-vocab 512 -p "Lily and Tom went to the park")" \
    "1 317 269 274 287 263 377 267 265 282 295 433"
check llama2c-detok "$("$B" detokenize -m "$T/models/stories260K/tok512.bin" --n-vocab 512 --ids 1,403,407,261,378)" \
    "Once upon a time"
ids=$("$B" tokenize -m "$T/tokenizer/ggml-vocab-llama-bpe.gguf" -p "Hello, y'all! 3333 🦙" --no-bos)
check bpe-detok "$("$B" detokenize -m "$T/tokenizer/ggml-vocab-llama-bpe.gguf" --ids "${ids// /,}")" "Hello, y'all! 3333 🦙"
check special "$("$B" tokenize -m "$T/tokenizer/ggml-vocab-llama-bpe.gguf" -p "<|eot_id|>" --no-bos --parse-special)" "128009"
check hf "$("$B" tokenize -m "$T/models/tiny-llama3/tokenizer.json" -p "Hello world" --no-bos)" "9906 1917"
printf 'Hello world' > "${VKLLM_TMP:-/tmp}/tok_cli.txt"
check file "$("$B" tokenize -m "$T/tokenizer/ggml-vocab-llama-spm.gguf" -f "${VKLLM_TMP:-/tmp}/tok_cli.txt" --no-bos)" "15043 3186"
# usage errors: nonzero exit and one message line
if "$B" tokenize -m "$T/models/stories260K/tok512.bin" -p x 2>/dev/null; then echo "FAIL: .bin without --n-vocab"; fail=1; fi
if "$B" detokenize -m "$T/tokenizer/ggml-vocab-llama-spm.gguf" --ids 99999999 2>/dev/null; then echo "FAIL: bad id"; fail=1; fi
if "$B" tokenize -m /nonexistent -p x 2>/dev/null; then echo "FAIL: missing model"; fail=1; fi
exit $fail
