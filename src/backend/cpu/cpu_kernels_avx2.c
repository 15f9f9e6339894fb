/* cpu_kernels_avx2.c — AVX2/FMA/F16C kernels, compiled per function with
 * target attributes and chosen at run time (cpu_kernels_have_avx2), so the
 * library still runs on any x86-64 and builds elsewhere.
 *
 * Quantized rows: each 32-value weight sub-block becomes 32 int8 lanes and is
 * multiplied with the int8 activation block by maddubs (u8 x s8 -> s16 pairs)
 * and madd (-> s32). Signed weights use |w| and sign(a, w) so maddubs sees an
 * unsigned operand; |w| <= 128 and |a| <= 127 keep each s16 pair sum below
 * 32767. A weight row is unpacked once per CPU_TILE tokens. */
#include "backend/cpu/cpu_kernels.h"

#include <math.h>
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

/* s8 x s8 -> 8 x s32 sums of 4 adjacent products */
AVX2_INLINE __m256i mul_i8(__m256i w, __m256i a) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* u8 x s8 -> 8 x s32 */
AVX2_INLINE __m256i mul_u8(__m256i w, __m256i a) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1));
}

/* 16 packed bytes -> 32 nibbles: low nibbles in lanes 0..15, high in 16..31 */
AVX2_INLINE __m256i nibbles(const uint8_t *p) {
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m), _mm_and_si128(x, m));
}

/* bit i of x -> byte i = 0x10 */
AVX2_INLINE __m256i bits16(uint32_t x) {
    __m256i v = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)x),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                         3, 3, 3, 3, 3, 3, 3, 3));
    __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit),
                            _mm256_set1_epi8(0x10));
}

/* ---- quantized rows. Each *_row computes NT tokens (1 or CPU_TILE). ---- */

#define TOK(t) (a + (size_t)(t) * as)

AVX2_INLINE void q8_0_row(const void *row, const cpu_q8 *a, size_t as, const int nt, int64_t nb,
                          float *out, size_t os) {
    const block_q8_0 *w = row;
    __m256 acc[CPU_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i q = ld(w[b].qs);
        float d = h2f(w[b].d);
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++) {
            const cpu_q8 *x = TOK(t) + b;
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mul_i8(q, ld(x->q))),
                                     _mm256_set1_ps(d * x->d), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) out[(size_t)t * os] = hsum(acc[t]);
}

/* Q4_0 (offset 8), Q4_1 (+ m), Q5_0 (offset 16), Q5_1 (+ m) share one loop. */
AVX2_INLINE void q45_row(const void *row, const cpu_q8 *a, size_t as, const int nt, int64_t nb,
                         float *out, size_t os, const uint32_t type) {
    const uint8_t *w = row;
    const int bytes = type == DTYPE_Q4_0 ? 18 : type == DTYPE_Q4_1 ? 20 : type == DTYPE_Q5_0 ? 22 : 24;
    const int has_m = type == DTYPE_Q4_1 || type == DTYPE_Q5_1;
    const int has_h = type == DTYPE_Q5_0 || type == DTYPE_Q5_1;
    __m256 acc[CPU_TILE];
    float macc[CPU_TILE];
    for (int t = 0; t < nt; t++) {
        acc[t] = _mm256_setzero_ps();
        macc[t] = 0.0f;
    }
    for (int64_t b = 0; b < nb; b++, w += bytes) {
        uint16_t dh, mh = 0;
        memcpy(&dh, w, 2);
        if (has_m) memcpy(&mh, w + 2, 2);
        const uint8_t *qs = w + 2 + 2 * has_m + 4 * has_h;
        __m256i q = nibbles(qs);
        if (has_h) {
            uint32_t qh;
            memcpy(&qh, w + 2 + 2 * has_m, 4);
            q = _mm256_or_si256(q, bits16(qh));
        }
        float d = h2f(dh), m = has_m ? h2f(mh) : 0.0f;
        if (!has_m) q = _mm256_sub_epi8(q, _mm256_set1_epi8(has_h ? 16 : 8));
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++) {
            const cpu_q8 *x = TOK(t) + b;
            __m256i p = has_m ? mul_u8(q, ld(x->q)) : mul_i8(q, ld(x->q));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * x->d), acc[t]);
            if (has_m) macc[t] += m * x->s;
        }
    }
    for (int t = 0; t < nt; t++) out[(size_t)t * os] = hsum(acc[t]) + macc[t];
}

/* Q4_K / Q5_K: 8 sub-blocks of 32 per 256; sub-block 2c / 2c+1 are the low /
 * high nibbles of qs[32c..], Q5_K adds bit s of qh[l]. */
AVX2_INLINE void qk_row(const void *row, const cpu_q8 *a, size_t as, const int nt, int64_t nb,
                        float *out, size_t os, const int five) {
    const uint8_t *w = row;
    const int bytes = five ? 176 : 144;
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256 acc[CPU_TILE];
    float macc[CPU_TILE];
    for (int t = 0; t < nt; t++) {
        acc[t] = _mm256_setzero_ps();
        macc[t] = 0.0f;
    }
    for (int64_t b = 0; b < nb; b += 8, w += bytes) {
        uint16_t dh[2];
        memcpy(dh, w, 4);
        const uint8_t *scales = w + 4;
        const uint8_t *qs = w + 16 + (five ? 32 : 0);
        __m256i qh = five ? ld(w + 16) : _mm256_setzero_si256();
        float d = h2f(dh[0]), dmin = h2f(dh[1]);
        for (int s = 0; s < 8; s++) {
            int sc, mn;
            cpu_kernels_kscale(scales, s, &sc, &mn);
            __m256i x8 = ld(qs + 32 * (s / 2));
            __m256i q = (s & 1) ? _mm256_and_si256(_mm256_srli_epi16(x8, 4), m4)
                                : _mm256_and_si256(x8, m4);
            if (five) {
                __m256i hb = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(s)), one);
                q = _mm256_or_si256(q, _mm256_slli_epi16(hb, 4));
            }
            float ds = d * (float)sc, ms = dmin * (float)mn;
#pragma GCC unroll 4
            for (int t = 0; t < nt; t++) {
                const cpu_q8 *x = TOK(t) + b + s;
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mul_u8(q, ld(x->q))),
                                         _mm256_set1_ps(ds * x->d), acc[t]);
                macc[t] -= ms * x->s;
            }
        }
    }
    for (int t = 0; t < nt; t++) out[(size_t)t * os] = hsum(acc[t]) + macc[t];
}

/* Q6_K: sub-block s = 4h + k (see unpack_q6_k in cpu_kernels.c); its two
 * int8 scales apply to lanes 0..15 and 16..31, i.e. to the two 128-bit
 * halves of the maddubs result, so one madd with [sc0 x8 | sc1 x8] applies them. */
AVX2_INLINE void q6_k_row(const void *row, const cpu_q8 *a, size_t as, const int nt, int64_t nb,
                          float *out, size_t os) {
    const block_q6_k *w = row;
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), o32 = _mm256_set1_epi8(32);
    __m256 acc[CPU_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b += 8, w++) {
        float d = h2f(w->d);
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = ld(w->ql + 64 * h), ql1 = ld(w->ql + 64 * h + 32);
            __m256i qh = ld(w->qh + 32 * h);
            for (int k = 0; k < 4; k++) {
                __m256i base = (k & 1) ? ql1 : ql0;
                __m256i lo = (k & 2) ? _mm256_and_si256(_mm256_srli_epi16(base, 4), m4)
                                     : _mm256_and_si256(base, m4);
                __m256i hb = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m3);
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hb, 4)), o32);
                __m256i aq = _mm256_sign_epi8(q, q);
                __m256i sc = _mm256_set_m128i(_mm_set1_epi16(w->scales[8 * h + 2 * k + 1]),
                                              _mm_set1_epi16(w->scales[8 * h + 2 * k]));
#pragma GCC unroll 4
                for (int t = 0; t < nt; t++) {
                    const cpu_q8 *x = TOK(t) + b + 4 * h + k;
                    __m256i p = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(ld(x->q), q));
                    p = _mm256_madd_epi16(p, sc);
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * x->d),
                                             acc[t]);
                }
            }
        }
    }
    for (int t = 0; t < nt; t++) out[(size_t)t * os] = hsum(acc[t]);
}

/* Entry points: a full tile of CPU_TILE tokens, else one token at a time. */
#define QDOT_ENTRY(name, call)                                                                     \
    AVX2 static void name(const void *row, const cpu_q8 *a, size_t as, int n_tok, int64_t nb,     \
                          float *out, size_t os) {                                                 \
        if (n_tok == CPU_TILE) {                                                                   \
            call(row, a, as, CPU_TILE, nb, out, os);                                               \
            return;                                                                                \
        }                                                                                          \
        for (int t = 0; t < n_tok; t++) call(row, TOK(t), as, 1, nb, out + (size_t)t * os, os);   \
    }
#define CALL_Q8_0(r, a, as, nt, nb, o, os) q8_0_row(r, a, as, nt, nb, o, os)
#define CALL_Q4_0(r, a, as, nt, nb, o, os) q45_row(r, a, as, nt, nb, o, os, DTYPE_Q4_0)
#define CALL_Q4_1(r, a, as, nt, nb, o, os) q45_row(r, a, as, nt, nb, o, os, DTYPE_Q4_1)
#define CALL_Q5_0(r, a, as, nt, nb, o, os) q45_row(r, a, as, nt, nb, o, os, DTYPE_Q5_0)
#define CALL_Q5_1(r, a, as, nt, nb, o, os) q45_row(r, a, as, nt, nb, o, os, DTYPE_Q5_1)
#define CALL_Q4_K(r, a, as, nt, nb, o, os) qk_row(r, a, as, nt, nb, o, os, 0)
#define CALL_Q5_K(r, a, as, nt, nb, o, os) qk_row(r, a, as, nt, nb, o, os, 1)
#define CALL_Q6_K(r, a, as, nt, nb, o, os) q6_k_row(r, a, as, nt, nb, o, os)
QDOT_ENTRY(qdot_q8_0, CALL_Q8_0)
QDOT_ENTRY(qdot_q4_0, CALL_Q4_0)
QDOT_ENTRY(qdot_q4_1, CALL_Q4_1)
QDOT_ENTRY(qdot_q5_0, CALL_Q5_0)
QDOT_ENTRY(qdot_q5_1, CALL_Q5_1)
QDOT_ENTRY(qdot_q4_k, CALL_Q4_K)
QDOT_ENTRY(qdot_q5_k, CALL_Q5_K)
QDOT_ENTRY(qdot_q6_k, CALL_Q6_K)

/* ---- float rows: one 8-wide accumulator per token, scalar tail ---- */

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
        __m256 acc[CPU_TILE], acc2 = _mm256_setzero_ps();                                          \
        for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();                                 \
        int64_t i = 0;                                                                             \
        if (nt == 1)                                                                               \
            for (; i + 16 <= n; i += 16) {                                                         \
                acc[0] = _mm256_fmadd_ps(vload(row, i), _mm256_loadu_ps(x + i), acc[0]);           \
                acc2 = _mm256_fmadd_ps(vload(row, i + 8), _mm256_loadu_ps(x + i + 8), acc2);       \
            }                                                                                      \
        for (; i + 8 <= n; i += 8) {                                                               \
            __m256 wv = vload(row, i);                                                             \
            _Pragma("GCC unroll 4") for (int t = 0; t < nt; t++) acc[t] =                          \
                _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)t * xs + i), acc[t]);              \
        }                                                                                          \
        if (nt == 1) acc[0] = _mm256_add_ps(acc[0], acc2);                                         \
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

cpu_kernel cpu_kernels_avx2_get(uint32_t t) {
    cpu_kernel k = {NULL, NULL};
    switch (t) {
    case DTYPE_F32: k.fdot = fdot_f32; break;
    case DTYPE_F16: k.fdot = fdot_f16; break;
    case DTYPE_BF16: k.fdot = fdot_bf16; break;
    case DTYPE_Q8_0: k.qdot = qdot_q8_0; break;
    case DTYPE_Q4_0: k.qdot = qdot_q4_0; break;
    case DTYPE_Q4_1: k.qdot = qdot_q4_1; break;
    case DTYPE_Q5_0: k.qdot = qdot_q5_0; break;
    case DTYPE_Q5_1: k.qdot = qdot_q5_1; break;
    case DTYPE_Q4_K: k.qdot = qdot_q4_k; break;
    case DTYPE_Q5_K: k.qdot = qdot_q5_k; break;
    case DTYPE_Q6_K: k.qdot = qdot_q6_k; break;
    default: break;
    }
    return k;
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
    return (cpu_vec){vdot_f32, vaxpy_f32};
}

/* Same result as cpu_kernels_quantize_block, bit for bit: the same float
 * operations, round-half-even in both. */
AVX2 void cpu_kernels_avx2_quantize_q8(const float *x, cpu_q8 *out, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < n / 32; i++) {
        const float *xb = x + 32 * i;
        __m256 v[4], mx = _mm256_setzero_ps(), un = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[k]));
            un = _mm256_or_ps(un, _mm256_cmp_ps(v[k], v[k], _CMP_UNORD_Q));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        float amax = _mm_cvtss_f32(m);
        if (_mm256_movemask_ps(un) || isinf(amax) || !(amax >= 1e-30f)) {
            cpu_kernels_quantize_block(xb, out + i);
            continue;
        }
        __m256 id = _mm256_set1_ps(127.0f / amax);
        __m256i q[4], sum = _mm256_setzero_si256();
        for (int k = 0; k < 4; k++) {
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id),
                                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            sum = _mm256_add_epi32(sum, q[k]);
        }
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)out[i].q, _mm256_permutevar8x32_epi32(p, perm));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        out[i].d = amax / 127.0f;
        out[i].s = out[i].d * (float)_mm_cvtsi128_si32(s4);
    }
}

#else /* not x86-64: no AVX2 kernels */

cpu_kernel cpu_kernels_avx2_get(uint32_t t) {
    (void)t;
    cpu_kernel k = {NULL, NULL};
    return k;
}

cpu_vec cpu_kernels_avx2_vec(uint32_t kv_type) {
    (void)kv_type;
    return (cpu_vec){NULL, NULL};
}

void cpu_kernels_avx2_quantize_q8(const float *x, cpu_q8 *out, int64_t n) {
    for (int64_t i = 0; i < n / 32; i++) cpu_kernels_quantize_block(x + 32 * i, out + i);
}

#endif
