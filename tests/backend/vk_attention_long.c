/* vk_attention_long.c — Vulkan attention over long contexts (1..3000
 * positions), where the backend splits the positions of each (token, head)
 * into chunks and merges the partials (flash-decoding), against the CPU
 * backend: GQA, three sequences of different lengths in scattered cache
 * blocks, a mixed batch of query tokens at chunk edges, a batch with long
 * runs of one sequence between short ones (the prompt kernel per run), prompts of one
 * sequence (the tiled many-token kernel), and single-token
 * decode passes at many context lengths; f32, f16 and Q8_0 caches, head dims 64 and 36.
 * One configuration runs without subgroup operations, one on a backend with
 * profiling on (its table goes to stderr at destroy), so the profiler runs
 * under the sanitizers too.
 * Outputs are poisoned with NaN; tolerances next to the checks. */
#include "vk_harness.h"
#include "backend/vulkan/vk_shader_iface.h"

#define N_KV 2
#define N_HEADS 8
#define BS 16
#define N_SLOTS 3
#define MAX_LEN 3000
#define MAX_BLOCKS ((MAX_LEN + BS - 1) / BS)
#define N_BLOCKS (N_SLOTS * MAX_BLOCKS)

static const int slot_len[N_SLOTS] = {MAX_LEN, 1300, 70};

typedef struct ctx {
    int hd;
    uint32_t kv_type;
    int32_t bt[N_SLOTS * MAX_BLOCKS];
    bk_kv *kv[2]; /* cpu, vulkan */
    backend *be[2];
} ctx;

/* Writes K/V of every position of every slot in one pass (same data on both backends). */
static void fill_cache(ctx *c, uint64_t *rng) {
    int n = 0;
    for (int s = 0; s < N_SLOTS; s++) n += slot_len[s];
    int32_t *ids = calloc((size_t)n, 4), *pos = malloc((size_t)n * 4), *seq = malloc((size_t)n * 4);
    for (int s = 0, i = 0; s < N_SLOTS; s++)
        for (int p = 0; p < slot_len[s]; p++, i++) pos[i] = p, seq[i] = s;
    size_t nk = (size_t)n * N_KV * (size_t)c->hd;
    float *k = malloc(nk * 4), *v = malloc(nk * 4);
    vkh_fill(rng, k, nk, -1, 1);
    vkh_fill(rng, v, nk, -1, 1);
    bk_batch batch = {.n_tokens = n, .ids = ids, .pos = pos, .seq = seq, .block_table = c->bt,
                      .n_slots = N_SLOTS, .max_blocks = MAX_BLOCKS};
    bk_kv_desc d = {.n_layers = 1, .n_kv_heads = N_KV, .head_dim = c->hd, .block_size = BS,
                    .n_blocks = N_BLOCKS, .type = c->kv_type};
    for (int b = 0; b < 2; b++) {
        backend *be = c->be[b];
        VKH_OK(be->vt->kv_alloc(be, &d, &c->kv[b]));
        bk_buf *kb = vkh_buf(be, nk * 4, k), *vb = vkh_buf(be, nk * 4, v);
        VKH_OK(be->vt->begin(be, &batch));
        VKH_OK(be->vt->kv_write(be, c->kv[b], 0, kb, vb));
        VKH_OK(be->vt->end(be));
        be->vt->buf_free(be, kb);
        be->vt->buf_free(be, vb);
    }
    free(ids);
    free(pos);
    free(seq);
    free(k);
    free(v);
}

/* Attention of n query tokens (slot seq[i], position pos[i]) on both backends, compared. */
static void check_queries(ctx *c, uint64_t *rng, int n, const int32_t *pos, const int32_t *seq, const char *what) {
    int32_t ids[64] = {0}; /* n <= 64 */
    size_t nq = (size_t)n * N_HEADS * (size_t)c->hd;
    float *q = malloc(nq * 4), *res[2];
    vkh_fill(rng, q, nq, -1, 1);
    bk_batch batch = {.n_tokens = n, .ids = ids, .pos = pos, .seq = seq, .block_table = c->bt,
                      .n_slots = N_SLOTS, .max_blocks = MAX_BLOCKS};
    for (int b = 0; b < 2; b++) {
        backend *be = c->be[b];
        bk_buf *qb = vkh_buf(be, nq * 4, q), *ob = vkh_buf(be, nq * 4, NULL);
        VKH_OK(be->vt->begin(be, &batch));
        VKH_OK(be->vt->attention(be, ob, qb, c->kv[b], 0, N_HEADS, 1.0f / sqrtf((float)c->hd)));
        VKH_OK(be->vt->end(be));
        res[b] = vkh_read(be, ob, nq * 4);
        be->vt->buf_free(be, qb);
        be->vt->buf_free(be, ob);
    }
    /* f32: sums in another order over up to 3000 terms: 2e-5 absolute + 1e-4 relative;
     * an f16 or Q8_0 cache rounds K/V on both sides (possibly one f16 ulp apart):
     * 5e-4 + 1e-3; prompts of one sequence on cooperative matrices round q, K,
     * V and the probabilities to f16: 3e-3 + 3e-3 */
    int f16 = c->kv_type != DTYPE_F32, long_run = 0; /* a run of VK_GEMM_MIN_TOK tokens of one sequence */
    for (int i = 0, r = 0; i < n; i++) {
        r = i > 0 && seq[i] == seq[i - 1] ? r + 1 : 1;
        if (r >= VK_GEMM_MIN_TOK) long_run = 1;
    }
    int cm = vk_backend_coopmat(c->be[1]) && long_run && c->hd % 16 == 0;
    size_t at;
    double e = vkh_worst(res[1], res[0], nq, cm ? 3e-3 : f16 ? 5e-4 : 2e-5, cm ? 3e-3 : f16 ? 1e-3 : 1e-4, &at);
    size_t tok = at / (N_HEADS * (size_t)c->hd);
    CHECKF(e <= 1, "attention %s%s hd %d %s: element %zu (token %zu, pos %d of slot %d): vk %g cpu %g", what, cm ? " (coopmat)" : "", c->hd,
           dtype_name(c->kv_type), at, tok, pos[tok], seq[tok], res[1][at], res[0][at]);
    free(res[0]);
    free(res[1]);
    free(q);
}

static void run(backend *cpu, backend *vk, uint64_t *rng, int hd, uint32_t kv_type) {
    ctx c = {.hd = hd, .kv_type = kv_type, .be = {cpu, vk}};
    int32_t perm[N_BLOCKS];
    for (int i = 0; i < N_BLOCKS; i++) perm[i] = i;
    for (int i = N_BLOCKS - 1; i > 0; i--) {
        int j = (int)(test_rng_u64(rng) % (uint64_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    memcpy(c.bt, perm, sizeof c.bt);
    fill_cache(&c, rng);
    /* a mixed batch: chunk edges (multiples of 64 and 128), all three slots */
    int32_t mpos[] = {0, 1, 63, 64, 65, 127, 128, 255, 256, 1500, 2999, 1299, 128, 1023, 69, 5};
    int32_t mseq[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2};
    check_queries(&c, rng, (int)(sizeof mpos / sizeof mpos[0]), mpos, mseq, "mixed batch");
    /* a batch with long runs of one sequence between short ones: the runs of
     * 20 and 17 take the prompt kernel at their offsets, the rest the per-token one */
    int32_t rpos[42], rseq[42];
    for (int i = 0; i < 20; i++) rpos[i] = 2000 + i, rseq[i] = 0;
    int32_t mid_pos[3] = {5, 700, 1299};
    for (int i = 0; i < 3; i++) rpos[20 + i] = mid_pos[i], rseq[20 + i] = 1;
    for (int i = 0; i < 17; i++) rpos[23 + i] = 40 + i, rseq[23 + i] = 2;
    rpos[40] = 10, rseq[40] = 0;
    rpos[41] = 2999, rseq[41] = 0;
    check_queries(&c, rng, 42, rpos, rseq, "runs of one sequence");
    /* a prompt of one sequence (the tiled kernel): 40 positions deep in slot 0,
     * then one query at 2999 with 15 at position 5 (most K/V tiles masked) */
    int32_t ppos[40], pseq[40];
    for (int i = 0; i < 40; i++) ppos[i] = 1000 + 3 * i, pseq[i] = 0;
    check_queries(&c, rng, 40, ppos, pseq, "prompt of slot 0");
    for (int i = 0; i < 16; i++) ppos[i] = i == 7 ? 2999 : 5, pseq[i] = 0;
    check_queries(&c, rng, 16, ppos, pseq, "prompt, one long query");
    /* decode: one token at many context lengths */
    const int lens[] = {1, 2, 64, 65, 129, 257, 700, 1024, 2047, 2048, 2049, 2999, 3000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        int32_t p = lens[i] - 1, s = 0;
        char what[32];
        snprintf(what, sizeof what, "decode ctx %d", lens[i]);
        check_queries(&c, rng, 1, &p, &s, what);
    }
    /* one decode token per slot */
    int32_t dpos[N_SLOTS], dseq[N_SLOTS];
    for (int s = 0; s < N_SLOTS; s++) dpos[s] = slot_len[s] - 1, dseq[s] = s;
    check_queries(&c, rng, N_SLOTS, dpos, dseq, "decode 3 slots");
    for (int b = 0; b < 2; b++) c.be[b]->vt->kv_free(c.be[b], c.kv[b]);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    backend *vk = vkh_open(0, 0);
    if (!vk) return 0;
    backend *cpu = vkh_cpu();
    run(cpu, vk, &rng, 64, DTYPE_F32);
    run(cpu, vk, &rng, 64, DTYPE_F16);
    run(cpu, vk, &rng, 64, DTYPE_Q8_0);
    run(cpu, vk, &rng, 128, DTYPE_F16); /* attention_gqa's widest heads: 24-position stages */
    vk_backend_opts po = {.device_index = -1, .profile = 1};
    backend *vkp = NULL;
    VKH_OK(vk_backend_create_opts(&po, &vkp));
    run(cpu, vkp, &rng, 36, DTYPE_F32); /* 36: not a multiple of the 8-wide dot */
    vkp->vt->destroy(vkp);
    backend *vkn = vkh_open(0, 1); /* shared-memory reductions: the kernels without subgroup ops */
    run(cpu, vkn, &rng, 64, DTYPE_F16);
    vkn->vt->destroy(vkn);
    vk->vt->destroy(vk);
    cpu->vt->destroy(cpu);
    return test_finish();
}
