/* dtype.h — tensor element types, numbered as in the GGUF/ggml specification,
 * with their block geometry, plus scalar f16/bf16 conversions.
 * A row of ne0 elements of type t occupies ne0 / block_size * type_size bytes;
 * ne0 must be a multiple of block_size. */
#ifndef VKLLM_CORE_DTYPE_H
#define VKLLM_CORE_DTYPE_H

#include <stdint.h>
#include <string.h>

typedef enum dtype {
    DTYPE_F32 = 0,
    DTYPE_F16 = 1,
    DTYPE_Q4_0 = 2,
    DTYPE_Q4_1 = 3,
    DTYPE_Q5_0 = 6,
    DTYPE_Q5_1 = 7,
    DTYPE_Q8_0 = 8,
    DTYPE_Q8_1 = 9,
    DTYPE_Q2_K = 10,
    DTYPE_Q3_K = 11,
    DTYPE_Q4_K = 12,
    DTYPE_Q5_K = 13,
    DTYPE_Q6_K = 14,
    DTYPE_Q8_K = 15,
    DTYPE_I8 = 24,
    DTYPE_I16 = 25,
    DTYPE_I32 = 26,
    DTYPE_I64 = 27,
    DTYPE_F64 = 28,
    DTYPE_BF16 = 30,
    DTYPE_COUNT_ = 40 /* ids are < this */
} dtype;

/* 1 when vkllm can compute with this type (weights). */
int dtype_supported(uint32_t t);
/* Name as GGUF tools print it ("q4_0", "f16"); "?" for unknown ids. */
const char *dtype_name(uint32_t t);
/* Parses a name (case-insensitive); returns -1 when unknown. */
int dtype_from_name(const char *name);
/* Elements per block and bytes per block; 0 for unknown/unsupported ids. */
uint32_t dtype_block_size(uint32_t t);
uint32_t dtype_type_size(uint32_t t);
/* Bytes of a row of n elements; 0 if n is not a multiple of the block size
 * or the type is unknown. */
uint64_t dtype_row_bytes(uint32_t t, uint64_t n);

static inline float dtype_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even, as numpy/torch do. */
static inline uint16_t dtype_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax >= 0x7F800000) return (uint16_t)(sign | 0x7C00 | (ax > 0x7F800000 ? 0x200 : 0));
    if (ax >= 0x477FF000) return (uint16_t)(sign | 0x7C00); /* overflow to inf */
    if (ax < 0x38800000) { /* subnormal or zero in f16 */
        if (ax < 0x33000000) return (uint16_t)sign;
        float af;
        memcpy(&af, &ax, 4);
        /* Exact RNE via float arithmetic: scale by 2^24 (f16 subnormal unit = 2^-24). */
        float scaled = af * 16777216.0f;
        uint32_t q = (uint32_t)scaled;
        float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xFFF + ((ax >> 13) & 1); /* round to nearest even at bit 13 */
    r -= 0x38000000;                            /* rebias 127 -> 15 */
    return (uint16_t)(sign | (r >> 13));
}

static inline float dtype_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t dtype_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((x >> 16) | 64); /* quiet NaN */
    return (uint16_t)((x + (0x7FFF + ((x >> 16) & 1))) >> 16);
}

#endif
