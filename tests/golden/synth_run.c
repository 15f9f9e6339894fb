/* synth_run.c — `vkllm synth`: small explicit shapes of every architecture and
 * target (plain types and the _M mixes) load back, `vkllm info` describes them
 * and `vkllm run -n 4` generates; the same seed gives the same bytes, another
 * seed other bytes; --vocab copies a real tokenizer (and its vocabulary size). */
#include "core/dtype.h"
#include "core/err.h"
#include "format/gguf.h"
#include "testproc.h"
#include "testutil.h"

static char path_a[4096], path_b[4096];

static int cli(const char **args, test_proc_out *o) {
    int rc = test_run_cli((char *const *)args, o);
    if (rc != 0) fprintf(stderr, "%s %s: rc %d\n%s%s", args[1], args[2], rc, o->out, o->err);
    return rc;
}

static void synth_and_run(const char *arch, const char *type, const char *seed, const char *out) {
    const char *args[] = {"vkllm", "synth", out, "--arch", arch, "--dim", "256", "--layers", "3",
                          "--heads", "4", "--kv-heads", "2", "--ffn", "512", "--vocab-size", "600",
                          "--type", type, "--seed", seed, "--threads", "2", NULL};
    test_proc_out o;
    CHECKF(cli(args, &o) == 0, "synth %s %s", arch, type);
    test_proc_free(&o);
    const char *info[] = {"vkllm", "info", out, NULL};
    CHECKF(cli(info, &o) == 0 && strstr(o.out, arch), "info %s %s", arch, type);
    test_proc_free(&o);
    const char *run[] = {"vkllm", "run", "-m", out, "-p", "hello world", "-n", "4", "--backend", "cpu",
                         "--threads", "1", "--ctx", "64", "--seed", "7", NULL};
    CHECKF(cli(run, &o) == 0, "run %s %s", arch, type);
    CHECKF(strstr(o.err, "generated 4 tok") != NULL, "run %s %s: %s", arch, type, o.err);
    test_proc_free(&o);
}

static void check_types(const char *path, const char *type) {
    gguf *g = NULL;
    CHECKF(gguf_open(path, &g) == VKLLM_OK, "%s", err_msg());
    if (!g) return;
    int want = dtype_from_name(type);
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (t->n_dims == 1) CHECKF(t->type == DTYPE_F32, "%s: 1-D %s is %s", type, t->name, dtype_name(t->type));
        else if (want >= 0) CHECKF(t->type == (uint32_t)want, "%s: %s is %s", type, t->name, dtype_name(t->type));
    }
    gguf_close(g);
}

int main(void) {
    const char *tmp = getenv("VKLLM_TMP");
    if (!tmp || !*tmp) tmp = "/tmp";
    snprintf(path_a, sizeof path_a, "%s/synth_a.%ld.gguf", tmp, (long)getpid());
    snprintf(path_b, sizeof path_b, "%s/synth_b.%ld.gguf", tmp, (long)getpid());
    static const char *archs[] = {"llama", "qwen2", "qwen3"};
    static const char *types[] = {"q4_0", "q8_0", "q4_k_m", "f16", "q5_k_m", "q6_k"};
    for (int a = 0; a < 3; a++)
        for (int t = a; t < 6; t += 3) {
            synth_and_run(archs[a], types[t], "5", path_a);
            check_types(path_a, types[t]);
        }
    /* determinism */
    synth_and_run("qwen2", "q4_1", "11", path_a);
    synth_and_run("qwen2", "q4_1", "11", path_b);
    size_t la, lb;
    char *fa = test_read_file(path_a, &la), *fb = test_read_file(path_b, &lb);
    CHECK(fa && fb && la == lb && !memcmp(fa, fb, la));
    free(fb);
    synth_and_run("qwen2", "q4_1", "12", path_b);
    fb = test_read_file(path_b, &lb);
    CHECK(fa && fb && la == lb && memcmp(fa, fb, la) != 0);
    free(fa);
    free(fb);
    /* a real vocabulary */
    char *voc = test_path("tokenizer/ggml-vocab-llama-spm.gguf");
    if (voc) {
        const char *args[] = {"vkllm", "synth", path_a, "--dim", "64", "--layers", "1", "--heads", "2",
                              "--ffn", "128", "--vocab", voc, "--type", "q8_0", NULL};
        test_proc_out o;
        CHECK(cli(args, &o) == 0);
        test_proc_free(&o);
        const char *info[] = {"vkllm", "info", path_a, NULL};
        CHECK(cli(info, &o) == 0 && strstr(o.out, "vocab 32000") && strstr(o.out, "32000 tokens"));
        test_proc_free(&o);
        free(voc);
    }
    unlink(path_a);
    unlink(path_b);
    return test_finish();
}
