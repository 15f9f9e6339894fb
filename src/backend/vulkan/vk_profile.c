/* vk_profile.c — optional GPU timing of the forward pass (vk_backend_opts
 * .profile). One timestamp is written at the start of each pass and one after
 * every dispatch (bottom of pipe), so the difference between consecutive
 * stamps is the GPU time until that dispatch finished, charged to its kernel
 * variant; the stamps are read back after the pass's fence and summed per
 * variant. The table goes to stderr when the backend is destroyed: this is a
 * diagnostic the caller asked for explicitly, the one place the backend prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "core/err.h"
#include "core/mem.h"

/* Queries per pass: one per dispatch plus the start; dispatches beyond are not timed. */
#define VK_PROF_QUERIES 8192u

vkllm_status vk_profile_init(vk_backend *b) {
    b->prof_ok = 0;
    if (!b->profile) return VKLLM_OK;
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(b->d.phys, &n, NULL);
    if (b->d.info.queue_family >= n) return VKLLM_OK;
    VkQueueFamilyProperties *qf = mem_calloc(n, sizeof *qf);
    if (!qf) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    vkGetPhysicalDeviceQueueFamilyProperties(b->d.phys, &n, qf);
    uint32_t bits = qf[b->d.info.queue_family].timestampValidBits;
    mem_free(qf);
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(b->d.phys, &pp);
    if (bits == 0 || !(pp.limits.timestampPeriod > 0)) return VKLLM_OK; /* reported as unsupported */
    b->ts_period = pp.limits.timestampPeriod;
    b->ts_mask = bits >= 64 ? UINT64_MAX : ((1ull << bits) - 1);
    VkQueryPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = VK_PROF_QUERIES};
    VK_CHECK(vkCreateQueryPool(b->d.dev, &ci, NULL, &b->qpool));
    b->q_op = mem_calloc(VK_PROF_QUERIES, sizeof *b->q_op);
    b->q_bytes = mem_calloc(VK_PROF_QUERIES, sizeof *b->q_bytes);
    b->q_val = mem_calloc(VK_PROF_QUERIES, sizeof *b->q_val);
    if (!b->q_op || !b->q_bytes || !b->q_val) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    b->prof_ok = 1;
    b->prof_by_bytes = vk_env_is("VKLLM_VK_PROFILE_BYTES", "1");
    return VKLLM_OK;
}

void vk_profile_pass_begin(vk_backend *b) {
    b->q_used = 0;
    if (!b->prof_ok) return;
    vkCmdResetQueryPool(b->cmd, b->qpool, 0, VK_PROF_QUERIES);
    vkCmdWriteTimestamp(b->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, b->qpool, 0);
    b->q_used = 1;
}

/* The op index of name, added on first sight (the table is small: kernel variants). */
static int vk_profile_op(vk_backend *b, const char *name) {
    for (int i = 0; i < b->n_prof; i++)
        if (!strcmp(b->prof[i].name, name)) return i;
    if (b->n_prof == VK_PROF_OPS) return -1;
    snprintf(b->prof[b->n_prof].name, sizeof b->prof[0].name, "%s", name);
    return b->n_prof++;
}

void vk_profile_after_dispatch(vk_backend *b) {
    uint64_t bytes = b->prof_bytes;
    b->prof_bytes = 0;
    if (!b->prof_ok) return;
    if (b->q_used >= VK_PROF_QUERIES) {
        b->prof_untimed++;
        return;
    }
    /* VKLLM_VK_PROFILE_BYTES=1: matmuls apart by the weight bytes they read
     * (so each weight shape gets its row: tuning on a device) */
    char key[48];
    const char *name = b->prof_name ? b->prof_name : "?";
    if (bytes && b->prof_by_bytes) {
        snprintf(key, sizeof key, "%.16s %lluK/%u", name, (unsigned long long)((bytes >> 10) % 10000000),
                 (unsigned)(b->prof_ne0 % 100000));
        name = key;
    }
    int op = vk_profile_op(b, name);
    if (op < 0) {
        b->prof_untimed++;
        return;
    }
    vkCmdWriteTimestamp(b->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, b->qpool, b->q_used);
    b->q_op[b->q_used] = op;
    b->q_bytes[b->q_used] = bytes;
    b->q_used++;
}

void vk_profile_collect(vk_backend *b) {
    if (!b->prof_ok || b->q_used < 2) return;
    VkResult r = vkGetQueryPoolResults(b->d.dev, b->qpool, 0, b->q_used, (size_t)b->q_used * sizeof *b->q_val,
                                       b->q_val, sizeof *b->q_val, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) return;
    b->prof_passes++;
    for (uint32_t i = 1; i < b->q_used; i++) {
        uint64_t d = (b->q_val[i] - b->q_val[i - 1]) & b->ts_mask;
        vk_prof_op *o = &b->prof[b->q_op[i]];
        o->calls++;
        o->ns += (double)d * (double)b->ts_period;
        o->bytes += (double)b->q_bytes[i];
    }
}

static int vk_profile_cmp(const void *a, const void *c) {
    double x = ((const vk_prof_op *)a)->ns, y = ((const vk_prof_op *)c)->ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

void vk_profile_report(vk_backend *b) {
    if (!b->profile) return;
    if (!b->prof_ok) {
        fprintf(stderr, "vulkan profile: timestamps unsupported on %s\n", b->d.info.name);
        return;
    }
    qsort(b->prof, (size_t)b->n_prof, sizeof b->prof[0], vk_profile_cmp);
    double total = 0;
    for (int i = 0; i < b->n_prof; i++) total += b->prof[i].ns;
    fprintf(stderr, "vulkan profile on %s: %llu passes, %.3f ms GPU time", b->d.info.name,
            (unsigned long long)b->prof_passes, total * 1e-6);
    if (b->prof_untimed) fprintf(stderr, " (%llu dispatches not timed)", (unsigned long long)b->prof_untimed);
    fprintf(stderr, "\n%-28s %10s %12s %10s %7s %9s\n", "op", "calls", "total ms", "us/call", "%", "GB/s");
    for (int i = 0; i < b->n_prof; i++) {
        const vk_prof_op *o = &b->prof[i];
        fprintf(stderr, "%-28s %10llu %12.3f %10.2f %6.1f%%", o->name, (unsigned long long)o->calls, o->ns * 1e-6,
                o->calls ? o->ns * 1e-3 / (double)o->calls : 0.0, total > 0 ? 100.0 * o->ns / total : 0.0);
        if (o->bytes > 0 && o->ns > 0) fprintf(stderr, " %9.1f", o->bytes / o->ns);
        fputc('\n', stderr);
    }
}

void vk_profile_destroy(vk_backend *b) {
    if (b->qpool) vkDestroyQueryPool(b->d.dev, b->qpool, NULL);
    b->qpool = VK_NULL_HANDLE;
    mem_free(b->q_op);
    mem_free(b->q_bytes);
    mem_free(b->q_val);
    b->q_op = NULL;
    b->q_bytes = NULL;
    b->q_val = NULL;
}
