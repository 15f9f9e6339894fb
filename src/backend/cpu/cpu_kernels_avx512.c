/* cpu_kernels_avx512.c — AVX-512 kernels for the 32-value block formats
 * (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1), compiled per function with target
 * attributes and chosen at run time (cpu_kernels_have_avx512); every other
 * type keeps its AVX2 kernel.
 *
 * A block decodes to two vectors of 16 floats. Q8_0 codes are widened and
 * converted. 4- and 5-bit codes are looked up in a table of 16 or 32 floats
 * (vpermps / vpermt2ps read only the low 4 / 5 bits of each index, so the
 * high nibble needs no mask): the table holds q - 8 (Q4_0), q - 16 (Q5_0) or
 * q itself, exactly. The offset formats expand each weight to d * q + m with
 * one fma (d * q is exact in f32), like the AVX2 and portable kernels, so the
 * result stays within f32 summation rounding of the dequantized-weight dot.
 * As everywhere in the CPU backend, a token's result does not depend on how
 * many tokens share the call. */
#include "backend/cpu/cpu_kernels.h"

#include <string.h>

#include "core/dtype.h"
#include "quant/quant.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define AVX512_INLINE                                                                              \
    static inline __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"), always_inline))

AVX512_INLINE float ld_h(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

AVX512_INLINE __m512i u8x16(const uint8_t *p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
}

/* Values 0..15 of a table: base, base + 1, ... */
AVX512_INLINE __m512 ramp(float base) {
    return _mm512_add_ps(_mm512_set1_ps(base), _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                              12, 13, 14, 15));
}

/* One decoded block: w0 = values 0..15, w1 = 16..31; d = the scale when the
 * codes still need it (SCALED formats), unused otherwise. */
typedef struct blk {
    __m512 w0, w1, d;
} blk;

AVX512_INLINE int is_plain(const uint32_t type) {
    return type == DTYPE_Q4_1 || type == DTYPE_Q5_1;
}

AVX512_INLINE size_t q_bytes(const uint32_t type) {
    switch (type) {
    case DTYPE_Q8_0: return sizeof(block_q8_0);
    case DTYPE_Q4_0: return sizeof(block_q4_0);
    case DTYPE_Q4_1: return sizeof(block_q4_1);
    case DTYPE_Q5_0: return sizeof(block_q5_0);
    default: return sizeof(block_q5_1);
    }
}

/* t0/t1: the code -> value tables (t1 only for 5-bit codes). Layouts as in
 * src/quant/quant.h: value j < 16 in the low nibble of qs[j], j + 16 in the
 * high one; Q5 takes bit j of the u32 qh as bit 4. */
AVX512_INLINE void decode(const uint8_t *b, const uint32_t type, const __m512 t0, const __m512 t1,
                          blk *o) {
    if (type == DTYPE_Q8_0) {
        const __m128i c0 = _mm_loadu_si128((const __m128i *)(b + 2));
        const __m128i c1 = _mm_loadu_si128((const __m128i *)(b + 18));
        o->w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c0));
        o->w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c1));
        o->d = _mm512_set1_ps(ld_h(b));
        return;
    }
    const int plain = is_plain(type);
    const int five = type == DTYPE_Q5_0 || type == DTYPE_Q5_1;
    const __m512i idx = u8x16(b + 2 + 2 * plain + 4 * five);
    __m512 q0, q1;
    if (five) {
        uint32_t qh;
        memcpy(&qh, b + 2 + 2 * plain, 4);
        const __m512i bit4 = _mm512_set1_epi32(16);
        __m512i lo = _mm512_and_si512(idx, _mm512_set1_epi32(15)), hi = _mm512_srli_epi32(idx, 4);
        lo = _mm512_mask_or_epi32(lo, (__mmask16)(qh & 0xffff), lo, bit4);
        hi = _mm512_mask_or_epi32(hi, (__mmask16)(qh >> 16), hi, bit4);
        q0 = _mm512_permutex2var_ps(t0, lo, t1);
        q1 = _mm512_permutex2var_ps(t0, hi, t1);
    } else {
        q0 = _mm512_permutexvar_ps(idx, t0);
        q1 = _mm512_permutexvar_ps(_mm512_srli_epi32(idx, 4), t0);
    }
    const __m512 d = _mm512_set1_ps(ld_h(b));
    if (plain) {
        const __m512 m = _mm512_set1_ps(ld_h(b + 2));
        o->w0 = _mm512_fmadd_ps(q0, d, m);
        o->w1 = _mm512_fmadd_ps(q1, d, m);
    } else {
        o->w0 = q0;
        o->w1 = q1;
        o->d = d;
    }
}

/* acc += the block's dot with x[0..32): expanded weights straight into the
 * accumulator, codes through one product chain times the scale. */
AVX512_INLINE void blk_dot(const blk *w, const float *x, const int plain, __m512 *acc) {
    if (plain) {
        *acc = _mm512_fmadd_ps(w->w0, _mm512_loadu_ps(x), *acc);
        *acc = _mm512_fmadd_ps(w->w1, _mm512_loadu_ps(x + 16), *acc);
        return;
    }
    __m512 p = _mm512_mul_ps(w->w0, _mm512_loadu_ps(x));
    p = _mm512_fmadd_ps(w->w1, _mm512_loadu_ps(x + 16), p);
    *acc = _mm512_fmadd_ps(w->d, p, *acc);
}

/* Software prefetch distance in bytes of the weight stream (cpu_kernels.h). */
#define PREFETCH_AHEAD CPU_PREFETCH_AHEAD

/* One row against nt tokens (1 or CPU_TILE); even and odd blocks feed
 * separate accumulators so consecutive blocks do not wait on each other. */
AVX512_INLINE void q_row(const uint8_t *row, const float *x, size_t xs, const int nt, int64_t n,
                         float *out, size_t os, const uint32_t type) {
    const int plain = is_plain(type);
    const size_t bytes = q_bytes(type);
    const int64_t nb = n / 32;
    __m512 t0, t1;
    switch (type) {
    case DTYPE_Q4_0: t0 = t1 = ramp(-8); break;
    case DTYPE_Q5_0: t0 = ramp(-16), t1 = ramp(0); break;
    case DTYPE_Q5_1: t0 = ramp(0), t1 = ramp(16); break;
    default: t0 = t1 = ramp(0); break;
    }
    __m512 acc[CPU_TILE][2];
    for (int t = 0; t < nt; t++) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 2 <= nb; j += 2, row += 2 * bytes) {
        _mm_prefetch((const char *)row + PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)row + PREFETCH_AHEAD + 64, _MM_HINT_T0);
        blk a, b;
        decode(row, type, t0, t1, &a);
        decode(row + bytes, type, t0, t1, &b);
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++) {
            const float *xt = x + (size_t)t * xs + 32 * (size_t)j;
            blk_dot(&a, xt, plain, &acc[t][0]);
            blk_dot(&b, xt + 32, plain, &acc[t][1]);
        }
    }
    if (j < nb) { /* odd count of blocks */
        blk a;
        decode(row, type, t0, t1, &a);
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++)
            blk_dot(&a, x + (size_t)t * xs + 32 * (size_t)j, plain, &acc[t][0]);
    }
    for (int t = 0; t < nt; t++)
        out[(size_t)t * os] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
}

/* Entry points: a full tile of CPU_TILE tokens, else one token at a time. */
#define QDOT512_ENTRY(name, type)                                                                  \
    AVX512 static void name(const void *row, const float *x, size_t xs, int n_tok, int64_t n,     \
                            float *out, size_t os) {                                               \
        if (n_tok == CPU_TILE) {                                                                   \
            q_row(row, x, xs, CPU_TILE, n, out, os, type);                                         \
            return;                                                                                \
        }                                                                                          \
        for (int t = 0; t < n_tok; t++)                                                            \
            q_row(row, x + (size_t)t * xs, xs, 1, n, out + (size_t)t * os, os, type);              \
    }
QDOT512_ENTRY(qdot512_q8_0, DTYPE_Q8_0)
QDOT512_ENTRY(qdot512_q4_0, DTYPE_Q4_0)
QDOT512_ENTRY(qdot512_q4_1, DTYPE_Q4_1)
QDOT512_ENTRY(qdot512_q5_0, DTYPE_Q5_0)
QDOT512_ENTRY(qdot512_q5_1, DTYPE_Q5_1)

cpu_dot_fn cpu_kernels_avx512_get(uint32_t t) {
    switch (t) {
    case DTYPE_Q8_0: return qdot512_q8_0;
    case DTYPE_Q4_0: return qdot512_q4_0;
    case DTYPE_Q4_1: return qdot512_q4_1;
    case DTYPE_Q5_0: return qdot512_q5_0;
    case DTYPE_Q5_1: return qdot512_q5_1;
    default: return NULL;
    }
}

#else /* not x86-64: no AVX-512 kernels */

cpu_dot_fn cpu_kernels_avx512_get(uint32_t t) {
    (void)t;
    return NULL;
}

#endif
