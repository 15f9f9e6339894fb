/* cmd_synth.c — `vkllm synth OUT.gguf --shape NAME | --dim ... [--type T]
 * [--vocab VOCAB.gguf] [--seed S]`: a model of a real shape with random weights. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_progress.h"
#include "convert/synth.h"

static void synth_usage(FILE *f) {
    fprintf(f,
            "usage: vkllm synth OUT.gguf (--shape NAME | --dim D --layers L --heads H --kv-heads K\n"
            "                   --ffn F --vocab-size V [--arch llama|qwen2|qwen3] [--head-dim N])\n"
            "                   [--type T] [--vocab VOCAB.gguf] [--seed S] [--threads N] [--ctx N]\n"
            "  --shape NAME    %s\n"
            "  --type T        weight types (default f16): %s\n"
            "  --vocab FILE    copy the tokenizer of a GGUF file (the model takes its vocabulary size);\n"
            "                  default: a byte-level placeholder vocabulary\n"
            "  --seed S        random seed (default 1): the same seed gives the same file\n",
            synth_shape_names, quantize_target_names);
}

typedef struct synth_opts {
    const char *out, *shape, *type, *vocab, *arch;
    long dim, layers, heads, kv_heads, ffn, n_vocab, head_dim, ctx, threads;
    uint64_t seed;
} synth_opts;

/* Parses one flag; returns 1 consumed, 0 unknown, -1 bad value. */
static int synth_flag(int argc, char **argv, int *i, synth_opts *o) {
    static const struct { const char *flag; size_t off; long lo, hi; } ints[] = {
        {"--dim", offsetof(synth_opts, dim), 2, 65536},
        {"--layers", offsetof(synth_opts, layers), 1, 1024},
        {"--heads", offsetof(synth_opts, heads), 1, 1024},
        {"--kv-heads", offsetof(synth_opts, kv_heads), 1, 1024},
        {"--ffn", offsetof(synth_opts, ffn), 1, 1 << 20},
        {"--vocab-size", offsetof(synth_opts, n_vocab), 1, 1 << 22},
        {"--head-dim", offsetof(synth_opts, head_dim), 2, 1024},
        {"--ctx", offsetof(synth_opts, ctx), 1, 1 << 24},
        {"--threads", offsetof(synth_opts, threads), 1, 1024},
    };
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
        if (!strcmp(a, ints[k].flag)) {
            (*i)++;
            return cli_parse_int("synth", a, v, ints[k].lo, ints[k].hi, (long *)((char *)o + ints[k].off)) ? -1 : 1;
        }
    const char **str = !strcmp(a, "--shape") ? &o->shape : !strcmp(a, "--type") ? &o->type
                     : !strcmp(a, "--vocab") ? &o->vocab : !strcmp(a, "--arch") ? &o->arch : NULL;
    if (str) {
        if (!v) return cli_fail("synth", "%s needs a value", a), -1;
        *str = v;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--seed")) {
        (*i)++;
        return cli_parse_u64("synth", a, v, &o->seed) ? -1 : 1;
    }
    return 0;
}

static int synth_config(const synth_opts *o, model_config *c) {
    if (o->shape) {
        if (o->dim || o->layers || o->heads || o->kv_heads || o->ffn || o->arch || o->head_dim)
            return cli_fail("synth", "--shape cannot be combined with explicit --dim/--layers/... flags"), -1;
        if (synth_shape(o->shape, c) != 0)
            return cli_fail("synth", "unknown shape '%s' (one of: %s)", o->shape, synth_shape_names), -1;
        if (o->n_vocab) c->n_vocab = (int)o->n_vocab;
    } else {
        if (!o->dim || !o->layers || !o->heads || !o->ffn || (!o->n_vocab && !o->vocab))
            return cli_fail("synth", "give --shape NAME, or --dim, --layers, --heads, --ffn and --vocab-size"), -1;
        int arch = model_arch_from_name(o->arch ? o->arch : "llama");
        if (arch < 0 || arch >= ARCH_COUNT_)
            return cli_fail("synth", "unknown architecture '%s' (llama, qwen2, qwen3)", o->arch), -1;
        synth_defaults((model_arch)arch, c);
        c->dim = (int)o->dim;
        c->n_layers = (int)o->layers;
        c->n_heads = (int)o->heads;
        c->n_kv_heads = (int)(o->kv_heads ? o->kv_heads : o->heads);
        c->ffn_dim = (int)o->ffn;
        c->n_vocab = o->n_vocab ? (int)o->n_vocab : 258; /* replaced by --vocab */
        c->head_dim = o->head_dim ? (int)o->head_dim : (int)(o->dim / o->heads);
    }
    if (o->ctx) c->ctx_train = (int)o->ctx;
    return 0;
}

int cmd_synth(int argc, char **argv) {
    synth_opts o = {.type = "f16", .seed = 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            synth_usage(stdout);
            return 0;
        }
        int r = synth_flag(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (argv[i][0] == '-' && argv[i][1]) return cli_fail("synth", "unknown option '%s' (try --help)", argv[i]);
        if (o.out) return cli_fail("synth", "unexpected argument '%s'", argv[i]);
        o.out = argv[i];
    }
    if (!o.out) {
        synth_usage(stderr);
        return 1;
    }
    quantize_target t;
    if (quantize_target_from_name(o.type, &t) != 0)
        return cli_fail("synth", "unknown type '%s' (one of: %s)", o.type, quantize_target_names);
    model_config cfg;
    if (synth_config(&o, &cfg) != 0) return 1;
    cli_progress pr;
    cli_progress_init(&pr);
    synth_params sp = {.name = o.shape ? o.shape : "synthetic", .vocab_path = o.vocab, .seed = o.seed,
                       .n_threads = (int)o.threads, .progress = cli_progress_cb, .progress_ud = &pr};
    vkllm_status s = synth_write(o.out, &cfg, &t, &sp);
    if (s != VKLLM_OK) {
        if (pr.tty && pr.last_pct >= 0) fputc('\n', stderr);
        return cli_fail_status("synth", s);
    }
    cli_progress_done(&pr, o.out, 0);
    return 0;
}
