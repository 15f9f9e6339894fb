/* ckmath.h — overflow-checked size arithmetic for parsers.
 * Each returns 1 on success (result stored) and 0 on overflow. */
#ifndef VKLLM_CORE_CKMATH_H
#define VKLLM_CORE_CKMATH_H

#include <stdint.h>

static inline int ckmath_add(uint64_t a, uint64_t b, uint64_t *r) {
    return !__builtin_add_overflow(a, b, r);
}
static inline int ckmath_mul(uint64_t a, uint64_t b, uint64_t *r) {
    return !__builtin_mul_overflow(a, b, r);
}
/* Rounds a up to a multiple of align (align > 0). */
static inline int ckmath_align(uint64_t a, uint64_t align, uint64_t *r) {
    uint64_t t;
    if (!ckmath_add(a, align - 1, &t)) return 0;
    *r = t - t % align;
    return 1;
}

#endif
