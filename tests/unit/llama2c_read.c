/* llama2c_read — the llama2.c reader on stories260K (header, tensor byte
 * offsets computed independently with Python's struct, values compared with
 * bytes read by stdio), and on random synthetic checkpoints written by the
 * test, shared and unshared classifier, where every float encodes its own
 * index so each tensor pointer can be checked exactly. */
#include "format/llama2c.h"
#include "hf_testutil.h"
#include "testutil.h"

static void check_stories(const char *models) {
    char path[1024];
    snprintf(path, sizeof path, "%s/stories260K/stories260K.bin", models);
    llama2c m;
    vkllm_status st = llama2c_open(path, &m);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    if (st != VKLLM_OK) return;
    CHECK(m.dim == 64 && m.hidden_dim == 172 && m.n_layers == 5);
    CHECK(m.n_heads == 8 && m.n_kv_heads == 4 && m.vocab_size == 512 && m.seq_len == 512);
    CHECK(m.shared_classifier == 1);
    CHECK(m.file.size == 1056540);
    /* Byte offsets of each tensor in the file (Python struct walk). */
    const struct {
        const float *p;
        long off;
        size_t count;
    } parts[] = {
        {m.token_embedding, 28, 32768}, {m.rms_att, 131100, 320},   {m.wq, 132380, 20480},
        {m.wk, 214300, 10240},          {m.wv, 255260, 10240},      {m.wo, 296220, 20480},
        {m.rms_ffn, 378140, 320},       {m.w1, 379420, 55040},      {m.w2, 599580, 55040},
        {m.w3, 819740, 55040},          {m.rms_final, 1039900, 64},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        CHECKF((const uint8_t *)parts[i].p - m.file.data == parts[i].off, "tensor %zu", i);
        void *want = read_slice(path, parts[i].off, parts[i].count * 4);
        CHECK(want && memcmp(want, parts[i].p, parts[i].count * 4) == 0);
        free(want);
    }
    CHECK(m.wcls == m.token_embedding);
    /* A few values as Python printed them. */
    CHECK(m.token_embedding[0] == -0.29474878311157227f);
    CHECK(m.rms_att[1] == 0.6754933595657349f);
    CHECK(m.wq[2] == -0.008925346657633781f);
    CHECK(m.w3[55039] == 0.10603193938732147f);
    CHECK(m.rms_final[0] == 2.4583089351654053f);
    llama2c_close(&m);
    CHECK(m.file.data == NULL);
    llama2c_close(&m); /* twice is harmless */
}

/* Writes a checkpoint whose float i (counted from the first tensor) is i. */
static int write_synth(const char *path, const int32_t hdr[7], size_t n_floats) {
    size_t n = 28 + 4 * n_floats;
    uint8_t *b = malloc(n);
    memcpy(b, hdr, 28);
    for (size_t i = 0; i < n_floats; i++) {
        float f = (float)i;
        memcpy(b + 28 + 4 * i, &f, 4);
    }
    int r = write_file(path, b, n);
    free(b);
    return r;
}

static void check_synthetic(uint64_t *rng) {
    char *dir = tmp_dir("llama2c_read");
    for (int trial = 0; trial < 6; trial++) {
        int n_kv = 1 + (int)(test_rng_u64(rng) % 3);
        int n_heads = n_kv * (1 + (int)(test_rng_u64(rng) % 3));
        int head = 2 * (1 + (int)(test_rng_u64(rng) % 4));
        int dim = n_heads * head, hidden = 1 + (int)(test_rng_u64(rng) % 40);
        int L = 1 + (int)(test_rng_u64(rng) % 3), vocab = 1 + (int)(test_rng_u64(rng) % 50);
        int seq = 1 + (int)(test_rng_u64(rng) % 20), shared = trial % 2;
        int kv_dim = n_kv * head;
        /* Expected float offsets, written out per the llama2c.h layout. */
        size_t o_emb = 0, o_rms_att = o_emb + (size_t)vocab * dim;
        size_t o_wq = o_rms_att + (size_t)L * dim, o_wk = o_wq + (size_t)L * dim * dim;
        size_t o_wv = o_wk + (size_t)L * kv_dim * dim, o_wo = o_wv + (size_t)L * kv_dim * dim;
        size_t o_rms_ffn = o_wo + (size_t)L * dim * dim, o_w1 = o_rms_ffn + (size_t)L * dim;
        size_t o_w2 = o_w1 + (size_t)L * hidden * dim, o_w3 = o_w2 + (size_t)L * dim * hidden;
        size_t o_fin = o_w3 + (size_t)L * hidden * dim, o_freq = o_fin + (size_t)dim;
        size_t o_wcls = o_freq + (size_t)seq * head;
        size_t total = o_wcls + (shared ? 0 : (size_t)vocab * dim);
        int32_t hdr[7] = {dim, hidden, L, n_heads, n_kv, shared ? vocab : -vocab, seq};
        CHECK(write_synth(join(dir, "m.bin"), hdr, total) == 0);
        llama2c m;
        vkllm_status st = llama2c_open(join(dir, "m.bin"), &m);
        CHECKF(st == VKLLM_OK, "trial %d: %s", trial, vkllm_last_error());
        if (st != VKLLM_OK) continue;
        CHECK(m.vocab_size == vocab && m.shared_classifier == shared);
        CHECK(m.token_embedding[0] == (float)o_emb && m.rms_att[0] == (float)o_rms_att);
        CHECK(m.wq[0] == (float)o_wq && m.wk[0] == (float)o_wk && m.wv[0] == (float)o_wv);
        CHECK(m.wo[0] == (float)o_wo && m.rms_ffn[0] == (float)o_rms_ffn);
        CHECK(m.w1[0] == (float)o_w1 && m.w2[0] == (float)o_w2 && m.w3[0] == (float)o_w3);
        CHECK(m.rms_final[dim - 1] == (float)(o_fin + dim - 1));
        if (shared)
            CHECK(m.wcls == m.token_embedding);
        else
            CHECK(m.wcls[0] == (float)o_wcls && m.wcls[vocab * dim - 1] == (float)(total - 1));
        llama2c_close(&m);
    }
    remove(join(dir, "m.bin"));
    free(dir);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    check_synthetic(&rng);
    const char *d = test_data_dir();
    if (!d) return test_finish();
    char models[512];
    snprintf(models, sizeof models, "%s/models", d);
    check_stories(models);
    return test_finish();
}
