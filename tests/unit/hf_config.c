/* hf_config — config.json parsing: the three fixtures (values as written in
 * their config.json), the newer rope_parameters form with random values, a
 * generation_config.json override, Qwen3 and Mistral variants, and the
 * architecture name table. Variants are written under $VKLLM_TMP. */
#include <jansson.h>

#include "format/hf_config.h"
#include "hf_testutil.h"
#include "model/config.h"
#include "testutil.h"

static int load(const char *dir, model_config *c) {
    memset(c, 0x5a, sizeof *c); /* garbage: every field must be written */
    vkllm_status st = hf_config_load(dir, c);
    if (st != VKLLM_OK) fprintf(stderr, "%s: %s\n", dir, vkllm_last_error());
    return st == VKLLM_OK;
}

static void check_fixtures(const char *models) {
    char dir[1024];
    model_config c;

    snprintf(dir, sizeof dir, "%s/tiny-llama2", models);
    CHECK(load(dir, &c));
    CHECK(c.arch == ARCH_LLAMA);
    CHECK(c.n_vocab == 32000 && c.dim == 64 && c.n_layers == 2);
    CHECK(c.n_heads == 8 && c.n_kv_heads == 2 && c.head_dim == 8);
    CHECK(c.ffn_dim == 176 && c.ctx_train == 2048);
    CHECK(c.norm_eps == 1e-5f && c.rope_theta == 10000.0f && c.rope_neox == 1);
    CHECK(c.rope_factor == 0 && c.rope_low_freq_factor == 0 && c.rope_high_freq_factor == 0);
    CHECK(c.rope_orig_ctx == 0);
    CHECK(c.tied_output == 0 && c.has_qkv_bias == 0 && c.has_qk_norm == 0);
    CHECK(c.bos_id == 1 && c.eos_id == 2);

    snprintf(dir, sizeof dir, "%s/tiny-llama3", models);
    CHECK(load(dir, &c));
    CHECK(c.arch == ARCH_LLAMA);
    CHECK(c.n_vocab == 128256 && c.dim == 64 && c.n_layers == 2);
    CHECK(c.n_heads == 8 && c.n_kv_heads == 2 && c.head_dim == 8);
    CHECK(c.ffn_dim == 192 && c.ctx_train == 131072);
    CHECK(c.norm_eps == 1e-5f && c.rope_theta == 500000.0f && c.rope_neox == 1);
    CHECK(c.rope_factor == 8.0f && c.rope_low_freq_factor == 1.0f);
    CHECK(c.rope_high_freq_factor == 4.0f && c.rope_orig_ctx == 8192);
    CHECK(c.tied_output == 1 && c.has_qkv_bias == 0 && c.has_qk_norm == 0);
    CHECK(c.bos_id == 128000 && c.eos_id == 128001);

    snprintf(dir, sizeof dir, "%s/tiny-qwen2", models);
    CHECK(load(dir, &c));
    CHECK(c.arch == ARCH_QWEN2);
    CHECK(c.n_vocab == 151936 && c.dim == 64 && c.n_layers == 2);
    CHECK(c.n_heads == 4 && c.n_kv_heads == 2 && c.head_dim == 16);
    CHECK(c.ffn_dim == 160 && c.ctx_train == 32768);
    CHECK(c.norm_eps == 1e-6f && c.rope_theta == 1e6f && c.rope_neox == 1);
    CHECK(c.rope_factor == 0);
    CHECK(c.tied_output == 1 && c.has_qkv_bias == 1 && c.has_qk_norm == 0);
    CHECK(c.bos_id == 151643 && c.eos_id == 151645);
}

/* tiny-llama3's config rewritten in the newer form (rope_parameters, dtype)
 * with random theta and scaling values. */
static void check_rope_parameters(const char *models, uint64_t *rng) {
    char src[1024];
    snprintf(src, sizeof src, "%s/tiny-llama3/config.json", models);
    json_t *root = json_load_file(src, 0, NULL);
    CHECK(root != NULL);
    if (!root) return;
    double theta = (double)(int)test_rng_f32(rng, 1000, 2e6);
    double factor = 1 + (int)test_rng_f32(rng, 0, 32);
    double low = (double)(int)test_rng_f32(rng, 1, 4),
           high = low + 1 + (int)test_rng_f32(rng, 0, 8);
    int orig = 1024 * (1 + (int)test_rng_f32(rng, 0, 16));
    json_object_del(root, "rope_theta");
    json_object_del(root, "rope_scaling");
    json_object_del(root, "torch_dtype");
    json_object_set_new(root, "dtype", json_string("bfloat16"));
    json_object_set_new(root, "rope_parameters",
                        json_pack("{s:f, s:s, s:f, s:f, s:f, s:i}", "rope_theta", theta,
                                  "rope_type", "llama3", "factor", factor, "low_freq_factor", low,
                                  "high_freq_factor", high, "original_max_position_embeddings",
                                  orig));
    char *dir = tmp_dir("hf_config_ropeparams");
    CHECK(json_dump_file(root, join(dir, "config.json"), JSON_INDENT(2)) == 0);
    model_config c;
    CHECK(load(dir, &c));
    CHECK(c.rope_theta == (float)theta);
    CHECK(c.rope_factor == (float)factor && c.rope_low_freq_factor == (float)low);
    CHECK(c.rope_high_freq_factor == (float)high && c.rope_orig_ctx == orig);
    CHECK(c.n_vocab == 128256 && c.tied_output == 1);
    /* No generation_config.json here: ids from config.json. */
    CHECK(c.bos_id == 128000 && c.eos_id == 128001);

    /* rope_type "default" inside rope_parameters: no scaling, theta kept. */
    json_object_set_new(root, "rope_parameters",
                        json_pack("{s:f, s:s}", "rope_theta", theta, "rope_type", "default"));
    CHECK(json_dump_file(root, join(dir, "config.json"), 0) == 0);
    CHECK(load(dir, &c));
    CHECK(c.rope_theta == (float)theta && c.rope_factor == 0 && c.rope_orig_ctx == 0);
    json_decref(root);
    free(dir);
}

static void check_generation_override(uint64_t *rng) {
    char *dir = tmp_dir("hf_config_gen");
    int bos = (int)(test_rng_u64(rng) % 1000), eos = (int)(test_rng_u64(rng) % 1000);
    char text[2048];
    snprintf(
        text, sizeof text,
        "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 1000, \"hidden_size\": 32,"
        " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"intermediate_size\": 48,"
        " \"bos_token_id\": 1, \"eos_token_id\": [2, 3]}");
    CHECK(write_text(join(dir, "config.json"), text) == 0);
    remove(join(dir, "generation_config.json"));
    model_config c;
    CHECK(load(dir, &c));
    CHECK(c.bos_id == 1 && c.eos_id == 2); /* a list: the first */
    /* Defaults of the omitted fields. */
    CHECK(c.n_kv_heads == 4 && c.head_dim == 8 && c.ctx_train == 2048);
    CHECK(c.norm_eps == 1e-6f && c.rope_theta == 10000.0f && c.tied_output == 0);

    snprintf(text, sizeof text, "{\"bos_token_id\": %d, \"eos_token_id\": [%d, 999]}", bos, eos);
    CHECK(write_text(join(dir, "generation_config.json"), text) == 0);
    CHECK(load(dir, &c));
    CHECKF(c.bos_id == bos && c.eos_id == eos, "bos %d eos %d", c.bos_id, c.eos_id);

    /* Only eos in generation_config: bos stays from config.json. */
    snprintf(text, sizeof text, "{\"eos_token_id\": %d, \"bos_token_id\": null}", eos);
    CHECK(write_text(join(dir, "generation_config.json"), text) == 0);
    CHECK(load(dir, &c));
    CHECK(c.bos_id == 1 && c.eos_id == eos);
    remove(join(dir, "generation_config.json"));
    free(dir);
}

static void check_variants(void) {
    char *dir = tmp_dir("hf_config_variants");
    model_config c;
    /* Qwen3: explicit head_dim != hidden / heads, q/k norm, no bias. */
    CHECK(write_text(join(dir, "config.json"),
                     "{\"architectures\": [\"Qwen3ForCausalLM\"], \"model_type\": \"qwen3\","
                     " \"vocab_size\": 500, \"hidden_size\": 64, \"num_hidden_layers\": 3,"
                     " \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"head_dim\": 32,"
                     " \"intermediate_size\": 96, \"max_position_embeddings\": 40960,"
                     " \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000, \"attention_bias\": false,"
                     " \"tie_word_embeddings\": true, \"sliding_window\": null,"
                     " \"use_sliding_window\": false, \"eos_token_id\": 7}") == 0);
    CHECK(load(dir, &c));
    CHECK(c.arch == ARCH_QWEN3 && c.head_dim == 32 && c.n_kv_heads == 1);
    CHECK(c.has_qk_norm == 1 && c.has_qkv_bias == 0 && c.tied_output == 1);
    CHECK(c.ctx_train == 40960 && c.rope_theta == 1e6f && c.bos_id == -1 && c.eos_id == 7);

    /* Mistral v0.1: an active sliding window caps the context; no architectures
     * list, model_type decides; attention_bias sets has_qkv_bias. */
    CHECK(write_text(join(dir, "config.json"),
                     "{\"model_type\": \"mistral\", \"vocab_size\": 500, \"hidden_size\": 64,"
                     " \"num_hidden_layers\": 1, \"num_attention_heads\": 8,"
                     " \"num_key_value_heads\": 8, \"intermediate_size\": 96,"
                     " \"max_position_embeddings\": 32768, \"sliding_window\": 4096,"
                     " \"attention_bias\": true, \"rope_scaling\": {\"type\": \"default\"}}") == 0);
    CHECK(load(dir, &c));
    CHECK(c.arch == ARCH_LLAMA && c.ctx_train == 4096 && c.has_qkv_bias == 1);
    CHECK(c.rope_factor == 0 && c.bos_id == -1 && c.eos_id == -1);
    free(dir);
}

static void check_arch_names(void) {
    CHECK(model_arch_from_name("llama") == ARCH_LLAMA);
    CHECK(model_arch_from_name("mistral") == ARCH_LLAMA);
    CHECK(model_arch_from_name("qwen2") == ARCH_QWEN2);
    CHECK(model_arch_from_name("qwen3") == ARCH_QWEN3);
    CHECK(model_arch_from_name("gpt2") == -1);
    CHECK(model_arch_from_name("") == -1);
    CHECK(model_arch_from_name(NULL) == -1);
    CHECK(strcmp(model_arch_name(ARCH_LLAMA), "llama") == 0);
    CHECK(strcmp(model_arch_name(ARCH_QWEN2), "qwen2") == 0);
    CHECK(strcmp(model_arch_name(ARCH_QWEN3), "qwen3") == 0);
    for (int a = 0; a < ARCH_COUNT_; a++)
        CHECK(model_arch_from_name(model_arch_name((model_arch)a)) == a);
    CHECK(strcmp(model_arch_name(ARCH_COUNT_), "unknown") == 0);
}

int main(void) {
    const char *d = test_data_dir();
    uint64_t rng = test_seed() | 1;
    check_arch_names();
    check_generation_override(&rng);
    check_variants();
    if (!d) return test_finish();
    char models[512];
    snprintf(models, sizeof models, "%s/models", d);
    check_fixtures(models);
    check_rope_parameters(models, &rng);
    return test_finish();
}
