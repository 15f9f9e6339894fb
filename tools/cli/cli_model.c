/* cli_model.c — flags shared by run, logits, bench and chat: model, backend,
 * threads, context, sampling. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char cli_model_help[] =
    "  -m, --model PATH       .gguf file, Hugging Face folder, or llama2.c .bin\n"
    "  --tokenizer PATH       tokenizer file for llama2.c checkpoints\n"
    "  --backend cpu|vulkan   compute backend (default: vulkan when a GPU is usable)\n"
    "  --device N             Vulkan device index (see vkllm devices)\n"
    "  --max-binding-mb N     split weights into storage bindings of at most N MiB\n"
    "  --profile              time every GPU dispatch; per-op table on stderr at exit\n"
    "  --threads N            CPU threads (default: all cores)\n"
    "  --ctx N                context size in tokens (default: training context, max 4096)\n"
    "  --kv-type f16|q8_0|f32 KV cache element type (default f16; q8_0 needs head dim % 32 == 0)\n"
    "  --temp T               temperature; 0 = greedy (default 0.8)\n"
    "  --top-k K              keep the K most likely tokens; 0 = off (default 40)\n"
    "  --top-p P              nucleus sampling; 1 = off (default 0.95)\n"
    "  --min-p P              drop tokens below P x the best probability (default 0.05)\n"
    "  --repeat-penalty R     penalty for recent tokens; 1 = off (default 1)\n"
    "  --repeat-last-n N      tokens the penalty looks back over (default 64)\n"
    "  --seed S               random seed (default: time)\n"
    "  --logit-bias ID=B      add B to token ID's logit before sampling (ID+B and ID-B\n"
    "                         also work; B may be -inf to ban it); repeatable\n";

/* "ID=B", "ID+B" or "ID-B" (llama.cpp's form); B a number or -inf. The id's
 * range is checked against the vocabulary when the session is created. */
static int cli_parse_bias(const char *cmd, const char *v, cli_model_opts *o) {
    char *end;
    errno = 0;
    long id = strtol(v, &end, 10);
    if (end == v || errno || id < 0 || id > INT32_MAX || (*end != '=' && *end != '+' && *end != '-'))
        return cli_fail(cmd, "--logit-bias '%s': expected ID=BIAS", v), -1;
    const char *b = *end == '=' ? end + 1 : end;
    double d;
    if (!strcmp(b, "-inf") || !strcmp(b, "-INF")) {
        d = -INFINITY;
    } else {
        errno = 0;
        d = strtod(b, &end);
        if (end == b || *end || errno || !isfinite(d) || fabs(d) > 1e6)
            return cli_fail(cmd, "--logit-bias '%s': bias is not a number in [-1e6, 1e6] or -inf", v), -1;
    }
    int n = o->sp.sampling.n_bias;
    if (n == CLI_MAX_BIAS) return cli_fail(cmd, "--logit-bias: more than %d entries", CLI_MAX_BIAS), -1;
    o->bias_ids[n] = (int32_t)id;
    o->bias_values[n] = (float)d;
    o->sp.sampling.n_bias = n + 1;
    o->sp.sampling.bias_ids = o->bias_ids;
    o->sp.sampling.bias_values = o->bias_values;
    return 0;
}

void cli_model_opts_init(cli_model_opts *o) {
    memset(o, 0, sizeof *o);
    o->mp = vkllm_model_default_params();
    o->sp = vkllm_session_default_params();
    o->sp.sampling.seed = (uint64_t)time(NULL);
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_model_flag(const char *cmd, int argc, char **argv, int *i, cli_model_opts *o) {
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    double d;
    uint64_t u;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!v) return cli_fail(cmd, "%s needs a value", a), -1;                                   \
        (*i)++;                                                                                    \
    } while (0)
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
        NEED_VALUE();
        o->model = v;
    } else if (!strcmp(a, "--tokenizer")) {
        NEED_VALUE();
        o->mp.tokenizer_path = v;
    } else if (!strcmp(a, "--backend")) {
        NEED_VALUE();
        if (!strcmp(v, "cpu")) o->mp.backend = VKLLM_BACKEND_CPU;
        else if (!strcmp(v, "vulkan")) o->mp.backend = VKLLM_BACKEND_VULKAN;
        else if (!strcmp(v, "auto")) o->mp.backend = VKLLM_BACKEND_AUTO;
        else return cli_fail(cmd, "--backend: '%s' is not cpu, vulkan or auto", v), -1;
    } else if (!strcmp(a, "--device")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 0, 64, &n)) return -1;
        o->mp.device = (int)n;
    } else if (!strcmp(a, "--max-binding-mb")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 1, 1 << 20, &n)) return -1;
        o->mp.max_binding_mb = (int)n;
    } else if (!strcmp(a, "--profile")) {
        o->mp.profile = 1;
    } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 1, 1024, &n)) return -1;
        o->mp.n_threads = (int)n;
    } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 1, 1 << 22, &n)) return -1;
        o->sp.n_ctx = (int)n;
    } else if (!strcmp(a, "--kv-type")) {
        NEED_VALUE();
        if (!strcmp(v, "f16")) o->sp.kv_type = VKLLM_KV_F16;
        else if (!strcmp(v, "q8_0")) o->sp.kv_type = VKLLM_KV_Q8_0;
        else if (!strcmp(v, "f32")) o->sp.kv_type = VKLLM_KV_F32;
        else return cli_fail(cmd, "--kv-type: '%s' is not f16, q8_0 or f32", v), -1;
    } else if (!strcmp(a, "--temp")) {
        NEED_VALUE();
        if (cli_parse_float(cmd, a, v, 0, 100, &d)) return -1;
        o->sp.sampling.temperature = (float)d;
    } else if (!strcmp(a, "--top-k")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 0, 1 << 30, &n)) return -1;
        o->sp.sampling.top_k = (int)n;
    } else if (!strcmp(a, "--top-p")) {
        NEED_VALUE();
        if (cli_parse_float(cmd, a, v, 1e-6, 1, &d)) return -1;
        o->sp.sampling.top_p = (float)d;
    } else if (!strcmp(a, "--min-p")) {
        NEED_VALUE();
        if (cli_parse_float(cmd, a, v, 0, 1, &d)) return -1;
        o->sp.sampling.min_p = (float)d;
    } else if (!strcmp(a, "--repeat-penalty")) {
        NEED_VALUE();
        if (cli_parse_float(cmd, a, v, 1e-3, 100, &d)) return -1;
        o->sp.sampling.repeat_penalty = (float)d;
    } else if (!strcmp(a, "--repeat-last-n")) {
        NEED_VALUE();
        if (cli_parse_int(cmd, a, v, 0, 1 << 20, &n)) return -1;
        o->sp.sampling.repeat_last_n = (int)n;
    } else if (!strcmp(a, "--logit-bias")) {
        NEED_VALUE();
        if (cli_parse_bias(cmd, v, o)) return -1;
    } else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
        NEED_VALUE();
        if (cli_parse_u64(cmd, a, v, &u)) return -1;
        o->sp.sampling.seed = u;
    } else {
        return 0;
    }
#undef NEED_VALUE
    return 1;
}

vkllm_model *cli_load_model(const char *cmd, const cli_model_opts *o) {
    if (!o->model) return cli_fail(cmd, "no model given (-m PATH)"), NULL;
    vkllm_model *m = NULL;
    vkllm_status s = vkllm_model_load(o->model, &o->mp, &m);
    if (s != VKLLM_OK) {
        cli_fail_status(cmd, s);
        return NULL;
    }
    return m;
}
