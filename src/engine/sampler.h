/* sampler.h — next-token selection: logit bias, repetition penalty, then greedy
 * (temperature 0) or top-k -> temperature softmax -> top-p -> min-p and a draw
 * from a seeded xorshift64* generator. */
#ifndef VKLLM_ENGINE_SAMPLER_H
#define VKLLM_ENGINE_SAMPLER_H

#include "vkllm.h"

typedef struct sampler {
    vkllm_sampling_params p;
    uint64_t rng;
    int n_vocab;
    int32_t *hist;      /* ring of the last repeat_last_n accepted ids */
    int n_hist, hist_pos;
    struct cand *cand;  /* scratch [n_vocab] */
    float *prob;        /* scratch [n_vocab] */
    int32_t *bias_ids;  /* owned copies of the logit bias (p.bias_* point here) */
    float *bias_values;
} sampler;

vkllm_status sampler_init(sampler *s, const vkllm_sampling_params *p, int n_vocab);
void sampler_free(sampler *s);
void sampler_reset(sampler *s);
/* Records a token of the sequence (prompt or generated) for the penalty. */
void sampler_accept(sampler *s, int32_t id);
/* Picks a token; logits (n_vocab) are modified. */
int32_t sampler_sample(sampler *s, float *logits);
/* True when the choice is a plain argmax of the raw logits (GPU argmax path). */
int sampler_is_greedy(const sampler *s);
/* Uniform float in [0,1) from the sampler's generator. */
float sampler_rand(sampler *s);

#endif
