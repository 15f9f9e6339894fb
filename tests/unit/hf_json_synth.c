/* hf_json_synth.c — tokenizer.json features that the real test files do not
 * use: String split patterns, Digits/Punctuation/Whitespace/CharDelimiterSplit,
 * old-style Metaspace, Metaspace decoder, EOS templates, Sequence and Roberta
 * post-processors, added tokens past the model vocabulary, tokenizer_config
 * token objects. A random literal checks the String-pattern escaping. */
#include "testutil.h"
#include "tokenizer/tok_spec.h"

static char path[512], cfg[512];

static int str_is(const tok_str *t, const char *s) {
    return t->s && t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

static vkllm_status parse(const char *text, tok_spec *s) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    fputs(text, f);
    fclose(f);
    vkllm_status st = tok_spec_from_hf_json(path, s);
    if (st != VKLLM_OK) fprintf(stderr, "parse: %s\n", vkllm_last_error());
    return st;
}

static void test_steps(void) {
    tok_spec s;
    const char *text =
        "{\"added_tokens\":[{\"id\":4,\"content\":\"<|end|>\",\"special\":true},"
        "{\"id\":5,\"content\":\"<tool>\",\"special\":false,\"lstrip\":true,\"rstrip\":true,"
        "\"single_word\":true}],"
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},"
        "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"x\"}]}]},"
        "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
        "{\"type\":\"Split\",\"pattern\":{\"String\":\"a.b(\\\\\"},\"behavior\":\"MergedWithNext\","
        "\"invert\":true},"
        "{\"type\":\"Digits\",\"individual_digits\":true},{\"type\":\"Digits\"},"
        "{\"type\":\"Punctuation\",\"behavior\":\"Contiguous\"},{\"type\":\"Whitespace\"},"
        "{\"type\":\"WhitespaceSplit\"},{\"type\":\"CharDelimiterSplit\",\"delimiter\":\"|\"},"
        "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"add_prefix_space\":false},"
        "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"first\",\"split\":false},"
        "{\"type\":\"ByteLevel\"}]},"
        "\"decoder\":{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"always\"},"
        "\"post_processor\":{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},"
        "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
        "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
        "\"special_tokens\":{\"</s>\":{\"id\":\"</s>\",\"ids\":[3],\"tokens\":[\"</s>\"]}}}]},"
        "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":true,"
        "\"vocab\":{\"<unk>\":0,\"<0x41>\":1,\"<0x4g>\":2,\"</s>\":3},\"merges\":[]}}";
    CHECK(parse(text, &s) == VKLLM_OK);
    CHECK(s.n_vocab == 6 && str_is(&s.vocab[4], "<|end|>") && str_is(&s.vocab[5], "<tool>"));
    CHECK(s.attrs[0] == TOK_ATTR_UNKNOWN && s.attrs[1] == TOK_ATTR_BYTE && s.attrs[2] == TOK_ATTR_NORMAL);
    CHECK(s.attrs[4] == TOK_ATTR_CONTROL && s.attrs[5] == TOK_ATTR_USER_DEFINED);
    CHECK(s.n_added == 2 && s.added[1].lstrip && s.added[1].rstrip && s.added[1].single_word &&
          !s.added[1].special && s.added[1].normalized); /* normalized defaults to !special */
    CHECK(s.unk_id == 0 && s.fuse_unk && s.byte_fallback && s.n_merges == 0);
    CHECK(s.n_norm == 2 && s.norm[0].kind == TOK_NORM_NFC && s.norm[1].kind == TOK_NORM_PREPEND &&
          str_is(&s.norm[1].content, "x"));
    CHECK(s.n_pre == 10);
    if (s.n_pre == 10) {
        CHECK(s.pre[0].kind == TOK_PRE_SPLIT && str_is(&s.pre[0].pattern, "a\\.b\\(\\\\") &&
              s.pre[0].behavior == TOK_SPLIT_MERGED_WITH_NEXT && s.pre[0].invert);
        CHECK(str_is(&s.pre[1].pattern, "\\p{N}") && s.pre[1].behavior == TOK_SPLIT_ISOLATED);
        CHECK(str_is(&s.pre[2].pattern, "\\p{N}+"));
        CHECK(s.pre[3].kind == TOK_PRE_SPLIT && s.pre[3].behavior == TOK_SPLIT_CONTIGUOUS);
        CHECK(str_is(&s.pre[4].pattern, "\\w+|[^\\w\\s]+") && s.pre[4].invert &&
              s.pre[4].behavior == TOK_SPLIT_REMOVED);
        CHECK(str_is(&s.pre[5].pattern, "\\s+") && s.pre[5].behavior == TOK_SPLIT_REMOVED);
        CHECK(str_is(&s.pre[6].pattern, "\\|") && s.pre[6].behavior == TOK_SPLIT_REMOVED);
        CHECK(s.pre[7].kind == TOK_PRE_METASPACE && s.pre[7].prepend_scheme == TOK_PREPEND_NEVER &&
              s.pre[7].split && str_is(&s.pre[7].content, "\xe2\x96\x81"));
        CHECK(s.pre[8].prepend_scheme == TOK_PREPEND_FIRST && !s.pre[8].split &&
              str_is(&s.pre[8].content, "_"));
        CHECK(s.pre[9].kind == TOK_PRE_BYTELEVEL && s.pre[9].add_prefix_space &&
              s.pre[9].use_regex && s.pre[9].trim_offsets); /* defaults when absent */
    }
    CHECK(s.n_dec == 1 && s.dec[0].kind == TOK_DEC_METASPACE &&
          s.dec[0].prepend_scheme == TOK_PREPEND_ALWAYS && str_is(&s.dec[0].content, "_"));
    CHECK(s.add_bos == 0 && s.bos_id == -1 && s.add_eos == 1 && s.eos_id == 3);
    CHECK(s.eot_id == 4 && s.n_eog == 2 && s.eog_ids[0] == 3 && s.eog_ids[1] == 4);

    /* tokenizer_config.json: token objects, overrides, eos joins the end-of-generation ids. */
    FILE *f = fopen(cfg, "wb");
    if (!f) exit(1);
    fputs("{\"add_eos_token\":false,\"add_bos_token\":true,\"bos_token\":{\"content\":\"<tool>\","
          "\"lstrip\":false},\"eos_token\":\"<unk>\",\"pad_token\":\"<0x41>\","
          "\"model_max_length\":1000000000000000019884624838656}", f);
    fclose(f);
    CHECKF(tok_spec_apply_hf_config(cfg, &s) == VKLLM_OK, "%s", vkllm_last_error());
    CHECK(s.add_bos == 1 && s.bos_id == 5 && s.add_eos == 0 && s.eos_id == 0 && s.pad_id == 1);
    CHECK(s.n_eog == 3 && s.eog_ids[2] == 0);
    tok_spec_free(&s);
    remove(cfg);
}

static void test_roberta(void) {
    tok_spec s;
    CHECK(parse("{\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],"
                "\"cls\":[\"<s>\",1],\"trim_offsets\":true,\"add_prefix_space\":false},"
                "\"model\":{\"vocab\":{\"a\":0,\"<s>\":1,\"</s>\":2},\"merges\":[]}}",
                &s) == VKLLM_OK);
    CHECK(s.add_bos && s.bos_id == 1 && s.add_eos && s.eos_id == 2 && s.model == TOK_MODEL_BPE);
    tok_spec_free(&s);
}

/* A random printable-ASCII String pattern becomes a regex with every punctuation escaped. */
static void test_literal_escape(uint64_t *rng) {
    for (int it = 0; it < 20; it++) {
        char lit[17], json_lit[40], text[1024];
        size_t jn = 0;
        for (int i = 0; i < 16; i++) {
            char c = (char)(0x21 + test_rng_u64(rng) % 94);
            lit[i] = c;
            if (c == '"' || c == '\\') json_lit[jn++] = '\\';
            json_lit[jn++] = c;
        }
        lit[16] = 0;
        json_lit[jn] = 0;
        snprintf(text, sizeof text,
                 "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"%s\"},"
                 "\"behavior\":\"Removed\",\"invert\":false},"
                 "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", json_lit);
        tok_spec s;
        if (parse(text, &s) != VKLLM_OK) {
            CHECK(0);
            continue;
        }
        CHECK(s.n_pre == 1);
        /* Undo the escaping by hand: each non-alphanumeric must come after a backslash. */
        const tok_str *p = &s.pre[0].pattern;
        char back[17];
        size_t k = 0, i = 0;
        int ok = 1;
        while (i < p->len && k < 16) {
            char c = p->s[i];
            int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!alnum) {
                if (c != '\\' || i + 1 >= p->len) { ok = 0; break; }
                c = p->s[++i];
            }
            back[k++] = c;
            i++;
        }
        back[k] = 0;
        CHECKF(ok && i == p->len && strcmp(back, lit) == 0, "literal %s -> %.*s", lit,
               (int)p->len, p->s);
        tok_spec_free(&s);
    }
}

int main(void) {
    const char *tmp = getenv("VKLLM_TMP");
    if (!tmp || !*tmp) tmp = "/tmp";
    snprintf(path, sizeof path, "%s/hf_json_synth_tokenizer.json", tmp);
    snprintf(cfg, sizeof cfg, "%s/hf_json_synth_tokenizer_config.json", tmp);
    uint64_t rng = test_seed() | 1;
    test_steps();
    test_roberta();
    test_literal_escape(&rng);
    remove(path);
    return test_finish();
}
