/* normalize.c — the normalizer steps of a tok_spec, applied in order to one
 * text segment (the text between added tokens):
 *   PREPEND  adds its string in front of a non-empty segment (HF Prepend);
 *   REPLACE  replaces every occurrence of a literal with the content;
 *   NFC      Unicode NFC through utf8proc (segments that are not valid UTF-8
 *            are left as they are: they go to byte fallback later). */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "tokenizer/tok_impl.h"

static vkllm_status normalize_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory while normalizing");
}

static vkllm_status normalize_replace(const tok_step *st, buf *cur, buf *tmp) {
    buf_reset(tmp);
    const char *p = cur->data;
    size_t n = cur->len, plen = st->pattern.len;
    if (plen == 0 || n == 0) return VKLLM_OK;
    size_t i = 0;
    while (i < n) {
        if (i + plen <= n && memcmp(p + i, st->pattern.s, plen) == 0) {
            if (buf_append(tmp, st->content.s, st->content.len)) return normalize_nomem();
            i += plen;
        } else {
            /* copy up to the next possible start of the pattern */
            const char *q = memchr(p + i + 1, (unsigned char)st->pattern.s[0], n - i - 1);
            size_t j = q ? (size_t)(q - p) : n;
            if (buf_append(tmp, p + i, j - i)) return normalize_nomem();
            i = j;
        }
    }
    buf t = *cur;
    *cur = *tmp;
    *tmp = t;
    return VKLLM_OK;
}

static vkllm_status normalize_nfc(buf *cur) {
    if (cur->len == 0 || !utf8_valid(cur->data, cur->len)) return VKLLM_OK;
    utf8proc_uint8_t *r = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)cur->data, (utf8proc_ssize_t)cur->len,
                                      &r, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) {
        free(r);
        if (n == UTF8PROC_ERROR_NOMEM) return normalize_nomem();
        return VKLLM_OK; /* leave text utf8proc rejects untouched */
    }
    buf_reset(cur);
    int bad = buf_append(cur, r, (size_t)n);
    free(r); /* utf8proc allocates with malloc */
    return bad ? normalize_nomem() : VKLLM_OK;
}

vkllm_status normalize_run(const tok_spec *spec, const char *s, size_t len, buf *out) {
    buf_reset(out);
    if (buf_append(out, s, len)) return normalize_nomem();
    buf tmp = {0};
    vkllm_status st = VKLLM_OK;
    for (size_t k = 0; k < spec->n_norm && st == VKLLM_OK; k++) {
        const tok_step *step = &spec->norm[k];
        switch (step->kind) {
        case TOK_NORM_PREPEND:
            if (out->len > 0) {
                buf_reset(&tmp);
                if (buf_append(&tmp, step->content.s, step->content.len) ||
                    buf_append(&tmp, out->data, out->len)) {
                    st = normalize_nomem();
                    break;
                }
                buf t = *out;
                *out = tmp;
                tmp = t;
            }
            break;
        case TOK_NORM_REPLACE: st = normalize_replace(step, out, &tmp); break;
        case TOK_NORM_NFC: st = normalize_nfc(out); break;
        default: break; /* other kinds are not normalizers */
        }
    }
    buf_free(&tmp);
    return st;
}
