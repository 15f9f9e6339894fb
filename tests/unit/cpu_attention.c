/* cpu_attention.c — KV-cache writes and attention of the CPU backend against
 * a double-precision softmax reference: several sequences of different
 * lengths in one batch, GQA, shuffled block tables, f32 and f16 caches,
 * 1..4 threads, output poisoned with NaN, copy-on-write of a block.
 *
 * Tolerance per (token, head), u = 2^-24: each score is an f32 dot of hd
 * terms (<= 8-way partial sums) times scale, so its error is at most
 * e_s = (hd/8 + 8) u * scale * max_p sum_i |q_i k_pi| + 2u |s|. Softmax
 * weights then carry relative error <= 2 e_s + (n + 8) 4u (exp, the sum of
 * n terms, the division), and the output, a convex combination of V rows,
 * errs by at most max|v| times that. The reference uses the cache's rounding
 * of K and V (f16 rounding for an f16 cache). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "testutil.h"

#define U 0x1p-24

static uint64_t rng;
static int rnd(int lo, int hi) { return lo + (int)(test_rng_u64(&rng) % (uint64_t)(hi - lo + 1)); }

static bk_buf *mkbuf(backend *be, size_t n, const float *vals) {
    bk_buf *b = NULL;
    CHECK(be->vt->buf_alloc(be, n * 4, &b) == VKLLM_OK);
    float *tmp = malloc(n * 4);
    for (size_t i = 0; i < n; i++) tmp[i] = vals ? vals[i] : NAN;
    be->vt->buf_write(be, b, 0, tmp, n * 4);
    free(tmp);
    return b;
}

typedef struct tokens {
    int n;
    int32_t ids[256], pos[256], seq[256];
} tokens;

static void shuffle(int32_t *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = rnd(0, i);
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void run_case(backend *be, uint32_t kv_type, int n_layers) {
    int n_kv = rnd(1, 3), group = rnd(1, 4), n_heads = n_kv * group, hd = 2 * rnd(1, 40);
    int bsz = rnd(1, 8), n_seq = rnd(1, 4), max_len = 40;
    int max_blocks = (max_len + bsz - 1) / bsz, n_blocks = n_seq * max_blocks + 3;
    bk_kv_desc d = {.n_layers = n_layers, .n_kv_heads = n_kv, .head_dim = hd, .block_size = bsz,
                    .n_blocks = n_blocks, .type = kv_type};
    bk_kv *kv = NULL;
    CHECK(be->vt->kv_alloc(be, &d, &kv) == VKLLM_OK);
    /* shuffled block table: a random permutation of the pool, spare blocks at the end */
    int32_t perm[1024], table[1024];
    for (int i = 0; i < n_blocks; i++) perm[i] = i;
    shuffle(perm, n_blocks);
    for (int i = 0; i < n_seq * max_blocks; i++) table[i] = perm[i];
    int spare = perm[n_seq * max_blocks];
    int len[4];
    tokens tk = {0};
    for (int s = 0; s < n_seq; s++) {
        len[s] = rnd(1, max_len);
        for (int p = 0; p < len[s]; p++) {
            tk.pos[tk.n] = p;
            tk.seq[tk.n] = s;
            tk.n++;
        }
    }
    /* one prefill batch holding every sequence, tokens in random order */
    int32_t order[256];
    for (int i = 0; i < tk.n; i++) order[i] = i;
    shuffle(order, tk.n);
    tokens bt = {.n = tk.n};
    for (int i = 0; i < tk.n; i++) {
        bt.pos[i] = tk.pos[order[i]];
        bt.seq[i] = tk.seq[order[i]];
    }
    int layer = rnd(0, n_layers - 1);
    size_t kvn = (size_t)bt.n * n_kv * hd, qn = (size_t)bt.n * n_heads * hd;
    float *k = malloc(kvn * 4), *v = malloc(kvn * 4), *q = malloc(qn * 4);
    for (size_t i = 0; i < kvn; i++) {
        k[i] = test_rng_f32(&rng, -1, 1);
        v[i] = test_rng_f32(&rng, -1, 1);
    }
    for (size_t i = 0; i < qn; i++) q[i] = test_rng_f32(&rng, -1, 1);
    float scale = 1.0f / sqrtf((float)hd);
    bk_buf *kb = mkbuf(be, kvn, k), *vb = mkbuf(be, kvn, v), *qb = mkbuf(be, qn, q);
    bk_buf *ob = mkbuf(be, qn, NULL), *ob2 = mkbuf(be, qn, NULL);
    bk_batch batch = {.n_tokens = bt.n, .ids = bt.ids, .pos = bt.pos, .seq = bt.seq,
                      .block_table = table, .n_slots = n_seq, .max_blocks = max_blocks};
    CHECK(be->vt->begin(be, &batch) == VKLLM_OK);
    CHECK(be->vt->kv_write(be, kv, layer, kb, vb) == VKLLM_OK);
    CHECK(be->vt->attention(be, ob, qb, kv, layer, n_heads, scale) == VKLLM_OK);
    CHECK(be->vt->attention(be, ob, qb, kv, layer, n_heads + 1, scale) == VKLLM_ERR_INVALID_ARG);
    CHECK(be->vt->attention(be, ob, qb, kv, n_layers, n_heads, scale) == VKLLM_ERR_INVALID_ARG);
    CHECK(be->vt->end(be) == VKLLM_OK);
    float *got = malloc(qn * 4);
    CHECK(be->vt->buf_read(be, ob, 0, got, qn * 4) == VKLLM_OK);

    /* reference: the cache's view of K, V indexed by (seq, pos) */
    int bad = 0;
    double *sc = malloc(sizeof(double) * (size_t)max_len);
    for (int t = 0; t < bt.n; t++) {
        int s = bt.seq[t], pos = bt.pos[t];
        /* batch index holding (s, p) */
        int idx[64];
        for (int i = 0; i < bt.n; i++)
            if (bt.seq[i] == s) idx[bt.pos[i]] = i;
        for (int h = 0; h < n_heads; h++) {
            int g = h / group;
            const float *qv = q + ((size_t)t * n_heads + h) * hd;
            double mx = -INFINITY, sabs = 0, smax = 0, vmax = 0;
            for (int p = 0; p <= pos; p++) {
                const float *kp = k + ((size_t)idx[p] * n_kv + g) * hd;
                double dot = 0, a = 0;
                for (int i = 0; i < hd; i++) {
                    double kk = kv_type == DTYPE_F16 ? dtype_f16_to_f32(dtype_f32_to_f16(kp[i])) : kp[i];
                    dot += qv[i] * kk;
                    a += fabs(qv[i] * kk);
                }
                sc[p] = dot * scale;
                mx = fmax(mx, sc[p]);
                sabs = fmax(sabs, a * scale);
                smax = fmax(smax, fabs(sc[p]));
            }
            double sum = 0;
            for (int p = 0; p <= pos; p++) sum += (sc[p] = exp(sc[p] - mx));
            double es = (hd / 8 + 8) * U * sabs + 2 * U * smax;
            double wrel = 2 * es + (pos + 1 + 8) * 4 * U;
            for (int i = 0; i < hd; i++) {
                double ref = 0;
                for (int p = 0; p <= pos; p++) {
                    float vv = v[((size_t)idx[p] * n_kv + g) * hd + i];
                    double vr = kv_type == DTYPE_F16 ? dtype_f16_to_f32(dtype_f32_to_f16(vv)) : vv;
                    ref += sc[p] / sum * vr;
                    vmax = fmax(vmax, fabs(vr));
                }
                double o = got[((size_t)t * n_heads + h) * hd + i];
                if (!(fabs(o - ref) <= vmax * wrel + 1e-30) && bad++ < 3)
                    CHECKF(0, "t %d (seq %d pos %d) head %d dim %d: got %.9g want %.9g", t, s, pos,
                           h, i, o, ref);
            }
        }
    }
    CHECKF(bad == 0, "attention kv %s hd %d heads %d/%d block %d: %d bad", dtype_name(kv_type), hd,
           n_heads, n_kv, bsz, bad);

    /* copy-on-write: sequence 0's first block copied to the spare block and
     * the table redirected; decode-style batch of one token per sequence at
     * its last position must give the same bits as before */
    CHECK(be->vt->kv_copy_block(be, kv, table[0], spare) == VKLLM_OK);
    CHECK(be->vt->kv_copy_block(be, kv, 0, n_blocks) == VKLLM_ERR_INVALID_ARG);
    int32_t saved = table[0];
    table[0] = spare;
    tokens dec = {.n = 0};
    int src_tok[4];
    for (int s = 0; s < n_seq; s++) {
        for (int i = 0; i < bt.n; i++)
            if (bt.seq[i] == s && bt.pos[i] == len[s] - 1) src_tok[s] = i;
        dec.pos[dec.n] = len[s] - 1;
        dec.seq[dec.n] = s;
        dec.n++;
    }
    float *q2 = malloc((size_t)n_seq * n_heads * hd * 4);
    for (int s = 0; s < n_seq; s++)
        memcpy(q2 + (size_t)s * n_heads * hd, q + (size_t)src_tok[s] * n_heads * hd,
               (size_t)n_heads * hd * 4);
    bk_buf *qb2 = mkbuf(be, (size_t)n_seq * n_heads * hd, q2);
    bk_batch b2 = {.n_tokens = dec.n, .ids = dec.ids, .pos = dec.pos, .seq = dec.seq,
                   .block_table = table, .n_slots = n_seq, .max_blocks = max_blocks};
    CHECK(be->vt->begin(be, &b2) == VKLLM_OK);
    CHECK(be->vt->attention(be, ob2, qb2, kv, layer, n_heads, scale) == VKLLM_OK);
    table[0] = -1; /* a hole in the table is refused */
    CHECK(be->vt->attention(be, ob2, qb2, kv, layer, n_heads, scale) == VKLLM_ERR_INVALID_ARG);
    table[0] = spare;
    CHECK(be->vt->end(be) == VKLLM_OK);
    float *got2 = malloc((size_t)n_seq * n_heads * hd * 4);
    CHECK(be->vt->buf_read(be, ob2, 0, got2, (size_t)n_seq * n_heads * hd * 4) == VKLLM_OK);
    for (int s = 0; s < n_seq; s++)
        CHECKF(memcmp(got2 + (size_t)s * n_heads * hd, got + (size_t)src_tok[s] * n_heads * hd,
                      (size_t)n_heads * hd * 4) == 0,
               "decode of seq %d after block copy differs from prefill", s);
    table[0] = saved;
    be->vt->kv_free(be, kv);
    be->vt->buf_free(be, kb);
    be->vt->buf_free(be, vb);
    be->vt->buf_free(be, qb);
    be->vt->buf_free(be, qb2);
    be->vt->buf_free(be, ob);
    be->vt->buf_free(be, ob2);
    free(k);
    free(v);
    free(q);
    free(q2);
    free(got);
    free(got2);
    free(sc);
}

static void test_errors(backend *be) {
    bk_kv *kv = NULL;
    bk_kv_desc bad = {.n_layers = 1, .n_kv_heads = 1, .head_dim = 8, .block_size = 4,
                      .n_blocks = 2, .type = DTYPE_Q8_0};
    CHECK(be->vt->kv_alloc(be, &bad, &kv) == VKLLM_ERR_UNSUPPORTED && !kv);
    bad.type = DTYPE_F32;
    bad.n_blocks = 0;
    CHECK(be->vt->kv_alloc(be, &bad, &kv) == VKLLM_ERR_INVALID_ARG && !kv);
    bad.n_blocks = 2;
    bad.head_dim = 1 << 30;
    bad.n_kv_heads = 1 << 30;
    CHECK(be->vt->kv_alloc(be, &bad, &kv) != VKLLM_OK && !kv);
    bad.head_dim = 8;
    bad.n_kv_heads = 1;
    CHECK(be->vt->kv_alloc(be, &bad, &kv) == VKLLM_OK);
    /* position 9 needs block index 2 but the table has 2 blocks per slot */
    int32_t ids[1] = {0}, pos[1] = {9}, seq[1] = {0}, table[2] = {0, 1};
    bk_batch b = {.n_tokens = 1, .ids = ids, .pos = pos, .seq = seq, .block_table = table,
                  .n_slots = 1, .max_blocks = 2};
    bk_buf *x = mkbuf(be, 8, NULL);
    CHECK(be->vt->begin(be, &b) == VKLLM_OK);
    CHECK(be->vt->kv_write(be, kv, 0, x, x) == VKLLM_ERR_INVALID_ARG);
    CHECK(be->vt->end(be) == VKLLM_OK);
    seq[0] = 1; /* slot out of range */
    CHECK(be->vt->begin(be, &b) == VKLLM_ERR_INVALID_ARG);
    be->vt->buf_free(be, x);
    be->vt->kv_free(be, kv);
}

int main(void) {
    rng = test_seed() | 1;
    backend *bes[4];
    for (int i = 0; i < 4; i++) CHECK(cpu_backend_create(i + 1, &bes[i]) == VKLLM_OK);
    for (int c = 0; c < 24; c++)
        run_case(bes[c % 4], c % 3 == 2 ? DTYPE_F16 : DTYPE_F32, rnd(1, 3));
    test_errors(bes[1]);
    for (int i = 0; i < 4; i++) bes[i]->vt->destroy(bes[i]);
    return test_finish();
}
