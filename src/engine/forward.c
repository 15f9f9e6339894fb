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

/* host: the host reads it after every pass (the backend's buf_alloc_host where it has one) */
static vkllm_status fwd_alloc(backend *be, size_t n_floats, bk_buf **out, uint64_t *total, int host) {
    *total += n_floats * 4;
    if (host && be->vt->buf_alloc_host) return be->vt->buf_alloc_host(be, n_floats * 4, out);
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
    TRY(fwd_alloc(be, T * c->dim, &st->x, t, 0));
    TRY(fwd_alloc(be, T * hd, &st->h, t, 0));
    TRY(fwd_alloc(be, T * qd, &st->q, t, 0));
    TRY(fwd_alloc(be, T * kvd, &st->k, t, 0));
    TRY(fwd_alloc(be, T * kvd, &st->v, t, 0));
    TRY(fwd_alloc(be, T * qd, &st->att, t, 0));
    TRY(fwd_alloc(be, T * c->ffn_dim, &st->gate, t, 0));
    TRY(fwd_alloc(be, T * c->ffn_dim, &st->up, t, 0));
    TRY(fwd_alloc(be, O * c->dim, &st->xo, t, 0));
    TRY(fwd_alloc(be, O * c->n_vocab, &st->logits, t, 0));
    TRY(fwd_alloc(be, O, &st->ids, t, 1));
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

/* Tries the backend's fused matmul: *done = 1 when it recorded the op, 0 when
 * the backend has none or does not fuse this case (then nothing was recorded). */
static vkllm_status fwd_fused(backend *be, bk_buf *out, const bk_weight *w, const bk_buf *x, const bk_weight *bias,
                              int T, const bk_fuse *f, int *done) {
    *done = 0;
    if (!be->vt->matmul_fused) return VKLLM_OK;
    vkllm_status s = be->vt->matmul_fused(be, out, w, x, bias, T, f);
    if (s == VKLLM_ERR_UNSUPPORTED) return VKLLM_OK;
    *done = s == VKLLM_OK;
    return s;
}

/* out[i] = W[i] · rmsnorm(x) (+ bias[i]) for n <= 3 projections of x: the norm
 * fused into each matmul where the backend can, else one rmsnorm into st->h. */
static vkllm_status fwd_norm_proj(vkllm_model *m, fwd_state *st, const bk_weight *norm, int n, bk_buf *const *out,
                                  const bk_weight *const *w, const bk_weight *const *bias, int T) {
    backend *be = m->be;
    bk_fuse nf = {.norm = norm, .eps = m->cfg.norm_eps};
    int done[3], all = 1;
    for (int i = 0; i < n; i++) {
        TRY(fwd_fused(be, out[i], w[i], st->x, bias[i], T, &nf, &done[i]));
        all = all && done[i];
    }
    if (all) return VKLLM_OK;
    TRY(be->vt->rmsnorm(be, st->h, st->x, norm, T, m->cfg.dim, m->cfg.norm_eps));
    for (int i = 0; i < n; i++)
        if (!done[i]) TRY(be->vt->matmul(be, out[i], w[i], st->h, bias[i], T));
    return VKLLM_OK;
}

/* x += W · in, or with glu_up x += W · (silu(in) * glu_up) (in, n_in values,
 * overwritten then): fused where the backend can, else composed through st->h. */
static vkllm_status fwd_residual(vkllm_model *m, fwd_state *st, const bk_weight *w, bk_buf *in, const bk_buf *glu_up,
                                 size_t n_in, int T) {
    backend *be = m->be;
    bk_fuse f = {.glu_up = glu_up, .accumulate = 1};
    int d;
    TRY(fwd_fused(be, st->x, w, in, NULL, T, &f, &d));
    if (d) return VKLLM_OK;
    if (glu_up) TRY(be->vt->silu_mul(be, in, in, glu_up, n_in));
    TRY(be->vt->matmul(be, st->h, w, in, NULL, T));
    return be->vt->add(be, st->x, st->x, st->h, (size_t)T * m->cfg.dim);
}

/* x += attention(q over the cache) · Wo */
static vkllm_status fwd_attn_out(vkllm_model *m, fwd_state *st, bk_kv *kv, int l, int T) {
    backend *be = m->be;
    const model_config *c = &m->cfg;
    TRY(be->vt->attention(be, st->att, st->q, kv, l, c->n_heads, 1.0f / sqrtf((float)c->head_dim)));
    return fwd_residual(m, st, m->bk_layers[l].wo, st->att, NULL, 0, T);
}

/* norm, q/k/v (+bias), rope and the KV store in one backend op where it
 * fuses them (*done = 1; not with a q/k norm, which sits between the
 * projections and rope); else nothing was recorded. */
static vkllm_status fwd_qkv_fused(vkllm_model *m, fwd_state *st, bk_kv *kv, int l, const bk_rope *rope, int *done) {
    const model_config *c = &m->cfg;
    backend *be = m->be;
    const model_bk_layer *L = &m->bk_layers[l];
    *done = 0;
    if (c->has_qk_norm || !be->vt->qkv_rope_kv) return VKLLM_OK;
    const bk_weight *w[3] = {L->wq, L->wk, L->wv}, *bias[3] = {L->bq, L->bk, L->bv};
    bk_fuse nf = {.norm = L->attn_norm, .eps = c->norm_eps};
    vkllm_status s = be->vt->qkv_rope_kv(be, st->q, c->n_heads, kv, l, st->x, w, bias, &nf, rope);
    if (s == VKLLM_ERR_UNSUPPORTED) return VKLLM_OK;
    *done = s == VKLLM_OK;
    return s;
}

/* x += attention block: norm, q/k/v (+bias), [q/k norm], rope, KV store,
 * attention, output projection. */
static vkllm_status fwd_attn(vkllm_model *m, fwd_state *st, bk_kv *kv, int l, int T, const bk_rope *rope) {
    const model_config *c = &m->cfg;
    backend *be = m->be;
    const backend_vt *vt = be->vt;
    const model_bk_layer *L = &m->bk_layers[l];
    int fused;
    TRY(fwd_qkv_fused(m, st, kv, l, rope, &fused));
    if (fused) return fwd_attn_out(m, st, kv, l, T);
    bk_buf *out[3] = {st->q, st->k, st->v};
    const bk_weight *w[3] = {L->wq, L->wk, L->wv}, *bias[3] = {L->bq, L->bk, L->bv};
    TRY(fwd_norm_proj(m, st, L->attn_norm, 3, out, w, bias, T));
    if (c->has_qk_norm) {
        TRY(vt->rmsnorm(be, st->q, st->q, L->q_norm, T * c->n_heads, c->head_dim, c->norm_eps));
        TRY(vt->rmsnorm(be, st->k, st->k, L->k_norm, T * c->n_kv_heads, c->head_dim, c->norm_eps));
    }
    vkllm_status s = vt->rope_kv_write ? vt->rope_kv_write(be, st->q, c->n_heads, kv, l, st->k, st->v, rope)
                                       : VKLLM_ERR_UNSUPPORTED;
    if (s == VKLLM_ERR_UNSUPPORTED) {
        TRY(vt->rope(be, st->q, c->n_heads, rope));
        TRY(vt->rope(be, st->k, c->n_kv_heads, rope));
        TRY(vt->kv_write(be, kv, l, st->k, st->v));
    } else {
        TRY(s);
    }
    return fwd_attn_out(m, st, kv, l, T);
}

/* x += FFN block: norm, gate and up, silu(gate) * up, down projection. */
static vkllm_status fwd_ffn(vkllm_model *m, fwd_state *st, int l, int T) {
    const model_bk_layer *L = &m->bk_layers[l];
    bk_buf *out[2] = {st->gate, st->up};
    const bk_weight *w[2] = {L->w_gate, L->w_up}, *bias[2] = {NULL, NULL};
    TRY(fwd_norm_proj(m, st, L->ffn_norm, 2, out, w, bias, T));
    return fwd_residual(m, st, L->w_down, st->gate, st->up, (size_t)T * m->cfg.ffn_dim, T);
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
    for (int l = 0; l < c->n_layers; l++) {
        TRY(fwd_attn(m, st, kv, l, T, &rope));
        TRY(fwd_ffn(m, st, l, T));
    }
    /* the output rows are all of x (decode): norm fused into the output matmul */
    int identity = n_out == T, d = 0;
    for (int i = 0; i < n_out && identity; i++) identity = out_rows[i] == i;
    if (identity) {
        bk_fuse nf = {.norm = m->bk_out_norm, .eps = c->norm_eps};
        TRY(fwd_fused(be, st->logits, m->bk_output, st->x, NULL, n_out, &nf, &d));
    }
    if (!d) {
        TRY(vt->gather_rows(be, st->xo, st->x, out_rows, n_out, c->dim));
        TRY(vt->rmsnorm(be, st->xo, st->xo, m->bk_out_norm, n_out, c->dim, c->norm_eps));
        TRY(vt->matmul(be, st->logits, m->bk_output, st->xo, NULL, n_out));
    }
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
