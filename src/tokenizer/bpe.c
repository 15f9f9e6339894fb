/* bpe.c — ranked BPE (GPT-2 / HF "BPE" model) over token ids.
 *
 * bpe_build turns the merges list ("left right" in rank order) into an
 * open-addressed map (left id, right id) -> (rank, merged id); merges whose
 * parts or result are not in the vocabulary are skipped, the first of
 * duplicate pairs wins. Encoding a piece: the characters become ids (missing
 * ones: <0xNN> byte tokens with byte_fallback, else unk, fused when
 * fuse_unk); then the pair of lowest rank merges first (leftmost on ties),
 * using a linked list of symbols and a binary min-heap of candidates
 * validated on pop: O(n log n) per piece, nothing cached across calls. */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "tokenizer/tok_impl.h"

static vkllm_status bpe_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory in BPE merges");
}

static uint64_t bpe_key(int32_t l, int32_t r) { return ((uint64_t)(uint32_t)l << 32) | (uint32_t)r; }

static size_t bpe_slot(uint64_t key, size_t mask) {
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 17) & mask;
}

static const bpe_pair *bpe_find(const tokenizer *t, int32_t l, int32_t r) {
    if (!t->pairs) return NULL;
    uint64_t key = bpe_key(l, r);
    for (size_t i = bpe_slot(key, t->pair_mask);; i = (i + 1) & t->pair_mask) {
        const bpe_pair *p = &t->pairs[i];
        if (p->rank < 0) return NULL;
        if (p->key == key) return p;
    }
}

vkllm_status bpe_build(tokenizer *t) {
    const tok_spec *sp = &t->spec;
    if (sp->n_merges == 0) return VKLLM_OK;
    if (sp->n_merges > (size_t)INT32_MAX / 4)
        return err_set(VKLLM_ERR_FORMAT, "tokenizer: %zu merges is too many", sp->n_merges);
    size_t cap = 16;
    while (cap < sp->n_merges * 2) cap *= 2;
    t->pairs = mem_alloc(cap * sizeof *t->pairs);
    if (!t->pairs) return bpe_nomem();
    for (size_t i = 0; i < cap; i++) t->pairs[i].rank = -1;
    t->pair_mask = cap - 1;
    buf cat = {0};
    for (size_t m = 0; m < sp->n_merges; m++) {
        const tok_str *a = &sp->merge_left[m], *b = &sp->merge_right[m];
        int32_t l = vocabmap_find(&t->map, a->s, a->len);
        int32_t r = vocabmap_find(&t->map, b->s, b->len);
        if (l < 0 || r < 0) continue;
        buf_reset(&cat);
        if (buf_append(&cat, a->s, a->len) || buf_append(&cat, b->s, b->len)) {
            buf_free(&cat);
            return bpe_nomem();
        }
        int32_t res = vocabmap_find(&t->map, cat.data, cat.len);
        if (res < 0) continue;
        uint64_t key = bpe_key(l, r);
        for (size_t i = bpe_slot(key, t->pair_mask);; i = (i + 1) & t->pair_mask) {
            bpe_pair *p = &t->pairs[i];
            if (p->rank >= 0 && p->key == key) break; /* earlier rank kept */
            if (p->rank < 0) {
                *p = (bpe_pair){key, (int32_t)m, res};
                break;
            }
        }
    }
    buf_free(&cat);
    return VKLLM_OK;
}

typedef struct bpe_sym { int32_t id, prev, next; } bpe_sym;
typedef struct bpe_cand { int32_t rank, pos, left, right, result; } bpe_cand;

static int bpe_before(const bpe_cand *a, const bpe_cand *b) {
    if (a->rank != b->rank) return a->rank < b->rank;
    return a->pos < b->pos;
}

typedef struct bpe_heap { bpe_cand *v; size_t n; } bpe_heap;

static void bpe_heap_push(bpe_heap *h, bpe_cand c) {
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bpe_before(&c, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
}

static bpe_cand bpe_heap_pop(bpe_heap *h) {
    bpe_cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const bpe_cand *best = &last;
        if (l < h->n && bpe_before(&h->v[l], best)) { m = l; best = &h->v[l]; }
        if (r < h->n && bpe_before(&h->v[r], best)) m = r;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static void bpe_try_pair(const tokenizer *t, bpe_sym *sym, bpe_heap *h, int32_t l) {
    if (l < 0 || sym[l].next < 0) return;
    const bpe_pair *p = bpe_find(t, sym[l].id, sym[sym[l].next].id);
    if (p) bpe_heap_push(h, (bpe_cand){p->rank, l, sym[l].id, sym[sym[l].next].id, p->result});
}

/* Initial symbols of one piece; returns the count. */
static vkllm_status bpe_initial(const tokenizer *t, const char *s, size_t len, bpe_sym *sym,
                                int32_t *n_out) {
    int32_t n = 0;
    int prev_unk = 0;
    for (size_t off = 0; off < len;) {
        size_t cl = utf8_char_len((const uint8_t *)s + off, len - off);
        if (cl == 0) cl = 1; /* invalid byte: a one-byte "character" */
        int32_t id = vocabmap_find(&t->map, s + off, cl);
        if (id >= 0) {
            sym[n++].id = id;
            prev_unk = 0;
        } else {
            int all = t->spec.byte_fallback;
            for (size_t k = 0; k < cl && all; k++) all = t->byte_tok[(uint8_t)s[off + k]] >= 0;
            if (all) {
                for (size_t k = 0; k < cl; k++) sym[n++].id = t->byte_tok[(uint8_t)s[off + k]];
                prev_unk = 0;
            } else if (t->spec.unk_id >= 0) {
                if (!(t->spec.fuse_unk && prev_unk)) sym[n++].id = t->spec.unk_id;
                prev_unk = 1;
            } /* no unk token: the character is dropped (as HF does) */
        }
        off += cl;
    }
    for (int32_t i = 0; i < n; i++) {
        sym[i].prev = i - 1;
        sym[i].next = i + 1 < n ? i + 1 : -1;
    }
    *n_out = n;
    return VKLLM_OK;
}

vkllm_status bpe_encode_piece(const tokenizer *t, tok_scratch *sc, const char *s, size_t len,
                              buf *ids) {
    if (len == 0) return VKLLM_OK;
    if (t->spec.ignore_merges) {
        int32_t id = vocabmap_find(&t->map, s, len);
        if (id >= 0) return tok_push_id(ids, id) ? bpe_nomem() : VKLLM_OK;
    }
    if (len > (size_t)INT32_MAX / 4)
        return err_set(VKLLM_ERR_INVALID_ARG, "tokenizer: piece of %zu bytes is too long", len);
    /* at most len symbols (one per byte); each merge adds <= 2 candidates */
    if (mem_grow(&sc->sym, &sc->sym_cap, len, sizeof(bpe_sym)) ||
        mem_grow(&sc->heap, &sc->heap_cap, 3 * len + 1, sizeof(bpe_cand)))
        return bpe_nomem();
    bpe_sym *sym = sc->sym;
    int32_t n;
    TRY(bpe_initial(t, s, len, sym, &n));
    bpe_heap h = {sc->heap, 0};
    for (int32_t i = 0; i + 1 < n; i++) bpe_try_pair(t, sym, &h, i);
    while (h.n > 0) {
        bpe_cand c = bpe_heap_pop(&h);
        bpe_sym *l = &sym[c.pos];
        if (l->id != c.left || l->next < 0 || sym[l->next].id != c.right) continue;
        int32_t r = l->next;
        l->id = c.result;
        l->next = sym[r].next;
        if (l->next >= 0) sym[l->next].prev = c.pos;
        sym[r].id = -1; /* dead */
        bpe_try_pair(t, sym, &h, l->prev);
        bpe_try_pair(t, sym, &h, c.pos);
    }
    for (int32_t i = 0; i >= 0 && i < n; i = sym[i].next)
        if (tok_push_id(ids, sym[i].id)) return bpe_nomem();
    return VKLLM_OK;
}
