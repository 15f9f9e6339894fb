/* mem.h — the project's allocation wrappers.
 * All heap memory goes through these so tests can inject failures: after
 * mem_fail_after(n), the (n+1)-th allocation returns NULL. Callers must treat
 * NULL as VKLLM_ERR_NOMEM. mem_free(NULL) is a no-op. */
#ifndef VKLLM_CORE_MEM_H
#define VKLLM_CORE_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size); /* overflow-checked */
void *mem_realloc(void *p, size_t n);
/* Grows an array to hold at least `need` elements of `elem` bytes (doubling);
 * returns 0 on success, -1 on overflow or allocation failure (*p unchanged). */
int mem_grow(void **p, size_t *cap, size_t need, size_t elem);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
void mem_free(void *p);

/* Fault injection for tests: -1 disables. */
void mem_fail_after(long n);

#endif
