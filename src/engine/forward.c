/* forward.c — the Llama-family forward pass over backend ops:
 *   x = embed(ids)
 *   per layer: h = rmsnorm(x); q,k,v = h·Wq,k,v (+bias); [q/k rmsnorm per head];
 *              rope(q,k); store k,v; x += attention(q)·Wo;
 *              h = rmsnorm(x); x += (silu(h·Wgate) * h·Wup)·Wdown
 *   logits = rmsnorm(x[out_rows])·Woutput
 * Architecture differences (biases, q/k norm, rope layout, tied output) come
 * from the model's config, never from copies of this code. */
#include "engine/forward.h"

#include <math.h>
#include <string.h>

#include "core/err.h"

static vkllm_status fwd_alloc(backend *be, size_t n_floats, bk_buf **out, uint64_t *total) {
    *total += n_floats * 4;
    return be->vt->buf_alloc(be, n_floats * 4, out);
}

vkllm_status forward_init(vkllm_model *m, int max_tokens, int max_out, fwd_state *st) {
    memset(st, 0, sizeof *st);
    if (max_tokens < 1 || max_out < 1 || max_out > max_tokens)
        return err_set(VKLLM_ERR_INVALID_ARG, "forward: bad batch sizes %d/%d", max_tokens, max_out);
    const model_config *c = &m->cfg;
    backend *be = m->be;
    size_t T = (size_t)max_tokens, O = (size_t)max_out;
    size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    st->max_tokens = max_tokens;
    st->max_out = max_out;
    uint64_t *t = &st->scratch_bytes;
    size_t hd = (size_t)c->dim > qd ? (size_t)c->dim : qd;
    TRY(fwd_alloc(be, T * c->dim, &st->x, t));
    TRY(fwd_alloc(be, T * hd, &st->h, t));
    TRY(fwd_alloc(be, T * qd, &st->q, t));
    TRY(fwd_alloc(be, T * kvd, &st->k, t));
    TRY(fwd_alloc(be, T * kvd, &st->v, t));
    TRY(fwd_alloc(be, T * qd, &st->att, t));
    TRY(fwd_alloc(be, T * c->ffn_dim, &st->gate, t));
    TRY(fwd_alloc(be, T * c->ffn_dim, &st->up, t));
    TRY(fwd_alloc(be, O * c->dim, &st->xo, t));
    TRY(fwd_alloc(be, O * c->n_vocab, &st->logits, t));
    TRY(fwd_alloc(be, O, &st->ids, t));
    return VKLLM_OK;
}

void forward_free(vkllm_model *m, fwd_state *st) {
    backend *be = m->be;
    bk_buf *bufs[] = {st->x, st->h, st->q, st->k, st->v, st->att, st->gate, st->up, st->xo,
                      st->logits, st->ids};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) be->vt->buf_free(be, bufs[i]);
    memset(st, 0, sizeof *st);
}

static vkllm_status fwd_layer(vkllm_model *m, fwd_state *st, bk_kv *kv, int l, int T,
                              const bk_rope *rope) {
    const model_config *c = &m->cfg;
    backend *be = m->be;
    const backend_vt *vt = be->vt;
    const model_bk_layer *L = &m->bk_layers[l];
    float eps = c->norm_eps;
    TRY(vt->rmsnorm(be, st->h, st->x, L->attn_norm, T, c->dim, eps));
    TRY(vt->matmul(be, st->q, L->wq, st->h, L->bq, T));
    TRY(vt->matmul(be, st->k, L->wk, st->h, L->bk, T));
    TRY(vt->matmul(be, st->v, L->wv, st->h, L->bv, T));
    if (c->has_qk_norm) {
        TRY(vt->rmsnorm(be, st->q, st->q, L->q_norm, T * c->n_heads, c->head_dim, eps));
        TRY(vt->rmsnorm(be, st->k, st->k, L->k_norm, T * c->n_kv_heads, c->head_dim, eps));
    }
    TRY(vt->rope(be, st->q, c->n_heads, rope));
    TRY(vt->rope(be, st->k, c->n_kv_heads, rope));
    TRY(vt->kv_write(be, kv, l, st->k, st->v));
    TRY(vt->attention(be, st->att, st->q, kv, l, c->n_heads, 1.0f / sqrtf((float)c->head_dim)));
    TRY(vt->matmul(be, st->h, L->wo, st->att, NULL, T));
    TRY(vt->add(be, st->x, st->x, st->h, (size_t)T * c->dim));
    TRY(vt->rmsnorm(be, st->h, st->x, L->ffn_norm, T, c->dim, eps));
    TRY(vt->matmul(be, st->gate, L->w_gate, st->h, NULL, T));
    TRY(vt->matmul(be, st->up, L->w_up, st->h, NULL, T));
    TRY(vt->silu_mul(be, st->gate, st->gate, st->up, (size_t)T * c->ffn_dim));
    TRY(vt->matmul(be, st->h, L->w_down, st->gate, NULL, T));
    TRY(vt->add(be, st->x, st->x, st->h, (size_t)T * c->dim));
    return VKLLM_OK;
}

static vkllm_status fwd_record(vkllm_model *m, fwd_state *st, bk_kv *kv, const bk_batch *batch,
                               const int32_t *out_rows, int n_out, int want_ids) {
    const model_config *c = &m->cfg;
    backend *be = m->be;
    const backend_vt *vt = be->vt;
    int T = batch->n_tokens;
    bk_rope rope = {c->rope_neox ? BK_ROPE_NEOX : BK_ROPE_NORM, c->head_dim, c->rope_theta,
                    m->rope_freq_factors};
    TRY(vt->embed(be, st->x, m->bk_tok_embd));
    for (int l = 0; l < c->n_layers; l++) TRY(fwd_layer(m, st, kv, l, T, &rope));
    TRY(vt->gather_rows(be, st->xo, st->x, out_rows, n_out, c->dim));
    TRY(vt->rmsnorm(be, st->xo, st->xo, m->bk_out_norm, n_out, c->dim, c->norm_eps));
    TRY(vt->matmul(be, st->logits, m->bk_output, st->xo, NULL, n_out));
    if (want_ids) TRY(vt->argmax(be, st->ids, st->logits, n_out, c->n_vocab));
    return VKLLM_OK;
}

vkllm_status forward_run(vkllm_model *m, fwd_state *st, bk_kv *kv, const bk_batch *batch,
                         const int32_t *out_rows, int n_out, float *logits, int32_t *argmax) {
    const model_config *c = &m->cfg;
    backend *be = m->be;
    if (batch->n_tokens < 1 || batch->n_tokens > st->max_tokens || n_out < 1 || n_out > st->max_out)
        return err_set(VKLLM_ERR_INVALID_ARG, "forward: batch of %d tokens / %d outputs exceeds %d/%d",
                       batch->n_tokens, n_out, st->max_tokens, st->max_out);
    for (int i = 0; i < batch->n_tokens; i++)
        if (batch->ids[i] < 0 || batch->ids[i] >= c->n_vocab)
            return err_set(VKLLM_ERR_INVALID_ARG, "token id %d out of range [0, %d)", batch->ids[i],
                           c->n_vocab);
    for (int i = 0; i < n_out; i++)
        if (out_rows[i] < 0 || out_rows[i] >= batch->n_tokens)
            return err_set(VKLLM_ERR_INTERNAL, "forward: output row %d out of range", out_rows[i]);
    TRY(be->vt->begin(be, batch));
    vkllm_status s = fwd_record(m, st, kv, batch, out_rows, n_out, argmax != NULL);
    vkllm_status e = be->vt->end(be);
    TRY(s);
    TRY(e);
    if (logits)
        TRY(be->vt->buf_read(be, st->logits, 0, logits, (size_t)n_out * c->n_vocab * sizeof(float)));
    if (argmax) TRY(be->vt->buf_read(be, st->ids, 0, argmax, (size_t)n_out * sizeof(int32_t)));
    return VKLLM_OK;
}
