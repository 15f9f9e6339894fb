/* tokenizer_llama2c.c — the stories260K tok512.bin tokenizer against run.c:
 * exact prompt ids of every golden run, decode of whole runs equal to run.c's
 * printed text, streaming decode equal to whole decode. */
#include <jansson.h>

#include "core/buf.h"
#include "core/mem.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

int main(void) {
    char *tokp = test_path("models/stories260K/tok512.bin");
    char *goldp = test_path("models/stories260K/golden.json");
    if (!tokp || !goldp) return test_finish();
    tokenizer *t = NULL;
    vkllm_status st = tokenizer_from_llama2c(tokp, 512, &t);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    json_error_t jerr;
    json_t *root = json_load_file(goldp, 0, &jerr);
    CHECK(root != NULL);
    if (!t || !root) return test_finish();
    CHECK(tokenizer_n_vocab(t) == 512);
    CHECK(tokenizer_bos(t) == 1 && tokenizer_eos(t) == 2);
    CHECK(!strcmp(tokenizer_kind(t), "llama2c"));
    json_t *runs = json_object_get(root, "runs");
    size_t i;
    json_t *run;
    int n_runs = 0;
    json_array_foreach(runs, i, run) {
        const char *prompt = json_string_value(json_object_get(run, "prompt"));
        json_t *want = json_object_get(run, "prompt_token_ids");
        int32_t *ids;
        size_t n;
        st = tokenizer_encode(t, prompt, strlen(prompt), TOKENIZER_ADD_BOS, &ids, &n);
        CHECK(st == VKLLM_OK);
        CHECKF(n == json_array_size(want), "prompt '%s': %zu ids, want %zu", prompt, n,
               json_array_size(want));
        for (size_t k = 0; k < n && k < json_array_size(want); k++)
            CHECKF(ids[k] == json_integer_value(json_array_get(want, k)), "prompt '%s' id %zu: %d",
                   prompt, k, ids[k]);
        mem_free(ids);
        /* whole-run decode equals the printed prompt echo + continuation */
        json_t *all = json_object_get(run, "token_ids");
        size_t na = json_array_size(all);
        int32_t *v = malloc(na * sizeof *v);
        for (size_t k = 0; k < na; k++) v[k] = (int32_t)json_integer_value(json_array_get(all, k));
        buf text = {0}, streamed = {0};
        CHECK(tokenizer_decode(t, v, na, 0, &text) == VKLLM_OK);
        buf want_text = {0};
        buf_puts(&want_text, json_string_value(json_object_get(run, "prompt_echo_text")));
        buf_puts(&want_text, json_string_value(json_object_get(run, "continuation_text")));
        CHECKF(text.len == want_text.len && !memcmp(text.data, want_text.data, text.len),
               "run %zu decode differs:\n[%s]\n[%s]", i, text.data, want_text.data);
        tok_stream ts;
        tok_stream_init(&ts, t);
        for (size_t k = 0; k < na; k++) CHECK(tok_stream_push(&ts, v[k], &streamed) == VKLLM_OK);
        tok_stream_flush(&ts, &streamed);
        tok_stream_free(&ts);
        CHECK(streamed.len == text.len && !memcmp(streamed.data, text.data, text.len));
        buf_free(&text);
        buf_free(&streamed);
        buf_free(&want_text);
        free(v);
        n_runs++;
    }
    CHECK(n_runs >= 4);
    /* each piece decodes; byte tokens give their byte */
    buf p = {0};
    CHECK(tokenizer_piece(t, 3 + 'A', 0, &p) == VKLLM_OK && p.len == 1 && p.data[0] == 'A');
    buf_reset(&p);
    CHECK(tokenizer_piece(t, 1, 0, &p) == VKLLM_OK && p.len == 0);
    CHECK(tokenizer_piece(t, 512, 0, &p) != VKLLM_OK);
    buf_free(&p);
    json_decref(root);
    tokenizer_free(t);
    free(tokp);
    free(goldp);
    return test_finish();
}
