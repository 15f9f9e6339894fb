/* tokenizer.h — text <-> token ids, matching the reference tokenizers exactly.
 *
 * One tokenizer object covers every source: GGUF metadata (tokenizer.ggml.*),
 * a Hugging Face tokenizer.json (+ tokenizer_config.json beside it), and a
 * llama2.c tokenizer .bin. Kinds: SentencePiece-style BPE ("llama"), byte-level
 * BPE ("gpt2") with the pre-tokenizer named by tokenizer.ggml.pre.
 *
 * Ownership: the tokenizer copies what it needs; the source (gguf handle, file)
 * may be closed after creation. */
#ifndef VKLLM_TOKENIZER_TOKENIZER_H
#define VKLLM_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "format/gguf.h"
#include "tokenizer/tok_spec.h"
#include "vkllm.h"

typedef struct tokenizer tokenizer;

/* Compiles a spec into a tokenizer. Takes ownership of the spec's contents in
 * every case (the spec is left zeroed, also on failure). Fails on out-of-range
 * special/added ids, token types outside 1..6, bad regexes. */
vkllm_status tokenizer_build(tok_spec *spec, tokenizer **out);

vkllm_status tokenizer_from_gguf(const gguf *g, tokenizer **out);
/* path: a tokenizer.json file or a folder containing one. */
vkllm_status tokenizer_from_hf(const char *path, tokenizer **out);
/* llama2.c tokenizer file; n_vocab comes from the checkpoint header.
 * Layout: i32 max_token_length, then per token: f32 score, i32 len, len bytes. */
vkllm_status tokenizer_from_llama2c(const char *path, int n_vocab, tokenizer **out);
void tokenizer_free(tokenizer *t);

enum {
    TOKENIZER_ADD_BOS = 1,       /* add BOS/EOS as the tokenizer's settings say */
    TOKENIZER_PARSE_SPECIAL = 2  /* special-token text becomes control tokens */
};

/* Encodes len bytes of text; *ids is a heap array (mem_free) of *n ids. */
vkllm_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, int flags,
                              int32_t **ids, size_t *n);

int tokenizer_n_vocab(const tokenizer *t);
const char *tokenizer_kind(const tokenizer *t); /* "spm", "bpe", "llama2c", ... */
int32_t tokenizer_bos(const tokenizer *t);      /* -1 when none */
int32_t tokenizer_eos(const tokenizer *t);      /* -1 when none */
int tokenizer_adds_bos(const tokenizer *t);
/* End-of-generation: EOS, EOT (<|eot_id|>, <|im_end|>, <|end|>, ...). */
int tokenizer_is_eog(const tokenizer *t, int32_t id);
/* Raw vocabulary string of a token (as stored), or NULL when out of range. */
const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len);

/* Decoded bytes of one token as it appears in running text (byte tokens give
 * their byte, "▁" gives a space, byte-level BPE maps back to bytes; control
 * tokens give "" unless keep_special). */
vkllm_status tokenizer_piece(const tokenizer *t, int32_t id, int keep_special, buf *out);

/* Decodes a whole id sequence to text (applying the decoder's rules such as
 * stripping the SentencePiece leading space). Appends to out. */
vkllm_status tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int keep_special,
                              buf *out);

/* Streaming decode: feed ids one at a time; complete UTF-8 text is appended to
 * out, an incomplete trailing character is held back until it completes. */
typedef struct tok_stream {
    const tokenizer *t;
    buf pending;       /* decoded bytes not yet emitted */
    size_t n_fed;      /* tokens fed so far (first-token rules) */
    int32_t prev;      /* previous id (llama2.c: strip space after BOS) */
} tok_stream;
void tok_stream_init(tok_stream *s, const tokenizer *t);
vkllm_status tok_stream_push(tok_stream *s, int32_t id, buf *out);
void tok_stream_flush(tok_stream *s, buf *out); /* emits what is left (invalid bytes as-is) */
void tok_stream_free(tok_stream *s);

#endif
