/* vk_submit.c — the forward pass's bracket and submission. Ops between
 * begin() and end() append to the pass's command list (vk_record.c), which
 * end() turns into one command buffer submitted once; a compute barrier is
 * listed only where an op touches a buffer that an earlier op of the pass
 * wrote (or writes one an earlier op read) since the last barrier. Uploads
 * and downloads outside a pass use a second, one-off command buffer. Every
 * wait has a timeout: a hang becomes VKLLM_ERR_DEVICE_LOST and the backend
 * refuses further work. */
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "core/err.h"

vkllm_status vk_submit_init(vk_backend *b) {
    VkDevice dev = b->d.dev;
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = b->d.info.queue_family};
    VK_CHECK(vkCreateCommandPool(dev, &pi, NULL, &b->cpool));
    VkCommandBuffer cbs[2];
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = b->cpool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 2};
    VK_CHECK(vkAllocateCommandBuffers(dev, &ai, cbs));
    b->cmd = cbs[0];
    b->cmd_imm = cbs[1];
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_CHECK(vkCreateFence(dev, &fi, NULL, &b->fence));
    VK_CHECK(vkCreateFence(dev, &fi, NULL, &b->fence_imm));
    return VKLLM_OK;
}

void vk_submit_destroy(vk_backend *b) {
    VkDevice dev = b->d.dev;
    if (b->fence) vkDestroyFence(dev, b->fence, NULL);
    if (b->fence_imm) vkDestroyFence(dev, b->fence_imm, NULL);
    if (b->cpool) vkDestroyCommandPool(dev, b->cpool, NULL); /* frees its command buffers */
    b->fence = b->fence_imm = VK_NULL_HANDLE;
    b->cpool = VK_NULL_HANDLE;
}

static vkllm_status vk_submit_wait(vk_backend *b, VkCommandBuffer cmd, VkFence fence, const char *what) {
    VK_CHECK(vkResetFences(b->d.dev, 1, &fence));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    vkllm_status s = VKLLM_OK;
    VkResult r = vkQueueSubmit(b->d.queue, 1, &si, fence);
    if (r == VK_SUCCESS) {
        r = vkWaitForFences(b->d.dev, 1, &fence, VK_TRUE, (uint64_t)VK_FENCE_TIMEOUT_S * 1000000000ull);
        if (r == VK_TIMEOUT)
            s = err_set(VKLLM_ERR_DEVICE_LOST, "vulkan: %s did not finish within %d s (GPU hang); device unusable",
                        what, VK_FENCE_TIMEOUT_S);
    }
    if (s == VKLLM_OK && r != VK_SUCCESS) s = vk_check_fail(r, what, __FILE__, __LINE__);
    if (s == VKLLM_ERR_DEVICE_LOST) b->lost = 1;
    if (s == VKLLM_OK) s = vk_validation_take();
    return s;
}

vkllm_status vk_imm_begin(vk_backend *b, VkCommandBuffer *cmd) {
    if (b->lost) return err_set(VKLLM_ERR_DEVICE_LOST, "vulkan: the device was lost earlier");
    VK_CHECK(vkResetCommandBuffer(b->cmd_imm, 0));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_CHECK(vkBeginCommandBuffer(b->cmd_imm, &bi));
    *cmd = b->cmd_imm;
    return VKLLM_OK;
}

vkllm_status vk_imm_end(vk_backend *b) {
    VK_CHECK(vkEndCommandBuffer(b->cmd_imm));
    return vk_submit_wait(b, b->cmd_imm, b->fence_imm, "a transfer");
}

vkllm_status vk_pass_begin(vk_backend *b) {
    if (b->lost) return err_set(VKLLM_ERR_DEVICE_LOST, "vulkan: the device was lost earlier");
    vk_arena_reset(b);
    b->n_written = b->n_read = 0;
    b->n_recs = 0;
    b->rope_ok = 0; /* the arena's frequencies are gone */
    return VKLLM_OK;
}

vkllm_status vk_pass_end(vk_backend *b) {
    int reused;
    vkllm_status s = vk_rec_finish(b, &reused);
    b->n_recs = 0;
    TRY(s);
    b->n_passes++;
    b->n_reused += (uint64_t)reused;
    TRY(vk_submit_wait(b, b->cmd, b->fence, "the forward pass"));
    vk_att_scratch_release(b, 0);
    vk_profile_collect(b);
    return VKLLM_OK;
}

static int vk_in(const VkBuffer *set, int n, VkBuffer x) {
    for (int i = 0; i < n; i++)
        if (set[i] == x) return 1;
    return 0;
}

vkllm_status vk_hazard(vk_backend *b, const VkBuffer *rd, int n_rd, const VkBuffer *wr, int n_wr) {
    int need = 0;
    for (int i = 0; i < n_rd && !need; i++) need = vk_in(b->written, b->n_written, rd[i]);
    for (int i = 0; i < n_wr && !need; i++)
        need = vk_in(b->written, b->n_written, wr[i]) || vk_in(b->read, b->n_read, wr[i]);
    if (!need && (b->n_read + n_rd > VK_HAZARD_MAX || b->n_written + n_wr > VK_HAZARD_MAX)) need = 1;
    if (need) {
        if (!(b->skip & VK_SKIP_BARRIER)) TRY(vk_rec_barrier(b, 0));
        b->n_written = b->n_read = 0;
    }
    for (int i = 0; i < n_rd; i++)
        if (!vk_in(b->read, b->n_read, rd[i])) b->read[b->n_read++] = rd[i];
    for (int i = 0; i < n_wr; i++) {
        if (!vk_in(b->written, b->n_written, wr[i])) b->written[b->n_written++] = wr[i];
        vk_xh_forget(b, wr[i]);
    }
    return VKLLM_OK;
}

vkllm_status vk_barrier_all(vk_backend *b) {
    b->n_written = b->n_read = 0;
    return vk_rec_barrier(b, 1);
}

vkllm_status vk_dispatch(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind, const void *pc,
                         uint32_t pc_size, uint32_t gx, uint32_t gy) {
    return vk_rec_dispatch(b, p, binds, n_bind, pc, pc_size, gx, gy, 1);
}

vkllm_status vk_dispatch_3d(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind, const void *pc,
                            uint32_t pc_size, uint32_t gx, uint32_t gy, uint32_t gz) {
    return vk_rec_dispatch(b, p, binds, n_bind, pc, pc_size, gx, gy, gz);
}
