/* stories260k.c — the real trained stories260K (llama2.c) against run.c's
 * goldens: every greedy run's continuation printed by `vkllm run` exactly,
 * the per-step top-5 of the first 64 steps and the full logits at steps
 * 0, 1, 2, 63 within 1e-4. Backend from VKLLM_TEST_BACKEND (default cpu);
 * VKLLM_TEST_MAX_BINDING_MB forces row sharding on Vulkan. */
#include <dlfcn.h>
#include <jansson.h>

#include "testproc.h"
#include "testutil.h"
#include "vkllm.h"

/* On Vulkan, lavapipe stays loaded so LeakSanitizer can name (and
 * tests/lsan.supp suppress) the allocations Mesa never frees. */
static void pin_lavapipe(void) {
    static void *pin;
    if (!pin) pin = dlopen("libvulkan_lvp.so", RTLD_LAZY);
}

static const char *backend_name(void) {
    const char *b = getenv("VKLLM_TEST_BACKEND");
    return b && *b ? b : "cpu";
}

static void check_greedy_runs(json_t *golden, const char *bin, const char *tok) {
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(golden, "runs"), i, run) {
        const char *kind = json_string_value(json_object_get(run, "kind"));
        if (!kind || strcmp(kind, "greedy")) continue;
        const char *name = json_string_value(json_object_get(run, "name"));
        const char *prompt = json_string_value(json_object_get(run, "prompt"));
        const char *want = json_string_value(json_object_get(run, "continuation_text"));
        long n = (long)json_integer_value(json_object_get(run, "n_generated_tokens"));
        char nbuf[32];
        snprintf(nbuf, sizeof nbuf, "%ld", n);
        const char *mb = getenv("VKLLM_TEST_MAX_BINDING_MB");
        char *argv[] = {"vkllm", "run", "-m", (char *)bin, "--tokenizer", (char *)tok, "-p",
                        (char *)prompt, "-n", nbuf, "--temp", "0", "--quiet", "--backend",
                        (char *)backend_name(), mb ? "--max-binding-mb" : NULL, (char *)mb, NULL};
        test_proc_out r;
        /* the CLI process unloads the Vulkan driver before LeakSanitizer reports, so
         * Mesa's leaks can't be told from ours there: leak checks of the Vulkan
         * path run in-process (check_trace, tests/backend) */
        if (!strcmp(backend_name(), "vulkan")) setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
        test_run_cli(argv, &r);
        CHECKF(r.code == 0, "%s: exit %d: %s", name, r.code, r.err);
        CHECKF(r.out_len == strlen(want) && !memcmp(r.out, want, r.out_len),
               "%s: output differs\n--- got ---\n%s\n--- want ---\n%s", name, r.out, want);
        test_proc_free(&r);
    }
}

static void check_trace(json_t *golden, const char *bin, const char *tok, const char *logits_path) {
    vkllm_model_params mp = vkllm_model_default_params();
    mp.tokenizer_path = tok;
    mp.backend = strcmp(backend_name(), "vulkan") ? VKLLM_BACKEND_CPU : VKLLM_BACKEND_VULKAN;
    if (mp.backend == VKLLM_BACKEND_VULKAN) pin_lavapipe();
    const char *mb = getenv("VKLLM_TEST_MAX_BINDING_MB");
    if (mb) mp.max_binding_mb = atoi(mb);
    vkllm_model *m = NULL;
    vkllm_status s = vkllm_model_load(bin, &mp, &m);
    CHECKF(s == VKLLM_OK, "load: %s", vkllm_last_error());
    if (s != VKLLM_OK) return;
    vkllm_session_params sp = vkllm_session_default_params();
    sp.sampling.temperature = 0;
    sp.kv_type = VKLLM_KV_F32; /* the references are float32 throughout */
    vkllm_session *ses = NULL;
    CHECK(vkllm_session_create(m, &sp, &ses) == VKLLM_OK);
    vkllm_session_set_logits_mode(ses, VKLLM_LOGITS_LAST);
    size_t flen = 0;
    float *ref = test_read_file(logits_path, &flen);
    CHECK(ref && flen == 4 * 512 * sizeof(float));
    json_t *steps = json_object_get(json_object_get(golden, "trace_once_upon_a_time_greedy"), "steps");
    CHECK(json_array_size(steps) == 64);
    size_t i;
    json_t *st;
    int full_idx = 0;
    double worst = 0;
    json_array_foreach(steps, i, st) {
        int32_t fed = (int32_t)json_integer_value(json_object_get(st, "token_fed"));
        CHECK(vkllm_session_eval(ses, &fed, 1) == VKLLM_OK);
        size_t rows;
        const float *lg = vkllm_session_logits(ses, &rows);
        CHECK(lg && rows == 1);
        if (!lg) break;
        int am = 0;
        for (int k = 1; k < 512; k++)
            if (lg[k] > lg[am]) am = k;
        CHECKF(am == json_integer_value(json_object_get(st, "argmax")), "step %zu argmax %d", i, am);
        size_t j;
        json_t *pair;
        json_array_foreach(json_object_get(st, "top5"), j, pair) {
            int id = (int)json_integer_value(json_array_get(pair, 0));
            double want = json_number_value(json_array_get(pair, 1));
            double d = fabs(lg[id] - want);
            if (d > worst) worst = d;
            CHECKF(d <= 1e-4, "step %zu id %d: %.7f vs %.7f", i, id, lg[id], want);
        }
        if (ref && (i == 0 || i == 1 || i == 2 || i == 63)) {
            for (int k = 0; k < 512; k++) {
                double d = fabs(lg[k] - ref[full_idx * 512 + k]);
                if (d > worst) worst = d;
                CHECKF(d <= 1e-4, "full logits step %zu id %d: %.7f vs %.7f", i, k, lg[k],
                       ref[full_idx * 512 + k]);
            }
            full_idx++;
        }
    }
    fprintf(stderr, "stories260K trace: max |delta| %.3g\n", worst);
    free(ref);
    vkllm_session_destroy(ses);
    vkllm_model_destroy(m);
}

int main(void) {
    char *gpath = test_path("models/stories260K/golden.json");
    if (!gpath) return 0;
    char *bin = test_path("models/stories260K/stories260K.bin");
    char *tok = test_path("models/stories260K/tok512.bin");
    char *lpath = test_path("models/stories260K/logits-once-upon-steps-0-1-2-63.f32");
    json_error_t je;
    json_t *golden = json_load_file(gpath, 0, &je);
    CHECK(golden != NULL);
    if (golden) {
        check_greedy_runs(golden, bin, tok);
        check_trace(golden, bin, tok, lpath);
        json_decref(golden);
    }
    free(gpath);
    free(bin);
    free(tok);
    free(lpath);
    return test_finish();
}
