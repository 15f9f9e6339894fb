/* batch_seqs.c — vkllm_batch (several sequences in one forward pass) on real
 * fixtures (stories260K, tiny-qwen2, tiny-llama3 Q8_0) and a `vkllm synth`
 * model with head dim 32 (the one that takes a Q8_0 KV cache). Backend from
 * VKLLM_TEST_BACKEND (default cpu; CMake adds a vulkan variant, which runs
 * stories260K and the synth model). Checks:
 *  (a) the logits of the last token of one batched pass over a prompt equal
 *      those of feeding the prompt token by token: max|Δ| / max|ref| <= 1e-3
 *      (several prompts in one step; micro-batches of 512 and of 7 tokens);
 *  (b) four sequences of different lengths stepped together give the same
 *      tokens as each run alone (greedy; and two sampled with their own
 *      seeds), and as vkllm_session;
 *  (c) sequences that share a prefix of another's KV (copy-on-write) give
 *      the same tokens, and logits within 1e-3, as the same tokens without
 *      sharing, while holding fewer blocks;
 *  (d) once every sequence is removed, every KV block is back in the pool;
 * plus the errors a caller can provoke (unknown id, full context, sharing
 * more than was evaluated, full slots, Q8_0 KV with head dim 8).
 * Q8_0 KV vs F32 KV on the synth model: logits within 3e-2 relative (the
 * Q8_0 rounding of K and V, 1/254 of each block's range). */
#include <dlfcn.h>
#include <unistd.h>

#include "testproc.h"
#include "testutil.h"
#include "vkllm.h"

#define MAXTOK 128

static vkllm_backend_kind test_backend(void) {
    const char *b = getenv("VKLLM_TEST_BACKEND");
    return b && !strcmp(b, "vulkan") ? VKLLM_BACKEND_VULKAN : VKLLM_BACKEND_CPU;
}

static double rel_diff(const float *a, const float *ref, int n) {
    double md = 0, mr = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > md || d != d) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    return mr > 0 ? md / mr : md;
}

static vkllm_batch *make_batch(vkllm_model *m, int n_seq, int ubatch, vkllm_kv_type kt, int keep) {
    vkllm_batch_params bp = vkllm_batch_default_params();
    bp.n_ctx = 96;
    bp.n_seq_max = n_seq;
    bp.n_ubatch = ubatch;
    bp.kv_type = kt;
    bp.keep_logits = keep;
    vkllm_batch *b = NULL;
    vkllm_status s = vkllm_batch_create(m, &bp, &b);
    CHECKF(s == VKLLM_OK, "batch_create: %s", vkllm_last_error());
    return b;
}

static void check_all_free(vkllm_batch *b, const char *what) {
    int nf = -1, nt = -2;
    vkllm_batch_kv_blocks(b, &nf, &nt);
    CHECKF(vkllm_batch_n_seqs(b) == 0 && nf == nt, "%s: %d of %d blocks free, %d sequences", what, nf,
           nt, vkllm_batch_n_seqs(b));
}

static void random_ids(uint64_t *rng, int n_vocab, int32_t *ids, int n) {
    for (int i = 0; i < n; i++) ids[i] = (int32_t)(test_rng_u64(rng) % (uint64_t)n_vocab);
}

/* (a) token by token vs one batched pass per prefix, all prefixes in one step. */
static void check_prefill(vkllm_model *m, int V, const int32_t *ids, int n, vkllm_kv_type kt,
                          int ubatch, const char *name) {
    vkllm_batch *b = make_batch(m, 8, ubatch, kt, 1);
    float *ref = malloc((size_t)n * V * sizeof(float));
    if (!b || !ref) goto out;
    int32_t a;
    CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &a) == VKLLM_OK);
    for (int i = 0; i < n; i++) {
        CHECK(vkllm_batch_append(b, a, ids + i, 1) == VKLLM_OK);
        CHECKF(vkllm_batch_step(b, NULL) == VKLLM_OK, "%s: step: %s", name, vkllm_last_error());
        const float *lg = vkllm_batch_logits(b, a);
        CHECK(lg != NULL);
        if (lg) memcpy(ref + (size_t)i * V, lg, (size_t)V * sizeof(float));
    }
    CHECK(vkllm_batch_seq_remove(b, a) == VKLLM_OK);
    int lens[] = {1, 7, 16, 17, n};
    int32_t sid[5];
    size_t n_eval = 0, want = 0;
    for (int k = 0; k < 5; k++) {
        CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &sid[k]) == VKLLM_OK);
        CHECK(vkllm_batch_append(b, sid[k], ids, (size_t)lens[k]) == VKLLM_OK);
        want += (size_t)lens[k];
    }
    CHECKF(vkllm_batch_step(b, &n_eval) == VKLLM_OK, "%s: step: %s", name, vkllm_last_error());
    CHECK(n_eval == want);
    for (int k = 0; k < 5; k++) {
        const float *lg = vkllm_batch_logits(b, sid[k]);
        CHECK(lg != NULL);
        if (!lg) continue;
        double r = rel_diff(lg, ref + (size_t)(lens[k] - 1) * V, V);
        CHECKF(r <= 1e-3, "%s (kv %s, ubatch %d): prefix %d: batched vs token by token %.3g", name,
               vkllm_kv_type_str(kt), ubatch, lens[k], r);
        CHECK(vkllm_batch_seq_remove(b, sid[k]) == VKLLM_OK);
    }
    check_all_free(b, name);
out:
    free(ref);
    vkllm_batch_destroy(b);
}

typedef struct gen_case {
    int n_prompt, n_gen;
    float temp;
    uint64_t seed;
} gen_case;

static vkllm_sampling_params case_sampling(const gen_case *c) {
    vkllm_sampling_params sp = vkllm_session_default_params().sampling;
    sp.temperature = c->temp;
    sp.seed = c->seed;
    sp.top_k = 20;
    return sp;
}

/* Runs the cases in one batch, stepping all live sequences together; a
 * sequence is removed when it has n_gen tokens. out[k] gets the tokens. */
static void run_together(vkllm_model *m, const gen_case *cs, int nc, const int32_t *const *prompts,
                         vkllm_kv_type kt, int32_t out[][MAXTOK], const char *name) {
    vkllm_batch *b = make_batch(m, nc, 512, kt, 0);
    if (!b) return;
    int32_t sid[8];
    int n_out[8] = {0}, live = nc;
    for (int k = 0; k < nc; k++) {
        vkllm_sampling_params sp = case_sampling(&cs[k]);
        CHECK(vkllm_batch_seq_add(b, &sp, -1, 0, &sid[k]) == VKLLM_OK);
        CHECK(vkllm_batch_append(b, sid[k], prompts[k], (size_t)cs[k].n_prompt) == VKLLM_OK);
    }
    while (live > 0) {
        vkllm_status s = vkllm_batch_step(b, NULL);
        CHECKF(s == VKLLM_OK, "%s: step: %s", name, vkllm_last_error());
        if (s != VKLLM_OK) break;
        for (int k = 0; k < nc; k++) {
            if (sid[k] < 0) continue;
            int32_t id = -1;
            CHECK(vkllm_batch_sample(b, sid[k], &id) == VKLLM_OK);
            out[k][n_out[k]++] = id;
            if (n_out[k] == cs[k].n_gen) {
                CHECK(vkllm_batch_seq_remove(b, sid[k]) == VKLLM_OK);
                sid[k] = -1;
                live--;
            } else {
                CHECK(vkllm_batch_append(b, sid[k], &id, 1) == VKLLM_OK);
            }
        }
    }
    check_all_free(b, name);
    vkllm_batch_destroy(b);
}

/* (b) four sequences together vs each alone (and vs vkllm_session). */
static void check_together(vkllm_model *m, int V, uint64_t *rng, vkllm_kv_type kt, const char *name) {
    static const gen_case cs[4] = {{3, 9, 0, 0}, {11, 14, 0, 0}, {20, 6, 0.9f, 11}, {33, 12, 0.7f, 5}};
    int32_t pr[4][40];
    const int32_t *prompts[4];
    for (int k = 0; k < 4; k++) {
        random_ids(rng, V, pr[k], cs[k].n_prompt);
        prompts[k] = pr[k];
    }
    static int32_t together[4][MAXTOK], alone[4][MAXTOK];
    memset(together, 0xff, sizeof together);
    memset(alone, 0xff, sizeof alone);
    run_together(m, cs, 4, prompts, kt, together, name);
    for (int k = 0; k < 4; k++) run_together(m, cs + k, 1, prompts + k, kt, alone + k, name);
    for (int k = 0; k < 4; k++) {
        int same = 1;
        for (int i = 0; i < cs[k].n_gen; i++) same &= together[k][i] == alone[k][i];
        CHECKF(same, "%s (kv %s): sequence %d: tokens stepped together differ from alone", name,
               vkllm_kv_type_str(kt), k);
    }
    /* the greedy ones against vkllm_session */
    for (int k = 0; k < 2; k++) {
        vkllm_session_params sp = vkllm_session_default_params();
        sp.sampling = case_sampling(&cs[k]);
        sp.n_ctx = 96;
        sp.kv_type = kt;
        vkllm_session *s = NULL;
        CHECK(vkllm_session_create(m, &sp, &s) == VKLLM_OK);
        if (!s) continue;
        CHECK(vkllm_session_eval(s, prompts[k], (size_t)cs[k].n_prompt) == VKLLM_OK);
        for (int i = 0; i < cs[k].n_gen; i++) {
            int32_t id = -1;
            CHECK(vkllm_session_sample(s, &id) == VKLLM_OK);
            CHECKF(id == together[k][i], "%s: sequence %d token %d: session %d, batch %d", name, k, i,
                   id, together[k][i]);
            if (id != together[k][i]) break;
            CHECK(vkllm_session_eval(s, &id, 1) == VKLLM_OK);
        }
        vkllm_session_destroy(s);
    }
}

/* Greedy continuation (n_gen tokens) of each sequence of b at once, keeping
 * the logits of every step; out[k][i] the tokens, lg[k] the logits rows.
 * Every sequence has logits already, so the first step evaluates nothing. */
static void gen_greedy(vkllm_batch *b, const int32_t *sid, int ns, int n_gen, int V,
                       int32_t out[][MAXTOK], float **lg, const char *name) {
    for (int i = 0; i < n_gen; i++) {
        vkllm_status s = vkllm_batch_step(b, NULL);
        CHECKF(s == VKLLM_OK, "%s: step: %s", name, vkllm_last_error());
        if (s != VKLLM_OK) return;
        for (int k = 0; k < ns; k++) {
            const float *l = vkllm_batch_logits(b, sid[k]);
            CHECK(l != NULL);
            if (l) memcpy(lg[k] + (size_t)i * V, l, (size_t)V * sizeof(float));
            int32_t id = -1;
            CHECK(vkllm_batch_sample(b, sid[k], &id) == VKLLM_OK);
            out[k][i] = id;
            CHECK(vkllm_batch_append(b, sid[k], &id, 1) == VKLLM_OK);
        }
    }
}

/* (c) prefix sharing (copy-on-write) vs the same tokens from scratch. */
static void check_sharing(vkllm_model *m, int V, uint64_t *rng, vkllm_kv_type kt, const char *name) {
    enum { NP = 37, NS = 4, NG = 6 };
    int32_t prompt[NP], suffix[NS][5], full[NS][NP + 5];
    int share[NS] = {NP, NP, 20, 32}; /* the whole prompt, a partial block, a block boundary */
    int n_suf[NS] = {0, 5, 3, 4};     /* sequence 0 is the prompt's owner itself */
    random_ids(rng, V, prompt, NP);
    for (int k = 0; k < NS; k++) {
        random_ids(rng, V, suffix[k], 5);
        memcpy(full[k], prompt, (size_t)share[k] * sizeof(int32_t));
        memcpy(full[k] + share[k], suffix[k], (size_t)n_suf[k] * sizeof(int32_t));
    }
    static int32_t tok[2][NS][MAXTOK];
    float *lg[2][NS];
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < NS; k++) lg[v][k] = calloc((size_t)NG * V, sizeof(float));
    int blocks_used[2] = {0, 0};
    for (int v = 0; v < 2; v++) { /* v = 0: shared, v = 1: each from scratch */
        vkllm_batch *b = make_batch(m, NS, 512, kt, 1);
        if (!b) continue;
        vkllm_sampling_params sp = vkllm_session_default_params().sampling;
        sp.temperature = 0;
        int32_t sid[NS];
        CHECK(vkllm_batch_seq_add(b, &sp, -1, 0, &sid[0]) == VKLLM_OK);
        CHECK(vkllm_batch_append(b, sid[0], prompt, NP) == VKLLM_OK);
        if (v == 0) CHECK(vkllm_batch_step(b, NULL) == VKLLM_OK);
        for (int k = 1; k < NS; k++) {
            if (v == 0) {
                vkllm_status s = vkllm_batch_seq_add(b, &sp, sid[0], (size_t)share[k], &sid[k]);
                CHECKF(s == VKLLM_OK, "%s: share: %s", name, vkllm_last_error());
                size_t nt = 0;
                const int32_t *t = vkllm_batch_tokens(b, sid[k], &nt);
                CHECK(t && nt == (size_t)share[k] && !memcmp(t, prompt, nt * sizeof *t));
                CHECK(vkllm_batch_append(b, sid[k], suffix[k], (size_t)n_suf[k]) == VKLLM_OK);
            } else {
                CHECK(vkllm_batch_seq_add(b, &sp, -1, 0, &sid[k]) == VKLLM_OK);
                CHECK(vkllm_batch_append(b, sid[k], full[k], (size_t)(share[k] + n_suf[k])) == VKLLM_OK);
            }
        }
        /* v = 0: the suffixes (sequence 0 keeps its logits from the first step);
         * v = 1: everything */
        CHECK(vkllm_batch_step(b, NULL) == VKLLM_OK);
        int nf = 0, nt = 0;
        vkllm_batch_kv_blocks(b, &nf, &nt);
        blocks_used[v] = nt - nf;
        gen_greedy(b, sid, NS, NG, V, tok[v], lg[v], name);
        for (int k = 0; k < NS; k++) CHECK(vkllm_batch_seq_remove(b, sid[k]) == VKLLM_OK);
        check_all_free(b, name);
        vkllm_batch_destroy(b);
    }
    CHECKF(blocks_used[0] < blocks_used[1], "%s: shared prefixes use %d blocks, unshared %d", name,
           blocks_used[0], blocks_used[1]);
    for (int k = 0; k < NS; k++) {
        int same = 1;
        for (int i = 0; i < NG; i++) same &= tok[0][k][i] == tok[1][k][i];
        CHECKF(same, "%s (kv %s): sequence %d (shares %d): tokens differ with sharing", name,
               vkllm_kv_type_str(kt), k, share[k]);
        double r = rel_diff(lg[0][k], lg[1][k], NG * V);
        CHECKF(r <= 1e-3, "%s (kv %s): sequence %d: logits with vs without sharing %.3g", name,
               vkllm_kv_type_str(kt), k, r);
    }
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < NS; k++) free(lg[v][k]);
}

static void check_errors(vkllm_model *m, int V, int head_dim, const char *name) {
    vkllm_batch *b = make_batch(m, 2, 512, VKLLM_KV_F16, 0);
    if (!b) return;
    int32_t a = -1, c = -1, d = -1, ids[100] = {0};
    CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &a) == VKLLM_OK);
    CHECK(vkllm_batch_append(b, a + 100, ids, 1) == VKLLM_ERR_INVALID_ARG);
    CHECK(strstr(vkllm_last_error(), "no live sequence") != NULL);
    CHECK(vkllm_batch_append(b, a, ids, 97) == VKLLM_ERR_CONTEXT_FULL);
    int32_t bad = V;
    CHECK(vkllm_batch_append(b, a, &bad, 1) == VKLLM_ERR_INVALID_ARG);
    CHECK(vkllm_batch_sample(b, a, &bad) == VKLLM_ERR_INVALID_ARG); /* nothing evaluated */
    CHECK(vkllm_batch_append(b, a, ids, 5) == VKLLM_OK);
    CHECK(vkllm_batch_seq_add(b, NULL, a, 6, &c) == VKLLM_ERR_INVALID_ARG); /* 5 queued, 0 evaluated */
    CHECK(vkllm_batch_step(b, NULL) == VKLLM_OK);
    CHECK(vkllm_batch_seq_add(b, NULL, a, 6, &c) == VKLLM_ERR_INVALID_ARG);
    CHECK(vkllm_batch_seq_add(b, NULL, a, 5, &c) == VKLLM_OK);
    CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &d) == VKLLM_ERR_INVALID_ARG); /* 2 slots */
    CHECK(strstr(vkllm_last_error(), "slots") != NULL);
    CHECK(vkllm_batch_seq_remove(b, a) == VKLLM_OK);
    CHECK(vkllm_batch_seq_remove(b, a) == VKLLM_ERR_INVALID_ARG);
    CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &d) == VKLLM_OK && d != a); /* ids are not reused */
    CHECK(vkllm_batch_seq_remove(b, c) == VKLLM_OK);
    CHECK(vkllm_batch_seq_remove(b, d) == VKLLM_OK);
    check_all_free(b, name);
    vkllm_batch_destroy(b);
    vkllm_batch_destroy(NULL);
    vkllm_batch_params bp = vkllm_batch_default_params();
    CHECK(bp.n_ubatch == 512 && bp.kv_type == VKLLM_KV_F16);
    vkllm_batch *x = NULL;
    bp.n_ubatch = 0;
    CHECK(vkllm_batch_create(m, &bp, &x) == VKLLM_ERR_INVALID_ARG && !x);
    bp = vkllm_batch_default_params();
    bp.n_seq_max = 0;
    CHECK(vkllm_batch_create(m, &bp, &x) == VKLLM_ERR_INVALID_ARG && !x);
    if (head_dim % 32) {
        bp = vkllm_batch_default_params();
        bp.kv_type = VKLLM_KV_Q8_0;
        CHECK(vkllm_batch_create(m, &bp, &x) == VKLLM_ERR_UNSUPPORTED && !x);
        CHECKF(strstr(vkllm_last_error(), "multiple of 32") != NULL, "%s", vkllm_last_error());
        vkllm_session_params sp = vkllm_session_default_params();
        sp.kv_type = VKLLM_KV_Q8_0;
        vkllm_session *s = NULL;
        CHECK(vkllm_session_create(m, &sp, &s) == VKLLM_ERR_UNSUPPORTED && !s);
    }
}

/* Q8_0 KV against F32 KV: logits of a prompt's last token per prefix. */
static void check_q8_kv(vkllm_model *m, int V, const int32_t *ids, int n, const char *name) {
    float *lg[2] = {malloc((size_t)V * 4), malloc((size_t)V * 4)};
    vkllm_kv_type kt[2] = {VKLLM_KV_F32, VKLLM_KV_Q8_0};
    for (int v = 0; v < 2; v++) {
        vkllm_batch *b = make_batch(m, 1, 512, kt[v], 1);
        int32_t a;
        if (!b) continue;
        CHECK(vkllm_batch_seq_add(b, NULL, -1, 0, &a) == VKLLM_OK);
        CHECK(vkllm_batch_append(b, a, ids, (size_t)n) == VKLLM_OK);
        CHECKF(vkllm_batch_step(b, NULL) == VKLLM_OK, "%s", vkllm_last_error());
        const float *l = vkllm_batch_logits(b, a);
        if (l) memcpy(lg[v], l, (size_t)V * 4);
        vkllm_memory_stats ms;
        vkllm_batch_memory(b, &ms);
        fprintf(stderr, "%s: kv %s: %llu bytes\n", name, vkllm_kv_type_str(kt[v]),
                (unsigned long long)ms.kv_cache);
        vkllm_batch_destroy(b);
    }
    double r = rel_diff(lg[1], lg[0], V);
    fprintf(stderr, "%s: q8_0 vs f32 kv: %.3g\n", name, r);
    CHECKF(r <= 3e-2, "%s: q8_0 KV vs f32 KV logits %.3g", name, r);
    free(lg[0]);
    free(lg[1]);
}

static void check_model(const char *path, const char *name, uint64_t *rng, int q8) {
    vkllm_model_params mp = vkllm_model_default_params();
    mp.backend = test_backend();
    mp.n_threads = 2;
    if (mp.backend == VKLLM_BACKEND_VULKAN) {
        static void *pin; /* keep lavapipe loaded for LeakSanitizer (tests/lsan.supp) */
        if (!pin) pin = dlopen("libvulkan_lvp.so", RTLD_LAZY);
    }
    vkllm_model *m = NULL;
    vkllm_status s = vkllm_model_load(path, &mp, &m);
    CHECKF(s == VKLLM_OK, "%s: load: %s", name, vkllm_last_error());
    if (!m) return;
    vkllm_model_info info;
    vkllm_model_get_info(m, &info);
    fprintf(stderr, "%s on %s (head dim %d)\n", name, info.backend, info.head_dim);
    int32_t prompt[40];
    random_ids(rng, info.n_vocab, prompt, 40);
    check_prefill(m, info.n_vocab, prompt, 40, VKLLM_KV_F32, 512, name);
    check_prefill(m, info.n_vocab, prompt, 40, VKLLM_KV_F16, 7, name);
    check_together(m, info.n_vocab, rng, VKLLM_KV_F16, name);
    check_sharing(m, info.n_vocab, rng, VKLLM_KV_F16, name);
    if (q8) {
        check_prefill(m, info.n_vocab, prompt, 40, VKLLM_KV_Q8_0, 7, name);
        check_together(m, info.n_vocab, rng, VKLLM_KV_Q8_0, name);
        check_sharing(m, info.n_vocab, rng, VKLLM_KV_Q8_0, name);
        check_q8_kv(m, info.n_vocab, prompt, 40, name);
    }
    check_errors(m, info.n_vocab, info.head_dim, name);
    vkllm_model_destroy(m);
}

int main(void) {
    uint64_t rng = test_seed();
    static const char *fixtures[] = {"models/stories260K/stories260K.bin", "models/tiny-qwen2",
                                     "models/tiny-llama3-q8_0.gguf"};
    /* on Vulkan (lavapipe) only stories260K: the 128k/152k vocabularies of the
     * others make each lavapipe pass slow, and the CPU run covers them */
    size_t n_fix = test_backend() == VKLLM_BACKEND_VULKAN ? 1 : sizeof fixtures / sizeof fixtures[0];
    for (size_t i = 0; i < n_fix; i++) {
        char *p = test_path(fixtures[i]);
        if (!p) return test_finish();
        check_model(p, fixtures[i], &rng, 0);
        free(p);
    }
    /* dim 128 over 4 heads: head dim 32, which a Q8_0 KV cache needs */
    const char *tmp = getenv("VKLLM_TMP");
    char out[4096];
    snprintf(out, sizeof out, "%s/batch_seqs.%ld.gguf", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    const char *args[] = {"vkllm", "synth", out, "--arch", "llama", "--dim", "128", "--layers", "2",
                          "--heads", "4", "--kv-heads", "2", "--ffn", "256", "--vocab-size", "300",
                          "--type", "f16", "--seed", "3", "--threads", "2", NULL};
    test_proc_out o;
    int rc = test_run_cli((char *const *)args, &o);
    CHECKF(rc == 0, "synth: %s", o.err);
    test_proc_free(&o);
    if (rc == 0) check_model(out, "synth llama hd32", &rng, 1);
    unlink(out);
    return test_finish();
}
