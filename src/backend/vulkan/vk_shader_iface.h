/* vk_shader_iface.h — constants shared by the C side and the GLSL shaders
 * (included by both, so only #defines): workgroup sizes, the binding slots of
 * the one descriptor-set layout every pipeline uses, and the matmul tile.
 * Push-constant structs are declared on each side and checked by size in
 * vk_ops.c (_Static_assert) against the VK_PC_* sizes below. */
#ifndef VK_SHADER_IFACE_H
#define VK_SHADER_IFACE_H

/* Threads per workgroup of every kernel (a multiple of every subgroup size
 * in use: 8 on lavapipe, 32 on NVIDIA, 32/64 on AMD). */
#define VK_WG 64

/* Descriptor set 0: up to ten storage buffers (VK_NBIND; eight on devices
 * that allow fewer per shader, VK_NBIND_MIN, where the kernels that need
 * more are not used); each op documents its use. */
#define VK_NBIND 10
#define VK_NBIND_MIN 8

/* gemm.comp (matmul of VK_GEMM_MIN_TOK tokens or more): a 64-row x
 * 64-token tile per workgroup of 256 threads. */
#define VK_GEMM_MIN_TOK 16
#define VK_GEMM_TILE 64
/* gemm_cm.comp (the same on NVIDIA cooperative matrices): 128 rows x 64
 * tokens per workgroup of 256 threads. */
#define VK_GEMM_CM_ROWS 128u
#define VK_GEMM_CM_TOK 64u
/* split-K of gemm_cm.comp: at most this many parts */
#define VK_GEMM_SPLIT_MAX 16u

/* matvec (matmul of fewer than VK_GEMM_MIN_TOK tokens): default threads per workgroup (float /
 * quantized weights) and rows per workgroup (specialization constants 2 and
 * 3), and the fusion bits of specialization constant 1. */
#define VK_MV_WG 128
/* float weights, one token: 256 threads (H200, tg64: F16 575.6 tok/s vs 542.7 at 128; PERF.md) */
#define VK_MV_WG1 256
#define VK_MV_WG_Q 64
#define VK_MV_NR 4
/* most tokens per matvec workgroup (specialization constant 0); more tokens
 * take several workgroup rows */
#define VK_MV_NT_MAX 8u
/* matvec_sx.comp (one token, quantized weights, subgroup arithmetic): rows
 * per workgroup of 256 threads, the longest row (x' staged in shared memory
 * as f32: 30 KiB, so with the rest it fits lavapipe's 32 KiB) and the
 * shared memory it needs (the host checks the device's limit): x', 64
 * partial sums and the rope epilogue's 16 exchanged rows */
#define VK_MVX_ROWS 16u
#define VK_MVX_MAXE 7680u
#define VK_MVX_SHARED (4u * VK_MVX_MAXE + 4u * 64u + 4u * VK_MVX_ROWS)
#define VK_MV_NORM 1u
#define VK_MV_GLU 2u
#define VK_MV_ACC 4u
#define VK_MV_DIRECT 8u /* matvec_sx: x' read per lane, no staging (VKLLM_VK_MVX_DIRECT=1) */
/* the one-token epilogue that replaces rope_kv.comp (shaders/common/mv_rope.glsl):
 * rotate row pairs, store into a KV cache layer (binding 2), NEOX pairs, f16 cache */
#define VK_MV_ROPE 16u
#define VK_MV_KV 32u
#define VK_MV_NEOX 64u
#define VK_MV_KV_F16 128u

/* argmax: threads of its one workgroup per row. */
#define VK_ARGMAX_WG 256

/* attention: most dims per thread (head_dim <= VK_WG * VK_ATT_DPT). */
#define VK_ATT_DPT 8
/* split attention: most chunks of positions per (token, head) */
#define VK_ATT_MAX_CHUNKS 128u
/* attention for many tokens (TILED): the largest head dim it takes. */
#define VK_ATT_TILED_DMAX 128u

/* Push-constant sizes (bytes) of each op, checked on the C side. */
#define VK_PC_MAX 64

/* Bias type "none" in the matmul push constants. */
#define VK_NO_BIAS 0xFFFFFFFFu

#endif
