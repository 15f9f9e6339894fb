/* tok_spec.h — a neutral description of a tokenizer, built from any source
 * (GGUF metadata, HF tokenizer.json, llama2.c file) and compiled into the
 * runtime tokenizer by tokenizer_build(). It mirrors the Hugging Face
 * tokenizers pipeline: normalizer steps -> pre-tokenizer steps -> model
 * (BPE) -> post-processing (BOS/EOS), and decoder steps for ids -> text.
 *
 * Ownership: every string is a heap copy owned by the spec (tok_spec_free). */
#ifndef VKLLM_TOKENIZER_TOK_SPEC_H
#define VKLLM_TOKENIZER_TOK_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "vkllm.h"

typedef enum tok_model {
    TOK_MODEL_SPM_BPE = 0,  /* SentencePiece BPE: merges by score (GGUF "llama", llama2.c) */
    TOK_MODEL_BPE,          /* ranked merges (GGUF "gpt2", HF "BPE") */
} tok_model;

typedef enum tok_attr {     /* token attributes (GGUF token_type values) */
    TOK_ATTR_NORMAL = 1,
    TOK_ATTR_UNKNOWN = 2,
    TOK_ATTR_CONTROL = 3,
    TOK_ATTR_USER_DEFINED = 4,
    TOK_ATTR_UNUSED = 5,
    TOK_ATTR_BYTE = 6
} tok_attr;

typedef struct tok_str { char *s; size_t len; } tok_str; /* may contain NUL bytes */

/* Normalizer / pre-tokenizer / decoder steps, applied in order. */
typedef enum tok_step_kind {
    /* normalizers */
    TOK_NORM_PREPEND,      /* str: prepend to the whole text */
    TOK_NORM_REPLACE,      /* pattern (literal) -> content */
    TOK_NORM_NFC,
    /* pre-tokenizers */
    TOK_PRE_SPLIT,         /* regex pattern; behaviour; invert */
    TOK_PRE_BYTELEVEL,     /* map bytes to the byte-to-unicode alphabet; add_prefix_space;
                              use_regex: also split with the GPT-2 regex */
    TOK_PRE_METASPACE,     /* replace ' ' with `str` (U+2581); prepend_scheme; split */
    /* decoders */
    TOK_DEC_BYTELEVEL,
    TOK_DEC_BYTEFALLBACK,  /* <0xNN> -> byte */
    TOK_DEC_FUSE,
    TOK_DEC_STRIP,         /* content char, start count, stop count */
    TOK_DEC_REPLACE,       /* pattern (literal) -> content */
    TOK_DEC_METASPACE      /* replacement -> ' ', prepend_scheme decides first-token strip */
} tok_step_kind;

typedef enum tok_split_behavior {
    TOK_SPLIT_ISOLATED = 0, TOK_SPLIT_REMOVED, TOK_SPLIT_MERGED_WITH_PREVIOUS,
    TOK_SPLIT_MERGED_WITH_NEXT, TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;

typedef enum tok_prepend_scheme { TOK_PREPEND_ALWAYS = 0, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } tok_prepend_scheme;

typedef struct tok_step {
    tok_step_kind kind;
    tok_str pattern;       /* regex (SPLIT, PCRE2 syntax) or literal (REPLACE) */
    tok_str content;       /* replacement / prepend / metaspace char / strip char */
    tok_split_behavior behavior;
    int invert;
    int add_prefix_space, use_regex, trim_offsets;
    tok_prepend_scheme prepend_scheme;
    int split;             /* metaspace: split on the replacement char */
    int start, stop;       /* strip counts */
} tok_step;

typedef struct tok_added {  /* added / special tokens matched before the model runs */
    int32_t id;
    tok_str content;
    int special;            /* control token: only parsed when parse_special is on */
    int lstrip, rstrip, normalized, single_word;
} tok_added;

typedef struct tok_spec {
    tok_model model;
    /* vocabulary: id -> string, score (SPM), attribute */
    int32_t n_vocab;
    tok_str *vocab;
    float *scores;          /* NULL for ranked BPE */
    uint8_t *attrs;         /* tok_attr per id; NULL = all normal */
    /* BPE merges in rank order: "left right" pairs */
    size_t n_merges;
    tok_str *merge_left, *merge_right;
    int byte_fallback;      /* unknown chars -> <0xNN> tokens */
    int ignore_merges;      /* a whole pre-token found in the vocab is one token */
    int fuse_unk;
    int32_t unk_id, bos_id, eos_id, eot_id, pad_id; /* -1 when absent */
    int add_bos, add_eos;
    int add_space_prefix;   /* SPM dummy prefix (GGUF tokenizer.ggml.add_space_prefix) */
    int llama2c_mode;       /* llama2.c rules: codepoint lookup, strip space after BOS */
    char *pre_name;         /* GGUF tokenizer.ggml.pre (NULL = default) */
    size_t n_norm, n_pre, n_dec, n_added;
    tok_step *norm, *pre, *dec;
    tok_added *added;
    int32_t *eog_ids; size_t n_eog; /* extra end-of-generation ids */
} tok_spec;

void tok_spec_free(tok_spec *s); /* frees members; accepts a zeroed spec */

/* Sources. */
vkllm_status tok_spec_from_hf_json(const char *tokenizer_json_path, tok_spec *out);
/* Adds tokenizer_config.json settings (add_bos_token, add_eos_token,
 * bos/eos token strings) when that file exists beside tokenizer.json. */
vkllm_status tok_spec_apply_hf_config(const char *tokenizer_config_path, tok_spec *s);

#endif
