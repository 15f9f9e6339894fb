/* cmd_bench.c — `vkllm bench`: prompt processing (ppN: one eval of N tokens)
 * and generation (tgN: N tokens sampled and fed back one at a time, as `run`
 * does, after the ppN prompt) speeds, mean ± stddev over -r repetitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct bench_res {
    char test[32];
    double mean, sd;
} bench_res;

static void bench_stats(const double *v, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* One repetition: returns tokens/s of the timed part, or < 0 on error. */
static double bench_once(vkllm_session *s, const int32_t *prompt, long np, long ng, int gen) {
    if (vkllm_session_truncate(s, 0) != VKLLM_OK) return -1;
    double t0 = cli_now();
    if (vkllm_session_eval(s, prompt, (size_t)np) != VKLLM_OK) return -1;
    double t1 = cli_now();
    if (!gen) return np / (t1 - t0);
    for (long i = 0; i < ng; i++) {
        int32_t id;
        if (vkllm_session_sample(s, &id) != VKLLM_OK) return -1;
        if (vkllm_session_eval(s, &id, 1) != VKLLM_OK) return -1;
    }
    return ng / (cli_now() - t1);
}

int cmd_bench(int argc, char **argv) {
    cli_model_opts mo;
    cli_model_opts_init(&mo);
    long np = 512, ng = 128, reps = 3;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_flag("bench", argc, argv, &i, &mo);
        if (r < 0) return 1;
        if (r > 0) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: vkllm bench -m MODEL [-p 512] [-n 128] [-r 3] [-o table|json]\n"
                   "  -p N   prompt test ppN (0 skips it); also the prompt before tgN\n"
                   "  -n N   generation test tgN (0 skips it)\n"
                   "  -r N   repetitions\n%s", cli_model_help);
            return 0;
        } else if (!strcmp(a, "-p")) {
            if (cli_parse_int("bench", a, v, 0, 1 << 20, &np)) return 1;
            i++;
        } else if (!strcmp(a, "-n")) {
            if (cli_parse_int("bench", a, v, 0, 1 << 20, &ng)) return 1;
            i++;
        } else if (!strcmp(a, "-r")) {
            if (cli_parse_int("bench", a, v, 1, 1000, &reps)) return 1;
            i++;
        } else if (!strcmp(a, "-o")) {
            if (!v || (strcmp(v, "json") && strcmp(v, "table")))
                return cli_fail("bench", "-o: expected table or json");
            json = !strcmp(v, "json");
            i++;
        } else {
            return cli_fail("bench", "unknown or incomplete option '%s' (see --help)", a);
        }
    }
    mo.sp.sampling.temperature = 0; /* greedy, as the reference figures are measured */
    vkllm_model *m = cli_load_model("bench", &mo);
    if (!m) return 1;
    vkllm_model_info info;
    vkllm_model_get_info(m, &info);
    long n_prompt = np > 0 ? np : 1;
    if (!mo.sp.n_ctx) mo.sp.n_ctx = (int)(n_prompt + ng + 1);
    vkllm_session *s = NULL;
    vkllm_status st = vkllm_session_create(m, &mo.sp, &s);
    int32_t *prompt = malloc((size_t)n_prompt * sizeof *prompt);
    double *v = malloc((size_t)reps * sizeof *v);
    bench_res res[2];
    int n_res = 0, rc = 0;
    if (st != VKLLM_OK || !prompt || !v) {
        rc = st != VKLLM_OK ? cli_fail_status("bench", st) : cli_fail("bench", "out of memory");
        goto done;
    }
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (long i = 0; i < n_prompt; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        prompt[i] = (int32_t)(x % (uint64_t)info.n_vocab);
    }
    for (int gen = 0; gen < 2; gen++) {
        if ((gen ? ng : np) <= 0) continue;
        bench_once(s, prompt, n_prompt, ng, gen); /* warm-up */
        for (long r = 0; r < reps; r++) {
            v[r] = bench_once(s, prompt, n_prompt, ng, gen);
            if (v[r] < 0) {
                rc = cli_fail_status("bench", VKLLM_ERR_INTERNAL);
                goto done;
            }
        }
        snprintf(res[n_res].test, sizeof res[n_res].test, "%s%ld", gen ? "tg" : "pp", gen ? ng : np);
        bench_stats(v, (int)reps, &res[n_res].mean, &res[n_res].sd);
        n_res++;
    }
    const char *name = info.name && *info.name ? info.name : mo.model;
    if (json) {
        printf("[");
        for (int i = 0; i < n_res; i++)
            printf("%s\n  {\"model\": \"%s\", \"type\": \"%s\", \"size_bytes\": %llu, \"backend\": "
                   "\"%s\", \"device\": \"%s\", \"test\": \"%s\", \"tok_per_s\": %.3f, \"stddev\": "
                   "%.3f}",
                   i ? "," : "", name, info.weight_type, (unsigned long long)info.weight_bytes,
                   info.backend, info.device, res[i].test, res[i].mean, res[i].sd);
        printf("\n]\n");
    } else {
        printf("| model | size | backend | test | tok/s |\n|---|---|---|---|---|\n");
        for (int i = 0; i < n_res; i++)
            printf("| %s | %.2f GiB | %s | %s | %.2f ± %.2f |\n", name,
                   info.weight_bytes / 1073741824.0, info.backend, res[i].test, res[i].mean,
                   res[i].sd);
    }
done:
    free(prompt);
    free(v);
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    return rc;
}
