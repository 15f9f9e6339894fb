/* cli_tokenizer.c — see cli_tokenizer.h. The kind of MODEL is decided by
 * what it is: a folder (HF), the "GGUF" magic, a .json name, else a
 * llama2.c tokenizer file, which needs --n-vocab (its count is not stored). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_tokenizer.h"

int cli_tokenizer_open(const char *cmd, const char *model, long n_vocab, tokenizer **out) {
    struct stat sb;
    *out = NULL;
    if (stat(model, &sb) != 0) return cli_fail(cmd, "%s: no such file or folder", model);
    vkllm_status st;
    if (S_ISDIR(sb.st_mode)) {
        st = tokenizer_from_hf(model, out);
        return st ? cli_fail_status(cmd, st) : 0;
    }
    char magic[4] = {0};
    FILE *f = fopen(model, "rb");
    if (!f) return cli_fail(cmd, "%s: cannot open", model);
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    size_t len = strlen(model);
    if (got == 4 && !memcmp(magic, "GGUF", 4)) {
        gguf *g = NULL;
        st = gguf_open(model, &g);
        if (st == VKLLM_OK) st = tokenizer_from_gguf(g, out);
        gguf_close(g);
    } else if (len >= 5 && !strcmp(model + len - 5, ".json")) {
        st = tokenizer_from_hf(model, out);
    } else {
        if (n_vocab <= 0)
            return cli_fail(cmd, "%s: a llama2.c tokenizer file needs --n-vocab N (e.g. 512 for tok512.bin)",
                            model);
        st = tokenizer_from_llama2c(model, (int)n_vocab, out);
    }
    return st ? cli_fail_status(cmd, st) : 0;
}
