/* jinja_methods.c — the Python str, dict and list methods templates call
 * (`content.split('</think>')`, `message.items()`, `d.get(k, x)`), with
 * CPython's semantics: strip() without arguments removes Unicode whitespace,
 * split() without a separator splits on whitespace runs, indices count code
 * points. Mutating methods (list.append, dict.update) are absent, as in the
 * immutable sandbox transformers uses. */
#include <math.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja_int.h"
#include "core/utf8.h"

int jinja_methods_isspace(uint32_t cp) {
    switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000: return 1;
    default: return cp >= 0x2000 && cp <= 0x200a;
    }
}

/* Decodes the code point before byte offset e (e > 0); returns its start. */
static size_t prev_cp(const char *s, size_t e, uint32_t *cp) {
    size_t b = e - 1;
    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80 && e - b < 4)
        b--;
    if (!utf8_decode((const uint8_t *)s + b, e - b, cp)) {
        b = e - 1;
        *cp = (unsigned char)s[b];
    }
    return b;
}

static size_t next_cp(const char *s, size_t i, size_t n, uint32_t *cp) {
    size_t l = utf8_decode((const uint8_t *)s + i, n - i, cp);
    if (!l) {
        *cp = (unsigned char)s[i];
        l = 1;
    }
    return l;
}

static int in_chars(uint32_t cp, const char *chars, size_t cn) {
    if (!chars) return jinja_methods_isspace(cp);
    for (size_t i = 0; i < cn;) {
        uint32_t c;
        i += next_cp(chars, i, cn, &c);
        if (c == cp) return 1;
    }
    return 0;
}

jv jinja_methods_strip(jv s, int which, const char *chars, size_t cn) {
    size_t b = 0, e = s.n;
    uint32_t cp;
    if (which & 1)
        while (b < e) {
            size_t l = next_cp(s.u.s, b, e, &cp);
            if (!in_chars(cp, chars, cn)) break;
            b += l;
        }
    if (which & 2)
        while (e > b) {
            size_t p = prev_cp(s.u.s, e, &cp);
            if (!in_chars(cp, chars, cn)) break;
            e = p;
        }
    return jv_str(s.u.s + b, e - b);
}

static const char *const str_methods[] = {
    "strip",   "lstrip",     "rstrip",  "split",   "rsplit",     "startswith", "endswith",
    "upper",   "lower",      "replace", "title",   "capitalize", "find",       "rfind",
    "count",   "join",       "isdigit", "isalpha", "isalnum",    "isspace",    "islower",
    "isupper", "splitlines", "index",   NULL};
static const char *const dict_methods[] = {"items", "keys", "values", "get", NULL};
static const char *const list_methods[] = {"index", "count", NULL};

static int in_list(const char *const *l, const char *name, size_t n) {
    for (; *l; l++)
        if (strlen(*l) == n && memcmp(*l, name, n) == 0) return 1;
    return 0;
}

int jinja_methods_has(jv self, const char *name, size_t n) {
    if (self.t == JV_STR) return in_list(str_methods, name, n);
    if (self.t == JV_DICT) return in_list(dict_methods, name, n);
    if (self.t == JV_LIST) return in_list(list_methods, name, n);
    return 0;
}

static vkllm_status want_str(jrender *r, const jnode *at, const char *m, const jv *args,
                             size_t n_args, size_t i, int opt_none) {
    if (i >= n_args) return jinja_fail(r, at, "%s() missing argument %zu", m, i + 1);
    if (args[i].t == JV_STR || (opt_none && args[i].t == JV_NONE)) return VKLLM_OK;
    return jinja_fail(r, at, "%s() argument %zu must be str, not %s", m, i + 1,
                      jinja_type_name(args[i]));
}

/* 1 upper, 2 lower, 3 str.title, 4 capitalize, 5 the Jinja title filter (words
 * start after - whitespace ( { [ <, other characters are lowered). */
static int case_map(buf *b, jv s, int mode) {
    int prev_cased = 0, word_start = 1;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp;
        size_t l = next_cp(s.u.s, i, s.n, &cp);
        uint32_t o = cp;
        if (mode == 1)
            o = (uint32_t)utf8proc_toupper((utf8proc_int32_t)cp);
        else if (mode == 2)
            o = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
        else if (mode == 3) {
            o = (uint32_t)(prev_cased ? utf8proc_tolower((utf8proc_int32_t)cp)
                                      : utf8proc_totitle((utf8proc_int32_t)cp));
            utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
            prev_cased =
                c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
        } else if (mode == 5) {
            o = (uint32_t)(word_start ? utf8proc_toupper((utf8proc_int32_t)cp)
                                      : utf8proc_tolower((utf8proc_int32_t)cp));
            word_start = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' ||
                         jinja_methods_isspace(cp);
        } else {
            o = (uint32_t)(i == 0 ? utf8proc_toupper((utf8proc_int32_t)cp)
                                  : utf8proc_tolower((utf8proc_int32_t)cp));
        }
        char enc[4];
        if (buf_append(b, enc, utf8_encode(o, enc))) return -1;
        i += l;
    }
    return 0;
}

vkllm_status jinja_methods_case(jrender *r, const jnode *at, jv s, int mode, jv *out) {
    buf b = {0};
    if (case_map(&b, s, mode)) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    return jinja_str_from_buf(r, at, &b, out);
}

static const char *find_sub(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0) return h;
    const char *end = h + hn;
    while (nn <= (size_t)(end - h)) {
        const char *p = memchr(h, nd[0], (size_t)(end - h) - nn + 1);
        if (!p) return NULL;
        if (memcmp(p, nd, nn) == 0) return p;
        h = p + 1;
    }
    return NULL;
}

static vkllm_status str_split(jrender *r, const jnode *at, jv s, const jv *args, size_t n_args,
                              const char *const *kw_names, const jv *kw_vals, size_t n_kw,
                              int rsplit, jv *out) {
    jv sep = n_args > 0 ? args[0] : jv_none();
    int64_t maxsplit = -1;
    if (n_args > 1 && (args[1].t == JV_INT)) maxsplit = args[1].u.i;
    for (size_t k = 0; k < n_kw; k++) {
        if (!strcmp(kw_names[k], "sep"))
            sep = kw_vals[k];
        else if (!strcmp(kw_names[k], "maxsplit") && kw_vals[k].t == JV_INT)
            maxsplit = kw_vals[k].u.i;
    }
    if (sep.t != JV_NONE && sep.t != JV_STR)
        return jinja_fail(r, at, "split(): separator must be str or None");
    if (sep.t == JV_STR && sep.n == 0) return jinja_fail(r, at, "empty separator");
    jlist *l = jinja_list_new(r, 0);
    if (!l) return jinja_nomem(r, at);
    if (sep.t == JV_STR && !rsplit) {
        size_t i = 0;
        for (;;) {
            const char *p = maxsplit != 0 ? find_sub(s.u.s + i, s.n - i, sep.u.s, sep.n) : NULL;
            if (!p) break;
            if (jinja_list_push(r, l, jv_str(s.u.s + i, (size_t)(p - s.u.s) - i)))
                return jinja_nomem(r, at);
            i = (size_t)(p - s.u.s) + sep.n;
            if (maxsplit > 0) maxsplit--;
        }
        if (jinja_list_push(r, l, jv_str(s.u.s + i, s.n - i))) return jinja_nomem(r, at);
    } else if (sep.t == JV_STR) { /* rsplit with a separator: collect from the right */
        size_t e = s.n;
        jlist *rev = jinja_list_new(r, 0);
        if (!rev) return jinja_nomem(r, at);
        while (maxsplit != 0 && e >= sep.n) {
            size_t i = e - sep.n;
            for (;; i--) {
                if (memcmp(s.u.s + i, sep.u.s, sep.n) == 0) break;
                if (i == 0) {
                    i = (size_t)-1;
                    break;
                }
            }
            if (i == (size_t)-1) break;
            if (jinja_list_push(r, rev, jv_str(s.u.s + i + sep.n, e - i - sep.n)))
                return jinja_nomem(r, at);
            e = i;
            if (maxsplit > 0) maxsplit--;
        }
        if (jinja_list_push(r, rev, jv_str(s.u.s, e))) return jinja_nomem(r, at);
        for (size_t k = rev->n; k-- > 0;)
            if (jinja_list_push(r, l, rev->v[k])) return jinja_nomem(r, at);
    } else { /* whitespace runs; leading/trailing whitespace gives no empty items */
        size_t i = 0;
        uint32_t cp;
        for (;;) {
            while (i < s.n) {
                size_t len = next_cp(s.u.s, i, s.n, &cp);
                if (!jinja_methods_isspace(cp)) break;
                i += len;
            }
            if (i >= s.n) break;
            if (maxsplit == 0) {
                jv rest = jinja_methods_strip(jv_str(s.u.s + i, s.n - i), 2, NULL, 0);
                if (jinja_list_push(r, l, rest)) return jinja_nomem(r, at);
                break;
            }
            size_t b = i;
            while (i < s.n) {
                size_t len = next_cp(s.u.s, i, s.n, &cp);
                if (jinja_methods_isspace(cp)) break;
                i += len;
            }
            if (jinja_list_push(r, l, jv_str(s.u.s + b, i - b))) return jinja_nomem(r, at);
            if (maxsplit > 0) maxsplit--;
        }
    }
    out->t = JV_LIST;
    out->tuple = 0;
    out->u.l = l;
    return VKLLM_OK;
}

static vkllm_status str_replace(jrender *r, const jnode *at, jv s, jv old, jv new_, int64_t count,
                                jv *out) {
    buf b = {0};
    size_t i = 0;
    int rc = 0;
    if (old.n == 0) { /* inserts new_ between code points, as Python does */
        for (; !rc && i <= s.n && count != 0; count--) {
            rc = buf_append(&b, new_.u.s, new_.n);
            if (i == s.n) {
                i++;
                break;
            }
            uint32_t cp;
            size_t l = next_cp(s.u.s, i, s.n, &cp);
            rc = rc || buf_append(&b, s.u.s + i, l);
            i += l;
            if (b.len > JINJA_MAX_OUTPUT) break;
        }
        if (i <= s.n) rc = rc || buf_append(&b, s.u.s + i, s.n - i);
    } else {
        /* size the result first so a blow-up fails before any copying */
        uint64_t hits = 0;
        for (const char *p = s.u.s; count < 0 || hits < (uint64_t)count; p += old.n, hits++) {
            p = find_sub(p, s.n - (size_t)(p - s.u.s), old.u.s, old.n);
            if (!p) break;
        }
        if (new_.n > old.n && hits * (new_.n - old.n) > JINJA_MAX_OUTPUT - s.n)
            return jinja_fail(r, at, "replace: result longer than %llu bytes",
                              (unsigned long long)JINJA_MAX_OUTPUT);
        while (!rc && count != 0 && b.len <= JINJA_MAX_OUTPUT) {
            const char *p = find_sub(s.u.s + i, s.n - i, old.u.s, old.n);
            if (!p) break;
            rc = buf_append(&b, s.u.s + i, (size_t)(p - s.u.s) - i) ||
                 buf_append(&b, new_.u.s, new_.n);
            i = (size_t)(p - s.u.s) + old.n;
            if (count > 0) count--;
        }
        rc = rc || buf_append(&b, s.u.s + i, s.n - i);
    }
    if (rc) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    return jinja_str_from_buf(r, at, &b, out);
}

vkllm_status jinja_methods_replace(jrender *r, const jnode *at, jv s, jv old, jv new_,
                                   int64_t count, jv *out) {
    return str_replace(r, at, s, old, new_, count, out);
}

static vkllm_status str_method(jrender *r, const jnode *at, jv s, const char *m, const jv *args,
                               size_t n_args, const char *const *kw_names, const jv *kw_vals,
                               size_t n_kw, jv *out) {
    if (!strcmp(m, "strip") || !strcmp(m, "lstrip") || !strcmp(m, "rstrip")) {
        int which = m[0] == 'l' ? 1 : m[0] == 'r' ? 2 : 3;
        if (n_args) TRY(want_str(r, at, m, args, n_args, 0, 1));
        if (n_args && args[0].t == JV_STR)
            *out = jinja_methods_strip(s, which, args[0].u.s, args[0].n);
        else
            *out = jinja_methods_strip(s, which, NULL, 0);
        return VKLLM_OK;
    }
    if (!strcmp(m, "split") || !strcmp(m, "rsplit"))
        return str_split(r, at, s, args, n_args, kw_names, kw_vals, n_kw, m[0] == 'r', out);
    if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
        if (n_args != 1) return jinja_fail(r, at, "%s() takes exactly one argument", m);
        jlist one = {1, 1, (jv *)&args[0]};
        const jlist *opts = args[0].t == JV_LIST ? args[0].u.l : &one;
        int res = 0;
        for (size_t i = 0; i < opts->n && !res; i++) {
            jv p = opts->v[i];
            if (p.t != JV_STR)
                return jinja_fail(r, at, "%s() argument must be str or a tuple of str", m);
            res = p.n <= s.n && memcmp(m[0] == 's' ? s.u.s : s.u.s + s.n - p.n, p.u.s, p.n) == 0;
        }
        *out = jv_bool(res);
        return VKLLM_OK;
    }
    if (!strcmp(m, "upper")) return jinja_methods_case(r, at, s, 1, out);
    if (!strcmp(m, "lower")) return jinja_methods_case(r, at, s, 2, out);
    if (!strcmp(m, "title")) return jinja_methods_case(r, at, s, 3, out);
    if (!strcmp(m, "capitalize")) return jinja_methods_case(r, at, s, 4, out);
    if (!strcmp(m, "replace")) {
        TRY(want_str(r, at, m, args, n_args, 0, 0));
        TRY(want_str(r, at, m, args, n_args, 1, 0));
        int64_t count = n_args > 2 && args[2].t == JV_INT ? args[2].u.i : -1;
        return str_replace(r, at, s, args[0], args[1], count, out);
    }
    if (!strcmp(m, "find") || !strcmp(m, "rfind") || !strcmp(m, "count") || !strcmp(m, "index")) {
        TRY(want_str(r, at, m, args, n_args, 0, 0));
        jv sub = args[0];
        int64_t count = 0, found = -1;
        for (size_t i = 0; sub.n <= s.n && i <= s.n - sub.n;) {
            if (memcmp(s.u.s + i, sub.u.s, sub.n) == 0) {
                if (found < 0 || m[0] == 'r') found = (int64_t)jinja_utf8_len(s.u.s, i);
                count++;
                i += sub.n ? sub.n : 1;
            } else {
                i++;
            }
        }
        if (m[0] == 'c')
            *out = jv_int(count);
        else if (m[0] == 'i' && found < 0)
            return jinja_fail(r, at, "substring not found");
        else
            *out = jv_int(found);
        return VKLLM_OK;
    }
    if (!strcmp(m, "join")) {
        if (n_args != 1 || args[0].t != JV_LIST) return jinja_fail(r, at, "join() expects a list");
        buf b = {0};
        for (size_t i = 0; i < args[0].u.l->n; i++) {
            jv it = args[0].u.l->v[i];
            if (it.t != JV_STR) {
                buf_free(&b);
                return jinja_fail(r, at, "sequence item %zu: expected str instance, %s found", i,
                                  jinja_type_name(it));
            }
            if ((i && buf_append(&b, s.u.s, s.n)) || buf_append(&b, it.u.s, it.n) ||
                b.len > JINJA_MAX_OUTPUT) {
                buf_free(&b);
                return jinja_nomem(r, at);
            }
        }
        return jinja_str_from_buf(r, at, &b, out);
    }
    if (!strcmp(m, "splitlines")) {
        jlist *l = jinja_list_new(r, 0);
        if (!l) return jinja_nomem(r, at);
        size_t b = 0;
        for (size_t i = 0; i < s.n; i++)
            if (s.u.s[i] == '\n' || s.u.s[i] == '\r') {
                if (jinja_list_push(r, l, jv_str(s.u.s + b, i - b))) return jinja_nomem(r, at);
                if (s.u.s[i] == '\r' && i + 1 < s.n && s.u.s[i + 1] == '\n') i++;
                b = i + 1;
            }
        if (b < s.n && jinja_list_push(r, l, jv_str(s.u.s + b, s.n - b))) return jinja_nomem(r, at);
        out->t = JV_LIST;
        out->tuple = 0;
        out->u.l = l;
        return VKLLM_OK;
    }
    /* is* predicates */
    int all = s.n > 0, any_cased = 0;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp;
        i += next_cp(s.u.s, i, s.n, &cp);
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
        int alpha = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
        int digit = c == UTF8PROC_CATEGORY_ND;
        if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT)
            any_cased = 1;
        if (!strcmp(m, "isdigit"))
            all &= digit;
        else if (!strcmp(m, "isalpha"))
            all &= alpha;
        else if (!strcmp(m, "isalnum"))
            all &= alpha || digit;
        else if (!strcmp(m, "isspace"))
            all &= jinja_methods_isspace(cp);
        else if (!strcmp(m, "islower"))
            all &= c != UTF8PROC_CATEGORY_LU && c != UTF8PROC_CATEGORY_LT;
        else if (!strcmp(m, "isupper"))
            all &= c != UTF8PROC_CATEGORY_LL && c != UTF8PROC_CATEGORY_LT;
    }
    if (!strcmp(m, "islower") || !strcmp(m, "isupper")) all = all && any_cased;
    *out = jv_bool(all);
    return VKLLM_OK;
}

static vkllm_status dict_method(jrender *r, const jnode *at, const jdict *d, const char *m,
                                const jv *args, size_t n_args, jv *out) {
    if (!strcmp(m, "get")) {
        if (n_args < 1 || n_args > 2) return jinja_fail(r, at, "get() expects 1 or 2 arguments");
        const jv *v = jinja_dict_getv(d, args[0]);
        *out = v ? *v : n_args > 1 ? args[1] : jv_none();
        return VKLLM_OK;
    }
    if (n_args) return jinja_fail(r, at, "%s() takes no arguments", m);
    jlist *l = jinja_list_new(r, d->n);
    if (!l) return jinja_nomem(r, at);
    for (size_t i = 0; i < d->n; i++) {
        if (!strcmp(m, "keys"))
            l->v[l->n++] = d->k[i];
        else if (!strcmp(m, "values"))
            l->v[l->n++] = d->v[i];
        else {
            jlist *pair = jinja_list_new(r, 2);
            if (!pair) return jinja_nomem(r, at);
            pair->v[0] = d->k[i];
            pair->v[1] = d->v[i];
            pair->n = 2;
            jv t = {0};
            t.t = JV_LIST;
            t.tuple = 1;
            t.u.l = pair;
            l->v[l->n++] = t;
        }
    }
    out->t = JV_LIST;
    out->tuple = 0;
    out->u.l = l;
    return VKLLM_OK;
}

vkllm_status jinja_methods_call(jrender *r, const jnode *at, const jmethod *m, const jv *args,
                                size_t n_args, const char *const *kw_names, const jv *kw_vals,
                                size_t n_kw, jv *out) {
    char name[24];
    snprintf(name, sizeof name, "%.*s", (int)m->n, m->name);
    if (m->self.t == JV_STR)
        return str_method(r, at, m->self, name, args, n_args, kw_names, kw_vals, n_kw, out);
    if (n_kw) return jinja_fail(r, at, "%s() takes no keyword arguments", name);
    if (m->self.t == JV_DICT) return dict_method(r, at, m->self.u.d, name, args, n_args, out);
    if (m->self.t == JV_LIST && n_args == 1) {
        const jlist *l = m->self.u.l;
        int64_t count = 0, first = -1;
        for (size_t i = 0; i < l->n; i++)
            if (jinja_equal(l->v[i], args[0])) {
                if (first < 0) first = (int64_t)i;
                count++;
            }
        if (name[0] == 'i' && first < 0) return jinja_fail(r, at, "list.index(x): x not in list");
        *out = jv_int(name[0] == 'i' ? first : count);
        return VKLLM_OK;
    }
    return jinja_fail(r, at, "bad call of method %s() of '%s' object", name,
                      jinja_type_name(m->self));
}

/* Python printf-style formatting (`fmt % args`, the format filter): %s %r %d %i
 * %f %x %% with optional flags, width and precision. */
vkllm_status jinja_methods_percent(jrender *r, const jnode *at, jv fmt, const jv *args,
                                   size_t n_args, jv *out) {
    buf b = {0};
    size_t next = 0;
    int rc = 0;
    for (size_t i = 0; i < fmt.n && !rc; i++) {
        char c = fmt.u.s[i];
        if (c != '%') {
            rc = buf_putc(&b, c);
            continue;
        }
        char spec[32] = "%";
        size_t k = 1;
        for (i++; i < fmt.n && k < sizeof spec - 2 && strchr("-+ #0123456789.", fmt.u.s[i]); i++)
            spec[k++] = fmt.u.s[i];
        if (i >= fmt.n) {
            buf_free(&b);
            return jinja_fail(r, at, "incomplete format");
        }
        char conv = fmt.u.s[i];
        if (conv == '%') {
            rc = buf_putc(&b, '%');
            continue;
        }
        if (next >= n_args) {
            buf_free(&b);
            return jinja_fail(r, at, "not enough arguments for format string");
        }
        jv v = args[next++];
        if (conv == 's' || conv == 'r') {
            buf tmp = {0};
            rc = conv == 's' ? jinja_value_str(&tmp, v) : jinja_value_repr(&tmp, v);
            spec[k++] = 's';
            spec[k] = 0;
            if (!rc) rc = buf_printf(&b, spec, tmp.data ? tmp.data : "");
            buf_free(&tmp);
        } else if (strchr("dixX", conv) && (v.t == JV_INT || v.t == JV_BOOL || v.t == JV_FLOAT)) {
            spec[k++] = 'l';
            spec[k++] = 'l';
            spec[k++] = conv == 'i' ? 'd' : conv;
            spec[k] = 0;
            if (v.t == JV_FLOAT && !(fabs(v.u.f) < 9.2e18)) {
                buf_free(&b);
                return jinja_fail(r, at, "format: %g does not fit an integer", v.u.f);
            }
            rc = buf_printf(&b, spec, v.t == JV_FLOAT ? (long long)v.u.f : (long long)v.u.i);
        } else if (strchr("feEgG", conv) && (v.t == JV_INT || v.t == JV_BOOL || v.t == JV_FLOAT)) {
            spec[k++] = conv;
            spec[k] = 0;
            rc = buf_printf(&b, spec, v.t == JV_FLOAT ? v.u.f : (double)v.u.i);
        } else {
            buf_free(&b);
            return jinja_fail(r, at, "unsupported format %%%c for a %s", conv, jinja_type_name(v));
        }
        if (b.len > JINJA_MAX_OUTPUT) rc = -1;
    }
    if (rc) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    if (next < n_args) {
        buf_free(&b);
        return jinja_fail(r, at, "not all arguments converted during string formatting");
    }
    return jinja_str_from_buf(r, at, &b, out);
}
