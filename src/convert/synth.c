/* synth.c — synthetic GGUF models.
 *
 * Weights are uniform random, generated row by row from a counter-based RNG
 * (a hash of seed, tensor index and row seeds a short wyrand-style stream),
 * so any row can be produced by any thread in any order and a given seed
 * always gives the same file. Scales keep activations finite through any
 * depth: matrices U(-1/sqrt(ne0), 1/sqrt(ne0)), norm weights U(0.9, 1.1),
 * biases U(-0.05, 0.05), embeddings U(-1, 1). Rows go through the shared
 * quantize pipeline, so they reach the disk already in the target type. */
#include "convert/synth.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "convert/convert.h"
#include "convert/tokmeta.h"
#include "core/err.h"
#include "core/log.h"
#include "format/gguf.h"
#include "model/model.h"

typedef struct synth_named {
    const char *name;
    model_arch arch;
    int dim, n_layers, n_heads, n_kv_heads, ffn_dim, n_vocab, ctx, head_dim;
    float theta;
} synth_named;

static const synth_named synth_shapes[] = {
    {"tinyllama-1.1b", ARCH_LLAMA, 2048, 22, 32, 4, 5632, 32000, 2048, 0, 1e4f},
    {"llama3-8b", ARCH_LLAMA, 4096, 32, 32, 8, 14336, 128256, 8192, 0, 5e5f},
    {"llama2-7b", ARCH_LLAMA, 4096, 32, 32, 32, 11008, 32000, 4096, 0, 1e4f},
    {"qwen2.5-0.5b", ARCH_QWEN2, 896, 24, 14, 2, 4864, 151936, 32768, 0, 1e6f},
    {"qwen3-0.6b", ARCH_QWEN3, 1024, 28, 16, 8, 3072, 151936, 40960, 128, 1e6f},
    {"stories15m", ARCH_LLAMA, 288, 6, 6, 6, 768, 32000, 256, 0, 1e4f},
};

const char synth_shape_names[] = "tinyllama-1.1b llama3-8b llama2-7b qwen2.5-0.5b qwen3-0.6b stories15m";

void synth_defaults(model_arch arch, model_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = arch;
    c->norm_eps = arch == ARCH_LLAMA ? 1e-5f : 1e-6f;
    c->rope_theta = arch == ARCH_LLAMA ? 1e4f : 1e6f;
    c->rope_neox = arch != ARCH_LLAMA;
    c->ctx_train = 2048;
    c->has_qkv_bias = arch == ARCH_QWEN2;
    c->has_qk_norm = arch == ARCH_QWEN3;
    c->tied_output = arch != ARCH_LLAMA;
    c->bos_id = c->eos_id = -1;
}

int synth_shape(const char *name, model_config *c) {
    for (size_t i = 0; i < sizeof synth_shapes / sizeof synth_shapes[0]; i++) {
        const synth_named *s = &synth_shapes[i];
        if (strcasecmp(name, s->name) != 0) continue;
        synth_defaults(s->arch, c);
        c->dim = s->dim;
        c->n_layers = s->n_layers;
        c->n_heads = s->n_heads;
        c->n_kv_heads = s->n_kv_heads;
        c->ffn_dim = s->ffn_dim;
        c->n_vocab = s->n_vocab;
        c->ctx_train = s->ctx;
        c->head_dim = s->head_dim ? s->head_dim : s->dim / s->n_heads;
        c->rope_theta = s->theta;
        return 0;
    }
    return -1;
}

static vkllm_status synth_check(const model_config *c) {
    if (c->n_vocab < 1 || c->n_vocab > (1 << 22) || c->dim < 2 || c->dim > 65536 || c->n_layers < 1 ||
        c->n_layers > 1024 || c->ffn_dim < 1 || c->ffn_dim > (1 << 20))
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "synth: shape out of range (vocab %d, dim %d, layers %d, ffn %d)", c->n_vocab,
                       c->dim, c->n_layers, c->ffn_dim);
    if (c->n_heads < 1 || c->n_heads > 1024 || c->n_kv_heads < 1 || c->n_kv_heads > c->n_heads ||
        c->n_heads % c->n_kv_heads)
        return err_set(VKLLM_ERR_INVALID_ARG, "synth: heads %d / kv heads %d (kv heads must divide heads)",
                       c->n_heads, c->n_kv_heads);
    if (c->head_dim < 2 || c->head_dim % 2 || c->head_dim > 1024 ||
        (c->arch != ARCH_QWEN3 && c->head_dim * c->n_heads != c->dim))
        return err_set(VKLLM_ERR_INVALID_ARG, "synth: head size %d invalid for dim %d and %d heads (even, divides)",
                       c->head_dim, c->dim, c->n_heads);
    return VKLLM_OK;
}

static inline uint64_t synth_mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void synth_gen(const quantize_tensor *t, int64_t row, float *out) {
    uint64_t s = synth_mix(t->seed ^ synth_mix((uint64_t)row + 0x9e3779b97f4a7c15ULL));
    float scale = (t->hi - t->lo) * (1.0f / 16777216.0f);
    for (uint64_t i = 0; i < t->ne[0]; i++) {
        s += 0xa0761d6478bd642fULL;
        __uint128_t m = (__uint128_t)s * (s ^ 0xe7037ed1a0b428dbULL);
        uint64_t r = (uint64_t)(m >> 64) ^ (uint64_t)m;
        out[i] = t->lo + scale * (float)(r >> 40);
    }
}

static vkllm_status synth_add(quantize_plan *p, const model_config *c, const quantize_target *tg,
                              uint64_t seed, model_role r, int layer) {
    if (!arch_has_role(c, r)) return VKLLM_OK;
    char name[96];
    arch_tensor_name(MODEL_GGUF, r, layer, name, sizeof name);
    int64_t ne0, ne1;
    arch_shape(c, r, &ne0, &ne1);
    int one_d = ne1 == 1 && r != ROLE_TOK_EMBD && r != ROLE_OUTPUT;
    int bias = r == ROLE_BQ || r == ROLE_BK || r == ROLE_BV;
    float a = r == ROLE_TOK_EMBD ? 1.0f : 1.0f / sqrtf((float)ne0);
    quantize_tensor t = {.name = name, .n_dims = one_d ? 1 : 2,
                         .ne = {(uint64_t)ne0, (uint64_t)ne1, 1, 1}, .gen = synth_gen,
                         .seed = synth_mix(seed ^ synth_mix(p->n + 1)),
                         .lo = one_d ? (bias ? -0.05f : 0.9f) : -a,
                         .hi = one_d ? (bias ? 0.05f : 1.1f) : a};
    t.type = quantize_pick_type(tg, name, t.n_dims, ne0, c->n_layers, !c->tied_output);
    return quantize_plan_add(p, &t);
}

/* File order: token_embd, the layers, output_norm, output. */
static vkllm_status synth_plan(quantize_plan *p, const model_config *c, const quantize_target *tg,
                               uint64_t seed) {
    TRY(synth_add(p, c, tg, seed, ROLE_TOK_EMBD, 0));
    for (int l = 0; l < c->n_layers; l++)
        for (int r = ROLE_FIRST_LAYER; r < ROLE_COUNT_; r++) TRY(synth_add(p, c, tg, seed, (model_role)r, l));
    TRY(synth_add(p, c, tg, seed, ROLE_OUT_NORM, 0));
    return synth_add(p, c, tg, seed, ROLE_OUTPUT, 0);
}

vkllm_status synth_write(const char *out, model_config *cfg, const quantize_target *t,
                         const synth_params *sp) {
    gguf *voc = NULL;
    if (sp->vocab_path) TRY(gguf_open(sp->vocab_path, &voc));
    gguf_writer *w = NULL;
    quantize_plan p = {.n_threads = sp->n_threads, .progress = sp->progress, .progress_ud = sp->progress_ud};
    vkllm_status s = gguf_writer_create(out, &w);
    if (s == VKLLM_OK && voc) {
        int32_t n = tokmeta_copy(w, voc, &s);
        if (s == VKLLM_OK && n != cfg->n_vocab) {
            log_msg(LOG_INFO, "synth: vocabulary %s has %d tokens; the model's vocabulary is set to it",
                    sp->vocab_path, (int)n);
            cfg->n_vocab = n;
        }
    }
    if (s == VKLLM_OK) s = synth_check(cfg);
    if (s == VKLLM_OK && !voc) s = tokmeta_placeholder(w, cfg->n_vocab);
    if (s == VKLLM_OK) s = convert_set_hparams(w, cfg, sp->name, t->ftype);
    if (s == VKLLM_OK) s = synth_plan(&p, cfg, t, sp->seed);
    if (s == VKLLM_OK) s = quantize_plan_write(&p, w);
    if (s == VKLLM_OK) s = gguf_writer_finish(w);
    gguf_writer_free(w);
    quantize_plan_free(&p);
    gguf_close(voc);
    return s;
}
