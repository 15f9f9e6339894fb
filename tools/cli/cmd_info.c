/* cmd_info.c — `vkllm info MODEL`: architecture, hyper-parameters, tensor
 * types and sizes, tokenizer, chat template, and the memory needed at --ctx.
 * Loads the model without a backend (nothing is uploaded). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/dtype.h"
#include "model/model.h"

static void info_tensor(vkllm_model *m, model_role r, int layer, uint64_t *by_type) {
    wtensor *w = arch_slot(m, r, layer);
    if (!w->data) return;
    by_type[w->type < DTYPE_COUNT_ ? w->type : 0] += w->nbytes;
    char name[96];
    arch_tensor_name(m->format, r, layer, name, sizeof name);
    printf("  %-44s %-5s %6lld x %-7lld %10.3f MiB\n", w->name ? w->name : name,
           dtype_name(w->type), (long long)w->ne0, (long long)w->ne1, w->nbytes / 1048576.0);
}

static void info_print(vkllm_model *m, long ctx, int show_tensors) {
    const model_config *c = &m->cfg;
    static const char *fmt[] = {"gguf", "hugging face folder", "llama2.c checkpoint"};
    printf("model:        %s\n", m->path);
    printf("format:       %s\n", fmt[m->format]);
    printf("name:         %s\n", m->name ? m->name : "");
    printf("architecture: %s\n", model_arch_name(c->arch));
    printf("parameters:   %.2f M (%llu)\n", m->n_params / 1e6, (unsigned long long)m->n_params);
    printf("weights:      %.2f MiB\n", m->weight_bytes / 1048576.0);
    printf("vocab %d | dim %d | layers %d | heads %d | kv heads %d | head dim %d | ffn %d\n",
           c->n_vocab, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->ffn_dim);
    printf("context (trained) %d | rms eps %g | rope theta %g (%s)%s | output %s\n", c->ctx_train,
           c->norm_eps, c->rope_theta, c->rope_neox ? "neox" : "normal",
           c->rope_factor > 0 ? " + llama3 scaling" : m->rope_freq_factors ? " + frequency factors" : "",
           c->tied_output ? "tied" : "separate");
    if (c->has_qkv_bias) printf("q/k/v bias:   yes\n");
    if (c->has_qk_norm) printf("q/k norm:     yes\n");
    if (m->tok)
        printf("tokenizer:    %s, %d tokens, bos %d, eos %d%s\n", tokenizer_kind(m->tok),
               tokenizer_n_vocab(m->tok), tokenizer_bos(m->tok), tokenizer_eos(m->tok),
               tokenizer_adds_bos(m->tok) ? " (adds bos)" : "");
    else
        printf("tokenizer:    none\n");
    printf("chat template: %s\n", m->chat_template ? "yes" : "no");
    uint64_t by_type[DTYPE_COUNT_] = {0};
    if (show_tensors) printf("tensors:\n");
    for (int r = 0; r < ROLE_FIRST_LAYER; r++) {
        if (r == ROLE_OUTPUT && c->tied_output) continue;
        if (show_tensors) info_tensor(m, (model_role)r, 0, by_type);
    }
    for (int l = 0; l < c->n_layers && show_tensors; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++)
            if (arch_has_role(c, (model_role)r)) info_tensor(m, (model_role)r, l, by_type);
    if (show_tensors) {
        printf("bytes by type:");
        for (int t = 0; t < DTYPE_COUNT_; t++)
            if (by_type[t]) printf(" %s %.2f MiB", dtype_name((uint32_t)t), by_type[t] / 1048576.0);
        printf("\n");
    }
    uint64_t kvd = (uint64_t)c->n_kv_heads * c->head_dim, qd = (uint64_t)c->n_heads * c->head_dim;
    uint64_t kv = (uint64_t)c->n_layers * 2 * kvd * (uint64_t)ctx * 4;
    uint64_t ub = ctx < 512 ? (uint64_t)ctx : 512, out = ub < 32 ? ub : 32;
    uint64_t scratch = 4 * (ub * (c->dim + (qd > (uint64_t)c->dim ? qd : (uint64_t)c->dim) + 2 * qd + 2 * kvd +
                                  2 * (uint64_t)c->ffn_dim) +
                            out * (c->dim + (uint64_t)c->n_vocab + 1));
    printf("memory at --ctx %ld: weights %.1f MiB + KV cache (f32) %.1f MiB + scratch %.1f MiB = "
           "%.1f MiB\n",
           ctx, m->weight_bytes / 1048576.0, kv / 1048576.0, scratch / 1048576.0,
           (m->weight_bytes + kv + scratch) / 1048576.0);
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL, *tok = NULL;
    long ctx = 0;
    int tensors = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: vkllm info MODEL [--ctx N] [--tokenizer PATH] [--no-tensors]\n");
            return 0;
        } else if (!strcmp(a, "--ctx")) {
            if (cli_parse_int("info", a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 22, &ctx)) return 1;
        } else if (!strcmp(a, "--tokenizer") && i + 1 < argc) {
            tok = argv[++i];
        } else if (!strcmp(a, "--no-tensors")) {
            tensors = 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
            path = argv[++i];
        } else if (a[0] != '-' && !path) {
            path = a;
        } else {
            return cli_fail("info", "unknown or incomplete option '%s'", a);
        }
    }
    if (!path) return cli_fail("info", "no model given (vkllm info MODEL)");
    vkllm_model *m = NULL;
    vkllm_status s = model_open(path, tok, &m);
    if (s != VKLLM_OK) return cli_fail_status("info", s);
    if (!ctx) ctx = m->cfg.ctx_train < 4096 ? m->cfg.ctx_train : 4096;
    info_print(m, ctx, tensors);
    vkllm_model_destroy(m);
    return 0;
}
