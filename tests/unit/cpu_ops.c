/* cpu_ops.c — the CPU backend's row and element-wise ops (embed, rmsnorm,
 * rope, silu_mul, add, gather_rows, argmax) against double-precision
 * references on fresh random inputs, 1..4 threads, odd sizes, outputs
 * poisoned with NaN before each call.
 *
 * Tolerances (u = 2^-24, one f32 rounding):
 *  - embed: the dequantized row equals quant_dequantize_row up to 2u of the
 *    row's largest magnitude (the two compute d*q + m in different orders).
 *  - rmsnorm: 8u relative (scale and two products in f32).
 *  - rope: angles are f32 as in HF. The exponent 2i/d is rounded (u), which
 *    theta^e amplifies by ln(theta); pow, the division and pos * inv_freq add
 *    <= 4u: |err| <= ((ln(theta) + 4)u * angle + 8u) * (|a| + |b|).
 *  - silu_mul: 8u relative; add, gather_rows, argmax: exact. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "quant/quant.h"
#include "testutil.h"

#define U 0x1p-24

static uint64_t rng;
static backend *bes[4];

static backend *pick(void) { return bes[test_rng_u64(&rng) % 4]; }
static int rnd(int lo, int hi) { return lo + (int)(test_rng_u64(&rng) % (uint64_t)(hi - lo + 1)); }

static bk_buf *mkbuf(backend *be, size_t n, const float *vals) {
    bk_buf *b = NULL;
    CHECK(be->vt->buf_alloc(be, n * 4, &b) == VKLLM_OK);
    float *tmp = malloc(n * 4);
    for (size_t i = 0; i < n; i++) tmp[i] = vals ? vals[i] : NAN;
    be->vt->buf_write(be, b, 0, tmp, n * 4);
    free(tmp);
    return b;
}

static float *rdbuf(backend *be, bk_buf *b, size_t n) {
    float *o = malloc(n * 4);
    CHECK(be->vt->buf_read(be, b, 0, o, n * 4) == VKLLM_OK);
    return o;
}

static float *rvec(size_t n, float lo, float hi) {
    float *v = malloc(n * 4);
    for (size_t i = 0; i < n; i++) v[i] = test_rng_f32(&rng, lo, hi);
    return v;
}

typedef struct batch_store {
    int32_t ids[64], pos[64], seq[64];
    bk_batch b;
} batch_store;

static void mkbatch(batch_store *s, int n_tok, int vocab, int max_pos) {
    for (int t = 0; t < n_tok; t++) {
        s->ids[t] = vocab > 0 ? rnd(0, vocab - 1) : 0;
        s->pos[t] = rnd(0, max_pos);
        s->seq[t] = 0;
    }
    s->b = (bk_batch){.n_tokens = n_tok, .ids = s->ids, .pos = s->pos, .seq = s->seq};
}

static void test_embed(void) {
    static const uint32_t types[] = {DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_Q8_0, DTYPE_Q4_0,
                                     DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q6_K};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t t = types[ti];
        backend *be = pick();
        int64_t bs = dtype_block_size(t), n = bs * rnd(1, bs == 1 ? 70 : 3), vocab = rnd(1, 40);
        float *src = rvec((size_t)(n * vocab), -3, 3);
        size_t rb = (size_t)dtype_row_bytes(t, (uint64_t)n);
        uint8_t *tab = malloc(rb * (size_t)vocab);
        for (int64_t r = 0; r < vocab; r++)
            CHECK(quant_quantize_row(t, src + r * n, tab + (size_t)r * rb, n) == 0);
        wtensor wt = {.name = "tok_embd", .type = t, .ne0 = n, .ne1 = vocab, .data = tab,
                      .nbytes = rb * (size_t)vocab};
        bk_weight *w = NULL;
        CHECK(be->vt->weight_upload(be, &wt, &w) == VKLLM_OK);
        batch_store bs_;
        int n_tok = rnd(1, 9);
        mkbatch(&bs_, n_tok, (int)vocab, 10);
        bk_buf *out = mkbuf(be, (size_t)(n_tok * n), NULL);
        CHECK(be->vt->begin(be, &bs_.b) == VKLLM_OK);
        CHECK(be->vt->embed(be, out, w) == VKLLM_OK);
        bs_.ids[0] = (int32_t)vocab; /* out of range */
        CHECK(be->vt->embed(be, out, w) == VKLLM_ERR_INVALID_ARG);
        bs_.ids[0] = -1;
        CHECK(be->vt->embed(be, out, w) == VKLLM_ERR_INVALID_ARG);
        CHECK(be->vt->end(be) == VKLLM_OK);
        /* read back what the valid call wrote (the failing calls write no
         * rows before validating all ids) */
        float *got = rdbuf(be, out, (size_t)(n_tok * n)), *ref = malloc((size_t)n * 4);
        int bad = 0;
        for (int tk = 0; tk < n_tok; tk++) {
            int id = tk == 0 ? -1 : bs_.ids[tk];
            if (id < 0) continue; /* token 0's id was overwritten above */
            CHECK(quant_dequantize_row(t, tab + (size_t)id * rb, ref, n) == 0);
            float mx = 0;
            for (int64_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(ref[i]));
            for (int64_t i = 0; i < n; i++)
                if (!(fabsf(got[tk * n + i] - ref[i]) <= 2 * U * mx)) bad++;
        }
        CHECKF(bad == 0, "embed %s: %d values differ", dtype_name(t), bad);
        be->vt->weight_free(be, w);
        be->vt->buf_free(be, out);
        free(src);
        free(tab);
        free(got);
        free(ref);
    }
}

static void test_rmsnorm(void) {
    for (int c = 0; c < 12; c++) {
        backend *be = pick();
        int rows = rnd(1, 37), n = rnd(1, 700);
        float eps = c % 2 ? 1e-5f : 1e-6f;
        float *x = rvec((size_t)rows * n, -4, 4), *wv = rvec((size_t)n, -2, 2);
        wtensor wt = {.name = "norm", .type = DTYPE_F32, .ne0 = n, .ne1 = 1, .data = wv,
                      .nbytes = (uint64_t)n * 4};
        bk_weight *w = NULL;
        CHECK(be->vt->weight_upload(be, &wt, &w) == VKLLM_OK);
        bk_buf *xb = mkbuf(be, (size_t)rows * n, x), *ob = mkbuf(be, (size_t)rows * n, NULL);
        batch_store bs;
        mkbatch(&bs, 1, 0, 0);
        CHECK(be->vt->begin(be, &bs.b) == VKLLM_OK);
        CHECK(be->vt->rmsnorm(be, ob, xb, w, rows, n, eps) == VKLLM_OK);
        CHECK(be->vt->rmsnorm(be, ob, xb, w, rows, n + 1, eps) == VKLLM_ERR_INVALID_ARG);
        if (c % 3 == 0) CHECK(be->vt->rmsnorm(be, xb, xb, w, rows, n, eps) == VKLLM_OK); /* in place */
        CHECK(be->vt->end(be) == VKLLM_OK);
        float *got = rdbuf(be, ob, (size_t)rows * n), *inpl = rdbuf(be, xb, (size_t)rows * n);
        int bad = 0;
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double)x[r * n + i] * x[r * n + i];
            double sc = 1.0 / sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) {
                double ref = x[r * n + i] * sc * wv[i];
                if (!(fabs(got[r * n + i] - ref) <= 8 * U * fabs(ref) + 1e-30)) bad++;
                if (c % 3 == 0 && inpl[r * n + i] != got[r * n + i]) bad++;
            }
        }
        CHECKF(bad == 0, "rmsnorm rows %d n %d: %d bad", rows, n, bad);
        be->vt->weight_free(be, w);
        be->vt->buf_free(be, xb);
        be->vt->buf_free(be, ob);
        free(x);
        free(wv);
        free(got);
        free(inpl);
    }
}

static void test_rope(void) {
    for (int c = 0; c < 16; c++) {
        backend *be = pick();
        int mode = c % 2, with_ff = (c / 2) % 2;
        int d = 2 * rnd(1, 64), n_heads = rnd(1, 5), n_tok = rnd(1, 11);
        float theta = c % 3 ? 10000.0f : 500000.0f;
        float *ff = NULL;
        if (with_ff) ff = rvec((size_t)d / 2, 1.0f, 8.0f);
        bk_rope r = {.mode = mode ? BK_ROPE_NEOX : BK_ROPE_NORM, .n_dims = d, .theta = theta,
                     .freq_factors = ff};
        size_t n = (size_t)n_tok * n_heads * d;
        float *x = rvec(n, -3, 3);
        bk_buf *xb = mkbuf(be, n, x);
        batch_store bs;
        mkbatch(&bs, n_tok, 0, 3000);
        CHECK(be->vt->begin(be, &bs.b) == VKLLM_OK);
        CHECK(be->vt->rope(be, xb, n_heads, &r) == VKLLM_OK);
        CHECK(be->vt->rope(be, xb, n_heads + 1, &r) == VKLLM_ERR_INVALID_ARG);
        CHECK(be->vt->end(be) == VKLLM_OK);
        float *got = rdbuf(be, xb, n);
        int bad = 0;
        for (int t = 0; t < n_tok; t++)
            for (int h = 0; h < n_heads; h++)
                for (int i = 0; i < d / 2; i++) {
                    size_t base = ((size_t)t * n_heads + h) * d;
                    size_t i0 = mode ? (size_t)i : 2 * (size_t)i;
                    size_t i1 = mode ? (size_t)(i + d / 2) : 2 * (size_t)i + 1;
                    double ang = bs.pos[t] * pow((double)theta, -2.0 * i / d) / (ff ? ff[i] : 1.0);
                    double a = x[base + i0], b = x[base + i1];
                    double r0 = a * cos(ang) - b * sin(ang), r1 = a * sin(ang) + b * cos(ang);
                    double tol = ((log(theta) + 4) * U * ang + 8 * U) * (fabs(a) + fabs(b)) + 1e-30;
                    if (!(fabs(got[base + i0] - r0) <= tol) || !(fabs(got[base + i1] - r1) <= tol))
                        bad++;
                }
        CHECKF(bad == 0, "rope mode %d ff %d d %d: %d bad", mode, with_ff, d, bad);
        be->vt->buf_free(be, xb);
        free(x);
        free(ff);
        free(got);
    }
}

static void test_elementwise(void) {
    for (int c = 0; c < 10; c++) {
        backend *be = pick();
        size_t n = c == 0 ? 1 : (size_t)rnd(1, 100000);
        float *g = rvec(n, -20, 20), *u = rvec(n, -3, 3);
        bk_buf *gb = mkbuf(be, n, g), *ub = mkbuf(be, n, u), *ob = mkbuf(be, n, NULL);
        batch_store bs;
        mkbatch(&bs, 1, 0, 0);
        CHECK(be->vt->begin(be, &bs.b) == VKLLM_OK);
        CHECK(be->vt->silu_mul(be, ob, gb, ub, n) == VKLLM_OK);
        CHECK(be->vt->silu_mul(be, ob, gb, ub, n + 1) == VKLLM_ERR_INVALID_ARG);
        CHECK(be->vt->end(be) == VKLLM_OK);
        float *got = rdbuf(be, ob, n);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            double ref = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
            if (!(fabs(got[i] - ref) <= 8 * U * fabs(ref) + 1e-37)) bad++;
        }
        CHECKF(bad == 0, "silu_mul n %zu: %d bad", n, bad);
        free(got);
        /* add, also in place (out aliases a) */
        CHECK(be->vt->begin(be, &bs.b) == VKLLM_OK);
        CHECK(be->vt->add(be, ob, gb, ub, n) == VKLLM_OK);
        CHECK(be->vt->add(be, gb, gb, ub, n) == VKLLM_OK);
        CHECK(be->vt->end(be) == VKLLM_OK);
        got = rdbuf(be, ob, n);
        float *inpl = rdbuf(be, gb, n);
        bad = 0;
        for (size_t i = 0; i < n; i++)
            if (got[i] != g[i] + u[i] || inpl[i] != got[i]) bad++;
        CHECKF(bad == 0, "add n %zu: %d bad", n, bad);
        be->vt->buf_free(be, gb);
        be->vt->buf_free(be, ub);
        be->vt->buf_free(be, ob);
        free(g);
        free(u);
        free(got);
        free(inpl);
    }
}

static void test_gather_argmax(void) {
    for (int c = 0; c < 10; c++) {
        backend *be = pick();
        int rows = rnd(1, 20), n = rnd(1, 3000), k = rnd(1, 8);
        float *x = rvec((size_t)rows * n, -5, 5);
        /* plant ties: the max value twice in some rows, lowest index must win */
        int want[20];
        for (int r = 0; r < rows; r++) {
            int a = rnd(0, n - 1), b = rnd(0, n - 1);
            x[(size_t)r * n + a] = 9.0f;
            if (c % 2) x[(size_t)r * n + b] = 9.0f;
            want[r] = c % 2 && b < a ? b : a;
        }
        int32_t sel[8];
        for (int i = 0; i < k; i++) sel[i] = rnd(0, rows - 1);
        bk_buf *xb = mkbuf(be, (size_t)rows * n, x), *gb = mkbuf(be, (size_t)k * n, NULL);
        bk_buf *ib = mkbuf(be, (size_t)rows, NULL);
        batch_store bs;
        mkbatch(&bs, 1, 0, 0);
        CHECK(be->vt->begin(be, &bs.b) == VKLLM_OK);
        CHECK(be->vt->gather_rows(be, gb, xb, sel, k, n) == VKLLM_OK);
        CHECK(be->vt->argmax(be, ib, xb, rows, n) == VKLLM_OK);
        int32_t badrow[1] = {rows};
        CHECK(be->vt->gather_rows(be, gb, xb, badrow, 1, n) == VKLLM_ERR_INVALID_ARG);
        CHECK(be->vt->argmax(be, ib, xb, rows + 1, n) == VKLLM_ERR_INVALID_ARG);
        CHECK(be->vt->end(be) == VKLLM_OK);
        float *g = rdbuf(be, gb, (size_t)k * n);
        int32_t ids[20];
        CHECK(be->vt->buf_read(be, ib, 0, ids, (size_t)rows * 4) == VKLLM_OK);
        for (int i = 0; i < k; i++)
            CHECK(memcmp(g + (size_t)i * n, x + (size_t)sel[i] * n, (size_t)n * 4) == 0);
        for (int r = 0; r < rows; r++) CHECKF(ids[r] == want[r], "argmax row %d: %d want %d", r, ids[r], want[r]);
        be->vt->buf_free(be, xb);
        be->vt->buf_free(be, gb);
        be->vt->buf_free(be, ib);
        free(x);
        free(g);
    }
}

static void test_pass_rules(void) {
    backend *be = bes[0];
    bk_buf *a = mkbuf(be, 4, NULL);
    CHECK(be->vt->add(be, a, a, a, 4) == VKLLM_ERR_INVALID_ARG); /* outside begin/end */
    CHECK(be->vt->end(be) == VKLLM_ERR_INVALID_ARG);
    int32_t z = 0, neg = -1;
    bk_batch b = {.n_tokens = 1, .ids = &z, .pos = &neg, .seq = &z};
    CHECK(be->vt->begin(be, &b) == VKLLM_ERR_INVALID_ARG);
    float buf[4];
    CHECK(be->vt->buf_read(be, a, 4, buf, 16) == VKLLM_ERR_INVALID_ARG);
    CHECK(be->vt->buf_write(be, a, SIZE_MAX, buf, 2) == VKLLM_ERR_INVALID_ARG);
    be->vt->buf_free(be, a);
    backend *x = NULL;
    CHECK(cpu_backend_create(0, &x) == VKLLM_ERR_INVALID_ARG && !x);
    CHECK(bes[0]->kind == VKLLM_BACKEND_CPU && bes[0]->device_name[0] != 0);
}

int main(void) {
    rng = test_seed() | 1;
    for (int i = 0; i < 4; i++) CHECK(cpu_backend_create(i + 1, &bes[i]) == VKLLM_OK);
    test_embed();
    test_rmsnorm();
    test_rope();
    test_elementwise();
    test_gather_argmax();
    test_pass_rules();
    for (int i = 0; i < 4; i++) bes[i]->vt->destroy(bes[i]);
    return test_finish();
}
