/* vk_internal.h — the Vulkan backend's shared state and the functions its
 * files export to each other (vk_memory.c, vk_pipeline.c, vk_submit.c,
 * vk_ops.c, vk_backend.c). Nothing outside src/backend/vulkan includes it. */
#ifndef VKLLM_VK_INTERNAL_H
#define VKLLM_VK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/vulkan/vk_device.h"
#include "backend/vulkan/vk_shader_iface.h"

/* Seconds a submission may run before it counts as a hang (device lost). */
#define VK_FENCE_TIMEOUT_S 120
#define VK_STAGING_BYTES (8u << 20)
#define VK_ARENA_CHUNK (4u << 20)
#define VK_DESC_POOL_SETS 1024
#define VK_MAX_PIPES 512
#define VK_HAZARD_MAX 64
#define VK_MAX_RETIRED 16

typedef struct vk_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map; /* persistent mapping when host-visible and coherent, else NULL */
} vk_buffer;

/* One range bound to a descriptor slot. */
typedef struct vk_bind {
    VkBuffer buf;
    VkDeviceSize off, range;
} vk_bind;

struct bk_buf {
    vk_buffer b;
    size_t bytes;
};

/* Rows [row0, row0 + rows) of a weight live at off..off+range of the buffer. */
typedef struct vk_shard {
    VkDeviceSize off, range;
    int64_t row0, rows;
} vk_shard;

struct bk_weight {
    vk_buffer b;
    uint32_t type;
    int64_t ne0, ne1;
    uint64_t row_bytes;
    int n_shards;
    vk_shard *shards;
    char name[96];
};

struct bk_kv {
    vk_buffer b;
    bk_kv_desc d;
    VkDeviceSize layer_bytes;  /* K (or V) of one layer */
    VkDeviceSize layer_stride; /* aligned distance between the 2*n_layers ranges */
};

typedef struct vk_arena_chunk {
    vk_buffer b;
    VkDeviceSize used;
} vk_arena_chunk;

typedef struct vk_pipe {
    char name[32];
    uint32_t nt, mode;
    VkPipeline p;
} vk_pipe;

/* One command of a forward pass (vk_record.c). */
enum { VK_REC_DISPATCH = 1, VK_REC_BARRIER, VK_REC_BARRIER_ALL, VK_REC_COPY };
typedef struct vk_rec {
    uint32_t kind, pc_size, g[3];
    VkPipeline pipe;
    vk_bind binds[VK_NBIND];
    unsigned char pc[VK_PC_MAX];
    const char *prof_name; /* profiling: the variant, the weight bytes it reads and their row length */
    uint64_t prof_bytes;
    uint32_t prof_ne0;
    VkBuffer src, dst; /* copies */
    VkDeviceSize src_off, dst_off, size;
} vk_rec;

/* vk_backend.gemm_split_tiles unless VKLLM_VK_GEMM_SPLIT_TILES is set (vk_ops.c says why) */
#define VK_GEMM_SPLIT_TILES 200
/* vk_backend.gemm_xh unless VKLLM_VK_GEMM_XH is set: f16 x for gemm_cm.comp
 * from 32 tokens (H200: 32 sequences decoding together 6,047 -> 6,774 tok/s
 * with it, pp512 faster by 7-33 %; docs/PERF.md) */
#define VK_GEMM_XH_MIN 32

/* Profile totals of one kernel variant (vk_profile.c). */
#define VK_PROF_OPS 64
typedef struct vk_prof_op {
    char name[48];
    uint64_t calls;
    double ns, bytes; /* GPU time; weight bytes read (matmuls) */
} vk_prof_op;

/* A rope_kv_write that was checked and deferred (vk_ops.c). */
typedef struct vk_rope_kv {
    bk_buf *q;
    const bk_buf *k, *v;
    bk_kv *kv;
    int layer, n_heads;
    uint32_t mode;
    vk_bind fb; /* inverse frequencies in the arena */
} vk_rope_kv;

typedef struct vk_backend {
    backend base;
    vk_dev d;
    int max_binding_mb, no_subgroup;
    int prof_by_bytes; /* VKLLM_VK_PROFILE_BYTES=1: profile rows per weight size */
    int mv_plain; /* VKLLM_VK_MATVEC_SX=0: matvec.comp for quantized one-token matvecs too (comparisons, tests) */
    int gemm_min; /* matmuls of this many tokens or more take the GEMM: VK_GEMM_MIN_TOK, or VKLLM_VK_GEMM_MIN */
    int use_cm; /* gemm_cm.comp for prompts: d.info.coopmat_nv, unless VKLLM_VK_COOPMAT=0 */
    /* matvec threads per workgroup (float weights, float weights for one
     * token, quantized weights) and rows per workgroup */
    uint32_t mv_wg, mv_wg1, mv_wg_q, mv_nr;
    uint64_t weight_limit; /* bytes a weight binding may span */
    uint32_t nbind; /* bindings of the set: VK_NBIND, or VK_NBIND_MIN where the device allows fewer */
    /* rope_kv_write deferred into attention_gqa where it can (VKLLM_VK_ROPE_FUSE=1;
     * off by default: slower on the H200, docs/PERF.md) */
    int rope_fuse;
    /* decode's rope and KV store in the q/k/v matvecs (vk_qkv_rope_kv), unless VKLLM_VK_QKV_ROPE=0 */
    int qkv_rope;
    vk_rope_kv rk;
    int rk_pending;
    int att_gqa;    /* attention_gqa.comp for per-token attention: subgroup shuffles, unless VKLLM_VK_ATT_GQA=0 */
    int gemm_split; /* split-K for GEMMs of few tiles (gemm_cm.comp), unless VKLLM_VK_GEMM_SPLIT=0 */
    int gemm_split_tiles; /* and for GEMMs of several token tiles with fewer tiles than this (VKLLM_VK_GEMM_SPLIT_TILES) */
    /* gemm_cm.comp reads x as f16 (x_f16.comp) from this many tokens
     * (VKLLM_VK_GEMM_XH; 0: never); the last conversion (xh_buf) is reused
     * while its source (xh_src, ne0, tokens) is not written: q, k and v, or
     * gate and up, convert their x once */
    int gemm_xh;
    vk_buffer xh_buf;
    VkBuffer xh_src;
    uint32_t xh_ne0, xh_ntok;
    int xh_valid;
    int mvx_hsplit; /* matvec_sx: subgroups a row pair, 1 or 2 (VKLLM_VK_MVX_SPLIT), 0: by type and rows */
    int mvx_split_light; /* and for the 4/5-bit 32-element types too (VKLLM_VK_MVX_SPLIT_LIGHT=1, an experiment) */
    int mvx_sg;     /* matvec_sx: x vectors a thread stages at once (VKLLM_VK_MVX_SG=1..8), 0: by row length */
    int mvx_direct; /* matvec_sx without x' staging for plain and norm inputs (VKLLM_VK_MVX_DIRECT=1, an experiment) */
    int pad_phases, pad_nb; /* VKLLM_VK_PAD, VKLLM_VK_PAD_NB: empty dispatches per layer (vk_ops.c) */
    /* VKLLM_VK_SKIP=N (timing only: wrong results): ops of these kinds record
     * nothing (VK_SKIP_MATVEC_WG: matvecs of one workgroup), so a decode's
     * tok/s shows what they cost without timestamps */
    int skip;

    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipelineCache cache;
    vk_pipe pipes[VK_MAX_PIPES];
    int n_pipes;
    VkDescriptorPool *pools;
    int n_pools, cur_pool;

    VkCommandPool cpool;
    VkCommandBuffer cmd, cmd_imm;
    VkFence fence, fence_imm;
    vk_buffer staging; /* host-visible bounce buffer for uploads/downloads */
    vk_buffer dummy;   /* bound to the unused descriptor slots */
    vk_arena_chunk *arena;
    int n_arena, cur_arena;

    /* the forward pass in recording */
    int in_pass, lost;
    const bk_batch *batch;
    vk_bind info;      /* ids, pos, seq, block table in the arena */
    uint32_t off_ids, off_pos, off_seq, off_bt; /* int32 offsets into info */
    /* this pass's RoPE inverse frequencies in the arena (vk_ops.c), for these parameters */
    int rope_ok, rope_dims;
    float rope_theta;
    const float *rope_ff;
    vk_bind rope_fb;
    VkBuffer written[VK_HAZARD_MAX], read[VK_HAZARD_MAX];
    int n_written, n_read;
    /* the pass's command list, and the previous one that b->cmd holds
     * (rec_valid: b->cmd may be submitted again; cleared when a buffer goes) */
    vk_rec *recs, *prev;
    int n_recs, cap_recs, n_prev, cap_prev, rec_valid;
    uint64_t n_passes, n_reused;

    /* split attention's partials (vk_ops.c), and outgrown ones waiting for the fence */
    vk_buffer att_part, att_cnt; /* partials; per-(token, head) counts, zero between passes */
    vk_buffer gemm_part, gemm_cnt; /* the same for split-K GEMMs (per tile counts) */
    vk_buffer retired[VK_MAX_RETIRED];
    int n_retired;

    /* profiling (vk_profile.c): prof_name is the variant of the last
     * vk_pipeline_get, prof_bytes what the next dispatch reads of weights
     * (prof_ne0: their row length, so gate/up and down get rows of their own) */
    int profile, prof_ok;
    VkQueryPool qpool;
    float ts_period;
    uint64_t ts_mask;
    uint32_t q_used;
    int *q_op;
    uint64_t *q_bytes, *q_val;
    const char *prof_name;
    uint64_t prof_bytes, prof_passes, prof_untimed;
    uint32_t prof_ne0;
    vk_prof_op prof[VK_PROF_OPS];
    int n_prof;
} vk_backend;

/* VK_SKIP_BARRIER: no barriers between a pass's dispatches (they overlap as the
 * device likes): what decode would cost if nothing waited */
enum { VK_SKIP_MATVEC = 1, VK_SKIP_ATTENTION = 2, VK_SKIP_ROPE = 4, VK_SKIP_MATVEC_WG = 8, VK_SKIP_BARRIER = 16 };

/* buf is written (a dispatch, a recorded copy, an upload) or destroyed: gemm_cm's
 * f16 x converted from it is stale. */
static inline void vk_xh_forget(vk_backend *b, VkBuffer buf) {
    if (buf && buf == b->xh_src) b->xh_valid = 0;
}

/* The alignment of a storage binding's offset on this device (at least 4). */
static inline VkDeviceSize vk_storage_align(const vk_backend *b) {
    return b->d.info.min_storage_align > 4 ? b->d.info.min_storage_align : 4;
}

/* vk_memory.c */
vkllm_status vk_buffer_create(vk_backend *b, VkDeviceSize size, int host_visible, const char *what,
                              vk_buffer *out);
void vk_buffer_destroy(vk_backend *b, vk_buffer *buf);
vkllm_status vk_buffer_upload(vk_backend *b, vk_buffer *dst, VkDeviceSize off, const void *src,
                              size_t n);
vkllm_status vk_buffer_download(vk_backend *b, const vk_buffer *src, VkDeviceSize off, void *dst,
                                size_t n);
/* Copies n bytes into the per-pass arena; *out is the bound range. */
vkllm_status vk_arena_push(vk_backend *b, const void *data, size_t n, vk_bind *out);
void vk_arena_reset(vk_backend *b);
void vk_arena_destroy(vk_backend *b);

/* vk_pipeline.c */
vkllm_status vk_pipeline_init(vk_backend *b);
void vk_pipeline_destroy(vk_backend *b);
/* The pipeline of variant `name` with token tile nt (spec constant 0), created on first use. */
vkllm_status vk_pipeline_get(vk_backend *b, const char *name, uint32_t nt, VkPipeline *out);
/* The same with `mode`: specialization constant 1 (matvec fusion bits, the
 * attention head dim) in the low 16 bits, the workgroup size (constant 2;
 * 0 = b->mv_wg) above. */
vkllm_status vk_pipeline_get_mode(vk_backend *b, const char *name, uint32_t nt, uint32_t mode, VkPipeline *out);
vkllm_status vk_desc_alloc(vk_backend *b, VkDescriptorSet *out);
vkllm_status vk_desc_reset(vk_backend *b);

/* vk_ops.c: records a deferred rope_kv_write (every op and end() call it first) */
vkllm_status vk_ops_flush(vk_backend *b);

/* vk_submit.c */
vkllm_status vk_submit_init(vk_backend *b);
void vk_submit_destroy(vk_backend *b);
/* A one-off command buffer outside the forward pass, submitted and waited on. */
vkllm_status vk_imm_begin(vk_backend *b, VkCommandBuffer *cmd);
vkllm_status vk_imm_end(vk_backend *b);
vkllm_status vk_pass_begin(vk_backend *b);
vkllm_status vk_pass_end(vk_backend *b);
/* Hazard tracking: before an op reading `rd` and writing `wr`, emits one
 * compute barrier when any of them was written (or `wr` read) since the last. */
vkllm_status vk_hazard(vk_backend *b, const VkBuffer *rd, int n_rd, const VkBuffer *wr, int n_wr);
/* A full barrier around transfers recorded inside the pass. */
vkllm_status vk_barrier_all(vk_backend *b);
/* Records one dispatch: binds n_bind ranges (others get the dummy buffer). */
vkllm_status vk_dispatch(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind,
                         const void *pc, uint32_t pc_size, uint32_t gx, uint32_t gy);
vkllm_status vk_dispatch_3d(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind,
                            const void *pc, uint32_t pc_size, uint32_t gx, uint32_t gy, uint32_t gz);

/* vk_record.c */
vkllm_status vk_rec_dispatch(vk_backend *b, VkPipeline p, const vk_bind *binds, int n_bind, const void *pc,
                             uint32_t pc_size, uint32_t gx, uint32_t gy, uint32_t gz);
/* A barrier: compute to compute, or (all) every stage and access. */
vkllm_status vk_rec_barrier(vk_backend *b, int all);
vkllm_status vk_rec_copy(vk_backend *b, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                         VkDeviceSize size);
/* Makes b->cmd hold the pass: *reused = 1 when the previous recording serves. */
vkllm_status vk_rec_finish(vk_backend *b, int *reused);
void vk_rec_destroy(vk_backend *b);

/* vk_profile.c: all no-ops unless profiling is on and timestamps work. */
vkllm_status vk_profile_init(vk_backend *b);
void vk_profile_pass_begin(vk_backend *b);
void vk_profile_after_dispatch(vk_backend *b);
/* After the pass's fence: adds the pass's timings to the totals. */
void vk_profile_collect(vk_backend *b);
/* Prints the table to stderr (or that timestamps are unsupported). */
void vk_profile_report(vk_backend *b);
void vk_profile_destroy(vk_backend *b);

/* vk_ops.c */
void vk_ops_install(backend_vt *vt);
/* Destroys the outgrown attention scratch buffers (after a fence); all: the current one too. */
void vk_att_scratch_release(vk_backend *b, int all);

#endif
