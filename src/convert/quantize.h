/* quantize.h — choosing tensor types for a target ("q8_0", "q4_k_m", ...) and
 * writing tensors through the GGUF writer, quantized by all cores.
 *
 * A quantize_plan is the list of output tensors, each with a row source: rows
 * of an existing buffer (any type quant_dequantize_row reads, optionally with
 * the llama Q/K row permutation), or a generator (synthetic weights). Writing
 * the plan declares every tensor, then streams the data chunk by chunk: each
 * chunk of rows is converted by n_threads threads into one buffer, handed to
 * the writer, and reused, so memory stays at a few chunk buffers whatever the
 * model size. A tensor whose source already has the output type and needs no
 * permutation is copied byte for byte. */
#ifndef VKLLM_CONVERT_QUANTIZE_H
#define VKLLM_CONVERT_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"
#include "format/gguf_write.h"
#include "vkllm.h"

/* general.file_type values (the numbering published GGUF files use). */
enum {
    QUANT_FTYPE_F32 = 0, QUANT_FTYPE_F16 = 1, QUANT_FTYPE_Q4_0 = 2, QUANT_FTYPE_Q4_1 = 3,
    QUANT_FTYPE_Q8_0 = 7, QUANT_FTYPE_Q5_0 = 8, QUANT_FTYPE_Q5_1 = 9, QUANT_FTYPE_Q4_K_S = 14,
    QUANT_FTYPE_Q4_K_M = 15, QUANT_FTYPE_Q5_K_S = 16, QUANT_FTYPE_Q5_K_M = 17,
    QUANT_FTYPE_Q6_K = 18, QUANT_FTYPE_BF16 = 32
};

typedef struct quantize_target {
    const char *name;  /* "q4_k_m" */
    uint32_t ftype;    /* general.file_type */
    uint32_t base;     /* dtype of most 2-D tensors */
    int mix;           /* 1: the _M recipe (attn_v/ffn_down/output get more bits) */
} quantize_target;

/* Parses a target name (case-insensitive): f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1
 * q4_k q5_k q6_k q4_k_m q5_k_m. Returns -1 (no message) when unknown. */
int quantize_target_from_name(const char *name, quantize_target *out);
/* The accepted names, for help and error text. */
extern const char quantize_target_names[];

/* Output type of a tensor under a target. name: GGUF tensor name (the layer
 * number is read from "blk.N."); n_dims counted as in the file (1-D tensors
 * stay F32); n_layers and has_output (whether the model has output.weight)
 * drive the mix. Rows whose length the type cannot hold fall back per
 * quant_fallback_type, with a warning through log_msg. */
uint32_t quantize_pick_type(const quantize_target *t, const char *name, uint32_t n_dims,
                            int64_t ne0, int n_layers, int has_output);

typedef struct quantize_tensor quantize_tensor;
/* Writes row `row` (ne[0] floats) of a generated tensor; called from several
 * threads at once. */
typedef void (*quantize_gen_fn)(const quantize_tensor *t, int64_t row, float *out);

struct quantize_tensor {
    char *name;         /* owned by the plan */
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;      /* output dtype */
    /* source: src rows of src_type (row r at src + r * row bytes), or gen */
    const void *src;
    uint32_t src_type;
    int perm_heads;     /* > 0: llama Q/K rows reordered from rotate-half to interleaved per head */
    quantize_gen_fn gen;
    uint64_t seed;      /* for generators */
    float lo, hi;       /* generator range */
};

typedef void (*quantize_progress_fn)(void *ud, uint64_t done, uint64_t total);

typedef struct quantize_plan {
    quantize_tensor *t;
    size_t n, cap;
    int n_threads;               /* <= 0: all online cores */
    quantize_progress_fn progress; /* optional; called from the writing thread */
    void *progress_ud;
} quantize_plan;

void quantize_plan_free(quantize_plan *p);
/* Appends a copy of *t (name duplicated). */
vkllm_status quantize_plan_add(quantize_plan *p, const quantize_tensor *t);
/* Declares every tensor to w, then begins the data and streams it; the caller
 * sets metadata before and calls gguf_writer_finish after. */
vkllm_status quantize_plan_write(quantize_plan *p, gguf_writer *w);

/* `vkllm quantize` on a GGUF file: copies every key (general.file_type set to
 * the target) and every tensor, converting the weights to the target's types.
 * n_threads <= 0: all cores. */
vkllm_status quantize_gguf_file(const char *in, const char *out, const quantize_target *t,
                                int n_threads, quantize_progress_fn progress, void *ud);

#endif
