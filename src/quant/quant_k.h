/* quant_k.h — the 256-element K-quant formats (Q4_K, Q5_K, Q6_K), internal to
 * src/quant: quant.c validates the type and length and dispatches here with a
 * block count. */
#ifndef VKLLM_QUANT_QUANT_K_H
#define VKLLM_QUANT_QUANT_K_H

#include <stdint.h>

/* nb blocks of QK_K elements: src holds nb blocks, dst nb * QK_K floats. */
void quant_k_dequantize_q4_k(const void *src, float *dst, int64_t nb);
void quant_k_dequantize_q5_k(const void *src, float *dst, int64_t nb);
void quant_k_dequantize_q6_k(const void *src, float *dst, int64_t nb);

/* nb * QK_K floats into nb blocks. */
void quant_k_quantize_q4_k(const float *src, void *dst, int64_t nb);
void quant_k_quantize_q5_k(const float *src, void *dst, int64_t nb);
void quant_k_quantize_q6_k(const float *src, void *dst, int64_t nb);

#endif
