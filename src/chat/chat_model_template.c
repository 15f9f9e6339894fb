/* chat_model_template.c — see chat_model_template.h. */
#include "chat/chat_model_template.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "format/gguf.h"

static char *dup_n(const char *s, size_t n) { return mem_strndup(s, n); }

/* A special token in tokenizer_config.json: "text" or {"content": "text", ...}. */
static char *token_str(const json_t *v) {
    if (json_is_object(v)) v = json_object_get(v, "content");
    if (!json_is_string(v)) return NULL;
    return dup_n(json_string_value(v), json_string_length(v));
}

static vkllm_status read_file(const char *path, char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(VKLLM_ERR_IO, "%s: cannot open", path);
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_append(&b, tmp, n)) {
            buf_free(&b);
            fclose(f);
            return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
        }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return err_set(VKLLM_ERR_IO, "%s: read error", path);
    }
    *len = b.len;
    *out = buf_steal(&b);
    return *out ? VKLLM_OK : err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
}

static vkllm_status load_hf(const char *dir, char **tmpl, size_t *len, char **bos, char **eos) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    json_error_t e;
    /* INT_AS_REAL: configs carry integers past 64 bits (model_max_length 1e30) */
    json_t *cfg = json_load_file(path, JSON_DECODE_INT_AS_REAL, &e);
    const json_t *ct = NULL;
    if (cfg) {
        *bos = token_str(json_object_get(cfg, "bos_token"));
        *eos = token_str(json_object_get(cfg, "eos_token"));
        ct = json_object_get(cfg, "chat_template");
        if (json_is_array(ct)) {
            const json_t *pick = NULL;
            size_t i;
            json_t *item;
            json_array_foreach(ct, i, item) {
                const json_t *name = json_object_get(item, "name");
                if (json_is_string(name) && !strcmp(json_string_value(name), "default"))
                    pick = json_object_get(item, "template");
            }
            ct = pick;
        }
        if (ct && !json_is_string(ct)) ct = NULL;
    } else {
        struct stat st;
        if (stat(path, &st) == 0)
            return err_set(VKLLM_ERR_FORMAT, "%s:%d: %s", path, e.line, e.text);
    }
    vkllm_status s;
    if (ct) {
        *len = json_string_length(ct);
        *tmpl = dup_n(json_string_value(ct), *len);
        s = *tmpl ? VKLLM_OK : err_set(VKLLM_ERR_NOMEM, "chat template: out of memory");
    } else {
        snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
        struct stat st;
        if (stat(path, &st) != 0)
            s = err_set(VKLLM_ERR_FORMAT,
                        "%s: no chat template (neither tokenizer_config.json \"chat_template\" "
                        "nor chat_template.jinja)",
                        dir);
        else
            s = read_file(path, tmpl, len);
    }
    json_decref(cfg);
    return s;
}

/* tokenizer.ggml.tokens[id] for the id stored under key, or NULL when absent. */
static char *gguf_token(const gguf *g, const char *key) {
    uint32_t id;
    if (gguf_get_u32(g, key, &id) != VKLLM_OK) return NULL;
    size_t len;
    const char *s = gguf_arr_str(g, "tokenizer.ggml.tokens", id, &len);
    return s ? dup_n(s, len) : NULL;
}

static vkllm_status load_gguf(const char *path, char **tmpl, size_t *len, char **bos, char **eos) {
    gguf *g;
    TRY(gguf_open(path, &g));
    const char *s;
    size_t n;
    vkllm_status st = gguf_get_str(g, "tokenizer.chat_template", &s, &n);
    if (st == VKLLM_OK) {
        *tmpl = dup_n(s, n);
        *len = n;
        if (!*tmpl) st = err_set(VKLLM_ERR_NOMEM, "chat template: out of memory");
    } else if (st == VKLLM_ERR_INVALID_ARG) {
        st = err_set(VKLLM_ERR_FORMAT, "%s: no chat template (tokenizer.chat_template is absent)",
                     path);
    }
    if (st == VKLLM_OK) {
        *bos = gguf_token(g, "tokenizer.ggml.bos_token_id");
        *eos = gguf_token(g, "tokenizer.ggml.eos_token_id");
    }
    gguf_close(g);
    return st;
}

vkllm_status chat_model_template_load(const char *model_path, char **tmpl, size_t *len, char **bos,
                                      char **eos) {
    *tmpl = *bos = *eos = NULL;
    *len = 0;
    struct stat st;
    if (stat(model_path, &st) != 0)
        return err_set(VKLLM_ERR_IO, "%s: no such file or folder", model_path);
    vkllm_status s;
    if (S_ISDIR(st.st_mode))
        s = load_hf(model_path, tmpl, len, bos, eos);
    else
        s = load_gguf(model_path, tmpl, len, bos, eos);
    if (s != VKLLM_OK) {
        mem_free(*tmpl);
        mem_free(*bos);
        mem_free(*eos);
        *tmpl = *bos = *eos = NULL;
    }
    return s;
}
