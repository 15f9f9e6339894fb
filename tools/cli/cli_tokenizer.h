/* cli_tokenizer.h — opening a tokenizer from whatever MODEL names, for the
 * tokenize and detokenize commands. */
#ifndef VKLLM_CLI_TOKENIZER_H
#define VKLLM_CLI_TOKENIZER_H

#include "tokenizer/tokenizer.h"

/* MODEL: a GGUF file (full or vocab-only), a tokenizer.json, a Hugging Face
 * folder, or a llama2.c tokenizer .bin (n_vocab > 0 required for that one).
 * Prints "vkllm <cmd>: ..." and returns nonzero on failure. */
int cli_tokenizer_open(const char *cmd, const char *model, long n_vocab, tokenizer **out);

#endif
