/* cpu_backend.c — the CPU backend object: its vtable, activation buffers
 * (host memory), weights (borrowed in their stored type, never converted),
 * the paged KV cache, and the begin/end bracket (ops run as they are called,
 * so end() has nothing to flush). */
#include "backend/cpu/cpu_backend.h"

#include <stdio.h>
#include <string.h>

#include "backend/cpu/cpu_kernels.h"
#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"

static cpu_backend *cb_of(backend *b) { return (cpu_backend *)b; }

vkllm_status cpu_backend_scratch(cpu_backend *cb, size_t bytes, void **out) {
    if (bytes > cb->scratch_cap) {
        void *p = mem_alloc(bytes);
        if (!p) return err_set(VKLLM_ERR_NOMEM, "cpu: scratch of %zu bytes", bytes);
        mem_free(cb->scratch);
        cb->scratch = p;
        cb->scratch_cap = bytes;
    }
    *out = cb->scratch;
    return VKLLM_OK;
}

vkllm_status cpu_backend_check_pass(const cpu_backend *cb, const char *op) {
    if (!cb->in_pass)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: %s called outside begin()/end()", op);
    return VKLLM_OK;
}

vkllm_status cpu_backend_check_buf(const bk_buf *buf, uint64_t count, uint64_t elem,
                                   const char *op, const char *what) {
    uint64_t need;
    if (!buf) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: %s: %s buffer is NULL", op, what);
    if (!ckmath_mul(count, elem, &need) || need > buf->bytes)
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "cpu: %s: %s buffer of %zu bytes is smaller than %llu x %llu bytes", op,
                       what, buf->bytes, (unsigned long long)count, (unsigned long long)elem);
    return VKLLM_OK;
}

int cpu_backend_set_simd(backend *b, int simd) {
    cpu_backend *cb = cb_of(b);
    int best = cpu_kernels_simd_level();
    cb->simd = simd < CPU_SIMD_NONE ? CPU_SIMD_NONE : simd > best ? best : simd;
    return cb->simd;
}

/* ---- weights ---- */

static vkllm_status cpu_weight_upload(backend *b, const wtensor *w, bk_weight **out) {
    (void)b;
    *out = NULL;
    const char *name = w->name ? w->name : "?";
    if (!cpu_kernels_get(w->type, 0))
        return err_set(VKLLM_ERR_UNSUPPORTED, "cpu: weight '%s': type %s (%u) is not supported",
                       name, dtype_name(w->type), w->type);
    if (w->ne0 <= 0 || w->ne1 <= 0 || w->ne0 > INT32_MAX || w->ne1 > INT32_MAX)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: weight '%s': bad shape %lld x %lld", name,
                       (long long)w->ne1, (long long)w->ne0);
    uint64_t row = dtype_row_bytes(w->type, (uint64_t)w->ne0), total;
    if (!row)
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "cpu: weight '%s': row length %lld is not a multiple of the %s block (%u)",
                       name, (long long)w->ne0, dtype_name(w->type), dtype_block_size(w->type));
    if (!ckmath_mul(row, (uint64_t)w->ne1, &total) || total > w->nbytes || total > SIZE_MAX)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: weight '%s': %lld rows of %llu bytes exceed %llu bytes",
                       name, (long long)w->ne1, (unsigned long long)row,
                       (unsigned long long)w->nbytes);
    if (!w->data) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: weight '%s': no data", name);
    bk_weight *bw = mem_calloc(1, sizeof *bw);
    if (!bw) return err_set(VKLLM_ERR_NOMEM, "cpu: weight '%s'", name);
    bw->type = w->type;
    bw->ne0 = w->ne0;
    bw->ne1 = w->ne1;
    bw->row_bytes = (size_t)row;
    bw->data = w->data;
    /* The kernels read f32 and the 16-bit block fields in place: the base
     * must be 4-byte aligned (GGUF guarantees 32; safetensors may not). */
    if ((uintptr_t)w->data % 4 != 0) {
        bw->owned = mem_alloc((size_t)total ? (size_t)total : 1);
        if (!bw->owned) {
            mem_free(bw);
            return err_set(VKLLM_ERR_NOMEM, "cpu: weight '%s': copy of %llu bytes", name,
                           (unsigned long long)total);
        }
        memcpy(bw->owned, w->data, (size_t)total);
        bw->data = bw->owned;
    }
    *out = bw;
    return VKLLM_OK;
}

static void cpu_weight_free(backend *b, bk_weight *w) {
    (void)b;
    if (!w) return;
    mem_free(w->owned);
    mem_free(w);
}

/* ---- activation buffers ---- */

static vkllm_status cpu_buf_alloc(backend *b, size_t bytes, bk_buf **out) {
    (void)b;
    *out = NULL;
    bk_buf *buf = mem_calloc(1, sizeof *buf);
    if (!buf) return err_set(VKLLM_ERR_NOMEM, "cpu: buffer");
    /* rounded up so 8-wide loads of the last floats stay in bounds */
    uint64_t cap;
    if (!ckmath_align(bytes ? bytes : 1, 64, &cap) || cap > SIZE_MAX ||
        !(buf->data = mem_calloc(1, (size_t)cap))) {
        mem_free(buf);
        return err_set(VKLLM_ERR_NOMEM, "cpu: buffer of %zu bytes", bytes);
    }
    buf->bytes = bytes;
    *out = buf;
    return VKLLM_OK;
}

static void cpu_buf_free(backend *b, bk_buf *buf) {
    (void)b;
    if (!buf) return;
    mem_free(buf->data);
    mem_free(buf);
}

static vkllm_status buf_range(const bk_buf *buf, size_t off, size_t bytes, const char *op) {
    uint64_t end;
    if (!buf) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: %s: NULL buffer", op);
    if (!ckmath_add(off, bytes, &end) || end > buf->bytes)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: %s: range %zu+%zu past buffer end %zu", op,
                       off, bytes, buf->bytes);
    return VKLLM_OK;
}

static vkllm_status cpu_buf_write(backend *b, bk_buf *buf, size_t off, const void *src,
                                  size_t bytes) {
    (void)b;
    TRY(buf_range(buf, off, bytes, "buf_write"));
    if (bytes) memcpy((char *)buf->data + off, src, bytes);
    return VKLLM_OK;
}

static vkllm_status cpu_buf_read(backend *b, const bk_buf *buf, size_t off, void *dst,
                                 size_t bytes) {
    (void)b;
    TRY(buf_range(buf, off, bytes, "buf_read"));
    if (bytes) memcpy(dst, (const char *)buf->data + off, bytes);
    return VKLLM_OK;
}

/* ---- KV cache ---- */

static vkllm_status cpu_kv_alloc(backend *b, const bk_kv_desc *d, bk_kv **out) {
    (void)b;
    *out = NULL;
    if (d->type != DTYPE_F32 && d->type != DTYPE_F16 && d->type != DTYPE_Q8_0)
        return err_set(VKLLM_ERR_UNSUPPORTED, "cpu: kv cache type %s (%u) is not f32, f16 or q8_0",
                       dtype_name(d->type), d->type);
    if (d->type == DTYPE_Q8_0 && d->head_dim % 32)
        return err_set(VKLLM_ERR_UNSUPPORTED,
                       "cpu: kv cache: q8_0 needs a head dimension that is a multiple of 32, not %d",
                       d->head_dim);
    if (d->n_layers <= 0 || d->n_kv_heads <= 0 || d->head_dim <= 0 || d->block_size <= 0 ||
        d->n_blocks <= 0)
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "cpu: kv cache: bad shape (layers %d, kv heads %d, head dim %d, block %d, "
                       "blocks %d)",
                       d->n_layers, d->n_kv_heads, d->head_dim, d->block_size, d->n_blocks);
    uint64_t rb = dtype_row_bytes(d->type, (uint64_t)d->head_dim), n, bytes;
    if (!ckmath_mul((uint64_t)d->n_blocks, (uint64_t)d->n_kv_heads, &n) ||
        !ckmath_mul(n, (uint64_t)d->block_size, &n) || !ckmath_mul(n, rb, &n) ||
        !ckmath_mul(n, (uint64_t)d->n_layers, &bytes) || bytes > SIZE_MAX / 2)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: kv cache size overflows");
    bk_kv *kv = mem_calloc(1, sizeof *kv);
    if (!kv) return err_set(VKLLM_ERR_NOMEM, "cpu: kv cache");
    kv->d = *d;
    kv->row_bytes = (size_t)rb;
    kv->layer_bytes = (size_t)n;
    kv->k = mem_calloc(1, (size_t)bytes);
    kv->v = kv->k ? mem_calloc(1, (size_t)bytes) : NULL;
    if (!kv->v) {
        mem_free(kv->k);
        mem_free(kv);
        return err_set(VKLLM_ERR_NOMEM, "cpu: kv cache of 2 x %llu bytes",
                       (unsigned long long)bytes);
    }
    *out = kv;
    return VKLLM_OK;
}

static void cpu_kv_free(backend *b, bk_kv *kv) {
    (void)b;
    if (!kv) return;
    mem_free(kv->k);
    mem_free(kv->v);
    mem_free(kv);
}

static vkllm_status cpu_kv_copy_block(backend *b, bk_kv *kv, int src, int dst) {
    (void)b;
    if (src < 0 || src >= kv->d.n_blocks || dst < 0 || dst >= kv->d.n_blocks)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: kv_copy_block %d -> %d: pool has %d blocks",
                       src, dst, kv->d.n_blocks);
    if (src == dst) return VKLLM_OK;
    size_t blk = kv->layer_bytes / (size_t)kv->d.n_blocks;
    for (int l = 0; l < kv->d.n_layers; l++) {
        size_t base = (size_t)l * kv->layer_bytes;
        memcpy((char *)kv->k + base + (size_t)dst * blk, (char *)kv->k + base + (size_t)src * blk, blk);
        memcpy((char *)kv->v + base + (size_t)dst * blk, (char *)kv->v + base + (size_t)src * blk, blk);
    }
    return VKLLM_OK;
}

/* ---- pass bracket ---- */

static vkllm_status cpu_begin(backend *b, const bk_batch *batch) {
    cpu_backend *cb = cb_of(b);
    if (cb->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: begin() inside a pass");
    if (!batch || batch->n_tokens <= 0 || !batch->ids || !batch->pos || !batch->seq)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: begin: empty or incomplete batch");
    if (batch->n_slots < 0 || batch->max_blocks < 0 ||
        (int64_t)batch->n_slots * batch->max_blocks > INT32_MAX ||
        (batch->n_slots > 0 && batch->max_blocks > 0 && !batch->block_table))
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: begin: bad block table (%d slots x %d blocks)",
                       batch->n_slots, batch->max_blocks);
    for (int t = 0; t < batch->n_tokens; t++) {
        if (batch->pos[t] < 0)
            return err_set(VKLLM_ERR_INVALID_ARG, "cpu: begin: token %d: negative position %d", t,
                           batch->pos[t]);
        if (batch->seq[t] < 0 || (batch->n_slots > 0 && batch->seq[t] >= batch->n_slots))
            return err_set(VKLLM_ERR_INVALID_ARG, "cpu: begin: token %d: slot %d not in 0..%d", t,
                           batch->seq[t], batch->n_slots - 1);
    }
    cb->batch = *batch;
    cb->in_pass = 1;
    return VKLLM_OK;
}

static vkllm_status cpu_end(backend *b) {
    cpu_backend *cb = cb_of(b);
    if (!cb->in_pass) return err_set(VKLLM_ERR_INVALID_ARG, "cpu: end() without begin()");
    cb->in_pass = 0;
    memset(&cb->batch, 0, sizeof cb->batch);
    return VKLLM_OK;
}

static void cpu_destroy(backend *b) {
    if (!b) return;
    cpu_backend *cb = cb_of(b);
    cpu_pool_destroy(cb->pool);
    mem_free(cb->scratch);
    mem_free(cb);
}

static const backend_vt cpu_vt = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .weight_upload = cpu_weight_upload,
    .weight_free = cpu_weight_free,
    .buf_alloc = cpu_buf_alloc,
    .buf_free = cpu_buf_free,
    .buf_write = cpu_buf_write,
    .buf_read = cpu_buf_read,
    .kv_alloc = cpu_kv_alloc,
    .kv_free = cpu_kv_free,
    .kv_copy_block = cpu_kv_copy_block,
    .begin = cpu_begin,
    .end = cpu_end,
    .embed = cpu_ops_embed,
    .rmsnorm = cpu_ops_rmsnorm,
    .matmul = cpu_matmul,
    .rope = cpu_ops_rope,
    .kv_write = cpu_attention_kv_write,
    .attention = cpu_attention,
    .silu_mul = cpu_ops_silu_mul,
    .add = cpu_ops_add,
    .gather_rows = cpu_ops_gather_rows,
    .argmax = cpu_ops_argmax,
};

/* "model name" from /proc/cpuinfo, else "cpu". */
static void cpu_model_name(char *dst, size_t cap) {
    snprintf(dst, cap, "cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *c = strchr(line, ':');
        if (!c) continue;
        c++;
        while (*c == ' ' || *c == '\t') c++;
        size_t n = strcspn(c, "\r\n");
        if (n) snprintf(dst, cap, "%.*s", (int)(n < 200 ? n : 200), c);
        break;
    }
    fclose(f);
}

vkllm_status cpu_backend_create(int n_threads, backend **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: thread count %d out of range 1..1024",
                       n_threads);
    cpu_backend *cb = mem_calloc(1, sizeof *cb);
    if (!cb) return err_set(VKLLM_ERR_NOMEM, "cpu: backend");
    vkllm_status s = cpu_pool_create(n_threads, &cb->pool);
    if (s != VKLLM_OK) {
        mem_free(cb);
        return s;
    }
    cb->base.vt = &cpu_vt;
    cb->base.kind = VKLLM_BACKEND_CPU;
    cb->n_threads = n_threads;
    cb->simd = cpu_kernels_simd_level();
    cpu_model_name(cb->base.device_name, sizeof cb->base.device_name);
    *out = &cb->base;
    return VKLLM_OK;
}
