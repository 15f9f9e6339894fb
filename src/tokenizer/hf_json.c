/* hf_json.c — Hugging Face tokenizer.json (+ tokenizer_config.json) -> tok_spec.
 *
 * tokenizer.json layout (the parts read here; everything else is ignored):
 *   model          {type:"BPE", vocab:{token:id}, merges:["a b"|[a,b]], unk_token,
 *                   byte_fallback, fuse_unk, ignore_merges, dropout,
 *                   continuing_subword_prefix, end_of_word_suffix}
 *   added_tokens   [{id, content, special, lstrip, rstrip, normalized, single_word}]
 *   normalizer     null | {type, ...}  (Sequence{normalizers} is flattened)
 *   pre_tokenizer  null | {type, ...}  (Sequence{pretokenizers})
 *   decoder        null | {type, ...}  (Sequence{decoders})
 *   post_processor null | {type, ...}  (Sequence{processors}; TemplateProcessing gives BOS/EOS)
 *
 * Strictness: ids must be dense 0..n-1 once added tokens are counted; every
 * merge's two parts and their concatenation must be in the vocabulary (the
 * tokenizers library rejects such files too). Types that the runtime cannot
 * run (Unigram, WordPiece, NFKC, regex Replace, ...) give VKLLM_ERR_UNSUPPORTED;
 * malformed files give VKLLM_ERR_FORMAT. Messages read
 * "<file>: <json path>: <what>". */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/mfile.h"
#include "core/utf8.h"
#include "tok_spec.h"

#define HF_MAX_FILE (512ull << 20)
#define HF_MAX_CONFIG (64ull << 20)
#define HF_MAX_VOCAB (1 << 24)  /* far above any real vocabulary; keeps ids in int32 */
#define HF_MAX_DEPTH 8          /* nested Sequence levels */
#define HF_MAX_STRIP 1000000    /* Strip decoder counts */

typedef struct hf_map {        /* open addressing: string -> lowest id holding it */
    int32_t *slot;             /* id + 1; 0 = empty */
    size_t mask;
} hf_map;

typedef struct hf_ctx {
    const char *file;
    tok_spec *s;
    hf_map map;
    size_t cap_norm, cap_pre, cap_dec;
    char *scratch;             /* merge concatenation buffer */
    size_t scratch_cap;
} hf_ctx;

static vkllm_status hf_err(const hf_ctx *h, vkllm_status st, const char *where, const char *fmt,
                           ...) ERR_PRINTF(4, 5);
static vkllm_status hf_err(const hf_ctx *h, vkllm_status st, const char *where, const char *fmt,
                           ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(st, "%s: %s: %s", h->file, where, msg);
}

static vkllm_status hf_nomem(const hf_ctx *h, const char *where) {
    return hf_err(h, VKLLM_ERR_NOMEM, where, "out of memory");
}

/* ---- string -> id map over the final vocabulary */

static uint64_t hf_hash(const char *s, size_t n) {
    uint64_t x = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) x = (x ^ (uint8_t)s[i]) * 1099511628211ull;
    return x;
}

static int32_t hf_map_find(const hf_ctx *h, const char *str, size_t n) {
    const tok_spec *s = h->s;
    if (!h->map.slot) return -1;
    for (size_t i = hf_hash(str, n) & h->map.mask;; i = (i + 1) & h->map.mask) {
        int32_t v = h->map.slot[i];
        if (v == 0) return -1;
        const tok_str *t = &s->vocab[v - 1];
        if (t->len == n && memcmp(t->s, str, n) == 0) return v - 1;
    }
}

static vkllm_status hf_map_build(hf_ctx *h) {
    size_t cap = 16;
    while (cap < (size_t)h->s->n_vocab * 2) cap *= 2;
    h->map.slot = mem_calloc(cap, sizeof *h->map.slot);
    if (!h->map.slot) return hf_nomem(h, "model.vocab");
    h->map.mask = cap - 1;
    for (int32_t id = 0; id < h->s->n_vocab; id++) {
        const tok_str *t = &h->s->vocab[id];
        size_t i = hf_hash(t->s, t->len) & h->map.mask;
        for (;; i = (i + 1) & h->map.mask) {
            int32_t v = h->map.slot[i];
            if (v == 0) {
                h->map.slot[i] = id + 1;
                break;
            }
            const tok_str *o = &h->s->vocab[v - 1];
            if (o->len == t->len && memcmp(o->s, t->s, t->len) == 0) break; /* keep lowest id */
        }
    }
    return VKLLM_OK;
}

/* Id of a token text: added tokens first (they win in the tokenizers library), then the vocab. */
static int32_t hf_lookup(const hf_ctx *h, const char *str, size_t n) {
    const tok_spec *s = h->s;
    for (size_t i = 0; i < s->n_added; i++)
        if (s->added[i].content.len == n && memcmp(s->added[i].content.s, str, n) == 0)
            return s->added[i].id;
    return hf_map_find(h, str, n);
}

/* ---- typed member access; `where` names the object holding `key` */

static vkllm_status hf_str(const hf_ctx *h, const json_t *obj, const char *key, const char *where,
                           int required, const char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) return hf_err(h, VKLLM_ERR_FORMAT, where, "missing string \"%s\"", key);
        return VKLLM_OK;
    }
    if (!json_is_string(v)) return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" is not a string", key);
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (!utf8_valid(*out, *len))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" is not valid UTF-8", key);
    return VKLLM_OK;
}

static vkllm_status hf_bool(const hf_ctx *h, const json_t *obj, const char *key, const char *where,
                            int dflt, int *out) {
    json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v)) return VKLLM_OK;
    if (!json_is_boolean(v))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" is not a boolean", key);
    *out = json_is_true(v);
    return VKLLM_OK;
}

static vkllm_status hf_int(const hf_ctx *h, const json_t *obj, const char *key, const char *where,
                           long long lo, long long hi, long long *out) {
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_integer(v))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" is missing or not an integer", key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" = %lld out of range [%lld, %lld]", key, x,
                      lo, hi);
    *out = x;
    return VKLLM_OK;
}

static vkllm_status hf_copy(const hf_ctx *h, const char *where, const char *p, size_t n,
                            tok_str *out) {
    out->s = mem_strndup(p ? p : "", n);
    if (!out->s) return hf_nomem(h, where);
    out->len = n;
    return VKLLM_OK;
}

/* A single-character string (Metaspace replacement, Strip content). */
static vkllm_status hf_char(const hf_ctx *h, const json_t *obj, const char *key, const char *where,
                            tok_str *out) {
    const char *p;
    size_t n;
    TRY(hf_str(h, obj, key, where, 1, &p, &n));
    if (n == 0 || utf8_char_len((const uint8_t *)p, n) != n)
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" must be one character", key);
    return hf_copy(h, where, p, n, out);
}

static vkllm_status hf_type(const hf_ctx *h, const json_t *obj, const char *where,
                            const char **type) {
    size_t n;
    if (!json_is_object(obj)) return hf_err(h, VKLLM_ERR_FORMAT, where, "expected an object");
    return hf_str(h, obj, "type", where, 1, type, &n);
}

/* Appends a zeroed step to one of the three lists. */
static vkllm_status hf_step(hf_ctx *h, const char *where, tok_step **list, size_t *n, size_t *cap,
                            tok_step_kind kind, tok_step **out) {
    if (mem_grow((void **)list, cap, *n + 1, sizeof **list) != 0) return hf_nomem(h, where);
    tok_step *st = &(*list)[(*n)++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    *out = st;
    return VKLLM_OK;
}

/* A {String: s} or {Regex: r} pattern object. */
static vkllm_status hf_pattern(const hf_ctx *h, const json_t *obj, const char *where,
                               const char **p, size_t *n, int *is_regex) {
    json_t *pat = json_object_get(obj, "pattern");
    if (!json_is_object(pat) || json_object_size(pat) != 1)
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"pattern\" must be {\"String\": ...} or "
                                                  "{\"Regex\": ...}");
    if (json_object_get(pat, "String")) {
        *is_regex = 0;
        return hf_str(h, pat, "String", where, 1, p, n);
    }
    if (json_object_get(pat, "Regex")) {
        *is_regex = 1;
        return hf_str(h, pat, "Regex", where, 1, p, n);
    }
    return hf_err(h, VKLLM_ERR_FORMAT, where, "\"pattern\" must be {\"String\": ...} or "
                                              "{\"Regex\": ...}");
}

/* A literal as a PCRE2 pattern: ASCII punctuation escaped, the rest verbatim. */
static vkllm_status hf_regex_literal(const hf_ctx *h, const char *where, const char *p, size_t n,
                                     tok_str *out) {
    char *r = mem_alloc(2 * n + 1);
    if (!r) return hf_nomem(h, where);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (c < 0x80 && !alnum) r[k++] = '\\';
        r[k++] = (char)c;
    }
    r[k] = 0;
    out->s = r;
    out->len = k;
    return VKLLM_OK;
}

static vkllm_status hf_set_regex(const hf_ctx *h, const char *where, tok_step *st, const char *re,
                                 tok_split_behavior b, int invert) {
    st->behavior = b;
    st->invert = invert;
    return hf_copy(h, where, re, strlen(re), &st->pattern);
}

/* Sequence members: key holds the array; fn parses each element. */
typedef vkllm_status (*hf_part_fn)(hf_ctx *h, const json_t *v, const char *where, int depth);

static vkllm_status hf_sequence(hf_ctx *h, const json_t *obj, const char *key, const char *where,
                                int depth, hf_part_fn fn) {
    json_t *arr = json_object_get(obj, key);
    if (!json_is_array(arr))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" is not an array", key);
    if (depth >= HF_MAX_DEPTH)
        return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "Sequence nested deeper than %d",
                      HF_MAX_DEPTH);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char w[256];
        snprintf(w, sizeof w, "%s.%s[%zu]", where, key, i);
        TRY(fn(h, json_array_get(arr, i), w, depth + 1));
    }
    return VKLLM_OK;
}

/* ---- normalizer */

static vkllm_status hf_normalizer(hf_ctx *h, const json_t *v, const char *where, int depth) {
    tok_spec *s = h->s;
    const char *type = NULL, *p = NULL;
    size_t n = 0;
    tok_step *st = NULL;
    if (json_is_null(v)) return VKLLM_OK;
    TRY(hf_type(h, v, where, &type));
    if (!strcmp(type, "Sequence")) return hf_sequence(h, v, "normalizers", where, depth, hf_normalizer);
    if (!strcmp(type, "Prepend")) {
        TRY(hf_str(h, v, "prepend", where, 1, &p, &n));
        TRY(hf_step(h, where, &s->norm, &s->n_norm, &h->cap_norm, TOK_NORM_PREPEND, &st));
        return hf_copy(h, where, p, n, &st->content);
    }
    if (!strcmp(type, "Replace")) {
        int is_regex = 0;
        const char *c = NULL;
        size_t cn = 0;
        TRY(hf_pattern(h, v, where, &p, &n, &is_regex));
        if (is_regex)
            return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "Replace normalizer with a Regex pattern");
        if (n == 0) return hf_err(h, VKLLM_ERR_FORMAT, where, "Replace pattern is empty");
        TRY(hf_str(h, v, "content", where, 1, &c, &cn));
        TRY(hf_step(h, where, &s->norm, &s->n_norm, &h->cap_norm, TOK_NORM_REPLACE, &st));
        TRY(hf_copy(h, where, p, n, &st->pattern));
        return hf_copy(h, where, c, cn, &st->content);
    }
    if (!strcmp(type, "NFC"))
        return hf_step(h, where, &s->norm, &s->n_norm, &h->cap_norm, TOK_NORM_NFC, &st);
    return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "normalizer type \"%s\" is not supported", type);
}

/* ---- pre-tokenizer */

static vkllm_status hf_behavior(const hf_ctx *h, const json_t *v, const char *where,
                                tok_split_behavior *b) {
    static const char *const names[] = {"Isolated", "Removed", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
    const char *p;
    size_t n;
    TRY(hf_str(h, v, "behavior", where, 1, &p, &n));
    for (int i = 0; i < 5; i++)
        if (!strcmp(p, names[i])) {
            *b = (tok_split_behavior)i;
            return VKLLM_OK;
        }
    return hf_err(h, VKLLM_ERR_FORMAT, where, "unknown split behavior \"%s\"", p);
}

static vkllm_status hf_prepend_scheme(const hf_ctx *h, const json_t *v, const char *where,
                                      tok_prepend_scheme *ps) {
    const char *p;
    size_t n;
    TRY(hf_str(h, v, "prepend_scheme", where, 0, &p, &n));
    if (!p) { /* files before tokenizers 0.14: add_prefix_space */
        int aps;
        TRY(hf_bool(h, v, "add_prefix_space", where, 1, &aps));
        *ps = aps ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
        return VKLLM_OK;
    }
    if (!strcmp(p, "always")) *ps = TOK_PREPEND_ALWAYS;
    else if (!strcmp(p, "first")) *ps = TOK_PREPEND_FIRST;
    else if (!strcmp(p, "never")) *ps = TOK_PREPEND_NEVER;
    else return hf_err(h, VKLLM_ERR_FORMAT, where, "unknown prepend_scheme \"%s\"", p);
    return VKLLM_OK;
}

static vkllm_status hf_pre_tokenizer(hf_ctx *h, const json_t *v, const char *where, int depth) {
    tok_spec *s = h->s;
    const char *type = NULL, *p = NULL;
    size_t n = 0;
    tok_step *st = NULL;
    if (json_is_null(v)) return VKLLM_OK;
    TRY(hf_type(h, v, where, &type));
    if (!strcmp(type, "Sequence"))
        return hf_sequence(h, v, "pretokenizers", where, depth, hf_pre_tokenizer);
    if (!strcmp(type, "Split")) {
        int is_regex = 0, invert = 0;
        tok_split_behavior b = TOK_SPLIT_ISOLATED;
        TRY(hf_pattern(h, v, where, &p, &n, &is_regex));
        if (n == 0) return hf_err(h, VKLLM_ERR_FORMAT, where, "Split pattern is empty");
        TRY(hf_behavior(h, v, where, &b));
        TRY(hf_bool(h, v, "invert", where, 0, &invert));
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st));
        st->behavior = b;
        st->invert = invert;
        if (is_regex) return hf_copy(h, where, p, n, &st->pattern);
        return hf_regex_literal(h, where, p, n, &st->pattern);
    }
    if (!strcmp(type, "ByteLevel")) {
        int aps = 0, trim = 0, re = 0;
        TRY(hf_bool(h, v, "add_prefix_space", where, 1, &aps));
        TRY(hf_bool(h, v, "trim_offsets", where, 1, &trim));
        TRY(hf_bool(h, v, "use_regex", where, 1, &re)); /* absent in files before 0.11 */
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_BYTELEVEL, &st));
        st->add_prefix_space = aps;
        st->trim_offsets = trim;
        st->use_regex = re;
        return VKLLM_OK;
    }
    if (!strcmp(type, "Metaspace")) {
        tok_prepend_scheme ps = TOK_PREPEND_ALWAYS;
        int split = 0;
        TRY(hf_prepend_scheme(h, v, where, &ps));
        TRY(hf_bool(h, v, "split", where, 1, &split));
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_METASPACE, &st));
        st->prepend_scheme = ps;
        st->add_prefix_space = ps != TOK_PREPEND_NEVER;
        st->split = split;
        return hf_char(h, v, "replacement", where, &st->content);
    }
    /* The simple character-class splitters, as the equivalent regex (PCRE2 with UCP). */
    if (!strcmp(type, "Digits")) {
        int individual = 0;
        TRY(hf_bool(h, v, "individual_digits", where, 0, &individual));
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st));
        return hf_set_regex(h, where, st, individual ? "\\p{N}" : "\\p{N}+", TOK_SPLIT_ISOLATED, 0);
    }
    if (!strcmp(type, "Punctuation")) {
        tok_split_behavior b = TOK_SPLIT_ISOLATED;
        if (json_object_get(v, "behavior")) TRY(hf_behavior(h, v, where, &b));
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st));
        /* Unicode punctuation plus all ASCII punctuation (which includes symbols like $+<=>^`|~). */
        return hf_set_regex(h, where, st, "[\\p{P}!-/:-@\\[-`{-~]", b, 0);
    }
    if (!strcmp(type, "Whitespace")) {
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st));
        return hf_set_regex(h, where, st, "\\w+|[^\\w\\s]+", TOK_SPLIT_REMOVED, 1);
    }
    if (!strcmp(type, "WhitespaceSplit")) {
        TRY(hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st));
        return hf_set_regex(h, where, st, "\\s+", TOK_SPLIT_REMOVED, 0);
    }
    if (!strcmp(type, "CharDelimiterSplit")) {
        tok_str d = {0};
        TRY(hf_char(h, v, "delimiter", where, &d));
        vkllm_status rc = hf_step(h, where, &s->pre, &s->n_pre, &h->cap_pre, TOK_PRE_SPLIT, &st);
        if (rc == VKLLM_OK) {
            st->behavior = TOK_SPLIT_REMOVED;
            rc = hf_regex_literal(h, where, d.s, d.len, &st->pattern);
        }
        mem_free(d.s);
        return rc;
    }
    return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "pre-tokenizer type \"%s\" is not supported",
                  type);
}

/* ---- decoder */

static vkllm_status hf_decoder(hf_ctx *h, const json_t *v, const char *where, int depth) {
    tok_spec *s = h->s;
    const char *type = NULL, *p = NULL;
    size_t n = 0;
    tok_step *st = NULL;
    if (json_is_null(v)) return VKLLM_OK;
    TRY(hf_type(h, v, where, &type));
    if (!strcmp(type, "Sequence")) return hf_sequence(h, v, "decoders", where, depth, hf_decoder);
    if (!strcmp(type, "ByteLevel")) {
        int aps = 0, trim = 0, re = 0;
        TRY(hf_bool(h, v, "add_prefix_space", where, 1, &aps));
        TRY(hf_bool(h, v, "trim_offsets", where, 1, &trim));
        TRY(hf_bool(h, v, "use_regex", where, 1, &re));
        TRY(hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_BYTELEVEL, &st));
        st->add_prefix_space = aps;
        st->trim_offsets = trim;
        st->use_regex = re;
        return VKLLM_OK;
    }
    if (!strcmp(type, "ByteFallback"))
        return hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_BYTEFALLBACK, &st);
    if (!strcmp(type, "Fuse"))
        return hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_FUSE, &st);
    if (!strcmp(type, "Strip")) {
        long long start = 0, stop = 0;
        TRY(hf_int(h, v, "start", where, 0, HF_MAX_STRIP, &start));
        TRY(hf_int(h, v, "stop", where, 0, HF_MAX_STRIP, &stop));
        TRY(hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_STRIP, &st));
        st->start = (int)start;
        st->stop = (int)stop;
        return hf_char(h, v, "content", where, &st->content);
    }
    if (!strcmp(type, "Replace")) {
        int is_regex = 0;
        const char *c = NULL;
        size_t cn = 0;
        TRY(hf_pattern(h, v, where, &p, &n, &is_regex));
        if (is_regex)
            return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "Replace decoder with a Regex pattern");
        if (n == 0) return hf_err(h, VKLLM_ERR_FORMAT, where, "Replace pattern is empty");
        TRY(hf_str(h, v, "content", where, 1, &c, &cn));
        TRY(hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_REPLACE, &st));
        TRY(hf_copy(h, where, p, n, &st->pattern));
        return hf_copy(h, where, c, cn, &st->content);
    }
    if (!strcmp(type, "Metaspace")) {
        tok_prepend_scheme ps = TOK_PREPEND_ALWAYS;
        int split = 0;
        TRY(hf_prepend_scheme(h, v, where, &ps));
        TRY(hf_bool(h, v, "split", where, 1, &split));
        TRY(hf_step(h, where, &s->dec, &s->n_dec, &h->cap_dec, TOK_DEC_METASPACE, &st));
        st->prepend_scheme = ps;
        st->add_prefix_space = ps != TOK_PREPEND_NEVER;
        st->split = split;
        return hf_char(h, v, "replacement", where, &st->content);
    }
    return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "decoder type \"%s\" is not supported", type);
}

/* ---- post-processor */

/* The single id of special token `name` in a TemplateProcessing's special_tokens. */
static vkllm_status hf_template_id(const hf_ctx *h, const json_t *specials, const char *name,
                                   const char *where, int32_t *id) {
    char w[320];
    snprintf(w, sizeof w, "%s.special_tokens[\"%s\"]", where, name);
    json_t *t = json_object_get(specials, name);
    if (!json_is_object(t)) return hf_err(h, VKLLM_ERR_FORMAT, w, "missing special token");
    json_t *ids = json_object_get(t, "ids");
    if (!json_is_array(ids)) return hf_err(h, VKLLM_ERR_FORMAT, w, "\"ids\" is not an array");
    if (json_array_size(ids) != 1)
        return hf_err(h, VKLLM_ERR_UNSUPPORTED, w, "%zu ids (only one is supported)",
                      json_array_size(ids));
    json_t *x = json_array_get(ids, 0);
    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
        json_integer_value(x) >= h->s->n_vocab)
        return hf_err(h, VKLLM_ERR_FORMAT, w, "ids[0] is not a token id below %d", h->s->n_vocab);
    *id = (int32_t)json_integer_value(x);
    return VKLLM_OK;
}

static vkllm_status hf_template(hf_ctx *h, const json_t *v, const char *where) {
    tok_spec *s = h->s;
    json_t *single = json_object_get(v, "single");
    json_t *specials = json_object_get(v, "special_tokens");
    if (!json_is_array(single)) return hf_err(h, VKLLM_ERR_FORMAT, where, "\"single\" is not an array");
    if (!json_is_object(specials))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"special_tokens\" is not an object");
    int seen_a = 0, n_before = 0, n_after = 0;
    int32_t bos = -1, eos = -1;
    for (size_t i = 0; i < json_array_size(single); i++) {
        char w[300];
        snprintf(w, sizeof w, "%s.single[%zu]", where, i);
        json_t *it = json_array_get(single, i), *sp, *seq;
        if (!json_is_object(it) || json_object_size(it) != 1)
            return hf_err(h, VKLLM_ERR_FORMAT, w, "expected {\"SpecialToken\": ...} or "
                                                  "{\"Sequence\": ...}");
        const char *p;
        size_t n;
        if ((seq = json_object_get(it, "Sequence")) != NULL) {
            if (!json_is_object(seq)) return hf_err(h, VKLLM_ERR_FORMAT, w, "Sequence is not an object");
            TRY(hf_str(h, seq, "id", w, 1, &p, &n));
            if (strcmp(p, "A") != 0 || seen_a)
                return hf_err(h, VKLLM_ERR_FORMAT, w, "single template must hold sequence A once");
            seen_a = 1;
        } else if ((sp = json_object_get(it, "SpecialToken")) != NULL) {
            int32_t id = -1;
            if (!json_is_object(sp))
                return hf_err(h, VKLLM_ERR_FORMAT, w, "SpecialToken is not an object");
            TRY(hf_str(h, sp, "id", w, 1, &p, &n));
            TRY(hf_template_id(h, specials, p, where, &id));
            if (seen_a) {
                n_after++;
                eos = id;
            } else {
                n_before++;
                bos = id;
            }
        } else {
            return hf_err(h, VKLLM_ERR_FORMAT, w, "expected {\"SpecialToken\": ...} or "
                                                  "{\"Sequence\": ...}");
        }
    }
    if (!seen_a) return hf_err(h, VKLLM_ERR_FORMAT, where, "single template lacks sequence A");
    if (n_before > 1 || n_after > 1)
        return hf_err(h, VKLLM_ERR_UNSUPPORTED, where,
                      "single template adds %d tokens before and %d after (at most 1 each)",
                      n_before, n_after);
    s->add_bos = n_before;
    s->add_eos = n_after;
    if (n_before) s->bos_id = bos;
    if (n_after) s->eos_id = eos;
    return VKLLM_OK;
}

/* BertProcessing / RobertaProcessing: [cls] A [sep], with cls/sep given as [text, id]. */
static vkllm_status hf_cls_sep(hf_ctx *h, const json_t *v, const char *key, const char *where,
                               int32_t *id) {
    json_t *a = json_object_get(v, key);
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_string(json_array_get(a, 0)) ||
        !json_is_integer(json_array_get(a, 1)))
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" must be [text, id]", key);
    long long x = json_integer_value(json_array_get(a, 1));
    if (x < 0 || x >= h->s->n_vocab)
        return hf_err(h, VKLLM_ERR_FORMAT, where, "\"%s\" id %lld out of range [0, %d)", key, x,
                      h->s->n_vocab);
    *id = (int32_t)x;
    return VKLLM_OK;
}

static vkllm_status hf_post(hf_ctx *h, const json_t *v, const char *where, int depth) {
    const char *type;
    if (json_is_null(v)) return VKLLM_OK;
    TRY(hf_type(h, v, where, &type));
    if (!strcmp(type, "Sequence")) return hf_sequence(h, v, "processors", where, depth, hf_post);
    if (!strcmp(type, "ByteLevel")) return VKLLM_OK; /* only adjusts offsets */
    if (!strcmp(type, "TemplateProcessing")) return hf_template(h, v, where);
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        int32_t cls = -1, sep = -1;
        TRY(hf_cls_sep(h, v, "cls", where, &cls));
        TRY(hf_cls_sep(h, v, "sep", where, &sep));
        h->s->add_bos = h->s->add_eos = 1;
        h->s->bos_id = cls;
        h->s->eos_id = sep;
        return VKLLM_OK;
    }
    return hf_err(h, VKLLM_ERR_UNSUPPORTED, where, "post-processor type \"%s\" is not supported",
                  type);
}

/* ---- model: vocabulary, added tokens, merges */

static vkllm_status hf_added(hf_ctx *h, const json_t *arr, int32_t *max_id) {
    tok_spec *s = h->s;
    if (!arr || json_is_null(arr)) return VKLLM_OK;
    if (!json_is_array(arr)) return hf_err(h, VKLLM_ERR_FORMAT, "added_tokens", "not an array");
    size_t n = json_array_size(arr);
    if (n == 0) return VKLLM_OK;
    s->added = mem_calloc(n, sizeof *s->added);
    if (!s->added) return hf_nomem(h, "added_tokens");
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "added_tokens[%zu]", i);
        json_t *t = json_array_get(arr, i);
        tok_added *a = &s->added[i];
        long long id = 0;
        const char *p;
        size_t len;
        if (!json_is_object(t)) return hf_err(h, VKLLM_ERR_FORMAT, w, "not an object");
        TRY(hf_int(h, t, "id", w, 0, HF_MAX_VOCAB - 1, &id));
        TRY(hf_str(h, t, "content", w, 1, &p, &len));
        if (len == 0) return hf_err(h, VKLLM_ERR_FORMAT, w, "empty \"content\"");
        for (size_t j = 0; j < i; j++)
            if (s->added[j].id == id)
                return hf_err(h, VKLLM_ERR_FORMAT, w, "id %lld repeats added_tokens[%zu]", id, j);
        TRY(hf_bool(h, t, "special", w, 0, &a->special));
        TRY(hf_bool(h, t, "lstrip", w, 0, &a->lstrip));
        TRY(hf_bool(h, t, "rstrip", w, 0, &a->rstrip));
        TRY(hf_bool(h, t, "normalized", w, !a->special, &a->normalized));
        TRY(hf_bool(h, t, "single_word", w, 0, &a->single_word));
        TRY(hf_copy(h, w, p, len, &a->content));
        a->id = (int32_t)id;
        s->n_added = i + 1;
        if (a->id > *max_id) *max_id = a->id;
    }
    return VKLLM_OK;
}

static vkllm_status hf_vocab(hf_ctx *h, const json_t *vocab, int32_t max_id) {
    tok_spec *s = h->s;
    const char *key;
    json_t *val;
    if (!json_is_object(vocab)) return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab", "not an object");
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= HF_MAX_VOCAB)
            return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab", "token \"%.64s\": id is not an "
                          "integer in [0, %d)", key, HF_MAX_VOCAB);
        if ((int32_t)json_integer_value(val) > max_id) max_id = (int32_t)json_integer_value(val);
    }
    if (max_id < 0) return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab", "no tokens");
    s->vocab = mem_calloc((size_t)max_id + 1, sizeof *s->vocab);
    if (!s->vocab) return hf_nomem(h, "model.vocab");
    s->n_vocab = max_id + 1;
    json_object_foreach((json_t *)vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        size_t len = strlen(key);
        if (!utf8_valid(key, len))
            return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab", "id %d: not valid UTF-8", id);
        if (s->vocab[id].s)
            return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab", "id %d given to \"%.64s\" and \"%.64s\"",
                          id, s->vocab[id].s, key);
        TRY(hf_copy(h, "model.vocab", key, len, &s->vocab[id]));
    }
    /* Added tokens fill ids past the model vocabulary and take precedence inside it. */
    for (size_t i = 0; i < s->n_added; i++) {
        tok_added *a = &s->added[i];
        tok_str *t = &s->vocab[a->id];
        if (t->s && t->len == a->content.len && !memcmp(t->s, a->content.s, t->len)) continue;
        mem_free(t->s);
        t->s = NULL;
        TRY(hf_copy(h, "added_tokens", a->content.s, a->content.len, t));
    }
    for (int32_t id = 0; id < s->n_vocab; id++)
        if (!s->vocab[id].s)
            return hf_err(h, VKLLM_ERR_FORMAT, "model.vocab",
                          "no token has id %d (ids must be dense 0..%d)", id, s->n_vocab - 1);
    return VKLLM_OK;
}

/* One merge as two strings: "a b" (exactly one space, as the tokenizers library splits) or [a, b]. */
static vkllm_status hf_merge_parts(const hf_ctx *h, const json_t *m, const char *w, const char **a,
                                   size_t *an, const char **b, size_t *bn) {
    if (json_is_string(m)) {
        const char *p = json_string_value(m), *sp = NULL;
        size_t n = json_string_length(m);
        for (size_t i = 0; i < n; i++)
            if (p[i] == ' ') {
                if (sp) return hf_err(h, VKLLM_ERR_FORMAT, w, "expected \"a b\" or [a, b]");
                sp = p + i;
            }
        if (!sp) return hf_err(h, VKLLM_ERR_FORMAT, w, "expected \"a b\" or [a, b]");
        *a = p;
        *an = (size_t)(sp - p);
        *b = sp + 1;
        *bn = n - *an - 1;
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
        *a = json_string_value(json_array_get(m, 0));
        *an = json_string_length(json_array_get(m, 0));
        *b = json_string_value(json_array_get(m, 1));
        *bn = json_string_length(json_array_get(m, 1));
    } else {
        return hf_err(h, VKLLM_ERR_FORMAT, w, "expected \"a b\" or [a, b]");
    }
    if (*an == 0 || *bn == 0) return hf_err(h, VKLLM_ERR_FORMAT, w, "empty merge part");
    if (!utf8_valid(*a, *an) || !utf8_valid(*b, *bn))
        return hf_err(h, VKLLM_ERR_FORMAT, w, "not valid UTF-8");
    return VKLLM_OK;
}

static vkllm_status hf_merges(hf_ctx *h, const json_t *arr) {
    tok_spec *s = h->s;
    if (!arr || json_is_null(arr)) return VKLLM_OK;
    if (!json_is_array(arr)) return hf_err(h, VKLLM_ERR_FORMAT, "model.merges", "not an array");
    size_t n = json_array_size(arr);
    if (n == 0) return VKLLM_OK;
    s->merge_left = mem_calloc(n, sizeof *s->merge_left);
    s->merge_right = mem_calloc(n, sizeof *s->merge_right);
    if (!s->merge_left || !s->merge_right) return hf_nomem(h, "model.merges");
    s->n_merges = n;
    for (size_t i = 0; i < n; i++) {
        char w[64];
        const char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        snprintf(w, sizeof w, "model.merges[%zu]", i);
        TRY(hf_merge_parts(h, json_array_get(arr, i), w, &a, &an, &b, &bn));
        if (mem_grow((void **)&h->scratch, &h->scratch_cap, an + bn, 1) != 0) return hf_nomem(h, w);
        memcpy(h->scratch, a, an);
        memcpy(h->scratch + an, b, bn);
        if (hf_map_find(h, a, an) < 0)
            return hf_err(h, VKLLM_ERR_FORMAT, w, "\"%.*s\" is not in the vocabulary", (int)an, a);
        if (hf_map_find(h, b, bn) < 0)
            return hf_err(h, VKLLM_ERR_FORMAT, w, "\"%.*s\" is not in the vocabulary", (int)bn, b);
        if (hf_map_find(h, h->scratch, an + bn) < 0)
            return hf_err(h, VKLLM_ERR_FORMAT, w, "merged \"%.*s%.*s\" is not in the vocabulary",
                          (int)an, a, (int)bn, b);
        TRY(hf_copy(h, w, a, an, &s->merge_left[i]));
        TRY(hf_copy(h, w, b, bn, &s->merge_right[i]));
    }
    return VKLLM_OK;
}

static int hf_is_byte_token(const tok_str *t) {
    static const char hex[] = "0123456789ABCDEF";
    return t->len == 6 && !memcmp(t->s, "<0x", 3) && t->s[5] == '>' && strchr(hex, t->s[3]) &&
           t->s[3] && strchr(hex, t->s[4]) && t->s[4];
}

static vkllm_status hf_attrs(hf_ctx *h) {
    tok_spec *s = h->s;
    s->attrs = mem_alloc((size_t)s->n_vocab);
    if (!s->attrs) return hf_nomem(h, "model.vocab");
    for (int32_t id = 0; id < s->n_vocab; id++)
        s->attrs[id] = (uint8_t)(s->byte_fallback && hf_is_byte_token(&s->vocab[id])
                                     ? TOK_ATTR_BYTE : TOK_ATTR_NORMAL);
    for (size_t i = 0; i < s->n_added; i++)
        s->attrs[s->added[i].id] =
            (uint8_t)(s->added[i].special ? TOK_ATTR_CONTROL : TOK_ATTR_USER_DEFINED);
    if (s->unk_id >= 0) s->attrs[s->unk_id] = TOK_ATTR_UNKNOWN;
    return VKLLM_OK;
}

static vkllm_status hf_model(hf_ctx *h, const json_t *root) {
    tok_spec *s = h->s;
    json_t *m = json_object_get(root, "model");
    const char *type = NULL, *p = NULL;
    size_t n = 0;
    if (!json_is_object(m)) return hf_err(h, VKLLM_ERR_FORMAT, "model", "missing or not an object");
    TRY(hf_str(h, m, "type", "model", 0, &type, &n));
    if (!type) { /* files from tokenizers < 0.10 carry no type tag */
        if (!json_object_get(m, "merges"))
            return hf_err(h, VKLLM_ERR_UNSUPPORTED, "model", "untyped model without merges");
        type = "BPE";
    }
    if (strcmp(type, "BPE") != 0)
        return hf_err(h, VKLLM_ERR_UNSUPPORTED, "model", "model type \"%s\" is not supported "
                      "(only BPE)", type);
    json_t *drop = json_object_get(m, "dropout");
    if (drop && !json_is_null(drop)) {
        if (!json_is_number(drop)) return hf_err(h, VKLLM_ERR_FORMAT, "model", "\"dropout\" is not a number");
        if (json_number_value(drop) > 0.0)
            return hf_err(h, VKLLM_ERR_UNSUPPORTED, "model", "BPE dropout %g (not deterministic)",
                          json_number_value(drop));
    }
    TRY(hf_str(h, m, "continuing_subword_prefix", "model", 0, &p, &n));
    if (n) return hf_err(h, VKLLM_ERR_UNSUPPORTED, "model", "continuing_subword_prefix is not supported");
    TRY(hf_str(h, m, "end_of_word_suffix", "model", 0, &p, &n));
    if (n) return hf_err(h, VKLLM_ERR_UNSUPPORTED, "model", "end_of_word_suffix is not supported");
    TRY(hf_bool(h, m, "byte_fallback", "model", 0, &s->byte_fallback));
    TRY(hf_bool(h, m, "ignore_merges", "model", 0, &s->ignore_merges));
    TRY(hf_bool(h, m, "fuse_unk", "model", 0, &s->fuse_unk));

    int32_t max_id = -1;
    TRY(hf_added(h, json_object_get(root, "added_tokens"), &max_id));
    TRY(hf_vocab(h, json_object_get(m, "vocab"), max_id));
    TRY(hf_map_build(h));
    TRY(hf_merges(h, json_object_get(m, "merges")));
    TRY(hf_str(h, m, "unk_token", "model", 0, &p, &n));
    if (p) {
        s->unk_id = hf_map_find(h, p, n);
        if (s->unk_id < 0)
            return hf_err(h, VKLLM_ERR_FORMAT, "model", "unk_token \"%.64s\" is not in the "
                          "vocabulary", p);
    }
    return hf_attrs(h);
}

/* ---- end-of-generation ids */

static vkllm_status hf_add_eog(hf_ctx *h, int32_t id) {
    tok_spec *s = h->s;
    for (size_t i = 0; i < s->n_eog; i++)
        if (s->eog_ids[i] == id) return VKLLM_OK;
    int32_t *p = mem_realloc(s->eog_ids, (s->n_eog + 1) * sizeof *p);
    if (!p) return hf_nomem(h, "eog");
    s->eog_ids = p;
    s->eog_ids[s->n_eog++] = id;
    return VKLLM_OK;
}

static vkllm_status hf_collect_eog(hf_ctx *h) {
    static const char *const names[] = {"<|eot_id|>", "<|im_end|>",   "<|end|>",
                                        "<|eom_id|>", "<end_of_turn>", "<|endoftext|>"};
    tok_spec *s = h->s;
    if (s->eos_id >= 0) TRY(hf_add_eog(h, s->eos_id));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t id = hf_lookup(h, names[i], strlen(names[i]));
        if (id < 0) continue;
        TRY(hf_add_eog(h, id));
        if (s->eot_id < 0 && i < 5) s->eot_id = id; /* end of a chat turn (not <|endoftext|>) */
    }
    return VKLLM_OK;
}

/* ---- entry points */

static void hf_ctx_free(hf_ctx *h) {
    mem_free(h->map.slot);
    mem_free(h->scratch);
}

static json_t *hf_load(const char *path, uint64_t max, size_t flags, vkllm_status *st) {
    char *data = NULL;
    size_t len = 0;
    json_error_t je;
    *st = mfile_read_all(path, max, &data, &len);
    if (*st != VKLLM_OK) return NULL;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | flags, &je);
    mem_free(data);
    if (!root) {
        *st = err_set(VKLLM_ERR_FORMAT, "%s: line %d column %d: bad JSON: %s", path, je.line,
                      je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *st = err_set(VKLLM_ERR_FORMAT, "%s: top level is not a JSON object", path);
        return NULL;
    }
    return root;
}

/* A pipeline member; an absent one reads as null. */
static const json_t *hf_member(const json_t *root, const char *key) {
    const json_t *v = json_object_get(root, key);
    return v ? v : json_null();
}

static vkllm_status hf_parse(hf_ctx *h, const json_t *root) {
    TRY(hf_model(h, root));
    TRY(hf_normalizer(h, hf_member(root, "normalizer"), "normalizer", 0));
    TRY(hf_pre_tokenizer(h, hf_member(root, "pre_tokenizer"), "pre_tokenizer", 0));
    TRY(hf_decoder(h, hf_member(root, "decoder"), "decoder", 0));
    TRY(hf_post(h, hf_member(root, "post_processor"), "post_processor", 0));
    return hf_collect_eog(h);
}

vkllm_status tok_spec_from_hf_json(const char *tokenizer_json_path, tok_spec *out) {
    memset(out, 0, sizeof *out);
    vkllm_status st;
    json_t *root = hf_load(tokenizer_json_path, HF_MAX_FILE, 0, &st);
    if (!root) return st;
    out->model = TOK_MODEL_BPE;
    out->unk_id = out->bos_id = out->eos_id = out->eot_id = out->pad_id = -1;
    hf_ctx h = {.file = tokenizer_json_path, .s = out};
    st = hf_parse(&h, root);
    hf_ctx_free(&h);
    json_decref(root);
    if (st != VKLLM_OK) tok_spec_free(out);
    return st;
}

/* bos_token / eos_token / pad_token: a string, {content: string}, or null (no change). */
static vkllm_status hf_config_token(hf_ctx *h, const json_t *root, const char *key, int32_t *id,
                                    const char **text) {
    json_t *v = json_object_get(root, key);
    const char *p;
    size_t n;
    *id = -1;
    *text = NULL;
    if (!v || json_is_null(v)) return VKLLM_OK;
    if (json_is_object(v)) {
        TRY(hf_str(h, v, "content", key, 1, &p, &n));
    } else {
        TRY(hf_str(h, root, key, key, 1, &p, &n));
    }
    *id = hf_lookup(h, p, n);
    if (*id < 0)
        return hf_err(h, VKLLM_ERR_FORMAT, key, "\"%.64s\" is not in the vocabulary", p);
    *text = p;
    return VKLLM_OK;
}

static vkllm_status hf_config(hf_ctx *h, const json_t *root) {
    tok_spec *s = h->s;
    json_t *abos = json_object_get(root, "add_bos_token");
    int32_t id;
    const char *text;
    TRY(hf_bool(h, root, "add_bos_token", "add_bos_token", s->add_bos, &s->add_bos));
    TRY(hf_bool(h, root, "add_eos_token", "add_eos_token", s->add_eos, &s->add_eos));
    TRY(hf_config_token(h, root, "bos_token", &id, &text));
    if (id >= 0) {
        s->bos_id = id;
        /* Llama 3 files whose tokenizer.json lacks the BOS template: transformers still adds
         * <|begin_of_text|> (the Llama tokenizer class defaults add_bos_token to true). */
        if ((!abos || json_is_null(abos)) && !s->add_bos && !strcmp(text, "<|begin_of_text|>"))
            s->add_bos = 1;
    }
    TRY(hf_config_token(h, root, "eos_token", &id, &text));
    if (id >= 0) {
        s->eos_id = id;
        TRY(hf_add_eog(h, id));
    }
    TRY(hf_config_token(h, root, "pad_token", &id, &text));
    if (id >= 0) s->pad_id = id;
    if (s->add_bos && s->bos_id < 0)
        return hf_err(h, VKLLM_ERR_FORMAT, "add_bos_token", "true but no BOS token is known");
    if (s->add_eos && s->eos_id < 0)
        return hf_err(h, VKLLM_ERR_FORMAT, "add_eos_token", "true but no EOS token is known");
    return VKLLM_OK;
}

vkllm_status tok_spec_apply_hf_config(const char *tokenizer_config_path, tok_spec *s) {
    struct stat sb;
    if (stat(tokenizer_config_path, &sb) != 0 && errno == ENOENT) return VKLLM_OK;
    vkllm_status st;
    /* model_max_length is often 1e30 written as an integer; no integer is read here. */
    json_t *root = hf_load(tokenizer_config_path, HF_MAX_CONFIG, JSON_DECODE_INT_AS_REAL, &st);
    if (!root) return st;
    /* On failure the scalar settings are restored, so s stays as it was. */
    tok_spec saved = *s;
    hf_ctx h = {.file = tokenizer_config_path, .s = s};
    st = hf_map_build(&h);
    if (st == VKLLM_OK) st = hf_config(&h, root);
    if (st != VKLLM_OK) {
        int32_t *eog = s->eog_ids;
        *s = saved;
        s->eog_ids = eog; /* may have moved; its first n_eog entries are unchanged */
    }
    hf_ctx_free(&h);
    json_decref(root);
    return st;
}
