/* gguf_read.c — the GGUF reader on real files (facts checked independently
 * with a standalone parser) and on files built here covering every value
 * type, getter conversion, v2/v3, alignments, index lookups and allocation
 * failures. */
#include <float.h>
#include <inttypes.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "format/gguf.h"
#include "gguf_testwriter.h"
#include "testutil.h"

static int str_is(const char *s, size_t len, const char *want) {
    return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

static uint32_t u32_of(const gguf *g, const char *key) {
    uint32_t v = 0xdeadbeef;
    CHECKF(gguf_get_u32(g, key, &v) == VKLLM_OK, "%s: %s", key, err_msg());
    return v;
}

static void check_tensor(const gguf *g, const char *name, uint32_t n_dims, uint64_t ne0, uint64_t ne1,
                         uint32_t type, uint64_t offset, uint64_t nbytes) {
    const gguf_tensor *t = gguf_find_tensor(g, name);
    CHECKF(t != NULL, "tensor %s missing", name);
    if (!t) return;
    CHECK(strcmp(t->name, name) == 0);
    CHECK(t->n_dims == n_dims);
    CHECK(t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == 1 && t->ne[3] == 1);
    CHECKF(t->type == type, "%s type %u", name, t->type);
    CHECKF(t->offset == offset, "%s offset %" PRIu64, name, t->offset);
    CHECKF(t->nbytes == nbytes, "%s nbytes %" PRIu64, name, t->nbytes);
    CHECK((const uint8_t *)t->data != NULL);
}

/* Values below were read with a standalone Python parser of the GGUF layout. */
static void test_tiny_llama2(const char *path, int q8) {
    gguf *g = NULL;
    vkllm_status s = gguf_open(path, &g);
    CHECKF(s == VKLLM_OK, "%s", err_msg());
    if (s != VKLLM_OK) return;
    CHECK(gguf_version(g) == 3);
    CHECK(gguf_n_kv(g) == 29);
    CHECK(gguf_n_tensors(g) == 21);
    CHECK(gguf_alignment(g) == 32);
    CHECK(gguf_data_offset(g) == 719136);
    CHECK(strcmp(gguf_path(g), path) == 0);
    CHECK(strcmp(gguf_key(g, 0), "general.architecture") == 0);
    CHECK(strcmp(gguf_key(g, 28), "tokenizer.ggml.add_eos_token") == 0);
    CHECK(gguf_key(g, 29) == NULL && gguf_key(g, -1) == NULL);
    CHECK(gguf_find_key(g, "tokenizer.ggml.tokens") == 20);
    CHECK(gguf_kv_type(g, 20) == GGUF_VT_ARRAY);
    CHECK(gguf_kv_type(g, 10) == GGUF_VT_F32);

    const char *str = NULL;
    size_t len = 0;
    CHECK(gguf_get_str(g, "general.architecture", &str, &len) == VKLLM_OK && str_is(str, len, "llama"));
    CHECK(str[len] == 0);
    CHECK(gguf_get_str(g, "general.name", &str, &len) == VKLLM_OK && str_is(str, len, "Tiny Llama2"));
    CHECK(gguf_get_str(g, "tokenizer.ggml.pre", &str, &len) == VKLLM_OK && str_is(str, len, "default"));
    CHECK(u32_of(g, "llama.block_count") == 2);
    CHECK(u32_of(g, "llama.context_length") == 2048);
    CHECK(u32_of(g, "llama.embedding_length") == 64);
    CHECK(u32_of(g, "llama.feed_forward_length") == 176);
    CHECK(u32_of(g, "llama.attention.head_count") == 8);
    CHECK(u32_of(g, "llama.attention.head_count_kv") == 2);
    CHECK(u32_of(g, "llama.vocab_size") == 32000);
    CHECK(u32_of(g, "general.file_type") == (q8 ? 7u : 1u));
    CHECK(u32_of(g, "tokenizer.ggml.eos_token_id") == 2);
    float f = 0;
    CHECK(gguf_get_f32(g, "llama.rope.freq_base", &f) == VKLLM_OK && f == 10000.0f);
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f) == VKLLM_OK && f == 1e-5f);
    int b = -1;
    CHECK(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == VKLLM_OK && b == 1);
    CHECK(gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b) == VKLLM_OK && b == 0);

    gguf_vtype et;
    uint64_t n = 0;
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) == VKLLM_OK && et == GGUF_VT_STRING &&
          n == 32000);
    str = gguf_arr_str(g, "tokenizer.ggml.tokens", 0, &len);
    CHECK(str_is(str, len, "<unk>"));
    str = gguf_arr_str(g, "tokenizer.ggml.tokens", 2, &len);
    CHECK(str_is(str, len, "</s>"));
    str = gguf_arr_str(g, "tokenizer.ggml.tokens", 31999, &len);
    CHECK(str_is(str, len, "\xe6\xa2\xa6"));
    CHECK(gguf_arr_str(g, "tokenizer.ggml.tokens", 32000, &len) == NULL);
    CHECK(gguf_arr_data(g, "tokenizer.ggml.tokens") == NULL);
    CHECK(gguf_get_arr(g, "tokenizer.ggml.scores", &et, &n) == VKLLM_OK && et == GGUF_VT_F32 && n == 32000);
    const uint8_t *sc = gguf_arr_data(g, "tokenizer.ggml.scores");
    CHECK(sc != NULL);
    if (sc) {
        memcpy(&f, sc, 4);
        CHECK(f == -1000.0f);
    }
    CHECK(gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &n) == VKLLM_OK && et == GGUF_VT_I32);
    const uint8_t *tt = gguf_arr_data(g, "tokenizer.ggml.token_type");
    int32_t tv[2] = {0, 0};
    if (tt) {
        memcpy(&tv[0], tt, 4);
        memcpy(&tv[1], tt + 4 * 31999, 4);
    }
    CHECK(tv[0] == 3 && tv[1] == 1);

    if (q8) {
        check_tensor(g, "output.weight", 2, 64, 32000, DTYPE_Q8_0, 719136, 2176000);
        check_tensor(g, "token_embd.weight", 2, 64, 32000, DTYPE_Q8_0, 2895136, 2176000);
        check_tensor(g, "blk.0.ffn_down.weight", 2, 176, 64, DTYPE_F16, 5071392, 22528);
        check_tensor(g, "blk.1.attn_v.weight", 2, 64, 16, DTYPE_Q8_0, 5185760, 1088);
        check_tensor(g, "output_norm.weight", 1, 64, 1, DTYPE_F32, 5186848, 256);
        const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
        static const uint8_t want[6] = {0x09, 0x18, 0x81, 0xba, 0xde, 0x23};
        CHECK(t && memcmp(t->data, want, 6) == 0);
    } else {
        check_tensor(g, "output.weight", 2, 64, 32000, DTYPE_F16, 719136, 4096000);
        check_tensor(g, "token_embd.weight", 2, 64, 32000, DTYPE_F16, 4815136, 4096000);
        check_tensor(g, "blk.0.ffn_down.weight", 2, 176, 64, DTYPE_F16, 8911392, 22528);
        check_tensor(g, "blk.1.attn_v.weight", 2, 64, 16, DTYPE_F16, 9086240, 2048);
        check_tensor(g, "output_norm.weight", 1, 64, 1, DTYPE_F32, 9088288, 256);
        const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
        uint16_t h = 0;
        if (t) memcpy(&h, t->data, 2);
        CHECK(h == 0xb401);
    }
    const gguf_tensor *t = gguf_find_tensor(g, "output_norm.weight");
    float w[2] = {0, 0};
    if (t) memcpy(w, t->data, 8);
    CHECK(w[0] == 1.35546875f && w[1] == 1.380859375f);
    CHECK(gguf_tensor_at(g, 0) == gguf_find_tensor(g, "output.weight"));
    CHECK(gguf_tensor_at(g, 20) == gguf_find_tensor(g, "output_norm.weight"));
    CHECK(gguf_tensor_at(g, 21) == NULL);
    CHECK(gguf_find_tensor(g, "output.weigh") == NULL);
    CHECK(gguf_find_tensor(g, "blk.2.attn_q.weight") == NULL);
    /* Every tensor found by its own name. */
    for (int64_t i = 0; i < gguf_n_tensors(g); i++)
        CHECK(gguf_find_tensor(g, gguf_tensor_at(g, i)->name) == gguf_tensor_at(g, i));
    gguf_close(g);
}

typedef struct vocab_fact {
    const char *file;
    int64_t n_kv;
    uint64_t n_tokens, n_merges;
    const char *last_token;
    const char *first_merge, *last_merge;
} vocab_fact;

static void test_vocabs(const char *dir) {
    static const vocab_fact facts[] = {
        {"ggml-vocab-gpt-2.gguf", 16, 50257, 50000, "<|endoftext|>", "\xc4\xa0 t", "\xc4\xa0g azed"},
        {"ggml-vocab-llama-bpe.gguf", 20, 128256, 280147, "<|reserved_special_token_250|>",
         "\xc4\xa0 \xc4\xa0", "\xc3\xa9\xc4\xb6 \xc2\xa6"},
        {"ggml-vocab-qwen2.gguf", 20, 151936, 151387, "[PAD151935]", "\xc4\xa0 \xc4\xa0",
         "\xc3\xa2\xc2\xbd \xc4\xb9"},
        {"ggml-vocab-llama-spm.gguf", 22, 32000, 0, "\xe7\xbb\x99", NULL, NULL},
        {"ggml-vocab-phi-3.gguf", 26, 32064, 0, "[PAD32063]", NULL, NULL},
    };
    for (size_t k = 0; k < sizeof facts / sizeof facts[0]; k++) {
        const vocab_fact *vf = &facts[k];
        char path[1024];
        snprintf(path, sizeof path, "%s/tokenizer/%s", dir, vf->file);
        gguf *g = NULL;
        vkllm_status s = gguf_open(path, &g);
        CHECKF(s == VKLLM_OK, "%s", err_msg());
        if (s != VKLLM_OK) continue;
        CHECK(gguf_version(g) == 3);
        CHECKF(gguf_n_kv(g) == vf->n_kv, "%s n_kv %lld", vf->file, (long long)gguf_n_kv(g));
        CHECK(gguf_n_tensors(g) == 0);
        gguf_vtype et;
        uint64_t n = 0;
        size_t len = 0;
        CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) == VKLLM_OK && n == vf->n_tokens);
        const char *str = gguf_arr_str(g, "tokenizer.ggml.tokens", n - 1, &len);
        CHECKF(str_is(str, len, vf->last_token), "%s last token", vf->file);
        if (vf->n_merges) {
            CHECK(gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n) == VKLLM_OK && et == GGUF_VT_STRING &&
                  n == vf->n_merges);
            str = gguf_arr_str(g, "tokenizer.ggml.merges", 0, &len);
            CHECK(str_is(str, len, vf->first_merge));
            str = gguf_arr_str(g, "tokenizer.ggml.merges", n - 1, &len);
            CHECK(str_is(str, len, vf->last_merge));
        } else {
            CHECK(gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n) == VKLLM_ERR_INVALID_ARG);
        }
        gguf_close(g);
    }
    /* Specific values. */
    char path[1024];
    gguf *g = NULL;
    snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-phi-3.gguf", dir);
    if (gguf_open(path, &g) == VKLLM_OK) {
        const char *str;
        size_t len;
        CHECK(gguf_get_str(g, "tokenizer.chat_template", &str, &len) == VKLLM_OK && len == 269);
        CHECK(strncmp(str, "{{ bos_token }}{% for message in messages %}", 44) == 0);
        CHECK(u32_of(g, "tokenizer.ggml.eos_token_id") == 32000);
        CHECK(u32_of(g, "phi3.rope.dimension_count") == 96);
        gguf_close(g);
    }
    snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-qwen2.gguf", dir);
    if (gguf_open(path, &g) == VKLLM_OK) {
        float f;
        CHECK(gguf_get_f32(g, "qwen2.rope.freq_base", &f) == VKLLM_OK && f == 1e6f);
        CHECK(gguf_get_f32(g, "qwen2.attention.layer_norm_rms_epsilon", &f) == VKLLM_OK && f == 1e-6f);
        CHECK(u32_of(g, "tokenizer.ggml.bos_token_id") == 151643);
        CHECK(gguf_data_offset(g) == 5928704); /* past the end: no data section */
        gguf_close(g);
    }
    snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", dir);
    if (gguf_open(path, &g) == VKLLM_OK) {
        const uint8_t *sc = gguf_arr_data(g, "tokenizer.ggml.scores");
        const uint8_t *tt = gguf_arr_data(g, "tokenizer.ggml.token_type");
        float f = 0;
        int32_t t0 = 0;
        if (sc) memcpy(&f, sc + 4 * 31999, 4);
        if (tt) memcpy(&t0, tt, 4);
        CHECK(f == -31740.0f && t0 == 2);
        gguf_close(g);
    }
}

/* ---- synthetic files: every value type ------------------------------------------ */

typedef struct rand_vals {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    float f32;
    uint64_t u64;
    int64_t i64;
    double f64;
    char str[24];
    int16_t arr_i16[5];
} rand_vals;

static void rand_str(uint64_t *rng, char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) s[i] = (char)('a' + test_rng_u64(rng) % 26);
    s[n - 1] = 0;
}

/* Writes every value type; returns the file built over `w`. */
static void build_all_types(tw *w, uint32_t version, uint32_t alignment, const rand_vals *v) {
    int with_align = alignment != 32;
    tw_header(w, version, 2, 22 + (uint64_t)with_align);
    tw_key(w, "t.u8", 0), tw_u8(w, v->u8);
    tw_key(w, "t.i8", 1), tw_u8(w, (uint8_t)v->i8);
    tw_key(w, "t.u16", 2), tw_u16(w, v->u16);
    tw_key(w, "t.i16", 3), tw_u16(w, (uint16_t)v->i16);
    tw_key(w, "t.u32", 4), tw_u32(w, v->u32);
    tw_key(w, "t.i32", 5), tw_u32(w, (uint32_t)v->i32);
    tw_key(w, "t.f32", 6), tw_f32(w, v->f32);
    tw_key(w, "t.bool", 7), tw_u8(w, 1);
    tw_key(w, "t.str", 8), tw_str(w, v->str);
    tw_key(w, "t.u64", 10), tw_u64(w, v->u64);
    tw_key(w, "t.i64", 11), tw_u64(w, (uint64_t)v->i64);
    tw_key(w, "t.f64", 12), tw_f64(w, v->f64);
    tw_key(w, "t.neg", 5), tw_u32(w, (uint32_t)-7);
    tw_key(w, "t.big", 10), tw_u64(w, UINT64_MAX);
    tw_key(w, "t.f64big", 12), tw_f64(w, 1e300);
    tw_key(w, "t.nulstr", 8), tw_strn(w, "a\0b", 3);
    tw_key(w, "t.empty", 8), tw_str(w, "");
    tw_key(w, "t.arr_i16", 9), tw_u32(w, 3), tw_u64(w, 5);
    for (int i = 0; i < 5; i++) tw_u16(w, (uint16_t)v->arr_i16[i]);
    tw_key(w, "t.arr_str", 9), tw_u32(w, 8), tw_u64(w, 3);
    tw_str(w, v->str), tw_strn(w, "x\0y", 3), tw_str(w, "");
    tw_key(w, "t.arr_empty", 9), tw_u32(w, 12), tw_u64(w, 0);
    tw_key(w, "t.arr_bool", 9), tw_u32(w, 7), tw_u64(w, 2), tw_u8(w, 0), tw_u8(w, 1);
    tw_key(w, "\xe4\xb8\xad.key", 4), tw_u32(w, 42); /* non-ASCII UTF-8 key */
    if (with_align) tw_key(w, "general.alignment", 4), tw_u32(w, alignment);
    uint64_t ne_a[3] = {64, 3, 2}, ne_b[4] = {5, 1, 1, 2};
    uint64_t size_a = 64 / 32 * 34 * 6; /* q8_0 */
    uint64_t off_b = (size_a + alignment - 1) / alignment * alignment;
    tw_tensor(w, "q.weight", 3, ne_a, DTYPE_Q8_0, 0);
    tw_tensor(w, "i.weight", 4, ne_b, DTYPE_I32, off_b); /* unsupported for compute, still opens */
    tw_pad(w, alignment);
    for (uint64_t i = 0; i < off_b + 40; i++) tw_u8(w, (uint8_t)(i ^ 0x5a));
}

static void check_all_types(const gguf *g, uint32_t version, uint32_t alignment, const rand_vals *v,
                            size_t header_end) {
    CHECK(gguf_version(g) == version);
    CHECK(gguf_alignment(g) == alignment);
    CHECK(gguf_n_kv(g) == 22 + (alignment != 32));
    uint32_t u32;
    int64_t i64;
    float f;
    int b;
    const char *s;
    size_t len;
    /* Integer conversions where the value fits. */
    CHECK(gguf_get_u32(g, "t.u8", &u32) == VKLLM_OK && u32 == v->u8);
    CHECK(gguf_get_i64(g, "t.u8", &i64) == VKLLM_OK && i64 == v->u8);
    CHECK(gguf_get_i64(g, "t.i8", &i64) == VKLLM_OK && i64 == v->i8);
    CHECK(gguf_get_u32(g, "t.u16", &u32) == VKLLM_OK && u32 == v->u16);
    CHECK(gguf_get_i64(g, "t.i16", &i64) == VKLLM_OK && i64 == v->i16);
    CHECK(gguf_get_u32(g, "t.u32", &u32) == VKLLM_OK && u32 == v->u32);
    CHECK(gguf_get_i64(g, "t.u32", &i64) == VKLLM_OK && i64 == v->u32);
    CHECK(gguf_get_i64(g, "t.i32", &i64) == VKLLM_OK && i64 == v->i32);
    CHECK(gguf_get_i64(g, "t.i64", &i64) == VKLLM_OK && i64 == v->i64);
    vkllm_status st = gguf_get_i64(g, "t.u64", &i64);
    if (v->u64 <= INT64_MAX) CHECK(st == VKLLM_OK && (uint64_t)i64 == v->u64);
    else CHECK(st == VKLLM_ERR_FORMAT);
    st = gguf_get_u32(g, "t.u64", &u32);
    if (v->u64 <= UINT32_MAX) CHECK(st == VKLLM_OK && u32 == v->u64);
    else CHECK(st == VKLLM_ERR_FORMAT && strstr(err_msg(), "out of range for u32"));
    st = gguf_get_u32(g, "t.i8", &u32);
    if (v->i8 >= 0) CHECK(st == VKLLM_OK && u32 == (uint32_t)v->i8);
    else CHECK(st == VKLLM_ERR_FORMAT && strstr(err_msg(), "'t.i8'"));
    CHECK(gguf_get_u32(g, "t.neg", &u32) == VKLLM_ERR_FORMAT && strstr(err_msg(), "value -7 out of range"));
    CHECK(gguf_get_i64(g, "t.neg", &i64) == VKLLM_OK && i64 == -7);
    CHECK(gguf_get_i64(g, "t.big", &i64) == VKLLM_ERR_FORMAT && strstr(err_msg(), "out of range for i64"));
    /* Floats: f32, f64 (in range) and integers. */
    CHECK(gguf_get_f32(g, "t.f32", &f) == VKLLM_OK && f == v->f32);
    CHECK(gguf_get_f32(g, "t.f64", &f) == VKLLM_OK && f == (float)v->f64);
    CHECK(gguf_get_f32(g, "t.i16", &f) == VKLLM_OK && f == (float)v->i16);
    CHECK(gguf_get_f32(g, "t.f64big", &f) == VKLLM_ERR_FORMAT && strstr(err_msg(), "'t.f64big'"));
    CHECK(gguf_get_f32(g, "t.str", &f) == VKLLM_ERR_FORMAT && strstr(err_msg(), "found string"));
    CHECK(gguf_get_bool(g, "t.bool", &b) == VKLLM_OK && b == 1);
    /* Type mismatches name the key; absence sets no message. */
    CHECK(gguf_get_u32(g, "t.f32", &u32) == VKLLM_ERR_FORMAT && strstr(err_msg(), "key 't.f32'"));
    CHECK(gguf_get_i64(g, "t.bool", &i64) == VKLLM_ERR_FORMAT && strstr(err_msg(), "found bool"));
    CHECK(gguf_get_bool(g, "t.u8", &b) == VKLLM_ERR_FORMAT && strstr(err_msg(), "expected bool"));
    CHECK(gguf_get_str(g, "t.u32", &s, &len) == VKLLM_ERR_FORMAT && strstr(err_msg(), "found u32"));
    CHECK(gguf_get_arr(g, "t.str", NULL, NULL) == VKLLM_ERR_FORMAT && strstr(err_msg(), "expected array"));
    CHECK(gguf_get_u32(g, "t.arr_i16", &u32) == VKLLM_ERR_FORMAT && strstr(err_msg(), "found array"));
    err_clear();
    CHECK(gguf_get_u32(g, "t.missing", &u32) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_get_i64(g, "t.missing", &i64) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_get_f32(g, "t.missing", &f) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_get_bool(g, "t.missing", &b) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_get_str(g, "t.missing", &s, &len) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_get_arr(g, "t.missing", NULL, NULL) == VKLLM_ERR_INVALID_ARG);
    CHECK(err_msg()[0] == 0);
    CHECK(gguf_arr_data(g, "t.missing") == NULL && gguf_arr_str(g, "t.missing", 0, &len) == NULL);
    CHECK(gguf_find_key(g, "t.missing") == -1 && gguf_find_key(g, "t") == -1);
    CHECK(gguf_find_key(g, "t.u8x") == -1 && gguf_find_key(g, "") == -1);
    /* Strings. */
    CHECK(gguf_get_str(g, "t.str", &s, &len) == VKLLM_OK && str_is(s, len, v->str) && s[len] == 0);
    CHECK(gguf_get_str(g, "t.nulstr", &s, &len) == VKLLM_OK && len == 3 && memcmp(s, "a\0b", 4) == 0);
    CHECK(gguf_get_str(g, "t.empty", &s, &len) == VKLLM_OK && len == 0 && s[0] == 0);
    /* Arrays. */
    gguf_vtype et;
    uint64_t n;
    CHECK(gguf_get_arr(g, "t.arr_i16", &et, &n) == VKLLM_OK && et == GGUF_VT_I16 && n == 5);
    const uint8_t *a = gguf_arr_data(g, "t.arr_i16");
    CHECK(a != NULL);
    for (int i = 0; a && i < 5; i++) {
        int16_t x;
        memcpy(&x, a + 2 * i, 2);
        CHECK(x == v->arr_i16[i]);
    }
    CHECK(gguf_arr_str(g, "t.arr_i16", 0, &len) == NULL);
    CHECK(gguf_get_arr(g, "t.arr_str", &et, &n) == VKLLM_OK && et == GGUF_VT_STRING && n == 3);
    s = gguf_arr_str(g, "t.arr_str", 0, &len);
    CHECK(str_is(s, len, v->str));
    s = gguf_arr_str(g, "t.arr_str", 1, &len);
    CHECK(s && len == 3 && memcmp(s, "x\0y", 3) == 0);
    s = gguf_arr_str(g, "t.arr_str", 2, &len);
    CHECK(s && len == 0);
    CHECK(gguf_arr_str(g, "t.arr_str", 3, &len) == NULL);
    CHECK(gguf_arr_str(g, "t.arr_str", UINT64_MAX, &len) == NULL);
    CHECK(gguf_get_arr(g, "t.arr_empty", &et, &n) == VKLLM_OK && et == GGUF_VT_F64 && n == 0);
    CHECK(gguf_get_arr(g, "t.arr_bool", &et, &n) == VKLLM_OK && et == GGUF_VT_BOOL && n == 2);
    CHECK(gguf_get_u32(g, "\xe4\xb8\xad.key", &u32) == VKLLM_OK && u32 == 42);
    /* Generic access by index, in file order. */
    static const gguf_vtype order[] = {GGUF_VT_U8,  GGUF_VT_I8,  GGUF_VT_U16,  GGUF_VT_I16,
                                       GGUF_VT_U32, GGUF_VT_I32, GGUF_VT_F32,  GGUF_VT_BOOL,
                                       GGUF_VT_STRING, GGUF_VT_U64, GGUF_VT_I64, GGUF_VT_F64};
    for (int64_t i = 0; i < 12; i++) {
        CHECK(gguf_kv_type(g, i) == order[i]);
        gguf_value gv;
        gguf_kv_value(g, i, &gv);
        CHECK(gv.type == order[i] && gv.data != NULL);
    }
    gguf_value gv;
    gguf_kv_value(g, 6, &gv);
    memcpy(&f, gv.data, 4);
    CHECK(f == v->f32);
    gguf_kv_value(g, 8, &gv);
    CHECK(gv.n == strlen(v->str) && memcmp(gv.data, v->str, gv.n) == 0);
    int64_t ia = gguf_find_key(g, "t.arr_str");
    CHECK(ia == 18);
    gguf_kv_value(g, ia, &gv);
    CHECK(gv.type == GGUF_VT_ARRAY && gv.elem_type == GGUF_VT_STRING && gv.n == 3);
    s = gguf_kv_arr_str(g, ia, 0, &len);
    CHECK(str_is(s, len, v->str));
    CHECK(gguf_kv_arr_str(g, ia, 3, &len) == NULL && gguf_kv_arr_str(g, 99, 0, &len) == NULL);
    CHECK(gguf_kv_arr_str(g, 0, 0, &len) == NULL);
    gguf_kv_value(g, 1000, &gv);
    CHECK(gv.type == GGUF_VT_COUNT_);
    for (int64_t i = 0; i < gguf_n_kv(g); i++) CHECK(gguf_find_key(g, gguf_key(g, i)) == i);
    /* Tensors. */
    uint64_t data_off = (header_end + alignment - 1) / alignment * alignment;
    CHECK(gguf_data_offset(g) == data_off);
    CHECK(gguf_n_tensors(g) == 2);
    const gguf_tensor *t = gguf_find_tensor(g, "q.weight");
    CHECK(t && t->n_dims == 3 && t->ne[0] == 64 && t->ne[1] == 3 && t->ne[2] == 2 && t->ne[3] == 1);
    CHECK(t && t->type == DTYPE_Q8_0 && t->nbytes == 408 && t->offset == data_off);
    uint64_t off_b = (408 + alignment - 1) / alignment * alignment;
    t = gguf_find_tensor(g, "i.weight");
    CHECK(t && t->n_dims == 4 && t->ne[0] == 5 && t->ne[3] == 2 && t->nbytes == 40);
    CHECK(t && t->offset == data_off + off_b && t->type == DTYPE_I32 && !dtype_supported(t->type));
    CHECK(t && ((const uint8_t *)t->data)[0] == (uint8_t)(off_b ^ 0x5a));
}

static void test_all_types(uint64_t *rng) {
    static const uint32_t aligns[] = {32, 1, 8, 64, 4096};
    for (uint32_t version = 2; version <= 3; version++)
        for (size_t ai = 0; ai < sizeof aligns / sizeof aligns[0]; ai++) {
            rand_vals v;
            v.u8 = (uint8_t)test_rng_u64(rng);
            v.i8 = (int8_t)test_rng_u64(rng);
            v.u16 = (uint16_t)test_rng_u64(rng);
            v.i16 = (int16_t)test_rng_u64(rng);
            v.u32 = (uint32_t)test_rng_u64(rng);
            v.i32 = (int32_t)test_rng_u64(rng);
            v.f32 = test_rng_f32(rng, -1e6f, 1e6f);
            v.u64 = test_rng_u64(rng) >> (test_rng_u64(rng) % 64);
            v.i64 = (int64_t)test_rng_u64(rng);
            v.f64 = (double)test_rng_f32(rng, -1e3f, 1e3f) / 7.0;
            rand_str(rng, v.str, sizeof v.str);
            for (int i = 0; i < 5; i++) v.arr_i16[i] = (int16_t)test_rng_u64(rng);
            tw w = {0};
            build_all_types(&w, version, aligns[ai], &v);
            /* End of the tensor infos: find it from the known data size. */
            uint64_t off_b = (408 + aligns[ai] - 1) / aligns[ai] * aligns[ai];
            size_t data_start = w.n - (size_t)(off_b + 40);
            gguf *g = NULL;
            vkllm_status s = gguf_open_memory(w.b, w.n, "mem", &g);
            CHECKF(s == VKLLM_OK, "v%u align %u: %s", version, aligns[ai], err_msg());
            if (s == VKLLM_OK) {
                /* header_end is the unpadded end; data_start its aligned value. */
                CHECK(gguf_data_offset(g) == data_start);
                check_all_types(g, version, aligns[ai], &v, data_start);
                gguf_close(g);
            }
            tw_free(&w);
        }
}

/* Same bytes through a real file (mmap path) and through memory. */
static void test_file_roundtrip(void) {
    const char *tmp = getenv("VKLLM_TMP");
    if (!tmp) tmp = ".";
    char path[1024];
    snprintf(path, sizeof path, "%s/gguf_read_small.gguf", tmp);
    tw w = {0};
    tw_small_file(&w);
    CHECK(tw_save(&w, path) == 0);
    gguf *g = NULL;
    CHECKF(gguf_open(path, &g) == VKLLM_OK, "%s", err_msg());
    if (g) {
        CHECK(strcmp(gguf_path(g), path) == 0);
        CHECK(gguf_n_kv(g) == 6 && gguf_n_tensors(g) == 3);
        const gguf_tensor *t = gguf_find_tensor(g, "c.weight");
        CHECK(t && t->nbytes == 16 && memcmp(t->data, w.b + t->offset, 16) == 0);
        CHECK(t && t->offset + t->nbytes == w.n);
        gguf_close(g);
    }
    remove(path);
    gguf_close(NULL);
    /* A missing file is an I/O error, not a format error. */
    snprintf(path, sizeof path, "%s/gguf_read_absent.gguf", tmp);
    CHECK(gguf_open(path, &g) == VKLLM_ERR_IO && g == NULL);
    tw_free(&w);
}

/* Many keys and tensors with random names: every one found, near misses not. */
static void test_index(uint64_t *rng) {
    enum { NK = 700, NT = 300 };
    static char keys[NK][20], names[NT][20];
    for (int i = 0; i < NK; i++) {
        rand_str(rng, keys[i], 12);
        snprintf(keys[i] + 11, 9, "%d", i); /* unique */
    }
    for (int i = 0; i < NT; i++) {
        rand_str(rng, names[i], 8);
        snprintf(names[i] + 7, 13, ".w%d", i);
    }
    tw w = {0};
    tw_header(&w, 3, NT, NK);
    for (int i = 0; i < NK; i++) tw_key(&w, keys[i], 11), tw_u64(&w, (uint64_t)i * 3);
    for (int i = 0; i < NT; i++) {
        uint64_t ne = 8;
        tw_tensor(&w, names[i], 1, &ne, DTYPE_F32, (uint64_t)i * 32);
    }
    tw_pad(&w, 32);
    for (int i = 0; i < NT * 32; i++) tw_u8(&w, (uint8_t)i);
    gguf *g = NULL;
    CHECKF(gguf_open_memory(w.b, w.n, "idx", &g) == VKLLM_OK, "%s", err_msg());
    if (g) {
        int bad = 0;
        for (int i = 0; i < NK; i++) {
            int64_t v = -1;
            if (gguf_find_key(g, keys[i]) != i || gguf_get_i64(g, keys[i], &v) != VKLLM_OK || v != i * 3) bad++;
        }
        CHECK(bad == 0);
        bad = 0;
        for (int i = 0; i < NT; i++) {
            const gguf_tensor *t = gguf_find_tensor(g, names[i]);
            if (t != gguf_tensor_at(g, i) || t->offset != gguf_data_offset(g) + (uint64_t)i * 32) bad++;
        }
        CHECK(bad == 0);
        char miss[24];
        snprintf(miss, sizeof miss, "%sX", keys[5]);
        CHECK(gguf_find_key(g, miss) == -1);
        CHECK(gguf_find_tensor(g, "") == NULL);
        gguf_close(g);
    }
    tw_free(&w);
}

/* Every allocation failure point returns NOMEM cleanly (ASan checks for leaks). */
static void test_alloc_failures(void) {
    tw w = {0};
    tw_small_file(&w);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        gguf *g = NULL;
        mem_fail_after(n);
        vkllm_status s = gguf_open_memory(w.b, w.n, "mem", &g);
        mem_fail_after(-1);
        if (s == VKLLM_OK) {
            ok = 1;
            CHECK(n > 5);
            gguf_close(g);
        } else {
            CHECKF(s == VKLLM_ERR_NOMEM && g == NULL, "n=%ld s=%d %s", n, s, err_msg());
        }
    }
    CHECK(ok);
    tw_free(&w);
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    const char *dir = test_data_dir();
    if (dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/tiny-llama2-f16.gguf", dir);
        test_tiny_llama2(path, 0);
        snprintf(path, sizeof path, "%s/models/tiny-llama2-q8_0.gguf", dir);
        test_tiny_llama2(path, 1);
        test_vocabs(dir);
    }
    test_all_types(&rng);
    test_file_roundtrip();
    test_index(&rng);
    test_alloc_failures();
    return test_finish();
}
