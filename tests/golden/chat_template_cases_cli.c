/* chat_template_cases_cli.c — every case of every NAME.cases.json in
 * $VKLLM_TESTDATA/templates through the CLI, as the issue states it:
 *   vkllm chat-template --chat-template-file NAME.jinja --messages M.json
 *         [--add-generation-prompt] [--bos B] [--eos E] [--var enable_thinking=V]
 * prints exactly `expected` (no newline added, nothing else on stdout), or
 * exits non-zero with one line on stderr for an `"error": true` case. A null
 * bos/eos in the file is left out (undefined in the template). strftime_now
 * is fixed to the goldens' 2026-01-15 10:00:00 through SOURCE_DATE_EPOCH with
 * TZ=UTC. (chat_templates.c checks the same cases through the library.) */
#include <dirent.h>
#include <jansson.h>

#include "testproc.h"
#include "testutil.h"

static const char *tmpdir(void) {
    const char *t = getenv("VKLLM_TMP");
    return t && *t ? t : "/tmp";
}

static void run_case(const char *dir, json_t *spec, json_t *c, size_t i, int *n_cases) {
    const char *tname = json_string_value(json_object_get(spec, "template"));
    char tpath[4096], mpath[4200], think[64];
    snprintf(tpath, sizeof tpath, "%s/%s", dir, tname);
    snprintf(mpath, sizeof mpath, "%s/ctc_cli.%ld.json", tmpdir(), (long)getpid());
    CHECK(json_dump_file(json_object_get(c, "messages"), mpath, 0) == 0);
    char *argv[16];
    int n = 0;
    argv[n++] = "vkllm";
    argv[n++] = "chat-template";
    argv[n++] = "--chat-template-file";
    argv[n++] = tpath;
    argv[n++] = "--messages";
    argv[n++] = mpath;
    if (json_is_true(json_object_get(c, "add_generation_prompt"))) argv[n++] = "--add-generation-prompt";
    static const char *const keys[2] = {"bos_token", "eos_token"}, *const flags[2] = {"--bos", "--eos"};
    for (int k = 0; k < 2; k++) {
        const char *v = json_string_value(json_object_get(spec, keys[k]));
        if (v) {
            argv[n++] = (char *)flags[k];
            argv[n++] = (char *)v;
        }
    }
    json_t *th = json_object_get(c, "enable_thinking");
    if (th) {
        snprintf(think, sizeof think, "enable_thinking=%s", json_is_true(th) ? "true" : "false");
        argv[n++] = "--var";
        argv[n++] = think;
    }
    argv[n] = NULL;
    test_proc_out r;
    test_run_cli(argv, &r);
    unlink(mpath);
    if (json_is_true(json_object_get(c, "error"))) {
        int lines = 0;
        for (size_t k = 0; k < r.err_len; k++) lines += r.err[k] == '\n';
        CHECKF(r.code != 0 && r.code < 128, "%s case %zu: expected an error, exit %d", tname, i, r.code);
        CHECKF(lines == 1 && r.out_len == 0, "%s case %zu: error output: [%s] stdout %zu bytes", tname,
               i, r.err, r.out_len);
    } else {
        json_t *e = json_object_get(c, "expected");
        const char *want = json_string_value(e);
        size_t want_len = json_string_length(e);
        CHECKF(r.code == 0, "%s case %zu: exit %d: %s", tname, i, r.code, r.err);
        CHECKF(want && r.out_len == want_len && !memcmp(r.out, want, want_len),
               "%s case %zu:\n got: [%s]\nwant: [%s]", tname, i, r.out, want ? want : "");
    }
    test_proc_free(&r);
    (*n_cases)++;
}

int main(void) {
    char *dir = test_path("templates");
    if (!dir) return test_finish();
    setenv("TZ", "UTC", 1);
    setenv("SOURCE_DATE_EPOCH", "1768471200", 1); /* 2026-01-15 10:00:00 UTC */
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "cannot open %s", dir);
    int n_files = 0, n_cases = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (n <= 11 || strcmp(ent->d_name + n - 11, ".cases.json")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        json_error_t je;
        json_t *spec = json_load_file(path, 0, &je);
        CHECKF(spec && json_string_value(json_object_get(spec, "template")), "%s: %s", path, je.text);
        if (spec && json_string_value(json_object_get(spec, "template"))) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(spec, "cases"), i, c) run_case(dir, spec, c, i, &n_cases);
        }
        json_decref(spec);
        n_files++;
    }
    if (d) closedir(d);
    fprintf(stderr, "%d template files, %d cases through the CLI\n", n_files, n_cases);
    CHECK(n_files >= 10);
    CHECK(n_cases >= 80);
    free(dir);
    return test_finish();
}
