/* vk_spirv.h — the SPIR-V modules compiled from shaders/ at build time and
 * embedded by cmake/embed_spirv.cmake (generated vk_spirv.c). Names are the
 * variant names of cmake/shaders.cmake ("matvec_q4_0_sg", "rmsnorm", ...). */
#ifndef VKLLM_VK_SPIRV_H
#define VKLLM_VK_SPIRV_H

#include <stddef.h>

typedef struct vk_spirv {
    const char *name;
    const unsigned char *code; /* 4-byte aligned */
    size_t size;
} vk_spirv;

extern const vk_spirv vk_spirv_table[];
extern const unsigned vk_spirv_count;

#endif
