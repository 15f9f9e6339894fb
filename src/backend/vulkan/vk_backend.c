/* vk_backend.c — the Vulkan backend's vtable outside the ops: creation and
 * destruction, weights (uploaded in their stored type, split by rows into
 * shards that each fit one storage binding), activation buffers, the paged
 * KV cache, and the forward-pass bracket. The ops are in vk_ops.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_backend.h"
#include "backend/vulkan/vk_internal.h"
#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

static void vk_destroy(backend *base) {
    vk_backend *b = (vk_backend *)base;
    if (!b) return;
    if (b->d.dev) {
        vkDeviceWaitIdle(b->d.dev);
        vk_profile_report(b);
        vk_profile_destroy(b);
        vk_att_scratch_release(b, 1);
        vk_buffer_destroy(b, &b->staging);
        vk_buffer_destroy(b, &b->dummy);
        vk_arena_destroy(b);
        vk_rec_destroy(b);
        vk_submit_destroy(b);
        vk_pipeline_destroy(b);
    }
    vk_device_close(&b->d);
    mem_free(b);
}

static void vk_weight_free(backend *base, bk_weight *w) {
    if (!w) return;
    vk_buffer_destroy((vk_backend *)base, &w->b);
    mem_free(w->shards);
    mem_free(w);
}

static int vk_weight_type_ok(uint32_t t) {
    switch (t) {
    case DTYPE_F32: case DTYPE_F16: case DTYPE_BF16: case DTYPE_Q8_0: case DTYPE_Q4_0: case DTYPE_Q4_1:
    case DTYPE_Q5_0: case DTYPE_Q5_1: case DTYPE_Q4_K: case DTYPE_Q5_K: case DTYPE_Q6_K: return 1;
    default: return 0;
    }
}

/* Plans the shards: as many whole rows as fit the binding limit (with one
 * word of padding for the shaders' unaligned reads), each at an aligned offset. */
static vkllm_status vk_weight_plan(vk_backend *b, bk_weight *w, VkDeviceSize *total) {
    uint64_t limit = b->weight_limit;
    if (w->row_bytes + 8 > limit)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: weight '%s': a row of %llu bytes exceeds the binding limit %llu",
                       w->name, (unsigned long long)w->row_bytes, (unsigned long long)limit);
    int64_t per = (int64_t)((limit - 8) / w->row_bytes);
    int64_t n = (w->ne1 + per - 1) / per;
    if (n > (1 << 20)) return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: weight '%s': too many shards", w->name);
    w->shards = mem_calloc((size_t)n, sizeof *w->shards);
    if (!w->shards) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    w->n_shards = (int)n;
    uint64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        vk_shard *s = &w->shards[i];
        s->row0 = i * per;
        s->rows = w->ne1 - s->row0 < per ? w->ne1 - s->row0 : per;
        uint64_t bytes = (uint64_t)s->rows * w->row_bytes, range;
        if (!ckmath_align(bytes, 4, &range) || !ckmath_add(range, 4, &range) || !ckmath_align(off, vk_storage_align(b), &off))
            return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: weight '%s' too large", w->name);
        s->off = off;
        s->range = range;
        if (!ckmath_add(off, range, &off)) return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: weight '%s' too large", w->name);
    }
    *total = off;
    return VKLLM_OK;
}

static vkllm_status vk_weight_upload_into(vk_backend *b, const wtensor *t, bk_weight *w) {
    if (!t->data || t->ne0 <= 0 || t->ne1 <= 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: weight '%s': empty or without data", w->name);
    if (!vk_weight_type_ok(t->type))
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: weight '%s': type %s not supported", w->name,
                       dtype_name(t->type));
    w->type = t->type;
    w->ne0 = t->ne0;
    w->ne1 = t->ne1;
    w->row_bytes = dtype_row_bytes(t->type, (uint64_t)t->ne0);
    uint64_t need;
    if (!w->row_bytes || !ckmath_mul(w->row_bytes, (uint64_t)t->ne1, &need) || need != t->nbytes)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: weight '%s': %s [%lld x %lld] needs %llu bytes, has %llu",
                       w->name, dtype_name(t->type), (long long)t->ne1, (long long)t->ne0,
                       (unsigned long long)w->row_bytes * (unsigned long long)t->ne1, (unsigned long long)t->nbytes);
    VkDeviceSize total = 0;
    TRY(vk_weight_plan(b, w, &total));
    char what[128];
    snprintf(what, sizeof what, "weight '%s'", w->name);
    TRY(vk_buffer_create(b, total, 0, what, &w->b));
    for (int i = 0; i < w->n_shards; i++) {
        const vk_shard *s = &w->shards[i];
        TRY(vk_buffer_upload(b, &w->b, s->off, (const char *)t->data + (uint64_t)s->row0 * w->row_bytes,
                             (size_t)((uint64_t)s->rows * w->row_bytes)));
    }
    return VKLLM_OK;
}

static vkllm_status vk_weight_upload(backend *base, const wtensor *t, bk_weight **out) {
    vk_backend *b = (vk_backend *)base;
    *out = NULL;
    bk_weight *w = mem_calloc(1, sizeof *w);
    if (!w) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    snprintf(w->name, sizeof w->name, "%s", t->name ? t->name : "?");
    vkllm_status s = vk_weight_upload_into(b, t, w);
    if (s != VKLLM_OK) {
        vk_weight_free(base, w);
        return s;
    }
    *out = w;
    return VKLLM_OK;
}

static vkllm_status vk_buf_make(backend *base, size_t bytes, int host_visible, bk_buf **out) {
    vk_backend *b = (vk_backend *)base;
    *out = NULL;
    if (bytes == 0 || bytes > b->d.info.max_storage_range)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: activation buffer of %zu bytes (device binding limit %llu)",
                       bytes, (unsigned long long)b->d.info.max_storage_range);
    bk_buf *buf = mem_calloc(1, sizeof *buf);
    if (!buf) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    vkllm_status s = vk_buffer_create(b, bytes, host_visible, host_visible ? "readback buffer" : "activation buffer",
                                      &buf->b);
    if (s != VKLLM_OK) {
        mem_free(buf);
        return s;
    }
    buf->bytes = bytes;
    *out = buf;
    return VKLLM_OK;
}

static vkllm_status vk_buf_alloc(backend *base, size_t bytes, bk_buf **out) { return vk_buf_make(base, bytes, 0, out); }

/* Host-visible (mapped) memory: buf_read copies from the mapping after the
 * pass's fence (each pass ends with a barrier that makes shader writes
 * visible to the host) instead of submitting a copy through the staging
 * buffer and waiting for it: one submission and fence wait less per token. */
static vkllm_status vk_buf_alloc_host(backend *base, size_t bytes, bk_buf **out) {
    return vk_buf_make(base, bytes, 1, out);
}

static void vk_buf_free(backend *base, bk_buf *buf) {
    if (!buf) return;
    vk_buffer_destroy((vk_backend *)base, &buf->b);
    mem_free(buf);
}

static vkllm_status vk_range_ok(const char *what, size_t off, size_t bytes, size_t size) {
    if (off > size || bytes > size - off)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s of %zu bytes at %zu past buffer end %zu", what, bytes, off,
                       size);
    return VKLLM_OK;
}

static vkllm_status vk_buf_write(backend *base, bk_buf *buf, size_t off, const void *src, size_t bytes) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_range_ok("buf_write", off, bytes, buf->bytes));
    if (bytes == 0) return VKLLM_OK;
    if (!b->in_pass) return vk_buffer_upload(b, &buf->b, off, src, bytes);
    /* inside a pass the write must happen in order with the recorded ops */
    vk_bind src_b;
    TRY(vk_arena_push(b, src, bytes, &src_b));
    TRY(vk_barrier_all(b));
    TRY(vk_rec_copy(b, src_b.buf, src_b.off, buf->b.buf, off, bytes));
    return vk_barrier_all(b);
}

static vkllm_status vk_buf_read(backend *base, const bk_buf *buf, size_t off, void *dst, size_t bytes) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_range_ok("buf_read", off, bytes, buf->bytes));
    if (b->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: buf_read inside a forward pass (before end())");
    if (b->lost) return err_set(VKLLM_ERR_DEVICE_LOST, "vulkan: the device was lost earlier");
    if (bytes == 0) return VKLLM_OK;
    return vk_buffer_download(b, &buf->b, off, dst, bytes);
}

static vkllm_status vk_kv_alloc(backend *base, const bk_kv_desc *d, bk_kv **out) {
    vk_backend *b = (vk_backend *)base;
    *out = NULL;
    if (d->n_layers <= 0 || d->n_kv_heads <= 0 || d->head_dim <= 0 || d->block_size <= 0 || d->n_blocks <= 0 ||
        (d->type != DTYPE_F32 && d->type != DTYPE_F16 && d->type != DTYPE_Q8_0) || (d->type == DTYPE_F16 && d->head_dim % 2))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: kv cache: bad shape (%d layers, %d heads, dim %d, %d blocks of %d, %s)",
                       d->n_layers, d->n_kv_heads, d->head_dim, d->n_blocks, d->block_size, dtype_name(d->type));
    if (d->type == DTYPE_Q8_0 && d->head_dim % 32)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: kv cache: q8_0 needs a head dimension that is a multiple of 32, not %d",
                       d->head_dim);
    /* one position: f32/f16 values, or Q8_0 blocks padded to whole words (shaders/common/kv.glsl) */
    uint64_t lb = (uint64_t)d->n_kv_heads * (uint64_t)d->head_dim, stride, total;
    lb = d->type == DTYPE_Q8_0 ? (lb / 32 * 34 + 3) / 4 * 4 : lb * (d->type == DTYPE_F16 ? 2 : 4);
    int ok = ckmath_mul(lb, (uint64_t)d->block_size, &lb) && ckmath_mul(lb, (uint64_t)d->n_blocks, &lb) &&
             ckmath_align(lb, vk_storage_align(b), &stride) && ckmath_mul(stride, 2 * (uint64_t)d->n_layers, &total);
    if (!ok || lb > b->d.info.max_storage_range)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: kv cache: %llu bytes per layer exceed the binding limit %llu",
                       (unsigned long long)lb, (unsigned long long)b->d.info.max_storage_range);
    bk_kv *kv = mem_calloc(1, sizeof *kv);
    if (!kv) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    vkllm_status s = vk_buffer_create(b, total, 0, "kv cache", &kv->b);
    if (s != VKLLM_OK) {
        mem_free(kv);
        return s;
    }
    kv->d = *d;
    kv->layer_bytes = lb;
    kv->layer_stride = stride;
    *out = kv;
    return VKLLM_OK;
}

static void vk_kv_free(backend *base, bk_kv *kv) {
    if (!kv) return;
    vk_buffer_destroy((vk_backend *)base, &kv->b);
    mem_free(kv);
}

static vkllm_status vk_kv_copy_block(backend *base, bk_kv *kv, int src, int dst) {
    vk_backend *b = (vk_backend *)base;
    if (src < 0 || dst < 0 || src >= kv->d.n_blocks || dst >= kv->d.n_blocks)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: kv_copy_block %d -> %d outside 0..%d", src, dst,
                       kv->d.n_blocks - 1);
    if (src == dst) return VKLLM_OK;
    VkDeviceSize blk = kv->layer_bytes / (VkDeviceSize)kv->d.n_blocks;
    int n = 2 * kv->d.n_layers;
    VkBufferCopy *r = mem_calloc((size_t)n, sizeof *r);
    if (!r) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    for (int i = 0; i < n; i++)
        r[i] = (VkBufferCopy){(VkDeviceSize)i * kv->layer_stride + (VkDeviceSize)src * blk,
                              (VkDeviceSize)i * kv->layer_stride + (VkDeviceSize)dst * blk, blk};
    vkllm_status s = VKLLM_OK;
    if (b->in_pass) {
        s = vk_barrier_all(b);
        for (int i = 0; i < n && s == VKLLM_OK; i++)
            s = vk_rec_copy(b, kv->b.buf, r[i].srcOffset, kv->b.buf, r[i].dstOffset, r[i].size);
        if (s == VKLLM_OK) s = vk_barrier_all(b);
    } else {
        VkCommandBuffer cmd;
        s = vk_imm_begin(b, &cmd);
        if (s == VKLLM_OK) {
            vkCmdCopyBuffer(cmd, kv->b.buf, kv->b.buf, (uint32_t)n, r);
            s = vk_imm_end(b);
        }
    }
    mem_free(r);
    return s;
}

/* Copies the batch arrays into the arena as one int32 block:
 * [ids n][pos n][seq n][block_table n_slots*max_blocks]. */
static vkllm_status vk_batch_upload(vk_backend *b, const bk_batch *bt) {
    int n = bt->n_tokens;
    if (n <= 0 || n > 65535 || !bt->ids || !bt->pos || !bt->seq || bt->n_slots < 0 || bt->max_blocks < 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: begin: bad batch (%d tokens, %d slots, %d blocks)", n,
                       bt->n_slots, bt->max_blocks);
    uint64_t n_bt = (uint64_t)bt->n_slots * (uint64_t)bt->max_blocks;
    if (n_bt && !bt->block_table) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: begin: no block table");
    if (n_bt > (1u << 26)) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: begin: block table too large");
    size_t total = (size_t)(3 * (uint64_t)n + n_bt);
    int32_t *tmp = mem_calloc(total, sizeof *tmp);
    if (!tmp) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    memcpy(tmp, bt->ids, (size_t)n * 4);
    memcpy(tmp + n, bt->pos, (size_t)n * 4);
    memcpy(tmp + 2 * n, bt->seq, (size_t)n * 4);
    if (n_bt) memcpy(tmp + 3 * n, bt->block_table, (size_t)n_bt * 4);
    vkllm_status s = vk_arena_push(b, tmp, total * 4, &b->info);
    mem_free(tmp);
    b->off_ids = 0;
    b->off_pos = (uint32_t)n;
    b->off_seq = 2u * (uint32_t)n;
    b->off_bt = 3u * (uint32_t)n;
    return s;
}

static vkllm_status vk_begin(backend *base, const bk_batch *bt) {
    vk_backend *b = (vk_backend *)base;
    if (b->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: begin() inside a forward pass");
    if (!bt) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: begin() without a batch");
    TRY(vk_pass_begin(b));
    b->in_pass = 1;
    b->xh_valid = 0;
    b->batch = bt;
    b->rk_pending = 0;
    vkllm_status s = vk_batch_upload(b, bt);
    if (s != VKLLM_OK) {
        b->n_recs = 0;
        b->in_pass = 0;
        b->batch = NULL;
    }
    return s;
}

static vkllm_status vk_end(backend *base) {
    vk_backend *b = (vk_backend *)base;
    if (!b->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: end() without begin()");
    vkllm_status s = vk_ops_flush(b);
    b->in_pass = 0;
    b->batch = NULL;
    vkllm_status e = vk_pass_end(b);
    return s != VKLLM_OK ? s : e;
}

static backend_vt vk_vt = {
    .name = "vulkan",
    .destroy = vk_destroy,
    .weight_upload = vk_weight_upload,
    .weight_free = vk_weight_free,
    .buf_alloc = vk_buf_alloc,
    .buf_alloc_host = vk_buf_alloc_host,
    .buf_free = vk_buf_free,
    .buf_write = vk_buf_write,
    .buf_read = vk_buf_read,
    .kv_alloc = vk_kv_alloc,
    .kv_free = vk_kv_free,
    .kv_copy_block = vk_kv_copy_block,
    .begin = vk_begin,
    .end = vk_end,
};
static int vk_vt_ready;

/* The matvec shape: VK_MV_WG threads (VK_MV_WG1 for float weights and one
 * token, VK_MV_WG_Q for quantized weights, whose
 * threads each take a whole 32-element unit: 64 cover a 2048-wide row) x
 * VK_MV_NR rows, or VKLLM_VK_MATVEC="WG,NR" for both (for tuning on a device:
 * WG a power of two from 32 to 256 and a multiple of the subgroup size, NR
 * 1..8; anything else keeps the defaults). */
static void vk_matvec_shape(vk_backend *b) {
    b->mv_wg = VK_MV_WG;
    b->mv_wg1 = VK_MV_WG1;
    b->mv_wg_q = VK_MV_WG_Q;
    b->mv_nr = VK_MV_NR;
    uint32_t sg = b->d.info.subgroup_size ? b->d.info.subgroup_size : 1;
    if (b->mv_wg_q % sg) b->mv_wg_q = b->mv_wg;
    if (b->mv_wg1 % sg) b->mv_wg1 = b->mv_wg;
    const char *e = getenv("VKLLM_VK_MATVEC");
    unsigned wg, nr;
    if (!e || sscanf(e, "%u,%u", &wg, &nr) != 2) return;
    if (wg < 32 || wg > 256 || (wg & (wg - 1)) || wg % sg || nr < 1 || nr > 8) return;
    b->mv_wg = b->mv_wg1 = b->mv_wg_q = wg;
    b->mv_nr = nr;
}

static vkllm_status vk_init(vk_backend *b, const vk_backend_opts *o) {
    TRY(vk_device_open(&b->d, o->device_index));
    vk_matvec_shape(b);
    b->max_binding_mb = o->max_binding_mb;
    b->no_subgroup = o->no_subgroup || !b->d.info.subgroup_arith;
    /* gemm_cm.comp and attention_cm.comp take up to 42 KiB of shared memory;
     * VKLLM_VK_COOPMAT=0: the portable GEMM on any device (comparisons) */
    b->use_cm = b->d.info.coopmat_nv && b->d.info.max_shared >= 43008u && !vk_env_is("VKLLM_VK_COOPMAT", "0");
    /* VKLLM_VK_GEMM_MIN=N (16..4096): the GEMM from N tokens (small batches
     * on the matvec instead: a comparison to make on each device) */
    b->gemm_min = vk_env_int("VKLLM_VK_GEMM_MIN", VK_GEMM_MIN_TOK, 4096, VK_GEMM_MIN_TOK);
    b->mv_plain = vk_env_is("VKLLM_VK_MATVEC_SX", "0");
    /* VKLLM_VK_BINDINGS=8: as on a device that allows no more (tests) */
    b->nbind = b->d.info.max_storage_buffers >= VK_NBIND && vk_env_int("VKLLM_VK_BINDINGS", 0, 64, 0) != VK_NBIND_MIN
                   ? VK_NBIND : VK_NBIND_MIN;
    /* measured slower on the H200 (docs/PERF.md): on with VKLLM_VK_ROPE_FUSE=1;
     * attention_gqa_rope binds VK_NBIND buffers */
    b->rope_fuse = vk_env_is("VKLLM_VK_ROPE_FUSE", "1") && b->nbind == VK_NBIND;
    /* VKLLM_VK_QKV_ROPE=0: decode's rope and KV store as their own dispatch
     * (rope_kv.comp) instead of in the q/k/v matvecs (comparisons, tests) */
    b->qkv_rope = !vk_env_is("VKLLM_VK_QKV_ROPE", "0");
    b->gemm_split = !vk_env_is("VKLLM_VK_GEMM_SPLIT", "0");
    b->gemm_split_tiles = vk_env_int("VKLLM_VK_GEMM_SPLIT_TILES", 0, 1 << 20, VK_GEMM_SPLIT_TILES);
    b->gemm_xh = vk_env_int("VKLLM_VK_GEMM_XH", 0, 1 << 20, VK_GEMM_XH_MIN);
    b->mvx_direct = vk_env_is("VKLLM_VK_MVX_DIRECT", "1");
    b->mvx_sg = vk_env_int("VKLLM_VK_MVX_SG", 1, 8, 0);
    b->mvx_split_light = vk_env_is("VKLLM_VK_MVX_SPLIT_LIGHT", "1");
    b->mvx_hsplit = vk_env_int("VKLLM_VK_MVX_SPLIT", 1, 2, 0); /* 0: by type and rows (vk_ops.c) */
    b->att_gqa = !b->no_subgroup && b->d.info.subgroup_shuffle && !vk_env_is("VKLLM_VK_ATT_GQA", "0");
    b->pad_phases = vk_env_int("VKLLM_VK_PAD", 1, 64, 0);
    b->pad_nb = vk_env_int("VKLLM_VK_PAD_NB", 1, 64, 0);
    const char *sk = getenv("VKLLM_VK_SKIP");
    b->skip = sk ? atoi(sk) & 31 : 0;
    if (b->skip) log_msg(LOG_WARN, "vulkan: VKLLM_VK_SKIP=%d: some ops are left out, results are wrong (timing only)", b->skip);
    uint64_t lim = b->d.info.max_storage_range;
    if (lim > (1ull << 31)) lim = 1ull << 31; /* shaders use 32-bit byte offsets */
    if (o->max_binding_mb > 0 && ((uint64_t)o->max_binding_mb << 20) < lim) lim = (uint64_t)o->max_binding_mb << 20;
    b->weight_limit = lim;
    TRY(vk_pipeline_init(b));
    TRY(vk_submit_init(b));
    b->profile = o->profile;
    TRY(vk_profile_init(b));
    TRY(vk_buffer_create(b, 256, 0, "dummy buffer", &b->dummy));
    b->base.kind = VKLLM_BACKEND_VULKAN;
    snprintf(b->base.device_name, sizeof b->base.device_name, "%s", b->d.info.name);
    return VKLLM_OK;
}

vkllm_status vk_backend_create_opts(const vk_backend_opts *o, backend **out) {
    *out = NULL;
    if (o->max_binding_mb < 0) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: max_binding_mb %d < 0", o->max_binding_mb);
    if (!vk_vt_ready) {
        vk_ops_install(&vk_vt);
        vk_vt_ready = 1;
    }
    vk_backend *b = mem_calloc(1, sizeof *b);
    if (!b) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    b->base.vt = &vk_vt;
    vkllm_status s = vk_init(b, o);
    if (s != VKLLM_OK) {
        vk_destroy(&b->base);
        return s;
    }
    *out = &b->base;
    return VKLLM_OK;
}

int vk_backend_coopmat(const backend *b) { return ((const vk_backend *)b)->use_cm; }

vkllm_status vk_backend_create(int device_index, int max_binding_mb, backend **out) {
    vk_backend_opts o = {.device_index = device_index, .max_binding_mb = max_binding_mb, .profile = 0};
    return vk_backend_create_opts(&o, out);
}
