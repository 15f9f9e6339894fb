/* quantize.c — per-tensor type choice for a quantization target, the threaded
 * row pipeline that streams converted tensors into the GGUF writer, and
 * `vkllm quantize` on GGUF files.
 *
 * The _M mixes follow the published recipe: 1-D tensors stay F32; the output
 * projection (or the token embedding when the output is tied to it) is Q6_K;
 * attn_v and ffn_down get Q6_K in the layers where use_more_bits holds (the
 * first and last eighth, and every third layer between); the rest use the base
 * K type. */
#include "convert/quantize.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "quant/quant.h"

#define QUANT_CHUNK_BYTES (16u << 20)

static const quantize_target quantize_targets[] = {
    {"f32", QUANT_FTYPE_F32, DTYPE_F32, 0},        {"f16", QUANT_FTYPE_F16, DTYPE_F16, 0},
    {"bf16", QUANT_FTYPE_BF16, DTYPE_BF16, 0},     {"q8_0", QUANT_FTYPE_Q8_0, DTYPE_Q8_0, 0},
    {"q4_0", QUANT_FTYPE_Q4_0, DTYPE_Q4_0, 0},     {"q4_1", QUANT_FTYPE_Q4_1, DTYPE_Q4_1, 0},
    {"q5_0", QUANT_FTYPE_Q5_0, DTYPE_Q5_0, 0},     {"q5_1", QUANT_FTYPE_Q5_1, DTYPE_Q5_1, 0},
    {"q4_k", QUANT_FTYPE_Q4_K_S, DTYPE_Q4_K, 0},   {"q5_k", QUANT_FTYPE_Q5_K_S, DTYPE_Q5_K, 0},
    {"q6_k", QUANT_FTYPE_Q6_K, DTYPE_Q6_K, 0},     {"q4_k_m", QUANT_FTYPE_Q4_K_M, DTYPE_Q4_K, 1},
    {"q5_k_m", QUANT_FTYPE_Q5_K_M, DTYPE_Q5_K, 1},
};

const char quantize_target_names[] = "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m q5_k_m";

int quantize_target_from_name(const char *name, quantize_target *out) {
    for (size_t i = 0; i < sizeof quantize_targets / sizeof quantize_targets[0]; i++)
        if (strcasecmp(name, quantize_targets[i].name) == 0) {
            *out = quantize_targets[i];
            return 0;
        }
    return -1;
}

/* Layer index from "blk.N.", or -1. */
static int quantize_layer_of(const char *name) {
    if (strncmp(name, "blk.", 4) != 0) return -1;
    char *end;
    long l = strtol(name + 4, &end, 10);
    return end != name + 4 && *end == '.' && l >= 0 && l < (1 << 20) ? (int)l : -1;
}

static int quantize_use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

uint32_t quantize_pick_type(const quantize_target *t, const char *name, uint32_t n_dims,
                            int64_t ne0, int n_layers, int has_output) {
    if (n_dims < 2) return DTYPE_F32;
    uint32_t type = t->base;
    if (t->mix) {
        int layer = quantize_layer_of(name);
        if (!strcmp(name, "output.weight") || (!has_output && !strcmp(name, "token_embd.weight")))
            type = DTYPE_Q6_K;
        else if ((ends_with(name, ".attn_v.weight") || ends_with(name, ".ffn_down.weight")) &&
                 layer >= 0 && quantize_use_more_bits(layer, n_layers))
            type = DTYPE_Q6_K;
    }
    int fb = quant_fallback_type(type, ne0);
    if (fb < 0) fb = DTYPE_F16;
    if ((uint32_t)fb != type)
        log_msg(LOG_WARN, "quantize: tensor '%s': rows of %lld are not a multiple of the %s block; using %s",
                name, (long long)ne0, dtype_name(type), dtype_name((uint32_t)fb));
    return (uint32_t)fb;
}

/* ---- the plan ---- */

void quantize_plan_free(quantize_plan *p) {
    for (size_t i = 0; i < p->n; i++) mem_free(p->t[i].name);
    mem_free(p->t);
    p->t = NULL;
    p->n = p->cap = 0;
}

vkllm_status quantize_plan_add(quantize_plan *p, const quantize_tensor *t) {
    char *name = mem_strdup(t->name);
    if (!name || mem_grow((void **)&p->t, &p->cap, p->n + 1, sizeof *p->t) != 0) {
        mem_free(name);
        return err_set(VKLLM_ERR_NOMEM, "quantize: out of memory");
    }
    p->t[p->n] = *t;
    p->t[p->n++].name = name;
    return VKLLM_OK;
}

static uint64_t quantize_rows_of(const quantize_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

/* ---- threaded conversion of a chunk of rows ---- */

typedef struct quantize_work {
    const quantize_tensor *t;
    int64_t r0, r1;     /* rows [r0, r1) */
    int64_t chunk_r0;   /* first row of the chunk: out holds rows from here */
    uint8_t *out;
    uint64_t row_bytes, src_row_bytes;
    int failed;
} quantize_work;

/* Source row of output row r: the llama converter reorders each head's rows
 * from rotate-half pairs (i, i + d/2) to adjacent pairs (2i, 2i + 1). */
static int64_t quantize_src_row(const quantize_tensor *t, int64_t r) {
    if (t->perm_heads <= 0) return r;
    int64_t d = (int64_t)quantize_rows_of(t) / t->perm_heads;
    int64_t head = r / d, within = r % d;
    return head * d + (within % 2) * (d / 2) + within / 2;
}

static void *quantize_worker(void *arg) {
    quantize_work *wk = arg;
    const quantize_tensor *t = wk->t;
    int64_t ne0 = (int64_t)t->ne[0];
    float *row = mem_alloc((size_t)ne0 * sizeof(float));
    if (!row) {
        wk->failed = 1;
        return NULL;
    }
    for (int64_t r = wk->r0; r < wk->r1 && !wk->failed; r++) {
        if (t->gen) {
            t->gen(t, r, row);
        } else {
            const uint8_t *src = (const uint8_t *)t->src + (uint64_t)quantize_src_row(t, r) * wk->src_row_bytes;
            if (quant_dequantize_row(t->src_type, src, row, ne0) != 0) wk->failed = 1;
        }
        uint8_t *dst = wk->out + (uint64_t)(r - wk->chunk_r0) * wk->row_bytes;
        if (!wk->failed && quant_quantize_row(t->type, row, dst, ne0) != 0) wk->failed = 1;
    }
    mem_free(row);
    return NULL;
}

static vkllm_status quantize_chunk(const quantize_tensor *t, int64_t r0, int64_t r1, uint8_t *out,
                                   int n_threads) {
    quantize_work wk[256];
    pthread_t th[256];
    int started[256] = {0};
    if (n_threads > 256) n_threads = 256;
    if (n_threads > r1 - r0) n_threads = (int)(r1 - r0);
    int64_t per = (r1 - r0 + n_threads - 1) / n_threads;
    for (int i = 0; i < n_threads; i++) {
        int64_t a = r0 + per * i, b = a + per < r1 ? a + per : r1;
        wk[i] = (quantize_work){t, a, a < b ? b : a, r0, out, dtype_row_bytes(t->type, t->ne[0]),
                                t->gen ? 0 : dtype_row_bytes(t->src_type, t->ne[0]), 0};
    }
    for (int i = 1; i < n_threads; i++)
        started[i] = pthread_create(&th[i], NULL, quantize_worker, &wk[i]) == 0;
    for (int i = 1; i < n_threads; i++)
        if (!started[i]) quantize_worker(&wk[i]); /* no thread: do its share here */
    quantize_worker(&wk[0]);
    int failed = wk[0].failed;
    for (int i = 1; i < n_threads; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        failed |= wk[i].failed;
    }
    if (failed)
        return err_set(VKLLM_ERR_UNSUPPORTED, "quantize: tensor '%s': cannot convert %s to %s (or out of memory)",
                       t->name, t->gen ? "generated rows" : dtype_name(t->src_type), dtype_name(t->type));
    return VKLLM_OK;
}

static int quantize_cores(int n) {
    if (n > 0) return n;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)(c > 256 ? 256 : c) : 1;
}

vkllm_status quantize_plan_write(quantize_plan *p, gguf_writer *w) {
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < p->n; i++) {
        const quantize_tensor *t = &p->t[i];
        TRY(gguf_writer_add_tensor(w, t->name, t->n_dims, t->ne, t->type));
        total += dtype_row_bytes(t->type, t->ne[0]) * quantize_rows_of(t);
    }
    TRY(gguf_writer_begin_data(w));
    int n_threads = quantize_cores(p->n_threads);
    uint8_t *buf = NULL;
    vkllm_status s = VKLLM_OK;
    for (size_t i = 0; i < p->n && s == VKLLM_OK; i++) {
        const quantize_tensor *t = &p->t[i];
        uint64_t rb = dtype_row_bytes(t->type, t->ne[0]), rows = quantize_rows_of(t);
        if (!t->gen && t->src_type == t->type && t->perm_heads <= 0) { /* same type: plain copy */
            const uint8_t *src = t->src;
            for (uint64_t off = 0, n = rb * rows; off < n && s == VKLLM_OK;) {
                uint64_t k = n - off < QUANT_CHUNK_BYTES ? n - off : QUANT_CHUNK_BYTES;
                s = gguf_writer_write(w, src + off, (size_t)k);
                off += k;
                done += k;
                if (p->progress) p->progress(p->progress_ud, done, total);
            }
            continue;
        }
        uint64_t chunk_rows = QUANT_CHUNK_BYTES / rb;
        if (chunk_rows < 1) chunk_rows = 1;
        if (!buf) buf = mem_alloc(QUANT_CHUNK_BYTES > rb ? QUANT_CHUNK_BYTES : (size_t)rb);
        else if (rb > QUANT_CHUNK_BYTES) {
            mem_free(buf);
            buf = mem_alloc((size_t)rb);
        }
        if (!buf) {
            s = err_set(VKLLM_ERR_NOMEM, "quantize: out of memory");
            break;
        }
        for (uint64_t r = 0; r < rows && s == VKLLM_OK; r += chunk_rows) {
            uint64_t r1 = r + chunk_rows < rows ? r + chunk_rows : rows;
            s = quantize_chunk(t, (int64_t)r, (int64_t)r1, buf, n_threads);
            if (s == VKLLM_OK) s = gguf_writer_write(w, buf, (size_t)((r1 - r) * rb));
            done += (r1 - r) * rb;
            if (p->progress) p->progress(p->progress_ud, done, total);
        }
        if (rb > QUANT_CHUNK_BYTES) {
            mem_free(buf);
            buf = NULL;
        }
    }
    mem_free(buf);
    return s;
}

/* ---- GGUF -> GGUF ---- */

static int quantize_n_layers(const gguf *g) {
    const char *arch;
    size_t len;
    int n = 0;
    if (gguf_get_str(g, "general.architecture", &arch, &len) == VKLLM_OK && len < 64) {
        char key[96];
        uint32_t v;
        snprintf(key, sizeof key, "%s.block_count", arch);
        if (gguf_get_u32(g, key, &v) == VKLLM_OK && v < (1u << 20)) return (int)v;
    }
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        int l = quantize_layer_of(gguf_tensor_at(g, i)->name);
        if (l + 1 > n) n = l + 1;
    }
    return n;
}

static vkllm_status quantize_gguf_plan(const gguf *g, const quantize_target *tg, quantize_plan *p) {
    int n_layers = quantize_n_layers(g), has_output = gguf_find_tensor(g, "output.weight") != NULL;
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *gt = gguf_tensor_at(g, i);
        quantize_tensor t = {.name = (char *)gt->name, .n_dims = gt->n_dims, .src = gt->data,
                             .src_type = gt->type};
        memcpy(t.ne, gt->ne, sizeof t.ne);
        /* tensors vkllm cannot convert (integer types, unsupported quants) are copied */
        t.type = dtype_supported(gt->type) || gt->type == DTYPE_F32 || gt->type == DTYPE_F16 ||
                         gt->type == DTYPE_BF16
                     ? quantize_pick_type(tg, gt->name, gt->n_dims, (int64_t)gt->ne[0], n_layers, has_output)
                     : gt->type;
        TRY(quantize_plan_add(p, &t));
    }
    return VKLLM_OK;
}

vkllm_status quantize_gguf_file(const char *in, const char *out, const quantize_target *t,
                                int n_threads, quantize_progress_fn progress, void *ud) {
    gguf *g = NULL;
    TRY(gguf_open(in, &g));
    gguf_writer *w = NULL;
    quantize_plan p = {.n_threads = n_threads, .progress = progress, .progress_ud = ud};
    vkllm_status s = gguf_writer_create(out, &w);
    for (int64_t i = 0; s == VKLLM_OK && i < gguf_n_kv(g); i++) s = gguf_writer_copy_kv(w, g, i);
    if (s == VKLLM_OK) s = gguf_writer_set_u32(w, "general.file_type", t->ftype);
    if (s == VKLLM_OK) s = gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (s == VKLLM_OK) s = quantize_gguf_plan(g, t, &p);
    if (s == VKLLM_OK) s = quantize_plan_write(&p, w);
    if (s == VKLLM_OK) s = gguf_writer_finish(w);
    gguf_writer_free(w);
    quantize_plan_free(&p);
    gguf_close(g);
    return s;
}
