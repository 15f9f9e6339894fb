/* cpu_backend.h — the CPU backend's object layouts, shared by its files
 * (cpu_backend.c: vtable, buffers, weights, KV cache; cpu_matmul.c;
 * cpu_ops.c; cpu_attention.c), plus a test hook.
 *
 * KV cache layout, per layer, for K and for V:
 *   [n_blocks][n_kv_heads][block_size] rows of head_dim values in the cache
 * type (f32, f16, or Q8_0: head_dim / 32 blocks of 34 bytes), so one head's
 * positions within a block are contiguous for attention. */
#ifndef VKLLM_BACKEND_CPU_CPU_BACKEND_H
#define VKLLM_BACKEND_CPU_CPU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_pool.h"

struct bk_buf {
    size_t bytes;
    void *data;
};

struct bk_weight {
    uint32_t type;
    int64_t ne0, ne1;
    const void *data; /* borrowed, or == owned */
    void *owned;      /* aligned heap copy when the source was misaligned */
    size_t row_bytes;
};

struct bk_kv {
    bk_kv_desc d;
    size_t row_bytes;   /* bytes of one head's head_dim values */
    size_t layer_bytes; /* bytes of K (or V) per layer */
    void *k, *v;        /* [n_layers][layer_bytes] each */
};

typedef struct cpu_backend {
    struct backend base;
    cpu_pool *pool;
    int n_threads;
    int simd;          /* kernel level, CPU_SIMD_* (cpu_kernels.h) */
    int in_pass;       /* between begin() and end() */
    bk_batch batch;    /* the current batch (arrays borrowed) */
    void *scratch;     /* per-op temporary memory */
    size_t scratch_cap;
} cpu_backend;

/* Test hook: simd = 0 forces the portable kernels, 1 AVX2, 2 AVX-512 (each
 * only when the CPU has it; otherwise the highest level it has below).
 * Returns the level in effect. */
int cpu_backend_set_simd(backend *b, int simd);

/* Grows the scratch area to at least bytes (contents not kept). */
vkllm_status cpu_backend_scratch(cpu_backend *cb, size_t bytes, void **out);
/* Fails unless between begin() and end(); op names the caller. */
vkllm_status cpu_backend_check_pass(const cpu_backend *cb, const char *op);
/* Checks that buf holds count elements of elem bytes. */
vkllm_status cpu_backend_check_buf(const bk_buf *buf, uint64_t count, uint64_t elem,
                                   const char *op, const char *what);

/* Ops (signatures as in backend_vt). */
vkllm_status cpu_matmul(backend *b, bk_buf *out, const bk_weight *w, const bk_buf *x,
                        const bk_weight *bias, int n_rows);
vkllm_status cpu_ops_embed(backend *b, bk_buf *out, const bk_weight *table);
vkllm_status cpu_ops_rmsnorm(backend *b, bk_buf *out, const bk_buf *x, const bk_weight *w,
                             int n_rows, int n, float eps);
vkllm_status cpu_ops_rope(backend *b, bk_buf *x, int n_heads, const bk_rope *r);
vkllm_status cpu_ops_silu_mul(backend *b, bk_buf *out, const bk_buf *gate, const bk_buf *up,
                              size_t n);
vkllm_status cpu_ops_add(backend *b, bk_buf *out, const bk_buf *a, const bk_buf *bb, size_t n);
vkllm_status cpu_ops_gather_rows(backend *b, bk_buf *out, const bk_buf *x, const int32_t *rows,
                                 int n_rows, int n);
vkllm_status cpu_ops_argmax(backend *b, bk_buf *out_ids, const bk_buf *x, int n_rows, int n);
vkllm_status cpu_attention_kv_write(backend *b, bk_kv *kv, int layer, const bk_buf *k,
                                    const bk_buf *v);
vkllm_status cpu_attention(backend *b, bk_buf *out, const bk_buf *q, const bk_kv *kv, int layer,
                           int n_heads, float scale);

#endif
