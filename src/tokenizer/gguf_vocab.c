/* gguf_vocab.c — GGUF tokenizer.ggml.* metadata as a tok_spec.
 *
 * Keys read:
 *   tokenizer.ggml.model        "llama" -> SentencePiece BPE, "gpt2" -> byte-level BPE
 *   tokenizer.ggml.pre          pre-tokenizer name (pretok.c table; BPE only)
 *   tokenizer.ggml.tokens       string[n]                    (required)
 *   tokenizer.ggml.scores       f32[n]                       (SPM; optional)
 *   tokenizer.ggml.token_type   i32[n] 1..6                  (optional; 0 read as 1)
 *   tokenizer.ggml.merges       string[] "left right"        (required for gpt2)
 *   tokenizer.ggml.{bos,eos,unknown,padding,eot,eom}_token_id
 *   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix
 * Control (3), unknown (2) and user-defined (4) tokens are the added tokens;
 * user-defined ones are matched in text even without parse_special.
 * Defaults: SPM bos 1, eos 2, unk 0, add_bos and add_space_prefix true; BPE
 * add_bos true only for the Llama 3 pre-tokenizers. */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "tokenizer/tok_impl.h"

#define GV "tokenizer.ggml."

static vkllm_status gguf_vocab_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "gguf tokenizer: out of memory");
}

static vkllm_status gguf_vocab_step(tok_step **v, size_t *n, tok_step_kind kind, const char *pat,
                                    const char *content) {
    tok_step *s = mem_realloc(*v, (*n + 1) * sizeof *s);
    if (!s) return gguf_vocab_nomem();
    *v = s;
    tok_step *x = &s[(*n)++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    if (pat) {
        if (!(x->pattern.s = mem_strdup(pat))) return gguf_vocab_nomem();
        x->pattern.len = strlen(pat);
    }
    if (content) {
        if (!(x->content.s = mem_strdup(content))) return gguf_vocab_nomem();
        x->content.len = strlen(content);
    }
    return VKLLM_OK;
}

/* Optional id key: absent -> def; present -> must fit int32 (range checked by tokenizer_build). */
static vkllm_status gguf_vocab_id(const gguf *g, const char *key, int32_t def, int32_t *out) {
    int64_t v;
    vkllm_status st = gguf_get_i64(g, key, &v);
    if (st == VKLLM_ERR_INVALID_ARG) {
        *out = def;
        return VKLLM_OK;
    }
    TRY(st);
    if (v < -1 || v > INT32_MAX)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: %s = %lld out of range", key, (long long)v);
    *out = (int32_t)v;
    return VKLLM_OK;
}

static vkllm_status gguf_vocab_bool(const gguf *g, const char *key, int def, int *out) {
    vkllm_status st = gguf_get_bool(g, key, out);
    if (st == VKLLM_ERR_INVALID_ARG) {
        *out = def;
        return VKLLM_OK;
    }
    return st;
}

static vkllm_status gguf_vocab_tokens(const gguf *g, tok_spec *sp) {
    gguf_vtype et;
    uint64_t n;
    if (gguf_get_arr(g, GV "tokens", &et, &n) != VKLLM_OK)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: %s: no " GV "tokens array", gguf_path(g));
    if (et != GGUF_VT_STRING || n == 0 || n > (uint64_t)INT32_MAX)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: " GV "tokens: type %d, %llu elements",
                       (int)et, (unsigned long long)n);
    sp->n_vocab = (int32_t)n;
    sp->vocab = mem_calloc(n, sizeof *sp->vocab);
    sp->attrs = mem_alloc(n);
    if (!sp->vocab || !sp->attrs) return gguf_vocab_nomem();
    memset(sp->attrs, TOK_ATTR_NORMAL, n);
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = gguf_arr_str(g, GV "tokens", i, &len);
        if (!s) return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: token %llu unreadable", (unsigned long long)i);
        if (!(sp->vocab[i].s = mem_strndup(s, len))) return gguf_vocab_nomem();
        sp->vocab[i].len = len;
    }
    if (gguf_get_arr(g, GV "scores", &et, &n) == VKLLM_OK) {
        if (et != GGUF_VT_F32 || n != (uint64_t)sp->n_vocab)
            return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: " GV "scores: type %d, %llu elements for %ld tokens",
                           (int)et, (unsigned long long)n, (long)sp->n_vocab);
        if (!(sp->scores = mem_alloc(n * sizeof(float)))) return gguf_vocab_nomem();
        memcpy(sp->scores, gguf_arr_data(g, GV "scores"), n * sizeof(float));
    }
    if (gguf_get_arr(g, GV "token_type", &et, &n) == VKLLM_OK) {
        if ((et != GGUF_VT_I32 && et != GGUF_VT_U32) || n != (uint64_t)sp->n_vocab)
            return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: " GV "token_type: type %d, %llu elements for %ld tokens",
                           (int)et, (unsigned long long)n, (long)sp->n_vocab);
        const uint8_t *d = gguf_arr_data(g, GV "token_type");
        for (uint64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, d + 4 * i, 4);
            if (v == 0) v = TOK_ATTR_NORMAL;
            if (v < TOK_ATTR_NORMAL || v > TOK_ATTR_BYTE)
                return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: token %llu: type %ld out of range [1, 6]",
                               (unsigned long long)i, (long)v);
            sp->attrs[i] = (uint8_t)v;
        }
    }
    return VKLLM_OK;
}

static vkllm_status gguf_vocab_merges(const gguf *g, tok_spec *sp) {
    gguf_vtype et;
    uint64_t n;
    if (gguf_get_arr(g, GV "merges", &et, &n) != VKLLM_OK)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: %s: gpt2 model without " GV "merges", gguf_path(g));
    if (et != GGUF_VT_STRING || n > (uint64_t)INT32_MAX / 4)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: " GV "merges: type %d, %llu elements",
                       (int)et, (unsigned long long)n);
    sp->merge_left = mem_calloc(n ? n : 1, sizeof(tok_str));
    sp->merge_right = mem_calloc(n ? n : 1, sizeof(tok_str));
    if (!sp->merge_left || !sp->merge_right) return gguf_vocab_nomem();
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = gguf_arr_str(g, GV "merges", i, &len);
        const char *sp1 = s && len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp1)
            return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: merge %llu has no space separator",
                           (unsigned long long)i);
        size_t a = (size_t)(sp1 - s);
        sp->merge_left[i].s = mem_strndup(s, a);
        sp->merge_right[i].s = mem_strndup(sp1 + 1, len - a - 1);
        sp->n_merges = i + 1;
        if (!sp->merge_left[i].s || !sp->merge_right[i].s) return gguf_vocab_nomem();
        sp->merge_left[i].len = a;
        sp->merge_right[i].len = len - a - 1;
    }
    return VKLLM_OK;
}

/* Added tokens (types 2, 3, 4) and end-of-generation tokens named by their text. */
static vkllm_status gguf_vocab_added(tok_spec *sp) {
    static const char *const eog_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>", "<EOT>",
                                            "<｜end▁of▁sentence｜>", NULL};
    size_t n = 0, ne = 0;
    for (int32_t i = 0; i < sp->n_vocab; i++) {
        uint8_t a = sp->attrs[i];
        if ((a == TOK_ATTR_CONTROL || a == TOK_ATTR_USER_DEFINED || a == TOK_ATTR_UNKNOWN) && sp->vocab[i].len) n++;
    }
    sp->added = mem_calloc(n ? n : 1, sizeof *sp->added);
    sp->eog_ids = mem_calloc(16, sizeof *sp->eog_ids);
    if (!sp->added || !sp->eog_ids) return gguf_vocab_nomem();
    for (int32_t i = 0; i < sp->n_vocab; i++) {
        uint8_t a = sp->attrs[i];
        if (!((a == TOK_ATTR_CONTROL || a == TOK_ATTR_USER_DEFINED || a == TOK_ATTR_UNKNOWN) && sp->vocab[i].len))
            continue;
        tok_added *t = &sp->added[sp->n_added++];
        t->id = i;
        t->special = a != TOK_ATTR_USER_DEFINED;
        if (!(t->content.s = mem_strndup(sp->vocab[i].s, sp->vocab[i].len))) return gguf_vocab_nomem();
        t->content.len = sp->vocab[i].len;
        for (int k = 0; eog_names[k] && ne < 16; k++)
            if (!strcmp(sp->vocab[i].s, eog_names[k])) sp->eog_ids[ne++] = i;
    }
    sp->n_eog = ne;
    return VKLLM_OK;
}

static vkllm_status gguf_vocab_spec(const gguf *g, tok_spec *sp) {
    const char *model;
    size_t mlen;
    if (gguf_get_str(g, GV "model", &model, &mlen) != VKLLM_OK)
        return err_set(VKLLM_ERR_FORMAT, "gguf tokenizer: %s: no " GV "model", gguf_path(g));
    int spm = !strcmp(model, "llama"), bpe = !strcmp(model, "gpt2");
    if (!spm && !bpe)
        return err_set(VKLLM_ERR_UNSUPPORTED, "gguf tokenizer: model '%.40s' (supported: llama, gpt2)", model);
    sp->model = spm ? TOK_MODEL_SPM_BPE : TOK_MODEL_BPE;
    TRY(gguf_vocab_tokens(g, sp));
    int llama3 = 0, ignore_merges = 0;
    const char *const *re = NULL;
    if (bpe) {
        TRY(gguf_vocab_merges(g, sp));
        const char *pre = "default";
        size_t plen;
        if (gguf_get_str(g, GV "pre", &pre, &plen) != VKLLM_OK) pre = "default";
        re = pretok_named(pre, &ignore_merges);
        if (!re) return err_set(VKLLM_ERR_UNSUPPORTED, "gguf tokenizer: pre-tokenizer '%.60s'", pre);
        if (!(sp->pre_name = mem_strdup(pre))) return gguf_vocab_nomem();
        llama3 = !strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3");
        sp->ignore_merges = ignore_merges;
    }
    TRY(gguf_vocab_id(g, GV "bos_token_id", spm ? 1 : -1, &sp->bos_id));
    TRY(gguf_vocab_id(g, GV "eos_token_id", spm ? 2 : -1, &sp->eos_id));
    TRY(gguf_vocab_id(g, GV "unknown_token_id", spm ? 0 : -1, &sp->unk_id));
    TRY(gguf_vocab_id(g, GV "padding_token_id", -1, &sp->pad_id));
    TRY(gguf_vocab_id(g, GV "eot_token_id", -1, &sp->eot_id));
    TRY(gguf_vocab_bool(g, GV "add_bos_token", spm || llama3, &sp->add_bos));
    TRY(gguf_vocab_bool(g, GV "add_eos_token", 0, &sp->add_eos));
    TRY(gguf_vocab_bool(g, GV "add_space_prefix", spm, &sp->add_space_prefix));
    TRY(gguf_vocab_added(sp));
    int32_t eom;
    TRY(gguf_vocab_id(g, GV "eom_token_id", -1, &eom));
    if (eom >= 0 && sp->n_eog < 16) sp->eog_ids[sp->n_eog++] = eom;
    if (spm) {
        sp->byte_fallback = 1;
        if (sp->add_space_prefix) TRY(gguf_vocab_step(&sp->norm, &sp->n_norm, TOK_NORM_PREPEND, NULL, "\xe2\x96\x81"));
        TRY(gguf_vocab_step(&sp->norm, &sp->n_norm, TOK_NORM_REPLACE, " ", "\xe2\x96\x81"));
        TRY(gguf_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_REPLACE, "\xe2\x96\x81", " "));
        TRY(gguf_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_BYTEFALLBACK, NULL, NULL));
        TRY(gguf_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_FUSE, NULL, NULL));
        if (sp->add_space_prefix) {
            TRY(gguf_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_STRIP, NULL, " "));
            sp->dec[sp->n_dec - 1].start = 1;
        }
    } else {
        for (size_t k = 0; re[k]; k++) TRY(gguf_vocab_step(&sp->pre, &sp->n_pre, TOK_PRE_SPLIT, re[k], NULL));
        TRY(gguf_vocab_step(&sp->pre, &sp->n_pre, TOK_PRE_BYTELEVEL, NULL, NULL));
        TRY(gguf_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_BYTELEVEL, NULL, NULL));
    }
    return VKLLM_OK;
}

vkllm_status tokenizer_from_gguf(const gguf *g, tokenizer **out) {
    *out = NULL;
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.unk_id = sp.bos_id = sp.eos_id = sp.eot_id = sp.pad_id = -1;
    vkllm_status st = gguf_vocab_spec(g, &sp);
    if (st != VKLLM_OK) {
        tok_spec_free(&sp);
        return err_prefix(st, "%s", gguf_path(g));
    }
    return tokenizer_build(&sp, out);
}
