/* cmd_logits.c — `vkllm logits`: float32 logits of a prompt's last position
 * (or of every position with --all) to a file, written under a temporary name
 * and renamed so a failure leaves nothing half written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int logits_write(const char *path, const float *v, size_t n) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return cli_fail("logits", "out of memory");
    snprintf(tmp, pl + 16, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return cli_fail("logits", "%s: cannot create", path);
    }
    /* little-endian float32: the host order on every supported platform */
    int ok = fwrite(v, sizeof(float), n, f) == n;
    ok &= fclose(f) == 0;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) remove(tmp);
    free(tmp);
    return ok ? 0 : cli_fail("logits", "%s: write failed", path);
}

int cmd_logits(int argc, char **argv) {
    cli_model_opts mo;
    cli_model_opts_init(&mo);
    const char *prompt = NULL, *ids_arg = NULL, *out = NULL;
    int all = 0, no_bos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_flag("logits", argc, argv, &i, &mo);
        if (r < 0) return 1;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: vkllm logits -m MODEL (-p PROMPT | --ids 1,2,3) -o OUT.f32 [--all]\n"
                   "  writes little-endian float32 logits of the last prompt position\n"
                   "  (--all: of every position, row-major)\n%s", cli_model_help);
            return 0;
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && i + 1 < argc) {
            prompt = argv[++i];
        } else if (!strcmp(a, "--ids") && i + 1 < argc) {
            ids_arg = argv[++i];
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = 1;
        } else {
            return cli_fail("logits", "unknown or incomplete option '%s' (see --help)", a);
        }
    }
    if (!out) return cli_fail("logits", "no output file (-o OUT.f32)");
    if (!prompt == !ids_arg) return cli_fail("logits", "give exactly one of -p PROMPT or --ids");
    int32_t *ids = NULL;
    size_t n = 0;
    if (ids_arg && cli_parse_ids("logits", ids_arg, &ids, &n)) return 1;
    mo.sp.sampling.temperature = 0;
    vkllm_model *m = cli_load_model("logits", &mo);
    if (!m) {
        free(ids);
        return 1;
    }
    vkllm_status st = VKLLM_OK;
    if (prompt) {
        int fl = no_bos ? 0 : VKLLM_TOKENIZE_ADD_BOS;
        st = vkllm_tokenize(m, prompt, strlen(prompt), fl, NULL, 0, &n);
        if (st == VKLLM_OK) ids = malloc((n ? n : 1) * sizeof *ids);
        if (st == VKLLM_OK && !ids) st = VKLLM_ERR_NOMEM;
        if (st == VKLLM_OK) st = vkllm_tokenize(m, prompt, strlen(prompt), fl, ids, n, &n);
    }
    vkllm_session *s = NULL;
    int rc = 1;
    if (st == VKLLM_OK && n == 0) {
        rc = cli_fail("logits", "no tokens to evaluate");
        goto done;
    }
    if (st == VKLLM_OK) {
        vkllm_session_params sp = mo.sp;
        if (!sp.n_ctx) {
            vkllm_model_info info;
            vkllm_model_get_info(m, &info);
            sp.n_ctx = (int)n > info.ctx_train ? (int)n : 0;
        }
        st = vkllm_session_create(m, &sp, &s);
    }
    if (st == VKLLM_OK) {
        vkllm_session_set_logits_mode(s, all ? VKLLM_LOGITS_ALL : VKLLM_LOGITS_LAST);
        st = vkllm_session_eval(s, ids, n);
    }
    if (st != VKLLM_OK) {
        rc = cli_fail_status("logits", st);
        goto done;
    }
    size_t rows;
    const float *lg = vkllm_session_logits(s, &rows);
    vkllm_model_info info;
    vkllm_model_get_info(m, &info);
    rc = lg ? logits_write(out, lg, rows * (size_t)info.n_vocab) : cli_fail("logits", "no logits");
done:
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    free(ids);
    return rc;
}
