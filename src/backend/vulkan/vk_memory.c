/* vk_memory.c — buffers and their memory: device-local buffers (mapped
 * directly when the device-local memory is also host-visible, as on
 * integrated GPUs and lavapipe), a budget check before each device
 * allocation, a host-visible staging buffer through which uploads and
 * downloads stream in chunks, and the per-pass arena: host-visible chunks
 * holding the small per-pass inputs (token ids, positions, block tables,
 * gathered row ids, rope frequencies), reset at each begin(). */
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "core/ckmath.h"
#include "core/err.h"
#include "core/mem.h"

static int vk_mem_type(const vk_backend *b, uint32_t bits, VkMemoryPropertyFlags need,
                       VkMemoryPropertyFlags want) {
    const VkPhysicalDeviceMemoryProperties *m = &b->d.mem;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
            if (!(bits & (1u << i)) || (f & need) != need) continue;
            if (pass == 0 && (f & want) != want) continue;
            return (int)i;
        }
    return -1;
}

static vkllm_status vk_budget_check(vk_backend *b, uint32_t heap, VkDeviceSize need, const char *what) {
    vk_device_refresh_budget(&b->d);
    const vk_device_info *in = &b->d.info;
    if (!in->has_budget || heap >= in->n_heaps) return VKLLM_OK;
    uint64_t avail = in->heaps[heap].budget > in->heaps[heap].usage
                         ? in->heaps[heap].budget - in->heaps[heap].usage : 0;
    if (need > avail)
        return err_set(VKLLM_ERR_DEVICE_OOM, "vulkan: %s: needs %llu bytes, %llu available (heap %u of %s)",
                       what, (unsigned long long)need, (unsigned long long)avail, heap, in->name);
    return VKLLM_OK;
}

static vkllm_status vk_buffer_make(vk_backend *b, VkDeviceSize size, int host_visible, const char *what,
                                   vk_buffer *out) {
    VkDevice dev = b->d.dev;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VK_CHECK(vkCreateBuffer(dev, &bi, NULL, &out->buf));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, out->buf, &req);
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int t = host_visible ? vk_mem_type(b, req.memoryTypeBits, hv, VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                         : vk_mem_type(b, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (t < 0 && !host_visible) t = vk_mem_type(b, req.memoryTypeBits, 0, 0);
    if (t < 0) return err_set(VKLLM_ERR_DEVICE, "vulkan: %s: no suitable memory type", what);
    VkMemoryPropertyFlags flags = b->d.mem.memoryTypes[t].propertyFlags;
    TRY(vk_budget_check(b, b->d.mem.memoryTypes[t].heapIndex, req.size, what));
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = (uint32_t)t};
    VK_CHECK(vkAllocateMemory(dev, &ai, NULL, &out->mem));
    VK_CHECK(vkBindBufferMemory(dev, out->buf, out->mem, 0));
    if ((flags & hv) == hv) VK_CHECK(vkMapMemory(dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map));
    out->size = size;
    return VKLLM_OK;
}

vkllm_status vk_buffer_create(vk_backend *b, VkDeviceSize size, int host_visible, const char *what,
                              vk_buffer *out) {
    memset(out, 0, sizeof *out);
    if (size == 0) size = 4;
    vkllm_status s = vk_buffer_make(b, size, host_visible, what, out);
    if (s != VKLLM_OK) {
        if (s == VKLLM_ERR_DEVICE_OOM && !strstr(err_msg(), "needs"))
            err_prefix(s, "vulkan: %s (%llu bytes)", what, (unsigned long long)size);
        vk_buffer_destroy(b, out);
    }
    return s;
}

void vk_buffer_destroy(vk_backend *b, vk_buffer *buf) {
    if (!buf) return;
    if (buf->buf) b->rec_valid = 0; /* the recorded pass may name it */
    vk_xh_forget(b, buf->buf); /* a new buffer may get its handle */
    if (buf->map) vkUnmapMemory(b->d.dev, buf->mem);
    if (buf->buf) vkDestroyBuffer(b->d.dev, buf->buf, NULL);
    if (buf->mem) vkFreeMemory(b->d.dev, buf->mem, NULL);
    memset(buf, 0, sizeof *buf);
}

static vkllm_status vk_staging(vk_backend *b) {
    if (b->staging.buf) return VKLLM_OK;
    return vk_buffer_create(b, VK_STAGING_BYTES, 1, "staging buffer", &b->staging);
}

vkllm_status vk_buffer_upload(vk_backend *b, vk_buffer *dst, VkDeviceSize off, const void *src, size_t n) {
    uint64_t end;
    vk_xh_forget(b, dst->buf);
    if (!ckmath_add(off, n, &end) || end > dst->size)
        return err_set(VKLLM_ERR_INTERNAL, "vulkan: upload of %zu bytes at %llu past buffer end %llu", n,
                       (unsigned long long)off, (unsigned long long)dst->size);
    if (dst->map) {
        memcpy((char *)dst->map + off, src, n);
        return VKLLM_OK;
    }
    TRY(vk_staging(b));
    for (size_t done = 0; done < n;) {
        size_t c = n - done < VK_STAGING_BYTES ? n - done : VK_STAGING_BYTES;
        memcpy(b->staging.map, (const char *)src + done, c);
        VkCommandBuffer cmd;
        TRY(vk_imm_begin(b, &cmd));
        VkBufferCopy r = {.srcOffset = 0, .dstOffset = off + done, .size = c};
        vkCmdCopyBuffer(cmd, b->staging.buf, dst->buf, 1, &r);
        TRY(vk_imm_end(b));
        done += c;
    }
    return VKLLM_OK;
}

vkllm_status vk_buffer_download(vk_backend *b, const vk_buffer *src, VkDeviceSize off, void *dst, size_t n) {
    uint64_t end;
    if (!ckmath_add(off, n, &end) || end > src->size)
        return err_set(VKLLM_ERR_INTERNAL, "vulkan: download of %zu bytes at %llu past buffer end %llu", n,
                       (unsigned long long)off, (unsigned long long)src->size);
    if (src->map) {
        memcpy(dst, (const char *)src->map + off, n);
        return VKLLM_OK;
    }
    TRY(vk_staging(b));
    for (size_t done = 0; done < n;) {
        size_t c = n - done < VK_STAGING_BYTES ? n - done : VK_STAGING_BYTES;
        VkCommandBuffer cmd;
        TRY(vk_imm_begin(b, &cmd));
        VkBufferCopy r = {.srcOffset = off + done, .dstOffset = 0, .size = c};
        vkCmdCopyBuffer(cmd, src->buf, b->staging.buf, 1, &r);
        TRY(vk_imm_end(b));
        memcpy((char *)dst + done, b->staging.map, c);
        done += c;
    }
    return VKLLM_OK;
}

vkllm_status vk_arena_push(vk_backend *b, const void *data, size_t n, vk_bind *out) {
    VkDeviceSize align = vk_storage_align(b);
    size_t need = n ? n : 4;
    for (;;) {
        if (b->cur_arena < b->n_arena) {
            vk_arena_chunk *c = &b->arena[b->cur_arena];
            uint64_t off;
            if (ckmath_align(c->used, align, &off) && off + need <= c->b.size) {
                if (n) memcpy((char *)c->b.map + off, data, n);
                c->used = off + need;
                *out = (vk_bind){c->b.buf, off, need};
                return VKLLM_OK;
            }
            b->cur_arena++;
            continue;
        }
        void *p = mem_realloc(b->arena, (size_t)(b->n_arena + 1) * sizeof *b->arena);
        if (!p) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
        b->arena = p;
        vk_arena_chunk *c = &b->arena[b->n_arena];
        memset(c, 0, sizeof *c);
        TRY(vk_buffer_create(b, need > VK_ARENA_CHUNK ? need : VK_ARENA_CHUNK, 1, "per-pass arena", &c->b));
        b->n_arena++;
    }
}

void vk_arena_reset(vk_backend *b) {
    for (int i = 0; i < b->n_arena; i++) b->arena[i].used = 0;
    b->cur_arena = 0;
}

void vk_arena_destroy(vk_backend *b) {
    for (int i = 0; i < b->n_arena; i++) vk_buffer_destroy(b, &b->arena[i].b);
    mem_free(b->arena);
    b->arena = NULL;
    b->n_arena = b->cur_arena = 0;
}
