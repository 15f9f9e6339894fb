/* cpu_kernels.h — the per-type dot-product kernels behind the CPU matmul.
 *
 * Every weight type is multiplied with f32 activations: weights stay in
 * their stored type and each block is dequantized in registers inside the
 * dot product (never the whole matrix). Formats without a per-block offset
 * (Q8_0, Q4_0, Q5_0, Q6_K) dot the raw codes with x and multiply the block's
 * partial sum by its scale; formats with one (Q4_1, Q5_1, Q4_K, Q5_K) expand
 * each weight to d * q + m first (one rounding: d * q is exact in f32), so
 * every result is within f32 summation rounding of the dequantized-weight dot.
 *
 * A kernel computes one weight row against up to CPU_TILE tokens:
 * out[t * out_stride] = dot(row, x + t * x_stride), t < n_tok, unpacking each
 * weight block once for all of them. A token's result does not depend on
 * n_tok: each token goes through the same operations in the same order. The
 * scalar kernels are the portable fallback; the AVX2 ones (cpu_kernels_avx2.c)
 * and, for the 32-value block formats, the AVX-512 ones (cpu_kernels_avx512.c)
 * are chosen at run time from what the CPU reports. */
#ifndef VKLLM_BACKEND_CPU_CPU_KERNELS_H
#define VKLLM_BACKEND_CPU_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define CPU_TILE 4 /* tokens per weight-row pass */

/* How far ahead (bytes) the SIMD kernels prefetch the weight row they
 * stream. Decode reads every weight once from memory, and the hardware
 * prefetchers alone leave a core waiting on misses: on the 2-core dev VM a
 * Q4_0 matvec over 600 MB ran at 4.3 GB/s per core without, 8.5 GB/s with
 * 2 KiB (1 KiB: 7.6, 4 KiB: 8.5). Prefetches past a row's end fetch the next
 * row, which is the next one a thread takes. */
#define CPU_PREFETCH_AHEAD 2048

/* n values per row (a multiple of the type's block size). */
typedef void (*cpu_dot_fn)(const void *row, const float *x, size_t x_stride, int n_tok, int64_t n,
                           float *out, size_t out_stride);

/* Kernel levels, each using the one below for the types it lacks. */
enum { CPU_SIMD_NONE = 0, CPU_SIMD_AVX2 = 1, CPU_SIMD_AVX512 = 2 };

/* Kernel for weight type t at the given level (CPU_SIMD_*); NULL when the
 * type is not supported. */
cpu_dot_fn cpu_kernels_get(uint32_t t, int simd);
/* 1 when this CPU runs the AVX2 kernels. */
int cpu_kernels_have_avx2(void);
/* The highest CPU_SIMD_* level this CPU runs. */
int cpu_kernels_simd_level(void);

/* Dequantizes n values (a multiple of the type's block size) of a weight row
 * to f32. Returns 0, or -1 for a type the CPU backend does not handle. */
int cpu_kernels_dequantize(uint32_t t, const void *row, float *out, int64_t n);

/* Attention vector kernels over KV-cache rows of type DTYPE_F32, DTYPE_F16
 * or DTYPE_Q8_0 (n a multiple of 32): dot = sum q[i] * k[i]; axpy: y[i] += a * v[i]. */
typedef struct cpu_vec {
    float (*dot)(const float *q, const void *k, int n);
    void (*axpy)(float *y, float a, const void *v, int n);
} cpu_vec;
cpu_vec cpu_kernels_vec(uint32_t kv_type, int simd);
cpu_vec cpu_kernels_avx2_vec(uint32_t kv_type);

/* AVX2 variant (cpu_kernels_avx2.c); NULL off x86-64. */
cpu_dot_fn cpu_kernels_avx2_get(uint32_t t);
/* AVX-512 variant (cpu_kernels_avx512.c); NULL off x86-64 and for the types
 * it does not cover. */
cpu_dot_fn cpu_kernels_avx512_get(uint32_t t);

#endif
