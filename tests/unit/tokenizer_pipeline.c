/* tokenizer_pipeline.c — tok_specs built in code: Split behaviours (HF
 * semantics: "a-b--c" split on "-"), Metaspace prepend/split, Prepend and
 * Replace normalizers, byte fallback, added tokens (longest match, special
 * only when parsed, lstrip/rstrip) and the decoders. Pieces are made visible
 * with ignore_merges: a piece that is a vocabulary token becomes that token. */
#include "core/buf.h"
#include "core/mem.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

static const char *const V[] = {"a", "b", "c", "-", "a-", "b-", "-b", "-c", "--", "<X>", "<XY>", " ",
                                "<0x41>", "\xe2\x96\x81", "\xe2\x96\x81" "a", "d"};
enum { A, B, C, D, AD, BD, DB, DC, DD, X, XY, SP, BYTE41, META, META_A, DCHAR, NV };

static char *dup(const char *s) { return mem_strdup(s); }

static void base_spec(tok_spec *s) {
    memset(s, 0, sizeof *s);
    s->model = TOK_MODEL_BPE;
    s->n_vocab = NV;
    s->vocab = mem_calloc(NV, sizeof *s->vocab);
    for (int i = 0; i < NV; i++) s->vocab[i] = (tok_str){dup(V[i]), strlen(V[i])};
    s->ignore_merges = 1;
    s->unk_id = s->bos_id = s->eos_id = s->eot_id = s->pad_id = -1;
}

static tok_step *add_step(tok_step **v, size_t *n, tok_step_kind k) {
    *v = mem_realloc(*v, (*n + 1) * sizeof **v);
    tok_step *s = &(*v)[(*n)++];
    memset(s, 0, sizeof *s);
    s->kind = k;
    return s;
}

static void expect(tokenizer *t, const char *text, int flags, const int32_t *want, size_t nw, const char *what) {
    int32_t *ids;
    size_t n;
    CHECK(tokenizer_encode(t, text, strlen(text), flags, &ids, &n) == VKLLM_OK);
    int ok = n == nw;
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] == want[i];
    CHECKF(ok, "%s", what);
    if (!ok) {
        fprintf(stderr, "  got:");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    mem_free(ids);
}

static tokenizer *split_tok(tok_split_behavior b, int invert) {
    tok_spec s;
    base_spec(&s);
    tok_step *st = add_step(&s.pre, &s.n_pre, TOK_PRE_SPLIT);
    st->pattern = (tok_str){dup("-"), 1};
    st->behavior = b;
    st->invert = invert;
    tokenizer *t = NULL;
    CHECK(tokenizer_build(&s, &t) == VKLLM_OK);
    return t;
}

int main(void) {
    static const struct { tok_split_behavior b; int32_t want[8]; size_t n; } cases[] = {
        {TOK_SPLIT_REMOVED, {A, B, C}, 3},
        {TOK_SPLIT_ISOLATED, {A, D, B, D, D, C}, 6},
        {TOK_SPLIT_MERGED_WITH_PREVIOUS, {AD, BD, D, C}, 4},
        {TOK_SPLIT_MERGED_WITH_NEXT, {A, DB, D, DC}, 4},
        {TOK_SPLIT_CONTIGUOUS, {A, D, B, DD, C}, 5},
    };
    for (size_t i = 0; i < 5; i++) {
        tokenizer *t = split_tok(cases[i].b, 0);
        if (t) expect(t, "a-b--c", 0, cases[i].want, cases[i].n, "split behaviour");
        tokenizer_free(t);
    }
    /* invert + Removed: the "-" runs are what is kept */
    tokenizer *t = split_tok(TOK_SPLIT_REMOVED, 1);
    if (t) expect(t, "a-b--c", 0, (const int32_t[]){D, D, D}, 3, "invert removed");
    tokenizer_free(t);

    /* Metaspace (prepend always, split) + byte fallback + decoders */
    tok_spec s;
    base_spec(&s);
    s.byte_fallback = 1;
    tok_step *st = add_step(&s.pre, &s.n_pre, TOK_PRE_METASPACE);
    st->content = (tok_str){dup("\xe2\x96\x81"), 3};
    st->prepend_scheme = TOK_PREPEND_ALWAYS;
    st->split = 1;
    st = add_step(&s.dec, &s.n_dec, TOK_DEC_METASPACE);
    st->content = (tok_str){dup("\xe2\x96\x81"), 3};
    st->prepend_scheme = TOK_PREPEND_ALWAYS;
    add_step(&s.dec, &s.n_dec, TOK_DEC_BYTEFALLBACK);
    s.n_added = 2;
    s.added = mem_calloc(2, sizeof *s.added);
    s.added[0] = (tok_added){X, {dup("<X>"), 3}, 1, 0, 1, 0, 0};
    s.added[1] = (tok_added){XY, {dup("<XY>"), 4}, 0, 1, 0, 0, 0};
    CHECK(tokenizer_build(&s, &t) == VKLLM_OK);
    if (t) {
        /* "a a": ▁a ▁a; "A": no "▁A" or "A" token -> ▁ then byte <0x41> */
        expect(t, "a a", 0, (const int32_t[]){META_A, META_A}, 2, "metaspace");
        expect(t, "A", 0, (const int32_t[]){META, BYTE41}, 2, "byte fallback");
        /* <X> is special: text unless parsed; rstrip eats the spaces after it */
        expect(t, "a<X>  a", TOKENIZER_PARSE_SPECIAL, (const int32_t[]){META_A, X, META_A}, 3, "special rstrip");
        /* <XY> is not special: always matched, longest first, lstrip eats the space before */
        expect(t, "a <XY>", 0, (const int32_t[]){META_A, XY}, 2, "added lstrip");
        buf d = {0};
        int32_t ids[] = {META_A, BYTE41, X, META_A};
        CHECK(tokenizer_decode(t, ids, 4, 0, &d) == VKLLM_OK);
        CHECKF(!strcmp(d.data, "aA a"), "decode '%s'", d.data);
        buf_reset(&d);
        CHECK(tokenizer_decode(t, ids, 4, 1, &d) == VKLLM_OK);
        CHECKF(!strcmp(d.data, "aA<X> a"), "decode keep '%s'", d.data);
        buf_free(&d);
    }
    tokenizer_free(t);

    /* Prepend + Replace normalizers with the SPM model: the GGUF Llama setup */
    base_spec(&s);
    s.model = TOK_MODEL_SPM_BPE;
    s.ignore_merges = 0;
    s.scores = mem_calloc(NV, sizeof(float));
    s.scores[META_A] = 1.0f;
    st = add_step(&s.norm, &s.n_norm, TOK_NORM_PREPEND);
    st->content = (tok_str){dup("\xe2\x96\x81"), 3};
    st = add_step(&s.norm, &s.n_norm, TOK_NORM_REPLACE);
    st->pattern = (tok_str){dup(" "), 1};
    st->content = (tok_str){dup("\xe2\x96\x81"), 3};
    CHECK(tokenizer_build(&s, &t) == VKLLM_OK);
    if (t) {
        expect(t, "a  a", 0, (const int32_t[]){META_A, META, META_A}, 3, "spm prepend/replace");
        expect(t, "", 0, NULL, 0, "spm empty");
    }
    tokenizer_free(t);

    /* build rejects out-of-range ids and takes the spec in every case */
    base_spec(&s);
    s.bos_id = 1000000000;
    CHECK(tokenizer_build(&s, &t) == VKLLM_ERR_FORMAT && t == NULL);
    CHECK(s.vocab == NULL);
    return test_finish();
}
