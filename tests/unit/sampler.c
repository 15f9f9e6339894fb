/* sampler.c — the sampling chain on fresh random logits: greedy is argmax,
 * frequencies follow softmax(logits/T), top-k/top-p/min-p never pick excluded
 * tokens, the repetition penalty changes the argmax, seeds reproduce, the
 * logit bias moves the argmax and -inf bans a token (copied at init). */
#include <math.h>

#include "engine/sampler.h"
#include "testutil.h"

#define V 8

static vkllm_sampling_params base(void) {
    vkllm_sampling_params p = {1.0f, 0, 1.0f, 0.0f, 1.0f, 0, 1, NULL, NULL, 0};
    return p;
}

static int32_t draw(sampler *s, const float *lg) {
    float tmp[V];
    memcpy(tmp, lg, sizeof tmp);
    return sampler_sample(s, tmp);
}

int main(void) {
    uint64_t rng = test_seed();
    float lg[V];
    for (int i = 0; i < V; i++) lg[i] = test_rng_f32(&rng, -2, 2);
    int am = 0;
    for (int i = 1; i < V; i++)
        if (lg[i] > lg[am]) am = i;

    sampler s;
    vkllm_sampling_params p = base();
    p.temperature = 0;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    CHECK(sampler_is_greedy(&s));
    CHECK(draw(&s, lg) == am);
    sampler_free(&s);

    /* frequencies vs softmax at T = 0.7 */
    p = base();
    p.temperature = 0.7f;
    p.seed = test_rng_u64(&rng) | 1;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    double prob[V], sum = 0;
    for (int i = 0; i < V; i++) sum += prob[i] = exp(lg[i] / 0.7);
    int cnt[V] = {0};
    const int N = 40000;
    for (int k = 0; k < N; k++) cnt[draw(&s, lg)]++;
    for (int i = 0; i < V; i++) {
        double e = prob[i] / sum, f = (double)cnt[i] / N, sd = sqrt(e * (1 - e) / N);
        CHECKF(fabs(f - e) <= 5 * sd + 1e-4, "token %d: freq %.4f vs %.4f", i, f, e);
    }
    sampler_free(&s);

    /* top-k = 2: only the two best ever */
    int order[V];
    for (int i = 0; i < V; i++) order[i] = i;
    for (int i = 0; i < V; i++)
        for (int j = i + 1; j < V; j++)
            if (lg[order[j]] > lg[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    p = base();
    p.top_k = 2;
    p.seed = 7;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    for (int k = 0; k < 2000; k++) {
        int32_t id = draw(&s, lg);
        CHECK(id == order[0] || id == order[1]);
        if (id != order[0] && id != order[1]) break;
    }
    sampler_free(&s);

    /* top-p: a nucleus of tokens whose mass reaches p; nothing outside it */
    p = base();
    p.top_p = 0.5f;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    double z = 0, cum = 0;
    for (int i = 0; i < V; i++) z += exp(lg[i]);
    int nucleus = 0;
    while (nucleus < V && cum < 0.5) cum += exp(lg[order[nucleus++]]) / z;
    int ok = 1;
    for (int k = 0; k < 2000; k++) {
        int32_t id = draw(&s, lg);
        int in = 0;
        for (int j = 0; j < nucleus; j++) in |= order[j] == id;
        ok &= in;
    }
    CHECKF(ok, "top-p picked outside the nucleus of %d", nucleus);
    sampler_free(&s);

    /* min-p: tokens with p < min_p * p_max never picked */
    p = base();
    p.min_p = 0.5f;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    double pmax = exp(lg[order[0]]) / z;
    ok = 1;
    for (int k = 0; k < 2000; k++) {
        int32_t id = draw(&s, lg);
        ok &= exp(lg[id]) / z >= 0.5 * pmax - 1e-6;
    }
    CHECK(ok);
    sampler_free(&s);

    /* repetition penalty: a huge penalty on the argmax moves greedy elsewhere */
    p = base();
    p.temperature = 0;
    p.repeat_penalty = 1000.0f;
    p.repeat_last_n = 4;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    CHECK(!sampler_is_greedy(&s));
    float lp[V];
    for (int i = 0; i < V; i++) lp[i] = fabsf(lg[i]) + 0.5f; /* all positive */
    int amp = 0;
    for (int i = 1; i < V; i++)
        if (lp[i] > lp[amp]) amp = i;
    sampler_accept(&s, amp);
    CHECK(draw(&s, lp) != amp);
    sampler_free(&s);

    /* same seed, same sequence; other seed, other sequence */
    int32_t a[64], b[64], c[64];
    for (int rep = 0; rep < 3; rep++) {
        p = base();
        p.seed = rep == 2 ? 99 : 12345;
        CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
        for (int k = 0; k < 64; k++) (rep == 0 ? a : rep == 1 ? b : c)[k] = draw(&s, lg);
        sampler_free(&s);
    }
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);

    /* logit bias: lifts the smallest logit above the argmax (greedy, no longer the
     * device-argmax path); -inf bans the argmax at any temperature */
    int lo = 0;
    for (int i = 1; i < V; i++)
        if (lg[i] < lg[lo]) lo = i;
    int32_t ids[2] = {lo, am};
    float vals[2] = {lg[am] - lg[lo] + 0.5f, 0};
    p = base();
    p.temperature = 0;
    p.bias_ids = ids;
    p.bias_values = vals;
    p.n_bias = 1;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    ids[0] = am; /* the sampler keeps its own copy */
    CHECK(!sampler_is_greedy(&s));
    CHECK(draw(&s, lg) == lo);
    sampler_free(&s);
    ids[0] = am;
    vals[0] = -INFINITY;
    p.temperature = 1.5f;
    p.seed = test_rng_u64(&rng) | 1;
    CHECK(sampler_init(&s, &p, V) == VKLLM_OK);
    int hit = 0;
    for (int k = 0; k < 500; k++) hit += draw(&s, lg) == am;
    CHECKF(hit == 0, "banned token drawn %d times", hit);
    sampler_free(&s);

    /* bad parameters */
    p = base();
    p.top_p = 0;
    CHECK(sampler_init(&s, &p, V) == VKLLM_ERR_INVALID_ARG);
    p = base();
    ids[0] = V;
    vals[0] = 1;
    p.bias_ids = ids;
    p.bias_values = vals;
    p.n_bias = 1;
    CHECK(sampler_init(&s, &p, V) == VKLLM_ERR_INVALID_ARG); /* id past the vocabulary */
    ids[0] = 0;
    vals[0] = NAN;
    CHECK(sampler_init(&s, &p, V) == VKLLM_ERR_INVALID_ARG);
    p.n_bias = -1;
    CHECK(sampler_init(&s, &p, V) == VKLLM_ERR_INVALID_ARG);
    return test_finish();
}
