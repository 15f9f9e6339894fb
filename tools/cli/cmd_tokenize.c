/* cmd_tokenize.c — `vkllm tokenize -m MODEL (-p TEXT | -f FILE) [--parse-special]
 * [--no-bos] [--show-pieces] [--n-vocab N]`: prints the ids on one line,
 * separated by spaces; --show-pieces then prints one "id<TAB>piece" line per
 * token (piece bytes escaped as C-style \xNN when not printable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tokenizer.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/mfile.h"

static void tokenize_usage(void) {
    fprintf(stderr, "usage: vkllm tokenize -m MODEL (-p TEXT | -f FILE) [--parse-special] [--no-bos]\n"
                    "                      [--show-pieces] [--n-vocab N]\n"
                    "MODEL: .gguf, tokenizer.json, Hugging Face folder, llama2.c tokenizer .bin (--n-vocab)\n");
}

static void tokenize_print_piece(const buf *p) {
    for (size_t i = 0; i < p->len; i++) {
        unsigned char c = (unsigned char)p->data[i];
        if (c == '\\') fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *file = NULL;
    int flags = TOKENIZER_ADD_BOS, pieces = 0;
    long n_vocab = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tokenize_usage();
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) return cli_fail("tokenize", "%s needs a value", a);
            model = argv[i];
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (++i >= argc) return cli_fail("tokenize", "%s needs a value", a);
            text = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (++i >= argc) return cli_fail("tokenize", "%s needs a value", a);
            file = argv[i];
        } else if (!strcmp(a, "--n-vocab")) {
            if (cli_parse_int("tokenize", a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 24, &n_vocab)) return 1;
        } else if (!strcmp(a, "--parse-special")) {
            flags |= TOKENIZER_PARSE_SPECIAL;
        } else if (!strcmp(a, "--no-bos")) {
            flags &= ~TOKENIZER_ADD_BOS;
        } else if (!strcmp(a, "--show-pieces")) {
            pieces = 1;
        } else {
            tokenize_usage();
            return cli_fail("tokenize", "unknown option '%s'", a);
        }
    }
    if (!model) return cli_fail("tokenize", "-m MODEL is required");
    if (!!text == !!file) return cli_fail("tokenize", "give exactly one of -p TEXT or -f FILE");
    char *data = NULL;
    size_t len = 0;
    if (file) {
        vkllm_status st = mfile_read_all(file, (uint64_t)1 << 32, &data, &len);
        if (st) return cli_fail_status("tokenize", st);
    } else {
        len = strlen(text);
    }
    tokenizer *t = NULL;
    if (cli_tokenizer_open("tokenize", model, n_vocab, &t)) {
        mem_free(data);
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    vkllm_status st = tokenizer_encode(t, file ? data : text, len, flags, &ids, &n);
    mem_free(data);
    int rc = 0;
    if (st) {
        rc = cli_fail_status("tokenize", st);
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
        buf p = {0};
        for (size_t i = 0; pieces && i < n; i++) {
            buf_reset(&p);
            if (tokenizer_piece(t, ids[i], 1, &p)) break;
            printf("%d\t", ids[i]);
            tokenize_print_piece(&p);
            putchar('\n');
        }
        buf_free(&p);
    }
    mem_free(ids);
    tokenizer_free(t);
    return rc;
}
