/* llama2c_vocab.c — a llama2.c tokenizer file as a tok_spec.
 *
 * File layout (little-endian, no padding):
 *   offset 0   i32  max_token_length
 *          4   n_vocab x { f32 score, i32 len, u8 bytes[len] }
 * The token count is not stored: it comes from the checkpoint header.
 * Conventions (run.c): 0 <unk>, 1 BOS, 2 EOS, <0xNN> byte tokens; encoding
 * adds BOS and, for non-empty text, a dummy-prefix " " token, then merges by
 * score; decoding drops the leading space of the token after BOS. Pieces
 * hold real spaces (no U+2581). */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/mfile.h"
#include "tokenizer/tok_impl.h"

static vkllm_status llama2c_vocab_step(tok_step **v, size_t *n, tok_step_kind kind,
                                       const char *content) {
    tok_step *s = mem_realloc(*v, (*n + 1) * sizeof *s);
    if (!s) return err_set(VKLLM_ERR_NOMEM, "llama2c tokenizer: out of memory");
    *v = s;
    memset(&s[*n], 0, sizeof s[*n]);
    s[*n].kind = kind;
    if (content) {
        s[*n].content.s = mem_strdup(content);
        if (!s[*n].content.s) return err_set(VKLLM_ERR_NOMEM, "llama2c tokenizer: out of memory");
        s[*n].content.len = strlen(content);
    }
    (*n)++;
    return VKLLM_OK;
}

static vkllm_status llama2c_vocab_parse(const mfile *f, int n_vocab, tok_spec *sp) {
    const uint8_t *d = f->data;
    uint64_t size = f->size, off = 4;
    if (size < 4)
        return err_set(VKLLM_ERR_FORMAT, "llama2c tokenizer: %s: %llu bytes, too short for the header",
                       f->path, (unsigned long long)size);
    int32_t max_len;
    memcpy(&max_len, d, 4);
    if (max_len <= 0 || max_len > (1 << 20))
        return err_set(VKLLM_ERR_FORMAT, "llama2c tokenizer: %s: max_token_length %ld out of range",
                       f->path, (long)max_len);
    sp->n_vocab = n_vocab;
    sp->vocab = mem_calloc((size_t)n_vocab, sizeof *sp->vocab);
    sp->scores = mem_calloc((size_t)n_vocab, sizeof *sp->scores);
    sp->attrs = mem_calloc((size_t)n_vocab, 1);
    if (!sp->vocab || !sp->scores || !sp->attrs)
        return err_set(VKLLM_ERR_NOMEM, "llama2c tokenizer: %d tokens", n_vocab);
    for (int i = 0; i < n_vocab; i++) {
        if (size - off < 8)
            return err_set(VKLLM_ERR_FORMAT, "llama2c tokenizer: %s: token %d: header at offset %llu past end (%llu)",
                           f->path, i, (unsigned long long)off, (unsigned long long)size);
        float score;
        int32_t len;
        memcpy(&score, d + off, 4);
        memcpy(&len, d + off + 4, 4);
        off += 8;
        if (len < 0 || (uint64_t)len > size - off)
            return err_set(VKLLM_ERR_FORMAT, "llama2c tokenizer: %s: token %d: length %ld at offset %llu runs past end (%llu)",
                           f->path, i, (long)len, (unsigned long long)off, (unsigned long long)size);
        if (!isfinite(score))
            return err_set(VKLLM_ERR_FORMAT, "llama2c tokenizer: %s: token %d: score is not finite", f->path, i);
        sp->vocab[i].s = mem_strndup((const char *)d + off, (size_t)len);
        if (!sp->vocab[i].s) return err_set(VKLLM_ERR_NOMEM, "llama2c tokenizer: token %d", i);
        sp->vocab[i].len = (size_t)len;
        sp->scores[i] = score;
        const char *s = sp->vocab[i].s;
        sp->attrs[i] = i == 0 ? TOK_ATTR_UNKNOWN
                       : (i == 1 || i == 2) ? TOK_ATTR_CONTROL
                       : (len == 6 && !memcmp(s, "<0x", 3) && s[5] == '>') ? TOK_ATTR_BYTE
                                                                          : TOK_ATTR_NORMAL;
        off += (uint64_t)len;
    }
    sp->model = TOK_MODEL_SPM_BPE;
    sp->unk_id = 0;
    sp->bos_id = n_vocab > 1 ? 1 : -1;
    sp->eos_id = n_vocab > 2 ? 2 : -1;
    sp->eot_id = sp->pad_id = -1;
    sp->add_bos = 1;
    sp->byte_fallback = 1;
    sp->llama2c_mode = 1;
    TRY(llama2c_vocab_step(&sp->norm, &sp->n_norm, TOK_NORM_PREPEND, " "));
    TRY(llama2c_vocab_step(&sp->dec, &sp->n_dec, TOK_DEC_BYTEFALLBACK, NULL));
    return VKLLM_OK;
}

vkllm_status tokenizer_from_llama2c(const char *path, int n_vocab, tokenizer **out) {
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > (1 << 24))
        return err_set(VKLLM_ERR_INVALID_ARG, "llama2c tokenizer: %s: vocabulary size %d out of range",
                       path, n_vocab);
    mfile f = {0};
    TRY(mfile_open(path, &f));
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    vkllm_status st = llama2c_vocab_parse(&f, n_vocab, &sp);
    mfile_close(&f);
    if (st != VKLLM_OK) {
        tok_spec_free(&sp);
        return st;
    }
    return tokenizer_build(&sp, out);
}
