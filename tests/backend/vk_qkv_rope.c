/* vk_qkv_rope.c — the Vulkan backend's qkv_rope_kv: decode's q, k and v
 * matvecs (rmsnorm fused in, biases) with rope and the KV store in their
 * epilogue instead of three matvecs, st->k / st->v and rope_kv.comp. Both
 * rope modes, f16 and f32 caches, quantized (matvec_sx.comp) and float
 * (matvec.comp, 16-byte and unit loads) weights, head dims 64 and 128 with
 * GQA, and three decode steps (slot 1 at positions 15 and 16 across a block
 * boundary, slot 0 at 49) over permuted block tables, into layer 1 of 2.
 * q and every byte of the cache are checked against a double-precision
 * reference on the dequantized weights (the cache starts as random bytes:
 * what no step wrote must stay so, bit for bit) and against the unfused
 * Vulkan path (matmul_fused + rope_kv_write) on a cache with the same start.
 * Then the kernel variants (no subgroups, matvec_sx off, its direct reads,
 * other rows per workgroup, eight bindings, sharded weights), the passes it
 * must refuse with VKLLM_ERR_UNSUPPORTED having recorded nothing, and bad
 * arguments. Tolerances next to each check. */
#include "backend/vulkan/vk_internal.h"
#include "vk_harness.h"

#define N_LAYERS 2
#define LAYER 1
#define BS 16
#define N_BLOCKS 8
#define N_SLOTS 2
#define MAX_BLOCKS 4
#define N_STEPS 3
#define Q_TAIL 64 /* floats past q that must stay NaN */
#define THETA 10000.0f
#define EPS 1e-5f

static const int32_t step_seq[N_STEPS] = {1, 1, 0}, step_pos[N_STEPS] = {15, 16, 49};

typedef struct qcase {
    uint32_t wt, kv_type;
    bk_rope_mode mode;
    int D, n_heads, n_kv, ne0, bias;
    int ff; /* frequency factors (llama3 scaling) */
} qcase;

enum { FUSED, REFUSED }; /* what the backend must do with a case */

/* The reference of one step: q, k, v after bias and rope, in double, with
 * each value's tolerance against the GPU's f32 (tol) and the unfused path (tol_u). */
typedef struct qref {
    double *val[3], *tol[3], *tol_u[3];
} qref;

static void ref_step(const qcase *c, float *const deq[3], float *const bias[3], const float *norm, const float *ff,
                     const float *x, int32_t pos, qref *out) {
    int rows[3] = {c->n_heads * c->D, c->n_kv * c->D, c->n_kv * c->D};
    double ss = 0;
    for (int i = 0; i < c->ne0; i++) ss += (double)x[i] * x[i];
    double sc = 1.0 / sqrt(ss / c->ne0 + EPS);
    double *xin = malloc((size_t)c->ne0 * sizeof *xin);
    for (int i = 0; i < c->ne0; i++) xin[i] = x[i] * sc * norm[i];
    for (int p = 0; p < 3; p++) {
        double *v = out->val[p], *t = out->tol[p], *tu = out->tol_u[p], *mag = malloc((size_t)rows[p] * sizeof *mag);
        for (int r = 0; r < rows[p]; r++) {
            double s = 0, m = 0;
            for (int i = 0; i < c->ne0; i++) {
                double term = (double)deq[p][(size_t)r * c->ne0 + i] * xin[i];
                s += term;
                m += fabs(term);
            }
            if (bias[p]) s += bias[p][r], m += fabs(bias[p][r]);
            v[r] = s;
            mag[r] = m;
            /* f32 sums in another order, the normalized input rounded to f32:
             * 1e-5 of sum |w x'| (as tests/backend/vk_fused.c) */
            t[r] = 1e-5 * m + 1e-6;
            /* the unfused path: the same sums, but the fused matvec.comp
             * reduces a row in another order where subgroups are wider than
             * lavapipe's 8 lanes (on the H200 a 23.03 differed by an f32 ulp,
             * 2e-6): the same 1e-5 of sum |w x'| */
            tu[r] = t[r];
        }
        if (p < 2) { /* rope, angles as the backends take them: f32 inv_freq and f32 pos * inv_freq */
            int half = c->D / 2;
            for (int h = 0; h < rows[p] / c->D; h++)
                for (int i = 0; i < half; i++) {
                    float inv = 1.0f / powf(THETA, (float)(2 * i) / (float)c->D);
                    if (ff) inv = inv / ff[i];
                    float ang = (float)pos * inv;
                    double cs = cos((double)ang), sn = sin((double)ang);
                    int i0 = h * c->D + (c->mode == BK_ROPE_NEOX ? i : 2 * i);
                    int i1 = h * c->D + (c->mode == BK_ROPE_NEOX ? i + half : 2 * i + 1);
                    double x0 = v[i0], x1 = v[i1];
                    v[i0] = x0 * cs - x1 * sn;
                    v[i1] = x0 * sn + x1 * cs;
                    /* both inputs' errors, and the GPU's f32 cos/sin of the
                     * reduced angle: 2e-6 of the pair's size (as vk_attention.c) */
                    double e = t[i0] + t[i1] + 2e-6 * (fabs(x0) + fabs(x1));
                    t[i0] = t[i1] = e;
                    tu[i0] = tu[i1] = e;
                }
        }
        free(mag);
    }
    free(xin);
}

/* An f16 cache rounds the f32 value: half an f16 ulp (2^-11 relative, 2^-25
 * absolute below the normal range) more against the reference; against the
 * unfused path, whose f32 value may lie an ulp away, a whole f16 ulp. */
static double tol16(double tol, double ref, int whole_ulp) {
    return tol + (fabs(ref) + tol) * (whole_ulp ? 1.0 / 1024 : 1.0 / 2048) + 3e-8;
}

static double cache_value(const unsigned char *p, uint32_t kv_type) {
    if (kv_type == DTYPE_F16) {
        uint16_t h;
        memcpy(&h, p, 2);
        return dtype_f16_to_f32(h);
    }
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* The whole cache buffer as bytes. */
static unsigned char *cache_read(backend *vk, bk_kv *kv, size_t total) {
    unsigned char *p = malloc(total);
    VKH_OK(vk_buffer_download((vk_backend *)vk, &kv->b, 0, p, total));
    return p;
}

/* Runs the case's steps; REFUSED cases check the refusal on the first step. */
static void run_case(backend *vk, uint64_t *rng, const qcase *c, int expect, const char *label) {
    char what[160];
    snprintf(what, sizeof what, "%s %s %s cache %s D %d heads %d/%d ne0 %d%s%s", label, dtype_name(c->wt),
             c->mode == BK_ROPE_NEOX ? "neox" : "norm", dtype_name(c->kv_type), c->D, c->n_heads, c->n_kv, c->ne0,
             c->bias ? " bias" : "", c->ff ? " freq factors" : "");
    const backend_vt *vt = vk->vt;
    int rows[3] = {c->n_heads * c->D, c->n_kv * c->D, c->n_kv * c->D};
    void *wdata[3];
    uint64_t wnb[3];
    float *deq[3], *bias[3] = {NULL, NULL, NULL}, *norm = malloc((size_t)c->ne0 * 4);
    bk_weight *w[3], *bw[3] = {NULL, NULL, NULL};
    static const char *names[3] = {"wq", "wk", "wv"};
    vkh_fill(rng, norm, (size_t)c->ne0, 0.5f, 1.5f);
    for (int p = 0; p < 3; p++) {
        vkh_weight_data(rng, c->wt, c->ne0, rows[p], &wdata[p], &wnb[p], &deq[p]);
        w[p] = vkh_weight(vk, names[p], c->wt, c->ne0, rows[p], wdata[p], wnb[p]);
        if (c->bias) {
            bias[p] = malloc((size_t)rows[p] * 4);
            vkh_fill(rng, bias[p], (size_t)rows[p], -1, 1);
            bw[p] = vkh_weight(vk, "bias", DTYPE_F32, rows[p], 1, bias[p], (uint64_t)rows[p] * 4);
        }
    }
    bk_weight *nw = vkh_weight(vk, "norm", DTYPE_F32, c->ne0, 1, norm, (uint64_t)c->ne0 * 4);

    /* two caches (fused, unfused) from the same random bytes */
    bk_kv_desc d = {.n_layers = N_LAYERS, .n_kv_heads = c->n_kv, .head_dim = c->D, .block_size = BS,
                    .n_blocks = N_BLOCKS, .type = c->kv_type};
    bk_kv *kv[2];
    VKH_OK(vt->kv_alloc(vk, &d, &kv[0]));
    VKH_OK(vt->kv_alloc(vk, &d, &kv[1]));
    size_t total = (size_t)(kv[0]->layer_stride * 2 * N_LAYERS), es = c->kv_type == DTYPE_F16 ? 2 : 4;
    size_t n_el = total / es, row = (size_t)rows[1];
    unsigned char *poison = malloc(total);
    for (size_t i = 0; i < total; i++) poison[i] = (unsigned char)test_rng_u64(rng);
    for (int k = 0; k < 2; k++) VKH_OK(vk_buffer_upload((vk_backend *)vk, &kv[k]->b, 0, poison, total));
    /* per cache element: written by a step, its reference and tolerances */
    unsigned char *written = calloc(n_el, 1);
    double *c_ref = calloc(n_el, sizeof *c_ref), *c_tol = calloc(n_el, sizeof *c_tol), *c_tu = calloc(n_el, sizeof *c_tu);

    int32_t perm[N_BLOCKS], bt[N_SLOTS * MAX_BLOCKS];
    for (int i = 0; i < N_BLOCKS; i++) perm[i] = i;
    for (int i = N_BLOCKS - 1; i > 0; i--) {
        int j = (int)(test_rng_u64(rng) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    memcpy(bt, perm, sizeof bt);

    qref ref;
    for (int p = 0; p < 3; p++) {
        ref.val[p] = malloc((size_t)rows[p] * sizeof(double));
        ref.tol[p] = malloc((size_t)rows[p] * sizeof(double));
        ref.tol_u[p] = malloc((size_t)rows[p] * sizeof(double));
    }
    float *ff = NULL;
    if (c->ff) {
        ff = malloc((size_t)c->D / 2 * 4);
        vkh_fill(rng, ff, (size_t)c->D / 2, 1, 8);
    }
    bk_rope rope = {.mode = c->mode, .n_dims = c->D, .theta = THETA, .freq_factors = ff};
    bk_fuse nf = {.norm = nw, .eps = EPS};
    const bk_weight *wc[3] = {w[0], w[1], w[2]}, *bc[3] = {bw[0], bw[1], bw[2]};
    size_t nq = (size_t)rows[0];
    float *x = malloc((size_t)c->ne0 * 4);
    for (int step = 0; step < N_STEPS; step++) {
        int32_t id = 0, pos = step_pos[step], seq = step_seq[step];
        bk_batch batch = {.n_tokens = 1, .ids = &id, .pos = &pos, .seq = &seq, .block_table = bt,
                          .n_slots = N_SLOTS, .max_blocks = MAX_BLOCKS};
        vkh_fill(rng, x, (size_t)c->ne0, -2, 2);
        bk_buf *xb = vkh_buf(vk, (size_t)c->ne0 * 4, x);
        bk_buf *qf = vkh_buf(vk, (nq + Q_TAIL) * 4, NULL), *qu = vkh_buf(vk, nq * 4, NULL);
        bk_buf *ku = vkh_buf(vk, row * 4, NULL), *vu = vkh_buf(vk, row * 4, NULL);
        /* fused */
        VKH_OK(vt->begin(vk, &batch));
        vkllm_status s = vt->qkv_rope_kv(vk, qf, c->n_heads, kv[0], LAYER, xb, wc, bc, &nf, &rope);
        /* three dispatches, no barrier among them (one weight shard each) */
        int n_recs = ((vk_backend *)vk)->n_recs, one_shard = w[0]->n_shards == 1 && w[1]->n_shards == 1;
        VKH_OK(vt->end(vk));
        float *qa = vkh_read(vk, qf, (nq + Q_TAIL) * 4);
        unsigned char *ca = cache_read(vk, kv[0], total);
        if (expect == REFUSED) {
            CHECKF(s == VKLLM_ERR_UNSUPPORTED, "%s: status %d, not refused", what, (int)s);
            /* nothing recorded: q still NaN bytes, the cache its random bytes */
            unsigned char ff[4] = {0xFF, 0xFF, 0xFF, 0xFF};
            int q_same = 1;
            for (size_t i = 0; i < nq + Q_TAIL; i++) q_same = q_same && !memcmp(&qa[i], ff, 4);
            CHECKF(q_same && !memcmp(ca, poison, total), "%s: refused but something was written", what);
        } else {
            CHECKF(s == VKLLM_OK, "%s: %s", what, vkllm_last_error());
            CHECKF(!one_shard || n_recs == 3, "%s: %d commands recorded, not 3 dispatches", what, n_recs);
        }
        if (expect == REFUSED || s != VKLLM_OK) {
            free(qa);
            free(ca);
            bk_buf *bufs[] = {xb, qf, qu, ku, vu};
            for (size_t i = 0; i < 5; i++) vt->buf_free(vk, bufs[i]);
            break;
        }
        /* unfused: the norm-fused matvecs, then rope_kv_write */
        VKH_OK(vt->begin(vk, &batch));
        bk_buf *outs[3] = {qu, ku, vu};
        for (int p = 0; p < 3; p++) VKH_OK(vt->matmul_fused(vk, outs[p], w[p], xb, bw[p], 1, &nf));
        VKH_OK(vt->rope_kv_write(vk, qu, c->n_heads, kv[1], LAYER, ku, vu, &rope));
        VKH_OK(vt->end(vk));
        float *qb = vkh_read(vk, qu, nq * 4);
        unsigned char *cb = cache_read(vk, kv[1], total);

        ref_step(c, deq, bias, norm, ff, x, pos, &ref);
        size_t at = 0;
        double worst = 0, worst_u = 0;
        for (size_t r = 0; r < nq; r++) {
            double e = fabs(qa[r] - ref.val[0][r]) / ref.tol[0][r], eu = fabs(qa[r] - qb[r]) / ref.tol_u[0][r];
            if (!(e <= worst) || !(eu <= worst_u)) at = r;
            worst = !(e <= worst) ? (isnan(e) ? INFINITY : e) : worst;
            worst_u = !(eu <= worst_u) ? (isnan(eu) ? INFINITY : eu) : worst_u;
        }
        CHECKF(worst <= 1 && worst_u <= 1, "%s step %d: q[%zu] = %g, reference %g, unfused %g (errors %g / %g of tol)",
               what, step, at, qa[at], ref.val[0][at], qb[at], worst, worst_u);
        int tail_nan = 1;
        for (size_t i = nq; i < nq + Q_TAIL; i++) tail_nan = tail_nan && isnan(qa[i]);
        CHECKF(tail_nan, "%s step %d: written past q", what, step);

        /* this step's K and V rows: cache elements of the token's slot in layer LAYER */
        size_t slot = (size_t)bt[seq * MAX_BLOCKS + pos / BS] * BS + (size_t)(pos % BS);
        for (int kvi = 0; kvi < 2; kvi++) {
            size_t base = ((size_t)(2 * LAYER + kvi) * kv[0]->layer_stride) / es + slot * row;
            for (size_t e = 0; e < row; e++) {
                written[base + e] = 1;
                c_ref[base + e] = ref.val[1 + kvi][e];
                c_tol[base + e] = ref.tol[1 + kvi][e];
                c_tu[base + e] = ref.tol_u[1 + kvi][e];
            }
        }
        /* every cache element: written ones near the reference and the
         * unfused path, the others still the start's bytes */
        size_t bad = 0, bad_u = 0, stray = 0, first = SIZE_MAX;
        for (size_t e = 0; e < n_el; e++) {
            const unsigned char *pa = ca + e * es, *pb = cb + e * es;
            if (!written[e]) {
                if (memcmp(pa, poison + e * es, es)) stray++, first = first == SIZE_MAX ? e : first;
                continue;
            }
            double va = cache_value(pa, c->kv_type), vb = cache_value(pb, c->kv_type);
            int f16 = c->kv_type == DTYPE_F16;
            double t = f16 ? tol16(c_tol[e], c_ref[e], 0) : c_tol[e], tu = f16 ? tol16(c_tu[e], vb, 1) : c_tu[e];
            if (!(fabs(va - c_ref[e]) <= t)) bad++, first = first == SIZE_MAX ? e : first;
            if (!(fabs(va - vb) <= tu)) bad_u++, first = first == SIZE_MAX ? e : first;
        }
        CHECKF(!bad && !bad_u && !stray,
               "%s step %d: cache: %zu off the reference, %zu off the unfused path, %zu unwritten changed (first: element %zu: %g, reference %g)",
               what, step, bad, bad_u, stray, first, first < n_el ? cache_value(ca + first * es, c->kv_type) : 0.0,
               first < n_el ? c_ref[first] : 0.0);
        free(qa);
        free(qb);
        free(ca);
        free(cb);
        bk_buf *bufs[] = {xb, qf, qu, ku, vu};
        for (size_t i = 0; i < 5; i++) vt->buf_free(vk, bufs[i]);
    }
    free(x);
    free(ff);
    for (int p = 0; p < 3; p++) {
        free(ref.val[p]);
        free(ref.tol[p]);
        free(ref.tol_u[p]);
        free(wdata[p]);
        free(deq[p]);
        free(bias[p]);
        vt->weight_free(vk, w[p]);
        vt->weight_free(vk, bw[p]);
    }
    vt->weight_free(vk, nw);
    vt->kv_free(vk, kv[0]);
    vt->kv_free(vk, kv[1]);
    free(norm);
    free(poison);
    free(written);
    free(c_ref);
    free(c_tol);
    free(c_tu);
}

/* GQA shapes: head dim 64 with 6 query heads over 2, 128 with 4 over 1 */
static qcase mk(uint32_t wt, bk_rope_mode mode, uint32_t kv_type, int D, int ne0, int bias) {
    return (qcase){.wt = wt, .kv_type = kv_type, .mode = mode, .D = D, .n_heads = D == 64 ? 6 : 4,
                   .n_kv = D == 64 ? 2 : 1, .ne0 = ne0, .bias = bias};
}

/* Q4_0, Q8_0, Q4_K (matvec_sx.comp) and F16 (matvec.comp, 16-byte loads) x
 * both modes x both caches, head dims and biases alternating; then F32 and
 * F16 rows that are no multiple of 16 bytes (matvec.comp's unit path) and
 * Q6_K with frequency factors. */
static void test_matrix(backend *vk, uint64_t *rng, const char *label) {
    static const uint32_t wts[] = {DTYPE_Q4_0, DTYPE_Q8_0, DTYPE_Q4_K, DTYPE_F16};
    int k = 0;
    for (size_t ti = 0; ti < sizeof wts / sizeof wts[0]; ti++)
        for (int mode = 0; mode < 2; mode++)
            for (int f16 = 0; f16 < 2; f16++, k++) {
                qcase c = mk(wts[ti], mode ? BK_ROPE_NEOX : BK_ROPE_NORM, f16 ? DTYPE_F16 : DTYPE_F32,
                             (k + (int)ti) % 2 ? 128 : 64, 256, k % 3 == 0);
                run_case(vk, rng, &c, FUSED, label);
            }
    qcase odd[] = {mk(DTYPE_F32, BK_ROPE_NEOX, DTYPE_F16, 64, 260, 1), mk(DTYPE_F16, BK_ROPE_NORM, DTYPE_F16, 128, 260, 0),
                   mk(DTYPE_Q6_K, BK_ROPE_NEOX, DTYPE_F32, 128, 512, 1)};
    odd[2].ff = 1;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) run_case(vk, rng, &odd[i], FUSED, label);
}

/* A few cases on a backend opened with these switches (NULL: none). */
static void test_variant(uint64_t *rng, const char *env, const char *val, int max_mb, int no_subgroup,
                         const qcase *cases, const int *expect, int n, const char *label) {
    if (env) setenv(env, val, 1);
    backend *vk = vkh_open(max_mb, no_subgroup);
    for (int i = 0; i < n; i++) run_case(vk, rng, &cases[i], expect[i], label);
    vk->vt->destroy(vk);
    if (env) unsetenv(env);
}

/* Passes the fused op refuses (more than one token) and bad arguments. */
static void test_refusals(backend *vk, uint64_t *rng) {
    const backend_vt *vt = vk->vt;
    int D = 64, ne0 = 256, rows[3] = {6 * 64, 2 * 64, 2 * 64};
    bk_weight *w[3];
    void *data;
    uint64_t nb;
    float *deq;
    for (int p = 0; p < 3; p++) {
        vkh_weight_data(rng, DTYPE_Q4_0, ne0, rows[p], &data, &nb, &deq);
        w[p] = vkh_weight(vk, "w", DTYPE_Q4_0, ne0, rows[p], data, nb);
        free(data);
        free(deq);
    }
    float *nv = malloc((size_t)ne0 * 4);
    vkh_fill(rng, nv, (size_t)ne0, 0.5f, 1.5f);
    bk_weight *nw = vkh_weight(vk, "norm", DTYPE_F32, ne0, 1, nv, (uint64_t)ne0 * 4);
    free(nv);
    bk_kv_desc d = {.n_layers = N_LAYERS, .n_kv_heads = 2, .head_dim = D, .block_size = BS, .n_blocks = N_BLOCKS,
                    .type = DTYPE_F16};
    bk_kv *kv;
    VKH_OK(vt->kv_alloc(vk, &d, &kv));
    bk_buf *x = vkh_buf(vk, 2 * (size_t)ne0 * 4, NULL), *q = vkh_buf(vk, 2 * (size_t)rows[0] * 4, NULL);
    int32_t ids[2] = {0, 0}, pos[2] = {3, 4}, seq[2] = {0, 0}, bt[N_SLOTS * MAX_BLOCKS] = {0, 1, 2, 3, 4, 5, 6, 7};
    bk_batch two = {.n_tokens = 2, .ids = ids, .pos = pos, .seq = seq, .block_table = bt, .n_slots = N_SLOTS,
                    .max_blocks = MAX_BLOCKS};
    bk_batch one = two;
    one.n_tokens = 1;
    bk_rope rope = {.mode = BK_ROPE_NORM, .n_dims = D, .theta = THETA}, rope_bad = rope;
    rope_bad.n_dims = 32;
    bk_fuse nf = {.norm = nw, .eps = EPS}, glu = {.glu_up = x}, acc = {.norm = nw, .eps = EPS, .accumulate = 1};
    const bk_weight *wc[3] = {w[0], w[1], w[2]}, *swapped[3] = {w[1], w[0], w[2]}, *nob[3] = {NULL, NULL, NULL};
    VKH_OK(vt->begin(vk, &two));
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, nob, &nf, &rope) == VKLLM_ERR_UNSUPPORTED);
    CHECK(((vk_backend *)vk)->n_recs == 0);
    VKH_OK(vt->end(vk));
    VKH_OK(vt->begin(vk, &one));
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, nob, &glu, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, nob, &acc, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, swapped, nob, &nf, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, q, 5, kv, LAYER, x, wc, nob, &nf, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, N_LAYERS, x, wc, nob, &nf, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, nob, &nf, &rope_bad) == VKLLM_ERR_INVALID_ARG);
    CHECK(vt->qkv_rope_kv(vk, x, 6, kv, LAYER, x, wc, nob, &nf, &rope) == VKLLM_ERR_INVALID_ARG); /* q aliases x */
    const bk_weight *bad_bias[3] = {NULL, w[0], NULL}; /* a "bias" of 256 x 384 values */
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, bad_bias, &nf, &rope) == VKLLM_ERR_INVALID_ARG);
    pos[0] = MAX_BLOCKS * BS; /* past the block table */
    CHECK(vt->qkv_rope_kv(vk, q, 6, kv, LAYER, x, wc, nob, &nf, &rope) == VKLLM_ERR_INVALID_ARG);
    CHECK(((vk_backend *)vk)->n_recs == 0);
    VKH_OK(vt->end(vk));
    vt->buf_free(vk, x);
    vt->buf_free(vk, q);
    vt->kv_free(vk, kv);
    vt->weight_free(vk, nw);
    for (int p = 0; p < 3; p++) vt->weight_free(vk, w[p]);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    backend *vk = vkh_open(0, 0);
    if (!vk) return 0;
    CHECK(vk->vt->qkv_rope_kv != NULL);
    test_matrix(vk, &rng, "default");
    /* a Q8_0 cache: rope_kv.comp's path */
    qcase q8 = mk(DTYPE_Q4_0, BK_ROPE_NORM, DTYPE_Q8_0, 64, 256, 0);
    run_case(vk, &rng, &q8, REFUSED, "q8_0 cache");
    test_refusals(vk, &rng);
    vk->vt->destroy(vk);

    /* the shared-memory reduction of matvec.comp for every weight type */
    const qcase ns[] = {mk(DTYPE_Q4_0, BK_ROPE_NEOX, DTYPE_F16, 64, 256, 1), mk(DTYPE_F16, BK_ROPE_NORM, DTYPE_F32, 128, 256, 0),
                        mk(DTYPE_Q4_K, BK_ROPE_NEOX, DTYPE_F32, 128, 256, 0), mk(DTYPE_Q8_0, BK_ROPE_NORM, DTYPE_F16, 64, 256, 1)};
    const int all_fused[] = {FUSED, FUSED, FUSED, FUSED};
    test_variant(&rng, NULL, NULL, 0, 1, ns, all_fused, 4, "no subgroups");
    /* quantized weights through matvec.comp (subgroups), and matvec_sx.comp's direct reads */
    const qcase sx[] = {mk(DTYPE_Q4_0, BK_ROPE_NEOX, DTYPE_F16, 128, 256, 0), mk(DTYPE_Q4_K, BK_ROPE_NORM, DTYPE_F32, 64, 256, 1),
                        mk(DTYPE_Q8_0, BK_ROPE_NEOX, DTYPE_F32, 64, 256, 1)};
    test_variant(&rng, "VKLLM_VK_MATVEC_SX", "0", 0, 0, sx, all_fused, 3, "matvec_sx off");
    test_variant(&rng, "VKLLM_VK_MVX_DIRECT", "1", 0, 0, sx, all_fused, 3, "mvx direct");
    /* rows per workgroup: 8 (fused), 2 (adjacent pairs fused, NEOX refused:
     * a thread stores two adjacent rows of one half), 3 (float weights
     * refused; matvec_sx.comp's 16 rows still fused) */
    const qcase f8[] = {mk(DTYPE_F16, BK_ROPE_NEOX, DTYPE_F16, 64, 256, 1), mk(DTYPE_Q4_0, BK_ROPE_NORM, DTYPE_F32, 64, 256, 0)};
    test_variant(&rng, "VKLLM_VK_MATVEC", "64,8", 0, 0, f8, all_fused, 2, "wg64x8");
    const qcase f2[] = {mk(DTYPE_F16, BK_ROPE_NORM, DTYPE_F16, 64, 256, 0), mk(DTYPE_F16, BK_ROPE_NEOX, DTYPE_F16, 64, 256, 0)};
    const int e2[] = {FUSED, REFUSED};
    test_variant(&rng, "VKLLM_VK_MATVEC", "64,2", 0, 0, f2, e2, 2, "wg64x2");
    const qcase f3[] = {mk(DTYPE_F16, BK_ROPE_NORM, DTYPE_F32, 64, 256, 0), mk(DTYPE_Q4_0, BK_ROPE_NEOX, DTYPE_F16, 64, 256, 1)};
    const int e3[] = {REFUSED, FUSED};
    test_variant(&rng, "VKLLM_VK_MATVEC", "32,3", 0, 0, f3, e3, 2, "wg32x3");
    /* eight bindings: the epilogue needs seven */
    test_variant(&rng, "VKLLM_VK_BINDINGS", "8", 0, 0, sx, all_fused, 2, "8 bindings");
    /* switched off, or rope deferred into attention instead */
    const int refused[] = {REFUSED};
    test_variant(&rng, "VKLLM_VK_QKV_ROPE", "0", 0, 0, sx, refused, 1, "switched off");
    test_variant(&rng, "VKLLM_VK_ROPE_FUSE", "1", 0, 0, sx, refused, 1, "rope fuse");
    /* 1 MiB bindings: Q4_0 rows of 28800 (16200 bytes: 64 rows a shard, every
     * shard starts at a head; matvec.comp as the row exceeds matvec_sx's)
     * fused; F32 rows of 4100 (63 rows a shard) refused */
    const qcase sh[] = {mk(DTYPE_Q4_0, BK_ROPE_NEOX, DTYPE_F16, 64, 28800, 1), mk(DTYPE_F32, BK_ROPE_NORM, DTYPE_F32, 64, 4100, 0)};
    const int esh[] = {FUSED, REFUSED};
    test_variant(&rng, NULL, NULL, 1, 0, sh, esh, 2, "sharded");
    return test_finish();
}
