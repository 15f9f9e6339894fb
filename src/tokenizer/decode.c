/* decode.c — token ids back to text.
 *
 * Per token (decode_token / tokenizer_piece): control and unknown tokens give
 * "" unless keep_special (then their raw text); user-defined tokens give
 * their raw text; other tokens run the decoder steps that do not depend on
 * position: ByteLevel (alphabet chars -> bytes), ByteFallback (<0xNN> ->
 * byte), Replace, Metaspace (replacement -> ' '), Strip before a Fuse.
 * Whole sequences (tokenizer_decode) add the position rules: Metaspace drops
 * the leading space of the first token (prepend_scheme always/first), a Strip
 * after Fuse trims the fused text, llama.c mode drops the leading space of
 * the token after BOS. Bytes are emitted as they are (invalid UTF-8 is not
 * replaced by U+FFFD). */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "tokenizer/tok_impl.h"

static vkllm_status decode_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory while decoding");
}

static int decode_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Replaces every `pat` in cur[0..n) with `rep` into out (reset first). */
static int decode_replace(const char *cur, size_t n, const tok_str *pat, const char *rep,
                          size_t rep_len, buf *out) {
    buf_reset(out);
    if (buf_append(out, "", 0)) return -1;
    for (size_t i = 0; i < n;) {
        if (pat->len && i + pat->len <= n && !memcmp(cur + i, pat->s, pat->len)) {
            if (buf_append(out, rep, rep_len)) return -1;
            i += pat->len;
        } else {
            if (buf_putc(out, cur[i])) return -1;
            i++;
        }
    }
    return 0;
}

static int decode_bytelevel(const char *cur, size_t n, buf *out) {
    buf_reset(out);
    if (buf_append(out, "", 0)) return -1;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t cl = utf8_decode((const uint8_t *)cur + i, n - i, &cp);
        int b = cl ? pretok_cp_to_byte(cp) : -1;
        if (b >= 0) {
            if (buf_putc(out, (char)b)) return -1;
        } else {
            if (!cl) cl = 1;
            if (buf_append(out, cur + i, cl)) return -1;
        }
        i += cl;
    }
    return 0;
}

/* Strips up to `start` leading and `stop` trailing copies of ch from b[from..). */
static void decode_strip(buf *b, size_t from, const tok_str *ch, int start, int stop) {
    size_t cl = ch->len;
    if (!cl) return;
    for (int k = 0; k < start && b->len - from >= cl && !memcmp(b->data + from, ch->s, cl); k++) {
        memmove(b->data + from, b->data + from + cl, b->len - from - cl);
        b->len -= cl;
    }
    for (int k = 0; k < stop && b->len - from >= cl && !memcmp(b->data + b->len - cl, ch->s, cl); k++)
        b->len -= cl;
    if (b->data) b->data[b->len] = 0;
}

static int decode_is_control(const tokenizer *t, int32_t id) {
    uint8_t a = t->spec.attrs ? t->spec.attrs[id] : TOK_ATTR_NORMAL;
    return a == TOK_ATTR_CONTROL || a == TOK_ATTR_UNKNOWN;
}

vkllm_status decode_token(const tokenizer *t, int32_t id, int keep_special, buf *out) {
    if (id < 0 || id >= t->spec.n_vocab)
        return err_set(VKLLM_ERR_INVALID_ARG, "tokenizer: token id %ld out of range [0, %ld)",
                       (long)id, (long)t->spec.n_vocab);
    const tok_str *tx = &t->spec.vocab[id];
    uint8_t attr = t->spec.attrs ? t->spec.attrs[id] : TOK_ATTR_NORMAL;
    if (attr == TOK_ATTR_CONTROL || attr == TOK_ATTR_UNKNOWN) {
        if (keep_special && buf_append(out, tx->s, tx->len)) return decode_nomem();
        return VKLLM_OK;
    }
    if (attr == TOK_ATTR_USER_DEFINED) return buf_append(out, tx->s, tx->len) ? decode_nomem() : VKLLM_OK;
    buf a = {0}, b = {0};
    int bad = buf_append(&a, tx->s, tx->len);
    for (size_t k = 0; k < t->spec.n_dec && !bad; k++) {
        const tok_step *st = &t->spec.dec[k];
        if (st->kind == TOK_DEC_FUSE) break; /* later steps act on the fused text */
        switch (st->kind) {
        case TOK_DEC_BYTELEVEL: bad = decode_bytelevel(a.data, a.len, &b); break;
        case TOK_DEC_BYTEFALLBACK:
            if (a.len == 6 && !memcmp(a.data, "<0x", 3) && a.data[5] == '>' &&
                decode_hex(a.data[3]) >= 0 && decode_hex(a.data[4]) >= 0) {
                char c = (char)(decode_hex(a.data[3]) * 16 + decode_hex(a.data[4]));
                buf_reset(&b);
                bad = buf_append(&b, &c, 1);
            } else {
                continue;
            }
            break;
        case TOK_DEC_REPLACE:
            bad = decode_replace(a.data, a.len, &st->pattern, st->content.s, st->content.len, &b);
            break;
        case TOK_DEC_METASPACE: bad = decode_replace(a.data, a.len, &st->content, " ", 1, &b); break;
        case TOK_DEC_STRIP: decode_strip(&a, 0, &st->content, st->start, st->stop); continue;
        default: continue;
        }
        buf t2 = a;
        a = b;
        b = t2;
    }
    if (!bad) bad = buf_append(out, a.data, a.len);
    buf_free(&a);
    buf_free(&b);
    return bad ? decode_nomem() : VKLLM_OK;
}

vkllm_status tokenizer_piece(const tokenizer *t, int32_t id, int keep_special, buf *out) {
    return decode_token(t, id, keep_special, out);
}

/* Does the first emitted token lose its leading space (Metaspace decoder)? */
static int decode_first_strip(const tokenizer *t) {
    for (size_t k = 0; k < t->spec.n_dec; k++)
        if (t->spec.dec[k].kind == TOK_DEC_METASPACE && t->spec.dec[k].prepend_scheme != TOK_PREPEND_NEVER)
            return 1;
    return 0;
}

static void decode_drop_space(buf *b, size_t at) {
    if (b->len > at && b->data[at] == ' ') {
        memmove(b->data + at, b->data + at + 1, b->len - at - 1);
        b->data[--b->len] = 0;
    }
}

vkllm_status tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int keep_special,
                              buf *out) {
    size_t from = out->len;
    if (buf_append(out, "", 0)) return decode_nomem();
    int first = 1, meta = decode_first_strip(t);
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= 0 && ids[i] < t->spec.n_vocab && !keep_special && decode_is_control(t, ids[i])) {
            prev = ids[i];
            continue;
        }
        size_t at = out->len;
        TRY(decode_token(t, ids[i], keep_special, out));
        if ((first && meta) || (t->spec.llama2c_mode && prev == t->spec.bos_id && prev >= 0))
            decode_drop_space(out, at);
        first = 0;
        prev = ids[i];
    }
    int fused = 0;
    for (size_t k = 0; k < t->spec.n_dec; k++) {
        const tok_step *st = &t->spec.dec[k];
        if (st->kind == TOK_DEC_FUSE) fused = 1;
        else if (fused && st->kind == TOK_DEC_STRIP)
            decode_strip(out, from, &st->content, st->start, st->stop);
    }
    return VKLLM_OK;
}

/* ---- streaming */
void tok_stream_init(tok_stream *s, const tokenizer *t) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->prev = -1;
}

/* SPM-style tokenizers drop the space of the token right after BOS. */
static int decode_strips_after_bos(const tokenizer *t) {
    if (t->spec.llama2c_mode || decode_first_strip(t)) return 1;
    int fused = 0;
    for (size_t k = 0; k < t->spec.n_dec; k++) {
        if (t->spec.dec[k].kind == TOK_DEC_FUSE) fused = 1;
        else if (fused && t->spec.dec[k].kind == TOK_DEC_STRIP && t->spec.dec[k].start > 0) return 1;
    }
    return 0;
}

vkllm_status tok_stream_push(tok_stream *s, int32_t id, buf *out) {
    const tokenizer *t = s->t;
    size_t at = s->pending.len;
    TRY(decode_token(t, id, 0, &s->pending));
    if (s->prev >= 0 && s->prev == t->spec.bos_id && decode_strips_after_bos(t))
        decode_drop_space(&s->pending, at);
    s->prev = id;
    s->n_fed++;
    size_t k = utf8_complete_prefix((const uint8_t *)s->pending.data, s->pending.len);
    if (k == 0) return VKLLM_OK;
    if (buf_append(out, s->pending.data, k)) return decode_nomem();
    memmove(s->pending.data, s->pending.data + k, s->pending.len - k);
    s->pending.len -= k;
    s->pending.data[s->pending.len] = 0;
    return VKLLM_OK;
}

void tok_stream_flush(tok_stream *s, buf *out) {
    if (s->pending.len && buf_append(out, s->pending.data, s->pending.len) == 0) buf_reset(&s->pending);
}

void tok_stream_free(tok_stream *s) { buf_free(&s->pending); }
