/* load_gguf.c — fills a model from a GGUF file: hyper-parameters from the
 * `<arch>.*` metadata keys, weights by their GGUF names (arch.c), tokenizer
 * and chat template from `tokenizer.*`.
 *
 * Llama-architecture GGUF files made by the usual converter store Q/K rows
 * permuted for the adjacent-pair RoPE layout, so llama uses BK_ROPE_NORM here;
 * qwen2/qwen3 files are not permuted and use the rotate-half layout. */
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/model.h"

static vkllm_status gguf_u32_key(const gguf *g, const char *arch, const char *suffix, int required,
                                 int *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v;
    vkllm_status s = gguf_get_u32(g, key, &v);
    if (s == VKLLM_ERR_INVALID_ARG) {
        if (!required) return VKLLM_OK;
        return err_set(VKLLM_ERR_FORMAT, "%s: missing metadata key '%s'", gguf_path(g), key);
    }
    if (s != VKLLM_OK) return s;
    if (v > (1u << 30))
        return err_set(VKLLM_ERR_FORMAT, "%s: metadata '%s' = %u out of range", gguf_path(g), key, v);
    *out = (int)v;
    return VKLLM_OK;
}

static vkllm_status gguf_f32_key(const gguf *g, const char *arch, const char *suffix, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    vkllm_status s = gguf_get_f32(g, key, out);
    return s == VKLLM_ERR_INVALID_ARG ? VKLLM_OK : s;
}

static vkllm_status load_gguf_config(vkllm_model *m, const char **arch_out) {
    const gguf *g = m->gguf;
    model_config *c = &m->cfg;
    const char *arch;
    size_t alen;
    vkllm_status s = gguf_get_str(g, "general.architecture", &arch, &alen);
    if (s == VKLLM_ERR_INVALID_ARG)
        return err_set(VKLLM_ERR_FORMAT, "%s: missing metadata key 'general.architecture'", m->path);
    TRY(s);
    int a = model_arch_from_name(arch);
    if (a < 0)
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: unknown architecture '%.64s'", m->path, arch);
    c->arch = (model_arch)a;
    *arch_out = arch;
    c->ctx_train = 4096;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->bos_id = c->eos_id = -1;
    c->has_qkv_bias = c->arch == ARCH_QWEN2;
    c->has_qk_norm = c->arch == ARCH_QWEN3;
    c->rope_neox = c->arch != ARCH_LLAMA;
    TRY(gguf_u32_key(g, arch, "embedding_length", 1, &c->dim));
    TRY(gguf_u32_key(g, arch, "block_count", 1, &c->n_layers));
    TRY(gguf_u32_key(g, arch, "feed_forward_length", 1, &c->ffn_dim));
    TRY(gguf_u32_key(g, arch, "attention.head_count", 1, &c->n_heads));
    c->n_kv_heads = c->n_heads;
    TRY(gguf_u32_key(g, arch, "attention.head_count_kv", 0, &c->n_kv_heads));
    TRY(gguf_u32_key(g, arch, "context_length", 0, &c->ctx_train));
    TRY(gguf_f32_key(g, arch, "attention.layer_norm_rms_epsilon", &c->norm_eps));
    TRY(gguf_f32_key(g, arch, "rope.freq_base", &c->rope_theta));
    if (c->n_heads <= 0) return err_set(VKLLM_ERR_FORMAT, "%s: head count is 0", m->path);
    c->head_dim = c->dim / c->n_heads;
    TRY(gguf_u32_key(g, arch, "attention.key_length", 0, &c->head_dim));
    int rope_dims = c->head_dim;
    TRY(gguf_u32_key(g, arch, "rope.dimension_count", 0, &rope_dims));
    if (rope_dims != c->head_dim)
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: partial RoPE (%d of %d dims) is not supported",
                       m->path, rope_dims, c->head_dim);
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    c->n_vocab = emb ? (int)(emb->ne[1] > (1u << 30) ? 0 : emb->ne[1]) : 0;
    TRY(gguf_u32_key(g, arch, "vocab_size", 0, &c->n_vocab));
    c->tied_output = gguf_find_tensor(g, "output.weight") == NULL;
    return VKLLM_OK;
}

static void wtensor_from_gguf(wtensor *w, const gguf_tensor *t) {
    w->name = t->name;
    w->type = t->type;
    w->ne0 = (int64_t)t->ne[0];
    w->ne1 = (int64_t)(t->ne[1] * t->ne[2] * t->ne[3]); /* product validated by the reader */
    w->data = t->data;
    w->nbytes = t->nbytes;
}

static vkllm_status load_gguf_tensors(vkllm_model *m) {
    char name[96];
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        arch_tensor_name(MODEL_GGUF, (model_role)r, 0, name, sizeof name);
        const gguf_tensor *t = gguf_find_tensor(m->gguf, name);
        if (t) wtensor_from_gguf(arch_slot(m, (model_role)r, 0), t);
    }
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++) {
            if (!arch_has_role(&m->cfg, (model_role)r)) continue;
            arch_tensor_name(MODEL_GGUF, (model_role)r, l, name, sizeof name);
            const gguf_tensor *t = gguf_find_tensor(m->gguf, name);
            if (t) wtensor_from_gguf(arch_slot(m, (model_role)r, l), t);
        }
    const gguf_tensor *rf = gguf_find_tensor(m->gguf, "rope_freqs.weight");
    if (rf) { /* llama3 scaling: divisors of each rotary frequency */
        int half = m->cfg.head_dim / 2;
        if (rf->type != DTYPE_F32 || rf->ne[0] != (uint64_t)half || rf->nbytes != (uint64_t)half * 4)
            return err_set(VKLLM_ERR_FORMAT, "%s: tensor 'rope_freqs.weight' must be f32[%d]",
                           m->path, half);
        float *ff = mem_calloc((size_t)half, sizeof(float));
        TRY(model_own(m, ff));
        memcpy(ff, rf->data, (size_t)half * 4);
        m->rope_freq_factors = ff;
    }
    return VKLLM_OK;
}

vkllm_status model_load_gguf(vkllm_model *m, const char *path) {
    m->format = MODEL_GGUF;
    TRY(gguf_open(path, &m->gguf));
    const char *arch;
    TRY(load_gguf_config(m, &arch));
    m->layers = mem_calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
    TRY(load_gguf_tensors(m));
    const char *s;
    size_t len;
    if (gguf_get_str(m->gguf, "general.name", &s, &len) == VKLLM_OK) {
        m->name = mem_strndup(s, len);
        if (!m->name) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    }
    if (gguf_get_str(m->gguf, "tokenizer.chat_template", &s, &len) == VKLLM_OK) {
        m->chat_template = mem_strndup(s, len);
        if (!m->chat_template) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    }
    if (gguf_get_str(m->gguf, "vkllm.rope.inv_freq_round", &s, &len) == VKLLM_OK)
        m->rope_round_type = !strcmp(s, "f16") ? DTYPE_F16 : !strcmp(s, "bf16") ? DTYPE_BF16 : 0;
    if (gguf_find_key(m->gguf, "tokenizer.ggml.model") >= 0) TRY(tokenizer_from_gguf(m->gguf, &m->tok));
    return VKLLM_OK;
}
