/* testutil.h — shared test helpers: assertions that count failures, the test
 * data folder, fresh random inputs. Each test is a main() that returns
 * test_finish(). A test that needs ../shared/testdata and finds it absent
 * prints a loud SKIP and fails when CI=true (CI must have the data). */
#ifndef VKLLM_TESTUTIL_H
#define VKLLM_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int test_failures, test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int test_finish(void) {
    fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* Path of the test data folder, or NULL (after a loud message) when absent. */
static inline const char *test_data_dir(void) {
    const char *d = getenv("VKLLM_TESTDATA");
    if (!d || !*d) d = "../shared/testdata";
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "\n*** SKIP: test data folder '%s' is absent ***\n\n", d);
        if (getenv("CI")) {
            fprintf(stderr, "*** CI=true: the test data must be present; failing ***\n");
            exit(1);
        }
        return NULL;
    }
    return d;
}

static inline char *test_path(const char *rel) {
    const char *d = test_data_dir();
    if (!d) return NULL;
    size_t n = strlen(d) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", d, rel);
    return p;
}

/* Fresh seed per run (printed so a failure can be reproduced with VKLLM_SEED). */
static inline uint64_t test_seed(void) {
    const char *s = getenv("VKLLM_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    fprintf(stderr, "seed %llu (set VKLLM_SEED to repeat)\n", (unsigned long long)seed);
    return seed;
}

static inline uint64_t test_rng_u64(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi). */
static inline float test_rng_f32(uint64_t *s, float lo, float hi) {
    return lo + (hi - lo) * (float)(test_rng_u64(s) >> 40) / 16777216.0f;
}

static inline void *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

#endif
