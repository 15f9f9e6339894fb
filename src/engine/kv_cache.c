/* kv_cache.c — block allocation for the paged KV cache (see kv_cache.h).
 * Invariant: a block is on the free list iff its ref count is 0. */
#include "engine/kv_cache.h"

#include <string.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"

#define KVC_BLOCK 16

vkllm_status kvc_create(backend *be, int n_layers, int n_kv_heads, int head_dim, uint32_t type,
                        int n_slots, int n_ctx, kv_cache *c) {
    memset(c, 0, sizeof *c);
    if (n_slots < 1 || n_ctx < 1 || n_ctx > (1 << 24))
        return err_set(VKLLM_ERR_INVALID_ARG, "kv cache: bad sizes (%d slots, %d positions)",
                       n_slots, n_ctx);
    c->be = be;
    c->block_size = KVC_BLOCK;
    c->n_slots = n_slots;
    c->max_blocks = (n_ctx + KVC_BLOCK - 1) / KVC_BLOCK;
    if ((int64_t)c->max_blocks * n_slots > (1 << 24))
        return err_set(VKLLM_ERR_INVALID_ARG, "kv cache: too many blocks");
    c->n_blocks = c->max_blocks * n_slots;
    c->table = mem_calloc((size_t)n_slots * c->max_blocks, sizeof *c->table);
    c->n_pos = mem_calloc((size_t)n_slots, sizeof *c->n_pos);
    c->ref = mem_calloc((size_t)c->n_blocks, sizeof *c->ref);
    c->free_list = mem_calloc((size_t)c->n_blocks, sizeof *c->free_list);
    if (!c->table || !c->n_pos || !c->ref || !c->free_list) {
        kvc_free(c);
        return err_set(VKLLM_ERR_NOMEM, "kv cache: out of memory");
    }
    for (int i = 0; i < n_slots * c->max_blocks; i++) c->table[i] = -1;
    for (int i = 0; i < c->n_blocks; i++) c->free_list[i] = c->n_blocks - 1 - i;
    c->n_free = c->n_blocks;
    bk_kv_desc d = {n_layers, n_kv_heads, head_dim, KVC_BLOCK, c->n_blocks, type};
    vkllm_status s = be->vt->kv_alloc(be, &d, &c->kv);
    if (s != VKLLM_OK) {
        kvc_free(c);
        return s;
    }
    c->bytes = (uint64_t)c->n_blocks * KVC_BLOCK * n_layers * 2 * n_kv_heads *
               dtype_row_bytes(type, (uint64_t)head_dim);
    return VKLLM_OK;
}

const char *vkllm_kv_type_str(vkllm_kv_type t) {
    switch (t) {
    case VKLLM_KV_F16: return "f16";
    case VKLLM_KV_F32: return "f32";
    case VKLLM_KV_Q8_0: return "q8_0";
    }
    return "?";
}

vkllm_status kvc_dtype(vkllm_kv_type t, int head_dim, uint32_t *out) {
    switch (t) {
    case VKLLM_KV_F16: *out = DTYPE_F16; return VKLLM_OK;
    case VKLLM_KV_F32: *out = DTYPE_F32; return VKLLM_OK;
    case VKLLM_KV_Q8_0:
        if (head_dim % 32)
            return err_set(VKLLM_ERR_UNSUPPORTED,
                           "kv cache: q8_0 needs a head dimension that is a multiple of 32, the model "
                           "has %d (use --kv-type f16)", head_dim);
        *out = DTYPE_Q8_0;
        return VKLLM_OK;
    }
    return err_set(VKLLM_ERR_INVALID_ARG, "kv cache: type %d is not f16, f32 or q8_0", (int)t);
}

void kvc_free(kv_cache *c) {
    if (c->kv) c->be->vt->kv_free(c->be, c->kv);
    mem_free(c->table);
    mem_free(c->n_pos);
    mem_free(c->ref);
    mem_free(c->free_list);
    memset(c, 0, sizeof *c);
}

static void kvc_release(kv_cache *c, int32_t b) {
    if (--c->ref[b] == 0) c->free_list[c->n_free++] = b;
}

static int32_t kvc_take(kv_cache *c) {
    if (!c->n_free) return -1;
    int32_t b = c->free_list[--c->n_free];
    c->ref[b] = 1;
    return b;
}

vkllm_status kvc_reserve(kv_cache *c, int slot, int n) {
    if (n > c->max_blocks * c->block_size)
        return err_set(VKLLM_ERR_CONTEXT_FULL, "context full: %d positions needed, %d available",
                       n, c->max_blocks * c->block_size);
    int32_t *t = c->table + (size_t)slot * c->max_blocks;
    int first = c->n_pos[slot] / c->block_size, last = (n + c->block_size - 1) / c->block_size;
    for (int i = first; i < last; i++) {
        if (t[i] >= 0 && c->ref[t[i]] == 1) continue;
        int32_t nb = kvc_take(c);
        if (nb < 0) return err_set(VKLLM_ERR_CONTEXT_FULL, "kv cache: no free blocks");
        if (t[i] >= 0) { /* shared: copy before writing */
            vkllm_status s = c->be->vt->kv_copy_block(c->be, c->kv, t[i], nb);
            if (s != VKLLM_OK) {
                kvc_release(c, nb);
                return s;
            }
            kvc_release(c, t[i]);
        }
        t[i] = nb;
    }
    return VKLLM_OK;
}

void kvc_commit(kv_cache *c, int slot, int n) {
    if (n > c->n_pos[slot]) c->n_pos[slot] = n;
}

void kvc_truncate(kv_cache *c, int slot, int n) {
    int32_t *t = c->table + (size_t)slot * c->max_blocks;
    int keep = (n + c->block_size - 1) / c->block_size;
    for (int i = keep; i < c->max_blocks; i++)
        if (t[i] >= 0) {
            kvc_release(c, t[i]);
            t[i] = -1;
        }
    if (n < c->n_pos[slot]) c->n_pos[slot] = n;
}

vkllm_status kvc_share(kv_cache *c, int src, int dst, int n) {
    if (n > c->n_pos[src])
        return err_set(VKLLM_ERR_INVALID_ARG, "kv cache: slot %d has only %d positions", src,
                       c->n_pos[src]);
    kvc_truncate(c, dst, 0);
    const int32_t *ts = c->table + (size_t)src * c->max_blocks;
    int32_t *td = c->table + (size_t)dst * c->max_blocks;
    int nb = (n + c->block_size - 1) / c->block_size;
    for (int i = 0; i < nb; i++) {
        td[i] = ts[i];
        c->ref[ts[i]]++;
    }
    c->n_pos[dst] = n;
    return VKLLM_OK;
}

int kvc_n_free(const kv_cache *c) { return c->n_free; }
