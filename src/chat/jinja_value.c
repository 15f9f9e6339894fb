/* jinja_value.c — the arena, lists and dicts, and Python semantics of values:
 * equality (1 == 1.0 == True), ordering, str() and repr() (lists print as
 * ['a', 1, None], floats as Python's shortest round-trip repr). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja_int.h"
#include "core/mem.h"
#include "core/utf8.h"

typedef struct jinja_blk {
    struct jinja_blk *next;
    size_t used, cap;
    max_align_t data[];
} jinja_blk;

void *jinja_arena_alloc(jinja_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0 || n > ((size_t)1 << 40)) return NULL;
    if (a->limit && (n > a->limit || a->used > a->limit - n)) return NULL;
    jinja_blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = mem_alloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void jinja_arena_free(jinja_arena *a) {
    jinja_blk *b = a->head;
    while (b) {
        jinja_blk *next = b->next;
        mem_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

jlist *jinja_list_new(jrender *r, size_t cap) {
    jlist *l = jinja_arena_alloc(&r->arena, sizeof *l);
    if (!l) return NULL;
    if (cap) {
        l->v = jinja_arena_alloc(&r->arena, cap * sizeof *l->v);
        if (!l->v) return NULL;
        l->cap = cap;
    }
    return l;
}

int jinja_list_push(jrender *r, jlist *l, jv v) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        jv *nv = jinja_arena_alloc(&r->arena, nc * sizeof *nv);
        if (!nv) return -1;
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
    return 0;
}

jdict *jinja_dict_new(jrender *r) { return jinja_arena_alloc(&r->arena, sizeof(jdict)); }

const jv *jinja_dict_getv(const jdict *d, jv k) {
    for (size_t i = 0; i < d->n; i++)
        if (jinja_equal(d->k[i], k)) return &d->v[i];
    return NULL;
}

const jv *jinja_dict_get(const jdict *d, const char *k, size_t n) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].n == n && memcmp(d->k[i].u.s, k, n) == 0)
            return &d->v[i];
    return NULL;
}

int jinja_dict_set(jrender *r, jdict *d, jv k, jv v) {
    const jv *old = jinja_dict_getv(d, k);
    if (old) {
        d->v[old - d->v] = v;
        return 0;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 4;
        jv *nk = jinja_arena_alloc(&r->arena, nc * sizeof *nk);
        jv *nv = jinja_arena_alloc(&r->arena, nc * sizeof *nv);
        if (!nk || !nv) return -1;
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof *nk);
            memcpy(nv, d->v, d->n * sizeof *nv);
        }
        d->k = nk;
        d->v = nv;
        d->cap = nc;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
    return 0;
}

char *jinja_strdup(jrender *r, const char *s, size_t n) {
    char *p = jinja_arena_alloc(&r->arena, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int is_num(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static double num(jv v) { return v.t == JV_FLOAT ? v.u.f : (double)v.u.i; }

int jinja_equal(jv a, jv b) {
    if (is_num(a) && is_num(b)) {
        if (a.t != JV_FLOAT && b.t != JV_FLOAT) return a.u.i == b.u.i;
        return num(a) == num(b);
    }
    if (a.t != b.t) return 0;
    switch (a.t) {
    case JV_UNDEF:
    case JV_NONE: return 1;
    case JV_STR: return a.n == b.n && memcmp(a.u.s, b.u.s, a.n) == 0;
    case JV_LIST:
        if (a.tuple != b.tuple || a.u.l->n != b.u.l->n) return 0;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jinja_equal(a.u.l->v[i], b.u.l->v[i])) return 0;
        return 1;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n) return 0;
        for (size_t i = 0; i < a.u.d->n; i++) {
            const jv *o = jinja_dict_getv(b.u.d, a.u.d->k[i]);
            if (!o || !jinja_equal(a.u.d->v[i], *o)) return 0;
        }
        return 1;
    case JV_NS: return a.u.d == b.u.d;
    case JV_MACRO: return a.u.macro == b.u.macro;
    case JV_FUNC: return a.u.i == b.u.i;
    default: return 0;
    }
}

int jinja_compare(jv a, jv b, int *c) {
    if (is_num(a) && is_num(b)) {
        if (a.t != JV_FLOAT && b.t != JV_FLOAT)
            *c = (a.u.i > b.u.i) - (a.u.i < b.u.i);
        else
            *c = (num(a) > num(b)) - (num(a) < num(b));
        return 0;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        size_t n = a.n < b.n ? a.n : b.n;
        int m = n ? memcmp(a.u.s, b.u.s, n) : 0; /* UTF-8 byte order == code point order */
        *c = m ? (m > 0) - (m < 0) : (a.n > b.n) - (a.n < b.n);
        return 0;
    }
    if (a.t == JV_LIST && b.t == JV_LIST && a.tuple == b.tuple) {
        size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < n; i++) {
            if (jinja_equal(a.u.l->v[i], b.u.l->v[i])) continue;
            return jinja_compare(a.u.l->v[i], b.u.l->v[i], c);
        }
        *c = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return 0;
    }
    return -1;
}

const char *jinja_type_name(jv v) {
    switch (v.t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_MACRO: return "Macro";
    case JV_FUNC: return "function";
    case JV_METHOD: return "method";
    case JV_LOOP: return "LoopContext";
    }
    return "object";
}

void jinja_float_repr(double f, char out[40]) {
    if (isnan(f)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(out, f < 0 ? "-inf" : "inf");
        return;
    }
    char digits[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) { /* shortest round-trip digits */
        snprintf(digits, sizeof digits, "%.*e", prec - 1, f);
        if (strtod(digits, NULL) == f) break;
    }
    /* digits = "[-]d.ddde[+-]XX": take mantissa digits and the exponent */
    const char *p = digits;
    int neg = *p == '-';
    if (neg) p++;
    char mant[24];
    size_t m = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') mant[m++] = *p;
    mant[m] = 0;
    int exp10 = atoi(p + 1);
    char *o = out;
    if (neg) *o++ = '-';
    if (exp10 < -4 || exp10 >= 16) {
        *o++ = mant[0];
        if (m > 1) {
            *o++ = '.';
            memcpy(o, mant + 1, m - 1);
            o += m - 1;
        }
        sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return;
    }
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > exp10; i--)
            *o++ = '0';
        memcpy(o, mant, m);
        o += m;
    } else {
        size_t int_digits = (size_t)exp10 + 1;
        for (size_t i = 0; i < int_digits; i++)
            *o++ = i < m ? mant[i] : '0';
        *o++ = '.';
        if (m > int_digits) {
            memcpy(o, mant + int_digits, m - int_digits);
            o += m - int_digits;
        } else {
            *o++ = '0';
        }
    }
    *o = 0;
}

size_t jinja_utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

size_t jinja_utf8_offset(const char *s, size_t n, size_t index) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == index) return i;
            c++;
        }
    }
    return n;
}

static int py_printable(uint32_t cp) {
    if (cp == ' ') return 1;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    switch (c) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return 0;
    default: return 1;
    }
}

static int repr_str(buf *b, const char *s, size_t n) {
    int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    if (buf_putc(b, q)) return -1;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (!l) { /* not UTF-8: shows as an escaped byte */
            if (buf_printf(b, "\\x%02x", (unsigned char)s[i])) return -1;
            i++;
            continue;
        }
        int rc;
        if (cp == (uint32_t)q || cp == '\\')
            rc = buf_putc(b, '\\') || buf_putc(b, (char)cp);
        else if (cp == '\n')
            rc = buf_puts(b, "\\n");
        else if (cp == '\r')
            rc = buf_puts(b, "\\r");
        else if (cp == '\t')
            rc = buf_puts(b, "\\t");
        else if (py_printable(cp))
            rc = buf_append(b, s + i, l);
        else if (cp < 0x100)
            rc = buf_printf(b, "\\x%02x", cp);
        else if (cp < 0x10000)
            rc = buf_printf(b, "\\u%04x", cp);
        else
            rc = buf_printf(b, "\\U%08x", cp);
        if (rc) return -1;
        i += l;
    }
    return buf_putc(b, q);
}

static int too_long(const buf *b) { return b->len > JINJA_MAX_OUTPUT; }

int jinja_value_repr(buf *b, jv v) {
    if (too_long(b)) return -1;
    switch (v.t) {
    case JV_STR: return repr_str(b, v.u.s, v.n);
    case JV_LIST: {
        if (buf_putc(b, v.tuple ? '(' : '[')) return -1;
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i && buf_puts(b, ", ")) return -1;
            if (jinja_value_repr(b, v.u.l->v[i])) return -1;
        }
        if (v.tuple && v.u.l->n == 1 && buf_putc(b, ',')) return -1;
        return buf_putc(b, v.tuple ? ')' : ']');
    }
    case JV_DICT:
    case JV_NS: {
        if (v.t == JV_NS && buf_puts(b, "<Namespace ")) return -1;
        if (buf_putc(b, '{')) return -1;
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i && buf_puts(b, ", ")) return -1;
            if (jinja_value_repr(b, v.u.d->k[i]) || buf_puts(b, ": ") ||
                jinja_value_repr(b, v.u.d->v[i]))
                return -1;
        }
        if (buf_putc(b, '}')) return -1;
        return v.t == JV_NS ? buf_putc(b, '>') : 0;
    }
    default: return jinja_value_str(b, v);
    }
}

int jinja_value_str(buf *b, jv v) {
    char tmp[40];
    if (too_long(b)) return -1;
    switch (v.t) {
    case JV_UNDEF: return 0;
    case JV_NONE: return buf_puts(b, "None");
    case JV_BOOL: return buf_puts(b, v.u.i ? "True" : "False");
    case JV_INT: return buf_printf(b, "%lld", (long long)v.u.i);
    case JV_FLOAT: jinja_float_repr(v.u.f, tmp); return buf_puts(b, tmp);
    case JV_STR: return buf_append(b, v.u.s, v.n);
    case JV_LIST:
    case JV_DICT:
    case JV_NS: return jinja_value_repr(b, v);
    case JV_MACRO:
        return buf_printf(b, "<Macro '%.*s'>", (int)v.u.macro->node->name_n, v.u.macro->node->name);
    case JV_FUNC: return buf_puts(b, "<function>");
    case JV_METHOD: return buf_printf(b, "<built-in method %.*s>", (int)v.u.m->n, v.u.m->name);
    case JV_LOOP: return buf_puts(b, "<LoopContext>");
    }
    return 0;
}

vkllm_status jinja_str_from_buf(jrender *r, const jnode *at, buf *b, jv *out) {
    if (b->len > JINJA_MAX_OUTPUT) {
        buf_free(b);
        return jinja_fail(r, at, "string longer than %llu bytes",
                          (unsigned long long)JINJA_MAX_OUTPUT);
    }
    char *s = jinja_strdup(r, b->data ? b->data : "", b->len);
    size_t n = b->len;
    buf_free(b);
    if (!s) return jinja_nomem(r, at);
    *out = jv_str(s, n);
    return VKLLM_OK;
}

vkllm_status jinja_to_str(jrender *r, const jnode *at, jv v, jv *out) {
    if (v.t == JV_STR) {
        *out = v;
        return VKLLM_OK;
    }
    buf b = {0};
    if (jinja_value_str(&b, v)) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    return jinja_str_from_buf(r, at, &b, out);
}
