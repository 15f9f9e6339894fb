/* quant.h — block-quantized weight formats (layouts from the GGUF/ggml
 * specification), their dequantization and quantization.
 *
 * Block layouts (little-endian, packed; `d`, `m`, `dmin` are IEEE f16):
 *   Q8_0 (32 el, 34 B): f16 d; int8 qs[32]                   x = d*q
 *   Q4_0 (32 el, 18 B): f16 d; u8 qs[16]                     x = d*(q-8); element j<16 in low
 *                        nibble of qs[j], element j+16 in the high nibble of qs[j]
 *   Q4_1 (32 el, 20 B): f16 d, m; u8 qs[16]                  x = d*q + m (same nibble order)
 *   Q5_0 (32 el, 22 B): f16 d; u8 qh[4]; u8 qs[16]           5th bit of element j in bit j of qh
 *                                                            (u32 LE); x = d*(q-16)
 *   Q5_1 (32 el, 24 B): f16 d, m; u8 qh[4]; u8 qs[16]        x = d*q + m
 *   Q4_K (256 el, 144 B): f16 d, dmin; u8 scales[12]; u8 qs[128]   8 sub-blocks of 32,
 *                        6-bit scale/min pairs packed in scales; x = d*sc*q - dmin*m
 *   Q5_K (256 el, 176 B): f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
 *   Q6_K (256 el, 210 B): u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d   x = d*sc*(q-32)
 *
 * Rows are ne0 elements; ne0 must be a multiple of the block size (checked by
 * the loaders before any of these run). */
#ifndef VKLLM_QUANT_QUANT_H
#define VKLLM_QUANT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;
typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_k;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_k;

_Static_assert(sizeof(block_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(block_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(block_q4_k) == 144, "q4_k block");
_Static_assert(sizeof(block_q5_k) == 176, "q5_k block");
_Static_assert(sizeof(block_q6_k) == 210, "q6_k block");

/* Dequantizes n elements (a multiple of the block size) of type t from src to dst.
 * Handles F32, F16, BF16 and every quantized type above. Returns 0, or -1 for an
 * unsupported type or a bad n. */
int quant_dequantize_row(uint32_t t, const void *src, float *dst, int64_t n);

/* Quantizes n floats into type t (the reference, round-to-nearest quantizers
 * that match the published converter byte for byte for Q8_0/F16/BF16).
 * dst must hold dtype_row_bytes(t, n) bytes. Returns 0 or -1. */
int quant_quantize_row(uint32_t t, const float *src, void *dst, int64_t n);

/* Dot product of one weight row of type t (n elements) with f32 x.
 * The reference path: exact to float rounding of a dequantize-then-dot
 * (accumulated in double). Returns NaN for an unsupported type or a bad n. */
float quant_dot_f32(uint32_t t, const void *row, const float *x, int64_t n);

/* The type to store a row of ne0 elements in when t was asked for: t itself
 * when ne0 is a multiple of t's block size; otherwise a K-quant falls back to
 * the 32-element type of similar quality when ne0 % 32 == 0 (Q4_K -> Q5_0,
 * Q5_K -> Q5_1, Q6_K -> Q8_0), and anything else to F16. Returns -1 for an
 * unsupported t or ne0 <= 0. (Pure: sets no error message.) */
int quant_fallback_type(uint32_t t, int64_t ne0);

#endif
