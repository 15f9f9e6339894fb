/* cpu_attention.c — KV-cache writes and causal attention over the paged
 * cache (layout in cpu_backend.h).
 *
 * Each (token, head) pair is one work item: scores against positions
 * 0..pos of the token's sequence, a max-subtracted softmax in f32, then the
 * weighted sum of V rows. Query head h reads KV head h / (n_heads / n_kv_heads). */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/dtype.h"
#include "core/err.h"
#include "quant/quant.h"

/* Block of position pos of slot seq, or -1 when the table lacks it. */
static int block_of(const bk_batch *bt, const bk_kv *kv, int seq, int pos) {
    int bi = pos / kv->d.block_size;
    if (bi >= bt->max_blocks || seq >= bt->n_slots) return -1;
    int blk = bt->block_table[(size_t)seq * (size_t)bt->max_blocks + (size_t)bi];
    return blk >= 0 && blk < kv->d.n_blocks ? blk : -1;
}

/* Byte offset of the row of (block, kv head, slot) within one layer. */
static size_t kv_off(const bk_kv *kv, int blk, int g, int slot) {
    const bk_kv_desc *d = &kv->d;
    return (((size_t)blk * (size_t)d->n_kv_heads + (size_t)g) * (size_t)d->block_size +
            (size_t)slot) * kv->row_bytes;
}

vkllm_status cpu_attention_kv_write(backend *b, bk_kv *kv, int layer, const bk_buf *k,
                                    const bk_buf *v) {
    cpu_backend *cb = (cpu_backend *)b;
    TRY(cpu_backend_check_pass(cb, "kv_write"));
    const bk_batch *bt = &cb->batch;
    const bk_kv_desc *d = &kv->d;
    if (layer < 0 || layer >= d->n_layers)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: kv_write: layer %d not in 0..%d", layer,
                       d->n_layers - 1);
    uint64_t row = (uint64_t)d->n_kv_heads * (uint64_t)d->head_dim;
    TRY(cpu_backend_check_buf(k, (uint64_t)bt->n_tokens * row, 4, "kv_write", "k"));
    TRY(cpu_backend_check_buf(v, (uint64_t)bt->n_tokens * row, 4, "kv_write", "v"));
    for (int t = 0; t < bt->n_tokens; t++)
        if (block_of(bt, kv, bt->seq[t], bt->pos[t]) < 0)
            return err_set(VKLLM_ERR_INVALID_ARG,
                           "cpu: kv_write: token %d (slot %d, position %d) has no valid block", t,
                           bt->seq[t], bt->pos[t]);
    size_t hd = (size_t)d->head_dim;
    char *kl = (char *)kv->k + (size_t)layer * kv->layer_bytes;
    char *vl = (char *)kv->v + (size_t)layer * kv->layer_bytes;
    for (int t = 0; t < bt->n_tokens; t++) {
        int blk = block_of(bt, kv, bt->seq[t], bt->pos[t]);
        int slot = bt->pos[t] % d->block_size;
        for (int g = 0; g < d->n_kv_heads; g++) {
            const float *ks = (const float *)k->data + (size_t)t * row + (size_t)g * hd;
            const float *vs = (const float *)v->data + (size_t)t * row + (size_t)g * hd;
            size_t off = kv_off(kv, blk, g, slot);
            if (d->type == DTYPE_F32) {
                memcpy(kl + off, ks, hd * 4);
                memcpy(vl + off, vs, hd * 4);
            } else if (d->type == DTYPE_Q8_0) { /* the reference (converter) rounding */
                quant_quantize_row(DTYPE_Q8_0, ks, kl + off, (int64_t)hd);
                quant_quantize_row(DTYPE_Q8_0, vs, vl + off, (int64_t)hd);
            } else {
                uint16_t *kd = (uint16_t *)(void *)(kl + off), *vd = (uint16_t *)(void *)(vl + off);
                for (size_t i = 0; i < hd; i++) {
                    kd[i] = dtype_f32_to_f16(ks[i]);
                    vd[i] = dtype_f32_to_f16(vs[i]);
                }
            }
        }
    }
    return VKLLM_OK;
}

typedef struct attn_job {
    const cpu_backend *cb;
    const bk_kv *kv;
    const char *kl, *vl; /* this layer's K and V */
    const float *q;
    float *out;
    float *scores; /* [n_threads][max_pos + 1] */
    size_t score_stride;
    int n_heads, group;
    float scale;
    cpu_vec vec;
} attn_job;

static void attn_items(void *ctx, int64_t i0, int64_t i1, int tid) {
    const attn_job *j = ctx;
    const bk_batch *bt = &j->cb->batch;
    const bk_kv_desc *d = &j->kv->d;
    int hd = d->head_dim, bs = d->block_size;
    float *s = j->scores + (size_t)tid * j->score_stride;
    for (int64_t it = i0; it < i1; it++) {
        int t = (int)(it / j->n_heads), h = (int)(it % j->n_heads), g = h / j->group;
        int seq = bt->seq[t], pos = bt->pos[t];
        const float *q = j->q + (size_t)it * (size_t)hd;
        float *o = j->out + (size_t)it * (size_t)hd;
        float mx = -INFINITY;
        for (int p = 0; p <= pos; p++) {
            size_t off = kv_off(j->kv, block_of(bt, j->kv, seq, p), g, p % bs);
            s[p] = j->scale * j->vec.dot(q, j->kl + off, hd);
            if (s[p] > mx) mx = s[p];
        }
        float sum = 0.0f;
        for (int p = 0; p <= pos; p++) {
            s[p] = expf(s[p] - mx);
            sum += s[p];
        }
        memset(o, 0, (size_t)hd * sizeof(float));
        float inv = 1.0f / sum;
        for (int p = 0; p <= pos; p++) {
            size_t off = kv_off(j->kv, block_of(bt, j->kv, seq, p), g, p % bs);
            j->vec.axpy(o, s[p] * inv, j->vl + off, hd);
        }
    }
}

vkllm_status cpu_attention(backend *b, bk_buf *out, const bk_buf *q, const bk_kv *kv, int layer,
                           int n_heads, float scale) {
    cpu_backend *cb = (cpu_backend *)b;
    TRY(cpu_backend_check_pass(cb, "attention"));
    const bk_batch *bt = &cb->batch;
    const bk_kv_desc *d = &kv->d;
    if (layer < 0 || layer >= d->n_layers)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: attention: layer %d not in 0..%d", layer,
                       d->n_layers - 1);
    if (n_heads <= 0 || n_heads % d->n_kv_heads != 0)
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "cpu: attention: %d heads is not a multiple of %d kv heads", n_heads,
                       d->n_kv_heads);
    uint64_t n = (uint64_t)bt->n_tokens * (uint64_t)n_heads * (uint64_t)d->head_dim;
    TRY(cpu_backend_check_buf(q, n, 4, "attention", "q"));
    TRY(cpu_backend_check_buf(out, n, 4, "attention", "output"));
    if (out == q) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: attention: output aliases q");
    /* every block that a token attends to must be in the table */
    int max_pos = 0;
    for (int t = 0; t < bt->n_tokens; t++) {
        int pos = bt->pos[t];
        for (int p = 0; p <= pos; p += d->block_size)
            if (block_of(bt, kv, bt->seq[t], p) < 0)
                return err_set(VKLLM_ERR_INVALID_ARG,
                               "cpu: attention: token %d (slot %d): position %d has no valid block",
                               t, bt->seq[t], p);
        if (pos > max_pos) max_pos = pos;
    }
    size_t stride = (size_t)max_pos + 1;
    float *scores;
    if (stride > SIZE_MAX / sizeof(float) / (size_t)cb->n_threads)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: attention: position %d too large", max_pos);
    TRY(cpu_backend_scratch(cb, stride * sizeof(float) * (size_t)cb->n_threads, (void **)&scores));
    attn_job j = {.cb = cb, .kv = kv,
                  .kl = (const char *)kv->k + (size_t)layer * kv->layer_bytes,
                  .vl = (const char *)kv->v + (size_t)layer * kv->layer_bytes,
                  .q = q->data, .out = out->data, .scores = scores, .score_stride = stride,
                  .n_heads = n_heads, .group = n_heads / d->n_kv_heads, .scale = scale,
                  .vec = cpu_kernels_vec(d->type, cb->simd)};
    cpu_pool_run(cb->pool, (int64_t)bt->n_tokens * n_heads, 1, attn_items, &j);
    return VKLLM_OK;
}
