/* vocabmap.c — token text -> id lookup: open addressing over a power-of-two
 * table of ids (+1; 0 = empty slot), keys compared against the vocabulary.
 * When a text occurs twice in the vocabulary the later id wins (as llama.cpp
 * builds its map). */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "tokenizer/tok_impl.h"

uint64_t vocabmap_hash(const void *p, size_t len) {
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static int vocabmap_eq(const tok_str *a, const char *s, size_t len) {
    return a->len == len && (len == 0 || memcmp(a->s, s, len) == 0);
}

vkllm_status vocabmap_build(vocabmap *m, const tok_str *vocab, int32_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    m->slots = mem_calloc(cap, sizeof *m->slots);
    if (!m->slots) return err_set(VKLLM_ERR_NOMEM, "tokenizer: vocabulary map of %zu slots", cap);
    m->mask = cap - 1;
    m->vocab = vocab;
    for (int32_t id = 0; id < n; id++) {
        size_t i = vocabmap_hash(vocab[id].s, vocab[id].len) & m->mask;
        for (;; i = (i + 1) & m->mask) {
            int32_t e = m->slots[i];
            if (e == 0) {
                m->slots[i] = id + 1;
                break;
            }
            if (vocabmap_eq(&vocab[e - 1], vocab[id].s, vocab[id].len)) {
                m->slots[i] = id + 1; /* later duplicate wins */
                break;
            }
        }
    }
    return VKLLM_OK;
}

int32_t vocabmap_find(const vocabmap *m, const char *s, size_t len) {
    if (!m->slots) return -1;
    size_t i = vocabmap_hash(s, len) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        int32_t e = m->slots[i];
        if (e == 0) return -1;
        if (vocabmap_eq(&m->vocab[e - 1], s, len)) return e - 1;
    }
}

void vocabmap_free(vocabmap *m) {
    mem_free(m->slots);
    memset(m, 0, sizeof *m);
}
