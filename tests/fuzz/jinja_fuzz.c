/* jinja_fuzz.c — fuzz target for the Jinja engine (compile + render over a
 * fixed chat context). With -DVKLLM_LIBFUZZER it is a libFuzzer target;
 * otherwise main() replays mutations of the real chat templates in
 * $VKLLM_TESTDATA/templates (truncations, byte edits biased to template
 * syntax, spliced fragments), deterministic plus fresh random ones per run,
 * so the harness runs as a plain test under ASan/UBSan. Any status is
 * acceptable; crashes, leaks and sanitizer reports are not. */
#include <dirent.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/jinja.h"
#include "core/mem.h"
#include "testutil.h"

static json_t *fuzz_ctx;

static void fuzz_init(void) {
    if (fuzz_ctx) return;
    fuzz_ctx =
        json_loads("{\"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, {\"role\": "
                   "\"user\", \"content\": \"hi <t>\"},"
                   " {\"role\": \"assistant\", \"content\": \"<think>a</think>b\", \"tool_calls\": "
                   "[{\"type\": \"function\","
                   " \"function\": {\"name\": \"f\", \"arguments\": {\"x\": [1, 2.5, null, "
                   "true]}}, \"id\": \"abcdefghi\"}]},"
                   " {\"role\": \"tool\", \"content\": \"r\", \"tool_call_id\": \"abcdefghi\"}],"
                   " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": "
                   "\"</s>\", \"tools\": null}",
                   0, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    char *copy = malloc(size ? size : 1); /* exactly sized: over-reads hit ASan */
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    char *out = NULL;
    size_t n = 0;
    vkllm_status s = jinja_render(copy, size, fuzz_ctx, &out, &n);
    if (s == VKLLM_OK && (!out || strlen(out) > n)) abort();
    if (s != VKLLM_OK && (out || !*vkllm_last_error())) abort();
    mem_free(out);
    free(copy);
    return 0;
}

#ifndef VKLLM_LIBFUZZER
static const char syntax[] = "{}%#-+|()[]'\"., :=~*/\n ";
static const char *const fragments[] = {
    "{% for x in messages %}",
    "{% endfor %}",
    "{% if x %}",
    "{% else %}",
    "{% endif %}",
    "{{ loop.index }}",
    "{% set ns = namespace(a=1) %}",
    "{{ x | tojson(indent=2) }}",
    "{% macro m(a) %}{{ m(a) }}{% endmacro %}",
    "{{ m(1) }}",
    "{{ 'x' * 99 }}",
    "{{ range(9) | list }}",
    "{% break %}",
    "{{ messages[::-1] }}",
    "{# c #}",
    "{%- raw -%}{{{%- endraw %}",
    "{{ (((1))) }}",
    "{{ none.x }}",
    "{{ raise_exception('e') }}",
};

static void run(const char *s, size_t n) { LLVMFuzzerTestOneInput((const uint8_t *)s, n); }

static void mutate_all(const char *src, size_t len, uint64_t *rng, int random_rounds) {
    char *buf = malloc(len + 256);
    if (!buf) return;
    /* truncations */
    for (size_t cut = 0; cut < len; cut += 1 + len / 64)
        run(src, cut);
    for (int round = 0; round < random_rounds; round++) {
        memcpy(buf, src, len);
        size_t n = len;
        int edits = 1 + (int)(test_rng_u64(rng) % 4);
        for (int e = 0; e < edits && n; e++) {
            size_t at = test_rng_u64(rng) % n;
            uint64_t kind = test_rng_u64(rng) % 4;
            if (kind == 0)
                buf[at] = syntax[test_rng_u64(rng) % (sizeof syntax - 1)];
            else if (kind == 1)
                buf[at] = (char)(test_rng_u64(rng) & 0xFF);
            else if (kind == 2) { /* delete a span */
                size_t k = 1 + test_rng_u64(rng) % 8;
                if (k > n - at) k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
            } else { /* splice a fragment */
                const char *f =
                    fragments[test_rng_u64(rng) % (sizeof fragments / sizeof *fragments)];
                size_t k = strlen(f);
                if (n + k > len + 255) continue;
                memmove(buf + at + k, buf + at, n - at);
                memcpy(buf + at, f, k);
                n += k;
            }
        }
        run(buf, n);
    }
    free(buf);
}

int main(void) {
    char *dir = test_path("templates");
    if (!dir) return test_finish();
    uint64_t fixed = 0x9E3779B97F4A7C15ull, fresh = test_seed() | 1;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n_files = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        size_t nl = strlen(ent->d_name);
        if (nl < 6 || strcmp(ent->d_name + nl - 6, ".jinja")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        size_t len;
        char *src = test_read_file(path, &len);
        CHECK(src != NULL);
        if (!src) continue;
        run(src, len);
        mutate_all(src, len, &fixed, 600);
        mutate_all(src, len, &fresh, 400);
        free(src);
        n_files++;
    }
    if (d) closedir(d);
    for (size_t i = 0; i < sizeof fragments / sizeof *fragments; i++)
        run(fragments[i], strlen(fragments[i]));
    CHECK(n_files >= 10);
    fprintf(stderr, "%d templates mutated\n", n_files);
    json_decref(fuzz_ctx);
    free(dir);
    return test_finish();
}
#endif
