/* tokmeta.c — the tokenizer.* metadata of converted and synthetic GGUF files.
 *
 * From a Hugging Face tokenizer.json (parsed into a tok_spec):
 *   byte_fallback BPE without a ByteLevel step (Llama 2 style) -> model "llama":
 *     tokens, scores, token_type. Scores encode the merge order for the
 *     score-driven SentencePiece merge loop: the token made by merge rank r
 *     scores -r (its first producing merge), tokens no merge produces score
 *     below every merge, so the runtime merges in exactly the HF rank order.
 *   ByteLevel BPE -> model "gpt2": tokens, token_type, merges "left right",
 *     and tokenizer.ggml.pre named from the Split regex (llama3, qwen2, gpt-2).
 * Vocabularies shorter than the model's embedding are padded with "[PADn]"
 * tokens of type unused, as the published converter does.
 *
 * The placeholder vocabulary of synthetic models is byte-level BPE: the 256
 * byte symbols, "[PADn]" fillers and <s>/</s> control tokens at the end, no
 * merges; every text tokenizes (one token per byte). */
#include "convert/tokmeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "tokenizer/tok_spec.h"

#define GV "tokenizer.ggml."

/* The pre-tokenizer Split regexes published in the Llama 3, Qwen2 and GPT-2
 * tokenizer.json files (data), and the GGUF pre names the runtime knows them by. */
static const struct {
    const char *re, *name, *name_ignore_merges;
} tokmeta_pre[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "smaug-bpe", "llama-bpe"},
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "qwen2", "qwen2"},
    {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "gpt-2",
     "gpt-2"},
};

static vkllm_status tokmeta_nomem(void) { return err_set(VKLLM_ERR_NOMEM, "convert: tokenizer: out of memory"); }

static vkllm_status tokmeta_pre_name(const tok_spec *sp, const char **out) {
    int split = -1, bytelevel_regex = 0;
    for (size_t i = 0; i < sp->n_pre; i++) {
        if (sp->pre[i].kind == TOK_PRE_SPLIT) {
            if (split >= 0)
                return err_set(VKLLM_ERR_UNSUPPORTED, "convert: tokenizer: more than one Split pre-tokenizer");
            split = (int)i;
        } else if (sp->pre[i].kind == TOK_PRE_BYTELEVEL && sp->pre[i].use_regex) {
            bytelevel_regex = 1;
        }
    }
    if (split < 0 && bytelevel_regex) {
        *out = "gpt-2";
        return VKLLM_OK;
    }
    if (split >= 0 && !bytelevel_regex)
        for (size_t k = 0; k < sizeof tokmeta_pre / sizeof tokmeta_pre[0]; k++) {
            const tok_str *p = &sp->pre[split].pattern;
            if (p->len == strlen(tokmeta_pre[k].re) && !memcmp(p->s, tokmeta_pre[k].re, p->len)) {
                *out = sp->ignore_merges ? tokmeta_pre[k].name_ignore_merges : tokmeta_pre[k].name;
                return VKLLM_OK;
            }
        }
    return err_set(VKLLM_ERR_UNSUPPORTED,
                   "convert: tokenizer: pre-tokenizer regex not recognised (known: llama3, qwen2, gpt-2)");
}

/* Token strings padded to n entries ("[PADi]" for missing ids), with types. */
static vkllm_status tokmeta_tokens(gguf_writer *w, const tok_spec *sp, int32_t n) {
    const char **s = mem_calloc((size_t)n, sizeof *s);
    size_t *l = mem_calloc((size_t)n, sizeof *l);
    int32_t *types = mem_calloc((size_t)n, sizeof *types);
    char *pads = mem_calloc((size_t)n, 16);
    vkllm_status st = VKLLM_OK;
    if (!s || !l || !types || !pads) st = tokmeta_nomem();
    for (int32_t i = 0; st == VKLLM_OK && i < n; i++) {
        if (i < sp->n_vocab && sp->vocab[i].len) {
            s[i] = sp->vocab[i].s;
            l[i] = sp->vocab[i].len;
            types[i] = sp->attrs ? sp->attrs[i] : TOK_ATTR_NORMAL;
        } else {
            s[i] = pads + (size_t)i * 16;
            l[i] = (size_t)snprintf(pads + (size_t)i * 16, 16, "[PAD%d]", (int)i);
            types[i] = TOK_ATTR_UNUSED;
        }
    }
    if (st == VKLLM_OK) st = gguf_writer_set_arr_str(w, GV "tokens", (uint64_t)n, s, l);
    if (st == VKLLM_OK) st = gguf_writer_set_arr(w, GV "token_type", GGUF_VT_I32, (uint64_t)n, types);
    mem_free(s);
    mem_free(l);
    mem_free(types);
    mem_free(pads);
    return st;
}

/* Scores from merge ranks (see the file comment). Looks tokens up by a sorted index. */
static const tok_spec *tokmeta_sort_spec;
static int tokmeta_cmp_id(const void *a, const void *b) {
    const tok_str *x = &tokmeta_sort_spec->vocab[*(const int32_t *)a];
    const tok_str *y = &tokmeta_sort_spec->vocab[*(const int32_t *)b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int32_t tokmeta_find(const tok_spec *sp, const int32_t *sorted, const char *s, size_t len) {
    size_t lo = 0, hi = (size_t)sp->n_vocab;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const tok_str *t = &sp->vocab[sorted[mid]];
        size_t n = t->len < len ? t->len : len;
        int c = memcmp(t->s, s, n);
        if (!c) c = (t->len > len) - (t->len < len);
        if (!c) return sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static vkllm_status tokmeta_scores(gguf_writer *w, const tok_spec *sp, int32_t n) {
    float *sc = mem_calloc((size_t)n, sizeof *sc);
    int32_t *sorted = mem_calloc((size_t)sp->n_vocab + 1, sizeof *sorted);
    char *cat = NULL;
    size_t cat_cap = 0;
    vkllm_status st = VKLLM_OK;
    if (!sc || !sorted) st = tokmeta_nomem();
    for (int32_t i = 0; st == VKLLM_OK && i < sp->n_vocab; i++) sorted[i] = i;
    if (st == VKLLM_OK) {
        tokmeta_sort_spec = sp; /* single-threaded tool path */
        qsort(sorted, (size_t)sp->n_vocab, sizeof *sorted, tokmeta_cmp_id);
    }
    float unset = -(float)sp->n_merges - 1.0f;
    for (int32_t i = 0; st == VKLLM_OK && i < n; i++) {
        int single = i < sp->n_vocab && sp->vocab[i].len && sp->attrs &&
                     sp->attrs[i] != TOK_ATTR_NORMAL;
        sc[i] = single ? 0.0f : unset;
    }
    for (size_t r = 0; st == VKLLM_OK && r < sp->n_merges; r++) {
        size_t a = sp->merge_left[r].len, b = sp->merge_right[r].len;
        if (mem_grow((void **)&cat, &cat_cap, a + b + 1, 1) != 0) {
            st = tokmeta_nomem();
            break;
        }
        memcpy(cat, sp->merge_left[r].s, a);
        memcpy(cat + a, sp->merge_right[r].s, b);
        int32_t id = tokmeta_find(sp, sorted, cat, a + b);
        if (id >= 0 && id < n && sc[id] == unset) sc[id] = -(float)r;
    }
    if (st == VKLLM_OK) st = gguf_writer_set_arr(w, GV "scores", GGUF_VT_F32, (uint64_t)n, sc);
    mem_free(sc);
    mem_free(sorted);
    mem_free(cat);
    return st;
}

static vkllm_status tokmeta_merges(gguf_writer *w, const tok_spec *sp) {
    const char **s = mem_calloc(sp->n_merges ? sp->n_merges : 1, sizeof *s);
    size_t *l = mem_calloc(sp->n_merges ? sp->n_merges : 1, sizeof *l);
    char *all = NULL;
    size_t total = 0;
    for (size_t r = 0; r < sp->n_merges; r++) total += sp->merge_left[r].len + sp->merge_right[r].len + 1;
    all = mem_alloc(total ? total : 1);
    vkllm_status st = VKLLM_OK;
    if (!s || !l || !all) st = tokmeta_nomem();
    char *p = all;
    for (size_t r = 0; st == VKLLM_OK && r < sp->n_merges; r++) {
        size_t a = sp->merge_left[r].len, b = sp->merge_right[r].len;
        memcpy(p, sp->merge_left[r].s, a);
        p[a] = ' ';
        memcpy(p + a + 1, sp->merge_right[r].s, b);
        s[r] = p;
        l[r] = a + b + 1;
        p += a + b + 1;
    }
    if (st == VKLLM_OK) st = gguf_writer_set_arr_str(w, GV "merges", sp->n_merges, s, l);
    mem_free(s);
    mem_free(l);
    mem_free(all);
    return st;
}

static vkllm_status tokmeta_ids(gguf_writer *w, const tok_spec *sp, int is_spm) {
    static const char *keys[] = {GV "bos_token_id", GV "eos_token_id", GV "unknown_token_id",
                                 GV "padding_token_id", GV "eot_token_id"};
    int32_t ids[] = {sp->bos_id, sp->eos_id, sp->unk_id, sp->pad_id, sp->eot_id};
    for (int k = 0; k < 5; k++)
        if (ids[k] >= 0) TRY(gguf_writer_set_u32(w, keys[k], (uint32_t)ids[k]));
    TRY(gguf_writer_set_bool(w, GV "add_bos_token", sp->add_bos));
    TRY(gguf_writer_set_bool(w, GV "add_eos_token", sp->add_eos));
    if (is_spm) {
        int prefix = 0;
        for (size_t i = 0; i < sp->n_norm; i++)
            if (sp->norm[i].kind == TOK_NORM_PREPEND) prefix = 1;
        for (size_t i = 0; i < sp->n_pre; i++)
            if (sp->pre[i].kind == TOK_PRE_METASPACE && sp->pre[i].prepend_scheme != TOK_PREPEND_NEVER)
                prefix = 1;
        TRY(gguf_writer_set_bool(w, GV "add_space_prefix", prefix));
    }
    return VKLLM_OK;
}

vkllm_status tokmeta_from_hf(gguf_writer *w, const char *dir, int32_t n_vocab) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (stat(path, &st) != 0) {
        log_msg(LOG_WARN, "convert: %s has no tokenizer.json; the GGUF file will have no tokenizer", dir);
        return VKLLM_OK;
    }
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    vkllm_status s = tok_spec_from_hf_json(path, &sp);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (s == VKLLM_OK && stat(path, &st) == 0) s = tok_spec_apply_hf_config(path, &sp);
    if (s == VKLLM_OK && sp.n_vocab > n_vocab)
        s = err_set(VKLLM_ERR_FORMAT, "convert: %s: tokenizer has %d tokens, the model only %d", dir,
                    (int)sp.n_vocab, (int)n_vocab);
    int bytelevel = 0;
    for (size_t i = 0; i < sp.n_pre; i++) bytelevel |= sp.pre[i].kind == TOK_PRE_BYTELEVEL;
    int spm = sp.model == TOK_MODEL_BPE && sp.byte_fallback && !bytelevel;
    if (s == VKLLM_OK && !spm && !bytelevel)
        s = err_set(VKLLM_ERR_UNSUPPORTED,
                    "convert: %s: tokenizer is neither byte-level BPE nor byte-fallback BPE", dir);
    if (s == VKLLM_OK) s = gguf_writer_set_str(w, GV "model", spm ? "llama" : "gpt2", spm ? 5 : 4);
    const char *pre = "default";
    if (s == VKLLM_OK && !spm) s = tokmeta_pre_name(&sp, &pre);
    if (s == VKLLM_OK) s = gguf_writer_set_str(w, GV "pre", pre, strlen(pre));
    if (s == VKLLM_OK) s = tokmeta_tokens(w, &sp, n_vocab);
    if (s == VKLLM_OK) s = spm ? tokmeta_scores(w, &sp, n_vocab) : tokmeta_merges(w, &sp);
    if (s == VKLLM_OK) s = tokmeta_ids(w, &sp, spm);
    tok_spec_free(&sp);
    return s;
}

/* GPT-2 byte-to-unicode alphabet: printable Latin-1 bytes map to themselves,
 * the other 68 bytes to U+0100.. in byte order. Writes UTF-8, returns length. */
static size_t tokmeta_byte_symbol(int b, char *out) {
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    int cp = b;
    if (!printable) {
        int k = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

vkllm_status tokmeta_placeholder(gguf_writer *w, int32_t n_vocab) {
    if (n_vocab < 258)
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "synth: vocabulary of %d is too small for the byte-level placeholder (>= 258)",
                       (int)n_vocab);
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.n_vocab = n_vocab;
    sp.vocab = mem_calloc((size_t)n_vocab, sizeof *sp.vocab);
    sp.attrs = mem_calloc((size_t)n_vocab, 1);
    char *sym = mem_alloc(256 * 2);
    vkllm_status s = VKLLM_OK;
    if (!sp.vocab || !sp.attrs || !sym) s = tokmeta_nomem();
    for (int b = 0; s == VKLLM_OK && b < 256; b++) {
        sp.vocab[b].s = sym + 2 * b;
        sp.vocab[b].len = tokmeta_byte_symbol(b, sym + 2 * b);
        sp.attrs[b] = TOK_ATTR_NORMAL;
    }
    if (s == VKLLM_OK) {
        sp.vocab[n_vocab - 2] = (tok_str){"<s>", 3};
        sp.vocab[n_vocab - 1] = (tok_str){"</s>", 4};
        sp.attrs[n_vocab - 2] = sp.attrs[n_vocab - 1] = TOK_ATTR_CONTROL;
        s = gguf_writer_set_str(w, GV "model", "gpt2", 4);
    }
    if (s == VKLLM_OK) s = gguf_writer_set_str(w, GV "pre", "gpt-2", 5);
    if (s == VKLLM_OK) s = tokmeta_tokens(w, &sp, n_vocab);
    if (s == VKLLM_OK) s = gguf_writer_set_arr_str(w, GV "merges", 0, NULL, NULL);
    if (s == VKLLM_OK) s = gguf_writer_set_u32(w, GV "bos_token_id", (uint32_t)n_vocab - 2);
    if (s == VKLLM_OK) s = gguf_writer_set_u32(w, GV "eos_token_id", (uint32_t)n_vocab - 1);
    if (s == VKLLM_OK) s = gguf_writer_set_bool(w, GV "add_bos_token", 1);
    mem_free(sp.vocab); /* strings borrowed: not tok_spec_free */
    mem_free(sp.attrs);
    mem_free(sym);
    return s;
}

int32_t tokmeta_copy(gguf_writer *w, const gguf *g, vkllm_status *st) {
    *st = VKLLM_OK;
    for (int64_t i = 0; i < gguf_n_kv(g) && *st == VKLLM_OK; i++)
        if (!strncmp(gguf_key(g, i), "tokenizer.", 10)) *st = gguf_writer_copy_kv(w, g, i);
    gguf_vtype et;
    uint64_t n;
    if (*st != VKLLM_OK) return -1;
    if (gguf_get_arr(g, GV "tokens", &et, &n) != VKLLM_OK || et != GGUF_VT_STRING || n > (1u << 24)) {
        *st = err_set(VKLLM_ERR_FORMAT, "synth: %s: no " GV "tokens array", gguf_path(g));
        return -1;
    }
    return (int32_t)n;
}
