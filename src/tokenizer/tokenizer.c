/* tokenizer.c — builds the runtime tokenizer from a tok_spec and runs the
 * encoding pipeline:
 *   1. added tokens are found first (longest match at each position; special
 *      ones only with TOKENIZER_PARSE_SPECIAL, non-special ones always;
 *      lstrip/rstrip swallow neighbouring whitespace);
 *   2. each text segment between them is normalized (normalize.c),
 *      pre-tokenized into pieces (pretok.c) and each piece encoded by the
 *      model (spm.c: score merges; bpe.c: ranked merges);
 *   3. BOS/EOS are added when asked for and the spec says so.
 * Invalid UTF-8 never fails: bytes that form no character go to byte
 * fallback (<0xNN> tokens, byte-level alphabet) or unk. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "tokenizer/tok_impl.h"

static vkllm_status tokenizer_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory");
}

void tok_scratch_free(tok_scratch *sc) {
    mem_free(sc->sym);
    mem_free(sc->heap);
    memset(sc, 0, sizeof *sc);
}

static vkllm_status tokenizer_check_id(const tok_spec *s, const char *what, int32_t id) {
    if (id < -1 || id >= s->n_vocab)
        return err_set(VKLLM_ERR_FORMAT, "tokenizer: %s id %ld out of range [0, %ld)", what,
                       (long)id, (long)s->n_vocab);
    return VKLLM_OK;
}

static vkllm_status tokenizer_validate(const tok_spec *s) {
    if (s->n_vocab <= 0 || !s->vocab)
        return err_set(VKLLM_ERR_FORMAT, "tokenizer: empty vocabulary (%ld tokens)", (long)s->n_vocab);
    for (int32_t i = 0; i < s->n_vocab; i++)
        if (!s->vocab[i].s && s->vocab[i].len)
            return err_set(VKLLM_ERR_FORMAT, "tokenizer: token %ld has no text", (long)i);
    if (s->model != TOK_MODEL_SPM_BPE && s->model != TOK_MODEL_BPE)
        return err_set(VKLLM_ERR_UNSUPPORTED, "tokenizer: model kind %d", (int)s->model);
    if (s->n_merges && (!s->merge_left || !s->merge_right))
        return err_set(VKLLM_ERR_FORMAT, "tokenizer: merges without their strings");
    TRY(tokenizer_check_id(s, "unknown", s->unk_id));
    TRY(tokenizer_check_id(s, "BOS", s->bos_id));
    TRY(tokenizer_check_id(s, "EOS", s->eos_id));
    TRY(tokenizer_check_id(s, "EOT", s->eot_id));
    TRY(tokenizer_check_id(s, "padding", s->pad_id));
    for (size_t i = 0; i < s->n_eog; i++) TRY(tokenizer_check_id(s, "end-of-generation", s->eog_ids[i]));
    for (size_t i = 0; i < s->n_added; i++) {
        const tok_added *a = &s->added[i];
        if (a->id < 0 || a->id >= s->n_vocab)
            return err_set(VKLLM_ERR_FORMAT, "tokenizer: added token %zu: id %ld out of range [0, %ld)",
                           i, (long)a->id, (long)s->n_vocab);
        if (a->content.len == 0 || !a->content.s)
            return err_set(VKLLM_ERR_FORMAT, "tokenizer: added token %ld has empty content", (long)a->id);
    }
    if (s->attrs)
        for (int32_t i = 0; i < s->n_vocab; i++)
            if (s->attrs[i] < TOK_ATTR_NORMAL || s->attrs[i] > TOK_ATTR_BYTE)
                return err_set(VKLLM_ERR_FORMAT, "tokenizer: token %ld: type %u out of range [1, 6]",
                               (long)i, (unsigned)s->attrs[i]);
    return VKLLM_OK;
}

/* Bucket added tokens by first byte, longest content first. */
static vkllm_status tokenizer_index_added(tokenizer *t) {
    const tok_spec *s = &t->spec;
    size_t count[256] = {0};
    for (size_t i = 0; i < s->n_added; i++) count[(uint8_t)s->added[i].content.s[0]]++;
    for (int b = 0; b < 256; b++) {
        if (!count[b]) continue;
        t->added_by_byte[b].idx = mem_alloc(count[b] * sizeof(int32_t));
        if (!t->added_by_byte[b].idx) return tokenizer_nomem();
    }
    for (size_t i = 0; i < s->n_added; i++) {
        tok_added_bucket *bk = &t->added_by_byte[(uint8_t)s->added[i].content.s[0]];
        /* insertion keeps the bucket sorted by length (desc), stable */
        size_t j = bk->n++;
        while (j > 0 && s->added[bk->idx[j - 1]].content.len < s->added[i].content.len) {
            bk->idx[j] = bk->idx[j - 1];
            j--;
        }
        bk->idx[j] = (int32_t)i;
    }
    return VKLLM_OK;
}

vkllm_status tokenizer_build(tok_spec *spec, tokenizer **out) {
    *out = NULL;
    vkllm_status st = tokenizer_validate(spec);
    if (st != VKLLM_OK) {
        tok_spec_free(spec);
        return st;
    }
    tokenizer *t = mem_calloc(1, sizeof *t);
    if (!t) {
        tok_spec_free(spec);
        return tokenizer_nomem();
    }
    t->spec = *spec;
    memset(spec, 0, sizeof *spec);
    st = VKLLM_OK;
    if (!t->spec.attrs && t->spec.n_added) {
        t->spec.attrs = mem_alloc((size_t)t->spec.n_vocab);
        if (!t->spec.attrs) st = tokenizer_nomem();
        else memset(t->spec.attrs, TOK_ATTR_NORMAL, (size_t)t->spec.n_vocab);
    }
    /* added tokens decode raw: special ones as control, the others as user-defined */
    for (size_t i = 0; st == VKLLM_OK && i < t->spec.n_added; i++) {
        uint8_t *a = &t->spec.attrs[t->spec.added[i].id];
        if (*a == TOK_ATTR_NORMAL) *a = t->spec.added[i].special ? TOK_ATTR_CONTROL : TOK_ATTR_USER_DEFINED;
    }
    t->kind = t->spec.llama2c_mode ? "llama2c" : t->spec.model == TOK_MODEL_SPM_BPE ? "spm" : "bpe";
    if (st == VKLLM_OK) st = vocabmap_build(&t->map, t->spec.vocab, t->spec.n_vocab);
    for (int b = 0; b < 256; b++) {
        char name[8];
        static const char hex[] = "0123456789ABCDEF";
        name[0] = '<', name[1] = '0', name[2] = 'x', name[3] = hex[b >> 4], name[4] = hex[b & 15],
        name[5] = '>';
        t->byte_tok[b] = st == VKLLM_OK ? vocabmap_find(&t->map, name, 6) : -1;
    }
    t->space_tok = st == VKLLM_OK ? vocabmap_find(&t->map, " ", 1) : -1;
    if (st == VKLLM_OK && t->spec.model == TOK_MODEL_BPE) st = bpe_build(t);
    if (st == VKLLM_OK) st = pretok_compile(&t->spec, &t->pre);
    if (st == VKLLM_OK) st = tokenizer_index_added(t);
    if (st != VKLLM_OK) {
        tokenizer_free(t);
        return st;
    }
    *out = t;
    return VKLLM_OK;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    pretok_free(t->pre, t->spec.n_pre);
    for (int b = 0; b < 256; b++) mem_free(t->added_by_byte[b].idx);
    mem_free(t->pairs);
    vocabmap_free(&t->map);
    tok_spec_free(&t->spec);
    mem_free(t);
}

/* ---- encoding */
typedef struct tok_enc {
    const tokenizer *t;
    tok_scratch sc;
    buf norm;
    tok_pieces pieces;
    buf ids;
} tok_enc;

static vkllm_status tokenizer_segment(tok_enc *e, const char *s, size_t len, int first) {
    if (len == 0) return VKLLM_OK;
    const tokenizer *t = e->t;
    TRY(normalize_run(&t->spec, s, len, &e->norm));
    TRY(pretok_run(t->pre, t->spec.n_pre, e->norm.data, e->norm.len, first, &e->pieces));
    for (size_t i = 0; i < e->pieces.n; i++) {
        size_t a = i ? e->pieces.end[i - 1] : 0;
        const char *p = e->pieces.text.data + a;
        size_t n = e->pieces.end[i] - a;
        if (t->spec.model == TOK_MODEL_BPE) TRY(bpe_encode_piece(t, &e->sc, p, n, &e->ids));
        else TRY(spm_encode_piece(t, &e->sc, p, n, &e->ids));
    }
    return VKLLM_OK;
}

static int tokenizer_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Index into spec.added of the longest added token at s[pos], or -1. */
static int32_t tokenizer_added_at(const tokenizer *t, const char *s, size_t len, size_t pos,
                                  int parse_special) {
    const tok_added_bucket *bk = &t->added_by_byte[(uint8_t)s[pos]];
    for (size_t k = 0; k < bk->n; k++) {
        const tok_added *a = &t->spec.added[bk->idx[k]];
        if (a->special && !parse_special) continue;
        if (a->content.len <= len - pos && !memcmp(s + pos, a->content.s, a->content.len))
            return bk->idx[k];
    }
    return -1;
}

static vkllm_status tokenizer_run(tok_enc *e, const char *text, size_t len, int flags) {
    const tokenizer *t = e->t;
    const tok_spec *sp = &t->spec;
    if ((flags & TOKENIZER_ADD_BOS) && sp->add_bos && sp->bos_id >= 0)
        if (tok_push_id(&e->ids, sp->bos_id)) return tokenizer_nomem();
    size_t seg = 0, pos = 0;
    while (pos < len) {
        int32_t k = sp->n_added ? tokenizer_added_at(t, text, len, pos, flags & TOKENIZER_PARSE_SPECIAL)
                                : -1;
        if (k < 0) {
            pos++;
            continue;
        }
        const tok_added *a = &sp->added[k];
        size_t end = pos;
        if (a->lstrip)
            while (end > seg && tokenizer_space(text[end - 1])) end--;
        TRY(tokenizer_segment(e, text + seg, end - seg, seg == 0));
        if (tok_push_id(&e->ids, a->id)) return tokenizer_nomem();
        pos += a->content.len;
        if (a->rstrip)
            while (pos < len && tokenizer_space(text[pos])) pos++;
        seg = pos;
    }
    TRY(tokenizer_segment(e, text + seg, len - seg, seg == 0));
    if ((flags & TOKENIZER_ADD_BOS) && sp->add_eos && sp->eos_id >= 0)
        if (tok_push_id(&e->ids, sp->eos_id)) return tokenizer_nomem();
    return VKLLM_OK;
}

vkllm_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, int flags,
                              int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return err_set(VKLLM_ERR_INVALID_ARG, "tokenizer: NULL text of %zu bytes", len);
    tok_enc e = {.t = t};
    vkllm_status st = tokenizer_run(&e, text, len, flags);
    tok_scratch_free(&e.sc);
    buf_free(&e.norm);
    pretok_pieces_free(&e.pieces);
    if (st != VKLLM_OK) {
        buf_free(&e.ids);
        return st;
    }
    if (!e.ids.data && buf_append(&e.ids, "", 0)) return tokenizer_nomem();
    *n = e.ids.len / sizeof(int32_t);
    *ids = (int32_t *)(void *)buf_steal(&e.ids);
    return VKLLM_OK;
}

/* ---- accessors */
int tokenizer_n_vocab(const tokenizer *t) { return t->spec.n_vocab; }
const char *tokenizer_kind(const tokenizer *t) { return t->kind; }
int32_t tokenizer_bos(const tokenizer *t) { return t->spec.bos_id; }
int32_t tokenizer_eos(const tokenizer *t) { return t->spec.eos_id; }
int tokenizer_adds_bos(const tokenizer *t) { return t->spec.add_bos && t->spec.bos_id >= 0; }

int tokenizer_is_eog(const tokenizer *t, int32_t id) {
    if (id < 0) return 0;
    if (id == t->spec.eos_id || id == t->spec.eot_id) return 1;
    for (size_t i = 0; i < t->spec.n_eog; i++)
        if (t->spec.eog_ids[i] == id) return 1;
    return 0;
}

const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->spec.n_vocab) return NULL;
    if (len) *len = t->spec.vocab[id].len;
    return t->spec.vocab[id].s ? t->spec.vocab[id].s : "";
}
