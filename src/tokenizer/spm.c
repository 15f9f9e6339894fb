/* spm.c — SentencePiece-style BPE: symbols start as the UTF-8 characters of
 * the piece; the adjacent pair whose concatenation is a vocabulary token with
 * the highest score merges first (leftmost on ties), until no pair is in the
 * vocabulary. Characters left outside the vocabulary become <0xNN> byte
 * tokens (else unk). A character is as long as its lead byte says (clamped
 * to the text), so invalid UTF-8 falls to byte tokens without failing.
 * Candidates live in a binary max-heap; stale ones are skipped on pop, so a
 * piece of n characters costs O(n log n). */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "tokenizer/tok_impl.h"

typedef struct spm_sym { size_t off, n; int32_t prev, next; } spm_sym;
typedef struct spm_cand { float score; int32_t left, right; size_t size; } spm_cand;

static vkllm_status spm_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory in SPM merges");
}

/* a ranks before b: higher score, then further left */
static int spm_before(const spm_cand *a, const spm_cand *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

typedef struct spm_heap { spm_cand *v; size_t n; } spm_heap;

static void spm_heap_push(spm_heap *h, spm_cand c) {
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!spm_before(&c, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
}

static spm_cand spm_heap_pop(spm_heap *h) {
    spm_cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const spm_cand *best = &last;
        if (l < h->n && spm_before(&h->v[l], best)) { m = l; best = &h->v[l]; }
        if (r < h->n && spm_before(&h->v[r], best)) m = r;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static size_t spm_char_len(uint8_t c) {
    if (c < 0x80 || (c & 0xC0) == 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

vkllm_status spm_bytes(const tokenizer *t, const char *s, size_t len, buf *ids) {
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)s[i];
        int32_t id = t->byte_tok[b];
        if (id < 0) id = vocabmap_find(&t->map, s + i, 1);
        if (id < 0) id = t->spec.unk_id;
        if (id >= 0 && tok_push_id(ids, id)) return spm_nomem();
    }
    return VKLLM_OK;
}

static void spm_try_pair(const tokenizer *t, const char *s, spm_sym *sym, spm_heap *h, int32_t l,
                         int32_t r) {
    if (l < 0 || r < 0) return;
    size_t n = sym[l].n + sym[r].n;
    int32_t id = vocabmap_find(&t->map, s + sym[l].off, n);
    if (id < 0) return;
    spm_heap_push(h, (spm_cand){t->spec.scores ? t->spec.scores[id] : 0.0f, l, r, n});
}

vkllm_status spm_encode_piece(const tokenizer *t, tok_scratch *sc, const char *s, size_t len,
                              buf *ids) {
    if (len == 0) return VKLLM_OK;
    /* len characters at most: symbols and (each merge adds <= 2) candidates */
    if (len > (size_t)INT32_MAX / 4)
        return err_set(VKLLM_ERR_INVALID_ARG, "tokenizer: piece of %zu bytes is too long", len);
    if (mem_grow(&sc->sym, &sc->sym_cap, len, sizeof(spm_sym)) ||
        mem_grow(&sc->heap, &sc->heap_cap, 3 * len + 1, sizeof(spm_cand)))
        return spm_nomem();
    spm_sym *sym = sc->sym;
    int32_t n = 0;
    for (size_t off = 0; off < len;) {
        size_t cl = spm_char_len((uint8_t)s[off]);
        if (cl > len - off) cl = len - off;
        sym[n] = (spm_sym){off, cl, n - 1, -1};
        if (n > 0) sym[n - 1].next = n;
        n++;
        off += cl;
    }
    spm_heap h = {sc->heap, 0};
    for (int32_t i = 1; i < n; i++) spm_try_pair(t, s, sym, &h, i - 1, i);
    while (h.n > 0) {
        spm_cand c = spm_heap_pop(&h);
        spm_sym *l = &sym[c.left], *r = &sym[c.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != c.size || l->next != c.right) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (l->next >= 0) sym[l->next].prev = c.left;
        spm_try_pair(t, s, sym, &h, l->prev, c.left);
        spm_try_pair(t, s, sym, &h, c.left, l->next);
    }
    for (int32_t i = 0; i >= 0 && i < n; i = sym[i].next) {
        int32_t id = vocabmap_find(&t->map, s + sym[i].off, sym[i].n);
        if (id >= 0) {
            if (tok_push_id(ids, id)) return spm_nomem();
        } else {
            TRY(spm_bytes(t, s + sym[i].off, sym[i].n, ids));
        }
    }
    return VKLLM_OK;
}
