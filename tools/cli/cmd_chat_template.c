/* cmd_chat_template.c — `vkllm chat-template`: renders a model's chat template
 * over a JSON conversation and prints the prompt exactly (no newline added).
 *
 *   vkllm chat-template (-m MODEL | --chat-template-file FILE) --messages FILE.json
 *                       [--add-generation-prompt] [--bos TEXT] [--eos TEXT]
 *                       [--var NAME=JSON]...
 *
 * MODEL is a Hugging Face folder (tokenizer_config.json "chat_template", a
 * string or a list of {name, template} where "default" is taken, else
 * chat_template.jinja) or a GGUF file (tokenizer.chat_template). The variables
 * are those transformers passes: messages, add_generation_prompt, tools=None,
 * documents=None, bos_token/eos_token (the model's, unless --bos/--eos; left
 * undefined when unknown), then each --var. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chat/chat_model_template.h"
#include "chat/jinja.h"
#include "cli.h"
#include "core/buf.h"
#include "core/mem.h"

#define CMD "chat-template"

static int usage(void) {
    return cli_fail(
        CMD,
        "usage: vkllm chat-template (-m MODEL | --chat-template-file FILE) --messages FILE.json "
        "[--add-generation-prompt] [--bos TEXT] [--eos TEXT] [--var NAME=JSON]...");
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_append(&b, tmp, n)) {
            buf_free(&b);
            fclose(f);
            return NULL;
        }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return buf_steal(&b);
}

/* Adds NAME=JSON to ctx; returns 0 or prints an error and returns 1. */
static int add_var(json_t *ctx, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) return cli_fail(CMD, "--var: expected NAME=JSON, got '%s'", spec);
    char name[256];
    size_t n = (size_t)(eq - spec);
    if (n >= sizeof name) return cli_fail(CMD, "--var: name too long");
    memcpy(name, spec, n);
    name[n] = 0;
    json_error_t e;
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &e);
    if (!v) return cli_fail(CMD, "--var %s: bad JSON: %s", name, e.text);
    json_object_set_new(ctx, name, v);
    return 0;
}

int cmd_chat_template(int argc, char **argv) {
    const char *model = NULL, *tfile = NULL, *msgs = NULL, *bos = NULL, *eos = NULL;
    int add_gen = 0;
    const char *vars[64];
    size_t n_vars = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--add-generation-prompt")) {
            add_gen = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!next) return cli_fail(CMD, "%s needs a value", a);
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            model = next;
        else if (!strcmp(a, "--chat-template-file"))
            tfile = next;
        else if (!strcmp(a, "--messages"))
            msgs = next;
        else if (!strcmp(a, "--bos"))
            bos = next;
        else if (!strcmp(a, "--eos"))
            eos = next;
        else if (!strcmp(a, "--var")) {
            if (n_vars == sizeof vars / sizeof *vars) return cli_fail(CMD, "too many --var flags");
            vars[n_vars++] = next;
        } else
            return cli_fail(CMD, "unknown flag '%s'", a);
        i++;
    }
    if (!!model == !!tfile)
        return cli_fail(CMD, "give exactly one of -m MODEL and --chat-template-file FILE");
    if (!msgs) return cli_fail(CMD, "--messages FILE.json is required");

    json_error_t e;
    json_t *messages = json_load_file(msgs, 0, &e);
    if (!messages) return cli_fail(CMD, "%s:%d: %s", msgs, e.line, e.text);
    if (!json_is_array(messages)) {
        json_decref(messages);
        return cli_fail(CMD, "%s: expected a JSON array of messages", msgs);
    }
    char *src = NULL, *model_bos = NULL, *model_eos = NULL;
    size_t src_len = 0;
    int rc = 1;
    json_t *ctx = json_object();
    if (!ctx) goto done;
    if (tfile) {
        src = read_all(tfile, &src_len);
        if (!src) {
            cli_fail(CMD, "%s: cannot read the template file", tfile);
            goto done;
        }
    } else {
        vkllm_status s = chat_model_template_load(model, &src, &src_len, &model_bos, &model_eos);
        if (s != VKLLM_OK) {
            cli_fail_status(CMD, s);
            goto done;
        }
    }
    json_object_set(ctx, "messages", messages);
    json_object_set_new(ctx, "add_generation_prompt", json_boolean(add_gen));
    json_object_set_new(ctx, "tools", json_null());
    json_object_set_new(ctx, "documents", json_null());
    const char *tok[2] = {bos ? bos : model_bos, eos ? eos : model_eos};
    static const char *const tok_name[2] = {"bos_token", "eos_token"};
    for (int k = 0; k < 2; k++) {
        if (!tok[k]) continue;
        json_t *js = json_string(tok[k]);
        if (!js) {
            cli_fail(CMD, "%s is not valid UTF-8", tok_name[k]);
            goto done;
        }
        json_object_set_new(ctx, tok_name[k], js);
    }
    for (size_t i = 0; i < n_vars; i++)
        if (add_var(ctx, vars[i])) goto done;

    char *out;
    size_t out_len;
    vkllm_status s = jinja_render(src, src_len, ctx, &out, &out_len);
    if (s != VKLLM_OK) {
        cli_fail_status(CMD, s);
        goto done;
    }
    rc = fwrite(out, 1, out_len, stdout) == out_len && fflush(stdout) == 0
             ? 0
             : cli_fail(CMD, "write failed");
    mem_free(out);
done:
    json_decref(ctx);
    json_decref(messages);
    mem_free(src);
    mem_free(model_bos);
    mem_free(model_eos);
    return rc;
}
