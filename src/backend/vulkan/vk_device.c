/* vk_device.c — Vulkan loader and instance, the physical-device survey
 * (limits, optional features, heaps and budgets), the choice of device and
 * the logical device with one compute queue. Also the VkResult check helper. */
#include "backend/vulkan/vk_device.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_shader_iface.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

static int vk_loaded;

static const char *vk_result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VkResult";
    }
}

vkllm_status vk_check_fail(VkResult r, const char *call, const char *file, int line) {
    vkllm_status s = VKLLM_ERR_DEVICE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY) s = VKLLM_ERR_DEVICE_OOM;
    else if (r == VK_ERROR_DEVICE_LOST) s = VKLLM_ERR_DEVICE_LOST;
    else if (r == VK_ERROR_OUT_OF_HOST_MEMORY) s = VKLLM_ERR_NOMEM;
    const char *base = strrchr(file, '/');
    return err_set(s, "vulkan: %s failed: %s (%d) (%s:%d)", call, vk_result_name(r), (int)r,
                   base ? base + 1 : file, line);
}

const char *vk_device_type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

vkllm_status vk_device_load(void) {
    if (vk_loaded) return VKLLM_OK;
    if (volkInitialize() != VK_SUCCESS)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: no Vulkan loader");
    vk_loaded = 1;
    return VKLLM_OK;
}

/* Validation (VK_LAYER_KHRONOS_validation with a VK_EXT_debug_utils
 * messenger): on by default in builds without NDEBUG, or as
 * VKLLM_VK_VALIDATION=1|0 says, and only when the layer is installed. Each
 * error the layer reports is logged and counted; the next submission then
 * fails with it (vk_validation_take), so tests fail on any misuse. */
static _Atomic uint64_t vk_val_errors, vk_val_taken; /* backends on several threads share them */
static char vk_val_last[512];

static VKAPI_ATTR VkBool32 VKAPI_CALL vk_val_cb(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                               VkDebugUtilsMessageTypeFlagsEXT type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    (void)type;
    (void)user;
    if (!(sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) return VK_FALSE;
    const char *msg = data && data->pMessage ? data->pMessage : "?";
    snprintf(vk_val_last, sizeof vk_val_last, "%s", msg); /* the last message; racy text at worst */
    atomic_fetch_add(&vk_val_errors, 1);
    log_msg(LOG_ERROR, "vulkan validation: %s", msg);
    return VK_FALSE;
}

vkllm_status vk_validation_take(void) {
    uint64_t seen = atomic_load(&vk_val_errors), taken = atomic_exchange(&vk_val_taken, seen);
    if (seen == taken) return VKLLM_OK;
    uint64_t n = seen - taken;
    return err_set(VKLLM_ERR_INTERNAL, "vulkan: %llu validation error(s), the last: %s", (unsigned long long)n,
                   vk_val_last);
}

static int vk_validation_wanted(void) {
    const char *e = getenv("VKLLM_VK_VALIDATION");
    if (e && *e) return strcmp(e, "0") != 0;
#ifdef NDEBUG
    return 0;
#else
    return 1;
#endif
}

static int vk_layer_present(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *l = mem_calloc(n, sizeof *l);
    int found = 0;
    if (l && vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(l[i].layerName, name);
    mem_free(l);
    return found;
}

static vkllm_status vk_instance_create(VkInstance *out, VkDebugUtilsMessengerEXT *msgr) {
    TRY(vk_device_load());
    if (volkGetInstanceVersion() < VK_API_VERSION_1_2)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: the loader supports Vulkan %u.%u; 1.2 needed",
                       VK_API_VERSION_MAJOR(volkGetInstanceVersion()),
                       VK_API_VERSION_MINOR(volkGetInstanceVersion()));
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "vkllm",
                             .pEngineName = "vkllm",
                             .apiVersion = VK_API_VERSION_1_2};
    const char *layer = "VK_LAYER_KHRONOS_validation", *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    int val = msgr && vk_validation_wanted() && vk_layer_present(layer);
    VkDebugUtilsMessengerCreateInfoEXT mi = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
        .pfnUserCallback = vk_val_cb};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = val ? &mi : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = val ? 1u : 0u,
                               .ppEnabledLayerNames = &layer,
                               .enabledExtensionCount = val ? 1u : 0u,
                               .ppEnabledExtensionNames = &ext};
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: no Vulkan driver (VK_ERROR_INCOMPATIBLE_DRIVER)");
    VK_CHECK(r);
    /* device functions through the loader trampolines: valid for every device */
    volkLoadInstance(*out);
    if (val) {
        VkResult rm = vkCreateDebugUtilsMessengerEXT(*out, &mi, NULL, msgr);
        if (rm != VK_SUCCESS) *msgr = VK_NULL_HANDLE;
        log_msg(LOG_INFO, "vulkan: validation layer %s", rm == VK_SUCCESS ? "on" : "on, without a messenger");
    }
    return VKLLM_OK;
}

static int vk_has_ext(const VkExtensionProperties *e, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(e[i].extensionName, name)) return 1;
    return 0;
}

/* Whether VK_NV_cooperative_matrix lists the one shape gemm_cm.comp uses:
 * 16x16x16, f16 A and B, f32 C and D, subgroup scope. */
static int vk_cm_nv_shape(VkPhysicalDevice pd) {
    if (!vkGetPhysicalDeviceCooperativeMatrixPropertiesNV) return 0;
    uint32_t n = 0;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    if (n > 64) n = 64;
    VkCooperativeMatrixPropertiesNV p[64];
    for (uint32_t i = 0; i < n; i++)
        p[i] = (VkCooperativeMatrixPropertiesNV){.sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV};
    VkResult r = vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, p);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (p[i].MSize == 16 && p[i].NSize == 16 && p[i].KSize == 16 && p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
            p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV && p[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
            p[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV && p[i].scope == VK_SCOPE_SUBGROUP_NV)
            return 1;
    return 0;
}

/* Heap sizes, and budgets when the extension is there. */
static void vk_read_heaps(VkPhysicalDevice pd, vk_device_info *info, VkPhysicalDeviceMemoryProperties *mem) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT bud = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                            .pNext = info->has_budget ? &bud : NULL};
    vkGetPhysicalDeviceMemoryProperties2(pd, &mp);
    if (mem) *mem = mp.memoryProperties;
    info->n_heaps = mp.memoryProperties.memoryHeapCount;
    if (info->n_heaps > VK_DEV_MAX_HEAPS) info->n_heaps = VK_DEV_MAX_HEAPS;
    for (uint32_t h = 0; h < info->n_heaps; h++) {
        info->heaps[h].size = mp.memoryProperties.memoryHeaps[h].size;
        info->heaps[h].device_local =
            (mp.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        info->heaps[h].budget = info->has_budget ? bud.heapBudget[h] : 0;
        info->heaps[h].usage = info->has_budget ? bud.heapUsage[h] : 0;
    }
}

static vkllm_status vk_survey(VkPhysicalDevice pd, vk_device_info *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    snprintf(info->name, sizeof info->name, "%s", p.deviceName);
    info->api_version = p.apiVersion;
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    info->type = p.deviceType;
    info->max_storage_range = p.limits.maxStorageBufferRange;
    info->min_storage_align = p.limits.minStorageBufferOffsetAlignment;
    info->max_shared = p.limits.maxComputeSharedMemorySize;
    info->max_storage_buffers = p.limits.maxPerStageDescriptorStorageBuffers < p.limits.maxDescriptorSetStorageBuffers
                                    ? p.limits.maxPerStageDescriptorStorageBuffers
                                    : p.limits.maxDescriptorSetStorageBuffers;
    for (int i = 0; i < 3; i++) info->max_groups[i] = p.limits.maxComputeWorkGroupCount[i];

    uint32_t n_ext = 0;
    VK_CHECK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, NULL));
    VkExtensionProperties *ext = mem_calloc(n_ext ? n_ext : 1, sizeof *ext);
    if (!ext) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    VkResult r = vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, ext);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        mem_free(ext);
        VK_CHECK(r);
    }
    info->has_budget = vk_has_ext(ext, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    info->int8_dot = vk_has_ext(ext, n_ext, "VK_KHR_shader_integer_dot_product");
    info->coopmat = vk_has_ext(ext, n_ext, "VK_KHR_cooperative_matrix") ||
                    vk_has_ext(ext, n_ext, "VK_NV_cooperative_matrix");
    int has_cm_nv = vk_has_ext(ext, n_ext, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    info->exec_props = vk_has_ext(ext, n_ext, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    mem_free(ext);

    if (p.apiVersion >= VK_API_VERSION_1_2) {
        VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
        VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                                 .pNext = &drv};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
        vkGetPhysicalDeviceProperties2(pd, &p2);
        snprintf(info->driver, sizeof info->driver, "%s (%s)", drv.driverName, drv.driverInfo);
        info->subgroup_size = sg.subgroupSize;
        info->subgroup_arith = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                               (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                               (sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
        info->subgroup_shuffle = info->subgroup_arith && (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
                                   sg.subgroupSize >= 8 && sg.subgroupSize % 8 == 0;

        VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
        VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                                .pNext = has_cm_nv ? &fcm : NULL};
        VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                                .pNext = &f12};
        VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR fep = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR, .pNext = &f11};
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = info->exec_props ? (void *)&fep : (void *)&f11};
        vkGetPhysicalDeviceFeatures2(pd, &f2);
        info->exec_props = info->exec_props && fep.pipelineExecutableInfo;
        info->storage16 = f11.storageBuffer16BitAccess;
        info->float16 = f12.shaderFloat16;
        info->int8 = f12.shaderInt8;
        info->coopmat_nv = has_cm_nv && fcm.cooperativeMatrix && f12.shaderFloat16 && f12.vulkanMemoryModel &&
                           info->subgroup_size == 32 && vk_cm_nv_shape(pd);
    } else {
        snprintf(info->driver, sizeof info->driver, "driver version 0x%x", p.driverVersion);
    }
    vk_read_heaps(pd, info, NULL);

    uint32_t n_q = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, NULL);
    VkQueueFamilyProperties q[32];
    if (n_q > 32) n_q = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, q);
    int found = 0;
    /* a compute queue; a family without graphics first (async compute queues are as fast) */
    for (int pass = 0; pass < 2 && !found; pass++)
        for (uint32_t i = 0; i < n_q && !found; i++) {
            if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0) continue;
            if (pass == 0 && (q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) continue;
            info->queue_family = i;
            found = 1;
        }
    info->usable = found && p.apiVersion >= VK_API_VERSION_1_2 && info->max_storage_buffers >= VK_NBIND_MIN;
    return VKLLM_OK;
}

static vkllm_status vk_enum(VkInstance inst, VkPhysicalDevice **pds, uint32_t *n) {
    *pds = NULL;
    *n = 0;
    uint32_t cnt = 0;
    VK_CHECK(vkEnumeratePhysicalDevices(inst, &cnt, NULL));
    if (cnt == 0) return VKLLM_OK;
    VkPhysicalDevice *a = mem_calloc(cnt, sizeof *a);
    if (!a) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    VkResult r = vkEnumeratePhysicalDevices(inst, &cnt, a);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        mem_free(a);
        VK_CHECK(r);
    }
    *pds = a;
    *n = cnt;
    return VKLLM_OK;
}

vkllm_status vk_device_list(vk_device_info **out, int *n) {
    *out = NULL;
    *n = 0;
    VkInstance inst;
    TRY(vk_instance_create(&inst, NULL));
    VkPhysicalDevice *pds;
    uint32_t cnt;
    vkllm_status s = vk_enum(inst, &pds, &cnt);
    vk_device_info *infos = NULL;
    if (s == VKLLM_OK && cnt) {
        infos = mem_calloc(cnt, sizeof *infos);
        if (!infos) s = err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
        for (uint32_t i = 0; s == VKLLM_OK && i < cnt; i++) s = vk_survey(pds[i], &infos[i]);
    }
    mem_free(pds);
    vkDestroyInstance(inst, NULL);
    if (s != VKLLM_OK) {
        mem_free(infos);
        return s;
    }
    *out = infos;
    *n = (int)cnt;
    return VKLLM_OK;
}

static uint64_t vk_local_bytes(const vk_device_info *in) {
    uint64_t t = 0;
    for (uint32_t h = 0; h < in->n_heaps; h++)
        if (in->heaps[h].device_local) t += in->heaps[h].size;
    return t;
}

static int vk_type_rank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static vkllm_status vk_pick(VkPhysicalDevice *pds, uint32_t cnt, int index, vk_dev *d) {
    if (cnt == 0) return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: no Vulkan device");
    if (index >= 0) {
        if ((uint32_t)index >= cnt)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: device %d does not exist (%u devices)", index, cnt);
        TRY(vk_survey(pds[index], &d->info));
        if (!d->info.usable)
            return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: device %d (%s) lacks Vulkan 1.2, a compute queue or %d storage buffers per shader",
                           index, d->info.name, VK_NBIND_MIN);
        d->phys = pds[index];
        return VKLLM_OK;
    }
    int best = -1;
    vk_device_info bi = {0}, in;
    for (uint32_t i = 0; i < cnt; i++) {
        TRY(vk_survey(pds[i], &in));
        if (!in.usable) continue;
        int better = best < 0 || vk_type_rank(in.type) > vk_type_rank(bi.type) ||
                     (vk_type_rank(in.type) == vk_type_rank(bi.type) && vk_local_bytes(&in) > vk_local_bytes(&bi));
        if (better) {
            best = (int)i;
            bi = in;
        }
    }
    if (best < 0) return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: no device with Vulkan 1.2, a compute queue and %d storage buffers per shader", VK_NBIND_MIN);
    d->phys = pds[best];
    d->info = bi;
    return VKLLM_OK;
}

vkllm_status vk_device_open(vk_dev *d, int index) {
    memset(d, 0, sizeof *d);
    TRY(vk_instance_create(&d->inst, &d->msgr));
    VkPhysicalDevice *pds;
    uint32_t cnt;
    TRY(vk_enum(d->inst, &pds, &cnt));
    vkllm_status s = vk_pick(pds, cnt, index, d);
    mem_free(pds);
    TRY(s);
    vk_read_heaps(d->phys, &d->info, &d->mem);

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = d->info.queue_family,
                                  .queueCount = 1,
                                  .pQueuePriorities = &prio};
    const char *exts[3];
    uint32_t n_ext = 0;
    if (d->info.has_budget) exts[n_ext++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    d->pipe_stats = d->info.exec_props && vk_env_is("VKLLM_VK_PIPE_STATS", "1");
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR fep = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pipelineExecutableInfo = VK_TRUE};
    if (d->pipe_stats) exts[n_ext++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
    /* features enabled only for the cooperative-matrix GEMM (lavapipe and
     * most devices run with none) */
    VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                            .pNext = &fcm,
                                            .shaderFloat16 = VK_TRUE,
                                            .vulkanMemoryModel = VK_TRUE};
    if (d->info.coopmat_nv) exts[n_ext++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    void *chain = d->info.coopmat_nv ? (void *)&f12 : NULL;
    if (d->pipe_stats) {
        fep.pNext = chain;
        chain = &fep;
    }
    VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = chain,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi,
                             .enabledExtensionCount = n_ext,
                             .ppEnabledExtensionNames = exts};
    VK_CHECK(vkCreateDevice(d->phys, &ci, NULL, &d->dev));
    vkGetDeviceQueue(d->dev, d->info.queue_family, 0, &d->queue);
    return VKLLM_OK;
}

void vk_device_refresh_budget(vk_dev *d) {
    if (d->info.has_budget) vk_read_heaps(d->phys, &d->info, NULL);
}

void vk_device_close(vk_dev *d) {
    if (d->dev) vkDestroyDevice(d->dev, NULL);
    if (d->msgr) vkDestroyDebugUtilsMessengerEXT(d->inst, d->msgr, NULL);
    if (d->inst) vkDestroyInstance(d->inst, NULL);
    memset(d, 0, sizeof *d);
}
