/* vk_shard.c — row sharding: with max_binding_mb=1, weights bigger than
 * 1 MiB (f32, q8_0, q6_k) are split into several bindings; matmul (one,
 * three, and 20 tokens: the tiled path) and embed over them must equal the unsplit backend's
 * results exactly (same kernels, same summation order per row), and the
 * double-precision reference within 1e-5 of sum |w x|. */
#include "backend/vulkan/vk_internal.h"
#include "vk_harness.h"

static void shard_case(backend *vk1, backend *vk, uint64_t *rng, uint32_t t, int64_t ne0, int64_t ne1) {
    void *data;
    uint64_t nb;
    float *deq;
    vkh_weight_data(rng, t, ne0, ne1, &data, &nb, &deq);
    CHECKF(nb > (1u << 20), "%s matrix of %llu bytes is not over 1 MiB", dtype_name(t), (unsigned long long)nb);
    int n_tok = 20; /* matmul of 1, 3 and all 20 */
    float *x = malloc((size_t)(n_tok * ne0) * 4);
    vkh_fill(rng, x, (size_t)(n_tok * ne0), -1, 1);
    vkh_batch vb;
    vkh_batch_simple(&vb, n_tok, rng, (int)ne1);
    vb.ids[0] = 0;
    vb.ids[1] = (int32_t)ne1 - 1; /* first and last rows: first and last shard */
    size_t on = (size_t)(n_tok * ne1), en = (size_t)(n_tok * ne0);
    float *mm1[2], *mm3[2], *mmg[2], *emb[2];
    backend *bs[2] = {vk1, vk};
    for (int k = 0; k < 2; k++) {
        backend *b = bs[k];
        bk_weight *w = vkh_weight(b, "big", t, ne0, ne1, data, nb);
        if (k == 0) CHECKF(w->n_shards >= 2, "%s: %d shard(s) under a 1 MiB limit", dtype_name(t), w->n_shards);
        for (int i = 0; i < w->n_shards; i++)
            CHECK((k == 1 || w->shards[i].range <= (1u << 20)) && w->shards[i].off % 4 == 0);
        bk_buf *xb = vkh_buf(b, en * 4, x), *o1 = vkh_buf(b, on * 4, NULL), *o3 = vkh_buf(b, on * 4, NULL);
        bk_buf *e = vkh_buf(b, en * 4, NULL), *og = vkh_buf(b, on * 4, NULL);
        VKH_OK(b->vt->begin(b, &vb.b));
        VKH_OK(b->vt->matmul(b, o1, w, xb, NULL, 1));
        VKH_OK(b->vt->matmul(b, o3, w, xb, NULL, 3));
        VKH_OK(b->vt->matmul(b, og, w, xb, NULL, n_tok));
        VKH_OK(b->vt->embed(b, e, w));
        VKH_OK(b->vt->end(b));
        mm1[k] = vkh_read(b, o1, (size_t)ne1 * 4);
        mm3[k] = vkh_read(b, o3, (size_t)(3 * ne1) * 4);
        mmg[k] = vkh_read(b, og, on * 4);
        b->vt->buf_free(b, og);
        emb[k] = vkh_read(b, e, en * 4);
        b->vt->buf_free(b, xb);
        b->vt->buf_free(b, o1);
        b->vt->buf_free(b, o3);
        b->vt->buf_free(b, e);
        b->vt->weight_free(b, w);
    }
    /* exact: same kernel per row with or without shards */
    CHECKF(memcmp(mm1[0], mm1[1], (size_t)ne1 * 4) == 0, "%s: sharded decode matmul differs", dtype_name(t));
    CHECKF(memcmp(mm3[0], mm3[1], (size_t)(3 * ne1) * 4) == 0, "%s: sharded prompt matmul differs", dtype_name(t));
    CHECKF(memcmp(mmg[0], mmg[1], on * 4) == 0, "%s: sharded tiled matmul differs", dtype_name(t));
    CHECKF(memcmp(emb[0], emb[1], en * 4) == 0, "%s: sharded embed differs", dtype_name(t));
    for (int tt = 0; tt < n_tok; tt++) {
        size_t at; /* dequantization on both sides: up to one rounding apart */
        CHECK(vkh_worst(emb[0] + tt * ne0, deq + vb.ids[tt] * ne0, (size_t)ne0, 1e-7, 1e-6, &at) <= 1);
        for (int64_t r = 0; r < ne1; r += 7) {
            double s = 0, mag = 0;
            for (int64_t c = 0; c < ne0; c++) {
                s += (double)deq[r * ne0 + c] * x[tt * ne0 + c];
                mag += fabs((double)deq[r * ne0 + c] * x[tt * ne0 + c]);
            }
            /* f32 accumulation order: 1e-5 of sum |w x| */
            if (tt < 3)
                CHECKF(fabs(mm3[0][tt * ne1 + r] - s) <= 1e-5 * mag + 1e-6, "%s [%d][%lld]: %g vs %g", dtype_name(t),
                       tt, (long long)r, mm3[0][tt * ne1 + r], s);
            CHECKF(fabs(mmg[0][tt * ne1 + r] - s) <= 1e-5 * mag + 1e-6, "%s tiled [%d][%lld]: %g vs %g", dtype_name(t),
                   tt, (long long)r, mmg[0][tt * ne1 + r], s);
        }
    }
    for (int k = 0; k < 2; k++) {
        free(mm1[k]);
        free(mm3[k]);
        free(mmg[k]);
        free(emb[k]);
    }
    free(x);
    free(data);
    free(deq);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    backend *vk1 = vkh_open(1, 0);
    if (!vk1) return 0;
    backend *vk = vkh_open(0, 0);
    shard_case(vk1, vk, &rng, DTYPE_F32, 1000, 301);
    shard_case(vk1, vk, &rng, DTYPE_Q8_0, 4096, 263);
    shard_case(vk1, vk, &rng, DTYPE_Q6_K, 2048, 700);
    /* a row that cannot fit one binding is refused with a message */
    float *row = calloc(300000, 4);
    wtensor w = {.name = "wide", .type = DTYPE_F32, .ne0 = 300000, .ne1 = 1, .data = row, .nbytes = 1200000};
    bk_weight *bw = NULL;
    CHECK(vk1->vt->weight_upload(vk1, &w, &bw) == VKLLM_ERR_UNSUPPORTED && bw == NULL);
    CHECK(strstr(vkllm_last_error(), "binding limit") != NULL);
    free(row);
    vk1->vt->destroy(vk1);
    vk->vt->destroy(vk);
    return test_finish();
}
