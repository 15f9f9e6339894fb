/* cpu_ops.c — the element-wise and row ops of the CPU backend: embedding
 * lookup, RMS norm, rotary embedding, SiLU gate, add, row gather, argmax.
 * Numerics follow the HF reference implementations in f32 (see each op). */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/dtype.h"
#include "core/err.h"

static cpu_backend *cb_of(backend *b) { return (cpu_backend *)b; }

/* Rows per chunk so a chunk holds ~16k values (small ops run inline). */
static int64_t row_chunk(int64_t n) {
    int64_t c = 16384 / (n > 0 ? n : 1);
    return c > 0 ? c : 1;
}

vkllm_status cpu_ops_embed(backend *b, bk_buf *out, const bk_weight *table) {
    cpu_backend *cb = cb_of(b);
    TRY(cpu_backend_check_pass(cb, "embed"));
    const bk_batch *bt = &cb->batch;
    TRY(cpu_backend_check_buf(out, (uint64_t)bt->n_tokens * (uint64_t)table->ne0, 4, "embed",
                              "output"));
    for (int t = 0; t < bt->n_tokens; t++) {
        int32_t id = bt->ids[t];
        if (id < 0 || id >= table->ne1)
            return err_set(VKLLM_ERR_INVALID_ARG, "cpu: embed: token %d: id %d not in 0..%lld", t,
                           id, (long long)table->ne1 - 1);
        float *o = (float *)out->data + (size_t)t * (size_t)table->ne0;
        const void *row = (const char *)table->data + (size_t)id * table->row_bytes;
        if (cpu_kernels_dequantize(table->type, row, o, table->ne0) != 0)
            return err_set(VKLLM_ERR_UNSUPPORTED, "cpu: embed: table type %s",
                           dtype_name(table->type));
    }
    return VKLLM_OK;
}

/* ---- rmsnorm: out = x * (1 / sqrt(mean(x^2) + eps)) * w. The sum of
 * squares is taken in double (at least as exact as HF's f32 reduction). */

typedef struct norm_job {
    float *out;
    const float *x, *w;
    int64_t n;
    float eps;
} norm_job;

static void norm_rows(void *ctx, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const norm_job *j = ctx;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * j->n;
        float *o = j->out + r * j->n;
        double ss = 0.0;
        for (int64_t i = 0; i < j->n; i++) ss += (double)x[i] * (double)x[i];
        float scale = (float)(1.0 / sqrt(ss / (double)j->n + (double)j->eps));
        for (int64_t i = 0; i < j->n; i++) o[i] = (x[i] * scale) * j->w[i];
    }
}

vkllm_status cpu_ops_rmsnorm(backend *b, bk_buf *out, const bk_buf *x, const bk_weight *w,
                             int n_rows, int n, float eps) {
    cpu_backend *cb = cb_of(b);
    TRY(cpu_backend_check_pass(cb, "rmsnorm"));
    if (n_rows <= 0 || n <= 0 || !w || w->ne0 * w->ne1 != n)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: rmsnorm: %d rows of %d with a weight of %lld",
                       n_rows, n, w ? (long long)(w->ne0 * w->ne1) : 0LL);
    TRY(cpu_backend_check_buf(x, (uint64_t)n_rows * (uint64_t)n, 4, "rmsnorm", "input"));
    TRY(cpu_backend_check_buf(out, (uint64_t)n_rows * (uint64_t)n, 4, "rmsnorm", "output"));
    norm_job j = {.out = out->data, .x = x->data, .n = n, .eps = eps};
    if (w->type == DTYPE_F32) {
        j.w = w->data;
    } else {
        float *wf;
        TRY(cpu_backend_scratch(cb, (size_t)n * sizeof(float), (void **)&wf));
        for (int64_t r = 0; r < w->ne1; r++)
            if (cpu_kernels_dequantize(w->type, (const char *)w->data + (size_t)r * w->row_bytes,
                                       wf + r * w->ne0, w->ne0) != 0)
                return err_set(VKLLM_ERR_UNSUPPORTED, "cpu: rmsnorm: weight type %s",
                               dtype_name(w->type));
        j.w = wf;
    }
    cpu_pool_run(cb->pool, n_rows, row_chunk(n), norm_rows, &j);
    return VKLLM_OK;
}

/* ---- rope. As HF computes it: inv_freq[i] = 1 / theta^(2i/d) in f32
 * (divided by freq_factors[i] when given), angle = f32(pos) * inv_freq[i] in
 * f32, then f32 cos/sin. NORM rotates (x[2i], x[2i+1]); NEOX (x[i], x[i+d/2]). */

typedef struct rope_job {
    float *x;
    const int32_t *pos;
    const float *inv_freq; /* [d/2] */
    int n_heads, d;
    bk_rope_mode mode;
} rope_job;

static void rope_tokens(void *ctx, int64_t t0, int64_t t1, int tid) {
    (void)tid;
    const rope_job *j = ctx;
    int half = j->d / 2;
    for (int64_t t = t0; t < t1; t++) {
        float p = (float)j->pos[t];
        float *xt = j->x + t * (int64_t)j->n_heads * j->d;
        for (int i = 0; i < half; i++) {
            float ang = p * j->inv_freq[i];
            float c = cosf(ang), s = sinf(ang);
            int i0 = j->mode == BK_ROPE_NEOX ? i : 2 * i;
            int i1 = j->mode == BK_ROPE_NEOX ? i + half : 2 * i + 1;
            for (int h = 0; h < j->n_heads; h++) {
                float *xh = xt + (int64_t)h * j->d;
                float a = xh[i0], bb = xh[i1];
                xh[i0] = a * c - bb * s;
                xh[i1] = a * s + bb * c;
            }
        }
    }
}

vkllm_status cpu_ops_rope(backend *b, bk_buf *x, int n_heads, const bk_rope *r) {
    cpu_backend *cb = cb_of(b);
    TRY(cpu_backend_check_pass(cb, "rope"));
    if (!r || n_heads <= 0 || r->n_dims <= 0 || r->n_dims % 2 || r->n_dims > 65536 ||
        (r->mode != BK_ROPE_NORM && r->mode != BK_ROPE_NEOX) || !(r->theta > 0.0f))
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: rope: bad parameters (%d heads, %d dims)",
                       n_heads, r ? r->n_dims : 0);
    int n_tok = cb->batch.n_tokens;
    TRY(cpu_backend_check_buf(x, (uint64_t)n_tok * (uint64_t)n_heads * (uint64_t)r->n_dims, 4,
                              "rope", "input"));
    int half = r->n_dims / 2;
    float *inv;
    TRY(cpu_backend_scratch(cb, (size_t)half * sizeof(float), (void **)&inv));
    for (int i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)r->n_dims;
        inv[i] = 1.0f / powf(r->theta, e);
        if (r->freq_factors) inv[i] = inv[i] / r->freq_factors[i];
    }
    rope_job j = {.x = x->data, .pos = cb->batch.pos, .inv_freq = inv, .n_heads = n_heads,
                  .d = r->n_dims, .mode = r->mode};
    cpu_pool_run(cb->pool, n_tok, 1, rope_tokens, &j);
    return VKLLM_OK;
}

/* ---- element-wise ---- */

typedef struct ew_job {
    float *out;
    const float *a, *b;
} ew_job;

static void silu_range(void *ctx, int64_t i0, int64_t i1, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    for (int64_t i = i0; i < i1; i++) {
        float g = j->a[i];
        j->out[i] = g / (1.0f + expf(-g)) * j->b[i];
    }
}

static void add_range(void *ctx, int64_t i0, int64_t i1, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    for (int64_t i = i0; i < i1; i++) j->out[i] = j->a[i] + j->b[i];
}

static vkllm_status ew_check(cpu_backend *cb, const char *op, const bk_buf *out, const bk_buf *a,
                             const bk_buf *bb, size_t n) {
    TRY(cpu_backend_check_pass(cb, op));
    if (n == 0 || n > (size_t)INT64_MAX / 4)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: %s: bad count %zu", op, n);
    TRY(cpu_backend_check_buf(out, n, 4, op, "output"));
    TRY(cpu_backend_check_buf(a, n, 4, op, "first input"));
    TRY(cpu_backend_check_buf(bb, n, 4, op, "second input"));
    return VKLLM_OK;
}

vkllm_status cpu_ops_silu_mul(backend *b, bk_buf *out, const bk_buf *gate, const bk_buf *up,
                              size_t n) {
    cpu_backend *cb = cb_of(b);
    TRY(ew_check(cb, "silu_mul", out, gate, up, n));
    ew_job j = {out->data, gate->data, up->data};
    cpu_pool_run(cb->pool, (int64_t)n, 8192, silu_range, &j);
    return VKLLM_OK;
}

vkllm_status cpu_ops_add(backend *b, bk_buf *out, const bk_buf *a, const bk_buf *bb, size_t n) {
    cpu_backend *cb = cb_of(b);
    TRY(ew_check(cb, "add", out, a, bb, n));
    ew_job j = {out->data, a->data, bb->data};
    cpu_pool_run(cb->pool, (int64_t)n, 32768, add_range, &j);
    return VKLLM_OK;
}

vkllm_status cpu_ops_gather_rows(backend *b, bk_buf *out, const bk_buf *x, const int32_t *rows,
                                 int n_rows, int n) {
    cpu_backend *cb = cb_of(b);
    TRY(cpu_backend_check_pass(cb, "gather_rows"));
    if (n_rows <= 0 || n <= 0 || !rows || out == x)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: gather_rows: %d rows of %d%s", n_rows, n,
                       out == x ? " in place" : "");
    TRY(cpu_backend_check_buf(out, (uint64_t)n_rows * (uint64_t)n, 4, "gather_rows", "output"));
    TRY(cpu_backend_check_buf(x, (uint64_t)n, 4, "gather_rows", "input"));
    size_t row_bytes = (size_t)n * 4;
    size_t x_rows = x->bytes / row_bytes;
    for (int i = 0; i < n_rows; i++) {
        if (rows[i] < 0 || (size_t)rows[i] >= x_rows)
            return err_set(VKLLM_ERR_INVALID_ARG, "cpu: gather_rows: row %d: index %d not in 0..%zu",
                           i, rows[i], x_rows - 1);
        memcpy((char *)out->data + (size_t)i * row_bytes,
               (const char *)x->data + (size_t)rows[i] * row_bytes, row_bytes);
    }
    return VKLLM_OK;
}

/* Ties go to the lowest index; NaN never wins (all-NaN rows give 0). */
vkllm_status cpu_ops_argmax(backend *b, bk_buf *out_ids, const bk_buf *x, int n_rows, int n) {
    cpu_backend *cb = cb_of(b);
    TRY(cpu_backend_check_pass(cb, "argmax"));
    if (n_rows <= 0 || n <= 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: argmax: %d rows of %d", n_rows, n);
    TRY(cpu_backend_check_buf(x, (uint64_t)n_rows * (uint64_t)n, 4, "argmax", "input"));
    TRY(cpu_backend_check_buf(out_ids, (uint64_t)n_rows, 4, "argmax", "output"));
    int32_t *ids = out_ids->data;
    for (int r = 0; r < n_rows; r++) {
        const float *xr = (const float *)x->data + (size_t)r * (size_t)n;
        int best = 0;
        float bv = xr[0];
        for (int i = 1; i < n; i++)
            if (xr[i] > bv || (bv != bv && xr[i] == xr[i])) {
                bv = xr[i];
                best = i;
            }
        ids[r] = best;
    }
    return VKLLM_OK;
}
