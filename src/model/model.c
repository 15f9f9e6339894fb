/* model.c — vkllm_model_load/destroy: picks the loader from the path, then
 * validates every weight against the config (model_finish) and uploads the
 * weights to the chosen backend. */
#include "model/model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/vulkan/vk_backend.h"
#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "quant/quant.h"

vkllm_model_params vkllm_model_default_params(void) {
    vkllm_model_params p;
    memset(&p, 0, sizeof p);
    p.backend = VKLLM_BACKEND_AUTO;
    p.device = -1;
    p.profile = 0;
    return p;
}

vkllm_status model_own(vkllm_model *m, void *p) {
    if (!p) return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "model");
    if (mem_grow((void **)&m->owned, &m->cap_owned, m->n_owned + 1, sizeof(void *)) != 0) {
        mem_free(p);
        return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "model");
    }
    m->owned[m->n_owned++] = p;
    return VKLLM_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Checks the hyper-parameters every loader produced, before any shape math. */
static vkllm_status model_check_config(const vkllm_model *m) {
    const model_config *c = &m->cfg;
    const char *p = m->path;
    if (c->n_vocab < 1 || c->n_vocab > (1 << 22))
        return err_set(VKLLM_ERR_FORMAT, "%s: vocabulary size %d out of range", p, c->n_vocab);
    if (c->dim < 1 || c->dim > 65536)
        return err_set(VKLLM_ERR_FORMAT, "%s: embedding size %d out of range", p, c->dim);
    if (c->n_layers < 1 || c->n_layers > 1024)
        return err_set(VKLLM_ERR_FORMAT, "%s: layer count %d out of range", p, c->n_layers);
    if (c->n_heads < 1 || c->n_heads > 1024 || c->n_kv_heads < 1 || c->n_kv_heads > c->n_heads ||
        c->n_heads % c->n_kv_heads)
        return err_set(VKLLM_ERR_FORMAT, "%s: head counts %d/%d invalid (kv heads must divide heads)",
                       p, c->n_heads, c->n_kv_heads);
    if (c->head_dim < 2 || c->head_dim > 1024 || c->head_dim % 2)
        return err_set(VKLLM_ERR_FORMAT, "%s: head size %d invalid (even, 2..1024)", p, c->head_dim);
    if (c->ffn_dim < 1 || c->ffn_dim > (1 << 20))
        return err_set(VKLLM_ERR_FORMAT, "%s: feed-forward size %d out of range", p, c->ffn_dim);
    if (c->ctx_train < 1) return err_set(VKLLM_ERR_FORMAT, "%s: context length %d", p, c->ctx_train);
    if (!(c->norm_eps > 0 && c->norm_eps < 1))
        return err_set(VKLLM_ERR_FORMAT, "%s: RMSNorm epsilon %g out of range", p, c->norm_eps);
    if (!(c->rope_theta > 0 && isfinite(c->rope_theta)))
        return err_set(VKLLM_ERR_FORMAT, "%s: rope theta %g invalid", p, c->rope_theta);
    return VKLLM_OK;
}

/* Validates one weight (shape, type, byte count) and converts 1-D weights to f32. */
static vkllm_status model_check_weight(vkllm_model *m, model_role r, int layer) {
    wtensor *w = arch_slot(m, r, layer);
    char name[96];
    arch_tensor_name(m->format, r, layer, name, sizeof name);
    if (!w->data) return err_set(VKLLM_ERR_FORMAT, "%s: missing tensor '%s'", m->path, name);
    int64_t ne0, ne1;
    arch_shape(&m->cfg, r, &ne0, &ne1);
    if (w->ne0 != ne0 || w->ne1 != ne1)
        return err_set(VKLLM_ERR_FORMAT, "%s: tensor '%s' has shape %lldx%lld, expected %lldx%lld",
                       m->path, w->name ? w->name : name, (long long)w->ne0, (long long)w->ne1,
                       (long long)ne0, (long long)ne1);
    if (!dtype_supported(w->type))
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: tensor '%s': unsupported type %s (%u)", m->path,
                       w->name ? w->name : name, dtype_name(w->type), w->type);
    uint64_t rb = dtype_row_bytes(w->type, (uint64_t)ne0), total;
    if (!rb)
        return err_set(VKLLM_ERR_FORMAT, "%s: tensor '%s': row of %lld is not a multiple of the %s block",
                       m->path, w->name ? w->name : name, (long long)ne0, dtype_name(w->type));
    if (!ckmath_mul(rb, (uint64_t)ne1, &total) || total != w->nbytes)
        return err_set(VKLLM_ERR_FORMAT, "%s: tensor '%s': %llu bytes, expected %llu", m->path,
                       w->name ? w->name : name, (unsigned long long)w->nbytes,
                       (unsigned long long)total);
    if ((uintptr_t)w->data % 4) { /* e.g. a safetensors header not padded to 8: copy aligned */
        void *copy = mem_alloc((size_t)w->nbytes);
        TRY(model_own(m, copy));
        memcpy(copy, w->data, (size_t)w->nbytes);
        w->data = copy;
    }
    m->weight_bytes += w->nbytes;
    if (w->type < DTYPE_COUNT_) {
        m->bytes_by_type[w->type] += w->nbytes;
        if (m->bytes_by_type[w->type] > m->bytes_by_type[m->main_type]) m->main_type = w->type;
    }
    m->n_params += (uint64_t)ne0 * (uint64_t)ne1;
    if (ne1 == 1 && w->type != DTYPE_F32) { /* norms and biases: f32 copies for every backend */
        float *f = mem_calloc((size_t)ne0, sizeof(float));
        TRY(model_own(m, f));
        if (quant_dequantize_row(w->type, w->data, f, ne0) != 0)
            return err_set(VKLLM_ERR_UNSUPPORTED, "%s: tensor '%s': cannot convert %s", m->path,
                           name, dtype_name(w->type));
        w->data = f;
        w->type = DTYPE_F32;
        w->nbytes = (uint64_t)ne0 * 4;
    }
    return VKLLM_OK;
}

/* RoPE frequency divisors. Backends compute inv_freq[i] = 1 / theta^(2i/d) in
 * f32 and divide it by factor[i]. Factors carry (a) llama3 frequency scaling
 * computed from the config when the file has no rope_freqs tensor, and (b)
 * for Hugging Face folders stored in f16/bf16, the rounding of inv_freq to
 * that dtype which transformers applies (its inv_freq buffer is cast with the
 * model), so our logits match transformers'. */
static vkllm_status model_rope_factors(vkllm_model *m) {
    const model_config *c = &m->cfg;
    int half = c->head_dim / 2;
    if (!m->rope_freq_factors && c->rope_factor <= 0 && !m->rope_round_type) return VKLLM_OK;
    float *ff = mem_calloc((size_t)half, sizeof(float));
    TRY(model_own(m, ff));
    double lo_wl = c->rope_orig_ctx / (double)c->rope_low_freq_factor;
    double hi_wl = c->rope_orig_ctx / (double)c->rope_high_freq_factor;
    for (int i = 0; i < half; i++) {
        float inv = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)c->head_dim), eff = inv;
        if (m->rope_freq_factors) {
            eff = inv / m->rope_freq_factors[i];
        } else if (c->rope_factor > 0) {
            double wl = 2 * M_PI / inv;
            if (wl > lo_wl) {
                eff = inv / c->rope_factor;
            } else if (wl >= hi_wl) {
                float smooth = (float)((c->rope_orig_ctx / wl - c->rope_low_freq_factor) /
                                       (c->rope_high_freq_factor - c->rope_low_freq_factor));
                eff = (1 - smooth) * inv / c->rope_factor + smooth * inv;
            }
        }
        if (m->rope_round_type == DTYPE_F16) eff = dtype_f16_to_f32(dtype_f32_to_f16(eff));
        if (m->rope_round_type == DTYPE_BF16) eff = dtype_bf16_to_f32(dtype_f32_to_bf16(eff));
        ff[i] = inv / eff;
    }
    m->rope_freq_factors = ff;
    return VKLLM_OK;
}

vkllm_status model_finish(vkllm_model *m) {
    TRY(model_check_config(m));
    if (m->cfg.tied_output) m->output = m->tok_embd;
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        if (r == ROLE_OUTPUT && m->cfg.tied_output) continue;
        TRY(model_check_weight(m, (model_role)r, 0));
    }
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++)
            if (arch_has_role(&m->cfg, (model_role)r)) TRY(model_check_weight(m, (model_role)r, l));
    if (m->cfg.tied_output) m->output = m->tok_embd;
    if (m->tok && tokenizer_n_vocab(m->tok) > m->cfg.n_vocab)
        return err_set(VKLLM_ERR_FORMAT, "%s: tokenizer has %d tokens but the model only %d",
                       m->path, tokenizer_n_vocab(m->tok), m->cfg.n_vocab);
    TRY(model_rope_factors(m));
    return VKLLM_OK;
}

vkllm_status model_upload(vkllm_model *m, backend *be) {
    m->be = be;
    m->bk_layers = mem_calloc((size_t)m->cfg.n_layers, sizeof *m->bk_layers);
    if (!m->bk_layers) return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", m->path);
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        if (r == ROLE_OUTPUT && m->cfg.tied_output) continue;
        TRY(be->vt->weight_upload(be, arch_slot(m, (model_role)r, 0),
                                  arch_bk_slot(m, (model_role)r, 0)));
    }
    if (m->cfg.tied_output) m->bk_output = m->bk_tok_embd;
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++)
            if (arch_has_role(&m->cfg, (model_role)r))
                TRY(be->vt->weight_upload(be, arch_slot(m, (model_role)r, l),
                                          arch_bk_slot(m, (model_role)r, l)));
    return VKLLM_OK;
}

static void model_free_backend(vkllm_model *m) {
    backend *be = m->be;
    if (!be) return;
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        if (r == ROLE_OUTPUT && m->cfg.tied_output) continue;
        bk_weight **w = arch_bk_slot(m, (model_role)r, 0);
        if (*w) be->vt->weight_free(be, *w);
    }
    if (m->bk_layers)
        for (int l = 0; l < m->cfg.n_layers; l++)
            for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++) {
                bk_weight **w = arch_bk_slot(m, (model_role)r, l);
                if (*w) be->vt->weight_free(be, *w);
            }
    mem_free(m->bk_layers);
    be->vt->destroy(be);
    m->be = NULL;
}

void vkllm_model_destroy(vkllm_model *m) {
    if (!m) return;
    model_free_backend(m);
    tokenizer_free(m->tok);
    gguf_close(m->gguf);
    safetensors_close(m->st);
    if (m->has_l2c) llama2c_close(&m->l2c);
    for (size_t i = 0; i < m->n_owned; i++) mem_free(m->owned[i]);
    mem_free(m->owned);
    mem_free(m->layers);
    mem_free(m->chat_template);
    mem_free(m->name);
    mem_free(m->path);
    mem_free(m);
}

static vkllm_status model_pick_backend(vkllm_model *m, const vkllm_model_params *p) {
    backend *be = NULL;
    vkllm_status s;
    if (p->backend == VKLLM_BACKEND_VULKAN || p->backend == VKLLM_BACKEND_AUTO) {
        vk_backend_opts vo = {.device_index = p->device, .max_binding_mb = p->max_binding_mb, .profile = p->profile};
        s = vk_backend_create_opts(&vo, &be);
        if (s != VKLLM_OK) {
            if (p->backend == VKLLM_BACKEND_VULKAN) return s;
            log_msg(LOG_INFO, "no usable Vulkan device (%s); using the CPU", err_msg());
            be = NULL;
        }
    }
    if (!be) {
        long nt = p->n_threads ? p->n_threads : sysconf(_SC_NPROCESSORS_ONLN);
        TRY(cpu_backend_create(nt < 1 ? 1 : nt > 256 ? 256 : (int)nt, &be));
    }
    s = model_upload(m, be);
    if (s != VKLLM_OK && !m->be) be->vt->destroy(be);
    return s;
}

vkllm_status model_open(const char *path, const char *tokenizer_path, vkllm_model **out) {
    *out = NULL;
    if (!path || !*path) return err_set(VKLLM_ERR_INVALID_ARG, "model path is empty");
    struct stat st;
    if (stat(path, &st) != 0) return err_set(VKLLM_ERR_IO, "%s: no such file or folder", path);
    vkllm_model *m = mem_calloc(1, sizeof *m);
    if (!m) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    m->path = mem_strdup(path);
    vkllm_status s = m->path ? VKLLM_OK : err_set(VKLLM_ERR_NOMEM, "out of memory");
    if (s == VKLLM_OK) {
        if (S_ISDIR(st.st_mode))
            s = model_load_hf(m, path);
        else if (ends_with(path, ".bin"))
            s = model_load_llama2c(m, path, tokenizer_path);
        else
            s = model_load_gguf(m, path);
    }
    if (s == VKLLM_OK) s = model_finish(m);
    if (s != VKLLM_OK) {
        vkllm_model_destroy(m);
        return s;
    }
    *out = m;
    return VKLLM_OK;
}

vkllm_status vkllm_model_load(const char *path, const vkllm_model_params *params,
                              vkllm_model **out) {
    *out = NULL;
    vkllm_model_params defaults = vkllm_model_default_params();
    const vkllm_model_params *p = params ? params : &defaults;
    if (p->n_threads < 0 || p->n_threads > 1024)
        return err_set(VKLLM_ERR_INVALID_ARG, "thread count %d out of range [0, 1024]",
                       p->n_threads);
    if (p->max_binding_mb < 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "max binding size %d MiB is negative",
                       p->max_binding_mb);
    vkllm_model *m;
    TRY(model_open(path, p->tokenizer_path, &m));
    vkllm_status s = model_pick_backend(m, p);
    if (s != VKLLM_OK) {
        vkllm_model_destroy(m);
        return s;
    }
    *out = m;
    return VKLLM_OK;
}

void vkllm_model_get_info(const vkllm_model *m, vkllm_model_info *info) {
    memset(info, 0, sizeof *info);
    const model_config *c = &m->cfg;
    info->arch = model_arch_name(c->arch);
    info->name = m->name ? m->name : "";
    info->n_vocab = c->n_vocab;
    info->dim = c->dim;
    info->n_layers = c->n_layers;
    info->n_heads = c->n_heads;
    info->n_kv_heads = c->n_kv_heads;
    info->head_dim = c->head_dim;
    info->ffn_dim = c->ffn_dim;
    info->ctx_train = c->ctx_train;
    info->rope_theta = c->rope_theta;
    info->weight_bytes = m->weight_bytes;
    info->n_params = m->n_params;
    info->bos_id = m->tok ? tokenizer_bos(m->tok) : c->bos_id;
    info->eos_id = m->tok ? tokenizer_eos(m->tok) : c->eos_id;
    info->backend = m->be ? m->be->vt->name : "none";
    info->device = m->be ? m->be->device_name : "";
    info->weight_type = dtype_name(m->main_type);
}

const char *vkllm_model_chat_template(const vkllm_model *m) { return m->chat_template; }
