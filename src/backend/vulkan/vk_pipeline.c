/* vk_pipeline.c — the one descriptor-set layout (b->nbind storage buffers)
 * and pipeline layout (VK_PC_MAX bytes of push constants) that every kernel
 * shares, compute pipelines built on first use from the embedded SPIR-V with
 * the token tile as specialization constant 0, a pipeline cache, and the
 * descriptor pools from which each recorded op takes its set (reset at the
 * start of every forward pass). */
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "backend/vulkan/vk_spirv.h"
#include "core/err.h"
#include "core/mem.h"

vkllm_status vk_pipeline_init(vk_backend *b) {
    VkDevice dev = b->d.dev;
    VkDescriptorSetLayoutBinding bind[VK_NBIND];
    for (uint32_t i = 0; i < b->nbind; i++)
        bind[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                                 .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                 .descriptorCount = 1,
                                                 .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = b->nbind,
                                          .pBindings = bind};
    VK_CHECK(vkCreateDescriptorSetLayout(dev, &dl, NULL, &b->dsl));
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VK_PC_MAX};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &b->dsl,
                                     .pushConstantRangeCount = 1,
                                     .pPushConstantRanges = &pcr};
    VK_CHECK(vkCreatePipelineLayout(dev, &pl, NULL, &b->layout));
    VkPipelineCacheCreateInfo pc = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    VK_CHECK(vkCreatePipelineCache(dev, &pc, NULL, &b->cache));
    return VKLLM_OK;
}

void vk_pipeline_destroy(vk_backend *b) {
    VkDevice dev = b->d.dev;
    for (int i = 0; i < b->n_pipes; i++) vkDestroyPipeline(dev, b->pipes[i].p, NULL);
    b->n_pipes = 0;
    for (int i = 0; i < b->n_pools; i++) vkDestroyDescriptorPool(dev, b->pools[i], NULL);
    mem_free(b->pools);
    b->pools = NULL;
    b->n_pools = 0;
    if (b->cache) vkDestroyPipelineCache(dev, b->cache, NULL);
    if (b->layout) vkDestroyPipelineLayout(dev, b->layout, NULL);
    if (b->dsl) vkDestroyDescriptorSetLayout(dev, b->dsl, NULL);
    b->cache = VK_NULL_HANDLE;
    b->layout = VK_NULL_HANDLE;
    b->dsl = VK_NULL_HANDLE;
}

static const vk_spirv *vk_spirv_find(const char *name) {
    for (unsigned i = 0; i < vk_spirv_count; i++)
        if (!strcmp(vk_spirv_table[i].name, name)) return &vk_spirv_table[i];
    return NULL;
}

/* VKLLM_VK_PIPE_STATS=1: one line per pipeline with what the driver reports
 * of it (registers, shared memory, ...): where occupancy is lost. */
static void vk_pipeline_stats(vk_backend *b, const char *name, uint32_t nt, uint32_t mode, VkPipeline p) {
    VkPipelineInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, .pipeline = p};
    uint32_t n_exe = 0;
    if (vkGetPipelineExecutablePropertiesKHR(b->d.dev, &pi, &n_exe, NULL) != VK_SUCCESS || n_exe == 0) return;
    VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = p,
                                      .executableIndex = 0};
    VkPipelineExecutableStatisticKHR st[32];
    uint32_t n = 32;
    for (uint32_t i = 0; i < n; i++) st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    VkResult r = vkGetPipelineExecutableStatisticsKHR(b->d.dev, &ei, &n, st);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return;
    char line[1024];
    int len = snprintf(line, sizeof line, "pipeline %s nt=%u mode=0x%x:", name, nt, mode);
    for (uint32_t i = 0; i < n && len > 0 && (size_t)len < sizeof line; i++) {
        const VkPipelineExecutableStatisticKHR *s = &st[i];
        size_t left = sizeof line - (size_t)len;
        switch (s->format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
            len += snprintf(line + len, left, " %s=%u", s->name, (unsigned)s->value.b32);
            break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
            len += snprintf(line + len, left, " %s=%lld", s->name, (long long)s->value.i64);
            break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
            len += snprintf(line + len, left, " %s=%llu", s->name, (unsigned long long)s->value.u64);
            break;
        default: len += snprintf(line + len, left, " %s=%g", s->name, s->value.f64); break;
        }
    }
    fprintf(stderr, "%s\n", line);
}

/* Specialization constants: 0 token tile, 1 the low 16 bits of `mode` (the
 * matvec fusion bits, the attention head dim), 2 and 3 the matvec workgroup
 * size (mode >> 16, or the backend's when 0) and rows per workgroup
 * (constants a shader does not declare are ignored). */
static vkllm_status vk_pipeline_build(vk_backend *b, const vk_spirv *sp, uint32_t nt, uint32_t mode,
                                      VkPipeline *out) {
    VkDevice dev = b->d.dev;
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = sp->size,
                                   .pCode = (const uint32_t *)(const void *)sp->code};
    VkShaderModule mod;
    VK_CHECK(vkCreateShaderModule(dev, &mi, NULL, &mod));
    uint32_t wg = mode >> 16 ? mode >> 16 : b->mv_wg;
    uint32_t vals[4] = {nt, mode & 0xFFFFu, wg, b->mv_nr};
    VkSpecializationMapEntry me[4];
    for (uint32_t i = 0; i < 4; i++) me[i] = (VkSpecializationMapEntry){i, i * 4, sizeof(uint32_t)};
    VkSpecializationInfo si = {.mapEntryCount = 4, .pMapEntries = me, .dataSize = sizeof vals, .pData = vals};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = b->d.pipe_stats ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR : 0,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = mod,
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = b->layout};
    VkResult r = vkCreateComputePipelines(dev, b->cache, 1, &ci, NULL, out);
    vkDestroyShaderModule(dev, mod, NULL);
    VK_CHECK(r);
    if (b->d.pipe_stats) vk_pipeline_stats(b, sp->name, nt, mode, *out);
    return VKLLM_OK;
}

vkllm_status vk_pipeline_get(vk_backend *b, const char *name, uint32_t nt, VkPipeline *out) {
    return vk_pipeline_get_mode(b, name, nt, 0, out);
}

vkllm_status vk_pipeline_get_mode(vk_backend *b, const char *name, uint32_t nt, uint32_t mode, VkPipeline *out) {
    for (int i = 0; i < b->n_pipes; i++)
        if (b->pipes[i].nt == nt && b->pipes[i].mode == mode && !strcmp(b->pipes[i].name, name)) {
            *out = b->pipes[i].p;
            b->prof_name = b->pipes[i].name;
            return VKLLM_OK;
        }
    const vk_spirv *sp = vk_spirv_find(name);
    if (!sp) return err_set(VKLLM_ERR_INTERNAL, "vulkan: no shader '%s' embedded", name);
    if (b->n_pipes == VK_MAX_PIPES || strlen(name) >= sizeof b->pipes[0].name)
        return err_set(VKLLM_ERR_INTERNAL, "vulkan: pipeline table full at '%s'", name);
    VkPipeline p;
    TRY(vk_pipeline_build(b, sp, nt, mode, &p));
    vk_pipe *e = &b->pipes[b->n_pipes++];
    strcpy(e->name, name);
    e->nt = nt;
    e->mode = mode;
    e->p = p;
    *out = p;
    b->prof_name = e->name;
    return VKLLM_OK;
}

static vkllm_status vk_pool_add(vk_backend *b) {
    VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                               .descriptorCount = VK_DESC_POOL_SETS * b->nbind};
    VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = VK_DESC_POOL_SETS,
                                     .poolSizeCount = 1,
                                     .pPoolSizes = &ps};
    void *p = mem_realloc(b->pools, (size_t)(b->n_pools + 1) * sizeof *b->pools);
    if (!p) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    b->pools = p;
    VK_CHECK(vkCreateDescriptorPool(b->d.dev, &ci, NULL, &b->pools[b->n_pools]));
    b->n_pools++;
    return VKLLM_OK;
}

vkllm_status vk_desc_alloc(vk_backend *b, VkDescriptorSet *out) {
    for (;;) {
        if (b->cur_pool == b->n_pools) TRY(vk_pool_add(b));
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = b->pools[b->cur_pool],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &b->dsl};
        VkResult r = vkAllocateDescriptorSets(b->d.dev, &ai, out);
        if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
            b->cur_pool++; /* this pool is full: the next one (created when missing) */
            continue;
        }
        VK_CHECK(r);
        return VKLLM_OK;
    }
}

vkllm_status vk_desc_reset(vk_backend *b) {
    for (int i = 0; i < b->n_pools; i++) VK_CHECK(vkResetDescriptorPool(b->d.dev, b->pools[i], 0));
    b->cur_pool = 0;
    return VKLLM_OK;
}
