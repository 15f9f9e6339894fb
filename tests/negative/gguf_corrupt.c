/* gguf_corrupt.c — malformed GGUF files must fail to open with a specific
 * message, without crashing, over-reading or leaking. Each case is opened
 * from an exactly-sized heap copy (so ASan sees any over-read) and from a
 * file under $VKLLM_TMP (the mmap path). */
#include "core/dtype.h"
#include "core/err.h"
#include "format/gguf.h"
#include "gguf_testwriter.h"
#include "testutil.h"

static const char *tmp_dir(void) {
    const char *t = getenv("VKLLM_TMP");
    return t && *t ? t : ".";
}

static void expect_fail(const tw *w, const char *label, vkllm_status want, const char *substr) {
    uint8_t *copy = malloc(w->n ? w->n : 1);
    if (w->n) memcpy(copy, w->b, w->n);
    gguf *g = (gguf *)1;
    err_clear();
    vkllm_status s = gguf_open_memory(copy, w->n, label, &g);
    CHECKF(s == want, "%s: status %d, want %d (%s)", label, s, want, err_msg());
    CHECKF(strstr(err_msg(), substr) != NULL, "%s: message '%s' lacks '%s'", label, err_msg(), substr);
    CHECKF(strstr(err_msg(), label) != NULL, "%s: message '%s' lacks the file name", label, err_msg());
    CHECK(g == NULL);
    if (s == VKLLM_OK) gguf_close(g);
    free(copy);

    char path[1024];
    snprintf(path, sizeof path, "%s/gguf_corrupt_%s.gguf", tmp_dir(), label);
    CHECK(tw_save(w, path) == 0);
    g = (gguf *)1;
    s = gguf_open(path, &g);
    CHECKF(s == want, "%s (file): status %d (%s)", label, s, err_msg());
    CHECKF(strstr(err_msg(), substr) != NULL, "%s (file): message '%s' lacks '%s'", label, err_msg(), substr);
    CHECK(g == NULL);
    if (s == VKLLM_OK) gguf_close(g);
    remove(path);
}

/* A file with one key whose value the caller writes. */
static void kv_case(const char *label, const char *key, uint32_t type, void (*value)(tw *),
                    const char *substr) {
    tw w = {0};
    tw_header(&w, 3, 0, 1);
    tw_key(&w, key, type);
    value(&w);
    expect_fail(&w, label, VKLLM_ERR_FORMAT, substr);
    tw_free(&w);
}

static void v_huge_len(tw *w) { tw_u64(w, UINT64_MAX), tw_bytes(w, "abcdefgh", 8); }
static void v_u32_huge_arr(tw *w) { tw_u32(w, 4), tw_u64(w, 1ull << 62), tw_u32(w, 1); }
static void v_u64_wrap_arr(tw *w) { tw_u32(w, 10), tw_u64(w, 1ull << 61), tw_u64(w, 1); } /* 2^61 * 8 = 2^64 */
static void v_str_huge_arr(tw *w) { tw_u32(w, 8), tw_u64(w, UINT64_MAX), tw_str(w, "a"); }
static void v_str_arr_trunc(tw *w) { tw_u32(w, 8), tw_u64(w, 3), tw_str(w, "a"), tw_u64(w, 100), tw_u64(w, 0); }
static void v_nested(tw *w) { tw_u32(w, 9), tw_u64(w, 1), tw_u32(w, 4), tw_u64(w, 1), tw_u32(w, 0); }
static void v_bad_elem(tw *w) { tw_u32(w, 13), tw_u64(w, 1), tw_u32(w, 0); }
static void v_bool2(tw *w) { tw_u8(w, 2); }
static void v_bool_arr(tw *w) { tw_u32(w, 7), tw_u64(w, 3), tw_u8(w, 1), tw_u8(w, 0), tw_u8(w, 0xff); }
static void v_u32(tw *w) { tw_u32(w, 7); }
static void v_u64(tw *w) { tw_u64(w, 32); }
static void v_zero(tw *w) { tw_u32(w, 0); }
static void v_48(tw *w) { tw_u32(w, 48); }
static void v_f32_short(tw *w) { tw_u8(w, 1), tw_u8(w, 2); }

static void test_header_cases(void) {
    tw w = {0};
    expect_fail(&w, "empty", VKLLM_ERR_FORMAT, "truncated reading magic");

    tw_header(&w, 3, 0, 0);
    memcpy(w.b, "GGUG", 4);
    expect_fail(&w, "magic", VKLLM_ERR_FORMAT, "bad magic");
    tw_free(&w);

    tw_header(&w, 1, 0, 0);
    expect_fail(&w, "version1", VKLLM_ERR_FORMAT, "version 1 is not supported");
    tw_free(&w);
    tw_header(&w, 99, 0, 0);
    expect_fail(&w, "version99", VKLLM_ERR_FORMAT, "unknown GGUF version 99");
    tw_free(&w);
    tw_header(&w, 0x03000000u, 0, 0);
    expect_fail(&w, "bigendian", VKLLM_ERR_FORMAT, "big-endian");
    tw_free(&w);

    tw_header(&w, 3, 1ull << 63, 0);
    expect_fail(&w, "ntensors63", VKLLM_ERR_FORMAT, "tensor count 9223372036854775808 cannot fit");
    tw_free(&w);
    tw_header(&w, 3, 1ull << 60, 0);
    expect_fail(&w, "ntensors60", VKLLM_ERR_FORMAT, "tensor count 1152921504606846976 cannot fit");
    tw_free(&w);
    tw_header(&w, 3, 0, UINT64_MAX);
    expect_fail(&w, "nkv", VKLLM_ERR_FORMAT, "kv count 18446744073709551615 cannot fit");
    tw_free(&w);
    /* Counts that fit the remaining bytes only separately. */
    tw_header(&w, 3, 2, 3);
    for (int i = 0; i < 60; i++) tw_u8(&w, 0);
    expect_fail(&w, "counts_sum", VKLLM_ERR_FORMAT, "tensor count 2 cannot fit");
    tw_free(&w);
    /* Counts that fit, then the data runs out. */
    tw_header(&w, 3, 0, 1);
    tw_str(&w, "abcdefgh");
    tw_u16(&w, 4);
    expect_fail(&w, "kv_trunc", VKLLM_ERR_FORMAT, "truncated reading value type");
    tw_free(&w);
}

static void test_kv_cases(void) {
    tw w = {0};
    tw_header(&w, 3, 0, 1);
    tw_u64(&w, UINT64_MAX);
    tw_bytes(&w, "abcdefgh", 8);
    expect_fail(&w, "keylen", VKLLM_ERR_FORMAT, "key length 18446744073709551615 exceeds");
    tw_free(&w);

    tw_header(&w, 3, 0, 1);
    tw_key(&w, "a\xff", 4);
    tw_u32(&w, 0);
    expect_fail(&w, "key_utf8", VKLLM_ERR_FORMAT, "key #0 is not valid UTF-8");
    tw_free(&w);
    tw_header(&w, 3, 0, 2);
    tw_key(&w, "fine", 4), tw_u32(&w, 0);
    tw_key(&w, "\xc0\xaf", 4), tw_u32(&w, 0); /* overlong '/' */
    expect_fail(&w, "key_overlong", VKLLM_ERR_FORMAT, "key #1 is not valid UTF-8");
    tw_free(&w);
    tw_header(&w, 3, 0, 1);
    tw_strn(&w, "a\0b", 3), tw_u32(&w, 4), tw_u32(&w, 0);
    expect_fail(&w, "key_nul", VKLLM_ERR_FORMAT, "key #0 contains a NUL byte");
    tw_free(&w);

    tw_header(&w, 3, 0, 3);
    tw_key(&w, "a", 4), tw_u32(&w, 0);
    tw_key(&w, "b", 4), tw_u32(&w, 0);
    tw_key(&w, "a", 8), tw_str(&w, "x");
    expect_fail(&w, "dupkey", VKLLM_ERR_FORMAT, "duplicate key 'a'");
    tw_free(&w);

    kv_case("vtype13", "k", 13, v_u32, "key 'k': unknown value type 13");
    kv_case("vtypemax", "k", UINT32_MAX, v_u32, "unknown value type 4294967295");
    kv_case("strlen", "k", 8, v_huge_len, "key 'k': string value length 18446744073709551615 exceeds");
    kv_case("arr_u32", "k", 9, v_u32_huge_arr, "array of 4611686018427387904 u32 elements exceeds");
    kv_case("arr_u64wrap", "k", 9, v_u64_wrap_arr, "array of 2305843009213693952 u64 elements exceeds");
    kv_case("arr_str", "k", 9, v_str_huge_arr, "array of 18446744073709551615 strings exceeds");
    kv_case("arr_str_trunc", "k", 9, v_str_arr_trunc, "array string length 100 exceeds");
    kv_case("arr_nested", "k", 9, v_nested, "nested arrays are not supported");
    kv_case("arr_elem", "k", 9, v_bad_elem, "unknown array element type 13");
    kv_case("bool2", "k", 7, v_bool2, "bool value 2");
    kv_case("bool_arr", "k", 9, v_bool_arr, "bool value 255");
    kv_case("f32_short", "k", 6, v_f32_short, "key 'k': truncated reading f32");
    kv_case("align_type", "general.alignment", 10, v_u64, "general.alignment has type u64, expected u32");
    kv_case("align_zero", "general.alignment", 4, v_zero, "general.alignment 0 is not a nonzero power");
    kv_case("align_48", "general.alignment", 4, v_48, "general.alignment 48 is not a nonzero power");
    (void)v_u32;
}

typedef struct tcase {
    const char *label;
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    uint64_t offset;
    vkllm_status want;
    const char *substr;
} tcase;

/* One valid tensor "ok" (f32 [8], 32 bytes at 0) then the case's tensor; data
 * for 64 bytes. */
static void test_tensor_cases(void) {
    static const tcase cases[] = {
        {"ndims5", "x", 5, {1, 1, 1, 1, 1}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "tensor 'x': n_dims 5 not in 1..4"},
        {"ndims0", "x", 0, {0}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "n_dims 0 not in 1..4"},
        {"ne_zero", "x", 2, {8, 0}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "tensor 'x': dimension 1 is 0"},
        {"ne_wrap", "x", 2, {1ull << 32, 1ull << 32}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "element count overflows"},
        {"ne_2p63", "x", 3, {1ull << 31, 1ull << 16, 1ull << 16}, DTYPE_F32, 32, VKLLM_ERR_FORMAT,
         "element count overflows (dimension 2"},
        {"ne_huge", "x", 1, {1ull << 40}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "past end of file"},
        {"type23", "x", 1, {8}, 23, 32, VKLLM_ERR_UNSUPPORTED, "tensor 'x': unsupported type 23"},
        {"typemax", "x", 1, {8}, UINT32_MAX, 32, VKLLM_ERR_UNSUPPORTED, "unsupported type 4294967295"},
        {"block", "x", 2, {33, 2}, DTYPE_Q8_0, 32, VKLLM_ERR_FORMAT,
         "row length 33 is not a multiple of the q8_0 block size 32"},
        {"misaligned", "x", 1, {4}, DTYPE_F32, 48, VKLLM_ERR_FORMAT,
         "tensor 'x': offset 48 is not a multiple of the alignment 32"},
        {"past_eof", "x", 1, {16}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "tensor 'x': data (offset 32 + 64 bytes) past end"},
        {"offset_wrap", "x", 1, {8}, DTYPE_F32, UINT64_MAX - 31, VKLLM_ERR_FORMAT, "past end of file"},
        {"dup_tensor", "ok", 1, {8}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "duplicate tensor name 'ok'"},
        {"name_utf8", "\xed\xa0\x80", 1, {8}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "tensor name #1 is not valid UTF-8"},
        {"name_trunc_utf8", "ab\xe4\xb8", 1, {8}, DTYPE_F32, 32, VKLLM_ERR_FORMAT, "tensor name #1 is not valid"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const tcase *c = &cases[k];
        tw w = {0};
        tw_header(&w, 2, 2, 0);
        uint64_t ne = 8;
        tw_tensor(&w, "ok", 1, &ne, DTYPE_F32, 0);
        tw_tensor(&w, c->name, c->n_dims, c->ne, c->type, c->offset);
        tw_pad(&w, 32);
        for (int i = 0; i < 64; i++) tw_u8(&w, (uint8_t)i);
        expect_fail(&w, c->label, c->want, c->substr);
        tw_free(&w);
    }
    /* Sanity: the same layout with a good second tensor opens. */
    tw w = {0};
    tw_header(&w, 2, 2, 0);
    uint64_t ne = 8;
    tw_tensor(&w, "ok", 1, &ne, DTYPE_F32, 0);
    tw_tensor(&w, "x", 1, &ne, DTYPE_F32, 32);
    tw_pad(&w, 32);
    for (int i = 0; i < 64; i++) tw_u8(&w, (uint8_t)i);
    gguf *g = NULL;
    CHECKF(gguf_open_memory(w.b, w.n, "good", &g) == VKLLM_OK, "%s", err_msg());
    gguf_close(g);
    /* NUL inside a tensor name. */
    tw_free(&w);
    tw_header(&w, 3, 1, 0);
    tw_strn(&w, "a\0", 2), tw_u32(&w, 1), tw_u64(&w, 8), tw_u32(&w, 0), tw_u64(&w, 0);
    tw_pad(&w, 32);
    for (int i = 0; i < 32; i++) tw_u8(&w, 0);
    expect_fail(&w, "name_nul", VKLLM_ERR_FORMAT, "tensor name #0 contains a NUL byte");
    tw_free(&w);
    /* Alignment other than 32 applies to tensor offsets. */
    tw_header(&w, 3, 1, 1);
    tw_key(&w, "general.alignment", 4), tw_u32(&w, 64);
    tw_tensor(&w, "x", 1, &ne, DTYPE_F32, 32);
    tw_pad(&w, 64);
    for (int i = 0; i < 128; i++) tw_u8(&w, 0);
    expect_fail(&w, "misaligned64", VKLLM_ERR_FORMAT, "offset 32 is not a multiple of the alignment 64");
    tw_free(&w);
}

/* Every prefix of a small valid file fails cleanly (the last tensor ends at EOF). */
static void test_truncation(void) {
    tw w = {0};
    tw_small_file(&w);
    gguf *g = NULL;
    CHECKF(gguf_open_memory(w.b, w.n, "full", &g) == VKLLM_OK, "%s", err_msg());
    gguf_close(g);
    int bad = 0;
    for (size_t n = 0; n < w.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, w.b, n);
        g = (gguf *)1;
        vkllm_status s = gguf_open_memory(copy, n, "prefix", &g);
        const char *m = err_msg();
        int specific = strstr(m, "truncated") || strstr(m, "past end of file") || strstr(m, "exceeds") ||
                       strstr(m, "cannot fit");
        if (s != VKLLM_ERR_FORMAT || g != NULL || !specific) {
            if (bad++ < 5) fprintf(stderr, "prefix %zu: status %d: %s\n", n, s, m);
        }
        if (s == VKLLM_OK) gguf_close(g);
        free(copy);
    }
    CHECKF(bad == 0, "%d of %zu prefixes misbehaved", bad, w.n);
    /* A few through the mmap path too. */
    size_t cuts[] = {3, 23, 40, w.n / 2, w.n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        tw t = {0};
        tw_bytes(&t, w.b, cuts[k]);
        char label[32];
        snprintf(label, sizeof label, "cut%zu", cuts[k]);
        expect_fail(&t, label, VKLLM_ERR_FORMAT, "");
        tw_free(&t);
    }
    tw_free(&w);
}

int main(void) {
    test_header_cases();
    test_kv_cases();
    test_tensor_cases();
    test_truncation();
    return test_finish();
}
