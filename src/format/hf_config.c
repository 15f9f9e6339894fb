/* hf_config.c — model_config from a Hugging Face folder's config.json and
 * generation_config.json (see hf_config.h).
 *
 * Accepted: Llama/Mistral (LlamaForCausalLM, MistralForCausalLM), Qwen2 and
 * Qwen3. RoPE comes either from the classic `rope_theta` + `rope_scaling`
 * pair or from the newer `rope_parameters` object; only the default and the
 * "llama3" frequency scaling are implemented, every other scheme is refused
 * (computing it as plain RoPE would silently give wrong logits). A JSON null
 * counts as absent, as transformers treats it. Every message names the file
 * and the field. */
#include "hf_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/mfile.h"

#define HFC_MAX_FILE (16u << 20)
#define HFC_MAX_VOCAB (4 << 20)
#define HFC_MAX_DIM 65536
#define HFC_MAX_LAYERS 1024
#define HFC_MAX_HEADS 1024
#define HFC_MAX_HEAD_DIM 4096
#define HFC_MAX_FFN (1 << 20)
#define HFC_MAX_CTX (1 << 24)

static const struct {
    const char *name;
    model_arch arch;
} hfc_archs[] = {
    {"LlamaForCausalLM", ARCH_LLAMA},
    {"MistralForCausalLM", ARCH_LLAMA},
    {"Qwen2ForCausalLM", ARCH_QWEN2},
    {"Qwen3ForCausalLM", ARCH_QWEN3},
};

/* Looks up obj[key]; NULL when absent or null. */
static json_t *hfc_get(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* An integer field in [lo, hi]; def when absent and !required. field is the
 * name shown in messages (may be "rope_scaling.original_max_position_embeddings"). */
static vkllm_status hfc_int(const char *file, const json_t *obj, const char *key, const char *field,
                            int required, int def, long long lo, long long hi, int *out) {
    json_t *v = hfc_get(obj, key);
    if (!v) {
        if (required) return err_set(VKLLM_ERR_FORMAT, "%s: %s: missing", file, field);
        *out = def;
        return VKLLM_OK;
    }
    if (!json_is_integer(v))
        return err_set(VKLLM_ERR_FORMAT, "%s: %s: not an integer", file, field);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return err_set(VKLLM_ERR_FORMAT, "%s: %s: %lld out of range [%lld, %lld]", file, field, x,
                       lo, hi);
    *out = (int)x;
    return VKLLM_OK;
}

/* A number field (integer or real) in (lo, hi]. */
static vkllm_status hfc_num(const char *file, const json_t *obj, const char *key, const char *field,
                            int required, double def, double lo, double hi, float *out) {
    json_t *v = hfc_get(obj, key);
    if (!v) {
        if (required) return err_set(VKLLM_ERR_FORMAT, "%s: %s: missing", file, field);
        *out = (float)def;
        return VKLLM_OK;
    }
    if (!json_is_number(v)) return err_set(VKLLM_ERR_FORMAT, "%s: %s: not a number", file, field);
    double x = json_number_value(v);
    if (!(x > lo && x <= hi))
        return err_set(VKLLM_ERR_FORMAT, "%s: %s: %g out of range (%g, %g]", file, field, x, lo,
                       hi);
    *out = (float)x;
    return VKLLM_OK;
}

static vkllm_status hfc_bool(const char *file, const json_t *obj, const char *key, int def,
                             int *out) {
    json_t *v = hfc_get(obj, key);
    if (!v) {
        *out = def;
        return VKLLM_OK;
    }
    if (!json_is_boolean(v)) return err_set(VKLLM_ERR_FORMAT, "%s: %s: not a boolean", file, key);
    *out = json_is_true(v);
    return VKLLM_OK;
}

/* Optional string field; *out = NULL when absent. */
static vkllm_status hfc_str(const char *file, const json_t *obj, const char *key, const char *field,
                            const char **out) {
    json_t *v = hfc_get(obj, key);
    *out = NULL;
    if (!v) return VKLLM_OK;
    if (!json_is_string(v)) return err_set(VKLLM_ERR_FORMAT, "%s: %s: not a string", file, field);
    *out = json_string_value(v);
    return VKLLM_OK;
}

static vkllm_status hfc_arch(const char *file, const json_t *root, model_arch *arch) {
    json_t *archs = hfc_get(root, "architectures");
    if (archs) {
        if (!json_is_array(archs) || json_array_size(archs) == 0 ||
            !json_is_string(json_array_get(archs, 0)))
            return err_set(VKLLM_ERR_FORMAT, "%s: architectures: not a non-empty list of strings",
                           file);
        const char *name = json_string_value(json_array_get(archs, 0));
        for (size_t i = 0; i < sizeof hfc_archs / sizeof hfc_archs[0]; i++)
            if (strcmp(hfc_archs[i].name, name) == 0) {
                *arch = hfc_archs[i].arch;
                return VKLLM_OK;
            }
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: architectures: unsupported architecture '%s'",
                       file, name);
    }
    const char *type;
    TRY(hfc_str(file, root, "model_type", "model_type", &type));
    if (!type)
        return err_set(VKLLM_ERR_FORMAT, "%s: neither architectures nor model_type is given", file);
    int a = model_arch_from_name(type);
    if (a < 0)
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: model_type: unsupported model type '%s'", file,
                       type);
    *arch = (model_arch)a;
    return VKLLM_OK;
}

/* rope_theta and frequency scaling, from rope_parameters (newer) or
 * rope_theta + rope_scaling (classic). */
static vkllm_status hfc_rope(const char *file, const json_t *root, model_config *c) {
    const json_t *params = hfc_get(root, "rope_parameters");
    const char *where = "rope_parameters";
    char field[96];
    if (params) {
        if (!json_is_object(params))
            return err_set(VKLLM_ERR_FORMAT, "%s: rope_parameters: not an object", file);
        if (hfc_get(params, "rope_theta"))
            TRY(hfc_num(file, params, "rope_theta", "rope_parameters.rope_theta", 1, 0, 0, 1e12,
                        &c->rope_theta));
        else
            TRY(hfc_num(file, root, "rope_theta", "rope_theta", 0, 10000.0, 0, 1e12,
                        &c->rope_theta));
    } else {
        TRY(hfc_num(file, root, "rope_theta", "rope_theta", 0, 10000.0, 0, 1e12, &c->rope_theta));
        params = hfc_get(root, "rope_scaling");
        where = "rope_scaling";
        if (params && !json_is_object(params))
            return err_set(VKLLM_ERR_FORMAT, "%s: rope_scaling: not an object", file);
    }
    c->rope_factor = 0;
    c->rope_low_freq_factor = c->rope_high_freq_factor = 0;
    c->rope_orig_ctx = 0;
    if (!params) return VKLLM_OK;

    const char *type;
    snprintf(field, sizeof field, "%s.rope_type", where);
    TRY(hfc_str(file, params, "rope_type", field, &type));
    if (!type) { /* older configs spell it "type" */
        snprintf(field, sizeof field, "%s.type", where);
        TRY(hfc_str(file, params, "type", field, &type));
    }
    if (!type || strcmp(type, "default") == 0) return VKLLM_OK;
    if (strcmp(type, "llama3") != 0)
        return err_set(VKLLM_ERR_UNSUPPORTED,
                       "%s: %s: rope_type '%s' is not supported (only default and llama3)", file,
                       where, type);
    snprintf(field, sizeof field, "%s.factor", where);
    TRY(hfc_num(file, params, "factor", field, 1, 0, 0, 1e6, &c->rope_factor));
    snprintf(field, sizeof field, "%s.low_freq_factor", where);
    TRY(hfc_num(file, params, "low_freq_factor", field, 1, 0, 0, 1e6, &c->rope_low_freq_factor));
    snprintf(field, sizeof field, "%s.high_freq_factor", where);
    TRY(hfc_num(file, params, "high_freq_factor", field, 1, 0, 0, 1e6, &c->rope_high_freq_factor));
    if (!(c->rope_high_freq_factor > c->rope_low_freq_factor))
        return err_set(VKLLM_ERR_FORMAT,
                       "%s: %s: high_freq_factor %g must exceed low_freq_factor %g", file, where,
                       (double)c->rope_high_freq_factor, (double)c->rope_low_freq_factor);
    snprintf(field, sizeof field, "%s.original_max_position_embeddings", where);
    TRY(hfc_int(file, params, "original_max_position_embeddings", field, 1, 0, 1, HFC_MAX_CTX,
                &c->rope_orig_ctx));
    return VKLLM_OK;
}

/* bos_token_id / eos_token_id: an integer, or a list whose first element is
 * used; absent, null or an empty list leave *id unchanged. */
static vkllm_status hfc_token_id(const char *file, const json_t *obj, const char *key,
                                 int32_t *id) {
    json_t *v = hfc_get(obj, key);
    if (!v) return VKLLM_OK;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) return VKLLM_OK;
        v = json_array_get(v, 0);
    }
    if (!json_is_integer(v))
        return err_set(VKLLM_ERR_FORMAT, "%s: %s: not an integer or a list of integers", file, key);
    long long x = json_integer_value(v);
    if (x < 0 || x > INT32_MAX)
        return err_set(VKLLM_ERR_FORMAT, "%s: %s: %lld out of range", file, key, x);
    *id = (int32_t)x;
    return VKLLM_OK;
}

static vkllm_status hfc_read_json(const char *path, json_t **out) {
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    TRY(mfile_read_all(path, HFC_MAX_FILE, &text, &len));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    mem_free(text);
    if (!root)
        return err_set(VKLLM_ERR_FORMAT, "%s: bad JSON: %s (line %d)", path, jerr.text, jerr.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(VKLLM_ERR_FORMAT, "%s: not a JSON object", path);
    }
    *out = root;
    return VKLLM_OK;
}

/* Sizes, attention layout, features. */
static vkllm_status hfc_fill(const char *f, const json_t *root, model_config *c) {
    TRY(hfc_arch(f, root, &c->arch));
    TRY(hfc_int(f, root, "vocab_size", "vocab_size", 1, 0, 1, HFC_MAX_VOCAB, &c->n_vocab));
    TRY(hfc_int(f, root, "hidden_size", "hidden_size", 1, 0, 1, HFC_MAX_DIM, &c->dim));
    TRY(hfc_int(f, root, "num_hidden_layers", "num_hidden_layers", 1, 0, 1, HFC_MAX_LAYERS,
                &c->n_layers));
    TRY(hfc_int(f, root, "num_attention_heads", "num_attention_heads", 1, 0, 1, HFC_MAX_HEADS,
                &c->n_heads));
    TRY(hfc_int(f, root, "num_key_value_heads", "num_key_value_heads", 0, c->n_heads, 1,
                HFC_MAX_HEADS, &c->n_kv_heads));
    if (c->n_heads % c->n_kv_heads != 0)
        return err_set(VKLLM_ERR_FORMAT,
                       "%s: num_key_value_heads: %d does not divide num_attention_heads %d", f,
                       c->n_kv_heads, c->n_heads);
    if (!hfc_get(root, "head_dim") && c->dim % c->n_heads != 0)
        return err_set(
            VKLLM_ERR_FORMAT,
            "%s: num_attention_heads: %d does not divide hidden_size %d (and no head_dim)", f,
            c->n_heads, c->dim);
    TRY(hfc_int(f, root, "head_dim", "head_dim", 0, c->dim / c->n_heads, 1, HFC_MAX_HEAD_DIM,
                &c->head_dim));
    if (c->head_dim % 2 != 0) /* RoPE rotates pairs */
        return err_set(VKLLM_ERR_FORMAT, "%s: head_dim: %d is odd", f, c->head_dim);
    TRY(hfc_int(f, root, "intermediate_size", "intermediate_size", 1, 0, 1, HFC_MAX_FFN,
                &c->ffn_dim));
    TRY(hfc_int(f, root, "max_position_embeddings", "max_position_embeddings", 0, 2048, 1,
                HFC_MAX_CTX, &c->ctx_train));
    TRY(hfc_num(f, root, "rms_norm_eps", "rms_norm_eps", 0, 1e-6, 0, 1, &c->norm_eps));
    if (!(c->norm_eps > 0)) /* a tiny double can round to 0 as a float */
        return err_set(VKLLM_ERR_FORMAT, "%s: rms_norm_eps: too small", f);
    TRY(hfc_bool(f, root, "tie_word_embeddings", 0, &c->tied_output));
    TRY(hfc_rope(f, root, c));
    c->rope_neox = 1;

    const char *act;
    TRY(hfc_str(f, root, "hidden_act", "hidden_act", &act));
    if (act && strcmp(act, "silu") != 0)
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: hidden_act: '%s' is not supported (only silu)",
                       f, act);
    int mlp_bias, attn_bias;
    TRY(hfc_bool(f, root, "mlp_bias", 0, &mlp_bias));
    if (mlp_bias) return err_set(VKLLM_ERR_UNSUPPORTED, "%s: mlp_bias: true is not supported", f);
    TRY(hfc_bool(f, root, "attention_bias", 0, &attn_bias));
    c->has_qkv_bias = c->arch == ARCH_QWEN2 || attn_bias;
    c->has_qk_norm = c->arch == ARCH_QWEN3;

    /* Sliding-window attention equals full attention within the window, so an
     * enabled window (Mistral v0.1; Qwen2 with use_sliding_window) caps the
     * usable context instead of being implemented. */
    int sw = 0, use_sw;
    TRY(hfc_int(f, root, "sliding_window", "sliding_window", 0, 0, 0, HFC_MAX_CTX, &sw));
    TRY(hfc_bool(f, root, "use_sliding_window", sw > 0, &use_sw));
    if (use_sw && sw > 0 && sw < c->ctx_train) c->ctx_train = sw;

    c->bos_id = c->eos_id = -1;
    TRY(hfc_token_id(f, root, "bos_token_id", &c->bos_id));
    TRY(hfc_token_id(f, root, "eos_token_id", &c->eos_id));
    return VKLLM_OK;
}

static vkllm_status hfc_join(const char *dir, const char *name, buf *out) {
    buf_reset(out);
    if (buf_printf(out, "%s/%s", dir, name) != 0)
        return err_set(VKLLM_ERR_NOMEM, "hf_config: out of memory");
    return VKLLM_OK;
}

vkllm_status hf_config_load(const char *dir, model_config *cfg) {
    model_config c;
    memset(&c, 0, sizeof c);
    buf path = {0};
    json_t *root = NULL;
    vkllm_status st = hfc_join(dir, "config.json", &path);
    if (st == VKLLM_OK) st = hfc_read_json(path.data, &root);
    if (st == VKLLM_OK) st = hfc_fill(path.data, root, &c);
    json_decref(root);
    root = NULL;

    struct stat sb;
    if (st == VKLLM_OK) st = hfc_join(dir, "generation_config.json", &path);
    if (st == VKLLM_OK && stat(path.data, &sb) == 0) {
        st = hfc_read_json(path.data, &root);
        if (st == VKLLM_OK) st = hfc_token_id(path.data, root, "bos_token_id", &c.bos_id);
        if (st == VKLLM_OK) st = hfc_token_id(path.data, root, "eos_token_id", &c.eos_id);
        json_decref(root);
    }
    if (st == VKLLM_OK && (c.bos_id >= c.n_vocab || c.eos_id >= c.n_vocab))
        st = err_set(VKLLM_ERR_FORMAT, "%s: bos/eos token id %d/%d not below vocab_size %d", dir,
                     c.bos_id, c.eos_id, c.n_vocab);
    buf_free(&path);
    if (st == VKLLM_OK) *cfg = c;
    return st;
}
