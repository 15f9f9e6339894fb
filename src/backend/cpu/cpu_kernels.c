/* cpu_kernels.c — portable (scalar) CPU kernels and the kernel table.
 *
 * Each quantized format is read through one unpacker that turns a 32-value
 * sub-block into int8 q[32] with x[i] = d[i / 16] * q[i] + m (two scales
 * because Q6_K scales 16 values at a time). The scalar dot products and the
 * dequantizer used by embedding lookups go through these unpackers; the
 * AVX2 kernels decode the same layouts on their own. Layouts: src/quant/quant.h. */
#include "backend/cpu/cpu_kernels.h"

#include <string.h>

#include "core/dtype.h"
#include "quant/quant.h"

typedef struct sub_block {
    int8_t q[32];
    float d[2]; /* scale of q[0..15], q[16..31] */
    float m;    /* offset added to every value */
} sub_block;

static float f16(uint16_t h) { return dtype_f16_to_f32(h); }

static void unpack_q8_0(const void *blk, int sub, sub_block *o) {
    const block_q8_0 *b = blk;
    (void)sub;
    memcpy(o->q, b->qs, 32);
    o->d[0] = o->d[1] = f16(b->d);
    o->m = 0.0f;
}

static void unpack_q4_0(const void *blk, int sub, sub_block *o) {
    const block_q4_0 *b = blk;
    (void)sub;
    for (int j = 0; j < 16; j++) {
        o->q[j] = (int8_t)((b->qs[j] & 15) - 8);
        o->q[j + 16] = (int8_t)((b->qs[j] >> 4) - 8);
    }
    o->d[0] = o->d[1] = f16(b->d);
    o->m = 0.0f;
}

static void unpack_q4_1(const void *blk, int sub, sub_block *o) {
    const block_q4_1 *b = blk;
    (void)sub;
    for (int j = 0; j < 16; j++) {
        o->q[j] = (int8_t)(b->qs[j] & 15);
        o->q[j + 16] = (int8_t)(b->qs[j] >> 4);
    }
    o->d[0] = o->d[1] = f16(b->d);
    o->m = f16(b->m);
}

static uint32_t rd_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void unpack_q5(const uint8_t *qh4, const uint8_t *qs, int offset, sub_block *o) {
    uint32_t qh = rd_u32le(qh4);
    for (int j = 0; j < 16; j++) {
        o->q[j] = (int8_t)(((qs[j] & 15) | ((qh >> j) & 1) << 4) - offset);
        o->q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - offset);
    }
}

static void unpack_q5_0(const void *blk, int sub, sub_block *o) {
    const block_q5_0 *b = blk;
    (void)sub;
    unpack_q5(b->qh, b->qs, 16, o);
    o->d[0] = o->d[1] = f16(b->d);
    o->m = 0.0f;
}

static void unpack_q5_1(const void *blk, int sub, sub_block *o) {
    const block_q5_1 *b = blk;
    (void)sub;
    unpack_q5(b->qh, b->qs, 0, o);
    o->d[0] = o->d[1] = f16(b->d);
    o->m = f16(b->m);
}

/* The 12 scale bytes of Q4_K/Q5_K hold eight 6-bit (scale, min) pairs:
 * pairs 0..3 in the low 6 bits of bytes 0..3 (scale) and 4..7 (min);
 * pairs 4..7 take their low 4 bits from the nibbles of bytes 8..11 and
 * their top 2 bits from the top bits of bytes 0..3 (scale) / 4..7 (min). */
static void kscale(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q4_K: sub-block s lives in the low (even s) or high (odd s) nibbles of
 * qs[32 * (s / 2) .. + 32]. Q5_K adds bit s of qh[l] as bit 4 of value l. */
static void unpack_qk(const uint16_t *dd, const uint8_t *scales, const uint8_t *qh,
                      const uint8_t *qs, int s, sub_block *o) {
    const uint8_t *q = qs + 32 * (s / 2);
    int shift = (s & 1) ? 4 : 0;
    for (int l = 0; l < 32; l++) {
        int v = (q[l] >> shift) & 15;
        if (qh) v |= ((qh[l] >> s) & 1) << 4;
        o->q[l] = (int8_t)v;
    }
    int sc, mn;
    kscale(scales, s, &sc, &mn);
    o->d[0] = o->d[1] = f16(dd[0]) * (float)sc;
    o->m = -f16(dd[1]) * (float)mn;
}

static void unpack_q4_k(const void *blk, int sub, sub_block *o) {
    const block_q4_k *b = blk;
    uint16_t dd[2] = {b->d, b->dmin};
    unpack_qk(dd, b->scales, NULL, b->qs, sub, o);
}

static void unpack_q5_k(const void *blk, int sub, sub_block *o) {
    const block_q5_k *b = blk;
    uint16_t dd[2] = {b->d, b->dmin};
    unpack_qk(dd, b->scales, b->qh, b->qs, sub, o);
}

/* Q6_K: the 256 values are two halves of 128; in half h, quarter k (values
 * 32k..32k+31) takes its low 4 bits from the low (k even) or high (k odd)
 * nibbles of ql[64h + 32(k&1) + l] and its top 2 bits from bits 2k..2k+1 of
 * qh[32h + l]; values 16 at a time share scale scales[8h + 2k + l/16]. */
static void unpack_q6_k(const void *blk, int sub, sub_block *o) {
    const block_q6_k *b = blk;
    int h = sub / 4, k = sub % 4;
    const uint8_t *ql = b->ql + 64 * h + 32 * (k & 1);
    const uint8_t *qh = b->qh + 32 * h;
    int shift = (k & 2) ? 4 : 0;
    for (int l = 0; l < 32; l++)
        o->q[l] = (int8_t)((((ql[l] >> shift) & 15) | ((qh[l] >> (2 * k)) & 3) << 4) - 32);
    float d = f16(b->d);
    o->d[0] = d * (float)b->scales[8 * h + 2 * k];
    o->d[1] = d * (float)b->scales[8 * h + 2 * k + 1];
    o->m = 0.0f;
}

typedef void (*unpack_fn)(const void *blk, int sub, sub_block *o);

typedef struct qtype {
    unpack_fn unpack;
    int block_bytes, n_sub; /* bytes and 32-value sub-blocks per block */
    int has_m;              /* the format adds an offset m */
} qtype;

static int qtype_get(uint32_t t, qtype *q) {
    switch (t) {
    case DTYPE_Q8_0: *q = (qtype){unpack_q8_0, sizeof(block_q8_0), 1, 0}; return 0;
    case DTYPE_Q4_0: *q = (qtype){unpack_q4_0, sizeof(block_q4_0), 1, 0}; return 0;
    case DTYPE_Q4_1: *q = (qtype){unpack_q4_1, sizeof(block_q4_1), 1, 1}; return 0;
    case DTYPE_Q5_0: *q = (qtype){unpack_q5_0, sizeof(block_q5_0), 1, 0}; return 0;
    case DTYPE_Q5_1: *q = (qtype){unpack_q5_1, sizeof(block_q5_1), 1, 1}; return 0;
    case DTYPE_Q4_K: *q = (qtype){unpack_q4_k, sizeof(block_q4_k), 8, 1}; return 0;
    case DTYPE_Q5_K: *q = (qtype){unpack_q5_k, sizeof(block_q5_k), 8, 1}; return 0;
    case DTYPE_Q6_K: *q = (qtype){unpack_q6_k, sizeof(block_q6_k), 8, 0}; return 0;
    default: return -1;
    }
}

/* The scalar quantized dot: each sub-block is unpacked once for every
 * token. Per token, 8 lanes of partial sums over the sub-block's two halves
 * are scaled into one of two accumulator sets (alternating sub-blocks);
 * offset formats are expanded to d * q + m first and scaled by 1. The loops
 * over the 8 lanes vectorize. */
static inline void qdot_generic(const qtype *qt, const void *row, const float *x, size_t xs,
                                int n_tok, int64_t n, float *out, size_t os) {
    float acc[CPU_TILE][2][8] = {{{0}}};
    const uint8_t *blk = row;
    sub_block sb;
    float w[32];
    for (int64_t i = 0; i < n / 32; i += qt->n_sub, blk += qt->block_bytes) {
        for (int s = 0; s < qt->n_sub; s++) {
            qt->unpack(blk, s, &sb);
            float d0 = sb.d[0], d1 = sb.d[1];
            if (qt->has_m) {
                for (int l = 0; l < 32; l++) w[l] = sb.d[l / 16] * (float)sb.q[l] + sb.m;
                d0 = d1 = 1.0f;
            } else {
                for (int l = 0; l < 32; l++) w[l] = (float)sb.q[l];
            }
            int64_t j = i + s;
            for (int t = 0; t < n_tok; t++) {
                const float *xt = x + (size_t)t * xs + 32 * (size_t)j;
                float *a = acc[t][j & 1];
                for (int k = 0; k < 8; k++) {
                    float lo = w[k] * xt[k] + w[k + 8] * xt[k + 8];
                    float hi = w[k + 16] * xt[k + 16] + w[k + 24] * xt[k + 24];
                    a[k] += d0 * lo + d1 * hi;
                }
            }
        }
    }
    for (int t = 0; t < n_tok; t++) {
        float p[8];
        for (int k = 0; k < 8; k++) p[k] = acc[t][0][k] + acc[t][1][k];
        out[(size_t)t * os] = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    }
}

#define QDOT_SCALAR(name, type)                                                                    \
    static void name(const void *row, const float *x, size_t xs, int n_tok, int64_t n, float *out, \
                     size_t os) {                                                                  \
        qtype qt;                                                                                  \
        qtype_get(type, &qt);                                                                      \
        qdot_generic(&qt, row, x, xs, n_tok, n, out, os);                                          \
    }
QDOT_SCALAR(qdot_q8_0, DTYPE_Q8_0)
QDOT_SCALAR(qdot_q4_0, DTYPE_Q4_0)
QDOT_SCALAR(qdot_q4_1, DTYPE_Q4_1)
QDOT_SCALAR(qdot_q5_0, DTYPE_Q5_0)
QDOT_SCALAR(qdot_q5_1, DTYPE_Q5_1)
QDOT_SCALAR(qdot_q4_k, DTYPE_Q4_K)
QDOT_SCALAR(qdot_q5_k, DTYPE_Q5_K)
QDOT_SCALAR(qdot_q6_k, DTYPE_Q6_K)

/* Float kernels: 8 partial sums per token so compilers can vectorize and the
 * rounding error grows with n / 8 rather than n. */
#define FDOT_SCALAR(name, elem_t, load)                                                            \
    static void name(const void *rowp, const float *x, size_t x_stride, int n_tok, int64_t n,     \
                     float *out, size_t out_stride) {                                              \
        const elem_t *row = rowp;                                                                  \
        for (int t = 0; t < n_tok; t++) {                                                          \
            const float *xt = x + (size_t)t * x_stride;                                            \
            float p[8] = {0};                                                                      \
            int64_t i = 0;                                                                         \
            for (; i + 8 <= n; i += 8)                                                             \
                for (int k = 0; k < 8; k++) p[k] += load(row[i + k]) * xt[i + k];                  \
            for (; i < n; i++) p[0] += load(row[i]) * xt[i];                                       \
            out[(size_t)t * out_stride] =                                                          \
                ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));                 \
        }                                                                                          \
    }
#define LOAD_F32(v) (v)
FDOT_SCALAR(fdot_f32, float, LOAD_F32)
FDOT_SCALAR(fdot_f16, uint16_t, dtype_f16_to_f32)
FDOT_SCALAR(fdot_bf16, uint16_t, dtype_bf16_to_f32)

int cpu_kernels_have_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

int cpu_kernels_simd_level(void) {
    if (!cpu_kernels_have_avx2()) return CPU_SIMD_NONE;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return CPU_SIMD_AVX512;
#endif
    return CPU_SIMD_AVX2;
}

cpu_dot_fn cpu_kernels_get(uint32_t t, int simd) {
    if (simd >= CPU_SIMD_AVX512) {
        cpu_dot_fn k = cpu_kernels_avx512_get(t);
        if (k) return k;
    }
    if (simd >= CPU_SIMD_AVX2) {
        cpu_dot_fn k = cpu_kernels_avx2_get(t);
        if (k) return k;
    }
    switch (t) {
    case DTYPE_F32: return fdot_f32;
    case DTYPE_F16: return fdot_f16;
    case DTYPE_BF16: return fdot_bf16;
    case DTYPE_Q8_0: return qdot_q8_0;
    case DTYPE_Q4_0: return qdot_q4_0;
    case DTYPE_Q4_1: return qdot_q4_1;
    case DTYPE_Q5_0: return qdot_q5_0;
    case DTYPE_Q5_1: return qdot_q5_1;
    case DTYPE_Q4_K: return qdot_q4_k;
    case DTYPE_Q5_K: return qdot_q5_k;
    case DTYPE_Q6_K: return qdot_q6_k;
    default: return NULL;
    }
}

static float vdot_f32(const float *q, const void *kp, int n) {
    const float *k = kp;
    float p[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += q[i + j] * k[i + j];
    for (; i < n; i++) p[0] += q[i] * k[i];
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

static float vdot_f16(const float *q, const void *kp, int n) {
    const uint16_t *k = kp;
    float p[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += q[i + j] * dtype_f16_to_f32(k[i + j]);
    for (; i < n; i++) p[0] += q[i] * dtype_f16_to_f32(k[i]);
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

static void vaxpy_f32(float *y, float a, const void *vp, int n) {
    const float *v = vp;
    for (int i = 0; i < n; i++) y[i] += a * v[i];
}

static void vaxpy_f16(float *y, float a, const void *vp, int n) {
    const uint16_t *v = vp;
    for (int i = 0; i < n; i++) y[i] += a * dtype_f16_to_f32(v[i]);
}

/* Q8_0 rows: blocks of an f16 scale d and 32 int8 codes; value = d * q. */
static float vdot_q8_0(const float *q, const void *kp, int n) {
    const uint8_t *k = kp;
    float sum = 0.0f;
    for (int b = 0; b < n / 32; b++, k += 34) {
        uint16_t dh;
        memcpy(&dh, k, 2);
        const int8_t *qs = (const int8_t *)(k + 2);
        const float *x = q + b * 32;
        float p[4] = {0};
        for (int i = 0; i < 32; i += 4)
            for (int j = 0; j < 4; j++) p[j] += x[i + j] * (float)qs[i + j];
        sum += dtype_f16_to_f32(dh) * ((p[0] + p[2]) + (p[1] + p[3]));
    }
    return sum;
}

static void vaxpy_q8_0(float *y, float a, const void *vp, int n) {
    const uint8_t *v = vp;
    for (int b = 0; b < n / 32; b++, v += 34) {
        uint16_t dh;
        memcpy(&dh, v, 2);
        const int8_t *qs = (const int8_t *)(v + 2);
        float ad = a * dtype_f16_to_f32(dh);
        for (int i = 0; i < 32; i++) y[b * 32 + i] += ad * (float)qs[i];
    }
}

cpu_vec cpu_kernels_vec(uint32_t kv_type, int simd) {
    if (kv_type == DTYPE_Q8_0) return (cpu_vec){vdot_q8_0, vaxpy_q8_0};
    if (simd) {
        cpu_vec v = cpu_kernels_avx2_vec(kv_type);
        if (v.dot) return v;
    }
    if (kv_type == DTYPE_F16) return (cpu_vec){vdot_f16, vaxpy_f16};
    return (cpu_vec){vdot_f32, vaxpy_f32};
}

int cpu_kernels_dequantize(uint32_t t, const void *row, float *out, int64_t n) {
    if (t == DTYPE_F32) {
        memcpy(out, row, (size_t)n * sizeof(float));
        return 0;
    }
    if (t == DTYPE_F16 || t == DTYPE_BF16) {
        const uint16_t *h = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = t == DTYPE_F16 ? dtype_f16_to_f32(h[i]) : dtype_bf16_to_f32(h[i]);
        return 0;
    }
    qtype qt;
    if (qtype_get(t, &qt) != 0 || n % (32 * qt.n_sub) != 0) return -1;
    const uint8_t *blk = row;
    sub_block sb;
    for (int64_t i = 0; i < n / 32; i += qt.n_sub, blk += qt.block_bytes)
        for (int s = 0; s < qt.n_sub; s++) {
            qt.unpack(blk, s, &sb);
            float *o = out + 32 * (i + s);
            for (int l = 0; l < 32; l++) o[l] = sb.d[l / 16] * (float)sb.q[l] + sb.m;
        }
    return 0;
}
