/* chat_incremental.c — a scripted 3-turn chat with tiny fixtures: turns 2 and
 * 3 evaluate only the tokens after the prefix already in the KV cache (the
 * whole previous prompt is reused), and the greedy answers equal those from
 * rendering and evaluating the whole conversation from scratch. */
#include "testutil.h"
#include "vkllm.h"

#define ANSWER 6

static size_t tokenize_all(vkllm_model *m, const char *text, int32_t *ids, size_t cap) {
    size_t n = 0;
    vkllm_tokenize(m, text, strlen(text), VKLLM_TOKENIZE_PARSE_SPECIAL, ids, cap, &n);
    return n;
}

/* Greedy answer of ANSWER tokens (not stopping at end-of-turn, to compare ids). */
static void answer(vkllm_session *s, int32_t *out) {
    for (int k = 0; k < ANSWER; k++) {
        vkllm_session_sample(s, &out[k]);
        if (k + 1 < ANSWER) vkllm_session_eval(s, &out[k], 1);
    }
}

static void check_model(const char *rel) {
    char *path = test_path(rel);
    vkllm_model_params mp = vkllm_model_default_params();
    mp.backend = VKLLM_BACKEND_CPU;
    vkllm_model *m = NULL;
    CHECKF(vkllm_model_load(path, &mp, &m) == VKLLM_OK, "%s: %s", rel, vkllm_last_error());
    free(path);
    if (!m) return;
    vkllm_session_params sp = vkllm_session_default_params();
    sp.sampling.temperature = 0;
    sp.n_ctx = 1024;
    vkllm_session *s = NULL, *fresh = NULL;
    vkllm_chat *c = NULL, *cf = NULL;
    CHECK(vkllm_session_create(m, &sp, &s) == VKLLM_OK);
    CHECK(vkllm_session_create(m, &sp, &fresh) == VKLLM_OK);
    CHECK(vkllm_chat_create(s, NULL, 0, &c) == VKLLM_OK);
    CHECK(vkllm_chat_create(fresh, NULL, 0, &cf) == VKLLM_OK);
    if (!c || !cf) goto out;
    const char *users[3] = {"Hello! Who are you?", "Tell me a story about a robot.", "Thanks."};
    static int32_t full[4096];
    size_t prev_prompt = 0;
    for (int turn = 0; turn < 3; turn++) {
        size_t before;
        static int32_t prev[4096];
        const int32_t *cur = vkllm_session_tokens(s, &before);
        memcpy(prev, cur, before * sizeof *cur);
        vkllm_chat_add(c, "user", users[turn]);
        vkllm_chat_add(cf, "user", users[turn]);
        size_t n_eval = 0;
        CHECK(vkllm_chat_prepare(c, &n_eval) == VKLLM_OK);
        const char *text;
        CHECK(vkllm_chat_render(c, 1, &text) == VKLLM_OK);
        size_t n_full = tokenize_all(m, text, full, 4096);
        /* exactly the tokens after the common prefix are evaluated ... */
        size_t lcp = 0;
        while (lcp < before && lcp < n_full && prev[lcp] == full[lcp]) lcp++;
        if (lcp == n_full) lcp--;
        CHECKF(n_eval == n_full - lcp, "turn %d: evaluated %zu, expected %zu", turn, n_eval,
               n_full - lcp);
        /* ... and on later turns the whole previous prompt is part of that prefix */
        if (turn > 0)
            CHECKF(n_full - n_eval >= prev_prompt, "turn %d: reused %zu < previous prompt %zu",
                   turn, n_full - n_eval, prev_prompt);
        prev_prompt = n_full;
        /* the same conversation from scratch */
        CHECK(vkllm_session_truncate(fresh, 0) == VKLLM_OK);
        size_t n_eval_fresh = 0;
        CHECK(vkllm_chat_prepare(cf, &n_eval_fresh) == VKLLM_OK);
        size_t ns, nf;
        const int32_t *ts = vkllm_session_tokens(s, &ns), *tf = vkllm_session_tokens(fresh, &nf);
        CHECKF(ns == nf && !memcmp(ts, tf, ns * sizeof *ts), "turn %d: sequences differ", turn);
        int32_t a[ANSWER], b[ANSWER];
        answer(s, a);
        answer(fresh, b);
        CHECKF(!memcmp(a, b, sizeof a), "turn %d: answers differ", turn);
        char piece[256] = "";
        vkllm_detokenizer *d = NULL;
        vkllm_detokenizer_create(m, &d);
        size_t pl = 0;
        for (int k = 0; k < ANSWER - 1 && d; k++) {
            const char *t;
            size_t tl;
            vkllm_detokenizer_push(d, a[k], &t, &tl);
            if (pl + tl < sizeof piece) {
                memcpy(piece + pl, t, tl);
                pl += tl;
                piece[pl] = 0;
            }
        }
        vkllm_detokenizer_destroy(d);
        vkllm_chat_add(c, "assistant", piece);
        vkllm_chat_add(cf, "assistant", piece);
        fprintf(stderr, "%s turn %d: evaluated %zu of %zu tokens\n", rel, turn, n_eval, n_full);
    }
out:
    vkllm_chat_destroy(c);
    vkllm_chat_destroy(cf);
    vkllm_session_destroy(s);
    vkllm_session_destroy(fresh);
    vkllm_model_destroy(m);
}

int main(void) {
    if (!test_data_dir()) return 0;
    check_model("models/tiny-qwen2");
    check_model("models/tiny-llama3");
    return test_finish();
}
