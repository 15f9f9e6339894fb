/* quant.c — dispatch for the weight formats, plus the plain float types
 * (F32, F16, BF16) and the 32-element block types (Q8_0, Q4_0, Q4_1, Q5_0,
 * Q5_1): dequantization, the reference quantizers, and the reference dot
 * product. The 256-element K-quants live in quant_k.c.
 *
 * Block layouts (bytes, little-endian; see quant.h for the value formulas):
 *
 *   Q8_0  off size  field            Q4_0  off size  field
 *         0   2     d  (f16)               0   2     d  (f16)
 *         2   32    qs (int8 x32)          2   16    qs: element j in the low
 *                                                     nibble of qs[j], j+16 high
 *
 *   Q4_1  off size  field            Q5_0  off size  field
 *         0   2     d  (f16)               0   2     d  (f16)
 *         2   2     m  (f16)               2   4     qh: bit j = 5th bit of
 *         4   16    qs (as Q4_0)                     element j (u32 LE)
 *                                          6   16    qs (as Q4_0, low 4 bits)
 *
 *   Q5_1  off size  field
 *         0   2     d, 2 2 m (f16)
 *         4   4     qh, 8 16 qs (as Q5_0)
 *
 * The quantizers reproduce the published reference converter: the block scale
 * is computed in float, its inverse is taken from that float value (not from
 * the f16 that gets stored), and codes come from x * inverse. This is what
 * makes our Q8_0 blocks byte-identical to converted files. */
#include "quant/quant.h"

#include <math.h>
#include <string.h>

#include "core/err.h"
#include "quant/quant_k.h"

/* ---- helpers ------------------------------------------------------------ */

/* Clamps to [lo, hi] before an integer conversion; NaN becomes lo, so no
 * input (NaN/inf weights) makes the float->int conversion undefined. */
static inline int quant_clampi(float v, float lo, float hi) {
    v = fmaxf(v, lo);
    v = fminf(v, hi);
    return (int)v;
}

/* Value of largest magnitude in x[0..n), with its sign (first one on ties). */
static inline float quant_signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (a > amax) {
            amax = a;
            max = x[j];
        }
    }
    return max;
}

static inline uint32_t quant_load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void quant_store_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- float types --------------------------------------------------------- */

static void dequant_f16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        y[i] = dtype_f16_to_f32(h);
    }
}

static void dequant_bf16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        y[i] = dtype_bf16_to_f32(h);
    }
}

static void quant_f16(const float *x, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = dtype_f32_to_f16(x[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

static void quant_bf16(const float *x, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = dtype_f32_to_bf16(x[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

/* ---- Q8_0 ------------------------------------------------------------------ */

static void dequant_q8_0(const void *src, float *y, int64_t nb) {
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = dtype_f16_to_f32(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = d * (float)b[i].qs[j];
    }
}

static void quant_q8_0(const float *x, void *dst, int64_t nb) {
    block_q8_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = dtype_f32_to_f16(d);
        for (int j = 0; j < 32; j++) {
            /* roundf: half away from zero, as the reference converter rounds */
            b[i].qs[j] = (int8_t)quant_clampi(roundf(x[j] * id), -127.0f, 127.0f);
        }
    }
}

/* ---- Q4_0 / Q4_1 ------------------------------------------------------------ */

static void dequant_q4_0(const void *src, float *y, int64_t nb) {
    const block_q4_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = dtype_f16_to_f32(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((b[i].qs[j] & 0x0F) - 8);
            y[j + 16] = d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

static void quant_q4_0(const float *x, void *dst, int64_t nb) {
    block_q4_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += 32) {
        /* The signed extreme maps to -8, so the full [-8, 7] range is used. */
        float d = quant_signed_absmax(x, 32) / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = dtype_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            int lo = quant_clampi(x[j] * id + 8.5f, 0.0f, 15.0f);
            int hi = quant_clampi(x[j + 16] * id + 8.5f, 0.0f, 15.0f);
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

static void dequant_q4_1(const void *src, float *y, int64_t nb) {
    const block_q4_1 *b = src;
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = dtype_f16_to_f32(b[i].d), m = dtype_f16_to_f32(b[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(b[i].qs[j] & 0x0F) + m;
            y[j + 16] = d * (float)(b[i].qs[j] >> 4) + m;
        }
    }
}

static void quant_q4_1(const float *x, void *dst, int64_t nb) {
    block_q4_1 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float min = x[0], max = x[0];
        for (int j = 1; j < 32; j++) {
            min = fminf(min, x[j]);
            max = fmaxf(max, x[j]);
        }
        float d = (max - min) / 15.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = dtype_f32_to_f16(d);
        b[i].m = dtype_f32_to_f16(min);
        for (int j = 0; j < 16; j++) {
            int lo = quant_clampi((x[j] - min) * id + 0.5f, 0.0f, 15.0f);
            int hi = quant_clampi((x[j + 16] - min) * id + 0.5f, 0.0f, 15.0f);
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* ---- Q5_0 / Q5_1 ------------------------------------------------------------ */

static void dequant_q5_0(const void *src, float *y, int64_t nb) {
    const block_q5_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = dtype_f16_to_f32(b[i].d);
        uint32_t qh = quant_load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * (float)(lo - 16);
            y[j + 16] = d * (float)(hi - 16);
        }
    }
}

static void quant_q5_0(const float *x, void *dst, int64_t nb) {
    block_q5_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float d = quant_signed_absmax(x, 32) / -16.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = dtype_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = quant_clampi(x[j] * id + 16.5f, 0.0f, 31.0f);
            int hi = quant_clampi(x[j + 16] * id + 16.5f, 0.0f, 31.0f);
            b[i].qs[j] = (uint8_t)((lo & 0x0F) | (hi & 0x0F) << 4);
            qh |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        quant_store_u32(b[i].qh, qh);
    }
}

static void dequant_q5_1(const void *src, float *y, int64_t nb) {
    const block_q5_1 *b = src;
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = dtype_f16_to_f32(b[i].d), m = dtype_f16_to_f32(b[i].m);
        uint32_t qh = quant_load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * (float)lo + m;
            y[j + 16] = d * (float)hi + m;
        }
    }
}

static void quant_q5_1(const float *x, void *dst, int64_t nb) {
    block_q5_1 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float min = x[0], max = x[0];
        for (int j = 1; j < 32; j++) {
            min = fminf(min, x[j]);
            max = fmaxf(max, x[j]);
        }
        float d = (max - min) / 31.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = dtype_f32_to_f16(d);
        b[i].m = dtype_f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = quant_clampi((x[j] - min) * id + 0.5f, 0.0f, 31.0f);
            int hi = quant_clampi((x[j + 16] - min) * id + 0.5f, 0.0f, 31.0f);
            b[i].qs[j] = (uint8_t)((lo & 0x0F) | (hi & 0x0F) << 4);
            qh |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        quant_store_u32(b[i].qh, qh);
    }
}

/* ---- dispatch ------------------------------------------------------------- */

/* Checks t and n; returns the number of blocks, or -1 (message set). */
static int64_t quant_blocks(uint32_t t, int64_t n, const char *what) {
    uint32_t bs = dtype_block_size(t);
    if (!dtype_supported(t) || bs == 0) {
        err_set(VKLLM_ERR_UNSUPPORTED, "quant: %s: unsupported type %s (%u)", what, dtype_name(t),
                (unsigned)t);
        return -1;
    }
    if (n < 0 || n % bs != 0) {
        err_set(VKLLM_ERR_INVALID_ARG, "quant: %s: %s row of %lld elements is not a multiple of %u",
                what, dtype_name(t), (long long)n, (unsigned)bs);
        return -1;
    }
    return n / bs;
}

int quant_dequantize_row(uint32_t t, const void *src, float *dst, int64_t n) {
    int64_t nb = quant_blocks(t, n, "dequantize");
    if (nb < 0) return -1;
    switch (t) {
    case DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return 0;
    case DTYPE_F16: dequant_f16(src, dst, n); return 0;
    case DTYPE_BF16: dequant_bf16(src, dst, n); return 0;
    case DTYPE_Q8_0: dequant_q8_0(src, dst, nb); return 0;
    case DTYPE_Q4_0: dequant_q4_0(src, dst, nb); return 0;
    case DTYPE_Q4_1: dequant_q4_1(src, dst, nb); return 0;
    case DTYPE_Q5_0: dequant_q5_0(src, dst, nb); return 0;
    case DTYPE_Q5_1: dequant_q5_1(src, dst, nb); return 0;
    case DTYPE_Q4_K: quant_k_dequantize_q4_k(src, dst, nb); return 0;
    case DTYPE_Q5_K: quant_k_dequantize_q5_k(src, dst, nb); return 0;
    case DTYPE_Q6_K: quant_k_dequantize_q6_k(src, dst, nb); return 0;
    default: break;
    }
    err_set(VKLLM_ERR_UNSUPPORTED, "quant: dequantize: no dequantizer for %s", dtype_name(t));
    return -1;
}

int quant_quantize_row(uint32_t t, const float *src, void *dst, int64_t n) {
    int64_t nb = quant_blocks(t, n, "quantize");
    if (nb < 0) return -1;
    switch (t) {
    case DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return 0;
    case DTYPE_F16: quant_f16(src, dst, n); return 0;
    case DTYPE_BF16: quant_bf16(src, dst, n); return 0;
    case DTYPE_Q8_0: quant_q8_0(src, dst, nb); return 0;
    case DTYPE_Q4_0: quant_q4_0(src, dst, nb); return 0;
    case DTYPE_Q4_1: quant_q4_1(src, dst, nb); return 0;
    case DTYPE_Q5_0: quant_q5_0(src, dst, nb); return 0;
    case DTYPE_Q5_1: quant_q5_1(src, dst, nb); return 0;
    case DTYPE_Q4_K: quant_k_quantize_q4_k(src, dst, nb); return 0;
    case DTYPE_Q5_K: quant_k_quantize_q5_k(src, dst, nb); return 0;
    case DTYPE_Q6_K: quant_k_quantize_q6_k(src, dst, nb); return 0;
    default: break;
    }
    err_set(VKLLM_ERR_UNSUPPORTED, "quant: quantize: no quantizer for %s", dtype_name(t));
    return -1;
}

float quant_dot_f32(uint32_t t, const void *row, const float *x, int64_t n) {
    int64_t nb = quant_blocks(t, n, "dot");
    if (nb < 0) return NAN;
    if (t == DTYPE_F32) {
        const float *w = row;
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) acc += (double)w[i] * (double)x[i];
        return (float)acc;
    }
    /* Dequantize a chunk of whole blocks at a time (QK_K elements fit every
     * type's block) into the stack buffer, then dot it with x. */
    uint32_t bs = dtype_block_size(t), ts = dtype_type_size(t);
    int64_t per_chunk = QK_K / bs;
    float buf[QK_K];
    const uint8_t *p = row;
    double acc = 0.0;
    for (int64_t b = 0; b < nb; b += per_chunk) {
        int64_t nblk = nb - b < per_chunk ? nb - b : per_chunk;
        int64_t ne = nblk * bs;
        if (quant_dequantize_row(t, p + b * ts, buf, ne) != 0) return NAN;
        for (int64_t j = 0; j < ne; j++) acc += (double)buf[j] * (double)x[b * bs + j];
    }
    return (float)acc;
}

int quant_fallback_type(uint32_t t, int64_t ne0) {
    uint32_t bs = dtype_block_size(t);
    if (!dtype_supported(t) || bs == 0 || ne0 <= 0) return -1;
    if (ne0 % bs == 0) return (int)t;
    /* K-quants fall back to the 32-element type of similar size and quality,
     * everything else (and rows not a multiple of 32) to F16. */
    if (ne0 % QK8_0 == 0) {
        switch (t) {
        case DTYPE_Q4_K: return DTYPE_Q5_0;
        case DTYPE_Q5_K: return DTYPE_Q5_1;
        case DTYPE_Q6_K: return DTYPE_Q8_0;
        default: break;
        }
    }
    return DTYPE_F16;
}
