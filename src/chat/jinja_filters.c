/* jinja_filters.c — Jinja2's built-in filters and tests that chat templates
 * use, with Jinja2 3.1 semantics (plus transformers' tojson). Arguments come
 * positionally or by keyword, as in Jinja2's signatures. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_int.h"

typedef struct fargs {
    const jv *args;
    size_t n_args;
    const char *const *kw_names;
    const jv *kw_vals;
    size_t n_kw;
} fargs;

/* Argument `pos` (0 = first after the value) or keyword `name`; dflt when absent. */
static jv arg(const fargs *a, size_t pos, const char *name, jv dflt) {
    if (pos < a->n_args) return a->args[pos];
    for (size_t k = 0; k < a->n_kw; k++)
        if (name && !strcmp(a->kw_names[k], name)) return a->kw_vals[k];
    return dflt;
}

static jv mklist(jlist *l, int tuple) {
    jv v = {0};
    v.t = JV_LIST;
    v.tuple = (uint8_t)tuple;
    v.u.l = l;
    return v;
}

static int name_is(const char *name, size_t n, const char *s) {
    return strlen(s) == n && memcmp(name, s, n) == 0;
}

/* ---- tests ---- */

vkllm_status jinja_filters_test(jrender *r, const jnode *at, const char *name, size_t nn, jv v,
                                const jv *args, size_t n_args, int *out) {
#define T(s) name_is(name, nn, s)
    jv a0 = n_args ? args[0] : jv_undef();
    if (T("defined"))
        *out = v.t != JV_UNDEF;
    else if (T("undefined"))
        *out = v.t == JV_UNDEF;
    else if (T("none"))
        *out = v.t == JV_NONE;
    else if (T("boolean"))
        *out = v.t == JV_BOOL;
    else if (T("true"))
        *out = v.t == JV_BOOL && v.u.i;
    else if (T("false"))
        *out = v.t == JV_BOOL && !v.u.i;
    else if (T("integer"))
        *out = v.t == JV_INT;
    else if (T("float"))
        *out = v.t == JV_FLOAT;
    else if (T("number"))
        *out = v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL;
    else if (T("string"))
        *out = v.t == JV_STR;
    else if (T("mapping"))
        *out = v.t == JV_DICT;
    else if (T("iterable") || T("sequence"))
        *out = v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    else if (T("callable")) /* Jinja2's Undefined has __call__ (which raises) */
        *out = v.t == JV_MACRO || v.t == JV_FUNC || v.t == JV_METHOD || v.t == JV_UNDEF;
    else if (T("sameas")) {
        if (v.t != a0.t)
            *out = 0;
        else if (v.t == JV_NONE || v.t == JV_UNDEF)
            *out = 1;
        else if (v.t == JV_BOOL || v.t == JV_INT)
            *out = v.u.i == a0.u.i;
        else if (v.t == JV_STR)
            *out = v.u.s == a0.u.s && v.n == a0.n;
        else
            *out = v.u.l == a0.u.l;
    } else if (T("eq") || T("equalto") || T("=="))
        *out = jinja_equal(v, a0);
    else if (T("ne") || T("!="))
        *out = !jinja_equal(v, a0);
    else if (T("lt") || T("le") || T("gt") || T("ge") || T("lessthan") || T("greaterthan") ||
             T("in")) {
        jop op = T("lt") || T("lessthan")      ? JOP_LT
                 : T("le")                     ? JOP_LE
                 : T("gt") || T("greaterthan") ? JOP_GT
                 : T("ge")                     ? JOP_GE
                                               : JOP_IN;
        jv res;
        TRY(jinja_ops_binary(r, at, op, v, a0, &res));
        *out = (int)res.u.i;
    } else if (T("divisibleby") || T("odd") || T("even")) {
        if (v.t != JV_INT && v.t != JV_BOOL)
            return jinja_fail(r, at, "test '%.*s' needs an integer", (int)nn, name);
        if (T("odd"))
            *out = (v.u.i % 2) != 0;
        else if (T("even"))
            *out = (v.u.i % 2) == 0;
        else {
            if (a0.t != JV_INT || a0.u.i == 0)
                return jinja_fail(r, at, "divisibleby needs a non-zero integer");
            *out = a0.u.i == -1 || v.u.i % a0.u.i == 0;
        }
    } else if (T("lower") || T("upper")) {
        if (v.t != JV_STR)
            *out = 0;
        else {
            jv c;
            TRY(jinja_methods_case(r, at, v, T("lower") ? 2 : 1, &c));
            *out = jinja_equal(c, v);
        }
    } else if (T("escaped"))
        *out = 0;
    else
        return jinja_fail(r, at, "no test named '%.*s'", (int)nn, name);
#undef T
    return VKLLM_OK;
}

/* select/reject/selectattr/rejectattr and map share this: apply test `t` (or
 * truthiness when absent) to item. */
static vkllm_status test_by_value(jrender *r, const jnode *at, jv t, jv item, const jv *targs,
                                  size_t n_targs, int *out) {
    if (t.t == JV_UNDEF) {
        *out = jinja_truthy(item);
        return VKLLM_OK;
    }
    if (t.t != JV_STR) return jinja_fail(r, at, "test name must be a string");
    return jinja_filters_test(r, at, t.u.s, t.n, item, targs, n_targs, out);
}

static vkllm_status attr_path(jrender *r, const jnode *at, jv item, jv attr, jv *out) {
    if (attr.t == JV_INT) {
        if (item.t == JV_LIST && attr.u.i >= 0 && (uint64_t)attr.u.i < item.u.l->n)
            *out = item.u.l->v[attr.u.i];
        else
            *out = jv_undef();
        return VKLLM_OK;
    }
    if (attr.t != JV_STR) return jinja_fail(r, at, "attribute name must be a string");
    /* dotted paths: "function.name" */
    size_t b = 0;
    *out = item;
    for (size_t i = 0; i <= attr.n; i++)
        if (i == attr.n || attr.u.s[i] == '.') {
            if (out->t == JV_UNDEF) return VKLLM_OK;
            TRY(jinja_getattr(r, at, *out, attr.u.s + b, i - b, out));
            b = i + 1;
        }
    return VKLLM_OK;
}

static vkllm_status f_select(jrender *r, const jnode *at, const char *name, jv v, const fargs *fa,
                             jv *out) {
    int is_attr = strstr(name, "attr") != NULL, reject = name[0] == 'r';
    jlist *items, *res = jinja_list_new(r, 0);
    if (!res) return jinja_nomem(r, at);
    if (!jinja_truthy(v)) v = jv_undef(); /* Jinja2: `if seq: for item in seq` */
    TRY(jinja_iter_items(r, at, v, &items));
    size_t first = is_attr ? 1 : 0;
    jv attr = is_attr ? arg(fa, 0, NULL, jv_undef()) : jv_undef();
    jv test = arg(fa, first, NULL, jv_undef());
    size_t n_targs = fa->n_args > first + 1 ? fa->n_args - first - 1 : 0;
    for (size_t i = 0; i < items->n; i++) {
        jv x = items->v[i], probe = x;
        int ok;
        if (is_attr) TRY(attr_path(r, at, x, attr, &probe));
        TRY(test_by_value(r, at, test, probe, fa->args + first + 1, n_targs, &ok));
        if (ok != reject && jinja_list_push(r, res, x)) return jinja_nomem(r, at);
    }
    *out = mklist(res, 0);
    return VKLLM_OK;
}

static vkllm_status f_map(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    jlist *items, *res;
    if (!jinja_truthy(v)) v = jv_undef(); /* Jinja2: `if seq: for item in seq` */
    TRY(jinja_iter_items(r, at, v, &items));
    res = jinja_list_new(r, items->n);
    if (!res) return jinja_nomem(r, at);
    jv attr = arg(fa, (size_t)-1, "attribute", jv_undef());
    jv dflt = arg(fa, (size_t)-1, "default", jv_undef());
    jv filt = arg(fa, 0, NULL, jv_undef());
    if (attr.t == JV_UNDEF && filt.t != JV_STR)
        return jinja_fail(r, at, "map needs a filter name or attribute=");
    for (size_t i = 0; i < items->n; i++) {
        jv x;
        if (attr.t != JV_UNDEF) {
            TRY(attr_path(r, at, items->v[i], attr, &x));
            if (x.t == JV_UNDEF && dflt.t != JV_UNDEF) x = dflt;
        } else {
            TRY(jinja_filters_apply(r, at, filt.u.s, filt.n, items->v[i], fa->args + 1,
                                    fa->n_args - 1, fa->kw_names, fa->kw_vals, fa->n_kw, &x));
        }
        res->v[res->n++] = x;
    }
    *out = mklist(res, 0);
    return VKLLM_OK;
}

static vkllm_status f_join(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    jlist *items;
    TRY(jinja_iter_items(r, at, v, &items));
    jv sep = arg(fa, 0, "d", jv_str("", 0)), attr = arg(fa, 1, "attribute", jv_undef());
    TRY(jinja_to_str(r, at, sep, &sep));
    buf b = {0};
    for (size_t i = 0; i < items->n; i++) {
        jv x = items->v[i];
        if (attr.t != JV_UNDEF) TRY(attr_path(r, at, x, attr, &x));
        if ((i && buf_append(&b, sep.u.s, sep.n)) || jinja_value_str(&b, x) ||
            b.len > JINJA_MAX_OUTPUT) {
            buf_free(&b);
            return jinja_nomem(r, at);
        }
    }
    return jinja_str_from_buf(r, at, &b, out);
}

/* Sort helper: stable insertion/merge on a copy of the items. */
typedef struct sortctx {
    jrender *r;
    const jnode *at;
    int case_sensitive, by_value;
    jv attr;
    vkllm_status err;
} sortctx;

static jv sort_key(sortctx *c, jv x) {
    if (c->by_value >= 0 && x.t == JV_LIST && x.u.l->n == 2) x = x.u.l->v[c->by_value];
    if (c->attr.t != JV_UNDEF && c->err == VKLLM_OK) {
        jv y;
        c->err = attr_path(c->r, c->at, x, c->attr, &y);
        x = y;
    }
    if (!c->case_sensitive && x.t == JV_STR && c->err == VKLLM_OK) {
        jv y;
        c->err = jinja_methods_case(c->r, c->at, x, 2, &y);
        x = y;
    }
    return x;
}

static vkllm_status sort_items(sortctx *c, jlist *l, int reverse) {
    jv *keys = jinja_arena_alloc(&c->r->arena, (l->n ? l->n : 1) * sizeof *keys);
    if (!keys) return jinja_nomem(c->r, c->at);
    for (size_t i = 0; i < l->n; i++)
        keys[i] = sort_key(c, l->v[i]);
    TRY(c->err);
    if ((uint64_t)l->n * l->n > JINJA_MAX_STEPS)
        return jinja_fail(c->r, c->at, "sort: too many items");
    for (size_t i = 1; i < l->n; i++)
        for (size_t j = i; j > 0; j--) {
            int cmp;
            if (jinja_compare(keys[j - 1], keys[j], &cmp))
                return jinja_fail(c->r, c->at,
                                  "'<' not supported between instances of '%s' and '%s'",
                                  jinja_type_name(keys[j - 1]), jinja_type_name(keys[j]));
            if (reverse ? cmp >= 0 : cmp <= 0) break;
            jv t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            t = l->v[j];
            l->v[j] = l->v[j - 1];
            l->v[j - 1] = t;
        }
    return VKLLM_OK;
}

static vkllm_status copy_items(jrender *r, const jnode *at, jv v, jlist **out) {
    jlist *items;
    TRY(jinja_iter_items(r, at, v, &items));
    *out = jinja_list_new(r, items->n);
    if (!*out) return jinja_nomem(r, at);
    for (size_t i = 0; i < items->n; i++)
        (*out)->v[(*out)->n++] = items->v[i];
    return VKLLM_OK;
}

static vkllm_status f_items(jrender *r, const jnode *at, jv v, jv *out) {
    if (v.t == JV_UNDEF) {
        jlist *l = jinja_list_new(r, 0);
        if (!l) return jinja_nomem(r, at);
        *out = mklist(l, 0);
        return VKLLM_OK;
    }
    if (v.t != JV_DICT) return jinja_fail(r, at, "Can only get item pairs from a mapping.");
    jmethod m = {v, "items", 5};
    return jinja_methods_call(r, at, &m, NULL, 0, NULL, NULL, 0, out);
}

static vkllm_status f_tojson(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    /* transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) */
    jv ascii = arg(fa, (size_t)-1, "ensure_ascii", jv_bool(0)),
       ind = arg(fa, 0, "indent", jv_none());
    jv seps = arg(fa, (size_t)-1, "separators", jv_none()),
       sk = arg(fa, (size_t)-1, "sort_keys", jv_bool(0));
    jinja_json_opts o = {-1, jinja_truthy(sk), jinja_truthy(ascii), jv_none(), jv_none()};
    if (ind.t == JV_INT)
        o.indent = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : (int)ind.u.i;
    else if (ind.t != JV_NONE)
        return jinja_fail(r, at, "tojson: indent must be an integer");
    if (seps.t == JV_LIST && seps.u.l->n == 2 && seps.u.l->v[0].t == JV_STR &&
        seps.u.l->v[1].t == JV_STR) {
        o.item_sep = seps.u.l->v[0];
        o.key_sep = seps.u.l->v[1];
    } else if (seps.t != JV_NONE) {
        return jinja_fail(r, at, "tojson: separators must be a pair of strings");
    }
    buf b = {0};
    vkllm_status s = jinja_json_dump(r, at, v, &o, &b);
    if (s != VKLLM_OK) {
        buf_free(&b);
        return s;
    }
    return jinja_str_from_buf(r, at, &b, out);
}

static vkllm_status f_number(jrender *r, const jnode *at, jv v, int want_int, const fargs *fa,
                             jv *out) {
    jv dflt = arg(fa, 0, "default", want_int ? jv_int(0) : jv_float(0.0));
    if (v.t == JV_INT || v.t == JV_BOOL)
        *out = want_int ? jv_int(v.u.i) : jv_float((double)v.u.i);
    else if (v.t == JV_FLOAT) {
        if (want_int && (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18))
            *out = dflt;
        else
            *out = want_int ? jv_int((int64_t)v.u.f) : v;
    } else if (v.t == JV_STR) {
        char tmp[64];
        jv t = jinja_methods_strip(v, 3, NULL, 0);
        if (t.n == 0 || t.n >= sizeof tmp) {
            *out = dflt;
            return VKLLM_OK;
        }
        memcpy(tmp, t.u.s, t.n);
        tmp[t.n] = 0;
        char *end;
        errno = 0;
        long long iv = strtoll(tmp, &end, 10);
        if (!*end && !errno)
            *out = want_int ? jv_int(iv) : jv_float((double)iv);
        else {
            double fv = strtod(tmp, &end);
            if (*end || (want_int && (!isfinite(fv) || fabs(fv) >= 9.2e18)))
                *out = dflt;
            else
                *out = want_int ? jv_int((int64_t)fv) : jv_float(fv);
        }
    } else {
        *out = dflt;
    }
    return VKLLM_OK;
}

static vkllm_status f_indent(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    jv w = arg(fa, 0, "width", jv_int(4)), first = arg(fa, 1, "first", jv_bool(0)),
       blank = arg(fa, 2, "blank", jv_bool(0));
    jv pad;
    if (w.t == JV_INT) {
        int64_t k = w.u.i < 0 ? 0 : w.u.i > 256 ? 256 : w.u.i;
        char sp[257];
        memset(sp, ' ', (size_t)k);
        pad = jv_str(jinja_strdup(r, sp, (size_t)k), (size_t)k);
        if (!pad.u.s) return jinja_nomem(r, at);
    } else {
        TRY(jinja_to_str(r, at, w, &pad));
    }
    if (v.t != JV_STR)
        return jinja_fail(r, at, "indent: expected a string, got %s", jinja_type_name(v));
    buf b = {0};
    int rc = 0, line_start = 1, first_line = 1;
    for (size_t i = 0; i < v.n && !rc; i++) {
        if (line_start) {
            size_t e = i;
            while (e < v.n && v.u.s[e] != '\n')
                e++;
            int is_blank = jinja_methods_strip(jv_str(v.u.s + i, e - i), 3, NULL, 0).n == 0;
            if ((first_line ? jinja_truthy(first) : 1) && (!is_blank || jinja_truthy(blank)))
                rc = buf_append(&b, pad.u.s, pad.n);
            line_start = 0;
            first_line = 0;
        }
        rc = rc || buf_putc(&b, v.u.s[i]);
        if (v.u.s[i] == '\n') line_start = 1;
        if (b.len > JINJA_MAX_OUTPUT) rc = -1;
    }
    if (rc) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    return jinja_str_from_buf(r, at, &b, out);
}

static vkllm_status f_length(jrender *r, const jnode *at, jv v, jv *out) {
    if (v.t == JV_STR)
        *out = jv_int((int64_t)jinja_utf8_len(v.u.s, v.n));
    else if (v.t == JV_LIST)
        *out = jv_int((int64_t)v.u.l->n);
    else if (v.t == JV_DICT || v.t == JV_NS)
        *out = jv_int((int64_t)v.u.d->n);
    else if (v.t == JV_UNDEF)
        *out = jv_int(0);
    else
        return jinja_fail(r, at, "object of type '%s' has no len()", jinja_type_name(v));
    return VKLLM_OK;
}

static vkllm_status f_first_last(jrender *r, const jnode *at, jv v, int last, jv *out) {
    jlist *items;
    TRY(jinja_iter_items(r, at, v, &items));
    if (!items->n)
        *out = jv_undef();
    else
        *out = items->v[last ? items->n - 1 : 0];
    return VKLLM_OK;
}

static vkllm_status f_unique(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    jlist *items, *res, *keys;
    int cs = jinja_truthy(arg(fa, 0, "case_sensitive", jv_bool(0)));
    jv attr = arg(fa, 1, "attribute", jv_undef());
    TRY(jinja_iter_items(r, at, v, &items));
    res = jinja_list_new(r, 0);
    keys = jinja_list_new(r, 0);
    if (!res || !keys) return jinja_nomem(r, at);
    if ((uint64_t)items->n * items->n > JINJA_MAX_STEPS)
        return jinja_fail(r, at, "unique: too many items");
    for (size_t i = 0; i < items->n; i++) {
        jv k = items->v[i];
        if (attr.t != JV_UNDEF) TRY(attr_path(r, at, k, attr, &k));
        if (!cs && k.t == JV_STR) TRY(jinja_methods_case(r, at, k, 2, &k));
        int seen = 0;
        for (size_t j = 0; j < keys->n && !seen; j++)
            seen = jinja_equal(keys->v[j], k);
        if (!seen && (jinja_list_push(r, keys, k) || jinja_list_push(r, res, items->v[i])))
            return jinja_nomem(r, at);
    }
    *out = mklist(res, 0);
    return VKLLM_OK;
}

static vkllm_status f_round(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    jv prec = arg(fa, 0, "precision", jv_int(0)),
       method = arg(fa, 1, "method", jv_str("common", 6));
    if (v.t != JV_INT && v.t != JV_FLOAT && v.t != JV_BOOL)
        return jinja_fail(r, at, "round needs a number");
    double x = v.t == JV_FLOAT ? v.u.f : (double)v.u.i;
    int64_t p = prec.t == JV_INT ? prec.u.i : 0;
    if (p < -20 || p > 20) return jinja_fail(r, at, "round: precision out of range");
    double scale = pow(10.0, (double)p), y = x * scale;
    if (method.t == JV_STR && method.n == 4 && !memcmp(method.u.s, "ceil", 4))
        y = ceil(y);
    else if (method.t == JV_STR && method.n == 5 && !memcmp(method.u.s, "floor", 5))
        y = floor(y);
    else if (v.t != JV_FLOAT && p >= 0) { /* round(int, n) stays an int */
        *out = jv_int(v.u.i);
        return VKLLM_OK;
    } else
        y = nearbyint(y); /* Python's round(): half to even */
    *out = jv_float(y / scale);
    return VKLLM_OK;
}

static vkllm_status f_dictsort(jrender *r, const jnode *at, jv v, const fargs *fa, jv *out) {
    if (v.t != JV_DICT) return jinja_fail(r, at, "dictsort needs a mapping");
    jv items;
    TRY(f_items(r, at, v, &items));
    jv by = arg(fa, 1, "by", jv_str("key", 3));
    sortctx c = {r,
                 at,
                 jinja_truthy(arg(fa, 0, "case_sensitive", jv_bool(0))),
                 by.t == JV_STR && by.n == 5 && !memcmp(by.u.s, "value", 5),
                 jv_undef(),
                 VKLLM_OK};
    TRY(sort_items(&c, items.u.l, jinja_truthy(arg(fa, 2, "reverse", jv_bool(0)))));
    *out = items;
    return VKLLM_OK;
}

static vkllm_status f_escape(jrender *r, const jnode *at, jv v, jv *out) {
    TRY(jinja_to_str(r, at, v, &v));
    buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < v.n && !rc; i++) {
        char c = v.u.s[i];
        rc = c == '&'    ? buf_puts(&b, "&amp;")
             : c == '<'  ? buf_puts(&b, "&lt;")
             : c == '>'  ? buf_puts(&b, "&gt;")
             : c == '"'  ? buf_puts(&b, "&#34;")
             : c == '\'' ? buf_puts(&b, "&#39;")
                         : buf_putc(&b, c);
    }
    if (rc) {
        buf_free(&b);
        return jinja_nomem(r, at);
    }
    return jinja_str_from_buf(r, at, &b, out);
}

static vkllm_status f_minmax_sum(jrender *r, const jnode *at, const char *name, jv v, jv *out) {
    jlist *items;
    TRY(jinja_iter_items(r, at, v, &items));
    if (name[1] == 'u') { /* sum */
        jv acc = jv_int(0);
        for (size_t i = 0; i < items->n; i++)
            TRY(jinja_ops_binary(r, at, JOP_ADD, acc, items->v[i], &acc));
        *out = acc;
        return VKLLM_OK;
    }
    if (!items->n) {
        *out = jv_undef();
        return VKLLM_OK;
    }
    jv best = items->v[0];
    for (size_t i = 1; i < items->n; i++) {
        int c;
        if (jinja_compare(items->v[i], best, &c))
            return jinja_fail(r, at, "%s: values cannot be compared", name);
        if (name[1] == 'i' ? c < 0 : c > 0) best = items->v[i];
    }
    *out = best;
    return VKLLM_OK;
}

vkllm_status jinja_filters_apply(jrender *r, const jnode *at, const char *name, size_t nn, jv v,
                                 const jv *args, size_t n_args, const char *const *kw_names,
                                 const jv *kw_vals, size_t n_kw, jv *out) {
    fargs fa = {args, n_args, kw_names, kw_vals, n_kw};
    char nm[24];
    if (nn >= sizeof nm)
        return jinja_fail(r, at, "no filter named '%.*s'", (int)(nn > 40 ? 40 : nn), name);
    memcpy(nm, name, nn);
    nm[nn] = 0;
#define F(s) (!strcmp(nm, s))
    if (F("safe")) {
        *out = v;
        return VKLLM_OK;
    }
    if (F("default") || F("d")) {
        jv dflt = arg(&fa, 0, "default_value", jv_str("", 0));
        int boolean = jinja_truthy(arg(&fa, 1, "boolean", jv_bool(0)));
        *out = (v.t == JV_UNDEF || (boolean && !jinja_truthy(v))) ? dflt : v;
        return VKLLM_OK;
    }
    if (F("length") || F("count")) return f_length(r, at, v, out);
    if (F("string")) return jinja_to_str(r, at, v, out);
    if (F("tojson")) return f_tojson(r, at, v, &fa, out);
    if (F("trim")) {
        jv chars = arg(&fa, 0, "chars", jv_none());
        TRY(jinja_to_str(r, at, v, &v));
        if (chars.t == JV_STR)
            *out = jinja_methods_strip(v, 3, chars.u.s, chars.n);
        else
            *out = jinja_methods_strip(v, 3, NULL, 0);
        return VKLLM_OK;
    }
    if (F("upper") || F("lower") || F("title") || F("capitalize")) {
        TRY(jinja_to_str(r, at, v, &v));
        return jinja_methods_case(r, at, v,
                                  F("upper")   ? 1
                                  : F("lower") ? 2
                                  : F("title") ? 5
                                               : 4,
                                  out);
    }
    if (F("replace")) {
        jv old = arg(&fa, 0, "old", jv_undef()), new_ = arg(&fa, 1, "new", jv_undef());
        jv cnt = arg(&fa, 2, "count", jv_none());
        TRY(jinja_to_str(r, at, v, &v));
        TRY(jinja_to_str(r, at, old, &old));
        TRY(jinja_to_str(r, at, new_, &new_));
        return jinja_methods_replace(r, at, v, old, new_, cnt.t == JV_INT ? cnt.u.i : -1, out);
    }
    if (F("join")) return f_join(r, at, v, &fa, out);
    if (F("first") || F("last")) return f_first_last(r, at, v, F("last"), out);
    if (F("items")) return f_items(r, at, v, out);
    if (F("list")) {
        jlist *l;
        TRY(copy_items(r, at, v, &l));
        *out = mklist(l, 0);
        return VKLLM_OK;
    }
    if (F("reverse")) {
        if (v.t == JV_STR) {
            buf b = {0};
            for (size_t e = v.n; e > 0;) {
                size_t s = e - 1;
                while (s > 0 && ((unsigned char)v.u.s[s] & 0xC0) == 0x80)
                    s--;
                if (buf_append(&b, v.u.s + s, e - s)) {
                    buf_free(&b);
                    return jinja_nomem(r, at);
                }
                e = s;
            }
            return jinja_str_from_buf(r, at, &b, out);
        }
        jlist *l;
        TRY(copy_items(r, at, v, &l));
        for (size_t i = 0; i < l->n / 2; i++) {
            jv t = l->v[i];
            l->v[i] = l->v[l->n - 1 - i];
            l->v[l->n - 1 - i] = t;
        }
        *out = mklist(l, 0);
        return VKLLM_OK;
    }
    if (F("map")) return f_map(r, at, v, &fa, out);
    if (F("select") || F("reject") || F("selectattr") || F("rejectattr"))
        return f_select(r, at, nm, v, &fa, out);
    if (F("int")) return f_number(r, at, v, 1, &fa, out);
    if (F("float")) return f_number(r, at, v, 0, &fa, out);
    if (F("abs")) {
        if (v.t == JV_FLOAT)
            *out = jv_float(fabs(v.u.f));
        else if ((v.t == JV_INT || v.t == JV_BOOL) && v.u.i != INT64_MIN)
            *out = jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
        else
            return jinja_fail(r, at, "bad operand type for abs(): '%s'", jinja_type_name(v));
        return VKLLM_OK;
    }
    if (F("round")) return f_round(r, at, v, &fa, out);
    if (F("unique")) return f_unique(r, at, v, &fa, out);
    if (F("sort")) {
        jlist *l;
        TRY(copy_items(r, at, v, &l));
        sortctx c = {r,
                     at,
                     jinja_truthy(arg(&fa, 1, "case_sensitive", jv_bool(0))),
                     -1,
                     arg(&fa, 2, "attribute", jv_undef()),
                     VKLLM_OK};
        TRY(sort_items(&c, l, jinja_truthy(arg(&fa, 0, "reverse", jv_bool(0)))));
        *out = mklist(l, 0);
        return VKLLM_OK;
    }
    if (F("dictsort")) return f_dictsort(r, at, v, &fa, out);
    if (F("indent")) return f_indent(r, at, v, &fa, out);
    if (F("format")) {
        TRY(jinja_to_str(r, at, v, &v));
        return jinja_methods_percent(r, at, v, args, n_args, out);
    }
    if (F("escape") || F("e")) return f_escape(r, at, v, out);
    if (F("min") || F("max") || F("sum")) return f_minmax_sum(r, at, nm, v, out);
#undef F
    return jinja_fail(r, at, "no filter named '%s'", nm);
}
