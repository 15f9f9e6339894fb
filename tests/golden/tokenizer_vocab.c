/* tokenizer_vocab.c — every ggml-vocab-*.gguf in the test data: each string
 * of NAME.gguf.inp (strings separated by "\n__ggml_vocab_test__\n", the file
 * ending with a separator) tokenizes, without BOS and without parsing special
 * tokens, to exactly the ids on the matching line of NAME.gguf.out; and
 * decodes back to the string (all of these vocabularies round-trip these
 * strings). Also: BOS/EOS settings read from the files, and streaming decode
 * equal to whole decode, never ending inside a UTF-8 character after a token. */
#include <dirent.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "format/gguf.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

static int same_bytes(const void *a, const void *b, size_t n) { return n == 0 || !memcmp(a, b, n); }

static const char SEP[] = "\n__ggml_vocab_test__\n";

static void check_vocab(const char *dir, const char *name) {
    char path[1024], inp[1200], outp[1200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return;
    snprintf(inp, sizeof inp, "%s.inp", path);
    snprintf(outp, sizeof outp, "%s.out", path);
    gguf *g = NULL;
    tokenizer *t = NULL;
    vkllm_status st = gguf_open(path, &g);
    CHECKF(st == VKLLM_OK, "%s: %s", name, vkllm_last_error());
    if (st) return;
    st = tokenizer_from_gguf(g, &t);
    gguf_close(g);
    CHECKF(st == VKLLM_OK, "%s: %s", name, vkllm_last_error());
    if (st) return;
    size_t in_len = 0, out_len = 0;
    char *in = test_read_file(inp, &in_len), *out = test_read_file(outp, &out_len);
    CHECKF(in && out, "%s: missing .inp/.out", name);
    int n_cases = 0;
    const char *p = in, *q = out;
    while (in && out && p < in + in_len) {
        const char *e = strstr(p, SEP);
        CHECKF(e != NULL, "%s: unterminated case", name);
        if (!e) break;
        const char *qe = strchr(q, '\n');
        CHECK(qe != NULL);
        if (!qe) break;
        /* expected ids */
        int32_t want[512];
        size_t nw = 0;
        for (const char *r = q; r < qe && nw < 512;) {
            while (r < qe && *r == ' ') r++;
            if (r >= qe) break;
            want[nw++] = (int32_t)strtol(r, (char **)&r, 10);
        }
        int32_t *ids;
        size_t n;
        st = tokenizer_encode(t, p, (size_t)(e - p), 0, &ids, &n);
        CHECK(st == VKLLM_OK);
        int same = st == VKLLM_OK && n == nw;
        for (size_t k = 0; same && k < n; k++) same = ids[k] == want[k];
        if (!same) {
            fprintf(stderr, "%s case %d '%.*s'\n  got :", name, n_cases, (int)(e - p), p);
            for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n  want:");
            for (size_t k = 0; k < nw; k++) fprintf(stderr, " %d", want[k]);
            fprintf(stderr, "\n");
        }
        CHECKF(same, "%s case %d", name, n_cases);
        buf dec = {0}, streamed = {0};
        CHECK(tokenizer_decode(t, ids, n, 0, &dec) == VKLLM_OK);
        CHECKF(dec.len == (size_t)(e - p) && same_bytes(dec.data, p, dec.len),
               "%s case %d round trip: '%s'", name, n_cases, dec.data);
        tok_stream ts;
        tok_stream_init(&ts, t);
        /* streaming-safe: after every token the text so far is whole characters */
        int text_valid = utf8_valid(p, (size_t)(e - p)), split = 0;
        for (size_t k = 0; k < n; k++) {
            CHECK(tok_stream_push(&ts, ids[k], &streamed) == VKLLM_OK);
            if (text_valid && !utf8_valid(streamed.data, streamed.len) && split++ == 0)
                CHECKF(0, "%s case %d: stream after token %zu of %zu ends inside a character",
                       name, n_cases, k + 1, n);
        }
        tok_stream_flush(&ts, &streamed);
        tok_stream_free(&ts);
        /* a stream has no "first token" rule except after BOS: only the SPM leading space differs */
        size_t skip = streamed.len == dec.len + 1 && streamed.data[0] == ' ' ? 1 : 0;
        CHECKF(streamed.len == dec.len + skip && same_bytes(streamed.data + skip, dec.data, dec.len),
               "%s case %d stream", name, n_cases);
        buf_free(&dec);
        buf_free(&streamed);
        mem_free(ids);
        n_cases++;
        p = e + sizeof SEP - 1;
        q = qe + 1;
    }
    CHECKF(n_cases >= 40, "%s: only %d cases", name, n_cases);
    /* BOS comes first when asked for and the vocabulary adds it */
    int32_t *ids;
    size_t n;
    CHECK(tokenizer_encode(t, "Hello", 5, TOKENIZER_ADD_BOS, &ids, &n) == VKLLM_OK);
    if (tokenizer_adds_bos(t)) CHECK(n >= 2 && ids[0] == tokenizer_bos(t));
    else CHECK(n >= 1 && ids[0] != tokenizer_bos(t));
    mem_free(ids);
    CHECK(tokenizer_is_eog(t, tokenizer_eos(t)));
    fprintf(stderr, "%s: %d cases (%s)\n", name, n_cases, tokenizer_kind(t));
    free(in);
    free(out);
    tokenizer_free(t);
}

int main(void) {
    const char *d = test_data_dir();
    if (!d) return test_finish();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tokenizer", d);
    DIR *dp = opendir(dir);
    CHECK(dp != NULL);
    int n_files = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "ggml-vocab-", 11) || l < 5 || strcmp(de->d_name + l - 5, ".gguf")) continue;
        check_vocab(dir, de->d_name);
        n_files++;
    }
    if (dp) closedir(dp);
    CHECK(n_files >= 5);
    return test_finish();
}
