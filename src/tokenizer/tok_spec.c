/* tok_spec.c — releasing a tok_spec (every member is a heap copy it owns). */
#include "tokenizer/tok_spec.h"

#include <string.h>

#include "core/mem.h"

static void tok_spec_free_steps(tok_step *st, size_t n) {
    if (!st) return;
    for (size_t i = 0; i < n; i++) {
        mem_free(st[i].pattern.s);
        mem_free(st[i].content.s);
    }
    mem_free(st);
}

static void tok_spec_free_strs(tok_str *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) mem_free(v[i].s);
    mem_free(v);
}

void tok_spec_free(tok_spec *s) {
    if (!s) return;
    tok_spec_free_strs(s->vocab, s->vocab ? (size_t)(s->n_vocab > 0 ? s->n_vocab : 0) : 0);
    mem_free(s->scores);
    mem_free(s->attrs);
    tok_spec_free_strs(s->merge_left, s->n_merges);
    tok_spec_free_strs(s->merge_right, s->n_merges);
    mem_free(s->pre_name);
    tok_spec_free_steps(s->norm, s->n_norm);
    tok_spec_free_steps(s->pre, s->n_pre);
    tok_spec_free_steps(s->dec, s->n_dec);
    if (s->added)
        for (size_t i = 0; i < s->n_added; i++) mem_free(s->added[i].content.s);
    mem_free(s->added);
    mem_free(s->eog_ids);
    memset(s, 0, sizeof *s);
}
