/* gguf_fuzz.c — fuzz target for the GGUF reader. With -DVKLLM_LIBFUZZER it is
 * a libFuzzer target; otherwise main() replays a deterministic corpus of
 * mutations of small valid files (byte flips at every position, u64 fields
 * set to extreme values, random multi-byte edits, truncations) so the harness
 * runs as a plain test under ASan/UBSan. A successful open is followed by a
 * walk over every accessor. */
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "format/gguf.h"
#include "gguf_testwriter.h"
#include "testutil.h"

static uint64_t fuzz_sink; /* keeps the accessor walk from being optimised away */

static void walk(const gguf *g) {
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const char *key = gguf_key(g, i);
        fuzz_sink += strlen(key) + (uint64_t)gguf_find_key(g, key);
        gguf_value v;
        gguf_kv_value(g, i, &v);
        uint32_t u32;
        int64_t i64;
        float f;
        int b;
        const char *s;
        size_t len;
        gguf_vtype et;
        uint64_t n;
        if (gguf_get_u32(g, key, &u32) == VKLLM_OK) fuzz_sink += u32;
        if (gguf_get_i64(g, key, &i64) == VKLLM_OK) fuzz_sink += (uint64_t)i64;
        if (gguf_get_f32(g, key, &f) == VKLLM_OK) fuzz_sink += f == f;
        if (gguf_get_bool(g, key, &b) == VKLLM_OK) fuzz_sink += (uint64_t)b;
        if (gguf_get_str(g, key, &s, &len) == VKLLM_OK) fuzz_sink += len + (uint8_t)s[len];
        if (gguf_get_arr(g, key, &et, &n) == VKLLM_OK) {
            const uint8_t *d = gguf_arr_data(g, key);
            if (d && n) fuzz_sink += d[0];
            for (uint64_t j = 0; et == GGUF_VT_STRING && j <= n; j++) {
                s = gguf_kv_arr_str(g, i, j, &len);
                if (s && len) fuzz_sink += (uint8_t)s[0] + (uint8_t)s[len - 1];
            }
        }
    }
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (gguf_find_tensor(g, t->name) != t) abort();
        if (t->nbytes) {
            const uint8_t *d = t->data;
            fuzz_sink += d[0] + d[t->nbytes - 1];
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exactly-sized copy, so any over-read is caught by ASan. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    gguf *g = NULL;
    vkllm_status s = gguf_open_memory(copy, size, "fuzz", &g);
    if (s == VKLLM_OK) {
        walk(g);
        gguf_close(g);
    } else if (g != NULL || err_msg()[0] == 0) {
        abort(); /* a failure must leave no handle and say why */
    }
    free(copy);
    return 0;
}

#ifndef VKLLM_LIBFUZZER

/* A second seed: v2, alignment 16, arrays of every fixed type, empty strings. */
static void seed_v2(tw *w) {
    tw_header(w, 2, 2, 5);
    tw_key(w, "general.alignment", 4), tw_u32(w, 16);
    tw_key(w, "a.i8", 9), tw_u32(w, 1), tw_u64(w, 3), tw_u8(w, 1), tw_u8(w, 0x80), tw_u8(w, 0x7f);
    tw_key(w, "a.f64", 9), tw_u32(w, 12), tw_u64(w, 2), tw_f64(w, 1.5), tw_f64(w, -2.0);
    tw_key(w, "a.str", 9), tw_u32(w, 8), tw_u64(w, 2), tw_str(w, ""), tw_str(w, "xy");
    tw_key(w, "s", 8), tw_str(w, "hello");
    uint64_t ne_a[2] = {32, 1}, ne_b[1] = {4};
    tw_tensor(w, "t0", 2, ne_a, 2, 0);  /* q4_0, 18 bytes */
    tw_tensor(w, "t1", 1, ne_b, 30, 32); /* bf16, 8 bytes */
    tw_pad(w, 16);
    for (int i = 0; i < 40; i++) tw_u8(w, (uint8_t)i);
}

static int64_t n_ok, n_runs;

static void run(const uint8_t *d, size_t n) {
    gguf *g = NULL;
    if (gguf_open_memory(d, n, "probe", &g) == VKLLM_OK) {
        n_ok++;
        gguf_close(g);
    }
    LLVMFuzzerTestOneInput(d, n);
    n_runs++;
}

static void replay(const tw *seed, uint64_t rng) {
    uint8_t *m = malloc(seed->n);
    /* Single-byte flips at every position. */
    static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x10};
    for (size_t i = 0; i < seed->n; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(m, seed->b, seed->n);
            m[i] ^= masks[k];
            run(m, seed->n);
        }
    /* Extreme u64 values written at every offset (counts, lengths, dims, offsets). */
    static const uint64_t extremes[] = {0, 1, 0x7fffffffffffffffull, UINT64_MAX, 1ull << 32};
    for (size_t i = 0; i + 8 <= seed->n; i++)
        for (size_t k = 0; k < sizeof extremes / sizeof extremes[0]; k++) {
            memcpy(m, seed->b, seed->n);
            for (int j = 0; j < 8; j++) m[i + j] = (uint8_t)(extremes[k] >> (8 * j));
            run(m, seed->n);
        }
    /* Random multi-byte edits and truncations (fixed seed: deterministic). */
    for (int r = 0; r < 3000; r++) {
        memcpy(m, seed->b, seed->n);
        int edits = 1 + (int)(test_rng_u64(&rng) % 4);
        for (int e = 0; e < edits; e++) m[test_rng_u64(&rng) % seed->n] = (uint8_t)test_rng_u64(&rng);
        size_t len = r % 4 == 0 ? (size_t)(test_rng_u64(&rng) % seed->n) : seed->n;
        run(m, len);
    }
    free(m);
}

int main(void) {
    tw a = {0}, b = {0};
    tw_small_file(&a);
    seed_v2(&b);
    gguf *g = NULL;
    CHECKF(gguf_open_memory(a.b, a.n, "seed_a", &g) == VKLLM_OK, "%s", err_msg());
    gguf_close(g);
    g = NULL;
    CHECKF(gguf_open_memory(b.b, b.n, "seed_b", &g) == VKLLM_OK, "%s", err_msg());
    gguf_close(g);
    replay(&a, 0x9e3779b97f4a7c15ull);
    replay(&b, 0x2545f4914f6cdd1dull);
    /* Both outcomes must occur, or the corpus exercises nothing. */
    fprintf(stderr, "%lld runs, %lld opened\n", (long long)n_runs, (long long)n_ok);
    CHECK(n_ok > 0 && n_ok < n_runs);
    LLVMFuzzerTestOneInput(NULL, 0);
    tw_free(&a);
    tw_free(&b);
    return test_finish();
}

#endif
