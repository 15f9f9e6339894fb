/* hf_json_bad.c — malformed or unsupported tokenizer.json / tokenizer_config.json
 * files: each must fail with the right status and a message naming the file
 * and the JSON path, without leaks; plus allocation-failure injection and
 * random byte mutations of a valid file. */
#include "core/mem.h"
#include "testutil.h"
#include "tokenizer/tok_spec.h"

static char path_json[512], path_cfg[512];

static void write_file(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fwrite(text, 1, n, f);
    fclose(f);
}

/* A small valid file; %s slots: vocab extra, merges, added tokens, pipeline members. */
static const char *base_fmt =
    "{\"version\":\"1.0\",\"added_tokens\":%s,"
    "\"normalizer\":%s,\"pre_tokenizer\":%s,\"decoder\":%s,\"post_processor\":%s,"
    "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"byte_fallback\":false,"
    "\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"<s>\":3%s},\"merges\":%s}}";

#define ADDED_OK "[{\"id\":3,\"content\":\"<s>\",\"special\":true}]"
#define POST_OK                                                                                    \
    "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"  \
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\","      \
    "\"ids\":[3],\"tokens\":[\"<s>\"]}}}"

typedef struct variant {
    const char *added, *norm, *pre, *dec, *post, *vocab_extra, *merges;
} variant;

static void build(const variant *v, char *out, size_t cap) {
    snprintf(out, cap, base_fmt, v->added ? v->added : ADDED_OK, v->norm ? v->norm : "null",
             v->pre ? v->pre : "null", v->dec ? v->dec : "null", v->post ? v->post : POST_OK,
             v->vocab_extra ? v->vocab_extra : "", v->merges ? v->merges : "[\"a b\"]");
}

/* Parses text; expects status want and a message holding the path and `needle`. */
static void expect_text(const char *text, size_t n, vkllm_status want, const char *needle, int line) {
    write_file(path_json, text, n);
    tok_spec s;
    vkllm_status st = tok_spec_from_hf_json(path_json, &s);
    const char *msg = vkllm_last_error();
    CHECKF(st == want, "line %d: status %d, want %d (%s)", line, st, want, msg);
    if (st != VKLLM_OK) {
        CHECKF(strstr(msg, path_json) != NULL, "line %d: message lacks the file: %s", line, msg);
        CHECKF(!needle || strstr(msg, needle), "line %d: message lacks '%s': %s", line, needle, msg);
        CHECK(s.vocab == NULL && s.n_vocab == 0 && s.n_merges == 0 && s.norm == NULL);
    }
    tok_spec_free(&s);
}

static void expect(const variant *v, vkllm_status want, const char *needle, int line) {
    char text[8192];
    build(v, text, sizeof text);
    expect_text(text, strlen(text), want, needle, line);
}

#define BAD(want, needle, ...)                                                                     \
    do {                                                                                           \
        variant v_ = {__VA_ARGS__};                                                                \
        expect(&v_, want, needle, __LINE__);                                                       \
    } while (0)
#define BAD_TEXT(want, needle, text) expect_text(text, strlen(text), want, needle, __LINE__)

static void test_json_level(void) {
    BAD(VKLLM_OK, NULL, 0);
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON", "{\"model\": ");
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON", "");
    BAD_TEXT(VKLLM_ERR_FORMAT, "top level", "[1, 2]");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model: missing", "{\"version\":\"1.0\"}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model: missing", "{\"model\": 5}");
    BAD_TEXT(VKLLM_ERR_UNSUPPORTED, "Unigram", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}");
    BAD_TEXT(VKLLM_ERR_UNSUPPORTED, "WordPiece", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model: \"type\" is not a string", "{\"model\":{\"type\":5}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model.vocab: not an object",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model.vocab: no tokens",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}");
    /* Duplicate keys, invalid UTF-8 bytes, a lone surrogate escape. */
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"a\":1},\"merges\":[]}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\xff\":0},\"merges\":[]}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\udc00\":0},\"merges\":[]}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "bad JSON",
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"\xc0\xaf b\"]}}");
    /* Missing file. */
    tok_spec s;
    CHECK(tok_spec_from_hf_json("/nonexistent/tokenizer.json", &s) == VKLLM_ERR_IO);
    tok_spec_free(&s);
}

static void test_model(void) {
    BAD(VKLLM_ERR_FORMAT, "model.vocab", .vocab_extra = ",\"c\":\"5\"");
    BAD(VKLLM_ERR_FORMAT, "model.vocab", .vocab_extra = ",\"c\":-1");
    BAD(VKLLM_ERR_FORMAT, "model.vocab", .vocab_extra = ",\"c\":99999999999");
    BAD(VKLLM_ERR_FORMAT, "model.vocab", .vocab_extra = ",\"c\":4.5");
    BAD(VKLLM_ERR_FORMAT, "id 1 given to", .vocab_extra = ",\"c\":1");
    BAD(VKLLM_ERR_FORMAT, "no token has id 4", .vocab_extra = ",\"c\":5");
    BAD(VKLLM_ERR_FORMAT, "model.merges: not an array", .merges = "{}");
    BAD(VKLLM_ERR_FORMAT, "model.merges[1]: expected \"a b\" or [a, b]", .merges = "[\"a b\",\"ab\"]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: expected", .merges = "[\"a  b\"]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: expected", .merges = "[[\"a\"]]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: expected", .merges = "[[1, 2]]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: expected", .merges = "[5]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: empty", .merges = "[\" b\"]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[1]: \"c\" is not in the vocabulary",
        .merges = "[\"a b\",\"a c\"]");
    BAD(VKLLM_ERR_FORMAT, "model.merges[0]: merged \"ba\"", .merges = "[[\"b\",\"a\"]]");
    BAD(VKLLM_OK, NULL, .merges = "[[\"a\",\"b\"]]");
    /* Added tokens. */
    BAD(VKLLM_ERR_FORMAT, "added_tokens: not an array", .added = "{}");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: not an object", .added = "[3]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: \"id\"", .added = "[{\"id\":-1,\"content\":\"x\"}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: \"id\"",
        .added = "[{\"id\":16777216,\"content\":\"x\"}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: \"id\"", .added = "[{\"content\":\"x\"}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[1]: id 3 repeats",
        .added = "[{\"id\":3,\"content\":\"<s>\"},{\"id\":3,\"content\":\"x\"}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: \"content\" is not a string",
        .added = "[{\"id\":3,\"content\":7}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: empty", .added = "[{\"id\":3,\"content\":\"\"}]");
    BAD(VKLLM_ERR_FORMAT, "added_tokens[0]: \"special\" is not a boolean",
        .added = "[{\"id\":3,\"content\":\"<s>\",\"special\":1}]");
    /* An added token past the vocabulary must leave no hole. */
    BAD(VKLLM_ERR_FORMAT, "no token has id 4", .added = "[{\"id\":5,\"content\":\"x\"}]");
    BAD(VKLLM_OK, NULL, .added = "[{\"id\":4,\"content\":\"x\"}]", .post = "null");
    /* Model options. */
    BAD_TEXT(VKLLM_ERR_UNSUPPORTED, "dropout",
             "{\"model\":{\"type\":\"BPE\",\"dropout\":0.1,\"vocab\":{\"a\":0},\"merges\":[]}}");
    BAD_TEXT(VKLLM_ERR_UNSUPPORTED, "continuing_subword_prefix",
             "{\"model\":{\"type\":\"BPE\",\"continuing_subword_prefix\":\"##\",\"vocab\":{\"a\":0}}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "model: \"byte_fallback\" is not a boolean",
             "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":\"yes\",\"vocab\":{\"a\":0}}}");
    BAD_TEXT(VKLLM_ERR_FORMAT, "unk_token \"<unk>\" is not in the vocabulary",
             "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"a\":0}}}");
}

static void test_pipeline(void) {
    BAD(VKLLM_ERR_UNSUPPORTED, "normalizer: normalizer type \"NFKC\"", .norm = "{\"type\":\"NFKC\"}");
    BAD(VKLLM_ERR_UNSUPPORTED, "\"Lowercase\"",
        .norm = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Lowercase\"}]}");
    BAD(VKLLM_ERR_UNSUPPORTED, "\"Bogus\"", .norm = "{\"type\":\"Bogus\"}");
    BAD(VKLLM_ERR_FORMAT, "normalizer: missing string \"type\"", .norm = "{}");
    BAD(VKLLM_ERR_FORMAT, "normalizer: expected an object", .norm = "[1]");
    BAD(VKLLM_ERR_UNSUPPORTED, "Regex",
        .norm = "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" +\"},\"content\":\" \"}");
    BAD(VKLLM_ERR_FORMAT, "normalizer: \"pattern\"",
        .norm = "{\"type\":\"Replace\",\"pattern\":\" \",\"content\":\" \"}");
    BAD(VKLLM_ERR_FORMAT, "normalizer: missing string \"content\"",
        .norm = "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"}}");
    BAD(VKLLM_ERR_FORMAT, "normalizer: \"normalizers\" is not an array",
        .norm = "{\"type\":\"Sequence\",\"normalizers\":{}}");
    BAD(VKLLM_ERR_FORMAT, "normalizer.normalizers[1]: \"prepend\" is not a string",
        .norm = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},"
                "{\"type\":\"Prepend\",\"prepend\":5}]}");
    BAD(VKLLM_ERR_UNSUPPORTED, "nested deeper",
        .norm = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                "{\"type\":\"Sequence\",\"normalizers\":[]}]}]}]}]}]}]}]}]}");
    BAD(VKLLM_ERR_UNSUPPORTED, "pre_tokenizer: pre-tokenizer type \"BertPreTokenizer\"",
        .pre = "{\"type\":\"BertPreTokenizer\"}");
    BAD(VKLLM_ERR_FORMAT, "pre_tokenizer.pretokenizers[0]: unknown split behavior \"Bogus\"",
        .pre = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
               "\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Bogus\",\"invert\":false}]}");
    BAD(VKLLM_ERR_FORMAT, "pre_tokenizer: \"pattern\"",
        .pre = "{\"type\":\"Split\",\"behavior\":\"Isolated\",\"invert\":false}");
    BAD(VKLLM_ERR_FORMAT, "pre_tokenizer: \"pattern\"",
        .pre = "{\"type\":\"Split\",\"pattern\":{\"Glob\":\"a\"},\"behavior\":\"Isolated\"}");
    BAD(VKLLM_ERR_FORMAT, "\"invert\" is not a boolean",
        .pre = "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Isolated\","
               "\"invert\":0}");
    BAD(VKLLM_ERR_FORMAT, "unknown prepend_scheme \"sometimes\"",
        .pre = "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}");
    BAD(VKLLM_ERR_FORMAT, "\"replacement\" must be one character",
        .pre = "{\"type\":\"Metaspace\",\"replacement\":\"ab\",\"prepend_scheme\":\"always\"}");
    BAD(VKLLM_ERR_FORMAT, "pre_tokenizer: \"add_prefix_space\" is not a boolean",
        .pre = "{\"type\":\"ByteLevel\",\"add_prefix_space\":\"no\"}");
    BAD(VKLLM_ERR_UNSUPPORTED, "decoder: decoder type \"WordPiece\"",
        .dec = "{\"type\":\"WordPiece\",\"prefix\":\"##\"}");
    BAD(VKLLM_ERR_FORMAT, "decoder.decoders[0]: \"start\"",
        .dec = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Strip\",\"content\":\" \","
               "\"start\":-1,\"stop\":0}]}");
    BAD(VKLLM_ERR_FORMAT, "decoder: \"stop\"",
        .dec = "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":\"0\"}");
    BAD(VKLLM_ERR_UNSUPPORTED, "Regex",
        .dec = "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"x\"},\"content\":\" \"}");
    BAD(VKLLM_ERR_UNSUPPORTED, "post-processor type \"Bogus\"", .post = "{\"type\":\"Bogus\"}");
    BAD(VKLLM_ERR_FORMAT, "post_processor.special_tokens[\"<s>\"]: ids[0]",
        .post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}},"
                "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[4]}}}");
    BAD(VKLLM_ERR_UNSUPPORTED, "2 ids",
        .post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}},"
                "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[3,3]}}}");
    BAD(VKLLM_ERR_FORMAT, "special_tokens[\"<x>\"]: missing",
        .post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<x>\"}},"
                "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{}}");
    BAD(VKLLM_ERR_FORMAT, "post_processor.processors[1]: single template lacks sequence A",
        .post = "{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},"
                "{\"type\":\"TemplateProcessing\",\"single\":[],\"special_tokens\":{}}]}");
    BAD(VKLLM_ERR_FORMAT, "post_processor.single[0]: expected",
        .post = "{\"type\":\"TemplateProcessing\",\"single\":[\"<s>\"],\"special_tokens\":{}}");
}

static void write_json_ok(void) {
    char text[8192];
    variant v = {0};
    build(&v, text, sizeof text);
    write_file(path_json, text, strlen(text));
}

static void expect_cfg(const char *cfg, vkllm_status want, const char *needle, int line) {
    tok_spec s;
    write_json_ok();
    CHECK(tok_spec_from_hf_json(path_json, &s) == VKLLM_OK);
    write_file(path_cfg, cfg, strlen(cfg));
    vkllm_status st = tok_spec_apply_hf_config(path_cfg, &s);
    const char *msg = vkllm_last_error();
    CHECKF(st == want, "line %d: status %d, want %d (%s)", line, st, want, msg);
    if (st != VKLLM_OK) {
        CHECKF(strstr(msg, path_cfg) && (!needle || strstr(msg, needle)),
               "line %d: message lacks the file or '%s': %s", line, needle, msg);
        /* a failed config leaves the settings as tokenizer.json gave them */
        CHECK(s.bos_id == 3 && s.add_bos == 1 && s.eos_id == -1 && s.add_eos == 0 && s.n_eog == 0);
    }
    tok_spec_free(&s);
}

static void test_config(void) {
    expect_cfg("{\"add_bos_token\": false, \"eos_token\": {\"content\": \"ab\"}}", VKLLM_OK, NULL,
               __LINE__);
    expect_cfg("{\"add_bos_token\": ", VKLLM_ERR_FORMAT, "bad JSON", __LINE__);
    expect_cfg("[]", VKLLM_ERR_FORMAT, "top level", __LINE__);
    expect_cfg("{\"add_bos_token\": \"yes\"}", VKLLM_ERR_FORMAT, "add_bos_token", __LINE__);
    expect_cfg("{\"eos_token\": \"ab\", \"bos_token\": \"<zz>\"}", VKLLM_ERR_FORMAT,
               "bos_token: \"<zz>\" is not in the vocabulary", __LINE__);
    expect_cfg("{\"eos_token\": {\"content\": 5}}", VKLLM_ERR_FORMAT, "eos_token", __LINE__);
    expect_cfg("{\"eos_token\": 5}", VKLLM_ERR_FORMAT, "eos_token", __LINE__);
    expect_cfg("{\"add_eos_token\": true}", VKLLM_ERR_FORMAT, "no EOS token", __LINE__);
}

/* Allocation failure at every point must give NOMEM (or OK past the last) and no leak. */
static void test_nomem(void) {
    write_json_ok();
    int done = 0;
    for (long k = 0; k < 2000 && !done; k++) {
        tok_spec s;
        mem_fail_after(k);
        vkllm_status st = tok_spec_from_hf_json(path_json, &s);
        mem_fail_after(-1);
        CHECKF(st == VKLLM_OK || st == VKLLM_ERR_NOMEM, "fail after %ld: %d %s", k, st,
               vkllm_last_error());
        if (st == VKLLM_OK) {
            done = 1;
            CHECK(s.n_vocab == 4 && s.n_merges == 1);
        }
        tok_spec_free(&s);
    }
    CHECK(done);
}

/* Random byte edits of a valid file: any status, but a message and a clean spec on failure. */
static void test_mutations(void) {
    char text[8192];
    variant v = {.norm = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\","
                         "\"prepend\":\"_\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
                         "\"content\":\"_\"}]}",
                 .dec = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},"
                        "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
                 .pre = "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":true}"};
    build(&v, text, sizeof text);
    size_t n = strlen(text);
    uint64_t rng = test_seed() | 1;
    static const char alphabet[] = "{}[]\",:0123456789 abtrue-\\\x80\xff";
    for (int it = 0; it < 300; it++) {
        char m[8192];
        memcpy(m, text, n);
        int edits = 1 + (int)(test_rng_u64(&rng) % 3);
        for (int e = 0; e < edits; e++)
            m[test_rng_u64(&rng) % n] = alphabet[test_rng_u64(&rng) % (sizeof alphabet - 1)];
        write_file(path_json, m, n);
        tok_spec s;
        vkllm_status st = tok_spec_from_hf_json(path_json, &s);
        if (st != VKLLM_OK) {
            CHECK(st == VKLLM_ERR_FORMAT || st == VKLLM_ERR_UNSUPPORTED);
            CHECK(strstr(vkllm_last_error(), path_json) != NULL);
            CHECK(s.vocab == NULL);
        } else {
            CHECK(s.n_vocab >= 1 && s.vocab != NULL);
        }
        tok_spec_free(&s);
    }
}

int main(void) {
    const char *tmp = getenv("VKLLM_TMP");
    if (!tmp || !*tmp) tmp = "/tmp";
    snprintf(path_json, sizeof path_json, "%s/hf_json_bad_tokenizer.json", tmp);
    snprintf(path_cfg, sizeof path_cfg, "%s/hf_json_bad_tokenizer_config.json", tmp);
    test_json_level();
    test_model();
    test_pipeline();
    test_config();
    test_nomem();
    test_mutations();
    remove(path_json);
    remove(path_cfg);
    return test_finish();
}
