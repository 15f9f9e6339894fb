/* cpu_kernels.h — the per-type dot-product kernels behind the CPU matmul.
 *
 * Quantized weights are multiplied with activations quantized once per matmul
 * to cpu_q8 blocks (32 values: f32 scale d, int8 q, and s = d * sum(q) for the
 * weight formats that carry a minimum), so the inner loops are integer dot
 * products. F32/F16/BF16 weights use an f32 path on the raw activations.
 *
 * Every kernel computes one weight row against up to CPU_TILE tokens:
 * out[t * out_stride] = dot(row, x_t), t < n_tok. The scalar kernels are the
 * portable fallback; the AVX2 ones (cpu_kernels_avx2.c) are chosen at run time. */
#ifndef VKLLM_BACKEND_CPU_CPU_KERNELS_H
#define VKLLM_BACKEND_CPU_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define CPU_TILE 4 /* tokens per weight-row pass */

typedef struct cpu_q8 {
    float d;       /* scale: x ~ d * q */
    float s;       /* d * sum(q) */
    int8_t q[32];
} cpu_q8;

/* Quantized-weight kernel: row holds nb32 / (block_size / 32) blocks; the
 * activation of token t is a[t * a_stride .. + nb32). */
typedef void (*cpu_qdot_fn)(const void *row, const cpu_q8 *a, size_t a_stride, int n_tok,
                            int64_t nb32, float *out, size_t out_stride);
/* Float-weight kernel: n values per row, token t at x + t * x_stride. */
typedef void (*cpu_fdot_fn)(const void *row, const float *x, size_t x_stride, int n_tok, int64_t n,
                            float *out, size_t out_stride);

typedef struct cpu_kernel {
    cpu_qdot_fn qdot; /* set for quantized types */
    cpu_fdot_fn fdot; /* set for float types */
} cpu_kernel;

/* Kernel for weight type t, scalar (simd = 0) or AVX2 (simd = 1); both
 * members NULL when the type is not supported. */
cpu_kernel cpu_kernels_get(uint32_t t, int simd);
/* 1 when this CPU runs the AVX2 kernels. */
int cpu_kernels_have_avx2(void);

/* Quantizes n values (a multiple of 32) of x into n / 32 blocks. */
void cpu_kernels_quantize_q8(const float *x, cpu_q8 *out, int64_t n, int simd);

/* The scalar quantizer of one block (the AVX2 one defers to it for blocks
 * that are zero-like or hold inf/NaN, so both give identical blocks). */
void cpu_kernels_quantize_block(const float *x, cpu_q8 *o);

/* Scale and min (6-bit each) of sub-block j of a Q4_K/Q5_K scales[12]. */
void cpu_kernels_kscale(const uint8_t *scales, int j, int *sc, int *mn);

/* Dequantizes n values (a multiple of the type's block size) of a weight row
 * to f32. Returns 0, or -1 for a type the CPU backend does not handle. */
int cpu_kernels_dequantize(uint32_t t, const void *row, float *out, int64_t n);

/* Attention vector kernels over KV-cache rows of type DTYPE_F32 or DTYPE_F16:
 * dot = sum q[i] * k[i]; axpy: y[i] += a * v[i]. */
typedef struct cpu_vec {
    float (*dot)(const float *q, const void *k, int n);
    void (*axpy)(float *y, float a, const void *v, int n);
} cpu_vec;
cpu_vec cpu_kernels_vec(uint32_t kv_type, int simd);
cpu_vec cpu_kernels_avx2_vec(uint32_t kv_type);

/* AVX2 variants (cpu_kernels_avx2.c); NULL members off x86-64. */
cpu_kernel cpu_kernels_avx2_get(uint32_t t);
void cpu_kernels_avx2_quantize_q8(const float *x, cpu_q8 *out, int64_t n);

#endif
