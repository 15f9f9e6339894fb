/* vk_harness.h — helpers shared by the Vulkan backend tests: opening the
 * Vulkan backend (a loud SKIP when no device exists, a failure under CI),
 * the CPU reference backend, buffers filled with data or poisoned with NaN,
 * weights made from random floats in any type, and error measures. */
#ifndef VKLLM_TEST_VK_HARNESS_H
#define VKLLM_TEST_VK_HARNESS_H

#include <dlfcn.h>

#include "backend/backend.h"
#include "backend/vulkan/vk_backend.h"
#include "core/dtype.h"
#include "quant/quant.h"
#include "testutil.h"
#include "vkllm.h"

/* The Vulkan backend, or NULL after a loud SKIP (exits 1 under CI).
 * lavapipe is pinned in memory first: the loader unloads the driver when the
 * last instance goes, and LeakSanitizer could then not name (and so not
 * suppress, see tests/lsan.supp) the small allocations Mesa never frees. */
static inline backend *vkh_open(int max_binding_mb, int no_subgroup) {
    static void *pin;
    if (!pin) pin = dlopen("libvulkan_lvp.so", RTLD_LAZY);
    vk_backend_opts o = {.device_index = -1, .max_binding_mb = max_binding_mb, .no_subgroup = no_subgroup};
    backend *b = NULL;
    vkllm_status s = vk_backend_create_opts(&o, &b);
    if (s == VKLLM_ERR_UNSUPPORTED) {
        fprintf(stderr, "\n*** SKIP: no Vulkan device: %s ***\n\n", vkllm_last_error());
        if (getenv("CI")) {
            fprintf(stderr, "*** CI is set: a Vulkan device (lavapipe) must exist; failing ***\n");
            exit(1);
        }
        return NULL;
    }
    if (s != VKLLM_OK) {
        fprintf(stderr, "vk_backend_create: %s\n", vkllm_last_error());
        exit(1);
    }
    fprintf(stderr, "vulkan device: %s\n", b->device_name);
    return b;
}

/* One thread: the reference needs no speed, and cpu_pool can miss the first
 * job when a worker starts after it was posted (reported to the lead). */
static inline backend *vkh_cpu(void) {
    backend *b = NULL;
    if (cpu_backend_create(1, &b) != VKLLM_OK) {
        fprintf(stderr, "cpu_backend_create: %s\n", vkllm_last_error());
        exit(1);
    }
    return b;
}

#define VKH_OK(expr)                                                                               \
    do {                                                                                           \
        vkllm_status s_ = (expr);                                                                  \
        if (s_ != VKLLM_OK) {                                                                      \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #expr, vkllm_last_error());   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static inline void vkh_fill(uint64_t *rng, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = test_rng_f32(rng, lo, hi);
}

/* A buffer of `bytes` holding `init` (bytes long), or NaN everywhere when init is NULL. */
static inline bk_buf *vkh_buf(backend *b, size_t bytes, const void *init) {
    bk_buf *buf = NULL;
    VKH_OK(b->vt->buf_alloc(b, bytes, &buf));
    if (init) {
        VKH_OK(b->vt->buf_write(b, buf, 0, init, bytes));
    } else {
        unsigned char *p = malloc(bytes);
        memset(p, 0xFF, bytes); /* 0xFFFFFFFF is a NaN: unwritten outputs show */
        VKH_OK(b->vt->buf_write(b, buf, 0, p, bytes));
        free(p);
    }
    return buf;
}

static inline float *vkh_read(backend *b, const bk_buf *buf, size_t bytes) {
    float *p = malloc(bytes);
    VKH_OK(b->vt->buf_read(b, buf, 0, p, bytes));
    return p;
}

/* Random [ne1][ne0] floats in [-1, 1) stored as type t in *data (malloc'ed);
 * *deq gets the dequantized values (what the weight really holds). */
static inline void vkh_weight_data(uint64_t *rng, uint32_t t, int64_t ne0, int64_t ne1, void **data,
                                   uint64_t *nbytes, float **deq) {
    uint64_t rb = dtype_row_bytes(t, (uint64_t)ne0);
    float *src = malloc((size_t)(ne0 * ne1) * sizeof(float));
    vkh_fill(rng, src, (size_t)(ne0 * ne1), -1.0f, 1.0f);
    unsigned char *q = malloc((size_t)(rb * (uint64_t)ne1));
    float *d = malloc((size_t)(ne0 * ne1) * sizeof(float));
    for (int64_t r = 0; r < ne1; r++) {
        if (quant_quantize_row(t, src + r * ne0, q + r * rb, ne0) ||
            quant_dequantize_row(t, q + r * rb, d + r * ne0, ne0)) {
            fprintf(stderr, "quant_quantize_row %s failed\n", dtype_name(t));
            exit(1);
        }
    }
    free(src);
    *data = q;
    *nbytes = rb * (uint64_t)ne1;
    *deq = d;
}

static inline bk_weight *vkh_weight(backend *b, const char *name, uint32_t t, int64_t ne0, int64_t ne1,
                                    const void *data, uint64_t nbytes) {
    wtensor w = {.name = name, .type = t, .ne0 = ne0, .ne1 = ne1, .data = data, .nbytes = nbytes};
    bk_weight *out = NULL;
    VKH_OK(b->vt->weight_upload(b, &w, &out));
    return out;
}

/* A batch of n tokens with ids, positions 0..n-1 in slot 0 and no KV cache use. */
typedef struct vkh_batch {
    bk_batch b;
    int32_t ids[256], pos[256], seq[256], bt[64];
} vkh_batch;

static inline void vkh_batch_simple(vkh_batch *vb, int n, uint64_t *rng, int n_vocab) {
    memset(vb, 0, sizeof *vb);
    for (int i = 0; i < n; i++) {
        vb->ids[i] = n_vocab > 0 ? (int32_t)(test_rng_u64(rng) % (uint64_t)n_vocab) : 0;
        vb->pos[i] = i;
        vb->seq[i] = 0;
    }
    vb->b = (bk_batch){.n_tokens = n, .ids = vb->ids, .pos = vb->pos, .seq = vb->seq,
                       .block_table = vb->bt, .n_slots = 1, .max_blocks = 1};
}

/* Largest |a-b| / (tol_abs + tol_rel*|b|) over n values: <= 1 passes; NaN counts as a failure. */
static inline double vkh_worst(const float *a, const float *b, size_t n, double tol_abs, double tol_rel,
                               size_t *at) {
    double worst = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (tol_abs + tol_rel * fabs((double)b[i]));
        if (!(e <= worst)) {
            worst = isnan(e) ? INFINITY : e;
            *at = i;
        }
    }
    return worst;
}

/* Normalized mean squared error sum((a-b)^2) / sum(b^2), as backend comparisons use. */
static inline double vkh_nmse(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return den > 0 ? num / den : num;
}

#endif
