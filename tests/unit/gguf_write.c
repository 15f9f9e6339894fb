/* gguf_write.c — the GGUF writer round-tripped through the reader: every value
 * type (scalars, strings with NUL bytes, arrays of every element type including
 * strings), key replacement, default and custom alignment, many tensors of
 * random types and shapes streamed in random-sized pieces, and a copy of every
 * key of a written file giving the same header bytes. */
#include <unistd.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "format/gguf.h"
#include "format/gguf_write.h"
#include "quant/quant.h"
#include "testutil.h"

static char out_path[4096];

static void make_path(const char *name) {
    const char *tmp = getenv("VKLLM_TMP");
    snprintf(out_path, sizeof out_path, "%s/%s.%ld.gguf", tmp && *tmp ? tmp : "/tmp", name,
             (long)getpid());
}

#define OK(expr)                                                                                   \
    do {                                                                                           \
        vkllm_status s_ = (expr);                                                                  \
        CHECKF(s_ == VKLLM_OK, "%s: %s", #expr, err_msg());                                        \
    } while (0)

static void test_values(uint64_t *rng, uint32_t alignment) {
    make_path("gw_values");
    gguf_writer *w;
    OK(gguf_writer_create(out_path, &w));
    uint8_t u8 = (uint8_t)test_rng_u64(rng);
    int8_t i8 = (int8_t)test_rng_u64(rng);
    uint16_t u16 = (uint16_t)test_rng_u64(rng);
    int16_t i16 = (int16_t)test_rng_u64(rng);
    uint32_t u32 = (uint32_t)test_rng_u64(rng);
    int32_t i32 = (int32_t)test_rng_u64(rng);
    float f32 = test_rng_f32(rng, -1e6f, 1e6f);
    uint64_t u64 = test_rng_u64(rng);
    int64_t i64 = (int64_t)test_rng_u64(rng);
    double f64 = (double)test_rng_f32(rng, -1, 1) * 1e300;
    uint8_t b = 1;
    OK(gguf_writer_set_scalar(w, "t.u8", GGUF_VT_U8, &u8));
    OK(gguf_writer_set_scalar(w, "t.i8", GGUF_VT_I8, &i8));
    OK(gguf_writer_set_scalar(w, "t.u16", GGUF_VT_U16, &u16));
    OK(gguf_writer_set_scalar(w, "t.i16", GGUF_VT_I16, &i16));
    OK(gguf_writer_set_u32(w, "t.u32", 7)); /* replaced below: the last value wins */
    OK(gguf_writer_set_scalar(w, "t.u32", GGUF_VT_U32, &u32));
    OK(gguf_writer_set_i32(w, "t.i32", i32));
    OK(gguf_writer_set_f32(w, "t.f32", f32));
    OK(gguf_writer_set_scalar(w, "t.bool", GGUF_VT_BOOL, &b));
    OK(gguf_writer_set_bool(w, "t.bool0", 0));
    OK(gguf_writer_set_scalar(w, "t.u64", GGUF_VT_U64, &u64));
    OK(gguf_writer_set_scalar(w, "t.i64", GGUF_VT_I64, &i64));
    OK(gguf_writer_set_scalar(w, "t.f64", GGUF_VT_F64, &f64));
    OK(gguf_writer_set_str(w, "t.str", "a\0b\xc3\xa9", 5));
    OK(gguf_writer_set_str(w, "t.empty", "", 0));
    CHECK(gguf_writer_set_scalar(w, "t.bad", GGUF_VT_STRING, &u8) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_writer_set_arr(w, "t.bad", GGUF_VT_ARRAY, 0, NULL) == VKLLM_ERR_INVALID_ARG);
    OK(gguf_writer_set_str(w, "t.removed", "x", 1));
    gguf_writer_remove_key(w, "t.removed");
    CHECK(!gguf_writer_has_key(w, "t.removed") && gguf_writer_has_key(w, "t.str"));
    if (alignment != 32) OK(gguf_writer_set_u32(w, "general.alignment", alignment));

    /* one array per numeric element type, random lengths (0 included) */
    static const gguf_vtype et[] = {GGUF_VT_U8,  GGUF_VT_I8,  GGUF_VT_U16, GGUF_VT_I16,
                                    GGUF_VT_U32, GGUF_VT_I32, GGUF_VT_F32, GGUF_VT_BOOL,
                                    GGUF_VT_U64, GGUF_VT_I64, GGUF_VT_F64};
    static const size_t es[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 8, 8};
    uint8_t arr[11][800];
    uint64_t an[11];
    for (int k = 0; k < 11; k++) {
        an[k] = k == 3 ? 0 : test_rng_u64(rng) % 100;
        for (size_t j = 0; j < an[k] * es[k]; j++) arr[k][j] = (uint8_t)test_rng_u64(rng);
        if (et[k] == GGUF_VT_BOOL)
            for (size_t j = 0; j < an[k]; j++) arr[k][j] &= 1;
        if (et[k] == GGUF_VT_F32 || et[k] == GGUF_VT_F64) /* keep floats finite */
            for (size_t j = 0; j < an[k]; j++) arr[k][j * es[k] + es[k] - 1] &= 0x3f;
        char key[32];
        snprintf(key, sizeof key, "a.%d", k);
        OK(gguf_writer_set_arr(w, key, et[k], an[k], arr[k]));
    }
    const char *strs[] = {"", "hello", "\xe2\x96\x81world", "x y"};
    size_t lens[] = {0, 5, 8, 3};
    OK(gguf_writer_set_arr_str(w, "a.str", 4, strs, lens));
    OK(gguf_writer_set_arr_str(w, "a.str0", 0, NULL, NULL));
    /* a 1-element tensor so the data section exists */
    uint64_t ne[1] = {3};
    OK(gguf_writer_add_tensor(w, "t", 1, ne, DTYPE_F32));
    CHECK(gguf_writer_data_size(w) == (alignment > 12 ? alignment : 12));
    OK(gguf_writer_begin_data(w));
    CHECK(gguf_writer_set_u32(w, "late", 1) == VKLLM_ERR_INVALID_ARG);
    float tv[3] = {1, 2, 3};
    OK(gguf_writer_write(w, tv, sizeof tv));
    OK(gguf_writer_finish(w));
    gguf_writer_free(w);

    gguf *g = NULL;
    vkllm_status s = gguf_open(out_path, &g);
    CHECKF(s == VKLLM_OK, "%s", err_msg());
    if (s != VKLLM_OK) return;
    CHECK(gguf_version(g) == 3);
    CHECK(gguf_alignment(g) == alignment);
    CHECK(gguf_data_offset(g) % alignment == 0);
    gguf_value v;
#define SCALAR(key, vt, var)                                                                     \
    do {                                                                                           \
        int64_t i_ = gguf_find_key(g, key);                                                        \
        CHECKF(i_ >= 0, "%s", key);                                                                \
        if (i_ < 0) break;                                                                         \
        gguf_kv_value(g, i_, &v);                                                                  \
        CHECKF(v.type == vt && memcmp(v.data, &var, sizeof var) == 0, "%s", key);                \
    } while (0)
    SCALAR("t.u8", GGUF_VT_U8, u8);
    SCALAR("t.i8", GGUF_VT_I8, i8);
    SCALAR("t.u16", GGUF_VT_U16, u16);
    SCALAR("t.i16", GGUF_VT_I16, i16);
    SCALAR("t.u32", GGUF_VT_U32, u32);
    SCALAR("t.i32", GGUF_VT_I32, i32);
    SCALAR("t.f32", GGUF_VT_F32, f32);
    SCALAR("t.bool", GGUF_VT_BOOL, b);
    SCALAR("t.u64", GGUF_VT_U64, u64);
    SCALAR("t.i64", GGUF_VT_I64, i64);
    SCALAR("t.f64", GGUF_VT_F64, f64);
    int bv = 5;
    CHECK(gguf_get_bool(g, "t.bool0", &bv) == VKLLM_OK && bv == 0);
    const char *str;
    size_t len;
    CHECK(gguf_get_str(g, "t.str", &str, &len) == VKLLM_OK && len == 5 && !memcmp(str, "a\0b\xc3\xa9", 5));
    CHECK(gguf_get_str(g, "t.empty", &str, &len) == VKLLM_OK && len == 0);
    CHECK(gguf_find_key(g, "t.removed") < 0 && gguf_find_key(g, "t.bad") < 0);
    for (int k = 0; k < 11; k++) {
        char key[32];
        snprintf(key, sizeof key, "a.%d", k);
        gguf_vtype t;
        uint64_t n;
        CHECKF(gguf_get_arr(g, key, &t, &n) == VKLLM_OK && t == et[k] && n == an[k], "%s", key);
        const void *d = gguf_arr_data(g, key);
        CHECKF(n == 0 || (d && memcmp(d, arr[k], (size_t)(n * es[k])) == 0), "%s data", key);
    }
    gguf_vtype t;
    uint64_t n;
    CHECK(gguf_get_arr(g, "a.str", &t, &n) == VKLLM_OK && t == GGUF_VT_STRING && n == 4);
    for (uint64_t j = 0; j < 4; j++) {
        str = gguf_arr_str(g, "a.str", j, &len);
        CHECK(str && len == lens[j] && memcmp(str, strs[j], len) == 0);
    }
    CHECK(gguf_get_arr(g, "a.str0", &t, &n) == VKLLM_OK && t == GGUF_VT_STRING && n == 0);
    const gguf_tensor *gt = gguf_find_tensor(g, "t");
    CHECK(gt && gt->n_dims == 1 && gt->ne[0] == 3 && gt->type == DTYPE_F32 &&
          memcmp(gt->data, tv, 12) == 0);

    /* copying every key into a new file reproduces the header byte for byte */
    char copy_path[4200];
    snprintf(copy_path, sizeof copy_path, "%s.copy", out_path);
    gguf_writer *w2;
    OK(gguf_writer_create(copy_path, &w2));
    for (int64_t i = 0; i < gguf_n_kv(g); i++) OK(gguf_writer_copy_kv(w2, g, i));
    OK(gguf_writer_add_tensor(w2, "t", 1, ne, DTYPE_F32));
    OK(gguf_writer_begin_data(w2));
    OK(gguf_writer_write(w2, tv, sizeof tv));
    OK(gguf_writer_finish(w2));
    gguf_writer_free(w2);
    size_t la, lb;
    char *fa = test_read_file(out_path, &la), *fb = test_read_file(copy_path, &lb);
    CHECK(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
    free(fa);
    free(fb);
    gguf_close(g);
    unlink(out_path);
    unlink(copy_path);
}

/* Many tensors of random supported types and shapes; data in random pieces. */
static void test_tensors(uint64_t *rng) {
    make_path("gw_tensors");
    static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0,
                                     DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0, DTYPE_Q5_1,
                                     DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
    enum { NT = 150 };
    uint64_t ne[NT][4], nbytes[NT], total = 0;
    uint32_t nd[NT], ty[NT];
    gguf_writer *w;
    OK(gguf_writer_create(out_path, &w));
    OK(gguf_writer_set_str(w, "general.architecture", "test", 4));
    for (int i = 0; i < NT; i++) {
        ty[i] = types[test_rng_u64(rng) % 11];
        nd[i] = 1 + (uint32_t)(test_rng_u64(rng) % 4);
        uint64_t bs = dtype_block_size(ty[i]);
        ne[i][0] = bs * (1 + test_rng_u64(rng) % 3);
        for (int d = 1; d < 4; d++) ne[i][d] = d < (int)nd[i] ? 1 + test_rng_u64(rng) % 4 : 1;
        nbytes[i] = dtype_row_bytes(ty[i], ne[i][0]) * ne[i][1] * ne[i][2] * ne[i][3];
        total += nbytes[i];
        char name[32];
        snprintf(name, sizeof name, "tensor.%d", i);
        OK(gguf_writer_add_tensor(w, name, nd[i], ne[i], ty[i]));
    }
    uint64_t bad_ne[2] = {QK_K + 1, 1};
    CHECK(gguf_writer_add_tensor(w, "bad", 2, bad_ne, DTYPE_Q4_K) == VKLLM_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "tensor.0", 1, ne[0], ty[0]) == VKLLM_ERR_INVALID_ARG);
    uint8_t *data = malloc((size_t)total);
    for (uint64_t j = 0; j < total; j++) data[j] = (uint8_t)test_rng_u64(rng);
    OK(gguf_writer_begin_data(w));
    for (uint64_t off = 0; off < total;) {
        uint64_t k = 1 + test_rng_u64(rng) % 3000;
        if (k > total - off) k = total - off;
        OK(gguf_writer_write(w, data + off, (size_t)k));
        off += k;
    }
    OK(gguf_writer_finish(w));
    gguf_writer_free(w);
    CHECKF(access(out_path, F_OK) == 0, "%s missing", out_path);

    gguf *g = NULL;
    vkllm_status s = gguf_open(out_path, &g);
    CHECKF(s == VKLLM_OK, "%s", err_msg());
    if (s == VKLLM_OK) {
        CHECK(gguf_n_tensors(g) == NT);
        uint64_t off = 0;
        for (int i = 0; i < NT; i++) {
            const gguf_tensor *t = gguf_tensor_at(g, i);
            char name[32];
            snprintf(name, sizeof name, "tensor.%d", i);
            CHECK(strcmp(t->name, name) == 0 && t->type == ty[i] && t->n_dims == nd[i]);
            for (int d = 0; d < 4; d++) CHECK(t->ne[d] == ne[i][d]);
            CHECK(t->nbytes == nbytes[i]);
            CHECK((t->offset - gguf_data_offset(g)) % 32 == 0);
            CHECKF(memcmp(t->data, data + off, (size_t)nbytes[i]) == 0, "tensor %d data", i);
            off += nbytes[i];
        }
        gguf_close(g);
    }
    free(data);
    unlink(out_path);
}

int main(void) {
    uint64_t seed = test_seed(), rng = seed | 1;
    test_values(&rng, 32);
    test_values(&rng, 64);
    test_values(&rng, 1);
    test_tensors(&rng);
    return test_finish();
}
