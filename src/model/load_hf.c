/* load_hf.c — fills a model from a Hugging Face folder: config.json (+
 * generation_config.json), safetensors weights (single or sharded),
 * tokenizer.json and the chat template from tokenizer_config.json or
 * chat_template.jinja. HF checkpoints keep Q/K in the rotate-half layout. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/mfile.h"
#include "format/hf_config.h"
#include "model/model.h"

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void wtensor_from_st(wtensor *w, const st_tensor *t) {
    w->name = t->name;
    w->type = t->type;
    if (t->n_dims == 0) {
        w->ne0 = 1;
        w->ne1 = 1;
    } else {
        w->ne0 = t->shape[t->n_dims - 1];
        w->ne1 = 1;
        for (int i = 0; i < t->n_dims - 1; i++) w->ne1 *= t->shape[i]; /* validated by the reader */
    }
    w->data = t->data;
    w->nbytes = t->nbytes;
}

static vkllm_status load_hf_tensors(vkllm_model *m) {
    char name[96];
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        arch_tensor_name(MODEL_HF, (model_role)r, 0, name, sizeof name);
        const st_tensor *t = safetensors_find(m->st, name);
        if (t) wtensor_from_st(arch_slot(m, (model_role)r, 0), t);
    }
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++) {
            if (!arch_has_role(&m->cfg, (model_role)r)) continue;
            arch_tensor_name(MODEL_HF, (model_role)r, l, name, sizeof name);
            const st_tensor *t = safetensors_find(m->st, name);
            if (t) wtensor_from_st(arch_slot(m, (model_role)r, l), t);
        }
    /* Llama's attention_bias also adds an o_proj bias, which the forward pass lacks */
    if (safetensors_find(m->st, "model.layers.0.self_attn.o_proj.bias"))
        return err_set(VKLLM_ERR_UNSUPPORTED, "%s: attention output bias (o_proj.bias) is not supported",
                       m->path);
    return VKLLM_OK;
}

/* chat_template from tokenizer_config.json (a string, or a list of {name, template}
 * where "default" wins) or from chat_template.jinja. Absence is not an error. */
static vkllm_status load_hf_template(vkllm_model *m, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    if (file_exists(path)) {
        char *text;
        TRY(mfile_read_all(path, 16u << 20, &text, NULL));
        m->chat_template = text;
        return VKLLM_OK;
    }
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (!file_exists(path)) return VKLLM_OK;
    char *text;
    size_t len;
    TRY(mfile_read_all(path, 256u << 20, &text, &len));
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &je); /* model_max_length can exceed int64 */
    mem_free(text);
    if (!root)
        return err_set(VKLLM_ERR_FORMAT, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column,
                       je.text);
    json_t *ct = json_object_get(root, "chat_template");
    const char *tmpl = NULL;
    if (json_is_string(ct)) {
        tmpl = json_string_value(ct);
    } else if (json_is_array(ct)) {
        size_t i;
        json_t *e;
        json_array_foreach(ct, i, e) {
            json_t *nm = json_object_get(e, "name"), *tt = json_object_get(e, "template");
            if (json_is_string(tt) && (!tmpl || (json_is_string(nm) &&
                                                 !strcmp(json_string_value(nm), "default"))))
                tmpl = json_string_value(tt);
        }
    }
    vkllm_status s = VKLLM_OK;
    if (tmpl) {
        m->chat_template = mem_strdup(tmpl);
        if (!m->chat_template) s = err_set(VKLLM_ERR_NOMEM, "out of memory");
    }
    json_decref(root);
    return s;
}

vkllm_status model_load_hf(vkllm_model *m, const char *dir) {
    m->format = MODEL_HF;
    TRY(hf_config_load(dir, &m->cfg));
    m->cfg.rope_neox = 1;
    m->layers = mem_calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", dir);
    TRY(safetensors_open_dir(dir, &m->st));
    TRY(load_hf_tensors(m));
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    m->name = mem_strdup(base);
    if (!m->name) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    TRY(load_hf_template(m, dir));
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (file_exists(path)) TRY(tokenizer_from_hf(dir, &m->tok));
    return VKLLM_OK;
}
