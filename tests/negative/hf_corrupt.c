/* hf_corrupt — malformed safetensors files and shard indexes, bad config.json
 * / generation_config.json, and broken llama2.c checkpoints, all written by the
 * test under $VKLLM_TMP. Each must fail with the right status and a message
 * naming the problem (and leak nothing under ASan); a few odd-but-valid inputs
 * (overlapping tensors, unknown dtypes) must load. Allocation failures are
 * injected into every allocation of an open, which must return NOMEM. */
#include <jansson.h>
#include <unistd.h>

#include "core/dtype.h"
#include "core/mem.h"
#include "format/hf_config.h"
#include "format/llama2c.h"
#include "format/safetensors.h"
#include "hf_testutil.h"
#include "testutil.h"

static char *dir; /* scratch folder */

static void expect(const char *what, vkllm_status st, vkllm_status want, const char *substr) {
    fprintf(stderr, "[%s] %s\n", what, vkllm_last_error());
    CHECKF(st == want, "%s: status %s, want %s (%s)", what, vkllm_status_str(st),
           vkllm_status_str(want), vkllm_last_error());
    if (substr)
        CHECKF(strstr(vkllm_last_error(), substr) != NULL, "%s: message '%s' lacks '%s'", what,
               vkllm_last_error(), substr);
}

/* ---- single safetensors files ---------------------------------------- */

static void st_case(const char *what, const char *json, uint64_t hlen, size_t n_data,
                    vkllm_status want, const char *substr) {
    static uint8_t data[64];
    const char *path = join(dir, "t.safetensors");
    CHECK(write_st_raw(path, json, hlen, data, n_data) == 0);
    safetensors *s = (safetensors *)&data; /* must be reset to NULL on failure */
    vkllm_status st = safetensors_open_file(path, &s);
    expect(what, st, want, substr);
    if (st != VKLLM_OK)
        CHECK(s == NULL);
    else
        safetensors_close(s);
}

static void check_safetensors_files(void) {
    st_case("bad JSON", "{\"a\": {\"dtype\": ", 0, 0, VKLLM_ERR_FORMAT, "bad JSON");
    st_case("header length past end", "{}", 1000, 8, VKLLM_ERR_FORMAT, "past end of file");
    st_case("header not an object", "[1, 2]", 0, 0, VKLLM_ERR_FORMAT, "not an object");
    st_case("entry not an object", "{\"a\": 3}", 0, 0, VKLLM_ERR_FORMAT,
            "'a': entry is not an object");
    st_case("offsets past end",
            "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}}", 0, 12,
            VKLLM_ERR_FORMAT, "data end 16 past end of data buffer (12)");
    st_case("shape/size mismatch",
            "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 0, 8,
            VKLLM_ERR_FORMAT, "need 12 bytes but data_offsets span 8");
    st_case("begin > end", "{\"w\": {\"dtype\": \"F16\", \"shape\": [], \"data_offsets\": [4, 2]}}",
            0, 8, VKLLM_ERR_FORMAT, "begin 4 > end 2");
    st_case("negative dim",
            "{\"w\": {\"dtype\": \"F16\", \"shape\": [-1], \"data_offsets\": [0, 2]}}", 0, 8,
            VKLLM_ERR_FORMAT, "shape[0]");
    st_case(
        "rank 9",
        "{\"w\": {\"dtype\": \"F16\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 2]}}",
        0, 8, VKLLM_ERR_FORMAT, "rank 9");
    st_case("element count overflow",
            "{\"w\": {\"dtype\": \"F16\", \"shape\": [4294967296, 4294967296, 2], "
            "\"data_offsets\": [0, 2]}}",
            0, 8, VKLLM_ERR_FORMAT, "overflows");
    st_case("byte size overflow",
            "{\"w\": {\"dtype\": \"F64\", \"shape\": [4611686018427387904], "
            "\"data_offsets\": [0, 8]}}",
            0, 8, VKLLM_ERR_FORMAT, "overflows");
    st_case("missing dtype", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 2]}}", 0, 8,
            VKLLM_ERR_FORMAT, "dtype missing");
    st_case("dtype not a string",
            "{\"w\": {\"dtype\": 1, \"shape\": [1], \"data_offsets\": [0, 2]}}", 0, 8,
            VKLLM_ERR_FORMAT, "dtype missing or not a string");
    st_case("missing shape", "{\"w\": {\"dtype\": \"F16\", \"data_offsets\": [0, 2]}}", 0, 8,
            VKLLM_ERR_FORMAT, "shape missing");
    st_case("bad data_offsets",
            "{\"w\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0]}}", 0, 8,
            VKLLM_ERR_FORMAT, "data_offsets must be");
    st_case("float offsets",
            "{\"w\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2.0]}}", 0, 8,
            VKLLM_ERR_FORMAT, "data_offsets are not non-negative integers");
    st_case("non-UTF-8 name",
            "{\"w\xff\xfe\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2]}}", 0, 8,
            VKLLM_ERR_FORMAT, "not valid UTF-8");
    st_case("empty name", "{\"\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2]}}",
            0, 8, VKLLM_ERR_FORMAT, "empty tensor name");
    st_case("duplicate name",
            "{\"w\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2]},"
            " \"w\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [2, 4]}}",
            0, 8, VKLLM_ERR_FORMAT, "duplicate");
    st_case("metadata only", "{\"__metadata__\": {\"format\": \"pt\"}}", 0, 0, VKLLM_OK, NULL);

    /* Shorter than the length field. */
    CHECK(write_text(join(dir, "t.safetensors"), "abc") == 0);
    safetensors *s = NULL;
    expect("3-byte file", safetensors_open_file(join(dir, "t.safetensors"), &s), VKLLM_ERR_FORMAT,
           "too small");
    expect("absent file", safetensors_open_file(join(dir, "absent.safetensors"), &s), VKLLM_ERR_IO,
           "cannot open");

    /* A header length above 100 MB in a (sparse) file large enough to hold it. */
    uint64_t big = 100ull * 1000 * 1000 + 1;
    CHECK(write_st_raw(join(dir, "t.safetensors"), "{", big, NULL, 0) == 0);
    CHECK(truncate(join(dir, "t.safetensors"), (off_t)(8 + big)) == 0);
    expect("header over 100 MB", safetensors_open_file(join(dir, "t.safetensors"), &s),
           VKLLM_ERR_FORMAT, "exceeds");
    remove(join(dir, "t.safetensors"));

    /* Overlapping tensors and unknown dtypes are accepted; the dtype is
     * reported by name for the loader to refuse. */
    static const uint8_t data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    CHECK(
        write_st_raw(join(dir, "t.safetensors"),
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                     " \"b\": {\"dtype\": \"BF16\", \"shape\": [2, 2], \"data_offsets\": [4, 12]},"
                     " \"ids\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [8, 16]},"
                     " \"q\": {\"dtype\": \"F4_X9\", \"shape\": [3], \"data_offsets\": [0, 2]},"
                     " \"__metadata__\": {\"format\": \"pt\"}}",
                     0, data, sizeof data) == 0);
    CHECKF(safetensors_open_file(join(dir, "t.safetensors"), &s) == VKLLM_OK, "%s",
           vkllm_last_error());
    if (s) {
        CHECK(safetensors_n_tensors(s) == 4);
        const st_tensor *a = safetensors_find(s, "a"), *b = safetensors_find(s, "b");
        const st_tensor *ids = safetensors_find(s, "ids"), *q = safetensors_find(s, "q");
        CHECK(a && b && ids && q);
        CHECK(safetensors_find(s, "__metadata__") == NULL);
        if (a && b && ids && q) {
            CHECK(a->type == DTYPE_F32 && b->type == DTYPE_BF16);
            CHECK((const uint8_t *)b->data - (const uint8_t *)a->data == 4);
            CHECK(memcmp(b->data, data + 4, 8) == 0);
            CHECK(ids->type == UINT32_MAX && strcmp(ids->type_name, "I64") == 0);
            CHECK(ids->nbytes == 8 && memcmp(ids->data, data + 8, 8) == 0);
            CHECK(q->type == UINT32_MAX && strcmp(q->type_name, "F4_X9") == 0 && q->nbytes == 2);
        }
        safetensors_close(s);
    }
    safetensors_close(NULL);
}

/* ---- sharded folders ---------------------------------------------------- */

static const char one_a[] =
    "{\"a\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}";
static const char one_b[] =
    "{\"b\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}";

static void shard_case(const char *what, const char *index, vkllm_status want, const char *substr) {
    static const uint8_t data[4] = {1, 2, 3, 4};
    char *sd = tmp_dir("hf_corrupt_shards");
    CHECK(write_st_raw(join(sd, "s1.safetensors"), one_a, 0, data, 4) == 0);
    CHECK(write_st_raw(join(sd, "s2.safetensors"), one_b, 0, data, 4) == 0);
    CHECK(write_st_raw(join(sd, "dup.safetensors"), one_a, 0, data, 4) == 0);
    CHECK(write_text(join(sd, "model.safetensors.index.json"), index) == 0);
    safetensors *s = NULL;
    vkllm_status st = safetensors_open_dir(sd, &s);
    expect(what, st, want, substr);
    if (st == VKLLM_OK) {
        CHECK(safetensors_n_tensors(s) == 2);
        CHECK(safetensors_find(s, "a") && safetensors_find(s, "b"));
    }
    safetensors_close(s);
    free(sd);
}

static void check_shards(void) {
    shard_case("valid index",
               "{\"metadata\": {}, \"weight_map\": {\"a\": \"s1.safetensors\", \"b\": "
               "\"s2.safetensors\"}}",
               VKLLM_OK, NULL);
    shard_case("missing shard",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s9.safetensors\"}}",
               VKLLM_ERR_IO, "s9.safetensors: cannot open");
    shard_case("index names a missing tensor",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\","
               " \"c\": \"s1.safetensors\"}}",
               VKLLM_ERR_FORMAT, "tensor 'c' not found in shard s1.safetensors");
    shard_case("tensor in another shard",
               "{\"weight_map\": {\"a\": \"s2.safetensors\", \"b\": \"s2.safetensors\"}}",
               VKLLM_ERR_FORMAT, "tensor 'a' not found in shard s2.safetensors");
    shard_case("shard name with ../", "{\"weight_map\": {\"a\": \"../s1.safetensors\"}}",
               VKLLM_ERR_FORMAT, "must be a plain file name");
    shard_case("shard name with a folder", "{\"weight_map\": {\"a\": \"sub/s1.safetensors\"}}",
               VKLLM_ERR_FORMAT, "must be a plain file name");
    shard_case("empty shard name", "{\"weight_map\": {\"a\": \"\"}}", VKLLM_ERR_FORMAT,
               "must be a plain file name");
    shard_case("shard name not a string", "{\"weight_map\": {\"a\": 1}}", VKLLM_ERR_FORMAT,
               "weight_map['a'] is not a string");
    shard_case("tensor in two shards",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\","
               " \"x\": \"dup.safetensors\"}}",
               VKLLM_ERR_FORMAT, "tensor 'a' appears in both");
    shard_case("no weight_map", "{\"metadata\": {}}", VKLLM_ERR_FORMAT, "weight_map missing");
    shard_case("empty weight_map", "{\"weight_map\": {}}", VKLLM_ERR_FORMAT, "weight_map is empty");
    shard_case("index bad JSON", "{\"weight_map\": ", VKLLM_ERR_FORMAT, "bad JSON");
    shard_case("index not an object", "[]", VKLLM_ERR_FORMAT, "not a JSON object");

    char *empty = tmp_dir("hf_corrupt_empty");
    safetensors *s = NULL;
    expect("no weights in folder", safetensors_open_dir(empty, &s), VKLLM_ERR_IO,
           "no model.safetensors");
    free(empty);
}

/* ---- config.json --------------------------------------------------------- */

static const char base_cfg[] =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": 1000,"
    " \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8,"
    " \"num_key_value_heads\": 2, \"intermediate_size\": 128, \"max_position_embeddings\": 2048,"
    " \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false,"
    " \"hidden_act\": \"silu\", \"bos_token_id\": 1, \"eos_token_id\": 2}";

/* base_cfg with key set to the JSON value (NULL: key removed). */
static void cfg_case(const char *what, const char *key, const char *value, vkllm_status want,
                     const char *substr) {
    char *cd = tmp_dir("hf_corrupt_cfg");
    json_t *root = json_loads(base_cfg, 0, NULL);
    if (value)
        json_object_set_new(root, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(root, key);
    CHECK(json_dump_file(root, join(cd, "config.json"), 0) == 0);
    json_decref(root);
    remove(join(cd, "generation_config.json"));
    model_config c;
    expect(what, hf_config_load(cd, &c), want, substr);
    free(cd);
}

static void check_configs(void) {
    cfg_case("base config", "vocab_size", "1000", VKLLM_OK, NULL);
    cfg_case("missing hidden_size", "hidden_size", NULL, VKLLM_ERR_FORMAT,
             "config.json: hidden_size: missing");
    cfg_case("missing vocab_size", "vocab_size", NULL, VKLLM_ERR_FORMAT, "vocab_size: missing");
    cfg_case("missing intermediate_size", "intermediate_size", NULL, VKLLM_ERR_FORMAT,
             "intermediate_size: missing");
    cfg_case("hidden_size a string", "hidden_size", "\"64\"", VKLLM_ERR_FORMAT,
             "config.json: hidden_size: not an integer");
    cfg_case("layers a float", "num_hidden_layers", "2.5", VKLLM_ERR_FORMAT,
             "num_hidden_layers: not an integer");
    cfg_case("eps a string", "rms_norm_eps", "\"1e-5\"", VKLLM_ERR_FORMAT,
             "rms_norm_eps: not a number");
    cfg_case("tie a number", "tie_word_embeddings", "1", VKLLM_ERR_FORMAT,
             "tie_word_embeddings: not a boolean");
    cfg_case("architectures a string", "architectures", "\"LlamaForCausalLM\"", VKLLM_ERR_FORMAT,
             "architectures: not a non-empty list");
    cfg_case("zero heads", "num_attention_heads", "0", VKLLM_ERR_FORMAT,
             "num_attention_heads: 0 out of range");
    cfg_case("zero kv heads", "num_key_value_heads", "0", VKLLM_ERR_FORMAT,
             "num_key_value_heads: 0 out of range");
    cfg_case("kv heads not dividing", "num_key_value_heads", "3", VKLLM_ERR_FORMAT,
             "config.json: num_key_value_heads: 3 does not divide num_attention_heads 8");
    cfg_case("heads not dividing hidden", "num_attention_heads", "6", VKLLM_ERR_FORMAT,
             "num_attention_heads: 6 does not divide hidden_size 64");
    cfg_case("odd head_dim", "head_dim", "7", VKLLM_ERR_FORMAT, "head_dim: 7 is odd");
    cfg_case("negative layers", "num_hidden_layers", "-2", VKLLM_ERR_FORMAT,
             "num_hidden_layers: -2 out of range");
    cfg_case("huge vocab", "vocab_size", "5000000", VKLLM_ERR_FORMAT,
             "vocab_size: 5000000 out of range");
    cfg_case("huge hidden", "hidden_size", "131072", VKLLM_ERR_FORMAT,
             "hidden_size: 131072 out of range");
    cfg_case("zero eps", "rms_norm_eps", "0", VKLLM_ERR_FORMAT, "rms_norm_eps: 0 out of range");
    cfg_case("negative theta", "rope_theta", "-5", VKLLM_ERR_FORMAT, "rope_theta: -5 out of range");
    cfg_case("eos past vocab", "eos_token_id", "1000", VKLLM_ERR_FORMAT,
             "not below vocab_size 1000");
    cfg_case("eos a string", "eos_token_id", "\"</s>\"", VKLLM_ERR_FORMAT,
             "eos_token_id: not an integer");
    cfg_case("unknown architecture", "architectures", "[\"GPT2LMHeadModel\"]",
             VKLLM_ERR_UNSUPPORTED, "unsupported architecture 'GPT2LMHeadModel'");
    cfg_case("model_type only", "architectures", NULL, VKLLM_OK, NULL);
    {
        char *cd = tmp_dir("hf_corrupt_cfg");
        CHECK(write_text(join(cd, "config.json"),
                         "{\"model_type\": \"gpt_neox\", \"vocab_size\": 10}") == 0);
        model_config c;
        expect("unknown model_type", hf_config_load(cd, &c), VKLLM_ERR_UNSUPPORTED,
               "unsupported model type 'gpt_neox'");
        CHECK(write_text(join(cd, "config.json"), "{\"vocab_size\": 10}") == 0);
        expect("no architecture", hf_config_load(cd, &c), VKLLM_ERR_FORMAT,
               "neither architectures nor model_type");
        CHECK(write_text(join(cd, "config.json"), "{\"vocab_size\": 10,") == 0);
        expect("config bad JSON", hf_config_load(cd, &c), VKLLM_ERR_FORMAT,
               "config.json: bad JSON");
        CHECK(write_text(join(cd, "config.json"), "[1]") == 0);
        expect("config not an object", hf_config_load(cd, &c), VKLLM_ERR_FORMAT,
               "not a JSON object");
        remove(join(cd, "config.json"));
        expect("config absent", hf_config_load(cd, &c), VKLLM_ERR_IO, "config.json: cannot open");
        free(cd);
    }
    cfg_case("gelu", "hidden_act", "\"gelu\"", VKLLM_ERR_UNSUPPORTED, "hidden_act: 'gelu'");
    cfg_case("mlp bias", "mlp_bias", "true", VKLLM_ERR_UNSUPPORTED, "mlp_bias");
    cfg_case("yarn", "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}",
             VKLLM_ERR_UNSUPPORTED, "rope_scaling: rope_type 'yarn' is not supported");
    cfg_case("linear (old key)", "rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}",
             VKLLM_ERR_UNSUPPORTED, "rope_type 'linear' is not supported");
    cfg_case("dynamic in rope_parameters", "rope_parameters",
             "{\"rope_theta\": 10000.0, \"rope_type\": \"dynamic\", \"factor\": 2.0}",
             VKLLM_ERR_UNSUPPORTED, "rope_parameters: rope_type 'dynamic' is not supported");
    cfg_case("rope_type a number", "rope_scaling", "{\"rope_type\": 3}", VKLLM_ERR_FORMAT,
             "rope_scaling.rope_type: not a string");
    cfg_case("rope_scaling a string", "rope_scaling", "\"llama3\"", VKLLM_ERR_FORMAT,
             "rope_scaling: not an object");
    cfg_case("llama3 without factor", "rope_scaling",
             "{\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
             " \"original_max_position_embeddings\": 8192}",
             VKLLM_ERR_FORMAT, "rope_scaling.factor: missing");
    cfg_case("llama3 high <= low", "rope_scaling",
             "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0,"
             " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}",
             VKLLM_ERR_FORMAT, "must exceed low_freq_factor");
    cfg_case("llama3 zero orig ctx", "rope_parameters",
             "{\"rope_theta\": 500000.0, \"rope_type\": \"llama3\", \"factor\": 8.0,"
             " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
             " \"original_max_position_embeddings\": 0}",
             VKLLM_ERR_FORMAT, "rope_parameters.original_max_position_embeddings: 0 out of range");

    /* A present but broken generation_config.json is an error. */
    char *cd = tmp_dir("hf_corrupt_cfg");
    CHECK(write_text(join(cd, "config.json"), base_cfg) == 0);
    CHECK(write_text(join(cd, "generation_config.json"), "{\"eos_token_id\": ") == 0);
    model_config c;
    expect("generation_config bad JSON", hf_config_load(cd, &c), VKLLM_ERR_FORMAT,
           "generation_config.json: bad JSON");
    CHECK(write_text(join(cd, "generation_config.json"), "{\"eos_token_id\": -3}") == 0);
    expect("generation_config negative eos", hf_config_load(cd, &c), VKLLM_ERR_FORMAT,
           "generation_config.json: eos_token_id: -3 out of range");
    remove(join(cd, "generation_config.json"));
    free(cd);
}

/* ---- llama2.c -------------------------------------------------------------- */

static void l2c_case(const char *what, const void *bytes, size_t n, vkllm_status want,
                     const char *substr) {
    const char *path = join(dir, "m.bin");
    CHECK(write_file(path, bytes, n) == 0);
    llama2c m;
    vkllm_status st = llama2c_open(path, &m);
    expect(what, st, want, substr);
    if (st == VKLLM_OK)
        llama2c_close(&m);
    else
        CHECK(m.file.data == NULL && m.file.path == NULL);
}

static void l2c_header_case(const char *what, int32_t d, int32_t h, int32_t l, int32_t nh,
                            int32_t nkv, int32_t v, int32_t s, const char *substr) {
    int32_t hdr[7] = {d, h, l, nh, nkv, v, s};
    l2c_case(what, hdr, sizeof hdr, VKLLM_ERR_FORMAT, substr);
}

static void check_llama2c(const char *models) {
    l2c_case("empty file", "", 0, VKLLM_ERR_FORMAT, "shorter than the 28-byte header");
    int32_t short_hdr[5] = {64, 172, 5, 8, 4};
    l2c_case("short header", short_hdr, sizeof short_hdr, VKLLM_ERR_FORMAT, "20 bytes, shorter");
    l2c_header_case("zero dim", 0, 172, 5, 8, 4, 512, 512, "dim 0 out of range");
    l2c_header_case("zero layers", 64, 172, 0, 8, 4, 512, 512, "n_layers 0 out of range");
    l2c_header_case("negative hidden", 64, -172, 5, 8, 4, 512, 512, "hidden_dim -172 out of range");
    l2c_header_case("zero heads", 64, 172, 5, 0, 4, 512, 512, "n_heads 0 out of range");
    l2c_header_case("zero kv heads", 64, 172, 5, 8, 0, 512, 512, "n_kv_heads 0 out of range");
    l2c_header_case("zero seq", 64, 172, 5, 8, 4, 512, 0, "seq_len 0 out of range");
    l2c_header_case("zero vocab", 64, 172, 5, 8, 4, 0, 512, "vocab_size 0 out of range");
    l2c_header_case("INT32_MIN vocab", 64, 172, 5, 8, 4, INT32_MIN, 512,
                    "vocab_size -2147483648 out of range");
    l2c_header_case("heads not dividing dim", 64, 172, 5, 6, 3, 512, 512,
                    "n_heads 6 does not divide dim 64");
    l2c_header_case("kv not dividing heads", 64, 172, 5, 8, 3, 512, 512,
                    "n_kv_heads 3 does not divide n_heads 8");
    l2c_header_case("more kv heads than heads", 64, 172, 5, 8, 16, 512, 512,
                    "n_kv_heads 16 out of range");
    l2c_header_case("odd head size", 63, 172, 5, 7, 7, 512, 512, "head size 9 is odd");
    l2c_header_case("largest dims", 65536, 1 << 20, 1024, 256, 256, 4 << 20, 1 << 24,
                    "but the header implies");
    l2c_header_case("header only", 64, 172, 5, 8, 4, 512, 512,
                    "file is 28 bytes but the header implies 1056540");

    char path[1024];
    snprintf(path, sizeof path, "%s/stories260K/stories260K.bin", models);
    size_t n = 0;
    uint8_t *b = test_read_file(path, &n);
    CHECK(b != NULL && n == 1056540);
    if (!b) return;
    uint8_t *more = malloc(n + 4);
    memcpy(more, b, n);
    memset(more + n, 0, 4);
    l2c_case("stories260K intact", b, n, VKLLM_OK, NULL);
    l2c_case("truncated by 4", b, n - 4, VKLLM_ERR_FORMAT,
             "file is 1056536 bytes but the header implies 1056540");
    l2c_case("truncated by 1", b, n - 1, VKLLM_ERR_FORMAT, "header implies 1056540");
    l2c_case("4 extra bytes", more, n + 4, VKLLM_ERR_FORMAT, "file is 1056544 bytes");
    /* Unshared classifier flag without the classifier: too short. */
    int32_t neg = -512;
    memcpy(more + 20, &neg, 4);
    l2c_case("unshared without wcls", more, n, VKLLM_ERR_FORMAT, "header implies 1187612");
    free(more);
    free(b);

    llama2c m;
    expect("absent checkpoint", llama2c_open(join(dir, "absent.bin"), &m), VKLLM_ERR_IO,
           "cannot open");
    llama2c_close(NULL);
}

/* ---- allocation failures ------------------------------------------------- */

static void check_nomem(const char *models) {
    /* A valid 2-shard folder and tiny-qwen2's config. */
    static const uint8_t data[4] = {1, 2, 3, 4};
    char *sd = tmp_dir("hf_corrupt_nomem");
    CHECK(write_st_raw(join(sd, "s1.safetensors"), one_a, 0, data, 4) == 0);
    CHECK(write_st_raw(join(sd, "s2.safetensors"), one_b, 0, data, 4) == 0);
    CHECK(write_text(join(sd, "model.safetensors.index.json"),
                     "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}") ==
          0);
    int done = 0;
    for (long k = 0; k < 200 && !done; k++) {
        safetensors *s = NULL;
        mem_fail_after(k);
        vkllm_status st = safetensors_open_dir(sd, &s);
        mem_fail_after(-1);
        if (st == VKLLM_OK)
            done = 1;
        else
            CHECKF(st == VKLLM_ERR_NOMEM, "fail after %ld: %s", k, vkllm_last_error());
        safetensors_close(s);
    }
    CHECK(done);
    free(sd);

    char qdir[1024];
    snprintf(qdir, sizeof qdir, "%s/tiny-qwen2", models);
    done = 0;
    for (long k = 0; k < 200 && !done; k++) {
        model_config c;
        mem_fail_after(k);
        vkllm_status st = hf_config_load(qdir, &c);
        mem_fail_after(-1);
        if (st == VKLLM_OK)
            done = 1;
        else
            CHECKF(st == VKLLM_ERR_NOMEM, "config, fail after %ld: %s", k, vkllm_last_error());
    }
    CHECK(done);
}

int main(void) {
    dir = tmp_dir("hf_corrupt");
    if (!dir) return 1;
    check_safetensors_files();
    check_shards();
    check_configs();
    const char *d = test_data_dir();
    if (d) {
        char models[512];
        snprintf(models, sizeof models, "%s/models", d);
        check_llama2c(models);
        check_nomem(models);
    }
    remove(join(dir, "m.bin"));
    remove(join(dir, "t.safetensors"));
    free(dir);
    return test_finish();
}
