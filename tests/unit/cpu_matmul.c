/* cpu_matmul.c — the CPU matmul for every weight type against a double
 * precision reference built on quant_dequantize_row (src/quant, written
 * independently of the CPU kernels), on random weights and activations, odd
 * shapes, 1..4 threads, portable, AVX2 and AVX-512 kernels (those this CPU
 * runs), with and without bias.
 *
 * Tolerances (S = sum |w_i x_i| over the dequantized weights w):
 *  - F32/F16/BF16 weights: |y - ref| <= (K/8 + 16) * 2^-24 * S: a summation
 *    of K terms in <= 8-way partial sums has at most K/8 + log2(8) + 1
 *    roundings on each path, each <= 2^-24 relative.
 *  - Quantized weights (f32 activations, each block dequantized inside the
 *    dot): only f32 rounding of the dequantized-weight dot, |y - ref| <=
 *    (K/32 + 16) * 2^-24 * S (~5e-6 S at K = 2048). Each product passes at
 *    most 4 roundings inside its 32-value sub-block (products, the scale),
 *    one per later sub-block on its accumulator (two accumulators: K/64),
 *    and <= 5 in the final reduction; the expanded d * q + m weights round
 *    exactly like quant_dequantize_row (d * q is exact in f32), and Q6_K's
 *    scale-after-sum differs from its rounded weights by <= 2^-24 |w|.
 *    An 8-bit activation would be off by ~amax/254 per value: far outside.
 *  - A batch of tokens must give bit-identical rows to one-token calls. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/dtype.h"
#include "quant/quant.h"
#include "testutil.h"

static uint64_t rng;

static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0,
                                 DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0, DTYPE_Q5_1,
                                 DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};

static uint16_t rand_f16(float lo, float hi) { return dtype_f32_to_f16(test_rng_f32(&rng, lo, hi)); }

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Random weight bytes: every bit pattern of the codes, sane f16 scales. */
static uint8_t *rand_weight(uint32_t t, int64_t k, int64_t n, size_t *bytes) {
    size_t rb = (size_t)dtype_row_bytes(t, (uint64_t)k), bs = dtype_type_size(t);
    *bytes = rb * (size_t)n;
    uint8_t *w = malloc(*bytes);
    for (size_t i = 0; i < *bytes; i++) w[i] = (uint8_t)test_rng_u64(&rng);
    if (t == DTYPE_F32) {
        float *f = (float *)w;
        for (size_t i = 0; i < *bytes / 4; i++) f[i] = test_rng_f32(&rng, -1, 1);
        return w;
    }
    if (t == DTYPE_F16 || t == DTYPE_BF16) {
        uint16_t *h = (uint16_t *)w;
        for (size_t i = 0; i < *bytes / 2; i++) {
            float v = test_rng_f32(&rng, -1, 1);
            h[i] = t == DTYPE_F16 ? dtype_f32_to_f16(v) : dtype_f32_to_bf16(v);
        }
        return w;
    }
    for (size_t off = 0; off < *bytes; off += bs) {
        uint8_t *b = w + off;
        switch (t) {
        case DTYPE_Q4_1: case DTYPE_Q5_1:
            put16(b, rand_f16(-0.1f, 0.1f));
            put16(b + 2, rand_f16(-0.5f, 0.5f));
            break;
        case DTYPE_Q4_K: case DTYPE_Q5_K:
            put16(b, rand_f16(0.0f, 0.02f));
            put16(b + 2, rand_f16(0.0f, 0.02f));
            break;
        case DTYPE_Q6_K: put16(b + 208, rand_f16(-0.01f, 0.01f)); break;
        default: put16(b, rand_f16(-0.1f, 0.1f)); break;
        }
    }
    return w;
}

typedef struct fix {
    backend *be;
    bk_buf *x, *y;
} fix;

static int is_quant(uint32_t t) { return t != DTYPE_F32 && t != DTYPE_F16 && t != DTYPE_BF16; }

static vkllm_status run_matmul(backend *be, bk_weight *w, bk_weight *bias, const float *x,
                               int64_t k, int64_t n, int n_tok, float *y) {
    int32_t zeros[64] = {0};
    bk_batch batch = {.n_tokens = n_tok, .ids = zeros, .pos = zeros, .seq = zeros};
    bk_buf *xb = NULL, *yb = NULL;
    size_t xbytes = (size_t)n_tok * (size_t)k * 4, ybytes = (size_t)n_tok * (size_t)n * 4;
    CHECK(be->vt->buf_alloc(be, xbytes, &xb) == VKLLM_OK);
    CHECK(be->vt->buf_alloc(be, ybytes, &yb) == VKLLM_OK);
    float *poison = malloc(ybytes);
    for (size_t i = 0; i < ybytes / 4; i++) poison[i] = NAN;
    be->vt->buf_write(be, yb, 0, poison, ybytes);
    free(poison);
    be->vt->buf_write(be, xb, 0, x, xbytes);
    CHECK(be->vt->begin(be, &batch) == VKLLM_OK);
    vkllm_status s = be->vt->matmul(be, yb, w, xb, bias, n_tok);
    CHECK(be->vt->end(be) == VKLLM_OK);
    be->vt->buf_read(be, yb, 0, y, ybytes);
    be->vt->buf_free(be, xb);
    be->vt->buf_free(be, yb);
    return s;
}

static void test_case(backend *be, uint32_t t, int64_t k, int64_t n, int n_tok, int with_bias) {
    size_t wbytes;
    uint8_t *wd = rand_weight(t, k, n, &wbytes);
    wtensor wt = {.name = "w", .type = t, .ne0 = k, .ne1 = n, .data = wd, .nbytes = wbytes};
    bk_weight *w = NULL, *bias = NULL;
    CHECK(be->vt->weight_upload(be, &wt, &w) == VKLLM_OK);
    float *bvals = malloc((size_t)n * 4);
    for (int64_t r = 0; r < n; r++) bvals[r] = test_rng_f32(&rng, -1, 1);
    wtensor bt = {.name = "b", .type = DTYPE_F32, .ne0 = n, .ne1 = 1, .data = bvals,
                  .nbytes = (uint64_t)n * 4};
    if (with_bias) CHECK(be->vt->weight_upload(be, &bt, &bias) == VKLLM_OK);

    float *x = malloc((size_t)n_tok * (size_t)k * 4);
    for (int64_t i = 0; i < n_tok * k; i++) {
        x[i] = test_rng_f32(&rng, -2, 2);
        if (test_rng_u64(&rng) % 64 == 0) x[i] *= 50.0f; /* outliers stretch the block scale */
    }
    float *y = malloc((size_t)n_tok * (size_t)n * 4), *y1 = malloc((size_t)n * 4);
    CHECK(run_matmul(be, w, bias, x, k, n, n_tok, y) == VKLLM_OK);

    float *wrow = malloc((size_t)k * 4);
    size_t rb = (size_t)dtype_row_bytes(t, (uint64_t)k);
    int bad = 0;
    for (int64_t r = 0; r < n; r++) {
        CHECK(quant_dequantize_row(t, wd + (size_t)r * rb, wrow, k) == 0);
        for (int tok = 0; tok < n_tok; tok++) {
            const float *xt = x + (size_t)tok * (size_t)k;
            double ref = with_bias ? bvals[r] : 0.0, s_abs = 0.0;
            for (int64_t i = 0; i < k; i++) {
                ref += (double)wrow[i] * (double)xt[i];
                s_abs += fabs((double)wrow[i] * (double)xt[i]);
            }
            double tol = (double)(is_quant(t) ? k / 32 + 16 : k / 8 + 16) * 0x1p-24 * s_abs;
            if (with_bias) tol += 0x1p-23 * (fabs(ref) + fabs((double)bvals[r]));
            double got = y[(size_t)tok * (size_t)n + (size_t)r];
            if (!(fabs(got - ref) <= tol) && bad++ < 5)
                CHECKF(0, "%s k=%lld n=%lld tok %d/%d row %lld: got %.9g want %.9g tol %.3g",
                       dtype_name(t), (long long)k, (long long)n, tok, n_tok, (long long)r, got,
                       ref, tol);
        }
    }
    CHECK(bad == 0);
    /* each token alone gives the same bits as within the batch */
    for (int tok = 0; tok < n_tok && n_tok > 1; tok++) {
        CHECK(run_matmul(be, w, bias, x + (size_t)tok * (size_t)k, k, n, 1, y1) == VKLLM_OK);
        CHECKF(memcmp(y1, y + (size_t)tok * (size_t)n, (size_t)n * 4) == 0,
               "%s k=%lld n=%lld: token %d of %d differs from a one-token call", dtype_name(t),
               (long long)k, (long long)n, tok, n_tok);
    }
    be->vt->weight_free(be, w);
    be->vt->weight_free(be, bias);
    free(wd);
    free(bvals);
    free(x);
    free(y);
    free(y1);
    free(wrow);
}

static void test_errors(backend *be) {
    float wd[64] = {0};
    bk_weight *w = NULL;
    wtensor bad_type = {.name = "w", .type = DTYPE_Q2_K, .ne0 = 256, .ne1 = 1, .data = wd,
                        .nbytes = sizeof wd};
    CHECK(be->vt->weight_upload(be, &bad_type, &w) == VKLLM_ERR_UNSUPPORTED && !w);
    wtensor short_data = {.name = "w", .type = DTYPE_F32, .ne0 = 16, .ne1 = 5, .data = wd,
                          .nbytes = sizeof wd};
    CHECK(be->vt->weight_upload(be, &short_data, &w) == VKLLM_ERR_INVALID_ARG && !w);
    wtensor odd_row = {.name = "w", .type = DTYPE_Q8_0, .ne0 = 33, .ne1 = 1, .data = wd,
                       .nbytes = sizeof wd};
    CHECK(be->vt->weight_upload(be, &odd_row, &w) == VKLLM_ERR_INVALID_ARG && !w);
    wtensor ok = {.name = "w", .type = DTYPE_F32, .ne0 = 16, .ne1 = 4, .data = wd,
                  .nbytes = sizeof wd};
    CHECK(be->vt->weight_upload(be, &ok, &w) == VKLLM_OK);
    bk_buf *x = NULL, *y = NULL;
    be->vt->buf_alloc(be, 16 * 4, &x);
    be->vt->buf_alloc(be, 4 * 4, &y);
    int32_t z = 0;
    bk_batch batch = {.n_tokens = 1, .ids = &z, .pos = &z, .seq = &z};
    CHECK(be->vt->matmul(be, y, w, x, NULL, 1) == VKLLM_ERR_INVALID_ARG); /* outside a pass */
    CHECK(be->vt->begin(be, &batch) == VKLLM_OK);
    CHECK(be->vt->matmul(be, y, w, x, NULL, 2) == VKLLM_ERR_INVALID_ARG); /* x too small */
    CHECK(be->vt->matmul(be, x, w, x, NULL, 1) == VKLLM_ERR_INVALID_ARG); /* aliasing */
    CHECK(be->vt->matmul(be, y, w, x, NULL, 1) == VKLLM_OK);
    CHECK(be->vt->end(be) == VKLLM_OK);
    be->vt->buf_free(be, x);
    be->vt->buf_free(be, y);
    be->vt->weight_free(be, w);
}

/* A misaligned source is copied; results stay right. */
static void test_misaligned(backend *be) {
    float wv[8 * 4], x[8], y[4];
    for (int i = 0; i < 32; i++) wv[i] = test_rng_f32(&rng, -1, 1);
    for (int i = 0; i < 8; i++) x[i] = test_rng_f32(&rng, -1, 1);
    uint8_t *raw = malloc(sizeof wv + 1);
    memcpy(raw + 1, wv, sizeof wv);
    wtensor wt = {.name = "w", .type = DTYPE_F32, .ne0 = 8, .ne1 = 4, .data = raw + 1,
                  .nbytes = sizeof wv};
    bk_weight *w = NULL;
    CHECK(be->vt->weight_upload(be, &wt, &w) == VKLLM_OK);
    CHECK(run_matmul(be, w, NULL, x, 8, 4, 1, y) == VKLLM_OK);
    for (int r = 0; r < 4; r++) {
        double ref = 0, s = 0;
        for (int i = 0; i < 8; i++) {
            ref += (double)wv[r * 8 + i] * x[i];
            s += fabs((double)wv[r * 8 + i] * x[i]);
        }
        CHECK(fabs(y[r] - ref) <= 1e-6 * s);
    }
    be->vt->weight_free(be, w);
    free(raw);
}

int main(void) {
    rng = test_seed() | 1;
    backend *bes[4];
    for (int i = 0; i < 4; i++) CHECK(cpu_backend_create(i + 1, &bes[i]) == VKLLM_OK);
    static const int toks[] = {1, 3, 4, 9};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t t = types[ti];
        int64_t bsz = dtype_block_size(t) >= 32 ? dtype_block_size(t) : 1;
        for (int simd = CPU_SIMD_NONE; simd <= CPU_SIMD_AVX512; simd++) {
            if (simd > cpu_kernels_simd_level()) {
                fprintf(stderr, "cpu_matmul: SIMD level %d not on this CPU, skipped\n", simd);
                continue;
            }
            for (int c = 0; c < 6; c++) {
                backend *be = bes[test_rng_u64(&rng) % 4];
                CHECK(cpu_backend_set_simd(be, simd) == simd);
                int64_t k = bsz == 1 ? 1 + (int64_t)(test_rng_u64(&rng) % 300)
                                     : bsz * (1 + (int64_t)(test_rng_u64(&rng) % (bsz == 32 ? 24 : 4)));
                int64_t n = c == 0 ? 1 : 1 + (int64_t)(test_rng_u64(&rng) % 140);
                test_case(be, t, k, n, toks[c % 4], c % 2);
            }
        }
    }
    test_errors(bes[1]);
    test_misaligned(bes[0]);
    for (int i = 0; i < 4; i++) bes[i]->vt->destroy(bes[i]);
    return test_finish();
}
