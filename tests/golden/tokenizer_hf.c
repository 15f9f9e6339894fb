/* tokenizer_hf.c — the tokenizer.json files of tiny-llama2 (Metaspace-style
 * SPM BPE with byte fallback) and tiny-llama3 (byte-level BPE) against the
 * Hugging Face tokenizers outputs in hf-llama{2,3}-cases.json: ids exactly
 * (add_special_tokens=False; the tokenizers library always matches special
 * added tokens in text, hence TOKENIZER_PARSE_SPECIAL), decode(ids) ==
 * decoded, and ids_with_special (BOS/EOS from the tokenizer.json
 * post-processor: that tokenizer is built from tokenizer.json alone, since
 * tokenizer_config.json may turn BOS on the way transformers does). */
#include <jansson.h>

#include "core/buf.h"
#include "core/mem.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

static int ids_equal(const int32_t *ids, size_t n, json_t *want) {
    if (n != json_array_size(want)) return 0;
    for (size_t k = 0; k < n; k++)
        if (ids[k] != json_integer_value(json_array_get(want, k))) return 0;
    return 1;
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
    fprintf(stderr, "\n");
}

static void check_cases(const char *model_dir, const char *cases_file) {
    char *mp = test_path(model_dir), *cp = test_path(cases_file);
    if (!mp || !cp) return;
    tokenizer *t = NULL, *tj = NULL;
    vkllm_status st = tokenizer_from_hf(mp, &t);
    CHECKF(st == VKLLM_OK, "%s: %s", model_dir, vkllm_last_error());
    char jp[1200];
    snprintf(jp, sizeof jp, "%s/tokenizer.json", mp);
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    st = tok_spec_from_hf_json(jp, &sp);
    CHECKF(st == VKLLM_OK, "%s: %s", jp, vkllm_last_error());
    if (st == VKLLM_OK) CHECK(tokenizer_build(&sp, &tj) == VKLLM_OK);
    json_error_t jerr;
    json_t *root = json_load_file(cp, 0, &jerr);
    CHECKF(root != NULL, "%s: %s", cases_file, jerr.text);
    if (t && tj && root) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(root, "cases"), i, c) {
            const char *text = json_string_value(json_object_get(c, "text"));
            size_t len = json_string_length(json_object_get(c, "text"));
            int32_t *ids;
            size_t n;
            CHECK(tokenizer_encode(t, text, len, TOKENIZER_PARSE_SPECIAL, &ids, &n) == VKLLM_OK);
            int ok = ids_equal(ids, n, json_object_get(c, "ids"));
            CHECKF(ok, "%s case %zu '%s'", cases_file, i, text);
            if (!ok) print_ids("got", ids, n);
            buf dec = {0};
            CHECK(tokenizer_decode(t, ids, n, 1, &dec) == VKLLM_OK);
            const char *want = json_string_value(json_object_get(c, "decoded"));
            size_t wl = json_string_length(json_object_get(c, "decoded"));
            CHECKF(dec.len == wl && (wl == 0 || !memcmp(dec.data, want, wl)),
                   "%s case %zu decode: '%s' want '%s'", cases_file, i, dec.data, want);
            buf_free(&dec);
            mem_free(ids);
            CHECK(tokenizer_encode(tj, text, len, TOKENIZER_ADD_BOS | TOKENIZER_PARSE_SPECIAL, &ids, &n) ==
                  VKLLM_OK);
            ok = ids_equal(ids, n, json_object_get(c, "ids_with_special"));
            CHECKF(ok, "%s case %zu with special '%s'", cases_file, i, text);
            if (!ok) print_ids("got", ids, n);
            mem_free(ids);
        }
        fprintf(stderr, "%s: %zu cases\n", cases_file, json_array_size(json_object_get(root, "cases")));
    }
    json_decref(root);
    tokenizer_free(t);
    tokenizer_free(tj);
    free(mp);
    free(cp);
}

int main(void) {
    check_cases("models/tiny-llama2", "tokenizer/hf-llama2-cases.json");
    check_cases("models/tiny-llama3", "tokenizer/hf-llama3-cases.json");
    return test_finish();
}
