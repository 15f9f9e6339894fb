/* cmd_bench.c — `vkllm bench`: mean ± stddev over -r repetitions (after one
 * warm-up) of
 *   ppN        prompt processing: one step of N tokens (vkllm_batch, micro-
 *              batches of --ubatch), for each N of -p N1,N2,...;
 *   tgN        generation: N tokens sampled and fed back one at a time, as
 *              `run` does, after the first -p prompt;
 *   tgNxB      --batch B: B sequences (16-token prompts) decoding N tokens
 *              together, aggregate tok/s, and tgNxB/seq: per sequence;
 *   tgN@D      --ctx-sweep: decode after D tokens of context, D = 0, 4096,
 *              16384 (those that fit the model's context). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BENCH_MAX_PP 8
#define BENCH_MAX_RES 16
#define BENCH_BATCH_PROMPT 16

typedef struct bench_res {
    char test[32];
    double mean, sd;
} bench_res;

typedef struct bench_ctx {
    vkllm_model *m;
    cli_model_opts *mo;
    int n_vocab, ubatch;
    int32_t *tokens; /* random ids, as many as the longest test needs */
} bench_ctx;

static void bench_stats(const double *v, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

static vkllm_batch *bench_batch(bench_ctx *c, int n_seq, long n_ctx) {
    vkllm_batch_params bp = vkllm_batch_default_params();
    bp.n_ctx = (int)n_ctx;
    bp.n_seq_max = n_seq;
    bp.n_ubatch = c->ubatch;
    bp.kv_type = c->mo->sp.kv_type;
    vkllm_batch *b = NULL;
    vkllm_status st = vkllm_batch_create(c->m, &bp, &b);
    if (st != VKLLM_OK) cli_fail_status("bench", st);
    return b;
}

/* ppN once: tokens/s of one step over N prompt tokens, or < 0. */
static double bench_pp(bench_ctx *c, vkllm_batch *b, long np) {
    int32_t s;
    if (vkllm_batch_seq_add(b, &c->mo->sp.sampling, -1, 0, &s) != VKLLM_OK) return -1;
    double t0 = cli_now();
    int ok = vkllm_batch_append(b, s, c->tokens, (size_t)np) == VKLLM_OK &&
             vkllm_batch_step(b, NULL) == VKLLM_OK;
    double t = cli_now() - t0;
    if (vkllm_batch_seq_remove(b, s) != VKLLM_OK || !ok) return -1;
    return np / t;
}

/* n_seq sequences decode ng tokens together: aggregate tokens/s, or < 0. */
static double bench_tg_batch(bench_ctx *c, vkllm_batch *b, int n_seq, long ng) {
    int32_t sid[256];
    int ok = 1;
    for (int k = 0; k < n_seq && ok; k++)
        ok = vkllm_batch_seq_add(b, &c->mo->sp.sampling, -1, 0, &sid[k]) == VKLLM_OK &&
             vkllm_batch_append(b, sid[k], c->tokens + k, BENCH_BATCH_PROMPT) == VKLLM_OK;
    ok = ok && vkllm_batch_step(b, NULL) == VKLLM_OK;
    double t0 = cli_now();
    for (long i = 0; i < ng && ok; i++) {
        for (int k = 0; k < n_seq && ok; k++) {
            int32_t id;
            ok = vkllm_batch_sample(b, sid[k], &id) == VKLLM_OK &&
                 vkllm_batch_append(b, sid[k], &id, 1) == VKLLM_OK;
        }
        ok = ok && vkllm_batch_step(b, NULL) == VKLLM_OK;
    }
    double t = cli_now() - t0;
    for (int k = 0; k < n_seq; k++) vkllm_batch_seq_remove(b, sid[k]);
    return ok ? (double)n_seq * ng / t : -1;
}

/* One session decode: depth tokens of context (at least 1), then ng tokens
 * sampled and fed back; tokens/s of the decode, or < 0. */
static double bench_tg(bench_ctx *c, vkllm_session *s, long depth, long ng) {
    if (vkllm_session_truncate(s, 0) != VKLLM_OK) return -1;
    if (vkllm_session_eval(s, c->tokens, (size_t)(depth > 0 ? depth : 1)) != VKLLM_OK) return -1;
    double t0 = cli_now();
    for (long i = 0; i < ng; i++) {
        int32_t id;
        if (vkllm_session_sample(s, &id) != VKLLM_OK) return -1;
        if (vkllm_session_eval(s, &id, 1) != VKLLM_OK) return -1;
    }
    return ng / (cli_now() - t0);
}

/* -p N1,N2,...: up to BENCH_MAX_PP sizes in 0..1<<20. */
static int bench_parse_list(const char *v, long *out, int *n) {
    *n = 0;
    if (!v || !*v) return cli_fail("bench", "-p needs a value");
    const char *p = v;
    while (*p) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < 0 || x > (1 << 20) || (*end && *end != ','))
            return cli_fail("bench", "-p '%s': expected sizes 0..%d separated by commas", v, 1 << 20);
        if (*n == BENCH_MAX_PP) return cli_fail("bench", "-p: more than %d sizes", BENCH_MAX_PP);
        out[(*n)++] = x;
        p = *end ? end + 1 : end;
        if (*end && !*p) return cli_fail("bench", "-p '%s': trailing comma", v);
    }
    return 0;
}

static void bench_print(const bench_res *res, int n_res, int json, const char *name,
                        const vkllm_model_info *info) {
    if (json) {
        printf("[");
        for (int i = 0; i < n_res; i++)
            printf("%s\n  {\"model\": \"%s\", \"type\": \"%s\", \"size_bytes\": %llu, \"backend\": "
                   "\"%s\", \"device\": \"%s\", \"test\": \"%s\", \"tok_per_s\": %.3f, \"stddev\": "
                   "%.3f}",
                   i ? "," : "", name, info->weight_type, (unsigned long long)info->weight_bytes,
                   info->backend, info->device, res[i].test, res[i].mean, res[i].sd);
        printf("\n]\n");
    } else {
        printf("| model | size | backend | test | tok/s |\n|---|---|---|---|---|\n");
        for (int i = 0; i < n_res; i++)
            printf("| %s | %.2f GiB | %s | %s | %.2f ± %.2f |\n", name,
                   info->weight_bytes / 1073741824.0, info->backend, res[i].test, res[i].mean,
                   res[i].sd);
    }
}

typedef struct bench_opts {
    long pp[BENCH_MAX_PP];
    int n_pp;
    long ng, reps, batch, ubatch;
    int json, sweep;
} bench_opts;

/* 0: parsed; 1: bad arguments (message printed); 2: help printed. */
static int bench_args(int argc, char **argv, cli_model_opts *mo, bench_opts *o) {
    o->pp[0] = 512;
    o->n_pp = 1;
    o->ng = 128;
    o->reps = 3;
    o->ubatch = 512;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_flag("bench", argc, argv, &i, mo);
        if (r < 0) return 1;
        if (r > 0) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: vkllm bench -m MODEL [-p 512[,2048...]] [-n 128] [-r 3] [--batch B]\n"
                   "                   [--ctx-sweep] [--ubatch N] [-o table|json]\n"
                   "  -p N,...     prompt tests ppN (0 skips); the first is the prompt before tgN\n"
                   "  -n N         generation test tgN (0 skips it)\n"
                   "  -r N         repetitions\n"
                   "  --batch B    also B sequences decoding together: tgNxB (aggregate) and\n"
                   "               tgNxB/seq (per sequence)\n"
                   "  --ctx-sweep  also decode after 0, 4096, 16384 tokens of context: tgN@D\n"
                   "  --ubatch N   tokens per forward pass of the prompt tests (default 512)\n%s",
                   cli_model_help);
            return 2;
        } else if (!strcmp(a, "-p")) {
            if (bench_parse_list(v, o->pp, &o->n_pp)) return 1;
            i++;
        } else if (!strcmp(a, "-n")) {
            if (cli_parse_int("bench", a, v, 0, 1 << 20, &o->ng)) return 1;
            i++;
        } else if (!strcmp(a, "-r")) {
            if (cli_parse_int("bench", a, v, 1, 1000, &o->reps)) return 1;
            i++;
        } else if (!strcmp(a, "--batch")) {
            if (cli_parse_int("bench", a, v, 1, 256, &o->batch)) return 1;
            i++;
        } else if (!strcmp(a, "--ubatch")) {
            if (cli_parse_int("bench", a, v, 1, 4096, &o->ubatch)) return 1;
            i++;
        } else if (!strcmp(a, "--ctx-sweep")) {
            o->sweep = 1;
        } else if (!strcmp(a, "-o")) {
            if (!v || (strcmp(v, "json") && strcmp(v, "table")))
                return cli_fail("bench", "-o: expected table or json");
            o->json = !strcmp(v, "json");
            i++;
        } else {
            return cli_fail("bench", "unknown or incomplete option '%s' (see --help)", a);
        }
    }
    return 0;
}

/* Repeats one test (kind 0 pp, 1 tg, 2 batched tg, 3 swept tg) and appends its row(s). */
static int bench_run(bench_ctx *c, const bench_opts *o, int kind, long n, void *h, double *v,
                     bench_res *res, int *n_res) {
    for (long r = -1; r < o->reps; r++) { /* r = -1: warm-up */
        double x = kind == 0   ? bench_pp(c, h, n)
                   : kind == 2 ? bench_tg_batch(c, h, (int)o->batch, o->ng)
                   : bench_tg(c, h, kind == 3 ? n : (o->pp[0] > 0 ? o->pp[0] : 1), o->ng);
        if (x < 0) return cli_fail_status("bench", VKLLM_ERR_INTERNAL);
        if (r >= 0) v[r] = x;
    }
    bench_res *e = &res[(*n_res)++];
    if (kind == 0) snprintf(e->test, sizeof e->test, "pp%ld", n);
    else if (kind == 1) snprintf(e->test, sizeof e->test, "tg%ld", o->ng);
    else if (kind == 2) snprintf(e->test, sizeof e->test, "tg%ldx%ld", o->ng, o->batch);
    else snprintf(e->test, sizeof e->test, "tg%ld@%ld", o->ng, n);
    bench_stats(v, (int)o->reps, &e->mean, &e->sd);
    if (kind == 2) {
        bench_res *p = &res[(*n_res)++];
        snprintf(p->test, sizeof p->test, "tg%ldx%ld/seq", o->ng, o->batch);
        p->mean = e->mean / (double)o->batch;
        p->sd = e->sd / (double)o->batch;
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    cli_model_opts mo;
    cli_model_opts_init(&mo);
    bench_opts o;
    memset(&o, 0, sizeof o);
    int ar = bench_args(argc, argv, &mo, &o);
    if (ar) return ar == 2 ? 0 : 1;
    mo.sp.sampling.temperature = 0; /* greedy, as the reference figures are measured */
    vkllm_model *m = cli_load_model("bench", &mo);
    if (!m) return 1;
    vkllm_model_info info;
    vkllm_model_get_info(m, &info);
    static const long depths[] = {0, 4096, 16384};
    long need = o.ng + 1 + BENCH_BATCH_PROMPT + o.batch, max_pp = 1;
    for (int i = 0; i < o.n_pp; i++)
        if (o.pp[i] > max_pp) max_pp = o.pp[i];
    if (max_pp + o.ng + 1 > need) need = max_pp + o.ng + 1;
    long sweep_ctx = 0;
    for (int i = 0; o.sweep && o.ng > 0 && i < 3; i++)
        if (depths[i] + o.ng + 1 <= info.ctx_train && depths[i] + o.ng + 1 > sweep_ctx)
            sweep_ctx = depths[i] + o.ng + 1;
    if (sweep_ctx > need) need = sweep_ctx;
    bench_ctx c = {.m = m, .mo = &mo, .n_vocab = info.n_vocab, .ubatch = (int)o.ubatch};
    c.tokens = malloc((size_t)need * sizeof *c.tokens);
    double *v = malloc((size_t)o.reps * sizeof *v);
    bench_res res[BENCH_MAX_RES];
    int n_res = 0, rc = 0;
    vkllm_session *s = NULL;
    vkllm_batch *b = NULL;
    if (!c.tokens || !v) {
        rc = cli_fail("bench", "out of memory");
        goto done;
    }
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (long i = 0; i < need; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c.tokens[i] = (int32_t)(x % (uint64_t)info.n_vocab);
    }
    for (int i = 0; i < o.n_pp && !rc; i++) {
        if (o.pp[i] <= 0) continue;
        if (!(b = bench_batch(&c, 1, o.pp[i]))) { rc = 1; break; }
        rc = bench_run(&c, &o, 0, o.pp[i], b, v, res, &n_res);
        vkllm_batch_destroy(b);
        b = NULL;
    }
    if (!rc && o.ng > 0) {
        long pre = o.pp[0] > 0 ? o.pp[0] : 1;
        if (!mo.sp.n_ctx) mo.sp.n_ctx = (int)((sweep_ctx > pre + o.ng + 1) ? sweep_ctx : pre + o.ng + 1);
        vkllm_status st = vkllm_session_create(m, &mo.sp, &s);
        if (st != VKLLM_OK) rc = cli_fail_status("bench", st);
        if (!rc) rc = bench_run(&c, &o, 1, o.ng, s, v, res, &n_res);
        for (int i = 0; i < 3 && !rc && o.sweep; i++)
            if (depths[i] + o.ng + 1 <= sweep_ctx && depths[i] + o.ng + 1 <= mo.sp.n_ctx)
                rc = bench_run(&c, &o, 3, depths[i], s, v, res, &n_res);
    }
    if (!rc && o.ng > 0 && o.batch > 0) {
        if (!(b = bench_batch(&c, (int)o.batch, BENCH_BATCH_PROMPT + o.ng + 1))) rc = 1;
        else rc = bench_run(&c, &o, 2, o.ng, b, v, res, &n_res);
    }
    if (!rc) bench_print(res, n_res, o.json, info.name && *info.name ? info.name : mo.model, &info);
done:
    free(c.tokens);
    free(v);
    vkllm_batch_destroy(b);
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    return rc;
}
