/* cmd_run.c — `vkllm run`: generate a continuation of a prompt, streamed to
 * stdout token by token (never a partial UTF-8 character); telemetry to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void run_usage(void) {
    printf("usage: vkllm run -m MODEL -p PROMPT [-n N] [options]\n\n"
           "  -p, --prompt TEXT      the prompt\n"
           "  -f, --file PATH        read the prompt from a file\n"
           "  -n, --n-predict N      tokens to generate (default 128)\n"
           "  --no-bos               do not add BOS\n"
           "  --quiet                no telemetry on stderr\n%s",
           cli_model_help);
}

typedef struct run_opts {
    cli_model_opts mo;
    const char *prompt, *prompt_file;
    long n_predict;
    int no_bos, quiet;
} run_opts;

static int run_parse(int argc, char **argv, run_opts *o) {
    cli_model_opts_init(&o->mo);
    o->n_predict = 128;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_flag("run", argc, argv, &i, &o->mo);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            run_usage();
            exit(0);
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && i + 1 < argc) {
            o->prompt = argv[++i];
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < argc) {
            o->prompt_file = argv[++i];
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (cli_parse_int("run", a, i + 1 < argc ? argv[++i] : NULL, 0, 1 << 24, &o->n_predict))
                return -1;
        } else if (!strcmp(a, "--no-bos")) {
            o->no_bos = 1;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else {
            return cli_fail("run", "unknown or incomplete option '%s' (see --help)", a), -1;
        }
    }
    if (!o->prompt && !o->prompt_file) o->prompt = "";
    return 0;
}

static char *run_read_prompt(const run_opts *o, size_t *len) {
    if (!o->prompt_file) {
        *len = strlen(o->prompt);
        char *p = malloc(*len + 1);
        if (p) memcpy(p, o->prompt, *len + 1);
        return p;
    }
    FILE *f = fopen(o->prompt_file, "rb");
    if (!f) return cli_fail("run", "%s: cannot open", o->prompt_file), NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    for (;;) {
        if (!p) break;
        n += fread(p + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *np = cap < (256u << 20) ? realloc(p, cap * 2) : NULL;
        if (!np) {
            free(p);
            p = NULL;
            cli_fail("run", "%s: prompt file too large", o->prompt_file);
            break;
        }
        p = np;
        cap *= 2;
    }
    fclose(f);
    if (p) p[n] = 0;
    *len = n;
    return p;
}

static int run_generate(const run_opts *o, vkllm_model *m, vkllm_session *s, const int32_t *ids,
                        size_t n_prompt, double t_load) {
    vkllm_detokenizer *d = NULL;
    vkllm_status st = vkllm_detokenizer_create(m, &d);
    if (st != VKLLM_OK) return cli_fail_status("run", st);
    const char *text;
    size_t len;
    for (size_t i = 0; i < n_prompt; i++) vkllm_detokenizer_push(d, ids[i], &text, &len);
    double t0 = cli_now();
    st = vkllm_session_eval(s, ids, n_prompt);
    double t1 = cli_now(), t2 = t1;
    long n_gen = 0;
    while (st == VKLLM_OK && n_gen < o->n_predict) {
        int32_t id;
        st = vkllm_session_sample(s, &id);
        if (st != VKLLM_OK || vkllm_token_is_eog(m, id)) break;
        n_gen++;
        st = vkllm_detokenizer_push(d, id, &text, &len);
        if (st == VKLLM_OK && len) {
            fwrite(text, 1, len, stdout);
            fflush(stdout);
        }
        if (st == VKLLM_OK && n_gen < o->n_predict) st = vkllm_session_eval(s, &id, 1);
        t2 = cli_now();
    }
    vkllm_detokenizer_flush(d, &text, &len);
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    vkllm_detokenizer_destroy(d);
    if (st != VKLLM_OK) return cli_fail_status("run", st);
    if (!o->quiet) {
        vkllm_memory_stats ms;
        vkllm_session_memory(s, &ms);
        vkllm_model_info info;
        vkllm_model_get_info(m, &info);
        fprintf(stderr,
                "\n[vkllm] backend %s | load %.2f s | prompt %zu tok, %.1f tok/s | "
                "generated %ld tok, %.1f tok/s\n"
                "[vkllm] memory: weights %.1f MiB, KV cache %.1f MiB, scratch %.1f MiB\n",
                info.backend, t_load, n_prompt, n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9), n_gen,
                n_gen > 1 ? (n_gen - 1) / (t2 - t1 > 0 ? t2 - t1 : 1e-9) : 0.0,
                ms.weights / 1048576.0, ms.kv_cache / 1048576.0, ms.scratch / 1048576.0);
    }
    return 0;
}

int cmd_run(int argc, char **argv) {
    run_opts o;
    memset(&o, 0, sizeof o);
    if (run_parse(argc, argv, &o)) return 1;
    size_t plen;
    char *prompt = run_read_prompt(&o, &plen);
    if (!prompt) return 1;
    double t0 = cli_now();
    vkllm_model *m = cli_load_model("run", &o.mo);
    if (!m) {
        free(prompt);
        return 1;
    }
    double t_load = cli_now() - t0;
    vkllm_session *s = NULL;
    int32_t *ids = NULL;
    int rc = 1;
    vkllm_status st = vkllm_session_create(m, &o.mo.sp, &s);
    size_t n = 0;
    if (st == VKLLM_OK)
        st = vkllm_tokenize(m, prompt, plen, o.no_bos ? 0 : VKLLM_TOKENIZE_ADD_BOS, NULL, 0, &n);
    if (st == VKLLM_OK) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        st = ids ? vkllm_tokenize(m, prompt, plen, o.no_bos ? 0 : VKLLM_TOKENIZE_ADD_BOS, ids, n, &n)
                 : VKLLM_ERR_NOMEM;
    }
    if (st != VKLLM_OK) {
        cli_fail_status("run", st);
    } else if (n == 0) {
        cli_fail("run", "the prompt is empty and the model adds no BOS: nothing to continue");
    } else {
        vkllm_model_info info;
        vkllm_model_get_info(m, &info);
        int n_ctx = o.mo.sp.n_ctx ? o.mo.sp.n_ctx : (info.ctx_train < 4096 ? info.ctx_train : 4096);
        if (n + (size_t)o.n_predict > (size_t)n_ctx)
            cli_fail("run", "prompt (%zu tokens) + -n %ld exceeds the context size %d (use --ctx)",
                     n, o.n_predict, n_ctx);
        else
            rc = run_generate(&o, m, s, ids, n, t_load);
    }
    free(ids);
    free(prompt);
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    return rc;
}
