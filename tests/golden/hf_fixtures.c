/* hf_fixtures.c — the tiny random-weight models with real tokenizers against
 * Hugging Face transformers' float32 references: logits of the prompt ids from
 * the HF folders and from the published-converter GGUF files
 * (max|Δ| / max|ref| <= 1e-4 for F32/F16/BF16, <= 3e-2 for Q8_0, same argmax
 * where the reference top-1/top-2 margin allows), and greedy continuations
 * (teacher-forced on the reference ids: our argmax equals greedy_ids at every
 * step whose margin exceeds 1e-3, or 0.05 for Q8_0). */
#include <dlfcn.h>
#include <jansson.h>

#include "testutil.h"
#include "vkllm.h"

typedef struct fixture {
    const char *model;  /* relative to testdata/models */
    const char *folder; /* folder with reference.json */
    double tol, margin;
} fixture;

static const fixture fixtures[] = {
    {"tiny-llama2", "tiny-llama2", 1e-4, 1e-3},
    {"tiny-llama2-f16.gguf", "tiny-llama2", 1e-4, 1e-3},
    {"tiny-llama2-q8_0.gguf", "tiny-llama2", 3e-2, 0.05},
    {"tiny-llama3", "tiny-llama3", 1e-4, 1e-3},
    {"tiny-llama3-q8_0.gguf", "tiny-llama3", 3e-2, 0.05},
    {"tiny-qwen2", "tiny-qwen2", 1e-4, 1e-3},
    {"tiny-qwen2-q8_0.gguf", "tiny-qwen2", 3e-2, 0.05},
};

static int argmax_of(const float *v, int n, float *margin) {
    int a = 0, b = -1;
    for (int i = 1; i < n; i++)
        if (v[i] > v[a]) a = i;
    for (int i = 0; i < n; i++)
        if (i != a && (b < 0 || v[i] > v[b])) b = i;
    if (margin) *margin = v[a] - v[b];
    return a;
}

/* On Vulkan, lavapipe stays loaded so LeakSanitizer can name (and
 * tests/lsan.supp suppress) the allocations Mesa never frees. */
static void pin_lavapipe(void) {
    static void *pin;
    if (!pin) pin = dlopen("libvulkan_lvp.so", RTLD_LAZY);
}

static vkllm_backend_kind test_backend(void) {
    const char *b = getenv("VKLLM_TEST_BACKEND");
    return b && !strcmp(b, "vulkan") ? VKLLM_BACKEND_VULKAN : VKLLM_BACKEND_CPU;
}

static void check_fixture(const fixture *f) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", f->model);
    char *mpath = test_path(rel);
    snprintf(rel, sizeof rel, "models/%s/reference.json", f->folder);
    char *rpath = test_path(rel);
    snprintf(rel, sizeof rel, "models/%s/ref-logits.f32", f->folder);
    char *lpath = test_path(rel);
    json_error_t je;
    json_t *ref = json_load_file(rpath, 0, &je);
    size_t llen = 0;
    float *rl = test_read_file(lpath, &llen);
    CHECKF(ref && rl, "%s: reference files", f->model);
    vkllm_model_params mp = vkllm_model_default_params();
    mp.backend = test_backend();
    if (mp.backend == VKLLM_BACKEND_VULKAN) pin_lavapipe();
    const char *mb = getenv("VKLLM_TEST_MAX_BINDING_MB");
    if (mb) mp.max_binding_mb = atoi(mb);
    vkllm_model *m = NULL;
    vkllm_status s = vkllm_model_load(mpath, &mp, &m);
    CHECKF(s == VKLLM_OK, "%s: load: %s", f->model, vkllm_last_error());
    if (s != VKLLM_OK || !ref || !rl) goto out;
    vkllm_model_info info;
    vkllm_model_get_info(m, &info);
    json_t *jids = json_object_get(ref, "ids");
    size_t n = json_array_size(jids);
    int32_t ids[64];
    for (size_t i = 0; i < n && i < 64; i++) ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
    int V = (int)json_integer_value(json_array_get(json_object_get(ref, "logits_shape"), 1));
    size_t rows = (size_t)json_integer_value(json_array_get(json_object_get(ref, "logits_shape"), 0));
    CHECKF(V == info.n_vocab, "%s: vocab %d vs %d", f->model, info.n_vocab, V);
    CHECK(llen == rows * (size_t)V * 4);
    if (V != info.n_vocab) goto out;

    /* logits of the prompt */
    vkllm_session_params sp = vkllm_session_default_params();
    sp.sampling.temperature = 0;
    sp.n_ctx = 64;
    sp.kv_type = VKLLM_KV_F32; /* the references are float32 throughout */
    vkllm_session *ses = NULL;
    CHECK(vkllm_session_create(m, &sp, &ses) == VKLLM_OK);
    if (!ses) goto out;
    vkllm_session_set_logits_mode(ses, rows > 1 ? VKLLM_LOGITS_ALL : VKLLM_LOGITS_LAST);
    CHECKF(vkllm_session_eval(ses, ids, n) == VKLLM_OK, "%s: eval: %s", f->model, vkllm_last_error());
    size_t got_rows = 0;
    const float *lg = vkllm_session_logits(ses, &got_rows);
    CHECK(lg && got_rows == rows);
    if (lg && got_rows == rows) {
        double maxref = 0, maxd = 0;
        for (size_t i = 0; i < rows * (size_t)V; i++) {
            if (fabs(rl[i]) > maxref) maxref = fabs(rl[i]);
            if (fabs(lg[i] - rl[i]) > maxd) maxd = fabs(lg[i] - rl[i]);
        }
        fprintf(stderr, "%s: max|d|/max|ref| = %.3g\n", f->model, maxd / maxref);
        CHECKF(maxd / maxref <= f->tol, "%s: relative logit error %.3g > %.3g", f->model,
               maxd / maxref, f->tol);
        for (size_t r = 0; r < rows; r++) {
            float mref;
            int aref = argmax_of(rl + r * V, V, &mref);
            int agot = argmax_of(lg + r * V, V, NULL);
            if (mref > f->margin)
                CHECKF(aref == agot, "%s: row %zu argmax %d vs %d", f->model, r, agot, aref);
        }
    }
    /* greedy continuation, teacher-forced on the reference ids */
    json_t *gids = json_object_get(ref, "greedy_ids"), *gm = json_object_get(ref, "greedy_margins");
    CHECK(vkllm_session_truncate(ses, 0) == VKLLM_OK);
    vkllm_session_set_logits_mode(ses, VKLLM_LOGITS_LAST);
    CHECK(vkllm_session_eval(ses, ids, n) == VKLLM_OK);
    for (size_t i = 0; i < json_array_size(gids); i++) {
        int32_t want = (int32_t)json_integer_value(json_array_get(gids, i));
        double margin = json_number_value(json_array_get(gm, i));
        lg = vkllm_session_logits(ses, &got_rows);
        if (!lg) break;
        int got = argmax_of(lg, V, NULL);
        if (margin > f->margin)
            CHECKF(got == want, "%s: greedy step %zu: %d vs %d (margin %.4f)", f->model, i, got,
                   want, margin);
        if (vkllm_session_eval(ses, &want, 1) != VKLLM_OK) break;
    }
    vkllm_session_destroy(ses);
out:
    vkllm_model_destroy(m);
    json_decref(ref);
    free(rl);
    free(mpath);
    free(rpath);
    free(lpath);
}

int main(void) {
    if (!test_data_dir()) return 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) check_fixture(&fixtures[i]);
    return test_finish();
}
