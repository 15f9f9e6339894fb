/* tokmeta.h — writing the tokenizer.* keys of a GGUF file: from a Hugging Face
 * tokenizer.json, a byte-level placeholder, or a copy from another GGUF file. */
#ifndef VKLLM_CONVERT_TOKMETA_H
#define VKLLM_CONVERT_TOKMETA_H

#include <stdint.h>

#include "format/gguf.h"
#include "format/gguf_write.h"
#include "vkllm.h"

/* dir/tokenizer.json (+ tokenizer_config.json) -> tokenizer.ggml.*, padded to
 * n_vocab tokens. A folder without tokenizer.json writes nothing (a warning). */
vkllm_status tokmeta_from_hf(gguf_writer *w, const char *dir, int32_t n_vocab);
/* A byte-level BPE vocabulary of n_vocab (>= 258) tokens that loads and tokenizes. */
vkllm_status tokmeta_placeholder(gguf_writer *w, int32_t n_vocab);
/* Copies every tokenizer.* key of g; returns its token count (-1 and *st set on failure). */
int32_t tokmeta_copy(gguf_writer *w, const gguf *g, vkllm_status *st);

#endif
