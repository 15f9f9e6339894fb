/* chat_templates.c — every NAME.cases.json in $VKLLM_TESTDATA/templates:
 * renders NAME.jinja with each case's variables (as transformers'
 * apply_chat_template passes them: messages, add_generation_prompt,
 * tools=None, documents=None, bos/eos when not null, enable_thinking when
 * given; strftime_now fixed to 2026-01-15 10:00:00) and compares with the
 * stored Python Jinja2 output byte for byte, or expects an error. */
#include <dirent.h>
#include <jansson.h>

#include "chat/jinja.h"
#include "core/mem.h"
#include "testutil.h"

static time_t fixed_now(void) {
    struct tm tm = {0};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 0;
    tm.tm_mday = 15;
    tm.tm_hour = 10;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

static void run_file(const char *dir, const char *name, int *n_cases) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t e;
    json_t *spec = json_load_file(path, 0, &e);
    CHECKF(spec != NULL, "%s: %s", path, e.text);
    if (!spec) return;
    const char *tname = json_string_value(json_object_get(spec, "template"));
    CHECKF(tname != NULL, "%s: no template name", name);
    snprintf(path, sizeof path, "%s/%s", dir, tname ? tname : "");
    size_t len = 0;
    char *src = test_read_file(path, &len);
    CHECKF(src != NULL, "cannot read %s", path);
    jinja_template *t = NULL;
    if (src) {
        vkllm_status s = jinja_compile(src, len, &t);
        CHECKF(s == VKLLM_OK, "%s: %s", tname, vkllm_last_error());
    }
    json_t *cases = json_object_get(spec, "cases");
    size_t i;
    json_t *c;
    jinja_render_opts opts = {.now = fixed_now()};
    json_array_foreach(cases, i, c) {
        if (!t) break;
        json_t *ctx = json_object();
        json_object_set(ctx, "messages", json_object_get(c, "messages"));
        json_object_set(ctx, "add_generation_prompt", json_object_get(c, "add_generation_prompt"));
        json_object_set_new(ctx, "tools", json_null());
        json_object_set_new(ctx, "documents", json_null());
        const char *toks[] = {"bos_token", "eos_token"};
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(spec, toks[k]);
            if (json_is_string(v)) json_object_set(ctx, toks[k], v);
        }
        json_t *think = json_object_get(c, "enable_thinking");
        if (think) json_object_set(ctx, "enable_thinking", think);
        char *out = NULL;
        size_t out_len = 0;
        vkllm_status s = jinja_render_compiled(t, ctx, &opts, &out, &out_len);
        if (json_is_true(json_object_get(c, "error"))) {
            CHECKF(s == VKLLM_ERR_TEMPLATE, "%s case %zu: expected an error, got status %d", tname,
                   i, s);
            if (s != VKLLM_OK)
                fprintf(stderr, "  %s case %zu: error as expected: %s\n", tname, i,
                        vkllm_last_error());
        } else {
            const char *want = json_string_value(json_object_get(c, "expected"));
            size_t want_len = json_string_length(json_object_get(c, "expected"));
            CHECKF(s == VKLLM_OK, "%s case %zu: %s", tname, i, vkllm_last_error());
            if (s == VKLLM_OK && want)
                CHECKF(out_len == want_len && memcmp(out, want, out_len) == 0,
                       "%s case %zu:\n got: [%.*s]\nwant: [%s]", tname, i, (int)out_len, out, want);
        }
        (*n_cases)++;
        mem_free(out);
        json_decref(ctx);
    }
    jinja_free(t);
    free(src);
    json_decref(spec);
}

int main(void) {
    char *dir = test_path("templates");
    if (!dir) return test_finish();
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "cannot open %s", dir);
    int n_files = 0, n_cases = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (n > 11 && !strcmp(ent->d_name + n - 11, ".cases.json")) {
            run_file(dir, ent->d_name, &n_cases);
            n_files++;
        }
    }
    if (d) closedir(d);
    fprintf(stderr, "%d template files, %d cases\n", n_files, n_cases);
    CHECK(n_files >= 10);
    CHECK(n_cases >= 80);
    free(dir);
    return test_finish();
}
