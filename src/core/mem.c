/* mem.c — allocation wrappers with fault injection (see mem.h). */
#include "mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long mem_budget = -1;

static int mem_should_fail(void) {
    long b = atomic_load(&mem_budget);
    if (b < 0) return 0;
    if (b == 0) return 1;
    atomic_fetch_sub(&mem_budget, 1);
    return 0;
}

void mem_fail_after(long n) { atomic_store(&mem_budget, n); }

void *mem_alloc(size_t n) {
    if (mem_should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *mem_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    if (mem_should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t n) {
    if (mem_should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

int mem_grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 8;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return -1;
        nc *= 2;
    }
    if (elem && nc > SIZE_MAX / elem) return -1;
    void *np = mem_realloc(*p, nc * elem);
    if (!np) return -1;
    *p = np;
    *cap = nc;
    return 0;
}

char *mem_strndup(const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *d = mem_alloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *mem_strdup(const char *s) { return mem_strndup(s, strlen(s)); }

void mem_free(void *p) { free(p); }
