/* vk_fused.c — the Vulkan backend's fused small-batch matmul (matmul_fused:
 * rmsnorm input, silu-gated input, accumulate into the output) for every
 * weight type, against the CPU backend composing the plain ops (rmsnorm,
 * silu_mul, matmul, add) and against a double-precision reference on the
 * dequantized weights, for 1, 3, 8 and 13 tokens (one or two token tiles of
 * the matvec kernel). Rows longer than 4096 elements, row
 * counts that do not divide the rows per workgroup, odd float rows (the
 * unit path) and 16-byte rows (the wide path), row sharding (1 MiB
 * bindings), the shared-memory reduction and a non-default workgroup shape.
 * Outputs that are overwritten start as NaN; accumulated ones as random
 * values. Tolerances next to each check. */
#include "vk_harness.h"

static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_1,
                                 DTYPE_Q5_0, DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
#define N_TYPES (sizeof types / sizeof types[0])

enum { F_NORM = 1, F_GLU = 2, F_ACC = 4, F_BIAS = 8 };

static int is_float(uint32_t t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16; }

/* Row lengths: a few blocks, or more than the 4096-element staged chunk;
 * float rows odd (unit path) or a multiple of 8 (16-byte path). */
static int64_t pick_ne0(uint32_t t, int big, int wide) {
    if (is_float(t)) return big ? (wide ? 4096 + 8 : 4096 + 37) : (wide ? 64 : 67);
    int64_t bs = dtype_block_size(t);
    return big ? (4096 / bs + (bs == 32 ? 5 : 1)) * bs : bs * (bs == 32 ? 7 : 3);
}

static double silu(double g) { return g / (1.0 + exp(-g)); }

/* Vulkan vs the CPU composition and the double reference, for one case. */
static void fused_case(backend *cpu, backend *vk, uint64_t *rng, uint32_t t, int64_t ne0, int64_t ne1, int flags,
                       int T, const char *label) {
    void *data;
    uint64_t nb;
    float *deq;
    vkh_weight_data(rng, t, ne0, ne1, &data, &nb, &deq);
    size_t nx = (size_t)(T * ne0), no = (size_t)(T * ne1);
    float *x = malloc(nx * 4), *up = malloc(nx * 4), *nw = malloc((size_t)ne0 * 4);
    float *bias = malloc((size_t)ne1 * 4), *o0 = malloc(no * 4);
    vkh_fill(rng, x, nx, -2, 2);
    vkh_fill(rng, up, nx, -1, 1);
    vkh_fill(rng, nw, (size_t)ne0, 0.5f, 1.5f);
    vkh_fill(rng, bias, (size_t)ne1, -1, 1);
    vkh_fill(rng, o0, no, -1, 1);
    const float eps = 1e-5f;
    vkh_batch vb;
    vkh_batch_simple(&vb, T, rng, 1);
    float *res[2];
    backend *bs[2] = {cpu, vk};
    for (int k = 0; k < 2; k++) {
        backend *b = bs[k];
        bk_weight *w = vkh_weight(b, "w", t, ne0, ne1, data, nb);
        bk_weight *bw = flags & F_BIAS ? vkh_weight(b, "bias", DTYPE_F32, ne1, 1, bias, (uint64_t)ne1 * 4) : NULL;
        bk_weight *nwt = vkh_weight(b, "norm", DTYPE_F32, ne0, 1, nw, (uint64_t)ne0 * 4);
        bk_buf *xb = vkh_buf(b, nx * 4, x), *ub = vkh_buf(b, nx * 4, up);
        bk_buf *out = vkh_buf(b, no * 4, flags & F_ACC ? o0 : NULL);
        bk_buf *h = vkh_buf(b, nx * 4, NULL), *tmp = vkh_buf(b, no * 4, NULL);
        VKH_OK(b->vt->begin(b, &vb.b));
        if (k == 1) {
            bk_fuse f = {.norm = flags & F_NORM ? nwt : NULL, .eps = eps, .glu_up = flags & F_GLU ? ub : NULL,
                         .accumulate = !!(flags & F_ACC)};
            VKH_OK(b->vt->matmul_fused(b, out, w, xb, bw, T, &f));
        } else {
            const bk_buf *in = xb;
            if (flags & F_NORM) {
                VKH_OK(b->vt->rmsnorm(b, h, xb, nwt, T, (int)ne0, eps));
                in = h;
            }
            if (flags & F_GLU) {
                VKH_OK(b->vt->silu_mul(b, h, xb, ub, nx));
                in = h;
            }
            VKH_OK(b->vt->matmul(b, flags & F_ACC ? tmp : out, w, in, bw, T));
            if (flags & F_ACC) VKH_OK(b->vt->add(b, out, out, tmp, no));
        }
        VKH_OK(b->vt->end(b));
        res[k] = vkh_read(b, out, no * 4);
        bk_buf *bufs[] = {xb, ub, out, h, tmp};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) b->vt->buf_free(b, bufs[i]);
        b->vt->weight_free(b, nwt);
        b->vt->weight_free(b, bw);
        b->vt->weight_free(b, w);
    }
    /* the input in double, token by token */
    double *xin = malloc((size_t)ne0 * sizeof *xin);
    for (int tt = 0; tt < T; tt++) {
        const float *xt = x + (size_t)tt * ne0, *ut = up + (size_t)tt * ne0;
        double ss = 0;
        for (int64_t c = 0; c < ne0; c++) ss += (double)xt[c] * xt[c];
        double sc = 1.0 / sqrt(ss / (double)ne0 + eps);
        for (int64_t c = 0; c < ne0; c++) {
            xin[c] = xt[c];
            if (flags & F_NORM) xin[c] = xt[c] * sc * nw[c];
            if (flags & F_GLU) xin[c] = silu(xt[c]) * ut[c];
        }
        /* tolerance: 1e-5 of sum |w x'| (f32 sums in another order; the normalized or
         * gated input rounded to f32) plus the magnitude of what is added */
        for (int64_t r = 0; r < ne1; r++) {
            double s = 0, mag = 0;
            for (int64_t c = 0; c < ne0; c++) {
                s += (double)deq[r * ne0 + c] * xin[c];
                mag += fabs((double)deq[r * ne0 + c] * xin[c]);
            }
            size_t oi = (size_t)tt * (size_t)ne1 + (size_t)r;
            if (flags & F_BIAS) s += bias[r], mag += fabs(bias[r]);
            if (flags & F_ACC) s += o0[oi], mag += fabs(o0[oi]);
            float g = res[1][oi];
            CHECKF(fabs(g - s) <= 1e-5 * mag + 1e-6,
                   "matmul_fused %s %s flags %d ne0 %lld ne1 %lld: token %d of %d row %lld: vk %g ref %g", label,
                   dtype_name(t), flags, (long long)ne0, (long long)ne1, tt, T, (long long)r, g, s);
        }
    }
    /* vs the CPU composition: normalized MSE 1e-10 (f32 on both sides) */
    double nm = vkh_nmse(res[1], res[0], no);
    CHECKF(nm <= 1e-10, "matmul_fused %s %s flags %d vs cpu: nmse %g", label, dtype_name(t), flags, nm);
    free(xin);
    free(res[0]);
    free(res[1]);
    free(x);
    free(up);
    free(nw);
    free(bias);
    free(o0);
    free(data);
    free(deq);
}

static void test_fused(backend *cpu, backend *vk, uint64_t *rng, const char *label) {
    static const int modes[] = {F_NORM | F_BIAS, F_GLU | F_ACC, F_ACC, F_NORM | F_ACC, F_BIAS};
    for (size_t ti = 0; ti < N_TYPES; ti++)
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
            uint32_t t = types[ti];
            int big = mi % 2, wide = is_float(t) && mi >= 2;
            static const int toks[] = {1, 3, 8, 13};
            fused_case(cpu, vk, rng, t, pick_ne0(t, big, wide), big ? 21 : 13, modes[mi], toks[(ti + mi) % 4], label);
        }
}

static void test_errors(backend *vk, uint64_t *rng) {
    void *data;
    uint64_t nb;
    float *deq;
    vkh_weight_data(rng, DTYPE_F32, 64, 8, &data, &nb, &deq);
    bk_weight *w = vkh_weight(vk, "w", DTYPE_F32, 64, 8, data, nb);
    bk_weight *nw = vkh_weight(vk, "norm", DTYPE_F32, 32, 1, data, 128); /* 32 values for rows of 64 */
    bk_buf *x = vkh_buf(vk, 16 * 64 * 4, NULL), *out = vkh_buf(vk, 16 * 64 * 4, NULL);
    vkh_batch vb;
    vkh_batch_simple(&vb, 16, rng, 1);
    VKH_OK(vk->vt->begin(vk, &vb.b));
    bk_fuse acc = {.accumulate = 1}, both = {.norm = w, .glu_up = x}, bad_norm = {.norm = nw, .eps = 1e-5f};
    CHECK(vk->vt->matmul_fused(vk, out, w, x, NULL, 16, &acc) == VKLLM_ERR_UNSUPPORTED); /* the tiled path's size */
    CHECK(vk->vt->matmul_fused(vk, out, w, x, NULL, 1, &both) == VKLLM_ERR_INVALID_ARG);
    CHECK(vk->vt->matmul_fused(vk, x, w, x, NULL, 1, &acc) == VKLLM_ERR_INVALID_ARG); /* out aliases x */
    CHECK(vk->vt->matmul_fused(vk, out, w, x, NULL, 1, &bad_norm) == VKLLM_ERR_INVALID_ARG);
    VKH_OK(vk->vt->end(vk));
    vk->vt->buf_free(vk, x);
    vk->vt->buf_free(vk, out);
    vk->vt->weight_free(vk, nw);
    vk->vt->weight_free(vk, w);
    free(data);
    free(deq);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    backend *vk = vkh_open(0, 0);
    if (!vk) return 0;
    backend *cpu = vkh_cpu();
    test_fused(cpu, vk, &rng, "subgroup");
    test_errors(vk, &rng);
    vk->vt->destroy(vk);

    backend *vk2 = vkh_open(0, 1);
    test_fused(cpu, vk2, &rng, "shared-memory");
    vk2->vt->destroy(vk2);

    /* row sharding: 1 MiB bindings split these weights into several shards */
    backend *vk3 = vkh_open(1, 0);
    fused_case(cpu, vk3, &rng, DTYPE_F32, 4096 + 8, 100, F_NORM | F_BIAS, 1, "sharded");
    fused_case(cpu, vk3, &rng, DTYPE_Q4_0, 4096 + 160, 1000, F_GLU | F_ACC, 5, "sharded");
    vk3->vt->destroy(vk3);

    /* another workgroup shape through the tuning variable: 32 threads, 3 rows */
    setenv("VKLLM_VK_MATVEC", "32,3", 1);
    backend *vk4 = vkh_open(0, 0);
    for (size_t ti = 0; ti < N_TYPES; ti++)
        fused_case(cpu, vk4, &rng, types[ti], pick_ne0(types[ti], 1, 0), 17, F_NORM | F_ACC, 1 + (int)ti % 9,
                   "wg32x3");
    vk4->vt->destroy(vk4);
    unsetenv("VKLLM_VK_MATVEC");

    /* the experimental matvec_sx without x' staging (one token, quantized,
     * plain or norm input; the GLU input keeps the staged path) */
    setenv("VKLLM_VK_MVX_DIRECT", "1", 1);
    backend *vk5 = vkh_open(0, 0);
    static const int dmodes[] = {F_NORM | F_BIAS, F_ACC, F_NORM | F_ACC, F_GLU | F_ACC};
    static const uint32_t dtypes[] = {DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q6_K}; /* (compile time on lavapipe) */
    for (size_t ti = 0; ti < sizeof dtypes / sizeof dtypes[0]; ti++)
        for (size_t mi = 0; mi < sizeof dmodes / sizeof dmodes[0]; mi++)
            fused_case(cpu, vk5, &rng, dtypes[ti], pick_ne0(dtypes[ti], (int)mi % 2, 0), 29, dmodes[mi], 1, "direct");
    vk5->vt->destroy(vk5);
    unsetenv("VKLLM_VK_MVX_DIRECT");

    cpu->vt->destroy(cpu);
    return test_finish();
}
