/* quant_k.c — the K-quants: 256-element super-blocks split into sub-blocks
 * whose scales (and mins) are themselves quantized against one f16 scale.
 *
 *   Q4_K (144 B)  off size  field
 *                 0   2     d    (f16) scale of the sub-block scales
 *                 2   2     dmin (f16) scale of the sub-block mins
 *                 4   12    scales: eight 6-bit scales sc[j] and mins m[j]:
 *                             byte i   (i<4): sc[i]   | (sc[i+4] >> 4) << 6
 *                             byte 4+i (i<4): m[i]    | (m[i+4]  >> 4) << 6
 *                             byte 8+i (i<4): (sc[i+4] & 15) | (m[i+4] & 15) << 4
 *                 16  128   qs: 64-element chunk c (0..3) uses qs[32c..32c+32):
 *                             element 64c+l    = low nibble of qs[32c+l] (sub-block 2c)
 *                             element 64c+32+l = high nibble            (sub-block 2c+1)
 *     x = d*sc[j]*q - dmin*m[j], q in 0..15, j = element / 32.
 *
 *   Q5_K (176 B)  as Q4_K, with qh[32] at offset 16 and qs at 48: the 5th bit of
 *                 element 64c+l is bit 2c of qh[l], of element 64c+32+l bit 2c+1.
 *                 q in 0..31.
 *
 *   Q6_K (210 B)  off size  field
 *                 0   128   ql: low 4 bits
 *                 128 64    qh: high 2 bits
 *                 192 16    scales (int8), one per 16 consecutive elements
 *                 208 2     d (f16)
 *     Half h (0..1) covers elements 128h..128h+128 with ql[64h..], qh[32h..];
 *     within it, element 32p+l (p = 0..3, l = 0..31) has its low bits in
 *     ql[64h + l + 32*(p&1)] (low nibble for p<2, high nibble for p>=2) and its
 *     high bits in bits 2p..2p+1 of qh[32h+l].  x = d*scales[e/16]*(q-32).
 *
 * The quantizers are our own: for each sub-block a small search over inverse
 * scales around the min/max one, each candidate's codes re-fitted by least
 * squares, then a few rounds of re-coding; the sub-block scales are then coded
 * against a super-block f16 scale rounded up so that no code overflows. They
 * minimise plain squared error and are not byte-compatible with any converter. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/dtype.h"
#include "quant/quant.h"
#include "quant/quant_k.h"

#define QK_SEARCH_STEPS 10 /* candidates at nmax + 0.1*k for |k| <= this */
#define QK_REFINE_ROUNDS 3

/* Rounds to nearest and clamps to [lo, hi]; NaN gives lo (no UB on bad input). */
static inline int qk_code(float v, float lo, float hi) {
    v = fmaxf(v, lo);
    v = fminf(v, hi);
    return (int)roundf(v);
}

/* The smallest f16 that is >= v (v >= 0 finite): the super-block scale must not
 * round down, or the largest sub-block scale would need a code above the max. */
static uint16_t qk_f16_ceil(float v) {
    uint16_t h = dtype_f32_to_f16(v);
    if (dtype_f16_to_f32(h) < v && h < 0x7C00) h++;
    return h;
}

/* ---- affine fit for Q4_K / Q5_K sub-blocks: x ~ s*q + b, q in 0..nmax,
 * s >= 0, b <= 0 (b is stored as a non-negative min, subtracted) -------------- */

/* Least squares for (s, b) given codes q; returns the squared error. */
static float qk_fit_affine(const float *x, const uint8_t *q, int n, float *s, float *b) {
    float sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int i = 0; i < n; i++) {
        float qi = (float)q[i];
        sq += qi;
        sqq += qi * qi;
        sx += x[i];
        sxq += x[i] * qi;
    }
    float det = (float)n * sqq - sq * sq;
    float ss, bb;
    if (det > 0.0f) {
        ss = ((float)n * sxq - sq * sx) / det;
        bb = (sx - ss * sq) / (float)n;
        if (bb > 0.0f) { /* the offset may only subtract: refit through 0 */
            bb = 0.0f;
            ss = sxq / sqq;
        }
    } else if (sqq > 0.0f && sx > 0.0f) { /* all codes equal and non-zero */
        ss = sxq / sqq;
        bb = 0.0f;
    } else {
        ss = 0.0f;
        bb = fminf(sx / (float)n, 0.0f);
    }
    if (!(ss >= 0.0f)) {
        ss = 0.0f;
        bb = fminf(sx / (float)n, 0.0f);
    }
    float err = 0.0f;
    for (int i = 0; i < n; i++) {
        float e = ss * (float)q[i] + bb - x[i];
        err += e * e;
    }
    *s = ss;
    *b = bb;
    return err;
}

static void qk_best_affine(const float *x, int n, int nmax, float *s_out, float *b_out) {
    float min = x[0], max = x[0];
    for (int i = 1; i < n; i++) {
        min = fminf(min, x[i]);
        max = fmaxf(max, x[i]);
    }
    min = fminf(min, 0.0f);
    if (!(max > min)) { /* constant non-positive block (or NaN): offset only */
        *s_out = 0.0f;
        *b_out = min;
        return;
    }
    uint8_t q[32];
    float best = FLT_MAX, bs = 0.0f, bb = min;
    for (int k = -QK_SEARCH_STEPS; k <= QK_SEARCH_STEPS; k++) {
        float iscale = ((float)nmax + 0.1f * (float)k) / (max - min);
        for (int i = 0; i < n; i++) q[i] = (uint8_t)qk_code(iscale * (x[i] - min), 0.0f, (float)nmax);
        float s, b, err = qk_fit_affine(x, q, n, &s, &b);
        if (err < best) {
            best = err;
            bs = s;
            bb = b;
        }
    }
    for (int r = 0; r < QK_REFINE_ROUNDS && bs > 0.0f; r++) {
        float inv = 1.0f / bs;
        for (int i = 0; i < n; i++) q[i] = (uint8_t)qk_code((x[i] - bb) * inv, 0.0f, (float)nmax);
        float s, b, err = qk_fit_affine(x, q, n, &s, &b);
        if (!(err < best)) break;
        best = err;
        bs = s;
        bb = b;
    }
    *s_out = bs;
    *b_out = bb;
}

/* Codes the 8 sub-block (scale, -offset) pairs of one super-block as 6-bit
 * integers against f16 d/dmin; writes d, dmin, the packed scales and the
 * effective per-sub-block scale and min for re-coding. */
static void qk_code_scales(const float *x, int nmax, uint16_t *d_out, uint16_t *dmin_out,
                           uint8_t scales[12], float eff_s[8], float eff_m[8]) {
    float s[8], m[8], max_s = 0.0f, max_m = 0.0f;
    for (int j = 0; j < 8; j++) {
        float b;
        qk_best_affine(x + 32 * j, 32, nmax, &s[j], &b);
        m[j] = -b;
        max_s = fmaxf(max_s, s[j]);
        max_m = fmaxf(max_m, m[j]);
    }
    uint16_t hd = qk_f16_ceil(max_s / 63.0f), hm = qk_f16_ceil(max_m / 63.0f);
    float d = dtype_f16_to_f32(hd), dmin = dtype_f16_to_f32(hm);
    float id = d > 0.0f ? 1.0f / d : 0.0f, idm = dmin > 0.0f ? 1.0f / dmin : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)qk_code(s[j] * id, 0.0f, 63.0f);
        lm[j] = (uint8_t)qk_code(m[j] * idm, 0.0f, 63.0f);
        eff_s[j] = d * (float)ls[j];
        eff_m[j] = dmin * (float)lm[j];
    }
    for (int i = 0; i < 4; i++) {
        scales[i] = (uint8_t)(ls[i] | (ls[i + 4] >> 4) << 6);
        scales[i + 4] = (uint8_t)(lm[i] | (lm[i + 4] >> 4) << 6);
        scales[i + 8] = (uint8_t)((ls[i + 4] & 15) | (lm[i + 4] & 15) << 4);
    }
    *d_out = hd;
    *dmin_out = hm;
}

/* Final codes of one super-block against the coded scales. */
static void qk_recode_affine(const float *x, int nmax, const float eff_s[8], const float eff_m[8],
                             uint8_t q[QK_K]) {
    for (int j = 0; j < 8; j++) {
        float inv = eff_s[j] > 0.0f ? 1.0f / eff_s[j] : 0.0f;
        for (int i = 0; i < 32; i++)
            q[32 * j + i] = (uint8_t)qk_code((x[32 * j + i] + eff_m[j]) * inv, 0.0f, (float)nmax);
    }
}

static void qk_unpack_scales(const uint8_t scales[12], uint8_t sc[8], uint8_t mn[8]) {
    for (int i = 0; i < 4; i++) {
        sc[i] = scales[i] & 63;
        mn[i] = scales[i + 4] & 63;
        sc[i + 4] = (uint8_t)((scales[i + 8] & 15) | (scales[i] >> 6) << 4);
        mn[i + 4] = (uint8_t)((scales[i + 8] >> 4) | (scales[i + 4] >> 6) << 4);
    }
}

/* ---- Q4_K ------------------------------------------------------------------ */

void quant_k_dequantize_q4_k(const void *src, float *y, int64_t nb) {
    const block_q4_k *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        float d = dtype_f16_to_f32(b[i].d), dmin = dtype_f16_to_f32(b[i].dmin);
        uint8_t sc[8], mn[8];
        qk_unpack_scales(b[i].scales, sc, mn);
        for (int c = 0; c < 4; c++) {
            const uint8_t *qs = b[i].qs + 32 * c;
            float d0 = d * (float)sc[2 * c], m0 = dmin * (float)mn[2 * c];
            float d1 = d * (float)sc[2 * c + 1], m1 = dmin * (float)mn[2 * c + 1];
            for (int l = 0; l < 32; l++) {
                y[64 * c + l] = d0 * (float)(qs[l] & 15) - m0;
                y[64 * c + 32 + l] = d1 * (float)(qs[l] >> 4) - m1;
            }
        }
    }
}

void quant_k_quantize_q4_k(const float *x, void *dst, int64_t nb) {
    block_q4_k *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float eff_s[8], eff_m[8];
        uint8_t q[QK_K];
        qk_code_scales(x, 15, &b[i].d, &b[i].dmin, b[i].scales, eff_s, eff_m);
        qk_recode_affine(x, 15, eff_s, eff_m, q);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b[i].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | q[64 * c + 32 + l] << 4);
    }
}

/* ---- Q5_K ------------------------------------------------------------------ */

void quant_k_dequantize_q5_k(const void *src, float *y, int64_t nb) {
    const block_q5_k *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        float d = dtype_f16_to_f32(b[i].d), dmin = dtype_f16_to_f32(b[i].dmin);
        uint8_t sc[8], mn[8];
        qk_unpack_scales(b[i].scales, sc, mn);
        for (int c = 0; c < 4; c++) {
            const uint8_t *qs = b[i].qs + 32 * c;
            float d0 = d * (float)sc[2 * c], m0 = dmin * (float)mn[2 * c];
            float d1 = d * (float)sc[2 * c + 1], m1 = dmin * (float)mn[2 * c + 1];
            for (int l = 0; l < 32; l++) {
                int h0 = (b[i].qh[l] >> (2 * c)) & 1, h1 = (b[i].qh[l] >> (2 * c + 1)) & 1;
                y[64 * c + l] = d0 * (float)((qs[l] & 15) | h0 << 4) - m0;
                y[64 * c + 32 + l] = d1 * (float)((qs[l] >> 4) | h1 << 4) - m1;
            }
        }
    }
}

void quant_k_quantize_q5_k(const float *x, void *dst, int64_t nb) {
    block_q5_k *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float eff_s[8], eff_m[8];
        uint8_t q[QK_K];
        qk_code_scales(x, 31, &b[i].d, &b[i].dmin, b[i].scales, eff_s, eff_m);
        qk_recode_affine(x, 31, eff_s, eff_m, q);
        memset(b[i].qh, 0, sizeof b[i].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
                b[i].qs[32 * c + l] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
                b[i].qh[l] |= (uint8_t)((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
            }
        }
    }
}

/* ---- Q6_K: symmetric fit x ~ s*q, q in -32..31, s of either sign --------- */

static float qk_fit_sym(const float *x, const int8_t *q, int n, float *s) {
    float sxq = 0, sqq = 0, sxx = 0;
    for (int i = 0; i < n; i++) {
        sxq += x[i] * (float)q[i];
        sqq += (float)q[i] * (float)q[i];
        sxx += x[i] * x[i];
    }
    *s = sqq > 0.0f ? sxq / sqq : 0.0f;
    return sqq > 0.0f ? sxx - sxq * sxq / sqq : sxx;
}

static float qk_best_sym(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (!(amax > 0.0f)) return 0.0f;
    int8_t q[16];
    float best = FLT_MAX, bs = 0.0f;
    /* The extreme value goes to the -32 end, which has one more step. */
    for (int k = -QK_SEARCH_STEPS; k <= QK_SEARCH_STEPS; k++) {
        float iscale = -(32.0f + 0.1f * (float)k) / max;
        for (int i = 0; i < n; i++) q[i] = (int8_t)qk_code(iscale * x[i], -32.0f, 31.0f);
        float s, err = qk_fit_sym(x, q, n, &s);
        if (err < best) {
            best = err;
            bs = s;
        }
    }
    for (int r = 0; r < QK_REFINE_ROUNDS && bs != 0.0f; r++) {
        float inv = 1.0f / bs;
        for (int i = 0; i < n; i++) q[i] = (int8_t)qk_code(x[i] * inv, -32.0f, 31.0f);
        float s, err = qk_fit_sym(x, q, n, &s);
        if (!(err < best)) break;
        best = err;
        bs = s;
    }
    return bs;
}

void quant_k_dequantize_q6_k(const void *src, float *y, int64_t nb) {
    const block_q6_k *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        float d = dtype_f16_to_f32(b[i].d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b[i].ql + 64 * h, *qh = b[i].qh + 32 * h;
            const int8_t *sc = b[i].scales + 8 * h;
            float *yh = y + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q0 = (ql[l] & 15) | ((qh[l] >> 0) & 3) << 4;
                int q1 = (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4;
                int q2 = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4;
                int q3 = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4;
                yh[l] = d * (float)sc[l / 16] * (float)(q0 - 32);
                yh[l + 32] = d * (float)sc[2 + l / 16] * (float)(q1 - 32);
                yh[l + 64] = d * (float)sc[4 + l / 16] * (float)(q2 - 32);
                yh[l + 96] = d * (float)sc[6 + l / 16] * (float)(q3 - 32);
            }
        }
    }
}

void quant_k_quantize_q6_k(const float *x, void *dst, int64_t nb) {
    block_q6_k *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float s[16], amax = 0.0f;
        for (int j = 0; j < 16; j++) {
            s[j] = qk_best_sym(x + 16 * j, 16);
            amax = fmaxf(amax, fabsf(s[j]));
        }
        uint16_t hd = qk_f16_ceil(amax / 127.0f);
        float d = dtype_f16_to_f32(hd), id = d > 0.0f ? 1.0f / d : 0.0f;
        uint8_t q[QK_K]; /* biased codes 0..63 */
        for (int j = 0; j < 16; j++) {
            int ls = qk_code(s[j] * id, -127.0f, 127.0f);
            b[i].scales[j] = (int8_t)ls;
            float eff = d * (float)ls, inv = eff != 0.0f ? 1.0f / eff : 0.0f;
            for (int l = 0; l < 16; l++)
                q[16 * j + l] = (uint8_t)(qk_code(x[16 * j + l] * inv, -32.0f, 31.0f) + 32);
        }
        b[i].d = hd;
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = b[i].ql + 64 * h, *qh = b[i].qh + 32 * h;
            const uint8_t *qq = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((qq[l] & 15) | (qq[l + 64] & 15) << 4);
                ql[l + 32] = (uint8_t)((qq[l + 32] & 15) | (qq[l + 96] & 15) << 4);
                qh[l] = (uint8_t)((qq[l] >> 4) | (qq[l + 32] >> 4) << 2 | (qq[l + 64] >> 4) << 4 |
                                  (qq[l + 96] >> 4) << 6);
            }
        }
    }
}
