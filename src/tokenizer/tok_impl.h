/* tok_impl.h — the runtime tokenizer's private layout, shared by the files of
 * src/tokenizer/ (tokenizer.c, spm.c, bpe.c, pretok.c, normalize.c, decode.c,
 * vocabmap.c). Nothing outside src/tokenizer/ includes it.
 *
 * Encoding pipeline (the Hugging Face tokenizers order):
 *   split on added tokens -> per text segment: normalizer steps ->
 *   pre-tokenizer steps (a list of pieces) -> model per piece (SPM or ranked
 *   BPE) -> BOS/EOS.
 * Decoding: per token, the position-free decoder steps; then position rules
 *   (Metaspace first-token strip, Strip after Fuse). */
#ifndef VKLLM_TOKENIZER_TOK_IMPL_H
#define VKLLM_TOKENIZER_TOK_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "tokenizer/tok_spec.h"
#include "tokenizer/tokenizer.h"

/* ---- vocabmap.c: token text -> id (open addressing; ids stored +1, 0 = empty) */
typedef struct vocabmap {
    int32_t *slots;
    size_t mask;
    const tok_str *vocab;
} vocabmap;

vkllm_status vocabmap_build(vocabmap *m, const tok_str *vocab, int32_t n);
int32_t vocabmap_find(const vocabmap *m, const char *s, size_t len); /* -1 when absent */
void vocabmap_free(vocabmap *m);
uint64_t vocabmap_hash(const void *s, size_t len);

/* ---- pretok.c: pieces and the pre-tokenizer steps */
typedef struct tok_pieces { /* pieces stored back to back in text */
    buf text;
    size_t *end;            /* end offset of piece i in text (start = end[i-1] or 0) */
    size_t n, cap;
} tok_pieces;

struct pcre2_real_code_8;
typedef struct pretok_step {
    const tok_step *step;           /* borrowed from the tokenizer's spec */
    struct pcre2_real_code_8 *re;   /* SPLIT; BYTELEVEL with use_regex */
} pretok_step;

vkllm_status pretok_compile(const tok_spec *spec, pretok_step **out);
void pretok_free(pretok_step *steps, size_t n);
/* Runs the steps over one normalized segment; first_segment: the segment starts the input. */
vkllm_status pretok_run(const pretok_step *steps, size_t n, const char *s, size_t len,
                        int first_segment, tok_pieces *out);
void pretok_pieces_free(tok_pieces *p);
/* Regex list for a GGUF tokenizer.ggml.pre name (NULL-terminated), or NULL when unknown. */
const char *const *pretok_named(const char *pre_name, int *ignore_merges);
/* GPT-2 byte <-> unicode alphabet. */
uint32_t pretok_byte_to_cp(uint8_t b);
int pretok_cp_to_byte(uint32_t cp); /* -1 when cp is not in the alphabet */

/* ---- normalize.c */
vkllm_status normalize_run(const tok_spec *spec, const char *s, size_t len, buf *out);

/* Per-encode scratch memory reused across pieces (freed by tok_scratch_free). */
typedef struct tok_scratch {
    void *sym; size_t sym_cap;     /* model symbols */
    void *heap; size_t heap_cap;   /* merge candidates */
} tok_scratch;
void tok_scratch_free(tok_scratch *sc);

/* ---- bpe.c: ranked merges over ids */
typedef struct bpe_pair { uint64_t key; int32_t rank, result; } bpe_pair;
vkllm_status bpe_build(tokenizer *t);
vkllm_status bpe_encode_piece(const tokenizer *t, tok_scratch *sc, const char *s, size_t len,
                              buf *ids);

/* ---- spm.c: score-ordered merges over strings */
vkllm_status spm_encode_piece(const tokenizer *t, tok_scratch *sc, const char *s, size_t len,
                              buf *ids);
/* Appends the tokens of one unknown character: <0xNN> byte tokens, else unk. */
vkllm_status spm_bytes(const tokenizer *t, const char *s, size_t len, buf *ids);

/* ---- decode.c */
/* Appends the position-free decoded bytes of one token. */
vkllm_status decode_token(const tokenizer *t, int32_t id, int keep_special, buf *out);

/* An added token candidate list per first byte, longest first. */
typedef struct tok_added_bucket { int32_t *idx; size_t n; } tok_added_bucket;

struct tokenizer {
    tok_spec spec;                  /* owned */
    const char *kind;
    vocabmap map;
    bpe_pair *pairs;                /* BPE: open-addressed (left,right) -> rank, result */
    size_t pair_mask;
    pretok_step *pre;               /* compiled pre-tokenizer steps (spec.n_pre) */
    int32_t byte_tok[256];          /* <0xNN> token per byte (-1 none) */
    tok_added_bucket added_by_byte[256];
    int32_t space_tok;              /* llama2.c: the " " token */
};

/* Appends one id to a buf used as an int32 array. */
static inline int tok_push_id(buf *ids, int32_t id) { return buf_append(ids, &id, sizeof id); }

#endif
