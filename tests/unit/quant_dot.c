/* quant_dot.c — the reference dot product against dequantize + a naive double
 * dot on fresh random rows of every type (several lengths, including ones
 * that end in a partial 256-element chunk), quant_fallback_type, and the
 * rejection of bad types and lengths. */
#include "quant/quant.h"
#include "testutil.h"

static uint64_t rng;

static void dot_types(void) {
    static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0,
                                     DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0, DTYPE_Q5_1,
                                     DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
    static const int64_t lens[] = {256, 4096, 2816, 96, 32};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t t = types[ti];
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int64_t n = lens[li];
            if (n % dtype_block_size(t)) continue;
            float *w = malloc(sizeof(float) * (size_t)n), *x = malloc(sizeof(float) * (size_t)n);
            float *wd = malloc(sizeof(float) * (size_t)n);
            uint8_t *q = malloc(dtype_row_bytes(t, (uint64_t)n));
            for (int64_t i = 0; i < n; i++) {
                w[i] = test_rng_f32(&rng, -1.0f, 1.0f);
                x[i] = test_rng_f32(&rng, -2.0f, 2.0f);
            }
            CHECK(quant_quantize_row(t, w, q, n) == 0);
            CHECK(quant_dequantize_row(t, q, wd, n) == 0);
            double ref = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; i++) {
                ref += (double)wd[i] * x[i];
                mag += fabs((double)wd[i] * x[i]);
            }
            float got = quant_dot_f32(t, q, x, n);
            /* 1e-5 relative to sum |w*x| (the sum itself may cancel to ~0) */
            CHECKF(fabs(got - ref) <= 1e-5 * mag, "%s n=%lld: dot %.9g vs %.9g (mag %g)",
                   dtype_name(t), (long long)n, got, ref, mag);
            free(w);
            free(x);
            free(wd);
            free(q);
        }
    }
}

static void fallback(void) {
    CHECK(quant_fallback_type(DTYPE_Q4_K, 4096) == DTYPE_Q4_K);
    CHECK(quant_fallback_type(DTYPE_Q4_K, 96) == DTYPE_Q5_0);
    CHECK(quant_fallback_type(DTYPE_Q5_K, 2816 + 32) == DTYPE_Q5_1);
    CHECK(quant_fallback_type(DTYPE_Q6_K, 160) == DTYPE_Q8_0);
    CHECK(quant_fallback_type(DTYPE_Q6_K, 100) == DTYPE_F16);
    CHECK(quant_fallback_type(DTYPE_Q8_0, 176) == DTYPE_F16); /* as the converter does */
    CHECK(quant_fallback_type(DTYPE_Q4_0, 64) == DTYPE_Q4_0);
    CHECK(quant_fallback_type(DTYPE_F16, 7) == DTYPE_F16);
    CHECK(quant_fallback_type(DTYPE_BF16, 1) == DTYPE_BF16);
    CHECK(quant_fallback_type(DTYPE_F32, 3) == DTYPE_F32);
    CHECK(quant_fallback_type(DTYPE_Q2_K, 256) == -1);
    CHECK(quant_fallback_type(99, 256) == -1);
    CHECK(quant_fallback_type(DTYPE_Q4_K, 0) == -1);
    /* the fallback is always storable: a whole number of its blocks */
    for (int64_t n = 1; n <= 600; n++) {
        int ft = quant_fallback_type(DTYPE_Q4_K, n);
        CHECKF(ft >= 0 && dtype_row_bytes((uint32_t)ft, (uint64_t)n) > 0, "n=%lld -> %d",
               (long long)n, ft);
    }
}

static void rejects(void) {
    float x[512] = {0}, y[512];
    uint8_t q[2048];
    CHECK(quant_quantize_row(DTYPE_Q4_K, x, q, 100) == -1);
    CHECK(quant_quantize_row(DTYPE_Q8_0, x, q, 33) == -1);
    CHECK(quant_quantize_row(DTYPE_Q8_0, x, q, -32) == -1);
    CHECK(quant_quantize_row(DTYPE_Q2_K, x, q, 256) == -1);
    CHECK(quant_quantize_row(DTYPE_Q8_1, x, q, 32) == -1);
    CHECK(quant_quantize_row(DTYPE_I32, x, q, 32) == -1);
    CHECK(quant_quantize_row(1000, x, q, 32) == -1);
    CHECK(quant_dequantize_row(DTYPE_Q6_K, q, y, 128) == -1);
    CHECK(quant_dequantize_row(DTYPE_Q3_K, q, y, 256) == -1);
    CHECK(quant_dequantize_row(40, q, y, 32) == -1);
    CHECK(isnan(quant_dot_f32(DTYPE_Q5_K, q, x, 255)));
    CHECK(isnan(quant_dot_f32(DTYPE_Q8_K, q, x, 256)));
    CHECK(quant_quantize_row(DTYPE_Q4_0, x, q, 0) == 0); /* an empty row is fine */
    CHECK(quant_dot_f32(DTYPE_Q4_0, q, x, 0) == 0.0f);
    /* NaN / inf weights quantize without undefined behaviour (UBSan watches) */
    for (int i = 0; i < 512; i++)
        x[i] = i % 3 ? NAN : (i % 2 ? INFINITY : -1.0f);
    static const uint32_t all[] = {DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0,
                                   DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(quant_quantize_row(all[i], x, q, 512) == 0);
        CHECK(quant_dequantize_row(all[i], q, y, 512) == 0);
    }
}

int main(void) {
    rng = test_seed() | 1;
    dot_types();
    fallback();
    rejects();
    return test_finish();
}
