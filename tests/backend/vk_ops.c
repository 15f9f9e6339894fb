/* vk_ops.c — every dense Vulkan op against the CPU backend (and, for matmul
 * and embed, against a double-precision reference on the dequantized
 * weights) on fresh random inputs: embed and matmul for every weight type,
 * with sizes that do not divide the workgroup, the matmul tile or the
 * row-pair per workgroup; rmsnorm, silu_mul, add (aliased), gather_rows,
 * argmax (with ties); outputs poisoned with NaN. Matmul runs with subgroup
 * reductions and with the shared-memory fallback. Tolerances sit next to
 * each check. */
#include "vk_harness.h"
#include "backend/vulkan/vk_shader_iface.h"

static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_1,
                                 DTYPE_Q5_0, DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
#define N_TYPES (sizeof types / sizeof types[0])

static int is_float(uint32_t t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16; }

/* Row length for a type: odd for float types, a few blocks (or more blocks than threads) otherwise. */
static int64_t pick_ne0(uint32_t t, int big) {
    if (is_float(t)) return big ? 2 * 64 * 32 + 37 : 67;
    int64_t bs = dtype_block_size(t);
    return bs * (big ? (bs == 32 ? 70 : 9) : (bs == 32 ? 7 : 3));
}

static void test_embed(backend *cpu, backend *vk, uint64_t *rng) {
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        uint32_t t = types[ti];
        int64_t ne0 = pick_ne0(t, 0), ne1 = 37;
        void *data;
        uint64_t nb;
        float *deq;
        vkh_weight_data(rng, t, ne0, ne1, &data, &nb, &deq);
        vkh_batch vb;
        vkh_batch_simple(&vb, 5, rng, (int)ne1);
        float *res[2];
        backend *bs[2] = {cpu, vk};
        for (int k = 0; k < 2; k++) {
            backend *b = bs[k];
            bk_weight *w = vkh_weight(b, "emb", t, ne0, ne1, data, nb);
            bk_buf *out = vkh_buf(b, (size_t)(5 * ne0) * 4, NULL);
            VKH_OK(b->vt->begin(b, &vb.b));
            VKH_OK(b->vt->embed(b, out, w));
            VKH_OK(b->vt->end(b));
            res[k] = vkh_read(b, out, (size_t)(5 * ne0) * 4);
            b->vt->buf_free(b, out);
            b->vt->weight_free(b, w);
        }
        float *ref = malloc((size_t)(5 * ne0) * 4);
        for (int i = 0; i < 5; i++) memcpy(ref + i * ne0, deq + vb.ids[i] * ne0, (size_t)ne0 * 4);
        size_t at;
        /* dequantization is d*q (+m) in f32 on both sides: equal up to one rounding (fma) */
        double e = vkh_worst(res[1], ref, (size_t)(5 * ne0), 1e-7, 1e-6, &at);
        CHECKF(e <= 1, "embed %s: element %zu: vk %g ref %g", dtype_name(t), at, res[1][at], ref[at]);
        e = vkh_worst(res[1], res[0], (size_t)(5 * ne0), 1e-7, 1e-6, &at);
        CHECKF(e <= 1, "embed %s vs cpu: element %zu: vk %g cpu %g", dtype_name(t), at, res[1][at], res[0][at]);
        free(ref);
        free(res[0]);
        free(res[1]);
        free(data);
        free(deq);
    }
}

static void matmul_case(backend *cpu, backend *vk, uint64_t *rng, uint32_t t, int big, int n_rows, int with_bias,
                        const char *label, int64_t ne0_force) {
    int64_t ne0 = ne0_force ? ne0_force : pick_ne0(t, big), ne1 = big ? (n_rows >= 16 ? 131 : 45) : 13;
    void *data;
    uint64_t nb;
    float *deq;
    vkh_weight_data(rng, t, ne0, ne1, &data, &nb, &deq);
    float *x = malloc((size_t)(n_rows * ne0) * 4), *bias = malloc((size_t)ne1 * 4);
    vkh_fill(rng, x, (size_t)(n_rows * ne0), -1, 1);
    vkh_fill(rng, bias, (size_t)ne1, -1, 1);
    vkh_batch vb;
    vkh_batch_simple(&vb, n_rows, rng, 1);
    size_t out_n = (size_t)(n_rows * ne1);
    float *res[2];
    backend *bs[2] = {cpu, vk};
    for (int k = 0; k < 2; k++) {
        backend *b = bs[k];
        bk_weight *w = vkh_weight(b, "w", t, ne0, ne1, data, nb);
        bk_weight *bw = with_bias ? vkh_weight(b, "bias", DTYPE_F32, ne1, 1, bias, (uint64_t)ne1 * 4) : NULL;
        bk_buf *xb = vkh_buf(b, (size_t)(n_rows * ne0) * 4, x);
        bk_buf *out = vkh_buf(b, out_n * 4, NULL);
        VKH_OK(b->vt->begin(b, &vb.b));
        VKH_OK(b->vt->matmul(b, out, w, xb, bw, n_rows));
        VKH_OK(b->vt->end(b));
        res[k] = vkh_read(b, out, out_n * 4);
        b->vt->buf_free(b, out);
        b->vt->buf_free(b, xb);
        b->vt->weight_free(b, bw);
        b->vt->weight_free(b, w);
    }
    /* reference in double on the dequantized weights; tolerance: 1e-5 of sum |w x|
     * (f32 accumulation in a different order), or 1e-3 where many tokens run
     * on cooperative matrices (weights and x rounded to f16: 2 x 2^-11 per product) */
    int cm = n_rows >= VK_GEMM_MIN_TOK && vk_backend_coopmat(vk);
    double rel = cm ? 1e-3 : 1e-5;
    for (int tt = 0; tt < n_rows; tt++)
        for (int64_t r = 0; r < ne1; r++) {
            double s = with_bias ? bias[r] : 0, mag = with_bias ? fabs(bias[r]) : 0;
            for (int64_t c = 0; c < ne0; c++) {
                s += (double)deq[r * ne0 + c] * x[tt * ne0 + c];
                mag += fabs((double)deq[r * ne0 + c] * x[tt * ne0 + c]);
            }
            float g = res[1][tt * ne1 + r];
            CHECKF(fabs(g - s) <= rel * mag + 1e-6, "matmul %s %s%s ne0 %lld n_rows %d: [%d][%lld] vk %g ref %g",
                   label, cm ? " (coopmat)" : "", dtype_name(t), (long long)ne0, n_rows, tt, (long long)r, g, s);
        }
    /* vs the CPU backend, which quantizes activations to 8 bits for quantized weights:
     * normalized MSE 1e-4 there, 1e-10 for float weights (f32 on both sides;
     * 1e-5 with f16 inputs on cooperative matrices) */
    double nm = vkh_nmse(res[1], res[0], out_n);
    CHECKF(nm <= (is_float(t) ? (cm ? 1e-5 : 1e-10) : 1e-4), "matmul %s %s vs cpu: nmse %g", label, dtype_name(t), nm);
    free(res[0]);
    free(res[1]);
    free(x);
    free(bias);
    free(data);
    free(deq);
}

static void test_matmul(backend *cpu, backend *vk, uint64_t *rng, const char *label) {
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        matmul_case(cpu, vk, rng, types[ti], 0, 1, 0, label, 0);
        matmul_case(cpu, vk, rng, types[ti], 1, 1, 1, label, 0);
        matmul_case(cpu, vk, rng, types[ti], 0, 3, 1, label, 0);
        matmul_case(cpu, vk, rng, types[ti], 1, 11, 0, label, 0); /* > the 8-token tile, odd */
        /* the tiled many-token path: a partial 64-token tile, and more than one */
        matmul_case(cpu, vk, rng, types[ti], 0, 16, 1, label, 0);
        matmul_case(cpu, vk, rng, types[ti], 1, 67, 1, label, 0);
        /* one token tile over two row tiles: split-K on cooperative matrices (NVIDIA) */
        matmul_case(cpu, vk, rng, types[ti], 1, 32, 1, label, 0);
        /* three 64-token tiles, the last partial (not split on cooperative matrices) */
        matmul_case(cpu, vk, rng, types[ti], 1, 133, 1, label, 0);
        if (is_float(types[ti])) {
            /* rows of a multiple of 16 bytes: the one-token path's 16-byte loads */
            matmul_case(cpu, vk, rng, types[ti], 0, 1, 1, label, 8);
            matmul_case(cpu, vk, rng, types[ti], 1, 1, 0, label, 2 * 64 * 32 + 8);
            matmul_case(cpu, vk, rng, types[ti], 1, 3, 0, label, 2 * 64 * 32 + 8);
            /* and the many-token tiles' 16-byte loads: split (one token tile), three tiles */
            matmul_case(cpu, vk, rng, types[ti], 1, 40, 1, label, 2 * 64 * 32 + 8);
            matmul_case(cpu, vk, rng, types[ti], 1, 133, 0, label, 2 * 64 * 32 + 8);
        }
    }
}

static void test_rmsnorm(backend *cpu, backend *vk, uint64_t *rng) {
    const uint32_t wt[] = {DTYPE_F32, DTYPE_F16, DTYPE_BF16};
    /* odd (scalar loads), multiple of 4 (16-byte loads), more than one
     * 2048-element chunk a workgroup with a partial second one */
    const int ns[] = {67, 300, 4100};
    for (int wi = 0; wi < 3; wi++)
        for (int ni = 0; ni < 3; ni++) {
            int n = ns[ni], n_rows = 3;
            void *data;
            uint64_t nb;
            float *deq;
            vkh_weight_data(rng, wt[wi], n, 1, &data, &nb, &deq);
            float *x = malloc((size_t)(n * n_rows) * 4);
            vkh_fill(rng, x, (size_t)(n * n_rows), -2, 2);
            vkh_batch vb;
            vkh_batch_simple(&vb, n_rows, rng, 1);
            float *res[2];
            backend *bs[2] = {cpu, vk};
            for (int k = 0; k < 2; k++) {
                backend *b = bs[k];
                bk_weight *w = vkh_weight(b, "norm", wt[wi], n, 1, data, nb);
                bk_buf *xb = vkh_buf(b, (size_t)(n * n_rows) * 4, x);
                bk_buf *out = vkh_buf(b, (size_t)(n * n_rows) * 4, NULL);
                VKH_OK(b->vt->begin(b, &vb.b));
                VKH_OK(b->vt->rmsnorm(b, out, xb, w, n_rows, n, 1e-5f));
                VKH_OK(b->vt->rmsnorm(b, xb, xb, w, n_rows, n, 1e-5f)); /* in place */
                VKH_OK(b->vt->end(b));
                res[k] = vkh_read(b, out, (size_t)(n * n_rows) * 4);
                float *inplace = vkh_read(b, xb, (size_t)(n * n_rows) * 4);
                size_t at;
                CHECKF(vkh_worst(inplace, res[k], (size_t)(n * n_rows), 0, 0, &at) <= 0 ||
                           memcmp(inplace, res[k], (size_t)(n * n_rows) * 4) == 0,
                       "rmsnorm in place differs at %zu", at);
                free(inplace);
                b->vt->buf_free(b, out);
                b->vt->buf_free(b, xb);
                b->vt->weight_free(b, w);
            }
            size_t at;
            /* sum of squares in a different order: 1e-5 relative, 1e-6 absolute */
            double e = vkh_worst(res[1], res[0], (size_t)(n * n_rows), 1e-6, 1e-5, &at);
            CHECKF(e <= 1, "rmsnorm %s n %d: %zu: vk %g cpu %g", dtype_name(wt[wi]), n, at, res[1][at], res[0][at]);
            free(res[0]);
            free(res[1]);
            free(x);
            free(data);
            free(deq);
        }
}

static void test_elementwise(backend *cpu, backend *vk, uint64_t *rng) {
    size_t n = 1037;
    float *a = malloc(n * 4), *g = malloc(n * 4);
    vkh_fill(rng, a, n, -4, 4);
    vkh_fill(rng, g, n, -8, 8);
    vkh_batch vb;
    vkh_batch_simple(&vb, 1, rng, 1);
    float *sm[2], *ad[2];
    backend *bs[2] = {cpu, vk};
    for (int k = 0; k < 2; k++) {
        backend *b = bs[k];
        bk_buf *ab = vkh_buf(b, n * 4, a), *gb = vkh_buf(b, n * 4, g), *out = vkh_buf(b, n * 4, NULL);
        VKH_OK(b->vt->begin(b, &vb.b));
        VKH_OK(b->vt->silu_mul(b, out, gb, ab, n));
        VKH_OK(b->vt->add(b, ab, ab, gb, n)); /* out aliases a */
        VKH_OK(b->vt->end(b));
        sm[k] = vkh_read(b, out, n * 4);
        ad[k] = vkh_read(b, ab, n * 4);
        b->vt->buf_free(b, ab);
        b->vt->buf_free(b, gb);
        b->vt->buf_free(b, out);
    }
    size_t at;
    /* silu: exp differs by a few ulp between GPU and libm: 1e-5 relative */
    double e = vkh_worst(sm[1], sm[0], n, 1e-7, 1e-5, &at);
    CHECKF(e <= 1, "silu_mul %zu: vk %g cpu %g", at, sm[1][at], sm[0][at]);
    /* add: exact */
    CHECKF(memcmp(ad[1], ad[0], n * 4) == 0, "add differs from cpu");
    for (int k = 0; k < 2; k++) {
        free(sm[k]);
        free(ad[k]);
    }
    free(a);
    free(g);
}

static void test_gather_argmax(backend *cpu, backend *vk, uint64_t *rng) {
    int n = 1000, n_rows = 7, n_out = 5;
    float *x = malloc((size_t)(n * n_rows) * 4);
    vkh_fill(rng, x, (size_t)(n * n_rows), -10, 10);
    /* a tie in row 2: the lowest index must win */
    x[2 * n + 17] = 11.0f;
    x[2 * n + 600] = 11.0f;
    int32_t rows[5];
    for (int i = 0; i < n_out; i++) rows[i] = (int32_t)(test_rng_u64(rng) % (uint64_t)n_rows);
    vkh_batch vb;
    vkh_batch_simple(&vb, 1, rng, 1);
    float *gat[2];
    int32_t *am[2];
    backend *bs[2] = {cpu, vk};
    for (int k = 0; k < 2; k++) {
        backend *b = bs[k];
        bk_buf *xb = vkh_buf(b, (size_t)(n * n_rows) * 4, x), *out = vkh_buf(b, (size_t)(n * n_out) * 4, NULL);
        bk_buf *ids = vkh_buf(b, (size_t)n_rows * 4, NULL);
        VKH_OK(b->vt->begin(b, &vb.b));
        VKH_OK(b->vt->gather_rows(b, out, xb, rows, n_out, n));
        VKH_OK(b->vt->argmax(b, ids, xb, n_rows, n));
        VKH_OK(b->vt->end(b));
        gat[k] = vkh_read(b, out, (size_t)(n * n_out) * 4);
        am[k] = (int32_t *)vkh_read(b, ids, (size_t)n_rows * 4);
        b->vt->buf_free(b, xb);
        b->vt->buf_free(b, out);
        b->vt->buf_free(b, ids);
    }
    /* exact */
    CHECK(memcmp(gat[1], gat[0], (size_t)(n * n_out) * 4) == 0);
    for (int i = 0; i < n_out; i++) CHECK(memcmp(gat[1] + i * n, x + rows[i] * n, (size_t)n * 4) == 0);
    for (int r = 0; r < n_rows; r++) CHECKF(am[1][r] == am[0][r], "argmax row %d: vk %d cpu %d", r, am[1][r], am[0][r]);
    CHECK(am[1][2] == 17);
    for (int k = 0; k < 2; k++) {
        free(gat[k]);
        free(am[k]);
    }
    free(x);
}

static void test_errors(backend *vk, uint64_t *rng) {
    bk_buf *buf = vkh_buf(vk, 64, NULL);
    float f[16] = {0};
    bk_weight *w = vkh_weight(vk, "t", DTYPE_F32, 4, 4, f, sizeof f);
    CHECK(vk->vt->add(vk, buf, buf, buf, 16) == VKLLM_ERR_INVALID_ARG); /* outside a pass */
    CHECK(strstr(vkllm_last_error(), "outside begin") != NULL);
    vkh_batch vb;
    vkh_batch_simple(&vb, 2, rng, 4);
    vb.ids[1] = 4; /* past the table */
    VKH_OK(vk->vt->begin(vk, &vb.b));
    CHECK(vk->vt->embed(vk, buf, w) == VKLLM_ERR_INVALID_ARG);
    CHECK(vk->vt->add(vk, buf, buf, buf, 17) == VKLLM_ERR_INVALID_ARG); /* 68 bytes > 64 */
    CHECK(vk->vt->begin(vk, &vb.b) == VKLLM_ERR_INVALID_ARG);
    float dst[4];
    CHECK(vk->vt->buf_read(vk, buf, 0, dst, sizeof dst) == VKLLM_ERR_INVALID_ARG);
    VKH_OK(vk->vt->end(vk));
    CHECK(vk->vt->buf_read(vk, buf, 60, dst, 8) == VKLLM_ERR_INVALID_ARG);
    wtensor bad = {.name = "bad", .type = DTYPE_Q4_0, .ne0 = 33, .ne1 = 1, .data = f, .nbytes = 18};
    bk_weight *bw = NULL;
    CHECK(vk->vt->weight_upload(vk, &bad, &bw) == VKLLM_ERR_INVALID_ARG && bw == NULL);
    vk->vt->weight_free(vk, w);
    vk->vt->buf_free(vk, buf);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    backend *vk = vkh_open(0, 0);
    if (!vk) return 0;
    backend *cpu = vkh_cpu();
    test_embed(cpu, vk, &rng);
    test_matmul(cpu, vk, &rng, "subgroup");
    test_rmsnorm(cpu, vk, &rng);
    test_elementwise(cpu, vk, &rng);
    test_gather_argmax(cpu, vk, &rng);
    test_errors(vk, &rng);
    vk->vt->destroy(vk);
    backend *vk2 = vkh_open(0, 1);
    test_matmul(cpu, vk2, &rng, "shared-memory");
    vk2->vt->destroy(vk2);
    cpu->vt->destroy(cpu);
    return test_finish();
}
