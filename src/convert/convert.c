/* convert.c — Hugging Face folder -> GGUF.
 *
 * The folder is loaded and validated by model_open (config, safetensors,
 * tokenizer, chat template), then written with:
 *   metadata  general.architecture/type/name/file_type/quantization_version and
 *             <arch>.context_length, embedding_length, block_count,
 *             feed_forward_length, attention.head_count(_kv),
 *             attention.layer_norm_rms_epsilon, rope.freq_base,
 *             rope.dimension_count, vocab_size, attention.key_length and
 *             value_length (llama, qwen3); tokenizer.ggml.* (tokmeta.c);
 *             tokenizer.chat_template.
 *   tensors   rope_freqs.weight (llama3 scaling), then every role of arch.c
 *             under its GGUF name; 1-D tensors F32, matrices in the target's
 *             types. For llama the Q and K rows are reordered within each head
 *             from the rotate-half layout of HF checkpoints to the interleaved
 *             layout llama GGUF files carry (the loader undoes neither: it runs
 *             llama GGUF files with adjacent-pair RoPE). */
#include "convert/convert.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert/tokmeta.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/model.h"

static vkllm_status convert_arch_u32(gguf_writer *w, const char *arch, const char *suffix, uint32_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_writer_set_u32(w, key, v);
}

static vkllm_status convert_arch_f32(gguf_writer *w, const char *arch, const char *suffix, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_writer_set_f32(w, key, v);
}

vkllm_status convert_set_hparams(gguf_writer *w, const model_config *c, const char *name,
                                 uint32_t ftype) {
    const char *a = model_arch_name(c->arch);
    TRY(gguf_writer_set_str(w, "general.architecture", a, strlen(a)));
    TRY(gguf_writer_set_str(w, "general.type", "model", 5));
    if (name) TRY(gguf_writer_set_str(w, "general.name", name, strlen(name)));
    TRY(convert_arch_u32(w, a, "block_count", (uint32_t)c->n_layers));
    TRY(convert_arch_u32(w, a, "context_length", (uint32_t)c->ctx_train));
    TRY(convert_arch_u32(w, a, "embedding_length", (uint32_t)c->dim));
    TRY(convert_arch_u32(w, a, "feed_forward_length", (uint32_t)c->ffn_dim));
    TRY(convert_arch_u32(w, a, "attention.head_count", (uint32_t)c->n_heads));
    TRY(convert_arch_u32(w, a, "attention.head_count_kv", (uint32_t)c->n_kv_heads));
    TRY(convert_arch_f32(w, a, "rope.freq_base", c->rope_theta));
    TRY(convert_arch_f32(w, a, "attention.layer_norm_rms_epsilon", c->norm_eps));
    if (c->arch != ARCH_QWEN2 || c->head_dim * c->n_heads != c->dim) {
        TRY(convert_arch_u32(w, a, "attention.key_length", (uint32_t)c->head_dim));
        TRY(convert_arch_u32(w, a, "attention.value_length", (uint32_t)c->head_dim));
    }
    TRY(gguf_writer_set_u32(w, "general.file_type", ftype));
    TRY(convert_arch_u32(w, a, "vocab_size", (uint32_t)c->n_vocab));
    TRY(convert_arch_u32(w, a, "rope.dimension_count", (uint32_t)c->head_dim));
    return gguf_writer_set_u32(w, "general.quantization_version", 2);
}

/* llama3 scaling: frequencies with a wavelength below original_ctx /
 * high_freq_factor keep their value, above original_ctx / low_freq_factor are
 * divided by factor, and in between blend smoothly; stored as divisors. */
int convert_rope_freqs(const model_config *c, float *out) {
    if (!(c->rope_factor > 0) || c->rope_orig_ctx <= 0) return 0;
    double lo_wl = c->rope_orig_ctx / (double)c->rope_low_freq_factor;
    double hi_wl = c->rope_orig_ctx / (double)c->rope_high_freq_factor;
    for (int i = 0; i < c->head_dim / 2; i++) {
        float freq = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)c->head_dim);
        double wl = 2 * M_PI / freq;
        if (wl < hi_wl) {
            out[i] = 1.0f;
        } else if (wl > lo_wl) {
            out[i] = c->rope_factor;
        } else {
            double smooth = (c->rope_orig_ctx / wl - c->rope_low_freq_factor) /
                            (c->rope_high_freq_factor - c->rope_low_freq_factor);
            out[i] = (float)(1.0 / ((1 - smooth) / c->rope_factor + smooth));
        }
    }
    return 1;
}

/* "tiny-llama2" -> "Tiny Llama2", as the published converter names models. */
static void convert_title(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    size_t k = 0;
    int word_start = 1;
    for (size_t i = b; i < n && k + 1 < cap; i++) {
        char ch = dir[i] == '-' || dir[i] == '_' ? ' ' : dir[i];
        out[k++] = word_start ? (char)toupper((unsigned char)ch) : ch;
        word_start = ch == ' ';
    }
    out[k] = 0;
}

static vkllm_status convert_add_role(quantize_plan *p, vkllm_model *m, model_role r, int layer,
                                     const quantize_target *tg) {
    wtensor *wt = arch_slot(m, r, layer);
    char name[96];
    arch_tensor_name(MODEL_GGUF, r, layer, name, sizeof name);
    int64_t ne0, ne1;
    arch_shape(&m->cfg, r, &ne0, &ne1);
    uint32_t n_dims = ne1 == 1 && r != ROLE_TOK_EMBD && r != ROLE_OUTPUT ? 1 : 2;
    quantize_tensor t = {.name = name, .n_dims = n_dims, .ne = {(uint64_t)ne0, (uint64_t)ne1, 1, 1},
                         .src = wt->data, .src_type = wt->type};
    t.type = quantize_pick_type(tg, name, n_dims, ne0, m->cfg.n_layers, !m->cfg.tied_output);
    if (m->cfg.arch == ARCH_LLAMA && (r == ROLE_WQ || r == ROLE_WK))
        t.perm_heads = r == ROLE_WQ ? m->cfg.n_heads : m->cfg.n_kv_heads;
    return quantize_plan_add(p, &t);
}

static vkllm_status convert_plan(quantize_plan *p, vkllm_model *m, const quantize_target *tg,
                                 const float *rope_freqs) {
    if (rope_freqs) {
        quantize_tensor t = {.name = "rope_freqs.weight", .n_dims = 1,
                             .ne = {(uint64_t)m->cfg.head_dim / 2, 1, 1, 1}, .type = DTYPE_F32,
                             .src = rope_freqs, .src_type = DTYPE_F32};
        TRY(quantize_plan_add(p, &t));
    }
    TRY(convert_add_role(p, m, ROLE_TOK_EMBD, 0, tg));
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++)
            if (arch_has_role(&m->cfg, (model_role)r)) TRY(convert_add_role(p, m, (model_role)r, l, tg));
    TRY(convert_add_role(p, m, ROLE_OUT_NORM, 0, tg));
    if (!m->cfg.tied_output) TRY(convert_add_role(p, m, ROLE_OUTPUT, 0, tg));
    return VKLLM_OK;
}

vkllm_status convert_hf(const char *dir, const char *out, const quantize_target *t, int n_threads,
                        quantize_progress_fn progress, void *ud) {
    vkllm_model *m;
    TRY(model_open(dir, NULL, &m));
    vkllm_status s = VKLLM_OK;
    if (m->format != MODEL_HF)
        s = err_set(VKLLM_ERR_INVALID_ARG, "convert: %s is not a Hugging Face folder", dir);
    float rope_freqs[512];
    int has_rf = s == VKLLM_OK && m->cfg.head_dim <= 1024 && convert_rope_freqs(&m->cfg, rope_freqs);
    char name[256];
    convert_title(dir, name, sizeof name);
    gguf_writer *w = NULL;
    quantize_plan p = {.n_threads = n_threads, .progress = progress, .progress_ud = ud};
    if (s == VKLLM_OK) s = gguf_writer_create(out, &w);
    if (s == VKLLM_OK) s = convert_set_hparams(w, &m->cfg, name, t->ftype);
    if (s == VKLLM_OK) s = tokmeta_from_hf(w, dir, m->cfg.n_vocab);
    /* transformers rounds inv_freq to the checkpoint dtype; keep that for our loader
     * (other readers ignore the key) */
    if (s == VKLLM_OK && m->rope_round_type) {
        const char *rt = m->rope_round_type == DTYPE_F16 ? "f16" : "bf16";
        s = gguf_writer_set_str(w, "vkllm.rope.inv_freq_round", rt, strlen(rt));
    }
    if (s == VKLLM_OK && m->chat_template)
        s = gguf_writer_set_str(w, "tokenizer.chat_template", m->chat_template, strlen(m->chat_template));
    if (s == VKLLM_OK) s = convert_plan(&p, m, t, has_rf ? rope_freqs : NULL);
    if (s == VKLLM_OK) s = quantize_plan_write(&p, w);
    if (s == VKLLM_OK) s = gguf_writer_finish(w);
    gguf_writer_free(w);
    quantize_plan_free(&p);
    vkllm_model_destroy(m);
    return s;
}
