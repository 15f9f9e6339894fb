/* llama2c.c — llama2.c version-0 checkpoint reader (layout in llama2c.h).
 *
 *   offset  size          field
 *   0       7 x i32 LE    dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   28      4 x count     f32 tensors in the order of llama2c.h
 *
 * The header alone fixes the file size; anything shorter or longer is
 * refused, since a mismatch means the file is some other format or version.
 * Tensors point into the mapping. */
#include "llama2c.h"

#include <string.h>

#include "core/ckmath.h"
#include "core/err.h"

#define L2C_HEADER 28
#define L2C_MAX_DIM 65536
#define L2C_MAX_HIDDEN (1 << 20)
#define L2C_MAX_LAYERS 1024
#define L2C_MAX_VOCAB (4 << 20)
#define L2C_MAX_SEQ (1 << 24)

static int32_t l2c_i32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

static vkllm_status l2c_check(const char *path, const char *what, int v, int max) {
    if (v <= 0 || v > max)
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: %s %d out of range [1, %d]", path, what, v,
                       max);
    return VKLLM_OK;
}

static vkllm_status l2c_parse(llama2c *m) {
    const char *path = m->file.path;
    if (m->file.size < L2C_HEADER)
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: %llu bytes, shorter than the 28-byte header",
                       path, (unsigned long long)m->file.size);
    const uint8_t *p = m->file.data;
    m->dim = l2c_i32(p);
    m->hidden_dim = l2c_i32(p + 4);
    m->n_layers = l2c_i32(p + 8);
    m->n_heads = l2c_i32(p + 12);
    m->n_kv_heads = l2c_i32(p + 16);
    int32_t vocab = l2c_i32(p + 20);
    m->seq_len = l2c_i32(p + 24);
    /* A negative vocab_size marks an unshared classifier; INT32_MIN has no magnitude. */
    if (vocab == INT32_MIN)
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: vocab_size %d out of range", path, vocab);
    m->shared_classifier = vocab > 0;
    m->vocab_size = vocab < 0 ? -vocab : vocab;

    TRY(l2c_check(path, "dim", m->dim, L2C_MAX_DIM));
    TRY(l2c_check(path, "hidden_dim", m->hidden_dim, L2C_MAX_HIDDEN));
    TRY(l2c_check(path, "n_layers", m->n_layers, L2C_MAX_LAYERS));
    TRY(l2c_check(path, "n_heads", m->n_heads, m->dim));
    TRY(l2c_check(path, "n_kv_heads", m->n_kv_heads, m->n_heads));
    TRY(l2c_check(path, "vocab_size", m->vocab_size, L2C_MAX_VOCAB));
    TRY(l2c_check(path, "seq_len", m->seq_len, L2C_MAX_SEQ));
    if (m->dim % m->n_heads != 0)
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: n_heads %d does not divide dim %d", path,
                       m->n_heads, m->dim);
    if (m->n_heads % m->n_kv_heads != 0)
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: n_kv_heads %d does not divide n_heads %d",
                       path, m->n_kv_heads, m->n_heads);
    uint64_t head = (uint64_t)(m->dim / m->n_heads);
    if (head % 2 != 0) /* RoPE rotates pairs; the freq_cis tables hold head/2 per position */
        return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: head size %llu is odd", path,
                       (unsigned long long)head);

    uint64_t dim = (uint64_t)m->dim, hid = (uint64_t)m->hidden_dim, L = (uint64_t)m->n_layers;
    uint64_t vocab_n = (uint64_t)m->vocab_size, kv_dim = (uint64_t)m->n_kv_heads * head;
    /* Element counts of the tensors in file order; the two freq_cis tables
     * (unused: RoPE is recomputed) sit between rms_final and wcls. */
    enum { EMB, RMS_ATT, WQ, WK, WV, WO, RMS_FFN, W1, W2, W3, RMS_FINAL, FREQ, WCLS, N_PARTS };
    uint64_t cnt[N_PARTS], off[N_PARTS], n = 0;
    int ok = ckmath_mul(vocab_n, dim, &cnt[EMB]) && ckmath_mul(L, dim, &cnt[RMS_ATT]) &&
             ckmath_mul(cnt[RMS_ATT], dim, &cnt[WQ]) && ckmath_mul(L, kv_dim, &cnt[WK]) &&
             ckmath_mul(cnt[WK], dim, &cnt[WK]) && ckmath_mul(L, hid, &cnt[W1]) &&
             ckmath_mul(cnt[W1], dim, &cnt[W1]) &&
             ckmath_mul(2 * (uint64_t)m->seq_len, head / 2, &cnt[FREQ]);
    if (ok) {
        cnt[WV] = cnt[WK];
        cnt[WO] = cnt[WQ];
        cnt[RMS_FFN] = cnt[RMS_ATT];
        cnt[W2] = cnt[W3] = cnt[W1];
        cnt[RMS_FINAL] = dim;
        cnt[WCLS] = m->shared_classifier ? 0 : cnt[EMB];
        for (int i = 0; i < N_PARTS && ok; i++) {
            off[i] = n;
            ok = ckmath_add(n, cnt[i], &n);
        }
    }
    uint64_t want;
    ok &= ckmath_mul(n, 4, &want) && ckmath_add(want, L2C_HEADER, &want);
    if (!ok) return err_set(VKLLM_ERR_FORMAT, "llama2c: %s: header sizes overflow", path);
    if (m->file.size != want)
        return err_set(VKLLM_ERR_FORMAT,
                       "llama2c: %s: file is %llu bytes but the header implies %llu", path,
                       (unsigned long long)m->file.size, (unsigned long long)want);

    const float *w = (const float *)(const void *)(p + L2C_HEADER);
    m->token_embedding = w + off[EMB];
    m->rms_att = w + off[RMS_ATT];
    m->wq = w + off[WQ];
    m->wk = w + off[WK];
    m->wv = w + off[WV];
    m->wo = w + off[WO];
    m->rms_ffn = w + off[RMS_FFN];
    m->w1 = w + off[W1];
    m->w2 = w + off[W2];
    m->w3 = w + off[W3];
    m->rms_final = w + off[RMS_FINAL];
    m->wcls = m->shared_classifier ? m->token_embedding : w + off[WCLS];
    return VKLLM_OK;
}

vkllm_status llama2c_open(const char *path, llama2c *out) {
    memset(out, 0, sizeof *out);
    TRY(mfile_open(path, &out->file));
    vkllm_status st = l2c_parse(out);
    if (st != VKLLM_OK) llama2c_close(out);
    return st;
}

void llama2c_close(llama2c *m) {
    if (!m) return;
    mfile_close(&m->file);
    memset(m, 0, sizeof *m);
}
