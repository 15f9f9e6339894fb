/* tokenizer_hf.c — tokenizer_from_hf: a Hugging Face tokenizer.json (or a
 * folder holding one) plus the tokenizer_config.json beside it, through
 * hf_json.c into tokenizer_build. Kept apart from tokenizer.c so programs that
 * never read HF files do not link the JSON reader. */
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "tokenizer/tok_impl.h"

vkllm_status tokenizer_from_hf(const char *path, tokenizer **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return err_set(VKLLM_ERR_IO, "tokenizer: %s: not found", path);
    buf json = {0}, cfg = {0};
    int bad;
    if (S_ISDIR(sb.st_mode)) {
        bad = buf_printf(&json, "%s/tokenizer.json", path) || buf_printf(&cfg, "%s/tokenizer_config.json", path);
    } else {
        const char *slash = strrchr(path, '/');
        size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
        bad = buf_puts(&json, path) || buf_append(&cfg, path, dir) || buf_puts(&cfg, "tokenizer_config.json");
    }
    if (bad) {
        buf_free(&json);
        buf_free(&cfg);
        return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory");
    }
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    vkllm_status st = tok_spec_from_hf_json(json.data, &sp);
    if (st == VKLLM_OK) st = tok_spec_apply_hf_config(cfg.data, &sp);
    buf_free(&json);
    buf_free(&cfg);
    if (st != VKLLM_OK) {
        tok_spec_free(&sp);
        return st;
    }
    return tokenizer_build(&sp, out);
}
