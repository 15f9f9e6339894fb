/* model.h — a loaded model: hyper-parameters, weights (views into the mapped
 * files or small heap copies), tokenizer, chat template, and the backend copies
 * of the weights.
 *
 * Every loader (GGUF, Hugging Face folder, llama2.c checkpoint) fills the same
 * struct; after model_finish() all weights are validated against the config
 * (shapes, supported types) and 1-D weights (norms, biases) are f32 copies. */
#ifndef VKLLM_MODEL_MODEL_H
#define VKLLM_MODEL_MODEL_H

#include "backend/backend.h"
#include "core/dtype.h"
#include "format/gguf.h"
#include "format/llama2c.h"
#include "format/safetensors.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

/* Weights of one transformer block. Shapes as ne0 (columns) x ne1 (rows). */
typedef struct model_layer {
    wtensor attn_norm; /* dim */
    wtensor wq;        /* dim x (n_heads*head_dim) */
    wtensor wk;        /* dim x (n_kv_heads*head_dim) */
    wtensor wv;        /* dim x (n_kv_heads*head_dim) */
    wtensor wo;        /* (n_heads*head_dim) x dim */
    wtensor bq, bk, bv;        /* qwen2: q/k/v biases (data NULL when absent) */
    wtensor q_norm, k_norm;    /* qwen3: per-head RMSNorm weights, head_dim */
    wtensor ffn_norm;  /* dim */
    wtensor w_gate;    /* dim x ffn */
    wtensor w_up;      /* dim x ffn */
    wtensor w_down;    /* ffn x dim */
} model_layer;

/* Per-layer uploaded weights (backend copies, same order as model_layer). */
typedef struct model_bk_layer {
    bk_weight *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *q_norm, *k_norm, *ffn_norm,
        *w_gate, *w_up, *w_down;
} model_bk_layer;

typedef enum model_format { MODEL_GGUF = 0, MODEL_HF, MODEL_LLAMA2C } model_format;

struct vkllm_model {
    model_config cfg;
    model_format format;
    char *path;
    char *name;
    char *chat_template;     /* NULL when the model ships none */

    wtensor tok_embd;        /* dim x n_vocab */
    wtensor out_norm;        /* dim */
    wtensor output;          /* dim x n_vocab (= tok_embd when tied) */
    model_layer *layers;     /* [n_layers] */
    float *rope_freq_factors; /* [head_dim/2] or NULL */

    /* sources that own the bytes the wtensors point into */
    gguf *gguf;
    safetensors *st;
    llama2c l2c;
    int has_l2c;
    void **owned;            /* heap copies (f32 norms, biases, names) */
    size_t n_owned, cap_owned;

    tokenizer *tok;          /* NULL when the model has none */

    backend *be;
    bk_weight *bk_tok_embd, *bk_out_norm, *bk_output;
    model_bk_layer *bk_layers;

    uint64_t weight_bytes, n_params;
    uint64_t bytes_by_type[DTYPE_COUNT_];
    uint32_t main_type;      /* the type holding the most bytes */
};

/* Loads and validates a model without choosing a backend (vkllm info uses
 * this; vkllm_model_load adds the backend). */
vkllm_status model_open(const char *path, const char *tokenizer_path, vkllm_model **out);

/* Loaders: fill cfg, weights, tokenizer and template; no backend yet. */
vkllm_status model_load_gguf(vkllm_model *m, const char *path);
vkllm_status model_load_hf(vkllm_model *m, const char *dir);
vkllm_status model_load_llama2c(vkllm_model *m, const char *path, const char *tokenizer_path);

/* Validates every weight against cfg, converts 1-D weights to f32 copies,
 * computes sizes. Called by vkllm_model_load after a loader. */
vkllm_status model_finish(vkllm_model *m);
/* Uploads all weights to the backend. */
vkllm_status model_upload(vkllm_model *m, backend *be);

/* Keeps p alive until the model is destroyed; frees p and returns NOMEM on failure. */
vkllm_status model_own(vkllm_model *m, void *p);

/* Architecture tables (arch.c): tensor names per source. */
typedef enum model_role {
    ROLE_TOK_EMBD = 0, ROLE_OUT_NORM, ROLE_OUTPUT,
    ROLE_ATTN_NORM, ROLE_WQ, ROLE_WK, ROLE_WV, ROLE_WO, ROLE_BQ, ROLE_BK, ROLE_BV,
    ROLE_Q_NORM, ROLE_K_NORM, ROLE_FFN_NORM, ROLE_W_GATE, ROLE_W_UP, ROLE_W_DOWN,
    ROLE_COUNT_
} model_role;

#define ROLE_FIRST_LAYER ROLE_ATTN_NORM

/* Tensor name of a role for a format ("blk.%d.attn_q.weight"); layer ignored
 * for global roles. Returns 0 when the name does not fit in cap. */
int arch_tensor_name(model_format f, model_role r, int layer, char *out, size_t cap);
/* Whether an architecture has an optional role (biases, q/k norms). */
int arch_has_role(const model_config *cfg, model_role r);
/* The wtensor slot of a role in the model. */
wtensor *arch_slot(vkllm_model *m, model_role r, int layer);
bk_weight **arch_bk_slot(vkllm_model *m, model_role r, int layer);
/* Expected (ne0, ne1) of a role. */
void arch_shape(const model_config *cfg, model_role r, int64_t *ne0, int64_t *ne1);

#endif
