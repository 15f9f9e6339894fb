/* pretok.c — pre-tokenization: splitting a normalized segment into pieces
 * that the model encodes one by one.
 *
 * Steps (HF tokenizers semantics):
 *   SPLIT      PCRE2 regex over each piece; matches and the gaps between them
 *              are combined per behaviour (Isolated, Removed, MergedWith-
 *              Previous/Next, Contiguous); invert swaps matches and gaps.
 *   BYTELEVEL  optional " " prefix, optional GPT-2 regex split, then every
 *              byte is mapped to the GPT-2 byte-to-unicode alphabet.
 *   METASPACE  ' ' -> replacement, prefix per prepend_scheme, optional split
 *              before each replacement char (MergedWithNext).
 * Empty pieces are dropped. Regexes are compiled with PCRE2_UTF|PCRE2_UCP and
 * JIT when available; invalid UTF-8 in the subject is allowed
 * (PCRE2_MATCH_INVALID_UTF): invalid bytes never match a character class and
 * end up in gap pieces. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "tokenizer/tok_impl.h"

/* ---- GGUF tokenizer.ggml.pre -> regex sequence.
 *
 * The patterns are the pre_tokenizer Split regexes published in each model
 * family's tokenizer.json (data). Mapping:
 *   default:  "default" and files without the key: punctuation runs, the gpt-2
 *             regex, digit runs, then digit triples (llama.cpp's fallback set)
 *   gpt2:     gpt-2, gpt2, mpt, olmo, jais, phi-2, stablelm2, poro-chat,
 *             viking, bloom, gpt3-finnish, exaone?, codeshell, jina-v1-en,
 *             jina-v2-es/de/code, roberta-bpe, tekken? (gpt-2 regex)
 *   llama3:   llama-bpe, llama3, llama-v3, smaug-bpe, dbrx, falcon3, pixtral,
 *             superbpe? -> llama3 regex; ignore_merges for llama-bpe/llama3/llama-v3
 *   qwen2:    qwen2, qwen, stablelm2? , hunyuan?, deepseek-r1-qwen, megrez
 *   deepseek-llm, deepseek-coder, deepseek-v3, falcon, starcoder family: own sets
 * Names not in the table are rejected by the GGUF loader (unsupported). */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define RE_LLAMA3                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                      \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                           \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_DEEPSEEK3                                                                               \
    "\\p{N}{1,3}"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

static const char *const pretok_gpt2[] = {RE_GPT2, NULL};
static const char *const pretok_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+",
                                             "[0-9][0-9][0-9]", NULL};
static const char *const pretok_llama3[] = {RE_LLAMA3, NULL};
static const char *const pretok_qwen2[] = {RE_QWEN2, NULL};
static const char *const pretok_starcoder[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const pretok_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL};
static const char *const pretok_deepseek_coder[] = {
    "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}", NULL};
static const char *const pretok_deepseek_llm[] = {
    "[\\r\\n]", "\\s?[A-Za-z\\x{00B5}\\x{00C0}-\\x{00D6}\\x{00D8}-\\x{00F6}\\x{00F8}-\\x{01BA}"
    "\\x{01BC}-\\x{01BF}\\x{01C4}-\\x{0293}\\x{0295}-\\x{02AF}\\x{0370}-\\x{0373}\\x{0376}\\x{0377}"
    "\\x{037B}-\\x{037D}\\x{037F}\\x{0386}\\x{0388}-\\x{038A}\\x{038C}\\x{038E}-\\x{03A1}"
    "\\x{03A3}-\\x{03F5}\\x{03F7}-\\x{0481}\\x{048A}-\\x{052F}\\x{0531}-\\x{0556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
    "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
    "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
    "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
    "\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
    "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}"
    "\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
    "\\s+$", RE_CJK, "\\p{N}+", NULL};
static const char *const pretok_deepseek_v3[] = {
    RE_DEEPSEEK3, "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};

typedef struct pretok_name { const char *name; const char *const *re; int ignore_merges; } pretok_name;

static const pretok_name pretok_names[] = {
    {"default", pretok_default, 0},     {"gpt-2", pretok_gpt2, 0},
    {"gpt2", pretok_gpt2, 0},           {"mpt", pretok_gpt2, 0},
    {"olmo", pretok_gpt2, 0},           {"jais", pretok_gpt2, 0},
    {"phi-2", pretok_gpt2, 0},          {"stablelm2", pretok_qwen2, 0},
    {"poro-chat", pretok_gpt2, 0},      {"viking", pretok_gpt2, 0},
    {"bloom", pretok_gpt2, 0},          {"gpt3-finnish", pretok_gpt2, 0},
    {"roberta-bpe", pretok_gpt2, 0},    {"jina-v1-en", pretok_gpt2, 0},
    {"jina-v2-en", pretok_gpt2, 0},     {"jina-v2-es", pretok_gpt2, 0},
    {"jina-v2-de", pretok_gpt2, 0},     {"jina-v2-code", pretok_gpt2, 0},
    {"llama-bpe", pretok_llama3, 1},    {"llama3", pretok_llama3, 1},
    {"llama-v3", pretok_llama3, 1},     {"smaug-bpe", pretok_llama3, 0},
    {"dbrx", pretok_llama3, 0},         {"falcon3", pretok_llama3, 0},
    {"pixtral", pretok_llama3, 0},      {"qwen2", pretok_qwen2, 0},
    {"qwen", pretok_qwen2, 0},          {"deepseek-r1-qwen", pretok_qwen2, 0},
    {"megrez", pretok_qwen2, 0},        {"starcoder", pretok_starcoder, 0},
    {"refact", pretok_starcoder, 0},    {"command-r", pretok_starcoder, 0},
    {"smollm", pretok_starcoder, 0},    {"codeshell", pretok_starcoder, 0},
    {"exaone", pretok_starcoder, 0},    {"minerva-7b", pretok_starcoder, 0},
    {"falcon", pretok_falcon, 0},       {"deepseek-llm", pretok_deepseek_llm, 0},
    {"deepseek-coder", pretok_deepseek_coder, 0}, {"deepseek-v3", pretok_deepseek_v3, 0},
};

const char *const *pretok_named(const char *pre_name, int *ignore_merges) {
    if (!pre_name) pre_name = "default";
    for (size_t i = 0; i < sizeof pretok_names / sizeof pretok_names[0]; i++)
        if (!strcmp(pretok_names[i].name, pre_name)) {
            if (ignore_merges) *ignore_merges = pretok_names[i].ignore_merges;
            return pretok_names[i].re;
        }
    return NULL;
}

/* ---- the GPT-2 byte-to-unicode alphabet: printable Latin-1 bytes map to
 * themselves, the other 68 bytes (0-32, 127-160, 173) to U+0100.. in order. */
uint32_t pretok_byte_to_cp(uint8_t b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256u + b;
    if (b >= 127 && b <= 160) return 256u + 33u + (b - 127u);
    return 256u + 33u + 34u; /* 173 */
}

int pretok_cp_to_byte(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp >= 256 && cp <= 288) return (int)(cp - 256);
    if (cp >= 289 && cp <= 322) return (int)(cp - 289 + 127);
    if (cp == 323) return 173;
    return -1;
}

/* ---- pieces */
static vkllm_status pretok_nomem(void) {
    return err_set(VKLLM_ERR_NOMEM, "tokenizer: out of memory while pre-tokenizing");
}

static vkllm_status pretok_add(tok_pieces *p, const char *s, size_t len) {
    if (len == 0) return VKLLM_OK;
    if (mem_grow((void **)&p->end, &p->cap, p->n + 1, sizeof *p->end)) return pretok_nomem();
    if (buf_append(&p->text, s, len)) return pretok_nomem();
    p->end[p->n++] = p->text.len;
    return VKLLM_OK;
}

/* Appends to the last piece (or starts one). */
static vkllm_status pretok_extend(tok_pieces *p, const char *s, size_t len) {
    if (p->n == 0) return pretok_add(p, s, len);
    if (buf_append(&p->text, s, len)) return pretok_nomem();
    p->end[p->n - 1] = p->text.len;
    return VKLLM_OK;
}

static void pretok_reset(tok_pieces *p) {
    buf_reset(&p->text);
    p->n = 0;
}

void pretok_pieces_free(tok_pieces *p) {
    buf_free(&p->text);
    mem_free(p->end);
    memset(p, 0, sizeof *p);
}

/* ---- compile */
static vkllm_status pretok_regex(const char *pat, size_t len, pcre2_code **out) {
    int code;
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP;
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_MATCH_INVALID_UTF;
#endif
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return err_set(VKLLM_ERR_FORMAT, "tokenizer: regex '%.60s': %s at offset %zu", pat,
                       (const char *)msg, (size_t)off);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreter fallback when absent */
    *out = re;
    return VKLLM_OK;
}

vkllm_status pretok_compile(const tok_spec *spec, pretok_step **out) {
    *out = NULL;
    if (spec->n_pre == 0) return VKLLM_OK;
    pretok_step *st = mem_calloc(spec->n_pre, sizeof *st);
    if (!st) return pretok_nomem();
    for (size_t i = 0; i < spec->n_pre; i++) {
        const tok_step *s = &spec->pre[i];
        st[i].step = s;
        vkllm_status r = VKLLM_OK;
        if (s->kind == TOK_PRE_SPLIT) {
            if (!s->pattern.s) r = err_set(VKLLM_ERR_FORMAT, "tokenizer: split step %zu has no pattern", i);
            else r = pretok_regex(s->pattern.s, s->pattern.len, (pcre2_code **)&st[i].re);
        } else if (s->kind == TOK_PRE_BYTELEVEL && s->use_regex) {
            r = pretok_regex(RE_GPT2, strlen(RE_GPT2), (pcre2_code **)&st[i].re);
        } else if (s->kind == TOK_PRE_METASPACE && s->content.len == 0) {
            r = err_set(VKLLM_ERR_FORMAT, "tokenizer: metaspace step %zu has no replacement", i);
        } else if (s->kind != TOK_PRE_BYTELEVEL && s->kind != TOK_PRE_METASPACE) {
            r = err_set(VKLLM_ERR_FORMAT, "tokenizer: step %zu (kind %d) is not a pre-tokenizer", i,
                        (int)s->kind);
        }
        if (r != VKLLM_OK) {
            pretok_free(st, spec->n_pre);
            return r;
        }
    }
    *out = st;
    return VKLLM_OK;
}

void pretok_free(pretok_step *steps, size_t n) {
    if (!steps) return;
    for (size_t i = 0; i < n; i++) pcre2_code_free((pcre2_code *)steps[i].re);
    mem_free(steps);
}

/* ---- split */
typedef struct pretok_span { size_t a, b; int m; } pretok_span;
typedef struct pretok_spans { pretok_span *v; size_t n, cap; } pretok_spans;

static vkllm_status pretok_span_add(pretok_spans *sp, size_t a, size_t b, int m) {
    if (a == b) return VKLLM_OK;
    if (mem_grow((void **)&sp->v, &sp->cap, sp->n + 1, sizeof *sp->v)) return pretok_nomem();
    sp->v[sp->n++] = (pretok_span){a, b, m};
    return VKLLM_OK;
}

/* Lists matches and gaps of re over s[0..len) in order. */
static vkllm_status pretok_find(pcre2_code *re, pcre2_match_data *md, const char *s, size_t len,
                                pretok_spans *sp) {
    sp->n = 0;
    size_t pos = 0, last = 0;
    while (pos <= len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, pos, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return err_set(VKLLM_ERR_INVALID_ARG, "tokenizer: regex match failed: %s",
                           (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b > a) {
            TRY(pretok_span_add(sp, last, a, 0));
            TRY(pretok_span_add(sp, a, b, 1));
            last = b;
            pos = b;
        } else {
            /* empty match: step over one character */
            if (a >= len) break;
            size_t cl = utf8_char_len((const uint8_t *)s + a, len - a);
            pos = a + (cl ? cl : 1);
        }
    }
    return pretok_span_add(sp, last, len, 0);
}

static vkllm_status pretok_split_piece(const pretok_step *ps, pcre2_match_data *md,
                                       pretok_spans *sp, const char *s, size_t len,
                                       tok_pieces *out) {
    const tok_step *st = ps->step;
    TRY(pretok_find((pcre2_code *)ps->re, md, s, len, sp));
    int prev_match = 0;
    size_t start_n = out->n;
    if (st->behavior == TOK_SPLIT_MERGED_WITH_NEXT) {
        /* walk backwards: a match joins the span after it unless that span is a match */
        size_t k = sp->n;
        /* collect merged spans in reverse into a temporary list of (a,b) */
        pretok_spans rev = {0};
        vkllm_status r = VKLLM_OK;
        while (k-- > 0 && r == VKLLM_OK) {
            pretok_span x = sp->v[k];
            int m = st->invert ? !x.m : x.m;
            if (m && !prev_match && rev.n > 0) rev.v[rev.n - 1].a = x.a;
            else r = pretok_span_add(&rev, x.a, x.b, 0);
            prev_match = m;
        }
        for (size_t i = rev.n; i-- > 0 && r == VKLLM_OK;)
            r = pretok_add(out, s + rev.v[i].a, rev.v[i].b - rev.v[i].a);
        mem_free(rev.v);
        return r;
    }
    for (size_t k = 0; k < sp->n; k++) {
        pretok_span x = sp->v[k];
        int m = st->invert ? !x.m : x.m;
        const char *p = s + x.a;
        size_t n = x.b - x.a;
        switch (st->behavior) {
        case TOK_SPLIT_REMOVED:
            if (!m) TRY(pretok_add(out, p, n));
            break;
        case TOK_SPLIT_MERGED_WITH_PREVIOUS:
            if (m && !prev_match && out->n > start_n) TRY(pretok_extend(out, p, n));
            else TRY(pretok_add(out, p, n));
            break;
        case TOK_SPLIT_CONTIGUOUS:
            if (m && prev_match && out->n > start_n) TRY(pretok_extend(out, p, n));
            else TRY(pretok_add(out, p, n));
            break;
        default: /* ISOLATED */
            TRY(pretok_add(out, p, n));
            break;
        }
        prev_match = m;
    }
    return VKLLM_OK;
}

/* ---- byte level and metaspace */
static vkllm_status pretok_bytelevel_map(const char *s, size_t len, int prefix, tok_pieces *out) {
    size_t before = out->text.len;
    char enc[4];
    if (prefix && !(len > 0 && s[0] == ' ')) {
        size_t k = utf8_encode(pretok_byte_to_cp(' '), enc);
        if (buf_append(&out->text, enc, k)) return pretok_nomem();
    }
    for (size_t i = 0; i < len; i++) {
        size_t k = utf8_encode(pretok_byte_to_cp((uint8_t)s[i]), enc);
        if (buf_append(&out->text, enc, k)) return pretok_nomem();
    }
    if (out->text.len == before) return VKLLM_OK;
    if (mem_grow((void **)&out->end, &out->cap, out->n + 1, sizeof *out->end)) return pretok_nomem();
    out->end[out->n++] = out->text.len;
    return VKLLM_OK;
}

static vkllm_status pretok_bytelevel(const pretok_step *ps, pcre2_match_data *md, pretok_spans *sp,
                                     const char *s, size_t len, tok_pieces *out) {
    const tok_step *st = ps->step;
    if (!ps->re) return pretok_bytelevel_map(s, len, st->add_prefix_space, out);
    /* prefix first (on the raw text), then split, then map each split */
    buf tmp = {0};
    if (st->add_prefix_space && !(len > 0 && s[0] == ' ')) {
        if (buf_putc(&tmp, ' ') || buf_append(&tmp, s, len)) {
            buf_free(&tmp);
            return pretok_nomem();
        }
        s = tmp.data;
        len = tmp.len;
    }
    vkllm_status r = pretok_find((pcre2_code *)ps->re, md, s, len, sp);
    for (size_t k = 0; k < sp->n && r == VKLLM_OK; k++)
        r = pretok_bytelevel_map(s + sp->v[k].a, sp->v[k].b - sp->v[k].a, 0, out);
    buf_free(&tmp);
    return r;
}

static vkllm_status pretok_metaspace(const tok_step *st, const char *s, size_t len, int at_start,
                                     tok_pieces *out) {
    const char *rep = st->content.s;
    size_t rl = st->content.len;
    buf t = {0};
    vkllm_status r = VKLLM_OK;
    int prefix = st->prepend_scheme == TOK_PREPEND_ALWAYS ||
                 (st->prepend_scheme == TOK_PREPEND_FIRST && at_start);
    if (prefix && !(len > 0 && s[0] == ' ') && !(len >= rl && !memcmp(s, rep, rl)))
        if (buf_append(&t, rep, rl)) r = pretok_nomem();
    for (size_t i = 0; i < len && r == VKLLM_OK; i++)
        if (s[i] == ' ' ? buf_append(&t, rep, rl) : buf_putc(&t, s[i])) r = pretok_nomem();
    if (r == VKLLM_OK && t.len) {
        if (!st->split) {
            r = pretok_add(out, t.data, t.len);
        } else {
            size_t a = 0;
            for (size_t i = 1; i + rl <= t.len && r == VKLLM_OK; i++)
                if (!memcmp(t.data + i, rep, rl)) {
                    r = pretok_add(out, t.data + a, i - a);
                    a = i;
                }
            if (r == VKLLM_OK) r = pretok_add(out, t.data + a, t.len - a);
        }
    }
    buf_free(&t);
    return r;
}

vkllm_status pretok_run(const pretok_step *steps, size_t n, const char *s, size_t len,
                        int first_segment, tok_pieces *out) {
    pretok_reset(out);
    TRY(pretok_add(out, s, len));
    if (n == 0) return VKLLM_OK;
    tok_pieces next = {0};
    pretok_spans sp = {0};
    vkllm_status r = VKLLM_OK;
    for (size_t k = 0; k < n && r == VKLLM_OK; k++) {
        const pretok_step *ps = &steps[k];
        pcre2_match_data *md = NULL;
        if (ps->re) {
            md = pcre2_match_data_create_from_pattern((pcre2_code *)ps->re, NULL);
            if (!md) {
                r = pretok_nomem();
                break;
            }
        }
        pretok_reset(&next);
        for (size_t i = 0; i < out->n && r == VKLLM_OK; i++) {
            size_t a = i ? out->end[i - 1] : 0;
            const char *p = out->text.data + a;
            size_t pl = out->end[i] - a;
            switch (ps->step->kind) {
            case TOK_PRE_SPLIT: r = pretok_split_piece(ps, md, &sp, p, pl, &next); break;
            case TOK_PRE_BYTELEVEL: r = pretok_bytelevel(ps, md, &sp, p, pl, &next); break;
            case TOK_PRE_METASPACE:
                r = pretok_metaspace(ps->step, p, pl, first_segment && i == 0, &next);
                break;
            default: break;
            }
        }
        pcre2_match_data_free(md);
        tok_pieces t = *out;
        *out = next;
        next = t;
    }
    pretok_pieces_free(&next);
    mem_free(sp.v);
    return r;
}
