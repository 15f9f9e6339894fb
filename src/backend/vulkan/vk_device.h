/* vk_device.h — Vulkan instance, physical-device listing and choice, and the
 * logical device with the features vkllm looks for. Also used by the CLI
 * (`vkllm devices`) through vk_device_list. */
#ifndef VKLLM_VK_DEVICE_H
#define VKLLM_VK_DEVICE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <volk.h>

#include "vkllm.h"

#define VK_DEV_MAX_HEAPS 16

typedef struct vk_device_info {
    char name[256];
    char driver[600];           /* driver name and info */
    uint32_t api_version, vendor_id, device_id;
    VkPhysicalDeviceType type;
    uint32_t n_heaps;
    struct {
        uint64_t size, budget, usage; /* budget/usage are 0 without VK_EXT_memory_budget */
        int device_local;
    } heaps[VK_DEV_MAX_HEAPS];
    int has_budget;             /* VK_EXT_memory_budget */
    uint32_t subgroup_size;
    int subgroup_arith;         /* subgroup arithmetic in compute shaders */
    int subgroup_shuffle;       /* and shuffles, in subgroups of a multiple of 8 lanes (attention_gqa.comp's teams) */
    uint64_t max_storage_range; /* maxStorageBufferRange */
    uint64_t min_storage_align; /* minStorageBufferOffsetAlignment */
    uint32_t max_shared;        /* maxComputeSharedMemorySize */
    uint32_t max_storage_buffers; /* storage buffers a compute shader may bind */
    uint32_t max_groups[3];     /* maxComputeWorkGroupCount */
    int storage16, float16, int8, int8_dot, coopmat;
    /* VK_NV_cooperative_matrix with a 16x16x16 f16 x f16 + f32 subgroup
     * shape, shaderFloat16, the Vulkan memory model and 32-wide subgroups:
     * what gemm_cm.comp needs (enabled at device creation when set) */
    int coopmat_nv;
    /* VK_KHR_pipeline_executable_properties: register and shared-memory use
     * of each pipeline, printed when VKLLM_VK_PIPE_STATS=1 (tuning) */
    int exec_props;
    int usable;                 /* Vulkan >= 1.2 with a compute queue */
    uint32_t queue_family;
} vk_device_info;

typedef struct vk_dev {
    VkInstance inst;
    VkDebugUtilsMessengerEXT msgr; /* validation messages, or VK_NULL_HANDLE */
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    vk_device_info info;
    VkPhysicalDeviceMemoryProperties mem;
    int pipe_stats; /* exec_props enabled: pipelines capture their statistics */
} vk_dev;

/* The tuning switches (environment variables): whether `name` is set to
 * `value`, and its integer value when it lies in lo..hi (else dflt). */
static inline int vk_env_is(const char *name, const char *value) {
    const char *v = getenv(name);
    return v && !strcmp(v, value);
}
static inline int vk_env_int(const char *name, int lo, int hi, int dflt) {
    const char *v = getenv(name);
    int x = v ? atoi(v) : dflt;
    return x >= lo && x <= hi ? x : dflt;
}

/* Loads the Vulkan loader (once); VKLLM_ERR_UNSUPPORTED when absent. */
vkllm_status vk_device_load(void);
/* Lists every physical device; *out is mem_alloc'ed (mem_free it). */
vkllm_status vk_device_list(vk_device_info **out, int *n);
/* Opens device `index` (in vk_device_list order) or the best usable one (-1). */
vkllm_status vk_device_open(vk_dev *d, int index);
/* Re-reads the heap budgets (no-op without VK_EXT_memory_budget). */
void vk_device_refresh_budget(vk_dev *d);
void vk_device_close(vk_dev *d);
/* VKLLM_OK, or (once) an error naming the validation errors reported since
 * the last call (see vk_device.c: validation layer in debug/test builds). */
vkllm_status vk_validation_take(void);
/* "discrete GPU", "CPU", ... */
const char *vk_device_type_name(VkPhysicalDeviceType t);

/* Every VkResult goes through VK_CHECK: on failure it records
 * "vulkan: <call> failed: <result> (file:line)" and returns the status
 * (out of device memory -> VKLLM_ERR_DEVICE_OOM, device lost ->
 * VKLLM_ERR_DEVICE_LOST, out of host memory -> VKLLM_ERR_NOMEM). */
vkllm_status vk_check_fail(VkResult r, const char *call, const char *file, int line);
#define VK_CHECK(call)                                                                             \
    do {                                                                                           \
        VkResult vk_r_ = (call);                                                                   \
        if (vk_r_ != VK_SUCCESS) return vk_check_fail(vk_r_, #call, __FILE__, __LINE__);           \
    } while (0)

#endif
