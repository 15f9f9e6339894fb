/* batch.c — vkllm_batch: several sequences over one paged KV cache, stepped
 * together (the public API is in vkllm.h).
 *
 * Sequence slots: sequence i of the seqs array owns KV slot i (its block
 * table row); the public id is a counter, never reused, so a stale id is
 * an error rather than another sequence. A step gathers every pending token
 * of every live sequence, slot by slot, into micro-batches of at most
 * n_ubatch tokens (a sequence may span several); each micro-batch is one
 * forward_run with per-token position and slot, and returns one output row
 * for each sequence whose last pending token it holds.
 *
 * Invariants: kvc.n_pos[i] == seqs[i].n_past between steps; tokens[0..n_past)
 * are the evaluated tokens, pending[0..n_pending) the queued ones, and
 * n_past + n_pending <= n_ctx. */
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "engine/forward.h"
#include "engine/kv_cache.h"
#include "engine/sampler.h"
#include "model/model.h"

#define BATCH_MAX_SEQS 256
#define BATCH_MAX_UBATCH 4096

typedef struct batch_seq {
    int32_t id;            /* -1 = slot free */
    sampler smp;
    int32_t *tokens;       /* [n_ctx] evaluated tokens */
    int32_t *pending;      /* [n_ctx] queued for the next step */
    size_t n_past, n_pending;
    size_t done;           /* pending tokens evaluated so far in the current step */
    int has_logits;        /* logits row of this slot is valid */
    int has_argmax;        /* argmax (device) is valid instead */
    int32_t argmax;
} batch_seq;

struct vkllm_batch {
    vkllm_model *model;
    int n_ctx, n_seq_max, n_ubatch, keep_logits;
    int32_t next_id;
    kv_cache kvc;
    fwd_state fwd;
    batch_seq *seqs;       /* [n_seq_max], index = KV slot */
    float *logits;         /* [n_seq_max][n_vocab], row = slot */
    float *pass_logits;    /* [max_out][n_vocab] one pass's output rows */
    float *sample_row;     /* [n_vocab] scratch the sampler may modify */
    int32_t *pass_ids;     /* [max_out] one pass's argmax ids */
    int32_t *ids, *pos, *seq, *rows; /* [n_ubatch] one pass's batch */
    int32_t *out_slot;     /* [max_out] slot of each output row */
};

vkllm_batch_params vkllm_batch_default_params(void) {
    vkllm_batch_params p;
    memset(&p, 0, sizeof p);
    p.n_seq_max = 8;
    p.n_ubatch = 512;
    p.kv_type = VKLLM_KV_F16;
    return p;
}

static void batch_seq_clear(batch_seq *q) {
    sampler_free(&q->smp);
    mem_free(q->tokens);
    mem_free(q->pending);
    memset(q, 0, sizeof *q);
    q->id = -1;
}

void vkllm_batch_destroy(vkllm_batch *b) {
    if (!b) return;
    if (b->seqs)
        for (int i = 0; i < b->n_seq_max; i++) batch_seq_clear(&b->seqs[i]);
    if (b->fwd.x || b->fwd.ids) forward_free(b->model, &b->fwd);
    kvc_free(&b->kvc);
    mem_free(b->seqs);
    mem_free(b->logits);
    mem_free(b->pass_logits);
    mem_free(b->sample_row);
    mem_free(b->pass_ids);
    mem_free(b->ids);
    mem_free(b->pos);
    mem_free(b->seq);
    mem_free(b->rows);
    mem_free(b->out_slot);
    mem_free(b);
}

static vkllm_status batch_check_params(const vkllm_batch_params *p) {
    if (p->n_ctx < 0 || p->n_ctx > (1 << 22))
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: context size %d out of range 0..%d", p->n_ctx,
                       1 << 22);
    if (p->n_seq_max < 1 || p->n_seq_max > BATCH_MAX_SEQS)
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: n_seq_max %d out of range 1..%d", p->n_seq_max,
                       BATCH_MAX_SEQS);
    if (p->n_ubatch < 1 || p->n_ubatch > BATCH_MAX_UBATCH)
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: n_ubatch %d out of range 1..%d", p->n_ubatch,
                       BATCH_MAX_UBATCH);
    if (p->keep_logits != 0 && p->keep_logits != 1)
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: keep_logits %d is not 0 or 1", p->keep_logits);
    return VKLLM_OK;
}

vkllm_status vkllm_batch_create(vkllm_model *m, const vkllm_batch_params *params,
                                vkllm_batch **out) {
    if (!out) return err_set(VKLLM_ERR_INVALID_ARG, "batch: no output handle");
    *out = NULL;
    vkllm_batch_params defaults = vkllm_batch_default_params();
    const vkllm_batch_params *p = params ? params : &defaults;
    if (!m || !m->be) return err_set(VKLLM_ERR_INVALID_ARG, "batch: model has no backend");
    TRY(batch_check_params(p));
    const model_config *c = &m->cfg;
    uint32_t kv_type;
    TRY(kvc_dtype(p->kv_type, c->head_dim, &kv_type));
    int n_ctx = p->n_ctx ? p->n_ctx : (c->ctx_train < 4096 ? c->ctx_train : 4096);
    vkllm_batch *b = mem_calloc(1, sizeof *b);
    if (!b) return err_set(VKLLM_ERR_NOMEM, "batch: out of memory");
    b->model = m;
    b->n_ctx = n_ctx;
    b->n_seq_max = p->n_seq_max;
    b->keep_logits = p->keep_logits;
    int64_t cap = (int64_t)n_ctx * p->n_seq_max;
    b->n_ubatch = cap < p->n_ubatch ? (int)cap : p->n_ubatch;
    int max_out = b->n_ubatch < b->n_seq_max ? b->n_ubatch : b->n_seq_max;
    size_t V = (size_t)c->n_vocab, S = (size_t)b->n_seq_max, U = (size_t)b->n_ubatch;
    vkllm_status st = kvc_create(m->be, c->n_layers, c->n_kv_heads, c->head_dim, kv_type,
                                 b->n_seq_max, n_ctx, &b->kvc);
    if (st == VKLLM_OK) st = forward_init(m, b->n_ubatch, max_out, &b->fwd);
    if (st == VKLLM_OK) {
        b->seqs = mem_calloc(S, sizeof *b->seqs);
        b->logits = mem_calloc(S * V, sizeof(float));
        b->pass_logits = mem_calloc((size_t)max_out * V, sizeof(float));
        b->sample_row = mem_calloc(V, sizeof(float));
        b->pass_ids = mem_calloc((size_t)max_out, sizeof(int32_t));
        b->out_slot = mem_calloc((size_t)max_out, sizeof(int32_t));
        b->ids = mem_calloc(U, sizeof(int32_t));
        b->pos = mem_calloc(U, sizeof(int32_t));
        b->seq = mem_calloc(U, sizeof(int32_t));
        b->rows = mem_calloc(U, sizeof(int32_t));
        if (!b->seqs || !b->logits || !b->pass_logits || !b->sample_row || !b->pass_ids ||
            !b->out_slot || !b->ids || !b->pos || !b->seq || !b->rows)
            st = err_set(VKLLM_ERR_NOMEM, "batch: out of memory");
        else
            for (size_t i = 0; i < S; i++) b->seqs[i].id = -1;
    }
    if (st != VKLLM_OK) {
        vkllm_batch_destroy(b);
        return st;
    }
    *out = b;
    return VKLLM_OK;
}

/* Slot of a live sequence, or -1. */
static int batch_slot(const vkllm_batch *b, int32_t id) {
    if (id < 0) return -1;
    for (int i = 0; i < b->n_seq_max; i++)
        if (b->seqs[i].id == id) return i;
    return -1;
}

static vkllm_status batch_find(const vkllm_batch *b, int32_t id, const char *op, int *slot) {
    *slot = batch_slot(b, id);
    if (*slot < 0) return err_set(VKLLM_ERR_INVALID_ARG, "batch: %s: no live sequence %d", op, id);
    return VKLLM_OK;
}

vkllm_status vkllm_batch_seq_add(vkllm_batch *b, const vkllm_sampling_params *sampling,
                                 int32_t share_from, size_t n_share, int32_t *seq_id) {
    if (!b || !seq_id) return err_set(VKLLM_ERR_INVALID_ARG, "batch: seq_add: NULL argument");
    *seq_id = -1;
    int src = -1;
    if (share_from >= 0) {
        TRY(batch_find(b, share_from, "seq_add", &src));
        if (n_share > b->seqs[src].n_past)
            return err_set(VKLLM_ERR_INVALID_ARG,
                           "batch: seq_add: sequence %d has %zu evaluated tokens, %zu to share",
                           share_from, b->seqs[src].n_past, n_share);
    } else if (share_from != -1 || n_share) {
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: seq_add: share_from %d with %zu tokens",
                       share_from, n_share);
    }
    int slot = -1;
    for (int i = 0; i < b->n_seq_max && slot < 0; i++)
        if (b->seqs[i].id < 0) slot = i;
    if (slot < 0)
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: seq_add: all %d sequence slots are in use",
                       b->n_seq_max);
    if (b->next_id == INT32_MAX) return err_set(VKLLM_ERR_INVALID_ARG, "batch: seq_add: out of ids");
    vkllm_sampling_params dflt = vkllm_session_default_params().sampling;
    batch_seq *q = &b->seqs[slot];
    memset(q, 0, sizeof *q);
    vkllm_status st = sampler_init(&q->smp, sampling ? sampling : &dflt, b->model->cfg.n_vocab);
    if (st == VKLLM_OK) {
        q->tokens = mem_calloc((size_t)b->n_ctx, sizeof(int32_t));
        q->pending = mem_calloc((size_t)b->n_ctx, sizeof(int32_t));
        if (!q->tokens || !q->pending) st = err_set(VKLLM_ERR_NOMEM, "batch: seq_add: out of memory");
    }
    if (st == VKLLM_OK && src >= 0) st = kvc_share(&b->kvc, src, slot, (int)n_share);
    if (st != VKLLM_OK) {
        batch_seq_clear(q);
        return st;
    }
    if (src >= 0) {
        memcpy(q->tokens, b->seqs[src].tokens, n_share * sizeof(int32_t));
        q->n_past = n_share;
        for (size_t i = 0; i < n_share; i++) sampler_accept(&q->smp, q->tokens[i]);
    }
    q->id = b->next_id++;
    *seq_id = q->id;
    return VKLLM_OK;
}

vkllm_status vkllm_batch_seq_remove(vkllm_batch *b, int32_t seq_id) {
    if (!b) return err_set(VKLLM_ERR_INVALID_ARG, "batch: seq_remove: NULL batch");
    int slot;
    TRY(batch_find(b, seq_id, "seq_remove", &slot));
    kvc_truncate(&b->kvc, slot, 0);
    batch_seq_clear(&b->seqs[slot]);
    return VKLLM_OK;
}

vkllm_status vkllm_batch_append(vkllm_batch *b, int32_t seq_id, const int32_t *ids, size_t n) {
    if (!b || (!ids && n)) return err_set(VKLLM_ERR_INVALID_ARG, "batch: append: NULL argument");
    int slot;
    TRY(batch_find(b, seq_id, "append", &slot));
    batch_seq *q = &b->seqs[slot];
    if (n > (size_t)b->n_ctx - q->n_past - q->n_pending)
        return err_set(VKLLM_ERR_CONTEXT_FULL,
                       "batch: sequence %d: %zu evaluated + %zu queued + %zu new tokens > context "
                       "size %d", seq_id, q->n_past, q->n_pending, n, b->n_ctx);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= b->model->cfg.n_vocab)
            return err_set(VKLLM_ERR_INVALID_ARG, "batch: sequence %d: token id %d out of range [0, %d)",
                           seq_id, ids[i], b->model->cfg.n_vocab);
    if (n) memcpy(q->pending + q->n_pending, ids, n * sizeof *ids);
    q->n_pending += n;
    return VKLLM_OK;
}

/* Fills the pass arrays with the next micro-batch, starting at slot *cursor,
 * reserving KV blocks as it goes. *n_tok = 0 when nothing is left. */
static vkllm_status batch_fill(vkllm_batch *b, int *cursor, int *n_tok, int *n_out) {
    int T = 0, O = 0;
    for (; *cursor < b->n_seq_max && T < b->n_ubatch; (*cursor)++) {
        batch_seq *q = &b->seqs[*cursor];
        if (q->id < 0 || q->done == q->n_pending) continue;
        size_t left = q->n_pending - q->done;
        int k = left < (size_t)(b->n_ubatch - T) ? (int)left : b->n_ubatch - T;
        TRY(kvc_reserve(&b->kvc, *cursor, (int)(q->n_past + q->done) + k));
        for (int i = 0; i < k; i++) {
            b->ids[T + i] = q->pending[q->done + (size_t)i];
            b->pos[T + i] = (int32_t)(q->n_past + q->done) + i;
            b->seq[T + i] = *cursor;
        }
        T += k;
        q->done += (size_t)k;
        if (q->done == q->n_pending) {
            b->rows[O] = T - 1;
            b->out_slot[O++] = *cursor;
        } else {
            break; /* the micro-batch is full; this sequence continues in the next */
        }
    }
    *n_tok = T;
    *n_out = O;
    return VKLLM_OK;
}

/* Runs one micro-batch and stores its output rows. */
static vkllm_status batch_pass(vkllm_batch *b, int T, int O, int argmax_only) {
    size_t V = (size_t)b->model->cfg.n_vocab;
    bk_batch bb = {T, b->ids, b->pos, b->seq, b->kvc.table, b->kvc.n_slots, b->kvc.max_blocks};
    /* a pass without a finished sequence still needs one output row */
    int n_rows = O ? O : 1;
    if (!O) b->rows[0] = T - 1;
    TRY(forward_run(b->model, &b->fwd, b->kvc.kv, &bb, b->rows, n_rows,
                    argmax_only ? NULL : b->pass_logits, argmax_only ? b->pass_ids : NULL));
    for (int t = 0; t < T; t++) kvc_commit(&b->kvc, b->seq[t], b->pos[t] + 1);
    for (int o = 0; o < O; o++) {
        batch_seq *q = &b->seqs[b->out_slot[o]];
        if (argmax_only) {
            q->argmax = b->pass_ids[o];
        } else {
            memcpy(b->logits + (size_t)b->out_slot[o] * V, b->pass_logits + (size_t)o * V,
                   V * sizeof(float));
        }
    }
    return VKLLM_OK;
}

vkllm_status vkllm_batch_step(vkllm_batch *b, size_t *n_evaluated) {
    if (n_evaluated) *n_evaluated = 0;
    if (!b) return err_set(VKLLM_ERR_INVALID_ARG, "batch: step: NULL batch");
    int argmax_only = !b->keep_logits;
    for (int i = 0; i < b->n_seq_max; i++) {
        batch_seq *q = &b->seqs[i];
        q->done = 0;
        if (q->id >= 0 && q->n_pending && !sampler_is_greedy(&q->smp)) argmax_only = 0;
    }
    int cursor = 0;
    size_t total = 0;
    vkllm_status st = VKLLM_OK;
    for (;;) {
        int T = 0, O = 0;
        st = batch_fill(b, &cursor, &T, &O);
        if (st != VKLLM_OK || T == 0) break;
        st = batch_pass(b, T, O, argmax_only);
        if (st != VKLLM_OK) break;
        total += (size_t)T;
    }
    for (int i = 0; i < b->n_seq_max; i++) {
        batch_seq *q = &b->seqs[i];
        if (q->id < 0 || !q->n_pending) continue;
        if (st != VKLLM_OK) { /* all or nothing: back to the state before the step */
            kvc_truncate(&b->kvc, i, (int)q->n_past);
            q->has_logits = q->has_argmax = 0;
            q->done = 0;
            continue;
        }
        memcpy(q->tokens + q->n_past, q->pending, q->n_pending * sizeof(int32_t));
        for (size_t k = 0; k < q->n_pending; k++) sampler_accept(&q->smp, q->pending[k]);
        q->n_past += q->n_pending;
        q->n_pending = 0;
        q->done = 0;
        q->has_logits = !argmax_only;
        q->has_argmax = argmax_only;
    }
    TRY(st);
    if (n_evaluated) *n_evaluated = total;
    return VKLLM_OK;
}

const float *vkllm_batch_logits(const vkllm_batch *b, int32_t seq_id) {
    int slot = b ? batch_slot(b, seq_id) : -1;
    if (slot < 0 || !b->seqs[slot].has_logits) return NULL;
    return b->logits + (size_t)slot * (size_t)b->model->cfg.n_vocab;
}

vkllm_status vkllm_batch_sample(vkllm_batch *b, int32_t seq_id, int32_t *id) {
    if (!b || !id) return err_set(VKLLM_ERR_INVALID_ARG, "batch: sample: NULL argument");
    int slot;
    TRY(batch_find(b, seq_id, "sample", &slot));
    batch_seq *q = &b->seqs[slot];
    if (q->has_argmax) {
        *id = q->argmax;
        return VKLLM_OK;
    }
    if (!q->has_logits)
        return err_set(VKLLM_ERR_INVALID_ARG, "batch: sample: sequence %d has no logits yet", seq_id);
    size_t V = (size_t)b->model->cfg.n_vocab;
    memcpy(b->sample_row, b->logits + (size_t)slot * V, V * sizeof(float));
    *id = sampler_sample(&q->smp, b->sample_row);
    return VKLLM_OK;
}

const int32_t *vkllm_batch_tokens(const vkllm_batch *b, int32_t seq_id, size_t *n) {
    int slot = b ? batch_slot(b, seq_id) : -1;
    if (n) *n = slot < 0 ? 0 : b->seqs[slot].n_past;
    return slot < 0 ? NULL : b->seqs[slot].tokens;
}

int vkllm_batch_n_seqs(const vkllm_batch *b) {
    int n = 0;
    for (int i = 0; b && i < b->n_seq_max; i++) n += b->seqs[i].id >= 0;
    return n;
}

void vkllm_batch_kv_blocks(const vkllm_batch *b, int *n_free, int *n_total) {
    if (n_free) *n_free = b ? kvc_n_free(&b->kvc) : 0;
    if (n_total) *n_total = b ? b->kvc.n_blocks : 0;
}

void vkllm_batch_memory(const vkllm_batch *b, vkllm_memory_stats *m) {
    m->weights = b->model->weight_bytes;
    m->kv_cache = b->kvc.bytes;
    m->scratch = b->fwd.scratch_bytes;
}
