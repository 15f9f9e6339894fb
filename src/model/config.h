/* config.h — the hyper-parameters of a Llama-family model, whatever file it came from. */
#ifndef VKLLM_MODEL_CONFIG_H
#define VKLLM_MODEL_CONFIG_H

#include <stdint.h>

typedef enum model_arch { ARCH_LLAMA = 0, ARCH_QWEN2, ARCH_QWEN3, ARCH_COUNT_ } model_arch;

typedef struct model_config {
    model_arch arch;
    int n_vocab;
    int dim;          /* hidden size */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;     /* usually dim / n_heads; qwen3 states it explicitly */
    int ffn_dim;      /* intermediate size */
    int ctx_train;    /* max_position_embeddings / context_length */
    float norm_eps;   /* RMSNorm epsilon */
    float rope_theta;
    int rope_neox;    /* 1: rotate halves (HF layout, qwen); 0: adjacent pairs (GGUF llama) */
    /* rope_type "llama3" frequency scaling (0 factor = off) */
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_orig_ctx;
    int tied_output;  /* output projection = token embedding */
    int has_qkv_bias; /* qwen2 */
    int has_qk_norm;  /* qwen3 */
    int32_t bos_id, eos_id; /* from the config files; -1 when unknown */
} model_config;

const char *model_arch_name(model_arch a);
/* Parses "llama", "mistral", "qwen2", "qwen3" ...; returns -1 when unknown. */
int model_arch_from_name(const char *name);

#endif
