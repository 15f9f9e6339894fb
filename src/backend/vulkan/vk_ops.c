/* vk_ops.c — the backend ops: each checks its sizes on the host, fills its
 * push constants, marks what it reads and writes for the barrier tracker and
 * records one dispatch (or one per weight shard / row segment) into the
 * pass's command buffer. Kernels are in shaders/<op>.comp. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"

/* Push constants: the same fields, in the same order, as each shader's PC block. */
typedef struct {
    uint32_t ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type, n_split, k_units;
} pc_matmul;
typedef struct {
    uint32_t ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type, norm_type;
    float eps;
    /* the one-token rope / KV epilogue (vk_qkv_rope_kv), else 0 */
    uint32_t head_dim, block_size, max_blocks, pos_off, seq_off, bt_off;
} pc_matvec;
typedef struct {
    uint32_t n_tok, n_heads, n_kv_heads, head_dim, mode, kv_type, block_size, max_blocks, pos_off, seq_off, bt_off;
} pc_rope_kv;
typedef struct { uint32_t ne0, row_bytes, row_lo, row_hi, n_tok, ids_off; } pc_embed;
typedef struct { uint32_t n, n_rows, w_type; float eps; uint32_t row0; } pc_rmsnorm;
typedef struct { uint32_t n_tok, n_heads, head_dim, n_dims, mode, pos_off; } pc_rope;
typedef struct { uint32_t n_tok, row, block_size, max_blocks, kv_type, pos_off, seq_off, bt_off; } pc_kv_write;
typedef struct {
    uint32_t n_tok, n_heads, n_kv_heads, head_dim, block_size, max_blocks, kv_type;
    float scale;
    uint32_t pos_off, seq_off, bt_off, chunk, n_chunks, rope_mode;
} pc_attention;
typedef struct { uint32_t n; } pc_n;
typedef struct { uint32_t ne0, n_tok, ne0p; } pc_x_f16;
typedef struct { uint32_t n_rows, n; } pc_rows;
_Static_assert(sizeof(pc_matmul) == 40 && sizeof(pc_matmul) <= VK_PC_MAX, "matmul push constants");
_Static_assert(sizeof(pc_matvec) == 64 && sizeof(pc_matvec) <= VK_PC_MAX, "matvec push constants");
_Static_assert(sizeof(pc_rope_kv) == 44 && sizeof(pc_rope_kv) <= VK_PC_MAX, "rope_kv push constants");
_Static_assert(sizeof(pc_embed) == 24, "embed push constants");
_Static_assert(sizeof(pc_rmsnorm) == 20, "rmsnorm push constants");
_Static_assert(sizeof(pc_rope) == 24, "rope push constants");
_Static_assert(sizeof(pc_kv_write) == 32, "kv_write push constants");
_Static_assert(sizeof(pc_attention) == 56 && sizeof(pc_attention) <= VK_PC_MAX, "attention push constants");
_Static_assert(sizeof(pc_n) == 4 && sizeof(pc_rows) == 8, "elementwise push constants");

#define VK_MAX_GROUPS 65535u

static vkllm_status vk_op_ready(vk_backend *b, const char *op) {
    if (b->lost) return err_set(VKLLM_ERR_DEVICE_LOST, "vulkan: %s: the device was lost earlier", op);
    if (!b->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s outside begin()/end()", op);
    return vk_ops_flush(b); /* a deferred rope_kv_write that this op did not take over */
}

/* Buffer holds at least count elements of 4 bytes (count computed without overflow). */
static vkllm_status vk_fits(const char *op, const char *what, const bk_buf *x, uint64_t a, uint64_t bb) {
    if (!x) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: %s is NULL", op, what);
    if (a && bb > UINT64_MAX / 4 / a) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: %s size overflows", op, what);
    if (a * bb * 4 > x->bytes)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: %s needs %llu bytes, buffer has %zu", op, what,
                       (unsigned long long)(a * bb * 4), x->bytes);
    return VKLLM_OK;
}

static vk_bind vk_bb(const bk_buf *x) { return (vk_bind){x->b.buf, 0, x->bytes}; }

static uint32_t vk_groups(uint64_t n) {
    uint64_t g = (n + VK_WG - 1) / VK_WG;
    return g == 0 ? 1 : g > VK_MAX_GROUPS ? VK_MAX_GROUPS : (uint32_t)g;
}

static const char *vk_type_tag(uint32_t t) { return dtype_name(t); }

static vkllm_status vk_embed(backend *base, bk_buf *out, const bk_weight *table) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "embed"));
    const bk_batch *bt = b->batch;
    TRY(vk_fits("embed", "out", out, (uint64_t)bt->n_tokens, (uint64_t)table->ne0));
    for (int t = 0; t < bt->n_tokens; t++)
        if (bt->ids[t] < 0 || bt->ids[t] >= table->ne1)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: embed: token id %d outside 0..%lld", bt->ids[t],
                           (long long)table->ne1 - 1);
    char name[32];
    snprintf(name, sizeof name, "embed_%s", vk_type_tag(table->type));
    VkPipeline p;
    TRY(vk_pipeline_get(b, name, 1, &p));
    VkBuffer rd[1] = {b->info.buf}, wr[1] = {out->b.buf};
    TRY(vk_hazard(b, rd, 1, wr, 1));
    for (int i = 0; i < table->n_shards; i++) {
        const vk_shard *s = &table->shards[i];
        pc_embed pc = {(uint32_t)table->ne0, (uint32_t)table->row_bytes, (uint32_t)s->row0,
                       (uint32_t)(s->row0 + s->rows), (uint32_t)bt->n_tokens, b->off_ids};
        vk_bind bind[3] = {{table->b.buf, s->off, s->range}, b->info, vk_bb(out)};
        TRY(vk_dispatch(b, p, bind, 3, &pc, sizeof pc, (uint32_t)bt->n_tokens, 1));
    }
    return VKLLM_OK;
}

static int vk_float_type(uint32_t t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16; }

static vkllm_status vk_rmsnorm(backend *base, bk_buf *out, const bk_buf *x, const bk_weight *w, int n_rows, int n,
                               float eps) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "rmsnorm"));
    if (n_rows <= 0 || n <= 0 || !vk_float_type(w->type) || w->ne0 * w->ne1 != n || w->n_shards != 1)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: rmsnorm: %d rows of %d with weight '%s' (%s, %lld values)",
                       n_rows, n, w->name, dtype_name(w->type), (long long)(w->ne0 * w->ne1));
    TRY(vk_fits("rmsnorm", "x", x, (uint64_t)n_rows, (uint64_t)n));
    TRY(vk_fits("rmsnorm", "out", out, (uint64_t)n_rows, (uint64_t)n));
    VkPipeline p;
    TRY(vk_pipeline_get(b, "rmsnorm", 1, &p));
    VkBuffer rd[1] = {x->b.buf}, wr[1] = {out->b.buf};
    TRY(vk_hazard(b, rd, 1, wr, 1));
    vk_bind bind[3] = {{w->b.buf, w->shards[0].off, w->shards[0].range}, vk_bb(x), vk_bb(out)};
    for (uint32_t r0 = 0; r0 < (uint32_t)n_rows; r0 += VK_MAX_GROUPS) {
        uint32_t nr = (uint32_t)n_rows - r0 < VK_MAX_GROUPS ? (uint32_t)n_rows - r0 : VK_MAX_GROUPS;
        pc_rmsnorm pc = {(uint32_t)n, (uint32_t)n_rows, w->type, eps, r0};
        TRY(vk_dispatch(b, p, bind, 3, &pc, sizeof pc, nr, 1));
    }
    return VKLLM_OK;
}

/* The input stage of a fused matvec: binding 4 and the push-constant fields. */
typedef struct vk_mv_in {
    uint32_t mode, norm_type;
    float eps;
    vk_bind b4;
    VkBuffer extra_rd[2]; /* buffers read besides x (glu up, out when accumulating) */
    int n_extra;
} vk_mv_in;

/* The output stage of a one-token matvec with rope and the KV store
 * (vk_qkv_rope_kv, shaders/common/mv_rope.glsl): the VK_MV_ROPE, VK_MV_KV,
 * VK_MV_NEOX and VK_MV_KV_F16 bits (the output binding is then q or a
 * cache layer); the batch info and fb (the inverse frequencies) are bound
 * at 5 and 6. */
typedef struct vk_mv_ep {
    uint32_t mode;
    vk_bind fb;
    uint32_t head_dim, block_size, max_blocks;
} vk_mv_ep;
#define VK_MV_EP_NBIND 7

/* One token of quantized weights: x' staged in shared memory, VK_MVX_ROWS
 * rows per workgroup (matvec_sx.comp), where the device and the row allow. */
static int vk_mv_sx(const vk_backend *b, const bk_weight *w, int n_tok) {
    return n_tok == 1 && !b->no_subgroup && !vk_float_type(w->type) && w->ne0 <= VK_MVX_MAXE && w->ne0 % 4 == 0 &&
           !b->mv_plain && VK_MVX_SHARED <= b->d.info.max_shared;
}

/* matvec_sx's subgroups a row pair: VK_MVX_ROWS / this rows a workgroup.
 * Two (half a lane's chain, twice the workgroups) for Q8_0 and the K types
 * up to VK_MVX_SPLIT_ROWS rows: measured on the H200 (docs/PERF.md, tinyllama
 * Q8_0 decode 543 -> 563 tok/s, Q4_K_M 574 -> 595); slower for the 4-bit
 * 32-element types (Q4_0 714 -> 662) and for llama3-8b's larger weights. */
#define VK_MVX_SPLIT_ROWS 2048
static uint32_t vk_mvx_hsplit(const vk_backend *b, const bk_weight *w) {
    if (b->mvx_direct) return 1u;
    if (b->mvx_hsplit) return (uint32_t)b->mvx_hsplit;
    int light = !b->mvx_split_light &&
                (w->type == DTYPE_Q4_0 || w->type == DTYPE_Q4_1 || w->type == DTYPE_Q5_0 || w->type == DTYPE_Q5_1);
    return !light && w->ne1 <= VK_MVX_SPLIT_ROWS ? 2u : 1u;
}

/* Records the matvec dispatches of vk_matvec (no hazard check) into the
 * range out, with the epilogue ep (else NULL). */
static vkllm_status vk_matvec_rec(vk_backend *b, vk_bind out, const bk_weight *w, const bk_buf *x, uint32_t bias_type,
                                  vk_bind bias_b, const vk_mv_in *in, int n_tok, const vk_mv_ep *ep) {
    int sx = vk_mv_sx(b, w, n_tok);
    /* matvec_sx: subgroups a row pair (its spec constant 2, so never 0) */
    uint32_t hsplit = vk_mvx_hsplit(b, w);
    const uint32_t nr_wg = sx ? VK_MVX_ROWS / hsplit : b->mv_nr, seg = VK_MAX_GROUPS * nr_wg;
    for (int i = 0; i < w->n_shards; i++) {
        const vk_shard *s = &w->shards[i];
        int wide = vk_float_type(w->type) && w->row_bytes % 16 == 0 && s->off % 16 == 0;
        /* tokens per workgroup: up to VK_MV_NT_MAX on the wide path; one where
         * each thread decodes whole units (that code, repeated per token, would
         * be large), a workgroup row per token */
        uint32_t nt = !wide ? 1u : (uint32_t)n_tok < VK_MV_NT_MAX ? (uint32_t)n_tok : VK_MV_NT_MAX;
        uint32_t gy = ((uint32_t)n_tok + nt - 1) / nt;
        char name[32];
        if (sx)
            snprintf(name, sizeof name, "matvec_sx_%s", vk_type_tag(w->type));
        else
            snprintf(name, sizeof name, "matvec_%s%s%s", vk_type_tag(w->type), wide ? "_w" : "",
                     b->no_subgroup ? "" : "_sg");
        VkPipeline p;
        /* matvec_sx's 256 threads are fixed in the shader; its constant 2 is hsplit */
        uint32_t wg = sx ? hsplit : !vk_float_type(w->type) ? b->mv_wg_q : nt == 1 ? b->mv_wg1 : b->mv_wg;
        uint32_t mode = in->mode | (sx && b->mvx_direct && !(in->mode & VK_MV_GLU) ? VK_MV_DIRECT : 0u);
        if (ep) mode |= ep->mode;
        /* matvec_sx's constant 0 (in place of the token tile): x vectors each
         * of its 256 threads loads at once in staging, enough for the row in
         * one round (1024 elements a round), or b->mvx_sg (VKLLM_VK_MVX_SG) */
        _Static_assert((VK_MVX_MAXE + 1023) / 1024 <= 8, "matvec_sx stages at most 8 vectors a thread at once");
        uint32_t c0 = !sx ? nt : b->mvx_sg ? (uint32_t)b->mvx_sg : (uint32_t)((w->ne0 + 1023) / 1024);
        TRY(vk_pipeline_get_mode(b, name, c0, mode | wg << 16, &p));
        vk_bind bind[VK_MV_EP_NBIND] = {{w->b.buf, s->off, s->range}, vk_bb(x), out, bias_b, in->b4};
        if (ep) {
            bind[5] = b->info;
            bind[6] = ep->fb;
        }
        for (uint32_t r0 = 0; r0 < (uint32_t)s->rows; r0 += seg) {
            uint32_t nr = (uint32_t)s->rows - r0 < seg ? (uint32_t)s->rows - r0 : seg;
            pc_matvec pc = {(uint32_t)w->ne0, nr, r0, (uint32_t)s->row0 + r0, (uint32_t)w->ne1, (uint32_t)n_tok,
                            (uint32_t)w->row_bytes, bias_type, in->norm_type, in->eps, 0, 0, 0, 0, 0, 0};
            if (ep) {
                pc.head_dim = ep->head_dim;
                pc.block_size = ep->block_size;
                pc.max_blocks = ep->max_blocks;
                pc.pos_off = b->off_pos;
                pc.seq_off = b->off_seq;
                pc.bt_off = b->off_bt;
            }
            b->prof_bytes = (uint64_t)nr * w->row_bytes;
            b->prof_ne0 = (uint32_t)w->ne0;
            uint32_t gx = (nr + nr_wg - 1) / nr_wg;
            if (b->skip & VK_SKIP_MATVEC_WG) gx = gy = 1; /* timing only: one workgroup's rows */
            TRY(vk_dispatch(b, p, bind, ep ? VK_MV_EP_NBIND : 5, &pc, sizeof pc, gx, gy));
        }
    }
    return VKLLM_OK;
}

/* Up to b->gemm_min - 1 tokens (decode, small batches): matvec.comp,
 * b->mv_nr rows x up to VK_MV_NT_MAX tokens per workgroup; float weights
 * whose rows and shard start are 16-byte aligned take the WIDE variant
 * (16-byte loads); one token of quantized weights matvec_sx.comp. Sizes
 * were checked by the caller. */
static vkllm_status vk_matvec(vk_backend *b, bk_buf *out, const bk_weight *w, const bk_buf *x, uint32_t bias_type,
                              vk_bind bias_b, const vk_mv_in *in, int n_tok) {
    VkBuffer rd[3] = {x->b.buf}, wr[1] = {out->b.buf};
    for (int i = 0; i < in->n_extra; i++) rd[1 + i] = in->extra_rd[i];
    TRY(vk_hazard(b, rd, 1 + in->n_extra, wr, 1));
    if (b->skip & VK_SKIP_MATVEC) return VKLLM_OK;
    return vk_matvec_rec(b, vk_bb(out), w, x, bias_type, bias_b, in, n_tok, NULL);
}

/* The bias of a matmul of w (float, a value per row, one shard) or NULL:
 * fills its type (VK_NO_BIAS without) and binding. */
static vkllm_status vk_bias_check(const char *op, const bk_weight *w, const bk_weight *bias, uint32_t *bias_type,
                                  vk_bind *bias_b) {
    *bias_type = VK_NO_BIAS;
    *bias_b = (vk_bind){0};
    if (bias) {
        if (!vk_float_type(bias->type) || bias->ne0 * bias->ne1 != w->ne1 || bias->n_shards != 1)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s '%s': bias '%s' (%s, %lld values) for %lld rows", op,
                           w->name, bias->name, dtype_name(bias->type), (long long)(bias->ne0 * bias->ne1),
                           (long long)w->ne1);
        *bias_type = bias->type;
        *bias_b = (vk_bind){bias->b.buf, bias->shards[0].off, bias->shards[0].range};
    }
    return VKLLM_OK;
}

/* The checks every matmul makes; fills the bias binding. */
static vkllm_status vk_mm_check(vk_backend *b, const char *op, bk_buf *out, const bk_weight *w, const bk_buf *x,
                                const bk_weight *bias, int n_rows, uint32_t *bias_type, vk_bind *bias_b) {
    TRY(vk_op_ready(b, op));
    if (n_rows <= 0 || n_rows > 65535)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s '%s': %d rows", op, w->name, n_rows);
    TRY(vk_fits(op, "x", x, (uint64_t)n_rows, (uint64_t)w->ne0));
    TRY(vk_fits(op, "out", out, (uint64_t)n_rows, (uint64_t)w->ne1));
    return vk_bias_check(op, w, bias, bias_type, bias_b);
}

static vkllm_status vk_scratch(vk_backend *b, vk_buffer *part, vk_buffer *cnt, uint64_t part_bytes, uint64_t cnt_bytes,
                               const char *what);
static vkllm_status vk_att_fit(vk_backend *b, vk_buffer *buf, uint64_t bytes, uint64_t min, const char *what,
                               int *made);

/* gemm_cm.comp's x as f16 rows (x_f16.comp) in b->xh_buf, unless the last
 * conversion still holds this x; *out binds it and *ok = 1, or *ok = 0 where
 * it would not fit one binding or one dispatch (the f32 path then). */
static vkllm_status vk_gemm_xh(vk_backend *b, const bk_buf *x, uint32_t ne0, uint32_t n_tok, vk_bind *out, int *ok) {
    uint64_t ne0p = ((uint64_t)ne0 + 63) & ~(uint64_t)63;
    uint64_t ntp = ((uint64_t)n_tok + VK_GEMM_CM_TOK - 1) / VK_GEMM_CM_TOK * VK_GEMM_CM_TOK, bytes = ne0p * ntp * 2;
    *ok = 0;
    if (bytes > b->d.info.max_storage_range || ntp > 65535) return VKLLM_OK;
    if (!b->xh_valid || b->xh_src != x->b.buf || b->xh_ne0 != ne0 || b->xh_ntok != n_tok) {
        b->xh_valid = 0; /* until the conversion is recorded (xh_buf may be replaced first) */
        int made;
        TRY(vk_att_fit(b, &b->xh_buf, bytes, 1u << 20, "GEMM f16 x", &made));
        VkPipeline p;
        TRY(vk_pipeline_get(b, "x_f16", 1, &p));
        VkBuffer rd[1] = {x->b.buf}, wr[1] = {b->xh_buf.buf};
        TRY(vk_hazard(b, rd, 1, wr, 1));
        vk_bind bind[2] = {vk_bb(x), {b->xh_buf.buf, 0, bytes}};
        pc_x_f16 pc = {ne0, n_tok, (uint32_t)ne0p};
        b->prof_bytes = 0;
        b->prof_ne0 = ne0;
        TRY(vk_dispatch(b, p, bind, 2, &pc, sizeof pc, (uint32_t)((ne0p / 8 + 255) / 256), (uint32_t)ntp));
        b->xh_src = x->b.buf;
        b->xh_ne0 = ne0;
        b->xh_ntok = n_tok;
        b->xh_valid = 1;
    }
    *out = (vk_bind){b->xh_buf.buf, 0, bytes};
    *ok = 1;
    return VKLLM_OK;
}

/* split-K of gemm_cm.comp: up to VK_GEMM_SPLIT_MAX parts, for about this many
 * workgroups, in GEMMs of one token tile and fewer than VK_GEMM_SPLIT_GROUPS
 * tiles, or of fewer than VK_GEMM_SPLIT_TILES tiles (VKLLM_VK_GEMM_SPLIT_TILES
 * sets it): pp512 of tinyllama's 2048-row weights, 128 tiles, split in two
 * measured 26,145 -> 29,094 tok/s for Q4_0 on the H200 (F16 and llama3-8b
 * unchanged; docs/PERF.md) */
#define VK_GEMM_SPLIT_GROUPS 256u

/* Many tokens: gemm.comp, 64-row x 64-token tiles, or gemm_cm.comp on
 * NVIDIA cooperative matrices, 128 x 64. Sizes were checked by the caller. */
static vkllm_status vk_gemm(vk_backend *b, bk_buf *out, const bk_weight *w, const bk_buf *x, uint32_t bias_type,
                            vk_bind bias_b, int n_tok) {
    char name[32];
    snprintf(name, sizeof name, "gemm%s_%s", b->use_cm ? "_cm" : "", vk_type_tag(w->type));
    vk_bind xb = vk_bb(x);
    int xh = 0;
    if (b->use_cm && b->gemm_xh > 0 && n_tok >= b->gemm_xh)
        TRY(vk_gemm_xh(b, x, (uint32_t)w->ne0, (uint32_t)n_tok, &xb, &xh));
    VkPipeline p;
    TRY(vk_pipeline_get_mode(b, name, 1, (uint32_t)xh, &p));
    const uint32_t rt = b->use_cm ? VK_GEMM_CM_ROWS : VK_GEMM_TILE, tt = b->use_cm ? VK_GEMM_CM_TOK : VK_GEMM_TILE;
    const uint32_t seg = VK_MAX_GROUPS * rt;
    uint32_t gy = ((uint32_t)n_tok + tt - 1) / tt;
    uint32_t nu = (uint32_t)(w->ne0 + 31) / 32;
    int first = 1; /* x and out: one hazard check for all shards (their rows are disjoint) */
    for (int i = 0; i < w->n_shards; i++) {
        const vk_shard *s = &w->shards[i];
        for (uint32_t r0 = 0; r0 < (uint32_t)s->rows; r0 += seg) {
            uint32_t nr = (uint32_t)s->rows - r0 < seg ? (uint32_t)s->rows - r0 : seg;
            uint32_t gx = (nr + rt - 1) / rt, n_split = 1, k_units = (nu + 1) & ~1u;
            /* split-K (gemm_cm.comp) when the tiles alone leave the GPU idle:
             * ~VK_GEMM_SPLIT_GROUPS workgroups, each at least two steps of K */
            if (b->use_cm && b->gemm_split &&
                ((gy == 1 && (uint64_t)gx < VK_GEMM_SPLIT_GROUPS) || (uint64_t)gx * gy < (uint64_t)b->gemm_split_tiles)) {
                uint32_t want = (uint32_t)((VK_GEMM_SPLIT_GROUPS + (uint64_t)gx * gy - 1) / ((uint64_t)gx * gy));
                if (want > VK_GEMM_SPLIT_MAX) want = VK_GEMM_SPLIT_MAX;
                k_units = ((nu + want - 1) / want + 1) & ~1u;
                if (k_units < 4) k_units = 4;
                n_split = (nu + k_units - 1) / k_units;
                if (n_split < 2) n_split = 1, k_units = (nu + 1) & ~1u;
            }
            vk_bind bind[6] = {{w->b.buf, s->off, s->range}, xb, vk_bb(out), bias_b};
            VkBuffer rd[3] = {xb.buf}, wr[3] = {out->b.buf};
            int n_rw = 1;
            if (n_split > 1) {
                uint64_t tiles = (uint64_t)gx * gy, part_bytes = tiles * n_split * rt * tt * 4;
                TRY(vk_scratch(b, &b->gemm_part, &b->gemm_cnt, part_bytes, tiles * 4, "GEMM partials"));
                bind[4] = (vk_bind){b->gemm_part.buf, 0, part_bytes};
                bind[5] = (vk_bind){b->gemm_cnt.buf, 0, tiles * 4};
                rd[1] = wr[1] = b->gemm_part.buf;
                rd[2] = wr[2] = b->gemm_cnt.buf;
                n_rw = 3;
            }
            if (first || n_split > 1) TRY(vk_hazard(b, rd + !first, n_rw - !first, wr + !first, n_rw - !first));
            first = 0;
            pc_matmul pc = {(uint32_t)w->ne0, nr, r0, (uint32_t)s->row0 + r0, (uint32_t)w->ne1,
                            (uint32_t)n_tok, (uint32_t)w->row_bytes, bias_type, n_split, k_units};
            b->prof_bytes = (uint64_t)nr * w->row_bytes;
            b->prof_ne0 = (uint32_t)w->ne0;
            TRY(vk_dispatch_3d(b, p, bind, 6, &pc, sizeof pc, gx, gy, n_split));
        }
    }
    return VKLLM_OK;
}

static vkllm_status vk_matmul(backend *base, bk_buf *out, const bk_weight *w, const bk_buf *x,
                              const bk_weight *bias, int n_rows) {
    vk_backend *b = (vk_backend *)base;
    uint32_t bias_type = VK_NO_BIAS;
    vk_bind bias_b = {0};
    TRY(vk_mm_check(b, "matmul", out, w, x, bias, n_rows, &bias_type, &bias_b));
    if (n_rows >= b->gemm_min) return vk_gemm(b, out, w, x, bias_type, bias_b, n_rows);
    vk_mv_in in = {0};
    return vk_matvec(b, out, w, x, bias_type, bias_b, &in, n_rows);
}

/* The rmsnorm input of a fused matvec over rows of ne0 (f->norm, if any:
 * a float weight of ne0 values in one shard, eps >= 0) into in. Errors name
 * op and the weight wname (NULL: none). */
static vkllm_status vk_norm_in(const char *op, const char *wname, int64_t ne0, const bk_fuse *f, vk_mv_in *in) {
    const bk_weight *nw = f->norm;
    if (!nw) return VKLLM_OK;
    if (!vk_float_type(nw->type) || nw->ne0 * nw->ne1 != ne0 || nw->n_shards != 1 || !(f->eps >= 0))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s%s%s%s: norm '%s' (%s, %lld values, eps %g) for rows of %lld", op,
                       wname ? " '" : "", wname ? wname : "", wname ? "'" : "", nw->name, dtype_name(nw->type),
                       (long long)(nw->ne0 * nw->ne1), (double)f->eps, (long long)ne0);
    in->mode |= VK_MV_NORM;
    in->norm_type = nw->type;
    in->b4 = (vk_bind){nw->b.buf, nw->shards[0].off, nw->shards[0].range};
    return VKLLM_OK;
}

/* Fused for fewer than b->gemm_min tokens (the matvec kernel); longer
 * prompts compose the plain ops. */
static vkllm_status vk_matmul_fused(backend *base, bk_buf *out, const bk_weight *w, const bk_buf *x,
                                    const bk_weight *bias, int n_rows, const bk_fuse *f) {
    vk_backend *b = (vk_backend *)base;
    uint32_t bias_type = VK_NO_BIAS;
    vk_bind bias_b = {0};
    TRY(vk_mm_check(b, "matmul_fused", out, w, x, bias, n_rows, &bias_type, &bias_b));
    if (!f || (f->norm && f->glu_up))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: matmul_fused '%s': norm and glu together", w->name);
    if (out == x || (f->glu_up && out == f->glu_up))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: matmul_fused '%s': out aliases an input", w->name);
    if (n_rows >= b->gemm_min)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: matmul_fused '%s': %d rows (fewer than %d only)", w->name,
                       n_rows, b->gemm_min);
    vk_mv_in in = {.mode = f->accumulate ? VK_MV_ACC : 0, .eps = f->eps};
    TRY(vk_norm_in("matmul_fused", w->name, w->ne0, f, &in));
    if (f->glu_up) {
        TRY(vk_fits("matmul_fused", "glu_up", f->glu_up, (uint64_t)n_rows, (uint64_t)w->ne0));
        in.mode |= VK_MV_GLU;
        in.b4 = vk_bb(f->glu_up);
        in.extra_rd[in.n_extra++] = f->glu_up->b.buf;
    }
    if (f->accumulate) in.extra_rd[in.n_extra++] = out->b.buf;
    return vk_matvec(b, out, w, x, bias_type, bias_b, &in, n_rows);
}

/* The inverse frequencies of r in the pass's arena, computed as the HF
 * reference does, in f32 (the CPU backend does the same). Every layer uses
 * the same rope, so they are computed and pushed once per pass (the frequency
 * factors are compared by address: host arrays are borrowed until end()). */
static vkllm_status vk_rope_freqs(vk_backend *b, const bk_rope *r, vk_bind *out) {
    if (b->rope_ok && b->rope_dims == r->n_dims && b->rope_theta == r->theta && b->rope_ff == r->freq_factors) {
        *out = b->rope_fb;
        return VKLLM_OK;
    }
    int half = r->n_dims / 2;
    float *inv = mem_calloc((size_t)half, sizeof *inv);
    if (!inv) return err_set(VKLLM_ERR_NOMEM, "vulkan: out of memory");
    for (int i = 0; i < half; i++) {
        inv[i] = 1.0f / powf(r->theta, (float)(2 * i) / (float)r->n_dims);
        if (r->freq_factors) inv[i] = inv[i] / r->freq_factors[i];
    }
    vkllm_status s = vk_arena_push(b, inv, (size_t)half * 4, out);
    mem_free(inv);
    TRY(s);
    b->rope_ok = 1;
    b->rope_dims = r->n_dims;
    b->rope_theta = r->theta;
    b->rope_ff = r->freq_factors;
    b->rope_fb = *out;
    return VKLLM_OK;
}

static vkllm_status vk_rope(backend *base, bk_buf *x, int n_heads, const bk_rope *r) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "rope"));
    const bk_batch *bt = b->batch;
    if (n_heads <= 0 || r->n_dims <= 0 || r->n_dims % 2 || !(r->theta > 0) || (r->mode != BK_ROPE_NORM && r->mode != BK_ROPE_NEOX))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: rope: %d heads, %d dims, theta %g, mode %d", n_heads, r->n_dims,
                       (double)r->theta, (int)r->mode);
    TRY(vk_fits("rope", "x", x, (uint64_t)bt->n_tokens * (uint64_t)n_heads, (uint64_t)r->n_dims));
    int half = r->n_dims / 2;
    vk_bind fb;
    TRY(vk_rope_freqs(b, r, &fb));
    VkPipeline p;
    TRY(vk_pipeline_get(b, "rope", 1, &p));
    VkBuffer rw[1] = {x->b.buf};
    TRY(vk_hazard(b, rw, 1, rw, 1));
    pc_rope pc = {(uint32_t)bt->n_tokens, (uint32_t)n_heads, (uint32_t)r->n_dims, (uint32_t)r->n_dims, (uint32_t)r->mode,
                  b->off_pos};
    vk_bind bind[3] = {vk_bb(x), b->info, fb};
    return vk_dispatch(b, p, bind, 3, &pc, sizeof pc, vk_groups((uint64_t)bt->n_tokens * (uint64_t)n_heads * (uint64_t)half), 1);
}

/* Every token's slot and position, and the blocks it touches (all of 0..pos
 * when `all`, else only the block of pos), must be valid for this cache. */
static vkllm_status vk_check_kv(const vk_backend *b, const bk_kv *kv, const char *op, int all) {
    const bk_batch *bt = b->batch;
    int bs = kv->d.block_size;
    for (int t = 0; t < bt->n_tokens; t++) {
        int s = bt->seq[t], p = bt->pos[t];
        if (s < 0 || s >= bt->n_slots || p < 0 || p / bs >= bt->max_blocks)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: token %d: slot %d / position %d outside the block table (%d slots x %d blocks of %d)",
                           op, t, s, p, bt->n_slots, bt->max_blocks, bs);
        for (int k = all ? 0 : p / bs; k <= p / bs; k++) {
            int blk = bt->block_table[(size_t)s * (size_t)bt->max_blocks + (size_t)k];
            if (blk < 0 || blk >= kv->d.n_blocks)
                return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: slot %d block %d -> %d outside 0..%d", op, s, k, blk,
                               kv->d.n_blocks - 1);
        }
    }
    return VKLLM_OK;
}

/* The shaders' kv_type: 0 f32, 1 f16, 2 Q8_0 (layout in shaders/common/kv.glsl). */
static uint32_t vk_kv_code(const bk_kv *kv) {
    return kv->d.type == DTYPE_F16 ? 1u : kv->d.type == DTYPE_Q8_0 ? 2u : 0u;
}

/* Invocations of a KV store: one per element (f32), element pair (f16) or
 * pair of 32-value blocks (Q8_0) of the n_tok rows of row values. */
static uint64_t vk_kv_work(const bk_kv *kv, uint64_t n_tok, uint64_t row) {
    if (kv->d.type == DTYPE_Q8_0) return n_tok * ((row / 32 + 1) / 2);
    return n_tok * row / (kv->d.type == DTYPE_F16 ? 2 : 1);
}

static vk_bind vk_kv_layer(const bk_kv *kv, int layer, int v) {
    return (vk_bind){kv->b.buf, (VkDeviceSize)(2 * layer + v) * kv->layer_stride, kv->layer_bytes};
}

static vkllm_status vk_kv_write(backend *base, bk_kv *kv, int layer, const bk_buf *k, const bk_buf *v) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "kv_write"));
    const bk_batch *bt = b->batch;
    if (layer < 0 || layer >= kv->d.n_layers)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: kv_write: layer %d outside 0..%d", layer, kv->d.n_layers - 1);
    uint64_t row = (uint64_t)kv->d.n_kv_heads * (uint64_t)kv->d.head_dim;
    TRY(vk_fits("kv_write", "k", k, (uint64_t)bt->n_tokens, row));
    TRY(vk_fits("kv_write", "v", v, (uint64_t)bt->n_tokens, row));
    TRY(vk_check_kv(b, kv, "kv_write", 0));
    VkPipeline p;
    TRY(vk_pipeline_get(b, "kv_write", 1, &p));
    VkBuffer rd[2] = {k->b.buf, v->b.buf}, wr[1] = {kv->b.buf};
    TRY(vk_hazard(b, rd, 2, wr, 1));
    pc_kv_write pc = {(uint32_t)bt->n_tokens, (uint32_t)row, (uint32_t)kv->d.block_size, (uint32_t)bt->max_blocks,
                      vk_kv_code(kv), b->off_pos, b->off_seq, b->off_bt};
    vk_bind bind[5] = {vk_kv_layer(kv, layer, 0), vk_kv_layer(kv, layer, 1), vk_bb(k), vk_bb(v), b->info};
    uint64_t work = vk_kv_work(kv, (uint64_t)bt->n_tokens, row);
    return vk_dispatch(b, p, bind, 5, &pc, sizeof pc, vk_groups(work), 1);
}

/* Measuring what a phase costs (VKLLM_VK_PAD=N, VKLLM_VK_PAD_NB=N): N
 * empty one-workgroup dispatches after each layer's rope_kv, each behind a
 * barrier (PAD) or not (PAD_NB). The change in tok/s is their price. */
static vkllm_status vk_pad(vk_backend *b) {
    if (!b->pad_phases && !b->pad_nb) return VKLLM_OK;
    VkPipeline p;
    TRY(vk_pipeline_get(b, "add", 1, &p));
    pc_n pc = {0};
    for (int i = 0; i < b->pad_phases + b->pad_nb; i++) {
        if (i < b->pad_phases) TRY(vk_rec_barrier(b, 0));
        TRY(vk_dispatch(b, p, NULL, 0, &pc, sizeof pc, 1, 1));
    }
    return VKLLM_OK;
}

/* Records rope_kv.comp for the op that rope_kv_write checked (vk_ops_flush
 * when deferred). */
static vkllm_status vk_rope_kv_record(vk_backend *b, const vk_rope_kv *a) {
    const bk_batch *bt = b->batch;
    const bk_kv *kv = a->kv;
    int D = kv->d.head_dim;
    uint64_t row = (uint64_t)kv->d.n_kv_heads * (uint64_t)D;
    VkPipeline p;
    TRY(vk_pipeline_get(b, "rope_kv", 1, &p));
    VkBuffer rd[3] = {a->q->b.buf, a->k->b.buf, a->v->b.buf}, wr[2] = {a->q->b.buf, kv->b.buf};
    TRY(vk_hazard(b, rd, 3, wr, 2));
    if (b->skip & VK_SKIP_ROPE) return vk_pad(b);
    pc_rope_kv pc = {(uint32_t)bt->n_tokens, (uint32_t)a->n_heads, (uint32_t)kv->d.n_kv_heads, (uint32_t)D,
                     a->mode, vk_kv_code(kv), (uint32_t)kv->d.block_size, (uint32_t)bt->max_blocks,
                     b->off_pos, b->off_seq, b->off_bt};
    vk_bind bind[7] = {vk_bb(a->q), vk_bb(a->k), vk_bb(a->v), vk_kv_layer(kv, a->layer, 0), vk_kv_layer(kv, a->layer, 1),
                       b->info, a->fb};
    uint64_t work = (uint64_t)bt->n_tokens * (uint64_t)a->n_heads * (uint64_t)D / 2 + 2 * vk_kv_work(kv, (uint64_t)bt->n_tokens, row);
    TRY(vk_dispatch(b, p, bind, 7, &pc, sizeof pc, vk_groups(work), 1));
    return vk_pad(b);
}

vkllm_status vk_ops_flush(vk_backend *b) {
    if (!b->rk_pending) return VKLLM_OK;
    b->rk_pending = 0;
    return vk_rope_kv_record(b, &b->rk);
}

/* attention_gqa.comp serves attention of this cache and head count */
static int vk_att_gqa_ok(const vk_backend *b, const bk_kv *kv, int n_heads) {
    int D = kv->d.head_dim;
    return b->att_gqa && D % 8 == 0 && D <= 128 && n_heads % kv->d.n_kv_heads == 0 && n_heads / kv->d.n_kv_heads <= 32;
}

/* The checks of an op that ropes n_heads heads of every token into layer
 * layer of kv: the layer, the head count, a rope over whole heads (even
 * head dim), theta and mode. */
static vkllm_status vk_rope_kv_args(const char *op, const bk_kv *kv, int layer, int n_heads, const bk_rope *r) {
    int D = kv->d.head_dim;
    if (layer < 0 || layer >= kv->d.n_layers || n_heads <= 0 || n_heads > 65535 || !r || r->n_dims != D || D % 2 ||
        !(r->theta > 0) || (r->mode != BK_ROPE_NORM && r->mode != BK_ROPE_NEOX))
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: layer %d, %d heads, %d dims (head dim %d), theta %g, mode %d",
                       op, layer, n_heads, r ? r->n_dims : 0, D, r ? (double)r->theta : 0.0, r ? (int)r->mode : -1);
    return VKLLM_OK;
}

/* Decode passes (every token of its own sequence, f32 or f16 cache, the
 * attention_gqa kernel) defer the op: the attention that reads this q and
 * cache layer next does its work (attention_gqa.comp, ROPE), which saves a
 * dispatch and a barrier per layer. Any other op first records it as it is. */
static vkllm_status vk_rope_kv_write(backend *base, bk_buf *q, int n_heads, bk_kv *kv, int layer, const bk_buf *k,
                                     const bk_buf *v, const bk_rope *r) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "rope_kv_write"));
    const bk_batch *bt = b->batch;
    int D = kv->d.head_dim;
    TRY(vk_rope_kv_args("rope_kv_write", kv, layer, n_heads, r));
    uint64_t row = (uint64_t)kv->d.n_kv_heads * (uint64_t)D;
    TRY(vk_fits("rope_kv_write", "q", q, (uint64_t)bt->n_tokens * (uint64_t)n_heads, (uint64_t)D));
    TRY(vk_fits("rope_kv_write", "k", k, (uint64_t)bt->n_tokens, row));
    TRY(vk_fits("rope_kv_write", "v", v, (uint64_t)bt->n_tokens, row));
    if (q == k || q == v) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: rope_kv_write: q aliases k or v");
    TRY(vk_check_kv(b, kv, "rope_kv_write", 0));
    vk_rope_kv a = {.q = q, .k = k, .v = v, .kv = kv, .layer = layer, .n_heads = n_heads, .mode = (uint32_t)r->mode};
    TRY(vk_rope_freqs(b, r, &a.fb));
    int defer = b->rope_fuse && vk_att_gqa_ok(b, kv, n_heads) && kv->d.type != DTYPE_Q8_0 && !b->skip &&
                !b->pad_phases && !b->pad_nb && bt->n_tokens <= bt->n_slots;
    for (int i = 0; i < bt->n_tokens && defer; i++)
        for (int j = 0; j < i && defer; j++) defer = bt->seq[i] != bt->seq[j];
    if (!defer) return vk_rope_kv_record(b, &a);
    b->rk = a;
    b->rk_pending = 1;
    return VKLLM_OK;
}

/* Whether the rope epilogue serves w, the projection to heads of D rows:
 * every dispatch starts at a head (each shard at a head, in one row
 * segment) and a workgroup's rows are whole rope pairs (rope: neox set for
 * NEOX pairs; f16: an f16 cache, whose words pair adjacent rows).
 * matvec_sx.comp: 16 (or 8) rows, NEOX f16 words from two pairs of a head (D / 2
 * even); matvec.comp: NR rows, even and dividing D, a multiple of 4 for
 * NEOX (a thread stores two adjacent rows). */
static int vk_qkv_layout_ok(const vk_backend *b, const bk_weight *w, int D, int neox, int f16) {
    int sx = vk_mv_sx(b, w, 1);
    uint64_t nr = sx ? VK_MVX_ROWS / vk_mvx_hsplit(b, w) : b->mv_nr, seg = VK_MAX_GROUPS * nr;
    if (w->ne1 % D) return 0;
    for (int i = 0; i < w->n_shards; i++)
        if (w->shards[i].row0 % D || (uint64_t)w->shards[i].rows > seg) return 0;
    if (sx) return !(neox && f16) || D % 4 == 0;
    return nr % 2 == 0 && D % nr == 0 && (!neox || nr % 4 == 0);
}

/* Why the fused q/k/v + rope + KV store does not apply to this pass, or NULL. */
static const char *vk_qkv_unsupported(const vk_backend *b, const bk_kv *kv, const bk_weight *const w[3], int neox) {
    if (!b->qkv_rope) return "off (VKLLM_VK_QKV_ROPE=0)";
    if (b->rope_fuse) return "rope deferred into attention instead (VKLLM_VK_ROPE_FUSE=1)";
    if ((b->skip & ~VK_SKIP_BARRIER) || b->pad_phases || b->pad_nb) return "timing switches set (VKLLM_VK_SKIP / PAD)";
    if (b->batch->n_tokens != 1) return "more than one token";
    if (kv->d.type != DTYPE_F32 && kv->d.type != DTYPE_F16) return "a Q8_0 cache";
    if (b->nbind < VK_MV_EP_NBIND) return "too few bindings";
    int f16 = kv->d.type == DTYPE_F16, D = kv->d.head_dim;
    for (int i = 0; i < 3; i++)
        if (!vk_qkv_layout_ok(b, w[i], D, i < 2 && neox, i > 0 && f16)) return "rows per workgroup or shards";
    return NULL;
}

/* One token: q = rope(Wq · norm(x) + bq) in place of q, and what rope(k)
 * and kv_write would store of Wk, Wv · norm(x) + bk, bv, stored by the
 * three matvecs' epilogues (shaders/common/mv_rope.glsl) instead of through
 * st->k, st->v and rope_kv.comp. They write q and disjoint rows of the cache
 * (one slot's K and V), so one hazard check serves all three and they run
 * without a barrier between them; the attention after them waits once. */
static vkllm_status vk_qkv_rope_kv(backend *base, bk_buf *q, int n_heads, bk_kv *kv, int layer, const bk_buf *x,
                                   const bk_weight *const w[3], const bk_weight *const bias[3], const bk_fuse *f,
                                   const bk_rope *r) {
    vk_backend *b = (vk_backend *)base;
    const char *op = "qkv_rope_kv";
    TRY(vk_op_ready(b, op));
    const bk_batch *bt = b->batch;
    int D = kv->d.head_dim;
    TRY(vk_rope_kv_args(op, kv, layer, n_heads, r));
    if (!f || f->glu_up || f->accumulate)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: only a norm input is fused", op);
    int64_t rows[3] = {(int64_t)n_heads * D, (int64_t)kv->d.n_kv_heads * D, (int64_t)kv->d.n_kv_heads * D};
    int64_t ne0 = w[0] ? w[0]->ne0 : 0;
    uint32_t bias_type[3];
    vk_bind bias_b[3];
    for (int i = 0; i < 3; i++) {
        if (!w[i] || w[i]->ne1 != rows[i] || w[i]->ne0 != ne0)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: projection %d '%s' [%lld x %lld] for %lld rows of %lld",
                           op, i, w[i] ? w[i]->name : "(null)", w[i] ? (long long)w[i]->ne1 : 0LL,
                           w[i] ? (long long)w[i]->ne0 : 0LL, (long long)rows[i], (long long)ne0);
        TRY(vk_bias_check(op, w[i], bias[i], &bias_type[i], &bias_b[i]));
    }
    TRY(vk_fits(op, "x", x, (uint64_t)bt->n_tokens, (uint64_t)ne0));
    TRY(vk_fits(op, "q", q, (uint64_t)bt->n_tokens * (uint64_t)n_heads, (uint64_t)D));
    if (q == x) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: q aliases x", op);
    vk_mv_in in = {.eps = f->eps};
    TRY(vk_norm_in(op, NULL, ne0, f, &in));
    const char *why = vk_qkv_unsupported(b, kv, w, r->mode == BK_ROPE_NEOX);
    if (why) return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: %s: %s", op, why);
    TRY(vk_check_kv(b, kv, op, 0));
    vk_mv_ep ep = {.head_dim = (uint32_t)D, .block_size = (uint32_t)kv->d.block_size,
                   .max_blocks = (uint32_t)bt->max_blocks};
    TRY(vk_rope_freqs(b, r, &ep.fb));
    VkBuffer rd[1] = {x->b.buf}, wr[2] = {q->b.buf, kv->b.buf};
    TRY(vk_hazard(b, rd, 1, wr, 2));
    uint32_t neox = r->mode == BK_ROPE_NEOX ? VK_MV_NEOX : 0u, f16 = kv->d.type == DTYPE_F16 ? VK_MV_KV_F16 : 0u;
    const uint32_t modes[3] = {VK_MV_ROPE | neox, VK_MV_ROPE | neox | VK_MV_KV | f16, VK_MV_KV | f16};
    for (int i = 0; i < 3; i++) {
        ep.mode = modes[i];
        vk_bind out = i == 0 ? vk_bb(q) : vk_kv_layer(kv, layer, i - 1);
        TRY(vk_matvec_rec(b, out, w[i], x, bias_type[i], bias_b[i], &in, 1, &ep));
    }
    return VKLLM_OK;
}

/* Split attention along the positions when few (token, head) pairs would
 * leave the GPU idle and the context spans more than one chunk: enough
 * chunks for ~VK_ATT_TARGET_GROUPS workgroups, chunks a multiple of
 * VK_ATT_CHUNK_GRAIN positions (short chunks keep each workgroup's chain of
 * V loads short), at most VK_ATT_MAX_CHUNKS of them. n_chunks 1 = no split. */
#define VK_ATT_CHUNK_GRAIN 16u
#define VK_ATT_TARGET_GROUPS 4096u
#define VK_ATT_SPLIT_MAX_PAIRS 2048u

static uint32_t vk_ceil_to(uint32_t x, uint32_t m) { return (x + m - 1) / m * m; }

static void vk_att_split_plan(uint64_t pairs, uint32_t max_len, uint32_t *chunk, uint32_t *n_chunks) {
    *chunk = max_len ? max_len : 1;
    *n_chunks = 1;
    if (pairs == 0 || pairs >= VK_ATT_SPLIT_MAX_PAIRS || max_len <= VK_WG) return;
    uint32_t want = (uint32_t)((VK_ATT_TARGET_GROUPS + pairs - 1) / pairs);
    uint32_t c = vk_ceil_to((max_len + want - 1) / want, VK_ATT_CHUNK_GRAIN);
    uint32_t c_min = vk_ceil_to((max_len + VK_ATT_MAX_CHUNKS - 1) / VK_ATT_MAX_CHUNKS, VK_ATT_CHUNK_GRAIN);
    if (c < c_min) c = c_min;
    *chunk = c;
    *n_chunks = (max_len + c - 1) / c;
}

/* Makes *buf (split attention's scratch) hold at least `bytes`, a power of
 * two from `min` (capped at the binding limit); *made = 1 when it is new. A
 * smaller one may still be used by dispatches recorded earlier in this pass,
 * so it is retired and destroyed after the pass's fence (vk_att_scratch_release). */
static vkllm_status vk_att_fit(vk_backend *b, vk_buffer *buf, uint64_t bytes, uint64_t min, const char *what,
                               int *made) {
    *made = 0;
    if (buf->buf && buf->size >= bytes) return VKLLM_OK;
    if (bytes > b->d.info.max_storage_range)
        return err_set(VKLLM_ERR_UNSUPPORTED, "vulkan: attention: %llu bytes of %s exceed the binding limit",
                       (unsigned long long)bytes, what);
    if (buf->buf) {
        if (b->n_retired == VK_MAX_RETIRED)
            return err_set(VKLLM_ERR_INTERNAL, "vulkan: attention: too many scratch resizes in one pass");
        b->retired[b->n_retired++] = *buf;
        memset(buf, 0, sizeof *buf);
    }
    uint64_t size = min;
    while (size < bytes) size *= 2;
    if (size > b->d.info.max_storage_range) size = bytes;
    TRY(vk_buffer_create(b, size, 0, what, buf));
    *made = 1;
    return VKLLM_OK;
}

/* The partials, and the per-(token, head) counts, all zero (the kernel leaves
 * them zero): a new counts buffer is zeroed by a transfer of its own, outside
 * the pass's command buffer (which is not being recorded yet). */
static vkllm_status vk_scratch(vk_backend *b, vk_buffer *part, vk_buffer *cnt, uint64_t part_bytes, uint64_t cnt_bytes,
                               const char *what) {
    int made;
    TRY(vk_att_fit(b, part, part_bytes, 1u << 20, what, &made));
    TRY(vk_att_fit(b, cnt, cnt_bytes, 4096, what, &made));
    if (!made) return VKLLM_OK;
    VkCommandBuffer cmd;
    TRY(vk_imm_begin(b, &cmd));
    vkCmdFillBuffer(cmd, cnt->buf, 0, VK_WHOLE_SIZE, 0);
    return vk_imm_end(b);
}

static vkllm_status vk_att_scratch(vk_backend *b, uint64_t part_bytes, uint64_t cnt_bytes) {
    return vk_scratch(b, &b->att_part, &b->att_cnt, part_bytes, cnt_bytes, "attention partials");
}

void vk_att_scratch_release(vk_backend *b, int all) {
    for (int i = 0; i < b->n_retired; i++) vk_buffer_destroy(b, &b->retired[i]);
    b->n_retired = 0;
    if (all) {
        vk_buffer_destroy(b, &b->att_part);
        vk_buffer_destroy(b, &b->att_cnt);
        vk_buffer_destroy(b, &b->gemm_part);
        vk_buffer_destroy(b, &b->gemm_cnt);
        vk_buffer_destroy(b, &b->xh_buf);
        b->xh_valid = 0;
    }
}

/* A prompt kernel (one dispatch, no split): workgroups of `per_group` queries per head. */
static vkllm_status vk_att_prompt(vk_backend *b, const char *name, uint32_t per_group, bk_buf *out, const bk_buf *q,
                                  const bk_kv *kv, vk_bind *bind, pc_attention *pc, uint32_t n_heads) {
    pc->chunk = 0;
    pc->n_chunks = 1;
    VkPipeline p;
    TRY(vk_pipeline_get_mode(b, name, 1, pc->head_dim, &p));
    VkBuffer rd[2] = {q->b.buf, kv->b.buf}, wr[1] = {out->b.buf};
    TRY(vk_hazard(b, rd, 2, wr, 1));
    return vk_dispatch(b, p, bind, 5, pc, sizeof *pc, n_heads, (pc->n_tok + per_group - 1) / per_group);
}

/* attention_gqa.comp: one workgroup per (kv head, token, chunk), every query
 * head of the kv head in it. Chunks are whole stages (VK_ATT_GQA_STAGE
 * positions, fewer for wide heads), enough of them for ~VK_ATT_GQA_GROUPS
 * workgroups, at most VK_ATT_MAX_CHUNKS; several are merged by the last
 * workgroup of each (token, kv head). */
#define VK_ATT_GQA_GROUPS 512u
static vkllm_status vk_att_gqa(vk_backend *b, bk_buf *out, const bk_buf *q, const bk_kv *kv, const vk_bind *bind,
                               pc_attention *pc, uint32_t n_heads, uint32_t plan_len, const vk_rope_kv *rk) {
    uint32_t D = pc->head_dim, n = pc->n_tok, nkv = pc->n_kv_heads;
    uint32_t stage = D <= 64 ? 48u : 24u; /* CP in the shader */
    uint32_t groups = nkv * n, want = (VK_ATT_GQA_GROUPS + groups - 1) / groups;
    uint32_t chunk = vk_ceil_to((plan_len + want - 1) / want, stage);
    uint32_t c_min = vk_ceil_to((plan_len + VK_ATT_MAX_CHUNKS - 1) / VK_ATT_MAX_CHUNKS, stage);
    if (chunk < c_min) chunk = c_min;
    uint32_t n_chunks = (plan_len + chunk - 1) / chunk;
    if (n_chunks < 2) { /* one chunk to the end: the same constants for every decode step */
        n_chunks = 1;
        chunk = UINT32_MAX;
    }
    pc->chunk = chunk;
    pc->n_chunks = n_chunks;
    uint64_t part_bytes = (uint64_t)n * n_heads * n_chunks * ((uint64_t)D + 2) * 4;
    uint64_t cnt_bytes = (uint64_t)n * nkv * 4;
    vk_bind part = {b->dummy.buf, 0, VK_WHOLE_SIZE}, cnt = part;
    if (n_chunks > 1) {
        TRY(vk_att_scratch(b, part_bytes, cnt_bytes));
        part = (vk_bind){b->att_part.buf, 0, part_bytes};
        cnt = (vk_bind){b->att_cnt.buf, 0, cnt_bytes};
    }
    VkPipeline p;
    TRY(vk_pipeline_get_mode(b, rk ? "attention_gqa_rope" : "attention_gqa", 1, D, &p));
    /* reads: q, the cache, [k, v], [partials, counts]; writes: out, [q, the cache], [partials, counts] */
    VkBuffer rd[6] = {q->b.buf, kv->b.buf}, wr[5] = {out->b.buf};
    int n_rd = 2, n_wr = 1;
    if (rk) {
        rd[n_rd++] = rk->k->b.buf;
        rd[n_rd++] = rk->v->b.buf;
        wr[n_wr++] = q->b.buf;
        wr[n_wr++] = kv->b.buf;
        pc->rope_mode = rk->mode;
    }
    if (n_chunks > 1) {
        rd[n_rd++] = part.buf;
        rd[n_rd++] = cnt.buf;
        wr[n_wr++] = part.buf;
        wr[n_wr++] = cnt.buf;
    }
    TRY(vk_hazard(b, rd, n_rd, wr, n_wr));
    vk_bind gb[10] = {bind[0], bind[1], bind[2], bind[3], bind[4], part, cnt};
    if (rk) {
        gb[7] = vk_bb(rk->k);
        gb[8] = vk_bb(rk->v);
        gb[9] = rk->fb;
    }
    return vk_dispatch_3d(b, p, gb, rk ? 10 : 7, pc, sizeof *pc, nkv, n, n_chunks);
}

/* Attention of batch tokens t0 .. t0 + n - 1 (the caller checked the sizes):
 * the sub-batch is bound at its offset in q and out and its positions and
 * sequences at their offsets in the batch info, so every kernel sees tokens
 * 0 .. n - 1. */
static vkllm_status vk_att_range(vk_backend *b, bk_buf *out, const bk_buf *q, const bk_kv *kv, int layer,
                                 int n_heads, float scale, int t0, int n, const vk_rope_kv *rk) {
    const bk_batch *bt = b->batch;
    int D = kv->d.head_dim;
    uint64_t tok_bytes = (uint64_t)n_heads * (uint64_t)D * 4;
    pc_attention pc = {(uint32_t)n, (uint32_t)n_heads, (uint32_t)kv->d.n_kv_heads, (uint32_t)D,
                       (uint32_t)kv->d.block_size, (uint32_t)bt->max_blocks, vk_kv_code(kv), scale,
                       b->off_pos + (uint32_t)t0, b->off_seq + (uint32_t)t0, b->off_bt, 0, 1, 0};
    vk_bind ob = {out->b.buf, (uint64_t)t0 * tok_bytes, (uint64_t)n * tok_bytes};
    vk_bind qb = {q->b.buf, (uint64_t)t0 * tok_bytes, (uint64_t)n * tok_bytes};
    vk_bind bind[5] = {ob, qb, vk_kv_layer(kv, layer, 0), vk_kv_layer(kv, layer, 1), b->info};
    const int32_t *pos = bt->pos + t0, *seq = bt->seq + t0;
    uint32_t max_len = 0;
    for (int t = 0; t < n; t++)
        if ((uint32_t)pos[t] + 1 > max_len) max_len = (uint32_t)pos[t] + 1;
    /* planned for the context rounded up to a power of two, so that decode
     * steps keep the same commands (and their recording, vk_record.c) until
     * the context doubles; chunks past a token's position stay empty */
    uint32_t plan_len = max_len;
    if (plan_len > VK_WG) {
        plan_len = VK_WG;
        while (plan_len < max_len) plan_len *= 2;
    }
    vk_att_split_plan((uint64_t)n * (uint64_t)n_heads, plan_len, &pc.chunk, &pc.n_chunks);
    if (pc.n_chunks < 2) pc.chunk = 0; /* unused without the split */
    VkPipeline p;
    /* shared memory of attention_tiled (attention.comp) for this head dim: q, K,
     * V tiles of (16 + 2 * 32) rows of D + 1 floats, then 737 words of scores
     * (16 x 33), row state, positions, bases, sequences and reduce.glsl's buffer */
    uint64_t tiled_shared = 4u * ((16u + 2u * 32u) * ((uint64_t)D + 1u) + 737u);
    int one_seq = 1;
    for (int t = 1; t < n && one_seq; t++) one_seq = seq[t] == seq[0];
    if (b->use_cm && one_seq && n >= VK_GEMM_MIN_TOK && D % 16 == 0 && D <= 128)
        /* a prompt of one sequence on cooperative matrices (attention_cm.comp:
         * 64 queries per workgroup, at most 42 KiB of shared memory) */
        return vk_att_prompt(b, "attention_cm", 64, out, q, kv, bind, &pc, (uint32_t)n_heads);
    if (one_seq && n >= VK_GEMM_MIN_TOK && (uint32_t)D <= VK_ATT_TILED_DMAX && D % 4 == 0 &&
        tiled_shared <= b->d.info.max_shared) {
        /* a prompt of one sequence: K/V tiles in shared memory serve 16 queries
         * at a time. Ranges mixing sequences take the per-token kernel (the
         * caller cuts a batch into runs of one sequence first): on
         * lavapipe the tiled kernel's several-sequences loop leaves rows
         * unwritten (still the NaN poison) for tiles of several sequences with
         * long (1300 and 3000 position) contexts: only the threads of the one
         * lavapipe subgroup whose rows sit at their sequence's last position
         * reach the final stores (an unconditional marker store at the end
         * shows it); one flattened loop over all sequences' tiles instead of
         * two nested ones behaves the same. Not understood yet;
         * tests/backend/vk_attention_long.c's mixed batch reproduces it when
         * this check is dropped. */
        return vk_att_prompt(b, "attention_tiled", 16, out, q, kv, bind, &pc, (uint32_t)n_heads);
    }
    if (vk_att_gqa_ok(b, kv, n_heads)) return vk_att_gqa(b, out, q, kv, bind, &pc, (uint32_t)n_heads, plan_len, rk);
    /* the per-token kernels specialised on D stage K/V chunks in shared memory
     * (attention.comp: 48 positions up to 64 dims, 24 up to 128, two f32
     * tiles of D + 1 floats a row, beside 3 KiB of other state); a device with
     * less shared memory takes the generic kernel (D = 0) */
    uint64_t dec_shared = 8u * (D <= 64 ? 48u : 24u) * ((uint64_t)D + 1u) + 3072u;
    uint32_t hd = D > 128 || dec_shared <= b->d.info.max_shared ? (uint32_t)D : 0u;
    if (pc.n_chunks < 2) {
        TRY(vk_pipeline_get_mode(b, b->no_subgroup ? "attention" : "attention_sg", 1, hd, &p));
        VkBuffer rd[2] = {q->b.buf, kv->b.buf}, wr[1] = {out->b.buf};
        TRY(vk_hazard(b, rd, 2, wr, 1));
        return vk_dispatch(b, p, bind, 5, &pc, sizeof pc, (uint32_t)n_heads, (uint32_t)n);
    }
    /* flash-decoding: partials per chunk of positions, merged by the last
     * workgroup of each (token, head) (counts zeroed between passes) */
    uint64_t part_bytes = (uint64_t)n * (uint64_t)n_heads * pc.n_chunks * ((uint64_t)D + 2) * 4;
    uint64_t cnt_bytes = (uint64_t)n * (uint64_t)n_heads * 4;
    TRY(vk_att_scratch(b, part_bytes, cnt_bytes));
    vk_bind part = {b->att_part.buf, 0, part_bytes}, cnt = {b->att_cnt.buf, 0, cnt_bytes};
    TRY(vk_pipeline_get_mode(b, b->no_subgroup ? "attention_split" : "attention_split_sg", 1, hd, &p));
    VkBuffer rd[4] = {q->b.buf, kv->b.buf, part.buf, cnt.buf}, wr[3] = {out->b.buf, part.buf, cnt.buf};
    TRY(vk_hazard(b, rd, 4, wr, 3));
    vk_bind sbind[7] = {ob, qb, vk_kv_layer(kv, layer, 0), vk_kv_layer(kv, layer, 1), b->info, part, cnt};
    return vk_dispatch_3d(b, p, sbind, 7, &pc, sizeof pc, (uint32_t)n_heads, (uint32_t)n, pc.n_chunks);
}

/* Attention over the batch. A batch mixing sequences is cut into runs of
 * consecutive tokens of one sequence: runs of VK_GEMM_MIN_TOK or more take the
 * prompt kernels (K/V tiles shared by their queries), what lies between them
 * the per-token kernels. (The tiled kernel's own loop over several sequences
 * misbehaves on lavapipe, see vk_att_range.) One run covers a whole batch of
 * one sequence, and a batch without long runs is one range. */
static vkllm_status vk_attention(backend *base, bk_buf *out, const bk_buf *q, const bk_kv *kv, int layer, int n_heads,
                                 float scale) {
    vk_backend *b = (vk_backend *)base;
    /* the deferred rope_kv_write of this q and layer (vk_rope_kv_write):
     * taken over here, else vk_op_ready records it */
    vk_rope_kv rk = b->rk;
    int fused = b->rk_pending && rk.q == q && rk.kv == kv && rk.layer == layer && rk.n_heads == n_heads;
    if (fused) b->rk_pending = 0;
    TRY(vk_op_ready(b, "attention"));
    const bk_batch *bt = b->batch;
    int D = kv->d.head_dim;
    if (layer < 0 || layer >= kv->d.n_layers || n_heads <= 0 || n_heads % kv->d.n_kv_heads || D > VK_WG * VK_ATT_DPT ||
        n_heads > 65535)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: attention: layer %d, %d heads over %d kv heads, head dim %d",
                       layer, n_heads, kv->d.n_kv_heads, D);
    TRY(vk_fits("attention", "q", q, (uint64_t)bt->n_tokens * (uint64_t)n_heads, (uint64_t)D));
    TRY(vk_fits("attention", "out", out, (uint64_t)bt->n_tokens * (uint64_t)n_heads, (uint64_t)D));
    TRY(vk_check_kv(b, kv, "attention", 1));
    if (b->skip & VK_SKIP_ATTENTION) return VKLLM_OK;
    int n = bt->n_tokens;
    /* (a deferred rope implies tokens of distinct sequences: one range) */
    if (fused) return vk_att_range(b, out, q, kv, layer, n_heads, scale, 0, n, &rk);
    if (n < 2 * VK_GEMM_MIN_TOK || ((uint64_t)n_heads * (uint64_t)D * 4) % vk_storage_align(b))
        return vk_att_range(b, out, q, kv, layer, n_heads, scale, 0, n, NULL); /* no room for a long run beside others */
    int gap = 0; /* first token not yet dispatched */
    for (int t = 0; t < n;) {
        int e = t + 1;
        while (e < n && bt->seq[e] == bt->seq[t]) e++;
        if (e - t >= VK_GEMM_MIN_TOK && e - t < n) {
            if (t > gap) TRY(vk_att_range(b, out, q, kv, layer, n_heads, scale, gap, t - gap, NULL));
            TRY(vk_att_range(b, out, q, kv, layer, n_heads, scale, t, e - t, NULL));
            gap = e;
        }
        t = e;
    }
    return gap < n ? vk_att_range(b, out, q, kv, layer, n_heads, scale, gap, n - gap, NULL) : VKLLM_OK;
}

static vkllm_status vk_binary(vk_backend *b, const char *op, bk_buf *out, const bk_buf *a, const bk_buf *bb, size_t n) {
    TRY(vk_op_ready(b, op));
    if (n == 0 || n > UINT32_MAX) return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: %s: %zu values", op, n);
    TRY(vk_fits(op, "out", out, 1, n));
    TRY(vk_fits(op, "a", a, 1, n));
    TRY(vk_fits(op, "b", bb, 1, n));
    VkPipeline p;
    TRY(vk_pipeline_get(b, op, 1, &p));
    VkBuffer rd[2] = {a->b.buf, bb->b.buf}, wr[1] = {out->b.buf};
    TRY(vk_hazard(b, rd, 2, wr, 1));
    pc_n pc = {(uint32_t)n};
    vk_bind bind[3] = {vk_bb(out), vk_bb(a), vk_bb(bb)};
    return vk_dispatch(b, p, bind, 3, &pc, sizeof pc, vk_groups(n), 1);
}

static vkllm_status vk_silu_mul(backend *base, bk_buf *out, const bk_buf *gate, const bk_buf *up, size_t n) {
    return vk_binary((vk_backend *)base, "silu_mul", out, gate, up, n);
}

static vkllm_status vk_add(backend *base, bk_buf *out, const bk_buf *a, const bk_buf *bb, size_t n) {
    return vk_binary((vk_backend *)base, "add", out, a, bb, n);
}

static vkllm_status vk_gather_rows(backend *base, bk_buf *out, const bk_buf *x, const int32_t *rows, int n_rows, int n) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "gather_rows"));
    if (n_rows <= 0 || n <= 0 || !rows)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: gather_rows: %d rows of %d", n_rows, n);
    TRY(vk_fits("gather_rows", "out", out, (uint64_t)n_rows, (uint64_t)n));
    uint64_t x_rows = x->bytes / 4 / (uint64_t)n;
    for (int i = 0; i < n_rows; i++)
        if (rows[i] < 0 || (uint64_t)rows[i] >= x_rows)
            return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: gather_rows: row %d outside 0..%llu", rows[i],
                           (unsigned long long)x_rows - 1);
    vk_bind rb;
    TRY(vk_arena_push(b, rows, (size_t)n_rows * 4, &rb));
    VkPipeline p;
    TRY(vk_pipeline_get(b, "gather_rows", 1, &p));
    VkBuffer rd[1] = {x->b.buf}, wr[1] = {out->b.buf};
    TRY(vk_hazard(b, rd, 1, wr, 1));
    pc_rows pc = {(uint32_t)n_rows, (uint32_t)n};
    vk_bind bind[3] = {vk_bb(out), vk_bb(x), rb};
    return vk_dispatch(b, p, bind, 3, &pc, sizeof pc, vk_groups((uint64_t)n_rows * (uint64_t)n), 1);
}

static vkllm_status vk_argmax(backend *base, bk_buf *out_ids, const bk_buf *x, int n_rows, int n) {
    vk_backend *b = (vk_backend *)base;
    TRY(vk_op_ready(b, "argmax"));
    if (n_rows <= 0 || n <= 0 || (uint32_t)n_rows > VK_MAX_GROUPS)
        return err_set(VKLLM_ERR_INVALID_ARG, "vulkan: argmax: %d rows of %d", n_rows, n);
    TRY(vk_fits("argmax", "out_ids", out_ids, 1, (uint64_t)n_rows));
    TRY(vk_fits("argmax", "x", x, (uint64_t)n_rows, (uint64_t)n));
    VkPipeline p;
    TRY(vk_pipeline_get(b, "argmax", 1, &p));
    VkBuffer rd[1] = {x->b.buf}, wr[1] = {out_ids->b.buf};
    TRY(vk_hazard(b, rd, 1, wr, 1));
    pc_rows pc = {(uint32_t)n_rows, (uint32_t)n};
    vk_bind bind[2] = {vk_bb(out_ids), vk_bb(x)};
    return vk_dispatch(b, p, bind, 2, &pc, sizeof pc, (uint32_t)n_rows, 1);
}

void vk_ops_install(backend_vt *vt) {
    vt->embed = vk_embed;
    vt->rmsnorm = vk_rmsnorm;
    vt->matmul = vk_matmul;
    vt->rope = vk_rope;
    vt->kv_write = vk_kv_write;
    vt->attention = vk_attention;
    vt->silu_mul = vk_silu_mul;
    vt->add = vk_add;
    vt->gather_rows = vk_gather_rows;
    vt->argmax = vk_argmax;
    vt->matmul_fused = vk_matmul_fused;
    vt->rope_kv_write = vk_rope_kv_write;
    vt->qkv_rope_kv = vk_qkv_rope_kv;
}
