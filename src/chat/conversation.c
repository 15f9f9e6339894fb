/* conversation.c — vkllm_chat: messages rendered through the chat template,
 * tokenized with special tokens parsed, and evaluated incrementally: only the
 * tokens after the longest common prefix with the session's sequence are
 * evaluated on each turn. */
#include <jansson.h>
#include <string.h>

#include "chat/chat_builtin.h"
#include "chat/jinja.h"
#include "core/err.h"
#include "core/mem.h"
#include "engine/session.h"
#include "model/model.h"

struct vkllm_chat {
    vkllm_session *s;
    vkllm_model *m;
    jinja_template *tmpl;
    json_t *messages; /* array of {role, content} */
    json_t *vars;     /* extra template variables */
    char *bos, *eos;  /* token strings, NULL when the model has none */
    char *text;       /* last rendering */
};

static char *chat_token_string(const vkllm_model *m, int32_t id) {
    size_t len;
    const char *t = id >= 0 && m->tok ? tokenizer_token_text(m->tok, id, &len) : NULL;
    return t ? mem_strndup(t, len) : NULL;
}

void vkllm_chat_destroy(vkllm_chat *c) {
    if (!c) return;
    jinja_free(c->tmpl);
    json_decref(c->messages);
    json_decref(c->vars);
    mem_free(c->bos);
    mem_free(c->eos);
    mem_free(c->text);
    mem_free(c);
}

vkllm_status vkllm_chat_create(vkllm_session *s, const char *tmpl, int tmpl_is_source,
                               vkllm_chat **out) {
    *out = NULL;
    vkllm_model *m = session_model(s);
    if (!m->tok) return err_set(VKLLM_ERR_UNSUPPORTED, "%s: the model has no tokenizer", m->path);
    const char *src = tmpl;
    if (!src) {
        src = m->chat_template;
        if (!src)
            return err_set(VKLLM_ERR_UNSUPPORTED,
                           "%s: the model ships no chat template (use --chat-template NAME: %s, or "
                           "--chat-template-file FILE)",
                           m->path, chat_builtin_names());
    } else if (!tmpl_is_source) {
        src = chat_builtin_find(tmpl);
        if (!src)
            return err_set(VKLLM_ERR_INVALID_ARG, "unknown chat template '%s' (known: %s)", tmpl,
                           chat_builtin_names());
    }
    vkllm_chat *c = mem_calloc(1, sizeof *c);
    if (!c) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    c->s = s;
    c->m = m;
    c->messages = json_array();
    c->vars = json_object();
    c->bos = chat_token_string(m, tokenizer_bos(m->tok));
    c->eos = chat_token_string(m, tokenizer_eos(m->tok));
    vkllm_status st = c->messages && c->vars ? VKLLM_OK : err_set(VKLLM_ERR_NOMEM, "out of memory");
    if (st == VKLLM_OK) st = jinja_compile(src, strlen(src), &c->tmpl);
    if (st != VKLLM_OK) {
        vkllm_chat_destroy(c);
        return st;
    }
    *out = c;
    return VKLLM_OK;
}

vkllm_status vkllm_chat_add(vkllm_chat *c, const char *role, const char *content) {
    json_t *msg = json_pack("{s:s, s:s}", "role", role, "content", content);
    if (!msg) return err_set(VKLLM_ERR_INVALID_ARG, "chat: role and content must be valid UTF-8");
    if (json_array_append_new(c->messages, msg) != 0)
        return err_set(VKLLM_ERR_NOMEM, "out of memory");
    return VKLLM_OK;
}

vkllm_status vkllm_chat_set_var(vkllm_chat *c, const char *name, const char *json) {
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    if (!v) return err_set(VKLLM_ERR_INVALID_ARG, "chat: variable %s: invalid JSON: %s", name, je.text);
    if (json_object_set_new(c->vars, name, v) != 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "chat: bad variable name '%s'", name);
    return VKLLM_OK;
}

void vkllm_chat_reset(vkllm_chat *c) { json_array_clear(c->messages); }

vkllm_status vkllm_chat_render(vkllm_chat *c, int add_generation_prompt, const char **text) {
    json_t *ctx = json_deep_copy(c->vars);
    if (!ctx) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    json_object_set(ctx, "messages", c->messages);
    json_object_set_new(ctx, "add_generation_prompt", json_boolean(add_generation_prompt));
    if (c->bos) json_object_set_new(ctx, "bos_token", json_string(c->bos));
    if (c->eos) json_object_set_new(ctx, "eos_token", json_string(c->eos));
    mem_free(c->text);
    c->text = NULL;
    size_t len;
    vkllm_status st = jinja_render_compiled(c->tmpl, ctx, NULL, &c->text, &len);
    json_decref(ctx);
    TRY(st);
    *text = c->text;
    return VKLLM_OK;
}

vkllm_status vkllm_chat_prepare(vkllm_chat *c, size_t *n_eval) {
    *n_eval = 0;
    const char *text;
    TRY(vkllm_chat_render(c, 1, &text));
    size_t len = strlen(text);
    /* BOS: as the tokenizer says, unless the template already wrote it */
    int flags = TOKENIZER_PARSE_SPECIAL;
    if (tokenizer_adds_bos(c->m->tok) && !(c->bos && !strncmp(text, c->bos, strlen(c->bos))))
        flags |= TOKENIZER_ADD_BOS;
    int32_t *ids;
    size_t n;
    TRY(tokenizer_encode(c->m->tok, text, len, flags, &ids, &n));
    size_t have;
    const int32_t *old = vkllm_session_tokens(c->s, &have);
    size_t common = 0;
    while (common < have && common < n && old[common] == ids[common]) common++;
    if (common == n && n > 0) common--; /* re-evaluate one token so there are logits */
    vkllm_status st = vkllm_session_truncate(c->s, common);
    if (st == VKLLM_OK && n > common) st = vkllm_session_eval(c->s, ids + common, n - common);
    if (st == VKLLM_OK) *n_eval = n - common;
    mem_free(ids);
    return st;
}
