/* api.c — public tokenizer entry points over the model's tokenizer. */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/model.h"

vkllm_status vkllm_tokenize(const vkllm_model *m, const char *text, size_t len, int flags,
                            int32_t *ids, size_t cap, size_t *n_out) {
    *n_out = 0;
    if (!m->tok) return err_set(VKLLM_ERR_UNSUPPORTED, "%s: the model has no tokenizer", m->path);
    int tf = (flags & VKLLM_TOKENIZE_ADD_BOS ? TOKENIZER_ADD_BOS : 0) |
             (flags & VKLLM_TOKENIZE_PARSE_SPECIAL ? TOKENIZER_PARSE_SPECIAL : 0);
    int32_t *v;
    size_t n;
    TRY(tokenizer_encode(m->tok, text, len, tf, &v, &n));
    if (ids && cap && n) memcpy(ids, v, (n < cap ? n : cap) * sizeof *ids);
    mem_free(v);
    *n_out = n;
    return VKLLM_OK;
}

vkllm_status vkllm_token_piece(const vkllm_model *m, int32_t id, const char **piece, size_t *len) {
    if (!m->tok) return err_set(VKLLM_ERR_UNSUPPORTED, "%s: the model has no tokenizer", m->path);
    const char *p = tokenizer_token_text(m->tok, id, len);
    if (!p) return err_set(VKLLM_ERR_INVALID_ARG, "token id %d out of range", id);
    *piece = p;
    return VKLLM_OK;
}

int vkllm_token_is_eog(const vkllm_model *m, int32_t id) {
    /* llama2.c marks the end of a story by starting the next one with BOS */
    if (m->format == MODEL_LLAMA2C && id == m->cfg.bos_id) return 1;
    if (m->tok) return tokenizer_is_eog(m->tok, id);
    return id == m->cfg.eos_id;
}

struct vkllm_detokenizer {
    tok_stream st;
    buf out;
};

vkllm_status vkllm_detokenizer_create(const vkllm_model *m, vkllm_detokenizer **out) {
    *out = NULL;
    if (!m->tok) return err_set(VKLLM_ERR_UNSUPPORTED, "%s: the model has no tokenizer", m->path);
    vkllm_detokenizer *d = mem_calloc(1, sizeof *d);
    if (!d) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    tok_stream_init(&d->st, m->tok);
    *out = d;
    return VKLLM_OK;
}

vkllm_status vkllm_detokenizer_push(vkllm_detokenizer *d, int32_t id, const char **text,
                                    size_t *len) {
    buf_reset(&d->out);
    vkllm_status s = tok_stream_push(&d->st, id, &d->out);
    *text = d->out.data ? d->out.data : "";
    *len = d->out.len;
    return s;
}

void vkllm_detokenizer_flush(vkllm_detokenizer *d, const char **text, size_t *len) {
    buf_reset(&d->out);
    tok_stream_flush(&d->st, &d->out);
    *text = d->out.data ? d->out.data : "";
    *len = d->out.len;
}

void vkllm_detokenizer_destroy(vkllm_detokenizer *d) {
    if (!d) return;
    tok_stream_free(&d->st);
    buf_free(&d->out);
    mem_free(d);
}
