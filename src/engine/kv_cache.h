/* kv_cache.h — the paged KV cache: a pool of fixed-size blocks on the backend,
 * a block table per sequence slot, reference counts so sequences can share a
 * common prefix (copy-on-write when a shared block is written). */
#ifndef VKLLM_ENGINE_KV_CACHE_H
#define VKLLM_ENGINE_KV_CACHE_H

#include "backend/backend.h"

typedef struct kv_cache {
    backend *be;
    bk_kv *kv;
    int block_size, n_blocks, n_slots, max_blocks;
    int32_t *table;   /* [n_slots * max_blocks], -1 = none */
    int32_t *n_pos;   /* [n_slots] positions stored per slot */
    uint16_t *ref;    /* [n_blocks] sequences using each block */
    int32_t *free_list;
    int n_free;
    uint64_t bytes;
} kv_cache;

/* n_ctx positions per slot; the pool holds n_slots * ceil(n_ctx / block_size) blocks. */
vkllm_status kvc_create(backend *be, int n_layers, int n_kv_heads, int head_dim, uint32_t type,
                        int n_slots, int n_ctx, kv_cache *out);
void kvc_free(kv_cache *c);
/* Makes positions [0, n) of slot writable: allocates blocks and copies shared
 * blocks that positions >= n_pos[slot] will write (copy-on-write). */
vkllm_status kvc_reserve(kv_cache *c, int slot, int n);
/* Marks positions [0, n) as stored (after a forward pass). */
void kvc_commit(kv_cache *c, int slot, int n);
/* Keeps the first n positions of a slot, releasing the blocks after them. */
void kvc_truncate(kv_cache *c, int slot, int n);
/* dst (emptied first) shares src's first n positions. */
vkllm_status kvc_share(kv_cache *c, int src, int dst, int n);
int kvc_n_free(const kv_cache *c);
/* The element type of a public KV type; Q8_0 needs head_dim % 32 == 0. */
vkllm_status kvc_dtype(vkllm_kv_type t, int head_dim, uint32_t *out);

#endif
