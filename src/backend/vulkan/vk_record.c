/* vk_record.c — the forward pass as a list of commands. Ops append records
 * (dispatches with their resolved bindings and push constants, barriers,
 * copies) during the pass; end() replays the list into the command buffer,
 * or — when the list is byte-for-byte the previous pass's and no buffer was
 * destroyed since — submits the previous command buffer again, its
 * descriptor sets untouched. Decode passes of one sequence differ only in
 * the arena's contents (positions, block tables), which the kernels read
 * from memory, so a token costs no recording at all. Profiling replays every
 * pass (its timestamps are recorded between the dispatches). */
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "core/err.h"
#include "core/mem.h"

static vkllm_status vk_rec_push(vk_backend *b, vk_rec **out) {
    if (b->n_recs == b->cap_recs) {
        int cap = b->cap_recs ? 2 * b->cap_recs : 256;
        void *p = mem_realloc(b->recs, (size_t)cap * sizeof *b->recs);
        if (!p) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory (command list of %d)", cap);
        b->recs = p;
        b->cap_recs = cap;
    }
    *out = &b->recs[b->n_recs++];
    memset(*out, 0, sizeof **out); /* padding too: lists are compared with memcmp */
    return VKLLM_OK;
}

vkllm_status vk_rec_dispatch(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind, const void *pc,
                             uint32_t pc_size, uint32_t gx, uint32_t gy, uint32_t gz) {
    if (n_bind > (int)b->nbind || pc_size > VK_PC_MAX)
        return err_set(VKLLM_ERR_INTERNAL, "vulkan: dispatch with %d bindings / %u push bytes", n_bind, pc_size);
    vk_rec *r = NULL;
    TRY(vk_rec_push(b, &r));
    r->kind = VK_REC_DISPATCH;
    r->pipe = p;
    for (int i = 0; i < VK_NBIND; i++)
        r->binds[i] = i < n_bind && binds[i].buf ? binds[i] : (vk_bind){b->dummy.buf, 0, VK_WHOLE_SIZE};
    if (pc_size) memcpy(r->pc, pc, pc_size);
    r->pc_size = pc_size;
    r->g[0] = gx;
    r->g[1] = gy;
    r->g[2] = gz;
    r->prof_name = b->prof_name;
    r->prof_bytes = b->prof_bytes;
    r->prof_ne0 = b->prof_ne0;
    b->prof_bytes = 0; /* set again by the next op that reads weights */
    return VKLLM_OK;
}

vkllm_status vk_rec_barrier(vk_backend *b, int all) {
    vk_rec *r = NULL;
    TRY(vk_rec_push(b, &r));
    r->kind = all ? VK_REC_BARRIER_ALL : VK_REC_BARRIER;
    return VKLLM_OK;
}

vkllm_status vk_rec_copy(vk_backend *b, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                         VkDeviceSize size) {
    vk_rec *r = NULL;
    TRY(vk_rec_push(b, &r));
    vk_xh_forget(b, dst); /* buf_write inside a pass, KV block copies */
    r->kind = VK_REC_COPY;
    r->src = src;
    r->dst = dst;
    r->src_off = src_off;
    r->dst_off = dst_off;
    r->size = size;
    return VKLLM_OK;
}

static void vk_cmd_barrier(VkCommandBuffer cmd, int all) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    if (all) {
        mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_MEMORY_READ_BIT;
        mb.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
        st = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    } else {
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    }
    vkCmdPipelineBarrier(cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
}

static vkllm_status vk_replay_dispatch(vk_backend *b, const vk_rec *r) {
    VkDescriptorSet set;
    TRY(vk_desc_alloc(b, &set));
    VkDescriptorBufferInfo bi[VK_NBIND];
    VkWriteDescriptorSet w[VK_NBIND];
    for (int i = 0; i < (int)b->nbind; i++) {
        bi[i] = (VkDescriptorBufferInfo){r->binds[i].buf, r->binds[i].off, r->binds[i].range};
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = (uint32_t)i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bi[i]};
    }
    vkUpdateDescriptorSets(b->d.dev, b->nbind, w, 0, NULL);
    vkCmdBindPipeline(b->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, r->pipe);
    vkCmdBindDescriptorSets(b->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, b->layout, 0, 1, &set, 0, NULL);
    if (r->pc_size) vkCmdPushConstants(b->cmd, b->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, r->pc_size, r->pc);
    vkCmdDispatch(b->cmd, r->g[0], r->g[1], r->g[2]);
    b->prof_name = r->prof_name;
    b->prof_bytes = r->prof_bytes;
    b->prof_ne0 = r->prof_ne0;
    vk_profile_after_dispatch(b);
    return VKLLM_OK;
}

static vkllm_status vk_replay_all(vk_backend *b) {
    for (int i = 0; i < b->n_recs; i++) {
        const vk_rec *r = &b->recs[i];
        switch (r->kind) {
        case VK_REC_DISPATCH: TRY(vk_replay_dispatch(b, r)); break;
        case VK_REC_BARRIER: vk_cmd_barrier(b->cmd, 0); break;
        case VK_REC_BARRIER_ALL: vk_cmd_barrier(b->cmd, 1); break;
        case VK_REC_COPY: {
            VkBufferCopy c = {.srcOffset = r->src_off, .dstOffset = r->dst_off, .size = r->size};
            vkCmdCopyBuffer(b->cmd, r->src, r->dst, 1, &c);
            break;
        }
        default: return err_set(VKLLM_ERR_INTERNAL, "vulkan: command record of kind %u", r->kind);
        }
    }
    return VKLLM_OK;
}

/* Re-records b->cmd from the list; the list then becomes the cached one. */
static vkllm_status vk_replay(vk_backend *b) {
    b->rec_valid = 0;
    TRY(vk_desc_reset(b));
    VK_CHECK(vkResetCommandBuffer(b->cmd, 0));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_CHECK(vkBeginCommandBuffer(b->cmd, &bi));
    vk_profile_pass_begin(b);
    vkllm_status s = vk_replay_all(b);
    /* shader writes visible to host reads of mapped buffers after the fence */
    VkMemoryBarrier hb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(b->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0, NULL, 0, NULL);
    VkResult r = vkEndCommandBuffer(b->cmd);
    TRY(s);
    VK_CHECK(r);
    vk_rec *t = b->prev;
    int tc = b->cap_prev;
    b->prev = b->recs;
    b->cap_prev = b->cap_recs;
    b->n_prev = b->n_recs;
    b->recs = t;
    b->cap_recs = tc;
    b->n_recs = 0;
    b->rec_valid = !b->profile;
    return VKLLM_OK;
}

vkllm_status vk_rec_finish(vk_backend *b, int *reused) {
    *reused = b->rec_valid && b->n_recs == b->n_prev &&
              !memcmp(b->recs, b->prev, (size_t)b->n_recs * sizeof *b->recs);
    if (*reused) {
        b->n_recs = 0;
        return VKLLM_OK;
    }
    return vk_replay(b);
}

void vk_rec_destroy(vk_backend *b) {
    mem_free(b->recs);
    mem_free(b->prev);
    b->recs = b->prev = NULL;
    b->n_recs = b->n_prev = b->cap_recs = b->cap_prev = 0;
    b->rec_valid = 0;
}
