/* tokenizer_bad.c — hostile inputs to the tokenizer.
 * Text: random invalid UTF-8 never fails and round-trips byte for byte
 * through SPM byte fallback and byte-level BPE (documented behaviour: bytes
 * that form no character become <0xNN> / byte-alphabet tokens); the empty
 * string gives no ids (or just BOS); a 10 MB single line finishes (the merge
 * loops are O(n log n); ctest's timeout bounds it).
 * Vocabularies (small GGUF files written here): gpt2 model without merges,
 * BOS id 10^9, token_type of the wrong length, unknown pre-tokenizer, token
 * type out of range; and a llama2.c file cut short. Each must fail with a
 * FORMAT/UNSUPPORTED status and a message, without leaks. */
#include "core/buf.h"
#include "core/mem.h"
#include "format/gguf.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

/* ---- a minimal GGUF writer (v3, no tensors) */
typedef struct gw { FILE *f; } gw;
static void gw_u32(gw *w, uint32_t v) { fwrite(&v, 4, 1, w->f); }
static void gw_u64(gw *w, uint64_t v) { fwrite(&v, 8, 1, w->f); }
static void gw_str(gw *w, const char *s) { gw_u64(w, strlen(s)); fwrite(s, 1, strlen(s), w->f); }
static void gw_kv_str(gw *w, const char *k, const char *v) { gw_str(w, k); gw_u32(w, 8); gw_str(w, v); }
static void gw_kv_u32(gw *w, const char *k, uint32_t v) { gw_str(w, k); gw_u32(w, 4); gw_u32(w, v); }
static void gw_kv_strs(gw *w, const char *k, const char *const *v, size_t n) {
    gw_str(w, k); gw_u32(w, 9); gw_u32(w, 8); gw_u64(w, n);
    for (size_t i = 0; i < n; i++) gw_str(w, v[i]);
}
static void gw_kv_i32s(gw *w, const char *k, const int32_t *v, size_t n) {
    gw_str(w, k); gw_u32(w, 9); gw_u32(w, 5); gw_u64(w, n);
    fwrite(v, 4, n, w->f);
}

static const char *const toks[] = {"a", "b", "ab", "<s>"};
static const int32_t types[] = {1, 1, 1, 3};
static const char *const merges[] = {"a b"};

enum { BAD_NO_MERGES, BAD_BOS, BAD_TYPES_LEN, BAD_PRE, BAD_TYPE_VALUE, GOOD };

static char *write_vocab(int which) {
    static char path[1200];
    const char *tmp = getenv("VKLLM_TMP");
    snprintf(path, sizeof path, "%s/tok_bad_%d.gguf", tmp && *tmp ? tmp : "/tmp", which);
    gw w = {fopen(path, "wb")};
    if (!w.f) return NULL;
    int n_kv = 3 + 2 * (which != BAD_NO_MERGES) + (which == BAD_BOS);
    fwrite("GGUF", 1, 4, w.f);
    gw_u32(&w, 3);
    gw_u64(&w, 0);
    gw_u64(&w, (uint64_t)n_kv);
    gw_kv_str(&w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(&w, "tokenizer.ggml.pre", which == BAD_PRE ? "no-such-pretokenizer" : "gpt-2");
    gw_kv_strs(&w, "tokenizer.ggml.tokens", toks, 4);
    int32_t ty[4];
    memcpy(ty, types, sizeof ty);
    if (which == BAD_TYPE_VALUE) ty[1] = 77;
    if (which != BAD_NO_MERGES) {
        if (which == BAD_TYPES_LEN) gw_kv_i32s(&w, "tokenizer.ggml.token_type", ty, 3);
        else gw_kv_i32s(&w, "tokenizer.ggml.token_type", ty, 4);
    }
    if (which == BAD_BOS) gw_kv_u32(&w, "tokenizer.ggml.bos_token_id", 1000000000u);
    if (which != BAD_NO_MERGES) gw_kv_strs(&w, "tokenizer.ggml.merges", merges, 1);
    fclose(w.f);
    return path;
}

static void check_bad_vocab(int which, vkllm_status want, const char *needle) {
    char *p = write_vocab(which);
    CHECK(p != NULL);
    if (!p) return;
    gguf *g = NULL;
    vkllm_status st = gguf_open(p, &g);
    CHECKF(st == VKLLM_OK, "variant %d: gguf_open: %s", which, vkllm_last_error());
    if (st) return;
    tokenizer *t = NULL;
    st = tokenizer_from_gguf(g, &t);
    gguf_close(g);
    if (which == GOOD) {
        CHECKF(st == VKLLM_OK, "good vocab: %s", vkllm_last_error());
        int32_t *ids;
        size_t n;
        CHECK(t && tokenizer_encode(t, "ab a", 4, 0, &ids, &n) == VKLLM_OK);
        if (t) {
            /* "ab" merges; " " and "a" are not in this vocabulary: the space is dropped */
            CHECK(n >= 2 && ids[0] == 2);
            mem_free(ids);
        }
    } else {
        CHECKF(st == want, "variant %d: status %d (%s)", which, (int)st, vkllm_last_error());
        CHECKF(strstr(vkllm_last_error(), needle) != NULL, "variant %d: message '%s' lacks '%s'", which,
               vkllm_last_error(), needle);
        CHECK(t == NULL);
    }
    tokenizer_free(t);
}

static tokenizer *open_gguf(const char *rel) {
    char *p = test_path(rel);
    if (!p) return NULL;
    gguf *g = NULL;
    tokenizer *t = NULL;
    if (gguf_open(p, &g) == VKLLM_OK) tokenizer_from_gguf(g, &t);
    gguf_close(g);
    free(p);
    CHECKF(t != NULL, "%s: %s", rel, vkllm_last_error());
    return t;
}

static void check_text(tokenizer *t, uint64_t *rng) {
    int32_t *ids;
    size_t n;
    /* empty */
    CHECK(tokenizer_encode(t, "", 0, 0, &ids, &n) == VKLLM_OK && n == 0);
    mem_free(ids);
    CHECK(tokenizer_encode(t, "", 0, TOKENIZER_ADD_BOS, &ids, &n) == VKLLM_OK);
    CHECK(n == (size_t)(tokenizer_adds_bos(t) ? 1 : 0));
    mem_free(ids);
    /* random bytes (mostly invalid UTF-8) round-trip exactly */
    for (int r = 0; r < 20; r++) {
        char s[64];
        size_t len = 1 + test_rng_u64(rng) % 63;
        for (size_t i = 0; i < len; i++) s[i] = (char)(test_rng_u64(rng) & 0xFF);
        CHECK(tokenizer_encode(t, s, len, 0, &ids, &n) == VKLLM_OK);
        buf d = {0};
        CHECK(tokenizer_decode(t, ids, n, 0, &d) == VKLLM_OK);
        CHECKF(d.len == len && !memcmp(d.data, s, d.len), "%s: random bytes round trip",
               tokenizer_kind(t));
        buf_free(&d);
        mem_free(ids);
    }
    /* out-of-range ids are rejected by decode */
    int32_t bad = tokenizer_n_vocab(t);
    buf d = {0};
    CHECK(tokenizer_decode(t, &bad, 1, 0, &d) == VKLLM_ERR_INVALID_ARG);
    bad = -5;
    CHECK(tokenizer_piece(t, bad, 0, &d) == VKLLM_ERR_INVALID_ARG);
    buf_free(&d);
    /* 10 MB single line, no newline: words, then one 256 KiB word (merges are
     * O(n log n); a multi-megabyte single word is slow, not quadratic) */
    size_t big = 10u << 20;
    char *s = malloc(big);
    static const char *const words[] = {"the ", "quick ", "brown ", "fox ", "jumps, ", "über ", "42 "};
    size_t k = 0;
    while (k < big - (256u << 10)) {
        const char *wd = words[test_rng_u64(rng) % 7];
        size_t wl = strlen(wd);
        memcpy(s + k, wd, wl);
        k += wl;
    }
    while (k < big) s[k++] = (char)('a' + test_rng_u64(rng) % 26);
    CHECK(tokenizer_encode(t, s, big, 0, &ids, &n) == VKLLM_OK);
    CHECK(n > 0 && n < big);
    mem_free(ids);
    free(s);
}

int main(void) {
    uint64_t rng = test_seed();
    check_bad_vocab(GOOD, VKLLM_OK, "");
    check_bad_vocab(BAD_NO_MERGES, VKLLM_ERR_FORMAT, "merges");
    check_bad_vocab(BAD_BOS, VKLLM_ERR_FORMAT, "BOS id 1000000000");
    check_bad_vocab(BAD_TYPES_LEN, VKLLM_ERR_FORMAT, "token_type");
    check_bad_vocab(BAD_PRE, VKLLM_ERR_UNSUPPORTED, "no-such-pretokenizer");
    check_bad_vocab(BAD_TYPE_VALUE, VKLLM_ERR_FORMAT, "type 77");
    /* llama2.c tokenizer: truncated file, absurd vocabulary size */
    tokenizer *t = NULL;
    char *tp = test_path("models/stories260K/tok512.bin");
    if (tp) {
        CHECK(tokenizer_from_llama2c(tp, 513, &t) == VKLLM_ERR_FORMAT && t == NULL);
        CHECK(strstr(vkllm_last_error(), "token 512") != NULL);
        CHECK(tokenizer_from_llama2c(tp, -1, &t) == VKLLM_ERR_INVALID_ARG && t == NULL);
        free(tp);
    }
    t = open_gguf("tokenizer/ggml-vocab-llama-spm.gguf");
    if (t) check_text(t, &rng);
    tokenizer_free(t);
    t = open_gguf("tokenizer/ggml-vocab-llama-bpe.gguf");
    if (t) check_text(t, &rng);
    tokenizer_free(t);
    return test_finish();
}
