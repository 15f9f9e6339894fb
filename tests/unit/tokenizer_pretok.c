/* tokenizer_pretok.c — GGUF tokenizer.ggml.pre names select their own split
 * rules. One small byte-level vocabulary (written here, under $VKLLM_TMP) whose
 * merges would join "12345" and " !" into single tokens makes the pieces
 * visible: a split that cuts digit runs or isolates punctuation yields other
 * ids. Expected ids follow each pre-tokenizer's published regex sequence (the
 * regexes of llama.cpp's llm_tokenizer_bpe for that name), worked out by hand:
 *   gpt-2            "12345" " !"                 -> 12345, Ġ!
 *   default / none   punctuation, gpt-2, \p{N}+, [0-9]{3}: "123" "45" " " "!"
 *   falcon           punctuation, gpt-2, [0-9]{3}: the same as default here
 *   starcoder, qwen2, deepseek-coder   single digits, " !"
 *   llama-bpe        \p{N}{1,3}: "123" "45" " !" */
#include <unistd.h>

#include "format/gguf.h"
#include "format/gguf_write.h"
#include "core/mem.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

/* Byte-level alphabet: U+0120 (Ġ) is the space. */
static const char *const toks[] = {"1",  "2",  "3",         "4",  "5",  "12",      "123",
                                   "1234", "12345", "45", "\xc4\xa0", "!", "\xc4\xa0!"};
enum { T1, T2, T3, T4, T5, T12, T123, T1234, T12345, T45, TSP, TEX, TSPEX, N_TOKS };
static const char *const merges[] = {"1 2", "12 3", "123 4", "1234 5", "4 5", "\xc4\xa0 !"};

/* Writes the vocabulary with tokenizer.ggml.pre = pre (NULL: no such key). */
static int write_vocab(const char *path, const char *pre) {
    gguf_writer *w = NULL;
    vkllm_status s = gguf_writer_create(path, &w);
    if (s == VKLLM_OK) s = gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", 4);
    if (s == VKLLM_OK && pre) s = gguf_writer_set_str(w, "tokenizer.ggml.pre", pre, strlen(pre));
    if (s == VKLLM_OK) s = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", N_TOKS, toks, NULL);
    if (s == VKLLM_OK)
        s = gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", sizeof merges / sizeof merges[0],
                                    merges, NULL);
    if (s == VKLLM_OK) s = gguf_writer_begin_data(w);
    if (s == VKLLM_OK) s = gguf_writer_finish(w);
    gguf_writer_free(w);
    return s == VKLLM_OK ? 0 : -1;
}

static void check_pre(const char *pre, const int32_t *want, size_t n_want) {
    const char *tmp = getenv("VKLLM_TMP");
    char path[1200];
    snprintf(path, sizeof path, "%s/tok_pretok.%ld.gguf", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    const char *name = pre ? pre : "(no key)";
    CHECKF(write_vocab(path, pre) == 0, "%s: write: %s", name, vkllm_last_error());
    gguf *g = NULL;
    tokenizer *t = NULL;
    CHECKF(gguf_open(path, &g) == VKLLM_OK, "%s: %s", name, vkllm_last_error());
    if (g) CHECKF(tokenizer_from_gguf(g, &t) == VKLLM_OK, "%s: %s", name, vkllm_last_error());
    gguf_close(g);
    unlink(path);
    if (!t) return;
    static const char text[] = "12345 !";
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(tokenizer_encode(t, text, sizeof text - 1, 0, &ids, &n) == VKLLM_OK);
    int same = n == n_want && (n == 0 || !memcmp(ids, want, n * sizeof *ids));
    if (!same) {
        fprintf(stderr, "%s: got", name);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    CHECKF(same, "pre-tokenizer %s: wrong pieces for '%s'", name, text);
    mem_free(ids);
    tokenizer_free(t);
}

#define CHECK_PRE(pre, ...)                                                                        \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        check_pre(pre, want_, sizeof want_ / sizeof want_[0]);                                     \
    } while (0)

int main(void) {
    CHECK_PRE("gpt-2", T12345, TSPEX);
    CHECK_PRE("default", T123, T45, TSP, TEX);
    CHECK_PRE(NULL, T123, T45, TSP, TEX);
    CHECK_PRE("falcon", T123, T45, TSP, TEX);
    CHECK_PRE("starcoder", T1, T2, T3, T4, T5, TSPEX);
    CHECK_PRE("qwen2", T1, T2, T3, T4, T5, TSPEX);
    CHECK_PRE("deepseek-coder", T1, T2, T3, T4, T5, TSPEX);
    CHECK_PRE("llama-bpe", T123, T45, TSPEX);
    return test_finish();
}
