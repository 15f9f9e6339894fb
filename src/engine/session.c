/* session.c — vkllm_session: one sequence with its paged KV cache, the
 * forward-pass scratch, the last logits and a sampler. Prompts are evaluated
 * in micro-batches of up to VKLLM_UBATCH tokens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "engine/forward.h"
#include "engine/kv_cache.h"
#include "engine/sampler.h"
#include "model/model.h"

#define SESSION_UBATCH 512
#define SESSION_MAX_OUT 32 /* rows of logits one pass can return */

struct vkllm_session {
    vkllm_model *model;
    int n_ctx;
    kv_cache kvc;
    fwd_state fwd;
    sampler smp;
    int all_logits;     /* VKLLM_LOGITS_ALL */
    int force_logits;   /* VKLLM_LOGITS_LAST: never the argmax-only path */
    float *logits;      /* [cap_rows * n_vocab] */
    size_t cap_rows;
    size_t n_rows;      /* rows valid in logits */
    int32_t argmax_id;  /* when the last eval used the device argmax */
    int have_argmax;
    int32_t *ids;       /* tokens in the sequence [n_ctx] */
    size_t n_past;
    int32_t *pos, *seq, *rows; /* batch scratch [SESSION_UBATCH] */
};

vkllm_session_params vkllm_session_default_params(void) {
    vkllm_session_params p;
    memset(&p, 0, sizeof p);
    p.sampling.temperature = 0.8f;
    p.sampling.top_k = 40;
    p.sampling.top_p = 0.95f;
    p.sampling.min_p = 0.05f;
    p.sampling.repeat_penalty = 1.0f;
    p.sampling.repeat_last_n = 64;
    p.sampling.seed = 0;
    return p;
}

void vkllm_session_destroy(vkllm_session *s) {
    if (!s) return;
    if (s->fwd.x || s->fwd.ids) forward_free(s->model, &s->fwd);
    kvc_free(&s->kvc);
    sampler_free(&s->smp);
    mem_free(s->logits);
    mem_free(s->ids);
    mem_free(s->pos);
    mem_free(s->seq);
    mem_free(s->rows);
    mem_free(s);
}

vkllm_status vkllm_session_create(vkllm_model *m, const vkllm_session_params *params,
                                  vkllm_session **out) {
    *out = NULL;
    vkllm_session_params defaults = vkllm_session_default_params();
    const vkllm_session_params *p = params ? params : &defaults;
    if (!m || !m->be) return err_set(VKLLM_ERR_INVALID_ARG, "session: model has no backend");
    int n_ctx = p->n_ctx;
    if (n_ctx < 0 || n_ctx > (1 << 22))
        return err_set(VKLLM_ERR_INVALID_ARG, "context size %d out of range", n_ctx);
    if (n_ctx == 0) n_ctx = m->cfg.ctx_train < 4096 ? m->cfg.ctx_train : 4096;
    vkllm_session *s = mem_calloc(1, sizeof *s);
    if (!s) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    s->model = m;
    s->n_ctx = n_ctx;
    const model_config *c = &m->cfg;
    int ub = n_ctx < SESSION_UBATCH ? n_ctx : SESSION_UBATCH;
    uint32_t kv_type = DTYPE_F16;
    vkllm_status st = kvc_dtype(p->kv_type, c->head_dim, &kv_type);
    if (st == VKLLM_OK) st = sampler_init(&s->smp, &p->sampling, c->n_vocab);
    if (st == VKLLM_OK)
        st = kvc_create(m->be, c->n_layers, c->n_kv_heads, c->head_dim, kv_type, 1, n_ctx, &s->kvc);
    if (st == VKLLM_OK)
        st = forward_init(m, ub, ub < SESSION_MAX_OUT ? ub : SESSION_MAX_OUT, &s->fwd);
    if (st == VKLLM_OK) {
        s->cap_rows = 1;
        s->logits = mem_calloc((size_t)c->n_vocab, sizeof(float));
        s->ids = mem_calloc((size_t)n_ctx, sizeof(int32_t));
        s->pos = mem_calloc((size_t)ub, sizeof(int32_t));
        s->seq = mem_calloc((size_t)ub, sizeof(int32_t));
        s->rows = mem_calloc((size_t)ub, sizeof(int32_t));
        if (!s->logits || !s->ids || !s->pos || !s->seq || !s->rows)
            st = err_set(VKLLM_ERR_NOMEM, "session: out of memory");
    }
    if (st != VKLLM_OK) {
        vkllm_session_destroy(s);
        return st;
    }
    *out = s;
    return VKLLM_OK;
}

/* Evaluates ids[0..n) (n <= ubatch) at positions n_past..; want: 0 = last row's
 * logits, 1 = all rows' logits, 2 = only the device argmax of the last row. */
static vkllm_status session_ubatch(vkllm_session *s, const int32_t *ids, int n, int want,
                                   float *logits) {
    TRY(kvc_reserve(&s->kvc, 0, (int)s->n_past + n));
    for (int i = 0; i < n; i++) {
        s->pos[i] = (int32_t)s->n_past + i;
        s->seq[i] = 0;
        s->rows[i] = i;
    }
    bk_batch b = {n, ids, s->pos, s->seq, s->kvc.table, s->kvc.n_slots, s->kvc.max_blocks};
    int n_out = want == 1 ? n : 1;
    const int32_t *rows = want == 1 ? s->rows : s->rows + (n - 1);
    int32_t am = -1;
    TRY(forward_run(s->model, &s->fwd, s->kvc.kv, &b, rows, n_out, want == 2 ? NULL : logits,
                    want == 2 ? &am : NULL));
    memcpy(s->ids + s->n_past, ids, (size_t)n * sizeof *ids);
    s->n_past += (size_t)n;
    kvc_commit(&s->kvc, 0, (int)s->n_past);
    s->have_argmax = want == 2;
    s->argmax_id = am;
    return VKLLM_OK;
}

vkllm_status vkllm_session_eval(vkllm_session *s, const int32_t *ids, size_t n) {
    if (n == 0) return err_set(VKLLM_ERR_INVALID_ARG, "eval: no tokens");
    if (n > (size_t)s->n_ctx - s->n_past)
        return err_set(VKLLM_ERR_CONTEXT_FULL,
                       "context full: %zu tokens in the context + %zu new > context size %d",
                       s->n_past, n, s->n_ctx);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->model->cfg.n_vocab)
            return err_set(VKLLM_ERR_INVALID_ARG, "token id %d out of range [0, %d)", ids[i],
                           s->model->cfg.n_vocab);
    size_t V = (size_t)s->model->cfg.n_vocab, rows = s->all_logits ? n : 1;
    if (rows > s->cap_rows) {
        if (rows > SIZE_MAX / sizeof(float) / V)
            return err_set(VKLLM_ERR_NOMEM, "eval: %zu rows of logits are too many", rows);
        float *nl = mem_realloc(s->logits, rows * V * sizeof(float));
        if (!nl) return err_set(VKLLM_ERR_NOMEM, "eval: out of memory for %zu logit rows", rows);
        s->logits = nl;
        s->cap_rows = rows;
    }
    s->n_rows = 0;
    int greedy = sampler_is_greedy(&s->smp) && !s->all_logits && !s->force_logits;
    /* in all-logits mode a pass returns at most max_out rows, so batches are that small */
    size_t step = (size_t)(s->all_logits ? s->fwd.max_out : s->fwd.max_tokens);
    size_t done = 0, start = s->n_past;
    while (done < n) {
        int k = (int)(n - done < step ? n - done : step);
        int last = done + (size_t)k == n;
        int want = s->all_logits ? 1 : (last && greedy ? 2 : 0);
        vkllm_status st = session_ubatch(s, ids + done, k, want,
                                         s->all_logits ? s->logits + done * V : s->logits);
        if (st != VKLLM_OK) {
            kvc_truncate(&s->kvc, 0, (int)start); /* all or nothing */
            s->n_past = start;
            s->n_rows = 0;
            s->have_argmax = 0;
            return st;
        }
        done += (size_t)k;
    }
    s->n_rows = s->have_argmax ? 0 : rows;
    for (size_t i = 0; i < n; i++) sampler_accept(&s->smp, ids[i]);
    return VKLLM_OK;
}

void vkllm_session_set_logits_mode(vkllm_session *s, vkllm_logits_mode mode) {
    s->all_logits = mode == VKLLM_LOGITS_ALL;
    s->force_logits = mode == VKLLM_LOGITS_LAST;
}

const float *vkllm_session_logits(const vkllm_session *s, size_t *n_rows) {
    if (n_rows) *n_rows = s->n_rows;
    return s->n_rows ? s->logits : NULL;
}

vkllm_status vkllm_session_sample(vkllm_session *s, int32_t *id) {
    if (s->have_argmax) {
        *id = s->argmax_id;
        return VKLLM_OK;
    }
    if (!s->n_rows) return err_set(VKLLM_ERR_INVALID_ARG, "sample: nothing evaluated yet");
    float *last = s->logits + (s->n_rows - 1) * (size_t)s->model->cfg.n_vocab;
    *id = sampler_sample(&s->smp, last);
    return VKLLM_OK;
}

vkllm_status vkllm_session_truncate(vkllm_session *s, size_t n_keep) {
    if (n_keep > s->n_past)
        return err_set(VKLLM_ERR_INVALID_ARG, "truncate: %zu > %zu tokens", n_keep, s->n_past);
    kvc_truncate(&s->kvc, 0, (int)n_keep);
    s->n_past = n_keep;
    s->n_rows = 0;
    s->have_argmax = 0;
    sampler_reset(&s->smp);
    size_t from = n_keep > (size_t)s->smp.p.repeat_last_n ? n_keep - s->smp.p.repeat_last_n : 0;
    for (size_t i = from; i < n_keep; i++) sampler_accept(&s->smp, s->ids[i]);
    return VKLLM_OK;
}

size_t vkllm_session_n_past(const vkllm_session *s) { return s->n_past; }

const int32_t *vkllm_session_tokens(const vkllm_session *s, size_t *n) {
    *n = s->n_past;
    return s->ids;
}

vkllm_model *session_model(const vkllm_session *s) { return s->model; }

void vkllm_session_memory(const vkllm_session *s, vkllm_memory_stats *m) {
    m->weights = s->model->weight_bytes;
    m->kv_cache = s->kvc.bytes;
    m->scratch = s->fwd.scratch_bytes;
}
