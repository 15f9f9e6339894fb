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
    memcpy(ids, v, (n < cap ? n : cap) * sizeof *ids);
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
    if (m->tok) return tokenizer_is_eog(m->tok, id);
    return id == m->cfg.eos_id;
}
