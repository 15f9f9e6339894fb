/* sampler.c — see sampler.h. */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

struct cand {
    float v;
    int32_t id;
};
typedef struct cand cand;


vkllm_status sampler_init(sampler *s, const vkllm_sampling_params *p, int n_vocab) {
    memset(s, 0, sizeof *s);
    if (!(p->temperature >= 0) || p->top_k < 0 || !(p->top_p > 0 && p->top_p <= 1) ||
        !(p->min_p >= 0 && p->min_p <= 1) || !(p->repeat_penalty > 0) || p->repeat_last_n < 0 ||
        p->repeat_last_n > (1 << 20))
        return err_set(VKLLM_ERR_INVALID_ARG, "sampling parameters out of range");
    if (p->n_bias < 0 || p->n_bias > n_vocab || (p->n_bias && (!p->bias_ids || !p->bias_values)))
        return err_set(VKLLM_ERR_INVALID_ARG, "logit bias: %d entries (vocabulary of %d)", p->n_bias, n_vocab);
    for (int i = 0; i < p->n_bias; i++) {
        float v = p->bias_values[i];
        if (p->bias_ids[i] < 0 || p->bias_ids[i] >= n_vocab || isnan(v) || v == INFINITY)
            return err_set(VKLLM_ERR_INVALID_ARG, "logit bias %d: token %d (vocabulary of %d), bias %g", i,
                           p->bias_ids[i], n_vocab, (double)v);
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    if (p->n_bias) {
        s->bias_ids = mem_calloc((size_t)p->n_bias, sizeof *s->bias_ids);
        s->bias_values = mem_calloc((size_t)p->n_bias, sizeof *s->bias_values);
        if (!s->bias_ids || !s->bias_values) {
            sampler_free(s);
            return err_set(VKLLM_ERR_NOMEM, "sampler: out of memory");
        }
        memcpy(s->bias_ids, p->bias_ids, (size_t)p->n_bias * sizeof *s->bias_ids);
        memcpy(s->bias_values, p->bias_values, (size_t)p->n_bias * sizeof *s->bias_values);
    }
    s->p.bias_ids = s->bias_ids;
    s->p.bias_values = s->bias_values;
    s->rng = p->seed ? p->seed : 0x9E3779B97F4A7C15ull;
    s->cand = mem_calloc((size_t)n_vocab, sizeof *s->cand);
    s->prob = mem_calloc((size_t)n_vocab, sizeof *s->prob);
    s->hist = mem_calloc((size_t)(p->repeat_last_n ? p->repeat_last_n : 1), sizeof *s->hist);
    if (!s->cand || !s->prob || !s->hist) {
        sampler_free(s);
        return err_set(VKLLM_ERR_NOMEM, "sampler: out of memory");
    }
    return VKLLM_OK;
}

void sampler_free(sampler *s) {
    mem_free(s->bias_ids);
    mem_free(s->bias_values);
    mem_free(s->cand);
    mem_free(s->prob);
    mem_free(s->hist);
    memset(s, 0, sizeof *s);
}

void sampler_reset(sampler *s) {
    s->n_hist = 0;
    s->hist_pos = 0;
}

void sampler_accept(sampler *s, int32_t id) {
    int n = s->p.repeat_last_n;
    if (n <= 0) return;
    s->hist[s->hist_pos] = id;
    s->hist_pos = (s->hist_pos + 1) % n;
    if (s->n_hist < n) s->n_hist++;
}

int sampler_is_greedy(const sampler *s) {
    return s->p.temperature <= 0 && (s->p.repeat_penalty == 1.0f || s->p.repeat_last_n == 0) && s->p.n_bias == 0;
}

float sampler_rand(sampler *s) {
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (float)((s->rng * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.0f;
}

static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Descending by logit; ties: lower id first. */
static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Selects the k best logits into c[0..k) sorted descending (heap of size k). */
static int select_top(const float *logits, int V, int k, cand *c) {
    int n = 0;
    for (int i = 0; i < V; i++) {
        cand x = {logits[i], i};
        if (n < k) {
            int j = n++;
            while (j > 0 && cand_cmp(&c[(j - 1) / 2], &x) < 0) { /* min-heap on "worse" */
                c[j] = c[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            c[j] = x;
        } else if (cand_cmp(&x, &c[0]) < 0) {
            int j = 0;
            for (;;) {
                int l = 2 * j + 1, r = l + 1, w = j;
                const cand *wv = &x;
                if (l < n && cand_cmp(&c[l], wv) > 0) { w = l; wv = &c[l]; }
                if (r < n && cand_cmp(&c[r], wv) > 0) { w = r; }
                if (w == j) break;
                c[j] = c[w];
                j = w;
            }
            c[j] = x;
        }
    }
    qsort(c, (size_t)n, sizeof *c, cand_cmp);
    return n;
}

int32_t sampler_sample(sampler *s, float *logits) {
    int V = s->n_vocab;
    for (int i = 0; i < s->p.n_bias; i++) logits[s->bias_ids[i]] += s->bias_values[i];
    if (s->p.repeat_penalty != 1.0f) {
        /* each distinct recent token penalised once */
        for (int i = 0; i < s->n_hist; i++) {
            int32_t id = s->hist[i];
            if (id < 0 || id >= V) continue;
            int seen = 0;
            for (int j = 0; j < i; j++) seen |= s->hist[j] == id;
            if (seen) continue;
            logits[id] = logits[id] > 0 ? logits[id] / s->p.repeat_penalty
                                        : logits[id] * s->p.repeat_penalty;
        }
    }
    if (s->p.temperature <= 0) return argmax(logits, V);
    cand *c = s->cand;
    int n = select_top(logits, V, s->p.top_k > 0 && s->p.top_k < V ? s->p.top_k : V, c);
    float mx = c[0].v, sum = 0;
    for (int i = 0; i < n; i++) {
        s->prob[i] = expf((c[i].v - mx) / s->p.temperature);
        sum += s->prob[i];
    }
    for (int i = 0; i < n; i++) s->prob[i] /= sum;
    if (s->p.top_p < 1.0f) {
        float cum = 0;
        for (int i = 0; i < n; i++) {
            cum += s->prob[i];
            if (cum >= s->p.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0) {
        float lim = s->p.min_p * s->prob[0];
        int k = 1;
        while (k < n && s->prob[k] >= lim) k++;
        n = k;
    }
    sum = 0;
    for (int i = 0; i < n; i++) sum += s->prob[i];
    float r = sampler_rand(s) * sum, cum = 0;
    for (int i = 0; i < n; i++) {
        cum += s->prob[i];
        if (r < cum) return c[i].id;
    }
    return c[n - 1].id;
}
