/* vk_backend.h — extra constructor of the Vulkan backend with options that
 * tests use (the plain constructor is vk_backend_create in backend.h). */
#ifndef VKLLM_VK_BACKEND_H
#define VKLLM_VK_BACKEND_H

#include "backend/backend.h"

typedef struct vk_backend_opts {
    int device_index;   /* -1 = best */
    int max_binding_mb; /* > 0: weights are split into bindings of at most this size */
    int no_subgroup;    /* 1: shared-memory reductions even where subgroup ops exist */
    int profile;        /* 1: time every dispatch; the table goes to stderr on destroy */
} vk_backend_opts;

vkllm_status vk_backend_create_opts(const vk_backend_opts *o, backend **out);
/* 1 when matmuls of many tokens run on cooperative matrices (f16 inputs:
 * tests widen their tolerances), 0 otherwise. */
int vk_backend_coopmat(const backend *b);

#endif
