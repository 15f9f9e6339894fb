/* convert_fixtures.c — `vkllm convert` and `vkllm quantize` on the HF fixtures,
 * through the CLI:
 *   - each fixture converted to f32 and f16 gives logits within 1e-4 (relative
 *     to max|ref|) of transformers' ref-logits.f32, same argmax where the
 *     reference margin allows; and equal (1e-6) to the logits of the HF folder
 *     itself, which isolates the converter from the engine;
 *   - tiny-llama2 converted to f16 has the tensor names, shapes, types and
 *     bytes of the published converter's tiny-llama2-f16.gguf (Q/K permuted);
 *     tiny-llama3 and tiny-qwen2 converted to q8_0 have the names, shapes and
 *     types of tiny-{llama3,qwen2}-q8_0.gguf, >= 99.9% of the Q8_0 blocks
 *     byte-identical, and logits within 3e-2;
 *   - the converted tokenizer encodes like the HF folder's (fixed and random texts);
 *   - quantize tiny-llama2-f16.gguf to q8_0: logits within 3e-2, >= 99.9% of
 *     the Q8_0 blocks byte-identical to tiny-llama2-q8_0.gguf;
 *   - written files load back and `vkllm info` describes them. */
#include <jansson.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "format/gguf.h"
#include "testproc.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

static const char *tmpdir(void) {
    const char *t = getenv("VKLLM_TMP");
    return t && *t ? t : "/tmp";
}

typedef struct ref {
    int32_t ids[64];
    size_t n_ids, rows;
    int V;
    float *logits;
} ref;

static int load_ref(const char *fixture, ref *r) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s/reference.json", fixture);
    char *rp = test_path(rel);
    snprintf(rel, sizeof rel, "models/%s/ref-logits.f32", fixture);
    char *lp = test_path(rel);
    json_error_t je;
    json_t *j = json_load_file(rp, 0, &je);
    size_t len = 0;
    r->logits = test_read_file(lp, &len);
    free(rp);
    free(lp);
    if (!j || !r->logits) {
        json_decref(j);
        return -1;
    }
    json_t *ids = json_object_get(j, "ids");
    r->n_ids = json_array_size(ids);
    for (size_t i = 0; i < r->n_ids && i < 64; i++) r->ids[i] = (int32_t)json_integer_value(json_array_get(ids, i));
    r->rows = (size_t)json_integer_value(json_array_get(json_object_get(j, "logits_shape"), 0));
    r->V = (int)json_integer_value(json_array_get(json_object_get(j, "logits_shape"), 1));
    json_decref(j);
    return len == r->rows * (size_t)r->V * 4 ? 0 : -1;
}

static int run_cli(const char **args, int show) {
    test_proc_out o;
    int rc = test_run_cli((char *const *)args, &o);
    if (rc != 0 || show) fprintf(stderr, "%s: rc %d\n%s%s", args[1], rc, o.out, o.err);
    test_proc_free(&o);
    return rc;
}

/* Logits of the reference ids through `vkllm logits`; malloc'd or NULL. */
static float *cli_logits(const char *model, const ref *r, size_t *n) {
    char ids[1024] = "", out[4200];
    for (size_t i = 0; i < r->n_ids; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%d", i ? "," : "", (int)r->ids[i]);
    snprintf(out, sizeof out, "%s/cf_logits.%ld.f32", tmpdir(), (long)getpid());
    const char *args[] = {"vkllm", "logits", "-m", model, "--ids", ids, "-o", out, "--backend", "cpu",
                          "--threads", "1", "--ctx", "64", "--kv-type", "f32", r->rows > 1 ? "--all" : NULL,
                          NULL};
    if (run_cli(args, 0) != 0) return NULL;
    float *l = test_read_file(out, n);
    unlink(out);
    *n /= 4;
    return l;
}

static int argmax_of(const float *v, int n, float *margin) {
    int a = 0, b = a == 0 ? 1 : 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[a]) a = i;
    for (int i = 0; i < n; i++)
        if (i != a && v[i] > v[b]) b = i;
    if (margin) *margin = v[a] - v[b];
    return a;
}

static double rel_err(const float *a, const float *b, size_t n) {
    double maxref = 0, maxd = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > maxref) maxref = fabs(b[i]);
        if (fabs(a[i] - b[i]) > maxd) maxd = fabs(a[i] - b[i]);
    }
    return maxref > 0 ? maxd / maxref : maxd;
}

static void check_logits(const char *what, const char *model, const ref *r, double tol) {
    size_t n = 0;
    float *l = cli_logits(model, r, &n);
    CHECKF(l && n == r->rows * (size_t)r->V, "%s: logits (%zu values)", what, n);
    if (!l || n != r->rows * (size_t)r->V) {
        free(l);
        return;
    }
    double e = rel_err(l, r->logits, n);
    fprintf(stderr, "%s: max|d|/max|ref| = %.3g\n", what, e);
    CHECKF(e <= tol, "%s: relative logit error %.3g > %.3g", what, e, tol);
    for (size_t row = 0; row < r->rows; row++) {
        float m;
        int want = argmax_of(r->logits + row * r->V, r->V, &m);
        if (m > 1e-3) CHECKF(argmax_of(l + row * r->V, r->V, NULL) == want, "%s: row %zu argmax", what, row);
    }
    free(l);
}

/* The converted file's logits equal the HF folder's through the same engine. */
static void check_same_as_folder(const char *what, const char *model, const char *folder, const ref *r) {
    size_t na = 0, nb = 0;
    float *a = cli_logits(model, r, &na), *b = cli_logits(folder, r, &nb);
    CHECKF(a && b && na == nb, "%s: logits", what);
    if (a && b && na == nb) {
        double e = rel_err(a, b, na);
        CHECKF(e <= 1e-6, "%s: differs from the HF folder by %.3g", what, e);
    }
    free(a);
    free(b);
}

static void check_tokenizer(const char *what, const char *gguf_path, const char *folder, uint64_t *rng) {
    gguf *g = NULL;
    tokenizer *tg = NULL, *th = NULL;
    CHECKF(gguf_open(gguf_path, &g) == VKLLM_OK, "%s: %s", what, err_msg());
    if (g) CHECKF(tokenizer_from_gguf(g, &tg) == VKLLM_OK, "%s: gguf tokenizer: %s", what, err_msg());
    CHECKF(tokenizer_from_hf(folder, &th) == VKLLM_OK, "%s: hf tokenizer: %s", what, err_msg());
    static const char *fixed[] = {"Hello world", " leading space", "Once upon a time, there was a little girl.",
                                  "numbers 1234567 and 3.14", "tabs\tand\nnewlines\n\n", "caf\xc3\xa9 na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd",
                                  "emoji \xf0\x9f\x98\x80!", "  multiple   spaces  ", "<s> not special", ""};
    static const char *alphabet[] = {"a", "b", "e", "th", "in", " ", "  ", "\n", "1", "9", ".", ",", "'s",
                                     "\xc3\xa9", "\xe4\xbd\xa0", "\xf0\x9f\x98\x80", "Z", "-", "the", "ing"};
    char text[512];
    for (int k = 0; tg && th && k < 60; k++) {
        const char *t = text;
        if (k < 10) {
            t = fixed[k];
        } else {
            text[0] = 0;
            int n = 1 + (int)(test_rng_u64(rng) % 30);
            for (int i = 0; i < n; i++) strcat(text, alphabet[test_rng_u64(rng) % 20]);
        }
        int32_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        vkllm_status sa = tokenizer_encode(tg, t, strlen(t), TOKENIZER_ADD_BOS, &a, &na);
        vkllm_status sb = tokenizer_encode(th, t, strlen(t), TOKENIZER_ADD_BOS, &b, &nb);
        CHECKF(sa == VKLLM_OK && sb == VKLLM_OK, "%s: encode '%s'", what, t);
        int same = sa == VKLLM_OK && sb == VKLLM_OK && na == nb && (na == 0 || !memcmp(a, b, na * 4));
        CHECKF(same, "%s: '%s' encodes differently (%zu vs %zu ids)", what, t, na, nb);
        mem_free(a);
        mem_free(b);
    }
    tokenizer_free(tg);
    tokenizer_free(th);
    gguf_close(g);
}

/* Same names, shapes, types; identical bytes for f16 tensors. Returns the Q8_0
 * block agreement when both hold Q8_0 tensors. */
static double compare_gguf(const char *what, const char *ours, const char *theirs) {
    gguf *a = NULL, *b = NULL;
    CHECKF(gguf_open(ours, &a) == VKLLM_OK, "%s: %s", what, err_msg());
    CHECKF(gguf_open(theirs, &b) == VKLLM_OK, "%s: %s", what, err_msg());
    uint64_t blocks = 0, same = 0;
    if (a && b) {
        CHECKF(gguf_n_tensors(a) == gguf_n_tensors(b), "%s: %lld vs %lld tensors", what,
               (long long)gguf_n_tensors(a), (long long)gguf_n_tensors(b));
        for (int64_t i = 0; i < gguf_n_tensors(b); i++) {
            const gguf_tensor *tb = gguf_tensor_at(b, i), *ta = gguf_find_tensor(a, tb->name);
            CHECKF(ta != NULL, "%s: tensor '%s' missing", what, tb->name);
            if (!ta) continue;
            CHECKF(ta->n_dims == tb->n_dims && !memcmp(ta->ne, tb->ne, sizeof ta->ne), "%s: '%s' shape", what, tb->name);
            CHECKF(ta->type == tb->type, "%s: '%s' type %s vs %s", what, tb->name, dtype_name(ta->type), dtype_name(tb->type));
            if (ta->type != tb->type || ta->nbytes != tb->nbytes) continue;
            if (tb->type == DTYPE_F16 || tb->type == DTYPE_F32)
                CHECKF(!memcmp(ta->data, tb->data, ta->nbytes), "%s: '%s' bytes differ", what, tb->name);
            if (tb->type == DTYPE_Q8_0)
                for (uint64_t k = 0; k < tb->nbytes / 34; k++) {
                    blocks++;
                    same += !memcmp((const uint8_t *)ta->data + k * 34, (const uint8_t *)tb->data + k * 34, 34);
                }
        }
    }
    gguf_close(a);
    gguf_close(b);
    return blocks ? (double)same / (double)blocks : -1;
}

static void check_info(const char *model) {
    const char *args[] = {"vkllm", "info", model, NULL};
    test_proc_out o;
    int rc = test_run_cli((char *const *)args, &o);
    CHECKF(rc == 0 && strstr(o.out, "architecture:") && strstr(o.out, "tokenizer:"), "info %s: %s", model, o.err);
    test_proc_free(&o);
}

int main(void) {
    if (!test_data_dir()) return 0;
    uint64_t rng = test_seed() | 1;
    static const char *fixtures[] = {"tiny-llama2", "tiny-llama3", "tiny-qwen2"};
    char out[4200], folder[4200];
    for (int f = 0; f < 3; f++) {
        ref r;
        memset(&r, 0, sizeof r);
        CHECKF(load_ref(fixtures[f], &r) == 0, "%s: reference", fixtures[f]);
        snprintf(folder, sizeof folder, "%s/models/%s", test_data_dir(), fixtures[f]);
        for (int k = 0; k < 2 && r.logits; k++) {
            const char *type = k ? "f16" : "f32";
            snprintf(out, sizeof out, "%s/cf_%s_%s.%ld.gguf", tmpdir(), fixtures[f], type, (long)getpid());
            const char *args[] = {"vkllm", "convert", folder, out, "--type", type, NULL};
            char what[128];
            snprintf(what, sizeof what, "%s %s", fixtures[f], type);
            CHECKF(run_cli(args, 0) == 0, "%s: convert", what);
            check_logits(what, out, &r, 1e-4);
            check_same_as_folder(what, out, folder, &r);
            check_info(out);
            if (k == 1) check_tokenizer(what, out, folder, &rng);
            if (f == 0 && k == 1) {
                char *pub = test_path("models/tiny-llama2-f16.gguf");
                compare_gguf("tiny-llama2 f16 vs published", out, pub);
                free(pub);
            }
            unlink(out);
        }
        if (f > 0 && r.logits) { /* published q8_0 files exist for tiny-llama3 and tiny-qwen2 */
            snprintf(out, sizeof out, "%s/cf_%s_q8_0.%ld.gguf", tmpdir(), fixtures[f], (long)getpid());
            const char *args[] = {"vkllm", "convert", folder, out, "--type", "q8_0", NULL};
            char what[128], rel[128];
            snprintf(what, sizeof what, "%s convert q8_0", fixtures[f]);
            CHECKF(run_cli(args, 0) == 0, "%s", what);
            check_logits(what, out, &r, 3e-2);
            snprintf(rel, sizeof rel, "models/%s-q8_0.gguf", fixtures[f]);
            char *pub = test_path(rel);
            double agree = compare_gguf(what, out, pub);
            fprintf(stderr, "%s: q8_0 blocks identical to the published file: %.4f\n", what, agree);
            CHECKF(agree >= 0.999, "%s: q8_0 blocks identical %.4f < 0.999", what, agree);
            free(pub);
            unlink(out);
        }
        free(r.logits);
    }

    /* quantize the published f16 file to q8_0 */
    ref r;
    memset(&r, 0, sizeof r);
    CHECK(load_ref("tiny-llama2", &r) == 0);
    char *f16 = test_path("models/tiny-llama2-f16.gguf"), *q8 = test_path("models/tiny-llama2-q8_0.gguf");
    snprintf(out, sizeof out, "%s/cf_q8.%ld.gguf", tmpdir(), (long)getpid());
    const char *args[] = {"vkllm", "quantize", f16, out, "q8_0", NULL};
    CHECK(run_cli(args, 0) == 0);
    if (r.logits) check_logits("tiny-llama2 quantize q8_0", out, &r, 3e-2);
    double agree = compare_gguf("tiny-llama2 q8_0 vs published", out, q8);
    fprintf(stderr, "q8_0 blocks identical: %.4f\n", agree);
    CHECKF(agree >= 0.999, "q8_0 blocks identical %.4f < 0.999", agree);
    check_info(out);
    unlink(out);
    free(r.logits);
    free(f16);
    free(q8);
    return test_finish();
}
