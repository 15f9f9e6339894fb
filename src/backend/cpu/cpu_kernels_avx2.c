/* cpu_kernels_avx2.c — AVX2/FMA/F16C kernels, compiled per function with
 * target attributes and chosen at run time (cpu_kernels_have_avx2), so the
 * library still runs on any x86-64 and builds elsewhere.
 *
 * Quantized rows: each 32-value weight sub-block is decoded to four vectors
 * of 8 floats (codes widened to s32 and converted, or expanded to d * q + m
 * for the formats with an offset) and FMAed with the f32 activations of up
 * to CPU_TILE tokens, so one decode serves the whole tile. */
#include "backend/cpu/cpu_kernels.h"

#include <string.h>

#include "core/dtype.h"
#include "quant/quant.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((target("avx2,fma,f16c"), always_inline))

AVX2_INLINE float h2f(uint16_t h) { return _cvtsh_ss(h); }

AVX2_INLINE float hsum(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

AVX2_INLINE __m256i ld(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* ---- quantized rows ---- */

/* 8 bytes -> 8 x s32 / u32 lanes */
AVX2_INLINE __m256i s8x8(const void *p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
}
AVX2_INLINE __m256i u8x8(const void *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* How a sub-block's partial sums reach its accumulator: times one scale
 * (SCALED), lanes 0..15 and 16..31 times their own scale (SPLIT, Q6_K), or
 * as they are when the weights were expanded to d * q + m (PLAIN). */
enum { SCALED, SPLIT, PLAIN };

/* One decoded 32-value sub-block: w[i] holds values 8i..8i+7. */
typedef struct wsub {
    __m256 w[4];
    __m256 s0, s1;
} wsub;

AVX2_INLINE int q_mode(const uint32_t type) {
    switch (type) {
    case DTYPE_Q4_1: case DTYPE_Q5_1: case DTYPE_Q4_K: case DTYPE_Q5_K: return PLAIN;
    case DTYPE_Q6_K: return SPLIT;
    default: return SCALED;
    }
}

AVX2_INLINE size_t q_bytes(const uint32_t type) {
    switch (type) {
    case DTYPE_Q8_0: return sizeof(block_q8_0);
    case DTYPE_Q4_0: return sizeof(block_q4_0);
    case DTYPE_Q4_1: return sizeof(block_q4_1);
    case DTYPE_Q5_0: return sizeof(block_q5_0);
    case DTYPE_Q5_1: return sizeof(block_q5_1);
    case DTYPE_Q4_K: return sizeof(block_q4_k);
    case DTYPE_Q5_K: return sizeof(block_q5_k);
    default: return sizeof(block_q6_k);
    }
}

AVX2_INLINE float ld_h(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h2f(h);
}

/* Q4_0/Q4_1/Q5_0/Q5_1: value j < 16 in the low nibble of qs[j], j + 16 in
 * the high one; Q5 adds bit j of the u32 qh as bit 4. */
AVX2_INLINE void dec_q45(const uint8_t *b, const uint32_t type, wsub *o) {
    const int has_m = type == DTYPE_Q4_1 || type == DTYPE_Q5_1;
    const int has_h = type == DTYPE_Q5_0 || type == DTYPE_Q5_1;
    const uint8_t *qs = b + 2 + 2 * has_m + 4 * has_h;
    const __m256i m4 = _mm256_set1_epi32(15);
    __m256i v0 = u8x8(qs), v1 = u8x8(qs + 8);
    __m256i q[4] = {_mm256_and_si256(v0, m4), _mm256_and_si256(v1, m4), _mm256_srli_epi32(v0, 4),
                    _mm256_srli_epi32(v1, 4)};
    if (has_h) {
        uint32_t qh;
        memcpy(&qh, b + 2 + 2 * has_m, 4);
        const __m256i hv = _mm256_set1_epi32((int)qh), one = _mm256_set1_epi32(1);
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
            __m256i sh = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * i));
            __m256i bit = _mm256_and_si256(_mm256_srlv_epi32(hv, sh), one);
            q[i] = _mm256_or_si256(q[i], _mm256_slli_epi32(bit, 4));
        }
    }
    float d = ld_h(b);
    if (has_m) {
        __m256 dv = _mm256_set1_ps(d), mv = _mm256_set1_ps(ld_h(b + 2));
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) o->w[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q[i]), dv, mv);
    } else {
        __m256i off = _mm256_set1_epi32(has_h ? 16 : 8);
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) o->w[i] = _mm256_cvtepi32_ps(_mm256_sub_epi32(q[i], off));
        o->s0 = _mm256_set1_ps(d);
    }
}

/* Q4_K/Q5_K sub-block s: low (even s) or high (odd s) nibbles of
 * qs[32 * (s / 2) ..], Q5_K adds bit s of qh[l]; scale/min pairs packed as
 * in cpu_kernels.c (kscale). x = d * sc * q - dmin * mn, expanded here. */
AVX2_INLINE void dec_qk(const uint8_t *b, const int s, const int five, wsub *o) {
    const uint8_t *sc8 = b + 4;
    int sc, mn;
    if (s < 4) {
        sc = sc8[s] & 63;
        mn = sc8[s + 4] & 63;
    } else {
        sc = (sc8[s + 4] & 15) | ((sc8[s - 4] >> 6) << 4);
        mn = (sc8[s + 4] >> 4) | ((sc8[s] >> 6) << 4);
    }
    __m256 dv = _mm256_set1_ps(ld_h(b) * (float)sc), mv = _mm256_set1_ps(-(ld_h(b + 2) * (float)mn));
    const uint8_t *qh = b + 16, *qs = b + 16 + (five ? 32 : 0) + 32 * (s / 2);
    _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
        __m256i v = u8x8(qs + 8 * i);
        v = (s & 1) ? _mm256_srli_epi32(v, 4) : _mm256_and_si256(v, _mm256_set1_epi32(15));
        if (five) {
            __m256i h = _mm256_and_si256(_mm256_srli_epi32(u8x8(qh + 8 * i), s), _mm256_set1_epi32(1));
            v = _mm256_or_si256(v, _mm256_slli_epi32(h, 4));
        }
        o->w[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), dv, mv);
    }
}

/* Q6_K sub-block s = 4h + k: see unpack_q6_k in cpu_kernels.c. */
AVX2_INLINE void dec_q6k(const uint8_t *b, const int s, wsub *o) {
    const block_q6_k *w = (const block_q6_k *)b;
    const int h = s / 4, k = s % 4;
    const uint8_t *ql = w->ql + 64 * h + 32 * (k & 1), *qh = w->qh + 32 * h;
    _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
        __m256i lo = u8x8(ql + 8 * i);
        lo = (k & 2) ? _mm256_srli_epi32(lo, 4) : _mm256_and_si256(lo, _mm256_set1_epi32(15));
        __m256i hb = _mm256_and_si256(_mm256_srli_epi32(u8x8(qh + 8 * i), 2 * k), _mm256_set1_epi32(3));
        __m256i q = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hb, 4)), _mm256_set1_epi32(32));
        o->w[i] = _mm256_cvtepi32_ps(q);
    }
    float d = ld_h(b + 208);
    o->s0 = _mm256_set1_ps(d * (float)w->scales[8 * h + 2 * k]);
    o->s1 = _mm256_set1_ps(d * (float)w->scales[8 * h + 2 * k + 1]);
}

/* Sub-block s of the weight block at b (s counts 32-value sub-blocks). */
AVX2_INLINE void decode(const uint8_t *b, const int s, const uint32_t type, wsub *o) {
    switch (type) {
    case DTYPE_Q8_0:
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) o->w[i] = _mm256_cvtepi32_ps(s8x8(b + 2 + 8 * i));
        o->s0 = _mm256_set1_ps(ld_h(b));
        break;
    case DTYPE_Q4_K: dec_qk(b, s, 0, o); break;
    case DTYPE_Q5_K: dec_qk(b, s, 1, o); break;
    case DTYPE_Q6_K: dec_q6k(b, s, o); break;
    default: dec_q45(b, type, o); break;
    }
}

/* acc += the sub-block's dot with x[0..32): one chain of products per
 * scale (Q6_K: two), then scaled into the accumulator. */
AVX2_INLINE void sub_dot(const wsub *ws, const float *x, const int mode, __m256 *acc) {
    __m256 p = _mm256_mul_ps(ws->w[0], _mm256_loadu_ps(x));
    p = _mm256_fmadd_ps(ws->w[1], _mm256_loadu_ps(x + 8), p);
    if (mode == SPLIT) {
        __m256 hi = _mm256_mul_ps(ws->w[2], _mm256_loadu_ps(x + 16));
        hi = _mm256_fmadd_ps(ws->w[3], _mm256_loadu_ps(x + 24), hi);
        *acc = _mm256_fmadd_ps(ws->s1, hi, _mm256_fmadd_ps(ws->s0, p, *acc));
        return;
    }
    p = _mm256_fmadd_ps(ws->w[2], _mm256_loadu_ps(x + 16), p);
    p = _mm256_fmadd_ps(ws->w[3], _mm256_loadu_ps(x + 24), p);
    *acc = mode == SCALED ? _mm256_fmadd_ps(ws->s0, p, *acc) : _mm256_add_ps(*acc, p);
}

/* One row against nt tokens (1 or CPU_TILE). Sub-blocks go in groups of
 * two (32-value formats: two blocks) or eight (K formats: one block);
 * even and odd sub-blocks feed separate accumulators so consecutive
 * sub-blocks do not wait on each other. */
AVX2_INLINE void q_row(const uint8_t *row, const float *x, size_t xs, const int nt, int64_t n,
                       float *out, size_t os, const uint32_t type) {
    const int k_fmt = type == DTYPE_Q4_K || type == DTYPE_Q5_K || type == DTYPE_Q6_K;
    const int group = k_fmt ? 8 : 2, mode = q_mode(type);
    const size_t bytes = q_bytes(type);
    const int64_t nsub = n / 32;
    __m256 acc[CPU_TILE][2];
    for (int t = 0; t < nt; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    int64_t j = 0;
    const size_t span = bytes * (k_fmt ? 1 : 2); /* bytes per group */
    for (; j + group <= nsub; j += group, row += span) {
        for (size_t o = 0; o < span; o += 64)
            _mm_prefetch((const char *)row + CPU_PREFETCH_AHEAD + o, _MM_HINT_T0);
#pragma GCC unroll 8
        for (int s = 0; s < group; s++) {
            wsub ws;
            decode(k_fmt ? row : row + (size_t)s * bytes, s, type, &ws);
#pragma GCC unroll 4
            for (int t = 0; t < nt; t++)
                sub_dot(&ws, x + (size_t)t * xs + 32 * (size_t)(j + s), mode, &acc[t][s & 1]);
        }
    }
    if (j < nsub) { /* odd count of 32-value blocks */
        wsub ws;
        decode(row, 0, type, &ws);
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++) sub_dot(&ws, x + (size_t)t * xs + 32 * (size_t)j, mode, &acc[t][0]);
    }
    for (int t = 0; t < nt; t++) out[(size_t)t * os] = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
}

/* Entry points: a full tile of CPU_TILE tokens, else one token at a time. */
#define QDOT_ENTRY(name, type)                                                                     \
    AVX2 static void name(const void *row, const float *x, size_t xs, int n_tok, int64_t n,       \
                          float *out, size_t os) {                                                 \
        if (n_tok == CPU_TILE) {                                                                   \
            q_row(row, x, xs, CPU_TILE, n, out, os, type);                                         \
            return;                                                                                \
        }                                                                                          \
        for (int t = 0; t < n_tok; t++)                                                            \
            q_row(row, x + (size_t)t * xs, xs, 1, n, out + (size_t)t * os, os, type);              \
    }
QDOT_ENTRY(qdot_q8_0, DTYPE_Q8_0)
QDOT_ENTRY(qdot_q4_0, DTYPE_Q4_0)
QDOT_ENTRY(qdot_q4_1, DTYPE_Q4_1)
QDOT_ENTRY(qdot_q5_0, DTYPE_Q5_0)
QDOT_ENTRY(qdot_q5_1, DTYPE_Q5_1)
QDOT_ENTRY(qdot_q4_k, DTYPE_Q4_K)
QDOT_ENTRY(qdot_q5_k, DTYPE_Q5_K)
QDOT_ENTRY(qdot_q6_k, DTYPE_Q6_K)

/* ---- float rows: one 8-wide accumulator per token, scalar tail; the same
 * operation order for every tile size, so a token's result does not depend
 * on the batch around it ---- */

AVX2_INLINE __m256 ld_f32(const void *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }
AVX2_INLINE __m256 ld_f16(const void *p, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
}
AVX2_INLINE __m256 ld_bf16(const void *p, int64_t i) {
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
AVX2_INLINE float one_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
AVX2_INLINE float one_f16(const void *p, int64_t i) { return h2f(((const uint16_t *)p)[i]); }
AVX2_INLINE float one_bf16(const void *p, int64_t i) {
    return dtype_bf16_to_f32(((const uint16_t *)p)[i]);
}

#define FDOT_ROW(name, vload, sload)                                                               \
    AVX2_INLINE void name##_row(const void *row, const float *x, size_t xs, const int nt,          \
                                int64_t n, float *out, size_t os) {                                \
        __m256 acc[CPU_TILE];                                                                      \
        for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();                                 \
        int64_t i = 0;                                                                             \
        for (; i + 8 <= n; i += 8) {                                                               \
            __m256 wv = vload(row, i);                                                             \
            _Pragma("GCC unroll 4") for (int t = 0; t < nt; t++) acc[t] =                          \
                _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)t * xs + i), acc[t]);              \
        }                                                                                          \
        for (int t = 0; t < nt; t++) {                                                             \
            float s = hsum(acc[t]);                                                                \
            for (int64_t j = i; j < n; j++) s += sload(row, j) * x[(size_t)t * xs + j];            \
            out[(size_t)t * os] = s;                                                               \
        }                                                                                          \
    }                                                                                              \
    AVX2 static void name(const void *row, const float *x, size_t xs, int n_tok, int64_t n,       \
                          float *out, size_t os) {                                                 \
        if (n_tok == CPU_TILE) {                                                                   \
            name##_row(row, x, xs, CPU_TILE, n, out, os);                                          \
            return;                                                                                \
        }                                                                                          \
        for (int t = 0; t < n_tok; t++)                                                            \
            name##_row(row, x + (size_t)t * xs, xs, 1, n, out + (size_t)t * os, os);               \
    }
FDOT_ROW(fdot_f32, ld_f32, one_f32)
FDOT_ROW(fdot_f16, ld_f16, one_f16)
FDOT_ROW(fdot_bf16, ld_bf16, one_bf16)

cpu_dot_fn cpu_kernels_avx2_get(uint32_t t) {
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

/* ---- attention vectors ---- */

#define VEC_FNS(sfx, vload, sload)                                                                 \
    AVX2 static float vdot_##sfx(const float *q, const void *k, int n) {                          \
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                                \
        int i = 0;                                                                                 \
        for (; i + 16 <= n; i += 16) {                                                             \
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), vload(k, i), a0);                         \
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), vload(k, i + 8), a1);                 \
        }                                                                                          \
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), vload(k, i), a0); \
        float s = hsum(_mm256_add_ps(a0, a1));                                                     \
        for (; i < n; i++) s += q[i] * sload(k, i);                                                \
        return s;                                                                                  \
    }                                                                                              \
    AVX2 static void vaxpy_##sfx(float *y, float a, const void *v, int n) {                       \
        __m256 av = _mm256_set1_ps(a);                                                             \
        int i = 0;                                                                                 \
        for (; i + 8 <= n; i += 8)                                                                 \
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, vload(v, i), _mm256_loadu_ps(y + i)));     \
        for (; i < n; i++) y[i] += a * sload(v, i);                                                \
    }
VEC_FNS(f32, ld_f32, one_f32)
VEC_FNS(f16, ld_f16, one_f16)

cpu_vec cpu_kernels_avx2_vec(uint32_t kv_type) {
    if (kv_type == DTYPE_F16) return (cpu_vec){vdot_f16, vaxpy_f16};
    if (kv_type == DTYPE_F32) return (cpu_vec){vdot_f32, vaxpy_f32};
    return (cpu_vec){NULL, NULL};
}

#else /* not x86-64: no AVX2 kernels */

cpu_dot_fn cpu_kernels_avx2_get(uint32_t t) {
    (void)t;
    return NULL;
}

cpu_vec cpu_kernels_avx2_vec(uint32_t kv_type) {
    (void)kv_type;
    return (cpu_vec){NULL, NULL};
}

#endif
