/* hf_json.c — tok_spec_from_hf_json / tok_spec_apply_hf_config on the three
 * real tokenizer.json files in the test data. Expected values were read from
 * the files with an independent script (Python's json module); random ids are
 * also cross-checked against the raw file text. */
#include "testutil.h"
#include "tokenizer/tok_spec.h"

static int str_is(const tok_str *t, const char *s) {
    return t->s && t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

static int has_eog(const tok_spec *s, int32_t id) {
    for (size_t i = 0; i < s->n_eog; i++)
        if (s->eog_ids[i] == id) return 1;
    return 0;
}

static int merge_is(const tok_spec *s, size_t rank, const char *a, const char *b) {
    return rank < s->n_merges && str_is(&s->merge_left[rank], a) && str_is(&s->merge_right[rank], b);
}

/* The raw file must hold `"<token, JSON-escaped>": <id>` for vocabulary ids. */
static void check_random_ids(const char *file, const tok_spec *s, int32_t below, uint64_t *rng) {
    size_t flen;
    char *text = test_read_file(file, &flen);
    CHECK(text != NULL);
    if (!text) return;
    int checked = 0;
    for (int k = 0; k < 200 && checked < 12; k++) {
        int32_t id = (int32_t)(test_rng_u64(rng) % (uint64_t)below);
        const tok_str *t = &s->vocab[id];
        char needle[256];
        size_t n = 0;
        int plain = 1;
        needle[n++] = '"';
        for (size_t i = 0; i < t->len && n < 200; i++) {
            unsigned char c = (unsigned char)t->s[i];
            if (c < 0x20 || c == 0x7f) plain = 0;
            if (c == '"' || c == '\\') needle[n++] = '\\';
            needle[n++] = (char)c;
        }
        if (!plain || t->len > 150) continue;
        n += (size_t)snprintf(needle + n, sizeof needle - n, "\": %d", id);
        needle[n] = 0;
        const char *hit = strstr(text, needle);
        CHECKF(hit && (hit[n] == ',' || hit[n] == '\n' || hit[n] == '\r' || hit[n] == '}'),
               "id %d: %s not in %s", id, needle, file);
        checked++;
    }
    CHECK(checked >= 5);
    free(text);
}

static void test_llama2(uint64_t *rng) {
    char *p = test_path("models/tiny-llama2/tokenizer.json");
    char *c = test_path("models/tiny-llama2/tokenizer_config.json");
    if (!p || !c) {
        free(p);
        free(c);
        return;
    }
    tok_spec s;
    vkllm_status st = tok_spec_from_hf_json(p, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    if (st != VKLLM_OK) goto out;
    CHECK(s.model == TOK_MODEL_BPE);
    CHECK(s.scores == NULL);
    CHECK(s.n_vocab == 32000);
    CHECK(str_is(&s.vocab[0], "<unk>") && str_is(&s.vocab[1], "<s>") && str_is(&s.vocab[2], "</s>"));
    CHECK(str_is(&s.vocab[3], "<0x00>") && str_is(&s.vocab[13], "<0x0A>"));
    CHECK(str_is(&s.vocab[100], "<0x61>"));
    CHECK(str_is(&s.vocab[272], "\xe2\x96\x81the"));
    CHECK(str_is(&s.vocab[1000], "ла"));
    CHECK(str_is(&s.vocab[31999], "梦"));
    CHECK(str_is(&s.vocab[21558], "hello"));
    CHECK(s.attrs && s.attrs[13] == TOK_ATTR_BYTE && s.attrs[3] == TOK_ATTR_BYTE);
    CHECK(s.attrs && s.attrs[0] == TOK_ATTR_UNKNOWN && s.attrs[1] == TOK_ATTR_CONTROL);
    CHECK(s.attrs && s.attrs[272] == TOK_ATTR_NORMAL);
    CHECK(s.byte_fallback == 1 && s.fuse_unk == 1 && s.ignore_merges == 0);
    CHECK(s.unk_id == 0);
    CHECK(s.n_merges == 58980);
    CHECK(merge_is(&s, 0, "\xe2\x96\x81", "t"));
    CHECK(merge_is(&s, 1, "i", "n"));
    CHECK(merge_is(&s, 100, "\xe2\x96\x81" "b", "e"));
    CHECK(merge_is(&s, 58979, "\xe2\x96\x81",
                   "\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81"
                   "\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81"));
    CHECK(s.n_added == 3);
    CHECK(s.n_added == 3 && s.added[1].id == 1 && str_is(&s.added[1].content, "<s>") &&
          s.added[1].special && !s.added[1].normalized && !s.added[1].lstrip);
    CHECK(s.n_norm == 2);
    CHECK(s.n_norm == 2 && s.norm[0].kind == TOK_NORM_PREPEND &&
          str_is(&s.norm[0].content, "\xe2\x96\x81"));
    CHECK(s.n_norm == 2 && s.norm[1].kind == TOK_NORM_REPLACE && str_is(&s.norm[1].pattern, " ") &&
          str_is(&s.norm[1].content, "\xe2\x96\x81"));
    CHECK(s.n_pre == 0);
    CHECK(s.n_dec == 4);
    if (s.n_dec == 4) {
        CHECK(s.dec[0].kind == TOK_DEC_REPLACE && str_is(&s.dec[0].pattern, "\xe2\x96\x81") &&
              str_is(&s.dec[0].content, " "));
        CHECK(s.dec[1].kind == TOK_DEC_BYTEFALLBACK);
        CHECK(s.dec[2].kind == TOK_DEC_FUSE);
        CHECK(s.dec[3].kind == TOK_DEC_STRIP && str_is(&s.dec[3].content, " ") &&
              s.dec[3].start == 1 && s.dec[3].stop == 0);
    }
    CHECK(s.add_bos == 1 && s.bos_id == 1 && s.add_eos == 0 && s.eos_id == -1);
    check_random_ids(p, &s, 32000, rng);
    st = tok_spec_apply_hf_config(c, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    CHECK(s.add_bos == 1 && s.bos_id == 1 && s.add_eos == 0 && s.eos_id == 2);
    CHECK(has_eog(&s, 2) && s.n_eog == 1);
    CHECK(s.pad_id == -1);
out:
    tok_spec_free(&s);
    CHECK(s.vocab == NULL && s.n_vocab == 0);
    free(p);
    free(c);
}

static const char *gpt_regex_tail =
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|%s| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static int regex_is(const tok_str *t, const char *digits) {
    char want[512];
    int n = snprintf(want, sizeof want, "(?i:'s|'t|'re|'ve|'m|'ll|'d)");
    snprintf(want + n, sizeof want - (size_t)n, gpt_regex_tail, digits);
    return str_is(t, want);
}

static void test_llama3(uint64_t *rng) {
    char *p = test_path("models/tiny-llama3/tokenizer.json");
    char *c = test_path("models/tiny-llama3/tokenizer_config.json");
    if (!p || !c) {
        free(p);
        free(c);
        return;
    }
    tok_spec s;
    vkllm_status st = tok_spec_from_hf_json(p, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    if (st != VKLLM_OK) goto out;
    CHECK(s.n_vocab == 128256);
    CHECK(str_is(&s.vocab[0], "!") && str_is(&s.vocab[13], ".") && str_is(&s.vocab[100], "§"));
    CHECK(str_is(&s.vocab[1000], "indow") && str_is(&s.vocab[279], "Ġthe"));
    CHECK(str_is(&s.vocab[15339], "hello"));
    CHECK(str_is(&s.vocab[128000], "<|begin_of_text|>"));
    CHECK(str_is(&s.vocab[128001], "<|end_of_text|>"));
    CHECK(str_is(&s.vocab[128009], "<|eot_id|>"));
    CHECK(str_is(&s.vocab[128255], "<|reserved_special_token_250|>"));
    CHECK(s.attrs && s.attrs[128000] == TOK_ATTR_CONTROL && s.attrs[128255] == TOK_ATTR_CONTROL);
    CHECK(s.attrs && s.attrs[279] == TOK_ATTR_NORMAL);
    CHECK(s.n_added == 256);
    CHECK(s.byte_fallback == 0 && s.ignore_merges == 1 && s.fuse_unk == 0 && s.unk_id == -1);
    CHECK(s.n_merges == 280147);
    CHECK(merge_is(&s, 0, "Ġ", "Ġ"));
    CHECK(merge_is(&s, 1, "Ġ", "ĠĠĠ"));
    CHECK(merge_is(&s, 100, "/", "/"));
    CHECK(merge_is(&s, 280146, "éĶ", "¦"));
    CHECK(s.n_norm == 0);
    CHECK(s.n_pre == 2);
    if (s.n_pre == 2) {
        CHECK(s.pre[0].kind == TOK_PRE_SPLIT && s.pre[0].behavior == TOK_SPLIT_ISOLATED &&
              !s.pre[0].invert);
        CHECK(regex_is(&s.pre[0].pattern, "\\p{N}{1,3}"));
        CHECK(s.pre[1].kind == TOK_PRE_BYTELEVEL && !s.pre[1].add_prefix_space &&
              s.pre[1].trim_offsets && !s.pre[1].use_regex);
    }
    CHECK(s.n_dec == 1 && s.dec[0].kind == TOK_DEC_BYTELEVEL && s.dec[0].add_prefix_space &&
          s.dec[0].use_regex);
    /* The post-processor is ByteLevel only: no BOS from tokenizer.json itself. */
    CHECK(s.add_bos == 0 && s.bos_id == -1 && s.eos_id == -1);
    CHECK(s.eot_id == 128009 && has_eog(&s, 128009));
    check_random_ids(p, &s, 128000, rng);
    st = tok_spec_apply_hf_config(c, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    /* reference.json's ids start with 128000: the Llama 3 BOS rule in apply_hf_config. */
    CHECK(s.bos_id == 128000 && s.add_bos == 1 && s.eos_id == 128001 && s.add_eos == 0);
    CHECK(has_eog(&s, 128001) && has_eog(&s, 128009) && s.n_eog == 2);
out:
    tok_spec_free(&s);
    free(p);
    free(c);
}

static void test_qwen2(uint64_t *rng) {
    char *p = test_path("models/tiny-qwen2/tokenizer.json");
    char *c = test_path("models/tiny-qwen2/tokenizer_config.json");
    if (!p || !c) {
        free(p);
        free(c);
        return;
    }
    tok_spec s;
    vkllm_status st = tok_spec_from_hf_json(p, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    if (st != VKLLM_OK) goto out;
    CHECK(s.n_vocab == 151669);
    CHECK(str_is(&s.vocab[1000], "atus") && str_is(&s.vocab[14990], "hello"));
    CHECK(str_is(&s.vocab[128244], "<unk>"));
    CHECK(str_is(&s.vocab[151643], "<|endoftext|>") && str_is(&s.vocab[151645], "<|im_end|>"));
    CHECK(str_is(&s.vocab[151668], "</think>"));
    CHECK(s.n_added == 26);
    CHECK(s.attrs && s.attrs[151657] == TOK_ATTR_USER_DEFINED && s.attrs[151643] == TOK_ATTR_CONTROL);
    CHECK(s.attrs && s.attrs[128244] == TOK_ATTR_NORMAL); /* "<unk>" is a plain token here */
    CHECK(s.n_merges == 151387);
    CHECK(merge_is(&s, 0, "Ġ", "Ġ") && merge_is(&s, 1, "ĠĠ", "ĠĠ"));
    CHECK(merge_is(&s, 100, "Ġ", "C") && merge_is(&s, 151386, "â½", "Ĺ"));
    CHECK(s.ignore_merges == 0 && s.byte_fallback == 0 && s.unk_id == -1);
    CHECK(s.n_norm == 1 && s.norm[0].kind == TOK_NORM_NFC);
    CHECK(s.n_pre == 2);
    if (s.n_pre == 2) {
        CHECK(s.pre[0].kind == TOK_PRE_SPLIT && regex_is(&s.pre[0].pattern, "\\p{N}"));
        CHECK(s.pre[1].kind == TOK_PRE_BYTELEVEL && !s.pre[1].add_prefix_space &&
              !s.pre[1].trim_offsets && !s.pre[1].use_regex);
    }
    CHECK(s.n_dec == 1 && s.dec[0].kind == TOK_DEC_BYTELEVEL && !s.dec[0].add_prefix_space);
    CHECK(s.add_bos == 0 && s.bos_id == -1);
    CHECK(s.eot_id == 151645 && has_eog(&s, 151645) && has_eog(&s, 151643) && s.n_eog == 2);
    check_random_ids(p, &s, 151643, rng);
    st = tok_spec_apply_hf_config(c, &s);
    CHECKF(st == VKLLM_OK, "%s", vkllm_last_error());
    CHECK(s.add_bos == 0 && s.bos_id == -1 && s.eos_id == 151645 && s.pad_id == 151643);
    CHECK(s.n_eog == 2);
out:
    tok_spec_free(&s);
    free(p);
    free(c);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    test_llama2(&rng);
    test_llama3(&rng);
    test_qwen2(&rng);
    /* A missing tokenizer_config.json changes nothing. */
    tok_spec z;
    memset(&z, 0, sizeof z);
    z.bos_id = 7;
    CHECK(tok_spec_apply_hf_config("/nonexistent/tokenizer_config.json", &z) == VKLLM_OK);
    CHECK(z.bos_id == 7);
    tok_spec_free(&z);
    tok_spec_free(&z); /* zeroed spec */
    return test_finish();
}
