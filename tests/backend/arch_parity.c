/* arch_parity.c — every architecture (llama, qwen2 with q/k/v bias, qwen3 with
 * q/k norm and an explicit head_dim) end to end: a small random model made by
 * `vkllm synth` gives the same logits on the Vulkan backend as on the CPU
 * (max|Δ|/max|cpu| <= 1e-3 for f32/f16 weights), and on the CPU a prompt
 * evaluated in one batch equals the same prompt fed token by token (<= 1e-4). */
#include <dlfcn.h>

#include "testproc.h"
#include "testutil.h"
#include "vkllm.h"

#define N_TOK 20
#define VOCAB 1000

static float *eval_all(const char *path, vkllm_backend_kind be, const int32_t *ids, int one_by_one) {
    vkllm_model_params mp = vkllm_model_default_params();
    mp.backend = be;
    vkllm_model *m = NULL;
    if (vkllm_model_load(path, &mp, &m) != VKLLM_OK) {
        fprintf(stderr, "load %s: %s\n", path, vkllm_last_error());
        return NULL;
    }
    vkllm_session_params sp = vkllm_session_default_params();
    sp.n_ctx = 64;
    sp.sampling.temperature = 0;
    vkllm_session *s = NULL;
    float *out = calloc((size_t)N_TOK * VOCAB, sizeof(float));
    if (vkllm_session_create(m, &sp, &s) == VKLLM_OK) {
        if (one_by_one) {
            vkllm_session_set_logits_mode(s, VKLLM_LOGITS_LAST);
            for (int i = 0; i < N_TOK; i++) {
                size_t rows;
                CHECK(vkllm_session_eval(s, ids + i, 1) == VKLLM_OK);
                const float *lg = vkllm_session_logits(s, &rows);
                if (lg) memcpy(out + (size_t)i * VOCAB, lg, VOCAB * sizeof(float));
            }
        } else {
            vkllm_session_set_logits_mode(s, VKLLM_LOGITS_ALL);
            size_t rows = 0;
            CHECK(vkllm_session_eval(s, ids, N_TOK) == VKLLM_OK);
            const float *lg = vkllm_session_logits(s, &rows);
            CHECK(lg && rows == N_TOK);
            if (lg) memcpy(out, lg, (size_t)N_TOK * VOCAB * sizeof(float));
        }
    }
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    return out;
}

static double rel_err(const float *a, const float *ref) {
    double mx = 0, md = 0;
    for (size_t i = 0; i < (size_t)N_TOK * VOCAB; i++) {
        if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
        if (!(fabs(a[i] - ref[i]) <= md)) md = fabs(a[i] - ref[i]); /* NaN counts */
    }
    return mx > 0 ? md / mx : INFINITY;
}

int main(void) {
    static void *pin;
    pin = dlopen("libvulkan_lvp.so", RTLD_LAZY); /* see tests/backend/vk_harness.h */
    (void)pin;
    uint64_t rng = test_seed();
    const char *tmp = getenv("VKLLM_TMP") ? getenv("VKLLM_TMP") : "/tmp";
    const char *archs[] = {"llama", "qwen2", "qwen3"};
    const char *types[] = {"f32", "f16"};
    int32_t ids[N_TOK];
    for (int i = 0; i < N_TOK; i++) ids[i] = (int32_t)(test_rng_u64(&rng) % VOCAB);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)(test_rng_u64(&rng) % 100000));
    for (int a = 0; a < 3; a++)
        for (int t = 0; t < 2; t++) {
            char path[512];
            snprintf(path, sizeof path, "%s/parity-%s-%s.gguf", tmp, archs[a], types[t]);
            char *argv[] = {"vkllm", "synth", path, "--dim", "128", "--layers", "2", "--heads", "4",
                            "--kv-heads", "2", "--ffn", "320", "--vocab-size", "1000", "--arch",
                            (char *)archs[a], "--head-dim", a == 2 ? "48" : "32", "--type",
                            (char *)types[t], "--seed", seed, NULL};
            test_proc_out r;
            test_run_cli(argv, &r);
            CHECKF(r.code == 0, "synth %s %s: %s", archs[a], types[t], r.err);
            test_proc_free(&r);
            float *cpu = eval_all(path, VKLLM_BACKEND_CPU, ids, 0);
            float *cpu1 = eval_all(path, VKLLM_BACKEND_CPU, ids, 1);
            float *vk = eval_all(path, VKLLM_BACKEND_VULKAN, ids, 0);
            CHECK(cpu && cpu1);
            if (cpu && cpu1) {
                double e = rel_err(cpu1, cpu);
                fprintf(stderr, "%s %s: cpu batch vs one-by-one %.3g\n", archs[a], types[t], e);
                CHECKF(e <= 1e-4, "%s %s: batched vs token-by-token %.3g", archs[a], types[t], e);
            }
            if (cpu && vk) {
                double e = rel_err(vk, cpu);
                fprintf(stderr, "%s %s: vulkan vs cpu %.3g\n", archs[a], types[t], e);
                CHECKF(e <= 1e-3, "%s %s: vulkan vs cpu %.3g", archs[a], types[t], e);
            } else if (getenv("CI")) {
                CHECKF(vk != NULL, "CI: the Vulkan backend (lavapipe) must be available");
            } else {
                fprintf(stderr, "*** SKIP Vulkan comparison: no Vulkan device ***\n");
            }
            free(cpu);
            free(cpu1);
            free(vk);
            remove(path);
        }
    return test_finish();
}
