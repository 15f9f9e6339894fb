/* tok_spec.c — releasing a tok_spec (see tok_spec.h); the sources that fill
 * one live in their own files (hf_json.c, ...). */
#include "tok_spec.h"

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

void tok_spec_free(tok_spec *s) {
    if (!s) return;
    if (s->vocab)
        for (int32_t i = 0; i < s->n_vocab; i++) mem_free(s->vocab[i].s);
    mem_free(s->vocab);
    mem_free(s->scores);
    mem_free(s->attrs);
    if (s->merge_left)
        for (size_t i = 0; i < s->n_merges; i++) mem_free(s->merge_left[i].s);
    if (s->merge_right)
        for (size_t i = 0; i < s->n_merges; i++) mem_free(s->merge_right[i].s);
    mem_free(s->merge_left);
    mem_free(s->merge_right);
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
