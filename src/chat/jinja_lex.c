/* jinja_lex.c — splits a template into text and tag tokens.
 * Whitespace control is resolved here, as Jinja2's lexer does: `{%-`/`-%}` (and
 * the `{{ }}`/`{# #}` forms) strip all whitespace on that side; lstrip_blocks
 * drops spaces and tabs between a line start and a `{%` or `{#` (unless `{%+`);
 * trim_blocks drops the first newline after `%}` or `#}` (unless `+%}`).
 * Inside tags, brackets are balanced so `}}` closing a dict does not end a tag. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chat/jinja_int.h"
#include "core/mem.h"
#include "core/utf8.h"

#define LEX_MAX_BRACKETS JINJA_MAX_DEPTH

typedef struct lexer {
    const jinja_src *src;
    jinja_arena *a;
    jtok *toks;
    size_t n, cap;
} lexer;

void jinja_lex_linecol(const jinja_src *src, size_t pos, unsigned *line, unsigned *col) {
    unsigned l = 1;
    size_t start = 0;
    if (pos > src->len) pos = src->len;
    for (size_t i = 0; i < pos; i++)
        if (src->text[i] == '\n') l++, start = i + 1;
    *line = l;
    *col = (unsigned)(pos - start + 1);
}

static vkllm_status lex_fail(lexer *lx, size_t pos, const char *fmt, ...) ERR_PRINTF(3, 4);
static vkllm_status lex_fail(lexer *lx, size_t pos, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    jinja_lex_linecol(lx->src, pos, &line, &col);
    return err_set(VKLLM_ERR_TEMPLATE, "template:%u:%u: %s", line, col, msg);
}

static jtok *lex_push(lexer *lx, jtok_type t, size_t pos, const char *s, size_t n) {
    if (lx->n == lx->cap) {
        size_t nc = lx->cap ? lx->cap * 2 : 256;
        jtok *nt = jinja_arena_alloc(lx->a, nc * sizeof *nt);
        if (!nt) return NULL;
        if (lx->n) memcpy(nt, lx->toks, lx->n * sizeof *nt);
        lx->toks = nt;
        lx->cap = nc;
    }
    jtok *t_ = &lx->toks[lx->n++];
    memset(t_, 0, sizeof *t_);
    t_->type = t;
    t_->pos = pos;
    t_->s = s;
    t_->n = n;
    return t_;
}

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int is_name0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_name(char c) { return is_name0(c) || is_digit(c); }

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a Python string literal starting at quote p; *end = after the closing quote. */
static vkllm_status lex_string(lexer *lx, size_t p, size_t *end, jtok *t) {
    const char *s = lx->src->text;
    size_t len = lx->src->len;
    char q = s[p];
    size_t i = p + 1;
    while (i < len && s[i] != q)
        i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
    if (i >= len) return lex_fail(lx, p, "unterminated string literal");
    char *out = jinja_arena_alloc(lx->a, i - p + 4); /* decoded text is never longer */
    if (!out) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
    size_t o = 0;
    for (size_t k = p + 1; k < i; k++) {
        if (s[k] != '\\') {
            out[o++] = s[k];
            continue;
        }
        char c = s[++k];
        int hex_n = 0;
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case '0': out[o++] = '\0'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': out[o++] = '\\'; break;
        case '\'': out[o++] = '\''; break;
        case '"': out[o++] = '"'; break;
        case '\n': break; /* line continuation */
        case 'x': hex_n = 2; break;
        case 'u': hex_n = 4; break;
        case 'U': hex_n = 8; break;
        default:
            out[o++] = '\\';
            out[o++] = c;
            break; /* unknown escapes stay as written */
        }
        if (hex_n) {
            uint32_t cp = 0;
            if (k + (size_t)hex_n >= i) return lex_fail(lx, k - 1, "truncated \\%c escape", c);
            for (int h = 1; h <= hex_n; h++) {
                int v = hexval(s[k + (size_t)h]);
                if (v < 0) return lex_fail(lx, k - 1, "bad \\%c escape", c);
                cp = cp * 16 + (uint32_t)v;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return lex_fail(lx, k - 1, "escape \\%c is not a valid code point", c);
            k += (size_t)hex_n;
            o += utf8_encode(cp, out + o);
        }
    }
    out[o] = 0;
    t->s = out;
    t->n = o;
    *end = i + 1;
    return VKLLM_OK;
}

static vkllm_status lex_number(lexer *lx, size_t p, size_t *end, jtok *t) {
    const char *s = lx->src->text;
    size_t len = lx->src->len, i = p;
    char tmp[128];
    size_t k = 0;
    int is_float = 0;
    while (i < len && (is_digit(s[i]) || (s[i] == '_' && i + 1 < len && is_digit(s[i + 1])))) {
        if (s[i] != '_' && k < sizeof tmp - 1) tmp[k++] = s[i];
        i++;
    }
    if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
        is_float = 1;
        if (k < sizeof tmp - 1) tmp[k++] = '.';
        i++;
        while (i < len && (is_digit(s[i]) || (s[i] == '_' && i + 1 < len && is_digit(s[i + 1])))) {
            if (s[i] != '_' && k < sizeof tmp - 1) tmp[k++] = s[i];
            i++;
        }
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-')) j++;
        if (j < len && is_digit(s[j])) {
            is_float = 1;
            if (k < sizeof tmp - 1) tmp[k++] = 'e';
            for (i++; i < len && (is_digit(s[i]) || s[i] == '+' || s[i] == '-'); i++)
                if (k < sizeof tmp - 1) tmp[k++] = s[i];
        }
    }
    if (k >= sizeof tmp - 1) return lex_fail(lx, p, "number literal too long");
    tmp[k] = 0;
    if (is_float) {
        t->type = JT_FLOAT;
        t->f = strtod(tmp, NULL);
    } else {
        uint64_t v = 0;
        for (size_t j = 0; j < k; j++) {
            uint64_t digit = (uint64_t)(tmp[j] - '0');
            if (v > ((uint64_t)INT64_MAX - digit) / 10)
                return lex_fail(lx, p, "integer literal too large");
            v = v * 10 + digit;
        }
        t->type = JT_INT;
        t->i = (int64_t)v;
    }
    *end = i;
    return VKLLM_OK;
}

static const char *const lex_ops2[] = {"//", "**", "==", "!=", "<=", ">="};
static const char lex_ops1[] = "+-*/%~<>=.,:|()[]{}";

/* Lexes the inside of a tag from p; kind '{' (variable) or '%'. Returns the
 * position after the closing delimiter in *end and whether it had '-' / '+'. */
static vkllm_status lex_tag(lexer *lx, size_t open, size_t p, char kind, size_t *end, int *strip,
                            int *keep) {
    const char *s = lx->src->text;
    size_t len = lx->src->len;
    char stack[LEX_MAX_BRACKETS];
    int depth = 0;
    char close = kind == '{' ? '}' : '%';
    for (;;) {
        while (p < len && is_ws(s[p]))
            p++;
        if (p >= len) return lex_fail(lx, open, "unterminated '%s' tag", kind == '{' ? "{{" : "{%");
        if (depth == 0) {
            size_t q = p;
            int mod = 0;
            if ((s[q] == '-' || (s[q] == '+' && kind == '%')) && q + 2 < len + 0 &&
                s[q + 1] == close && s[q + 2] == '}')
                mod = s[q] == '-' ? 1 : 2, q++;
            if (q + 1 < len && s[q] == close && s[q + 1] == '}') {
                if (!lex_push(lx, kind == '{' ? JT_VAR_END : JT_BLOCK_END, p, s + p, 0))
                    return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
                *end = q + 2;
                *strip = mod == 1;
                *keep = mod == 2;
                return VKLLM_OK;
            }
        }
        jtok *t = lex_push(lx, JT_OP, p, s + p, 1);
        if (!t) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
        char c = s[p];
        if (is_name0(c)) {
            size_t q = p;
            while (q < len && is_name(s[q]))
                q++;
            t->type = JT_NAME;
            t->n = q - p;
            p = q;
        } else if (is_digit(c)) {
            TRY(lex_number(lx, p, &p, t));
        } else if (c == '\'' || c == '"') {
            t->type = JT_STRING;
            TRY(lex_string(lx, p, &p, t));
        } else {
            int matched = 0;
            for (size_t k = 0; k < sizeof lex_ops2 / sizeof *lex_ops2; k++)
                if (p + 1 < len && s[p] == lex_ops2[k][0] && s[p + 1] == lex_ops2[k][1]) {
                    t->n = 2;
                    matched = 1;
                }
            if (!matched && !strchr(lex_ops1, c))
                return lex_fail(lx, p, "unexpected character '%c'", c);
            if (!matched && (c == '(' || c == '[' || c == '{')) {
                if (depth >= LEX_MAX_BRACKETS)
                    return lex_fail(lx, p, "brackets nested deeper than %d", LEX_MAX_BRACKETS);
                stack[depth++] = c;
            } else if (!matched && (c == ')' || c == ']' || c == '}')) {
                char want = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (depth == 0 || stack[depth - 1] != want)
                    return lex_fail(lx, p, "unexpected '%c'", c);
                depth--;
            }
            p += t->n;
        }
    }
}

/* Spaces/tabs between the last line start in [from, to) and `to` are removed
 * when nothing else precedes the tag on its line (lstrip_blocks). */
static size_t lex_lstrip(const char *s, size_t from, size_t to) {
    size_t i = to;
    while (i > from && (s[i - 1] == ' ' || s[i - 1] == '\t'))
        i--;
    if (i == 0 || s[i - 1] == '\n') return i;
    return to;
}

/* Matches `WORD %}` (spaces allowed, optional -/+ before %}) at p, the inside
 * of a {% raw %} or {% endraw %} tag; sets *end after it and the modifier. */
static int lex_raw_tag(const char *s, size_t len, size_t p, const char *word, size_t *end,
                       int *strip, int *keep) {
    size_t wn = strlen(word);
    while (p < len && is_ws(s[p]))
        p++;
    if (len - p < wn || memcmp(s + p, word, wn) != 0) return 0;
    p += wn;
    if (p < len && is_name(s[p])) return 0;
    while (p < len && is_ws(s[p]))
        p++;
    int mod = p < len && (s[p] == '-' || s[p] == '+') ? s[p] : 0;
    if (mod) p++;
    if (len - p < 2 || s[p] != '%' || s[p + 1] != '}') return 0;
    *end = p + 2;
    *strip = mod == '-';
    *keep = mod == '+';
    return 1;
}

/* {% raw %}...{% endraw %}: the body is text. Returns the position after
 * `endraw %}` in *after with its modifiers; the opening tag's newline is kept
 * (Jinja2 applies trim_blocks only to the closing tag). */
static vkllm_status lex_raw(lexer *lx, size_t open, size_t body, size_t *after, int *strip,
                            int *keep) {
    const char *s = lx->src->text;
    size_t len = lx->src->len, p = body;
    if (*strip)
        while (p < len && is_ws(s[p]))
            p++;
    for (size_t e = p; e + 1 < len; e++) {
        if (s[e] != '{' || s[e + 1] != '%') continue;
        char mod = e + 2 < len ? s[e + 2] : 0;
        size_t b2 = e + 2 + (mod == '-' || mod == '+');
        if (!lex_raw_tag(s, len, b2, "endraw", after, strip, keep)) continue;
        size_t text_end = e;
        if (mod == '-')
            while (text_end > p && is_ws(s[text_end - 1]))
                text_end--;
        else if (mod != '+')
            text_end = lex_lstrip(s, p, text_end);
        if (text_end > p && !lex_push(lx, JT_TEXT, p, s + p, text_end - p))
            return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
        return VKLLM_OK;
    }
    return lex_fail(lx, open, "missing {%% endraw %%}");
}

vkllm_status jinja_lex(const jinja_src *src, jinja_arena *a, jtok **toks, size_t *n_toks) {
    lexer lx = {.src = src, .a = a};
    const char *s = src->text;
    size_t len = src->len, p = 0;
    while (p <= len) {
        size_t q = p;
        while (q + 1 < len &&
               !(s[q] == '{' && (s[q + 1] == '{' || s[q + 1] == '%' || s[q + 1] == '#')))
            q++;
        if (q + 1 >= len) q = len;
        size_t text_end = q;
        char kind = q < len ? s[q + 1] : 0;
        char mod = q + 2 < len ? s[q + 2] : 0;
        if (kind && mod == '-') {
            while (text_end > p && is_ws(s[text_end - 1]))
                text_end--;
        } else if (kind && kind != '{' && mod != '+') {
            text_end = lex_lstrip(s, p, text_end);
        }
        if (text_end > p && !lex_push(&lx, JT_TEXT, p, s + p, text_end - p))
            return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
        if (!kind) break;
        size_t body = q + 2 + (mod == '-' || mod == '+');
        size_t after = len;
        int strip = 0, keep = 0;
        size_t raw_end;
        if (kind == '%' && lex_raw_tag(s, len, body, "raw", &raw_end, &strip, &keep)) {
            TRY(lex_raw(&lx, q, raw_end, &after, &strip, &keep));
        } else if (kind == '#') {
            size_t e = body;
            while (e + 1 < len && !(s[e] == '#' && s[e + 1] == '}'))
                e++;
            if (e + 1 >= len) return lex_fail(&lx, q, "unterminated comment");
            strip = e > body && s[e - 1] == '-';
            keep = e > body && s[e - 1] == '+';
            after = e + 2;
        } else {
            if (!lex_push(&lx, kind == '{' ? JT_VAR_BEGIN : JT_BLOCK_BEGIN, q, s + q, 2))
                return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
            TRY(lex_tag(&lx, q, body, kind, &after, &strip, &keep));
        }
        if (strip) {
            while (after < len && is_ws(s[after]))
                after++;
        } else if (kind != '{' && !keep && after < len && s[after] == '\n') {
            after++;
        }
        p = after;
    }
    if (!lex_push(&lx, JT_EOF, len, s + len, 0))
        return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
    *toks = lx.toks;
    *n_toks = lx.n;
    return VKLLM_OK;
}
