/* tools_bad.c — quantize/convert/synth refuse bad requests with one clear line
 * and never leave a partial output: unknown types and shapes, an unwritable
 * output folder, missing input, and write failures injected at many byte
 * positions (VKLLM_FAULT_WRITE_AFTER simulates ENOSPC) leave neither OUT nor
 * its temporary file. */
#include <dirent.h>

#include "testproc.h"
#include "testutil.h"

static char dir[4096], out[4200];

static int leftovers(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static void expect_fail(const char **args, const char *needle) {
    test_proc_out o;
    int rc = test_run_cli((char *const *)args, &o);
    CHECKF(rc != 0 && rc < 128, "%s: rc %d", args[1], rc);
    CHECKF(strstr(o.err, needle) != NULL, "%s: stderr lacks '%s': %s", args[1], needle, o.err);
    CHECKF(leftovers() == 0, "%s: files left in %s", args[1], dir);
    test_proc_free(&o);
}

int main(void) {
    if (!test_data_dir()) return 0;
    uint64_t rng = test_seed() | 1;
    const char *tmp = getenv("VKLLM_TMP");
    snprintf(dir, sizeof dir, "%s/tools_bad.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    mkdir(dir, 0755);
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    char *f16 = test_path("models/tiny-llama2-f16.gguf"), *hf = test_path("models/tiny-llama2");

    const char *q1[] = {"vkllm", "quantize", f16, out, "q3_x", NULL};
    expect_fail(q1, "unknown type 'q3_x'");
    const char *c1[] = {"vkllm", "convert", hf, out, "--type", "int4", NULL};
    expect_fail(c1, "unknown type 'int4'");
    const char *s1[] = {"vkllm", "synth", out, "--shape", "gpt-5", NULL};
    expect_fail(s1, "unknown shape 'gpt-5'");
    const char *s2[] = {"vkllm", "synth", out, "--dim", "100", "--layers", "1", "--heads", "3",
                        "--ffn", "64", "--vocab-size", "300", NULL};
    expect_fail(s2, "head size");
    const char *s3[] = {"vkllm", "synth", out, "--dim", "64", "--layers", "1", "--heads", "2",
                        "--ffn", "64", "--vocab-size", "100", NULL};
    expect_fail(s3, "too small");
    const char *q2[] = {"vkllm", "quantize", "/nonexistent/in.gguf", out, "q8_0", NULL};
    expect_fail(q2, "/nonexistent/in.gguf");
    const char *q3[] = {"vkllm", "quantize", f16, "/nonexistent-dir/out.gguf", "q8_0", NULL};
    expect_fail(q3, "/nonexistent-dir/out.gguf");
    const char *c2[] = {"vkllm", "convert", f16, out, NULL};
    expect_fail(c2, "not a Hugging Face folder");

    /* injected write failures: each command first runs cleanly to learn its
     * output size S, then fails at 0, 1, 100, S/2, S-1 and a random point < S */
    const char *q[] = {"vkllm", "quantize", f16, out, "q4_k_m", NULL};
    const char *c[] = {"vkllm", "convert", hf, out, "--type", "q8_0", NULL};
    const char *sy[] = {"vkllm", "synth", out, "--shape", "stories15m", "--type", "q4_0", NULL};
    const char **cmds[] = {q, c, sy};
    for (int k = 0; k < 3; k++) {
        test_proc_out o;
        CHECKF(test_run_cli((char *const *)cmds[k], &o) == 0, "%s: %s", cmds[k][1], o.err);
        test_proc_free(&o);
        struct stat st;
        uint64_t size = stat(out, &st) == 0 ? (uint64_t)st.st_size : 0;
        CHECK(size > 1000 && leftovers() == 1);
        unlink(out);
        uint64_t points[6] = {0, 1, 100, size / 2, size - 1, test_rng_u64(&rng) % size};
        for (int i = 0; i < 6 && size > 1000; i++) {
            char v[32];
            snprintf(v, sizeof v, "%llu", (unsigned long long)points[i]);
            setenv("VKLLM_FAULT_WRITE_AFTER", v, 1);
            expect_fail(cmds[k], "No space left on device");
            expect_fail(cmds[k], out); /* the message names the file */
        }
        unsetenv("VKLLM_FAULT_WRITE_AFTER");
    }
    unlink(out);
    rmdir(dir);
    free(f16);
    free(hf);
    return test_finish();
}
