/* cmd_detokenize.c — `vkllm detokenize -m MODEL --ids 1,2,3 [--keep-special]
 * [--n-vocab N]`: prints the decoded text as raw bytes, no newline added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tokenizer.h"
#include "core/buf.h"

static void detokenize_usage(void) {
    fprintf(stderr, "usage: vkllm detokenize -m MODEL --ids 1,2,3 [--keep-special] [--n-vocab N]\n");
}

int cmd_detokenize(int argc, char **argv) {
    const char *model = NULL, *ids_arg = NULL;
    int keep = 0;
    long n_vocab = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            detokenize_usage();
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) return cli_fail("detokenize", "%s needs a value", a);
            model = argv[i];
        } else if (!strcmp(a, "--ids")) {
            if (++i >= argc) return cli_fail("detokenize", "%s needs a value", a);
            ids_arg = argv[i];
        } else if (!strcmp(a, "--n-vocab")) {
            if (cli_parse_int("detokenize", a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 24, &n_vocab)) return 1;
        } else if (!strcmp(a, "--keep-special")) {
            keep = 1;
        } else {
            detokenize_usage();
            return cli_fail("detokenize", "unknown option '%s'", a);
        }
    }
    if (!model) return cli_fail("detokenize", "-m MODEL is required");
    if (!ids_arg) return cli_fail("detokenize", "--ids is required");
    int32_t *ids;
    size_t n;
    if (cli_parse_ids("detokenize", ids_arg, &ids, &n)) return 1;
    tokenizer *t = NULL;
    if (cli_tokenizer_open("detokenize", model, n_vocab, &t)) {
        free(ids);
        return 1;
    }
    buf out = {0};
    vkllm_status st = tokenizer_decode(t, ids, n, keep, &out);
    int rc = 0;
    if (st) rc = cli_fail_status("detokenize", st);
    else fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    free(ids);
    tokenizer_free(t);
    return rc;
}
