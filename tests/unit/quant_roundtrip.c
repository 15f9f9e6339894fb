/* quant_roundtrip.c — quantize then dequantize fresh random rows of several
 * distributions for every weight type, checking the error against a bound
 * derived per type (stated next to each check), the exact stability of the
 * 32-element types under a second round trip, and F16/BF16 rounding against
 * hand-computed cases (ties, subnormals, overflow, inf, NaN). */
#include <float.h>

#include "quant/quant.h"
#include "testutil.h"

#define ROW 2048 /* 8 K-quant super-blocks, 64 small blocks */
#define ROWS 6

enum { D_UNIFORM, D_GAUSS, D_OUTLIERS, D_ZEROS, D_CONST, D_TINY, D_SUBNORMAL, D_SCALED, D_COUNT };
static const char *dist_name[D_COUNT] = {"uniform",  "gaussian", "outliers",  "zeros",
                                         "constant", "tiny",     "subnormal", "block-scaled"};

static uint64_t rng;

static float gauss(void) {
    float u1 = test_rng_f32(&rng, 0.0f, 1.0f), u2 = test_rng_f32(&rng, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.2831853f * u2);
}

static void fill(int dist, float *x, int n) {
    float c = test_rng_f32(&rng, -2.0f, 2.0f);
    float scale = 1.0f;
    for (int i = 0; i < n; i++) {
        switch (dist) {
        case D_UNIFORM: x[i] = test_rng_f32(&rng, -1.0f, 1.0f); break;
        case D_GAUSS: x[i] = 0.12f * gauss(); break;
        case D_OUTLIERS:
            x[i] = 0.1f * gauss();
            if (test_rng_u64(&rng) % 100 == 0) x[i] *= 40.0f;
            break;
        case D_ZEROS: x[i] = 0.0f; break;
        case D_CONST: x[i] = c; break;
        case D_TINY: x[i] = test_rng_f32(&rng, -1e-3f, 1e-3f); break;
        /* scales here reach the f16 subnormal range (below 6.1e-5) */
        case D_SUBNORMAL: x[i] = test_rng_f32(&rng, -2e-6f, 2e-6f); break;
        case D_SCALED: /* each run of 32 has its own magnitude, 1e-3 .. 1 */
            if (i % 32 == 0) scale = powf(10.0f, test_rng_f32(&rng, -3.0f, 0.0f));
            x[i] = scale * gauss();
            break;
        }
    }
}

static float h2f(const uint8_t *p) { return dtype_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* ---- 32-element types: exact per-element bounds ----------------------------
 * Each quantizer computes a float scale dref (and min) from the block, then
 * codes q from x * (1/dref); the stored scale is d = f16(dref). Splitting the
 * error as |x - dref*q| + |dref - d| * |q| (+ |min - f16(min)| for the _1
 * types) gives, per element:
 *   Q8_0: |x - d*q| <= |dref|/2 + 127*|d - dref|      (|x*id| <= 127, no clamp)
 *   Q4_0: <= |dref|/2 + 8*|d - dref|, but |dref| + ... for elements whose code
 *         is clamped (x on the side opposite the extreme, |x| > 7.5*|dref|)
 *   Q5_0: as Q4_0 with 16 and 15.5
 *   Q4_1: <= dref/2 + 15*|d - dref| + |m - min|        (q = floor(.. + 0.5))
 *   Q5_1: <= dref/2 + 31*|d - dref| + |m - min|
 * plus a float-rounding slack of 8 ulps of the block's max magnitude. */
static void check_small(uint32_t t, int dist, const float *x, const uint8_t *q, const float *y,
                        int n) {
    uint32_t ts = dtype_type_size(t);
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b, *yb = y + 32 * b;
        const uint8_t *qb = q + (size_t)b * ts;
        float amax = 0.0f, smax = 0.0f, min = xb[0], max = xb[0];
        for (int j = 0; j < 32; j++) {
            if (fabsf(xb[j]) > amax) {
                amax = fabsf(xb[j]);
                smax = xb[j];
            }
            min = fminf(min, xb[j]);
            max = fmaxf(max, xb[j]);
        }
        float slack = 8.0f * FLT_EPSILON * amax;
        float worst = 0.0f, bound_at_worst = 0.0f;
        int ok = 1;
        for (int j = 0; j < 32; j++) {
            float err = fabsf(xb[j] - yb[j]), bound = 0.0f;
            if (t == DTYPE_Q8_0) {
                float dref = amax / 127.0f, d = h2f(qb);
                bound = dref / 2 + 127.0f * fabsf(d - dref);
            } else if (t == DTYPE_Q4_0 || t == DTYPE_Q5_0) {
                float half = t == DTYPE_Q4_0 ? 8.0f : 16.0f;
                float dref = fabsf(smax / half), d = fabsf(h2f(qb));
                int clamped = fabsf(xb[j]) > (half - 0.5f) * dref && (xb[j] > 0) != (smax > 0);
                bound = (clamped ? dref : dref / 2) + half * fabsf(d - dref);
            } else {
                float levels = t == DTYPE_Q4_1 ? 15.0f : 31.0f;
                float dref = (max - min) / levels, d = h2f(qb), m = h2f(qb + 2);
                bound = dref / 2 + levels * fabsf(d - dref) + fabsf(m - min);
                slack = 8.0f * FLT_EPSILON * fmaxf(fabsf(min), fabsf(max));
            }
            bound += slack;
            if (!(err <= bound)) ok = 0;
            if (err > worst || !ok) {
                worst = err;
                bound_at_worst = bound;
            }
        }
        CHECKF(ok, "%s %s block %d: error %g > bound %g", dtype_name(t), dist_name[dist], b, worst,
               bound_at_worst);
    }
    if (t == DTYPE_Q8_0) { /* the stored scale is exactly f16(max|x| / 127) */
        for (int b = 0; b < n / 32; b++) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(x[32 * b + j]));
            CHECKF(h2f(q + (size_t)b * ts) == dtype_f16_to_f32(dtype_f32_to_f16(amax / 127.0f)),
                   "q8_0 %s block %d: scale", dist_name[dist], b);
        }
    }
}

/* A second round trip of dequantized values must reproduce them exactly: the
 * extreme is a code times d, so the same d and codes come back. */
static void check_stable(uint32_t t, int dist, const float *y, int n) {
    uint64_t bytes = dtype_row_bytes(t, (uint64_t)n);
    uint8_t *q2 = malloc(bytes);
    float *y2 = malloc(sizeof(float) * (size_t)n);
    CHECK(quant_quantize_row(t, y, q2, n) == 0);
    CHECK(quant_dequantize_row(t, q2, y2, n) == 0);
    int same = 1, at = -1;
    for (int i = 0; i < n && same; i++)
        if (y2[i] != y[i]) {
            same = 0;
            at = i;
        }
    CHECKF(same, "%s %s: second round trip differs at %d: %g vs %g", dtype_name(t), dist_name[dist],
           at, at >= 0 ? y2[at] : 0.0, at >= 0 ? y[at] : 0.0);
    free(q2);
    free(y2);
}

/* ---- K-quants: relative RMSE per row -----------------------------------------
 * Uniform rounding with step s has RMSE s/sqrt(12). For a sub-block of n
 * Gaussian values the range is about 2*2.0*sigma (n=32) or 2*1.8*sigma (n=16);
 * so with 15 / 31 / 63 steps the expected rmse/rms is about
 *   Q4_K: 4.0/15/3.46 = 0.077   Q5_K: 4.0/31/3.46 = 0.037   Q6_K: 3.6/63/3.46 = 0.017
 * before the search improves on min/max scaling. Uniform data is milder
 * (Q4_K: 2/15/3.46/0.577 = 0.067). The bounds below (0.10, 0.05, 0.024) leave
 * 30-40% headroom over those figures, since rows whose energy sits in a few
 * sub-blocks fluctuate more from row to row (block-scaled rows, whose runs of
 * 32 span three decades, get 1.3x more); a layout or packing bug gives errors of order 1. Outlier
 * rows (1% of values x40) are dominated by the sub-blocks holding an outlier, whose step is
 * ~range/nmax of a 40x wider range: rms^2 ~ 17 sigma^2, and for Q4_K ~27% of sub-blocks have a step
 * ~2.3 sigma, giving rmse/rms ~ 0.085 (Q5_K ~0.045, Q6_K ~0.027); their bounds (0.15, 0.08, 0.055)
 * sit ~40-70% above that, as the outlier count per row varies. A constant row comes back within
 * half a step of its sub-block scale code (>= ~60 of 63, as the super-block
 * scale is rounded up, possibly to a coarse f16 subnormal): 1% relative; zero
 * rows exactly. In subnormal-range rows (|x| <= 2e-6) the super-block scale
 * is a multiple of 2^-24, so each sub-block scale is off by up to 2^-24/2 per
 * unit of code: an extra absolute term of 2^-25 * nmax (format-inherent). */
static void check_k(uint32_t t, int dist, const float *x, const float *y, int n) {
    double se = 0.0, ss = 0.0, amax = 0.0;
    for (int i = 0; i < n; i++) {
        se += (double)(x[i] - y[i]) * (x[i] - y[i]);
        ss += (double)x[i] * x[i];
        amax = fmax(amax, fabs(x[i]));
    }
    double rmse = sqrt(se / n), rms = sqrt(ss / n);
    double rel = t == DTYPE_Q4_K ? 0.10 : t == DTYPE_Q5_K ? 0.05 : 0.024;
    if (dist == D_OUTLIERS) rel = t == DTYPE_Q4_K ? 0.15 : t == DTYPE_Q5_K ? 0.08 : 0.055;
    if (dist == D_SCALED) rel *= 1.3;
    double nmax = t == DTYPE_Q4_K ? 15 : t == DTYPE_Q5_K ? 31 : 32;
    double bound;
    if (dist == D_ZEROS || dist == D_CONST)
        bound = 1e-2 * amax; /* a scale code near 60 (6-bit): <= 1/120 relative */
    else if (dist == D_SUBNORMAL)
        bound = rel * rms + 0.5 * 0x1p-24 * nmax;
    else
        bound = rel * rms;
    CHECKF(rmse <= bound, "%s %s: rmse %g > bound %g (rms %g)", dtype_name(t), dist_name[dist],
           rmse, bound, rms);
    if (getenv("QUANT_VERBOSE"))
        fprintf(stderr, "%-5s %-12s rmse/rms %.4f\n", dtype_name(t), dist_name[dist],
                rms > 0 ? rmse / rms : 0.0);
}

static void roundtrip_types(void) {
    static const uint32_t types[] = {DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0,
                                     DTYPE_Q5_1, DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
    float *x = malloc(sizeof(float) * ROW), *y = malloc(sizeof(float) * ROW);
    uint8_t *q = malloc(dtype_row_bytes(DTYPE_Q8_0, ROW));
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t t = types[ti];
        for (int dist = 0; dist < D_COUNT; dist++) {
            for (int r = 0; r < ROWS; r++) {
                fill(dist, x, ROW);
                CHECK(quant_quantize_row(t, x, q, ROW) == 0);
                CHECK(quant_dequantize_row(t, q, y, ROW) == 0);
                if (dtype_block_size(t) == 32) {
                    check_small(t, dist, x, q, y, ROW);
                    check_stable(t, dist, y, ROW);
                } else {
                    check_k(t, dist, x, y, ROW);
                }
            }
        }
    }
    free(x);
    free(y);
    free(q);
}

/* ---- F16 / BF16 ------------------------------------------------------------ */

static float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void check_half(uint32_t t, float in, uint16_t want) {
    uint8_t out[2];
    CHECK(quant_quantize_row(t, &in, out, 1) == 0);
    uint16_t got = (uint16_t)(out[0] | out[1] << 8);
    CHECKF(got == want, "%s(%a) = 0x%04x, want 0x%04x", dtype_name(t), (double)in, got, want);
}

static void check_half_nan(uint32_t t, float in) {
    uint8_t out[2];
    CHECK(quant_quantize_row(t, &in, out, 1) == 0);
    float back;
    CHECK(quant_dequantize_row(t, out, &back, 1) == 0);
    CHECKF(isnan(back), "%s of NaN 0x%08x is not NaN", dtype_name(t), 0u);
}

static void float_types(void) {
    /* f16: 10 mantissa bits, bias 15, max 65504, min subnormal 2^-24 */
    check_half(DTYPE_F16, 1.0f, 0x3C00);
    check_half(DTYPE_F16, -2.0f, 0xC000);
    check_half(DTYPE_F16, -0.0f, 0x8000);
    check_half(DTYPE_F16, 1.0f + 0x1p-11f, 0x3C00);     /* tie -> even (down) */
    check_half(DTYPE_F16, 1.0f + 3 * 0x1p-11f, 0x3C02); /* tie -> even (up) */
    check_half(DTYPE_F16, 1.0f + 0x1p-11f + 0x1p-20f, 0x3C01);
    check_half(DTYPE_F16, 65504.0f, 0x7BFF);
    check_half(DTYPE_F16, 65519.0f, 0x7BFF);
    check_half(DTYPE_F16, 65520.0f, 0x7C00); /* tie with 2^16 -> inf */
    check_half(DTYPE_F16, 1e10f, 0x7C00);
    check_half(DTYPE_F16, -INFINITY, 0xFC00);
    check_half(DTYPE_F16, 0x1p-14f, 0x0400);           /* min normal */
    check_half(DTYPE_F16, 0x1p-24f, 0x0001);           /* min subnormal */
    check_half(DTYPE_F16, 1023 * 0x1p-24f, 0x03FF);    /* max subnormal */
    check_half(DTYPE_F16, 1023.5f * 0x1p-24f, 0x0400); /* tie -> even = min normal */
    check_half(DTYPE_F16, 0x1p-25f, 0x0000);           /* tie with 0 -> even */
    check_half(DTYPE_F16, bits_f(0x33000001), 0x0001); /* just above 2^-25 */
    check_half(DTYPE_F16, 1.5f * 0x1p-24f, 0x0002);    /* tie 1|2 -> 2 */
    check_half(DTYPE_F16, 2.5f * 0x1p-24f, 0x0002);    /* tie 2|3 -> 2 */
    check_half(DTYPE_F16, -5 * 0x1p-24f, 0x8005);
    check_half(DTYPE_F16, 1e-30f, 0x0000);
    check_half_nan(DTYPE_F16, NAN);
    check_half_nan(DTYPE_F16, bits_f(0x7F800001)); /* signalling NaN must not become inf */

    /* bf16: the top 16 bits of a float, rounded to nearest even */
    check_half(DTYPE_BF16, 1.0f, 0x3F80);
    check_half(DTYPE_BF16, 1.0f + 0x1p-8f, 0x3F80);     /* tie -> even */
    check_half(DTYPE_BF16, 1.0f + 3 * 0x1p-8f, 0x3F82); /* tie -> even (up) */
    check_half(DTYPE_BF16, 1.0f + 0x1p-8f + 0x1p-20f, 0x3F81);
    check_half(DTYPE_BF16, -3.0f, 0xC040);
    check_half(DTYPE_BF16, FLT_MAX, 0x7F80); /* rounds up to inf */
    check_half(DTYPE_BF16, INFINITY, 0x7F80);
    check_half(DTYPE_BF16, bits_f(0x00010000), 0x0001); /* float subnormal, exact */
    check_half(DTYPE_BF16, bits_f(0x00008000), 0x0000); /* tie with 0 */
    check_half(DTYPE_BF16, bits_f(0x00018000), 0x0002); /* tie 1|2 -> 2 */
    check_half_nan(DTYPE_BF16, NAN);
    check_half_nan(DTYPE_BF16, bits_f(0x7F800001));

    /* decoding */
    static const struct {
        uint16_t h;
        float f;
    } f16dec[] = {
        {0x0001, 0x1p-24f}, {0x03FF, 1023 * 0x1p-24f}, {0x0400, 0x1p-14f}, {0x3555, 0x1.554p-2f},
        {0x7BFF, 65504.0f}, {0xFC00, -INFINITY},       {0x8000, -0.0f},    {0xC000, -2.0f},
    };
    for (size_t i = 0; i < sizeof f16dec / sizeof f16dec[0]; i++) {
        uint8_t in[2] = {(uint8_t)f16dec[i].h, (uint8_t)(f16dec[i].h >> 8)};
        float out;
        CHECK(quant_dequantize_row(DTYPE_F16, in, &out, 1) == 0);
        CHECKF(out == f16dec[i].f && signbit(out) == signbit(f16dec[i].f), "f16 0x%04x -> %a",
               f16dec[i].h, (double)out);
    }
    uint8_t nanh[2] = {0x00, 0x7E}, bf[2] = {0x49, 0x40};
    float out;
    CHECK(quant_dequantize_row(DTYPE_F16, nanh, &out, 1) == 0 && isnan(out));
    CHECK(quant_dequantize_row(DTYPE_BF16, bf, &out, 1) == 0 && out == 3.140625f);

    /* random values: f16/bf16 round trips land on the nearest representable */
    float x[512], y[512];
    uint8_t q[1024];
    for (int i = 0; i < 512; i++)
        x[i] = 0.12f * gauss() * powf(10.0f, test_rng_f32(&rng, -4, 4));
    for (int k = 0; k < 2; k++) {
        uint32_t t = k ? DTYPE_BF16 : DTYPE_F16;
        CHECK(quant_quantize_row(t, x, q, 512) == 0);
        CHECK(quant_dequantize_row(t, q, y, 512) == 0);
        for (int i = 0; i < 512; i++) {
            float rel = k ? 0x1p-8f : 0x1p-11f; /* half an ulp (7 / 10 stored bits), relative */
            float tol = fabsf(x[i]) * rel + (k ? 0.0f : 0x1p-25f);
            CHECKF(fabsf(x[i] - y[i]) <= tol, "%s(%g) = %g", dtype_name(t), x[i], y[i]);
        }
    }
    /* F32 is a copy */
    CHECK(quant_quantize_row(DTYPE_F32, x, q, 64) == 0 && memcmp(q, x, 256) == 0);
    CHECK(quant_dequantize_row(DTYPE_F32, q, y, 64) == 0 && memcmp(y, x, 256) == 0);
}

int main(void) {
    rng = test_seed() | 1;
    float_types();
    roundtrip_types();
    return test_finish();
}
