/* backend.h — the internal compute interface that every backend implements.
 *
 * The model code (src/model/forward.c) is a straight-line forward pass over
 * these ops. A forward pass is bracketed by begin()/end(): the CPU backend
 * runs each op as it is called; the Vulkan backend records them into one
 * command buffer and submits it in end(). Results are visible to buf_read
 * only after end().
 *
 * Activations are f32, row-major, rows contiguous: a buffer holding T rows of
 * n values is T*n floats. Weights are uploaded once in their stored type.
 *
 * Batches: each of the n_tokens tokens has its own position and sequence
 * slot; the KV cache is paged in blocks of kv_block_size positions and the
 * block of position p of slot s is block_table[s * max_blocks + p / block_size].
 * Attention for a token at position p of slot s covers positions 0..p of s
 * (causal), which kv_write must already have stored.
 *
 * Aliasing: rmsnorm, silu_mul and add accept out == an input (in place);
 * other ops need distinct buffers. Host arrays passed to ops (the batch,
 * gather_rows' rows) stay valid until end().
 *
 * Thread safety: one backend instance is driven by one thread at a time. */
#ifndef VKLLM_BACKEND_BACKEND_H
#define VKLLM_BACKEND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "vkllm.h"

/* A weight as stored in a model file (borrowed view into a mapping or a heap
 * copy owned by the model). 2-D: ne0 = columns (row length), ne1 = rows.
 * 1-D weights (norms, biases) have ne1 = 1. */
typedef struct wtensor {
    const char *name;
    uint32_t type;        /* dtype */
    int64_t ne0, ne1;
    const void *data;
    uint64_t nbytes;
} wtensor;

typedef struct backend backend;
typedef struct bk_buf bk_buf;       /* device activations (f32 or i32) */
typedef struct bk_weight bk_weight; /* an uploaded weight */
typedef struct bk_kv bk_kv;         /* the paged KV cache */

typedef struct bk_batch {
    int n_tokens;
    const int32_t *ids;          /* [n_tokens] token ids */
    const int32_t *pos;          /* [n_tokens] positions */
    const int32_t *seq;          /* [n_tokens] sequence slots */
    const int32_t *block_table;  /* [n_slots * max_blocks] */
    int n_slots, max_blocks;
} bk_batch;

typedef enum bk_rope_mode {
    BK_ROPE_NORM = 0, /* rotate adjacent pairs (x[2i], x[2i+1]): GGUF llama, llama2.c */
    BK_ROPE_NEOX = 1  /* rotate halves (x[i], x[i+d/2]): HF checkpoints, qwen */
} bk_rope_mode;

typedef struct bk_rope {
    bk_rope_mode mode;
    int n_dims;              /* rotated dims per head (= head_dim) */
    float theta;             /* base */
    const float *freq_factors; /* [n_dims/2] divisors of each frequency (llama3 scaling) or NULL */
} bk_rope;

typedef struct bk_kv_desc {
    int n_layers, n_kv_heads, head_dim;
    int block_size;          /* positions per block */
    int n_blocks;            /* blocks in the pool */
    uint32_t type;           /* DTYPE_F32 or DTYPE_F16 */
} bk_kv_desc;

/* What a fused matmul does around W·x (see backend_vt.matmul_fused). */
typedef struct bk_fuse {
    const bk_weight *norm; /* input = rmsnorm(x) * norm (eps below), or NULL */
    float eps;
    const bk_buf *glu_up;  /* input = silu(x) * glu_up, or NULL (not with norm) */
    int accumulate;        /* out += W·input instead of out = W·input */
} bk_fuse;

typedef struct backend_vt {
    const char *name;
    void (*destroy)(backend *b);

    vkllm_status (*weight_upload)(backend *b, const wtensor *w, bk_weight **out);
    void (*weight_free)(backend *b, bk_weight *w);

    vkllm_status (*buf_alloc)(backend *b, size_t bytes, bk_buf **out);
    /* Optional (NULL: buf_alloc): a small buffer the host reads after every
     * pass (the sampled ids), kept where buf_read needs no copy of its own. */
    vkllm_status (*buf_alloc_host)(backend *b, size_t bytes, bk_buf **out);
    void (*buf_free)(backend *b, bk_buf *buf);
    vkllm_status (*buf_write)(backend *b, bk_buf *buf, size_t off, const void *src, size_t bytes);
    vkllm_status (*buf_read)(backend *b, const bk_buf *buf, size_t off, void *dst, size_t bytes);

    vkllm_status (*kv_alloc)(backend *b, const bk_kv_desc *d, bk_kv **out);
    void (*kv_free)(backend *b, bk_kv *kv);
    /* Copies block src to block dst in every layer (copy-on-write). */
    vkllm_status (*kv_copy_block)(backend *b, bk_kv *kv, int src, int dst);

    /* Forward pass bracket; the batch stays valid (borrowed) until end(). */
    vkllm_status (*begin)(backend *b, const bk_batch *batch);
    vkllm_status (*end)(backend *b);

    /* ---- ops (recorded between begin and end) ---- */
    /* out[t] = row ids[t] of the embedding table, as f32: [n_tokens, ne0] */
    vkllm_status (*embed)(backend *b, bk_buf *out, const bk_weight *table);
    /* out[r] = x[r] / rms(x[r]) * w, for n_rows rows of n values; w has n values */
    vkllm_status (*rmsnorm)(backend *b, bk_buf *out, const bk_buf *x, const bk_weight *w,
                            int n_rows, int n, float eps);
    /* out[t][r] = sum_c W[r][c] * x[t][c] (+ bias[r] when bias != NULL), t < n_rows */
    vkllm_status (*matmul)(backend *b, bk_buf *out, const bk_weight *w, const bk_buf *x,
                           const bk_weight *bias, int n_rows);
    /* in place on x: [n_tokens, n_heads, head_dim], position of token t = batch->pos[t] */
    vkllm_status (*rope)(backend *b, bk_buf *x, int n_heads, const bk_rope *r);
    /* stores k, v ([n_tokens, n_kv_heads*head_dim]) of layer l at the batch positions */
    vkllm_status (*kv_write)(backend *b, bk_kv *kv, int layer, const bk_buf *k, const bk_buf *v);
    /* out[t] = softmax(q[t] K^T * scale) V over positions 0..pos[t] of seq[t];
     * q: [n_tokens, n_heads*head_dim], GQA: head h uses kv head h / (n_heads/n_kv_heads) */
    vkllm_status (*attention)(backend *b, bk_buf *out, const bk_buf *q, const bk_kv *kv,
                              int layer, int n_heads, float scale);
    /* out = silu(gate) * up, n values */
    vkllm_status (*silu_mul)(backend *b, bk_buf *out, const bk_buf *gate, const bk_buf *up,
                             size_t n);
    /* out = a + b, n values (out may alias a) */
    vkllm_status (*add)(backend *b, bk_buf *out, const bk_buf *a, const bk_buf *bb, size_t n);
    /* out[i] = x[rows[i]] for i < n_rows, rows of n values */
    vkllm_status (*gather_rows)(backend *b, bk_buf *out, const bk_buf *x, const int32_t *rows,
                                int n_rows, int n);
    /* out_ids[r] = argmax of x[r] (n values), as int32, r < n_rows */
    vkllm_status (*argmax)(backend *b, bk_buf *out_ids, const bk_buf *x, int n_rows, int n);

    /* ---- optional fused ops: NULL when a backend lacks them. For a case it
     * does not fuse, an op returns VKLLM_ERR_UNSUPPORTED having recorded
     * nothing, and forward.c composes the plain ops instead. ---- */
    /* out[t] (+)= W · input(x[t]) (+ bias), input and += as f says; out must
     * not alias x or f->glu_up */
    vkllm_status (*matmul_fused)(backend *b, bk_buf *out, const bk_weight *w, const bk_buf *x,
                                 const bk_weight *bias, int n_rows, const bk_fuse *f);
    /* rope(q) in place ([n_tokens, n_heads, head_dim]), then what
     * rope(k) + kv_write(k, v) store, k itself left unrotated */
    vkllm_status (*rope_kv_write)(backend *b, bk_buf *q, int n_heads, bk_kv *kv, int layer,
                                  const bk_buf *k, const bk_buf *v, const bk_rope *r);
    /* The attention block's projections with rope and the KV store:
     * q = rope(Wq · input(x) + bq) ([n_tokens, n_heads*head_dim]), and what
     * rope(Wk · input(x) + bk) and Wv · input(x) + bv (w = {Wq, Wk, Wv},
     * bias[i] NULL for none) would give kv_write, stored for layer l at the
     * batch positions; no k or v activations are formed. f: a norm input
     * only (f->norm NULL: x itself). Backends fuse it for some passes (the
     * Vulkan one: one token, f32/f16 caches) and refuse the rest. */
    vkllm_status (*qkv_rope_kv)(backend *b, bk_buf *q, int n_heads, bk_kv *kv, int layer, const bk_buf *x,
                                const bk_weight *const w[3], const bk_weight *const bias[3], const bk_fuse *f,
                                const bk_rope *r);
} backend_vt;

struct backend {
    const backend_vt *vt;
    vkllm_backend_kind kind;
    char device_name[256];
};

/* Constructors. */
vkllm_status cpu_backend_create(int n_threads, backend **out);
/* Returns VKLLM_ERR_UNSUPPORTED (with a message) when no usable Vulkan device exists. */
vkllm_status vk_backend_create(int device_index, int max_binding_mb, backend **out);

#endif
