/* jinja_eval.c — compiles and renders templates: scopes, statements and
 * expressions. Scoping follows Jinja2: each for-loop iteration and each macro
 * call gets a fresh scope (a `set` there does not leak out; namespace()
 * attributes are the way out), `if` bodies share the enclosing scope, and
 * top-level `set` shadows context variables. Undefined names evaluate to an
 * Undefined that prints as "" and iterates as empty, but attribute access,
 * calls and arithmetic on it fail like Jinja2's default Undefined. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_int.h"
#include "core/mem.h"

struct jinja_template {
    jinja_src src;
    jinja_arena arena;
    jnode *root;
};

struct jscope {
    jscope *parent;
    size_t n, cap;
    const char **names;
    size_t *lens;
    jv *vals;
};

enum { BI_RANGE, BI_NAMESPACE, BI_DICT, BI_RAISE, BI_STRFTIME };
static const char *const builtin_names[] = {"range", "namespace", "dict", "raise_exception",
                                            "strftime_now"};

vkllm_status jinja_fail(jrender *r, const jnode *n, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!n) return err_set(VKLLM_ERR_TEMPLATE, "template: %s", msg);
    unsigned line, col;
    jinja_lex_linecol(r->src, n->pos, &line, &col);
    return err_set(VKLLM_ERR_TEMPLATE, "template:%u:%u: %s", line, col, msg);
}

vkllm_status jinja_nomem(jrender *r, const jnode *n) {
    if (r->arena.limit && r->arena.used + (1u << 20) > r->arena.limit)
        return jinja_fail(r, n, "memory limit of %llu MB exceeded",
                          (unsigned long long)(JINJA_MAX_MEMORY >> 20));
    return jinja_fail(r, n, "out of memory or string longer than %llu bytes",
                      (unsigned long long)JINJA_MAX_OUTPUT);
}

int jinja_truthy(jv v) {
    switch (v.t) {
    case JV_UNDEF:
    case JV_NONE: return 0;
    case JV_BOOL:
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.n != 0;
    case JV_LIST: return v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return 1;
    }
}

/* ---- scopes ---- */

static jscope *scope_new(jrender *r, jscope *parent) {
    jscope *s = jinja_arena_alloc(&r->arena, sizeof *s);
    if (s) s->parent = parent;
    return s;
}

static const jv *scope_find(const jscope *s, const char *name, size_t n) {
    for (; s; s = s->parent)
        for (size_t i = s->n; i-- > 0;)
            if (s->lens[i] == n && memcmp(s->names[i], name, n) == 0) return &s->vals[i];
    return NULL;
}

static int scope_set(jrender *r, jscope *s, const char *name, size_t n, jv v) {
    for (size_t i = 0; i < s->n; i++)
        if (s->lens[i] == n && memcmp(s->names[i], name, n) == 0) {
            s->vals[i] = v;
            return 0;
        }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        const char **nn = jinja_arena_alloc(&r->arena, nc * sizeof *nn);
        size_t *nl = jinja_arena_alloc(&r->arena, nc * sizeof *nl);
        jv *nv = jinja_arena_alloc(&r->arena, nc * sizeof *nv);
        if (!nn || !nl || !nv) return -1;
        if (s->n) {
            memcpy(nn, s->names, s->n * sizeof *nn);
            memcpy(nl, s->lens, s->n * sizeof *nl);
            memcpy(nv, s->vals, s->n * sizeof *nv);
        }
        s->names = nn, s->lens = nl, s->vals = nv, s->cap = nc;
    }
    s->names[s->n] = name;
    s->lens[s->n] = n;
    s->vals[s->n++] = v;
    return 0;
}

static jv undef_msg(jrender *r, const char *fmt, const char *a, size_t an, const char *b,
                    size_t bn) {
    jv u = jv_undef();
    char tmp[256];
    int n =
        snprintf(tmp, sizeof tmp, fmt, (int)(an > 80 ? 80 : an), a, (int)(bn > 80 ? 80 : bn), b);
    if (n > 0) {
        size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
        u.u.s = jinja_strdup(r, tmp, len);
        u.n = u.u.s ? len : 0;
    }
    return u;
}

static vkllm_status undef_fail(jrender *r, const jnode *at, jv u) {
    if (u.u.s) return jinja_fail(r, at, "%.*s", (int)u.n, u.u.s);
    return jinja_fail(r, at, "value is undefined");
}

/* ---- output ---- */

static vkllm_status emit(jrender *r, const jnode *at, const char *s, size_t n) {
    if (r->out->len + n > JINJA_MAX_OUTPUT)
        return jinja_fail(r, at, "output longer than %llu bytes",
                          (unsigned long long)JINJA_MAX_OUTPUT);
    if (buf_append(r->out, s, n)) return jinja_nomem(r, at);
    return VKLLM_OK;
}

static vkllm_status step(jrender *r, const jnode *at) {
    if (++r->steps > JINJA_MAX_STEPS)
        return jinja_fail(r, at, "more than %llu loop iterations and calls",
                          (unsigned long long)JINJA_MAX_STEPS);
    return VKLLM_OK;
}

static vkllm_status eval(jrender *r, const jnode *n, jscope *sc, jv *out);
static vkllm_status exec(jrender *r, const jnode *n, jscope *sc);

/* ---- attribute and item access ---- */

static vkllm_status loop_attr(jrender *r, const jnode *at, jv obj, const char *name, size_t nn,
                              jv *out) {
    const jloop *lp = obj.u.loop;
    size_t len = lp->items->n, i = lp->index0;
#define IS(s) (nn == sizeof(s) - 1 && memcmp(name, s, nn) == 0)
    if (IS("index"))
        *out = jv_int((int64_t)i + 1);
    else if (IS("index0"))
        *out = jv_int((int64_t)i);
    else if (IS("revindex"))
        *out = jv_int((int64_t)(len - i));
    else if (IS("revindex0"))
        *out = jv_int((int64_t)(len - i - 1));
    else if (IS("first"))
        *out = jv_bool(i == 0);
    else if (IS("last"))
        *out = jv_bool(i + 1 == len);
    else if (IS("length"))
        *out = jv_int((int64_t)len);
    else if (IS("depth"))
        *out = jv_int(1);
    else if (IS("depth0"))
        *out = jv_int(0);
    else if (IS("previtem"))
        *out = i > 0 ? lp->items->v[i - 1]
                     : undef_msg(r, "%.*s%.*s", "there is no previous item", 25, "", 0);
    else if (IS("nextitem"))
        *out = i + 1 < len ? lp->items->v[i + 1]
                           : undef_msg(r, "%.*s%.*s", "there is no next item", 21, "", 0);
    else if (IS("cycle")) {
        jmethod *m = jinja_arena_alloc(&r->arena, sizeof *m);
        if (!m) return jinja_nomem(r, at);
        m->self = obj, m->name = "cycle", m->n = 5;
        out->t = JV_METHOD;
        out->u.m = m;
    } else
        *out = undef_msg(r, "'LoopContext object' has no attribute '%.*s'%.*s", name, nn, "", 0);
#undef IS
    return VKLLM_OK;
}

static vkllm_status get_attr(jrender *r, const jnode *at, jv obj, const char *name, size_t nn,
                             jv *out, int item_first) {
    if (obj.t == JV_UNDEF) return undef_fail(r, at, obj);
    if (obj.t == JV_LOOP) return loop_attr(r, at, obj, name, nn, out);
    if ((obj.t == JV_DICT || obj.t == JV_NS) && (item_first || !jinja_methods_has(obj, name, nn))) {
        const jv *v = jinja_dict_get(obj.u.d, name, nn);
        if (v) {
            *out = *v;
            return VKLLM_OK;
        }
    }
    if (obj.t != JV_NS && jinja_methods_has(obj, name, nn)) {
        jmethod *m = jinja_arena_alloc(&r->arena, sizeof *m);
        if (!m) return jinja_nomem(r, at);
        m->self = obj, m->name = name, m->n = nn;
        out->t = JV_METHOD;
        out->u.m = m;
        return VKLLM_OK;
    }
    *out = undef_msg(r, "'%.*s object' has no attribute '%.*s'", jinja_type_name(obj),
                     strlen(jinja_type_name(obj)), name, nn);
    return VKLLM_OK;
}

vkllm_status jinja_getattr(jrender *r, const jnode *at, jv obj, const char *name, size_t n,
                           jv *out) {
    return get_attr(r, at, obj, name, n, out, 0);
}

static int norm_index(int64_t i, size_t len, size_t *out) {
    if (i < 0) i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len) return -1;
    *out = (size_t)i;
    return 0;
}

static vkllm_status get_item(jrender *r, const jnode *at, jv obj, jv key, jv *out) {
    if (obj.t == JV_UNDEF) return undef_fail(r, at, obj);
    if (obj.t == JV_DICT || obj.t == JV_NS) {
        const jv *v = jinja_dict_getv(obj.u.d, key);
        if (v) {
            *out = *v;
            return VKLLM_OK;
        }
    } else if ((obj.t == JV_LIST || obj.t == JV_STR) && (key.t == JV_INT || key.t == JV_BOOL)) {
        size_t len = obj.t == JV_LIST ? obj.u.l->n : jinja_utf8_len(obj.u.s, obj.n), i;
        if (norm_index(key.u.i, len, &i) == 0) {
            if (obj.t == JV_LIST) {
                *out = obj.u.l->v[i];
            } else {
                size_t b = jinja_utf8_offset(obj.u.s, obj.n, i),
                       e = jinja_utf8_offset(obj.u.s, obj.n, i + 1);
                *out = jv_str(obj.u.s + b, e - b);
            }
            return VKLLM_OK;
        }
        char idx[32];
        snprintf(idx, sizeof idx, "%lld", (long long)key.u.i);
        *out = undef_msg(r, "'%.*s object' has no element %.*s", jinja_type_name(obj),
                         strlen(jinja_type_name(obj)), idx, strlen(idx));
        return VKLLM_OK;
    }
    if (key.t == JV_STR) return get_attr(r, at, obj, key.u.s, key.n, out, 1);
    *out = undef_msg(r, "'%.*s object' has no element of that type%.*s", jinja_type_name(obj),
                     strlen(jinja_type_name(obj)), "", 0);
    return VKLLM_OK;
}

static vkllm_status slice_bound(jrender *r, const jnode *at, jv v, int64_t dflt, int64_t *out) {
    if (v.t == JV_NONE || v.t == JV_UNDEF)
        *out = dflt;
    else if (v.t == JV_INT || v.t == JV_BOOL)
        *out = v.u.i;
    else
        return jinja_fail(r, at, "slice indices must be integers or None");
    return VKLLM_OK;
}

static vkllm_status do_slice(jrender *r, const jnode *n, jscope *sc, jv obj, jv *out) {
    jv parts[3] = {jv_none(), jv_none(), jv_none()};
    const jnode *pn[3] = {n->b, n->c, n->d};
    for (int i = 0; i < 3; i++)
        if (pn[i]) TRY(eval(r, pn[i], sc, &parts[i]));
    if (obj.t == JV_UNDEF) return undef_fail(r, n, obj);
    if (obj.t != JV_LIST && obj.t != JV_STR)
        return jinja_fail(r, n, "'%s' object is not subscriptable", jinja_type_name(obj));
    int64_t stp = 1,
            len = (int64_t)(obj.t == JV_LIST ? obj.u.l->n : jinja_utf8_len(obj.u.s, obj.n));
    TRY(slice_bound(r, n, parts[2], 1, &stp));
    if (stp == 0) return jinja_fail(r, n, "slice step cannot be zero");
    int64_t lo = stp > 0 ? 0 : -1, hi = stp > 0 ? len : len - 1, start = 0, stop = 0;
    TRY(slice_bound(r, n, parts[0], stp > 0 ? 0 : hi, &start));
    TRY(slice_bound(r, n, parts[1], stp > 0 ? len : -1 - len, &stop));
    if (parts[0].t == JV_INT || parts[0].t == JV_BOOL) {
        if (start < 0) start += len;
        start = start < lo ? lo : start > hi ? hi : start;
    }
    if (parts[1].t == JV_INT || parts[1].t == JV_BOOL) {
        if (stop < 0) stop += len;
        stop = stop < lo ? lo : stop > hi ? hi : stop;
    } else if (stp < 0) {
        stop = -1;
    }
    jlist *l = jinja_list_new(r, 0);
    buf b = {0};
    if (!l) return jinja_nomem(r, n);
    for (int64_t i = start; stp > 0 ? i < stop : i > stop; i += stp) {
        if (obj.t == JV_LIST) {
            if (jinja_list_push(r, l, obj.u.l->v[i])) return jinja_nomem(r, n);
        } else {
            size_t bo = jinja_utf8_offset(obj.u.s, obj.n, (size_t)i);
            size_t eo = jinja_utf8_offset(obj.u.s, obj.n, (size_t)i + 1);
            if (buf_append(&b, obj.u.s + bo, eo - bo)) {
                buf_free(&b);
                return jinja_nomem(r, n);
            }
        }
    }
    if (obj.t == JV_STR) return jinja_str_from_buf(r, n, &b, out);
    out->t = JV_LIST;
    out->tuple = obj.tuple;
    out->u.l = l;
    return VKLLM_OK;
}

/* ---- calls ---- */

static vkllm_status call_macro(jrender *r, const jnode *at, const jmacro *mc, const jv *args,
                               size_t n_args, const char *const *kw_names, const jv *kw_vals,
                               size_t n_kw, jv *out) {
    const jnode *m = mc->node;
    jscope *sc = scope_new(r, mc->scope);
    if (!sc) return jinja_nomem(r, at);
    TRY(step(r, at));
    if (n_args > m->n_kids)
        return jinja_fail(r, at, "macro '%.*s' takes not more than %zu argument(s)", (int)m->name_n,
                          m->name, m->n_kids);
    for (size_t k = 0; k < n_kw; k++) {
        size_t i;
        for (i = 0; i < m->n_kids; i++)
            if (strlen(kw_names[k]) == m->kids[i]->name_n &&
                memcmp(kw_names[k], m->kids[i]->name, m->kids[i]->name_n) == 0)
                break;
        if (i == m->n_kids || i < n_args)
            return jinja_fail(r, at, "macro '%.*s' got an unexpected or repeated argument '%s'",
                              (int)m->name_n, m->name, kw_names[k]);
    }
    for (size_t i = 0; i < m->n_kids; i++) {
        const jnode *p = m->kids[i];
        jv v = jv_undef();
        int have = 0;
        if (i < n_args) v = args[i], have = 1;
        for (size_t k = 0; !have && k < n_kw; k++)
            if (strlen(kw_names[k]) == p->name_n && memcmp(kw_names[k], p->name, p->name_n) == 0)
                v = kw_vals[k], have = 1;
        if (!have && p->a) TRY(eval(r, p->a, sc, &v));
        if (!have && !p->a) v = undef_msg(r, "'%.*s' is undefined%.*s", p->name, p->name_n, "", 0);
        if (scope_set(r, sc, p->name, p->name_n, v)) return jinja_nomem(r, at);
    }
    buf b = {0}, *saved = r->out;
    r->out = &b;
    vkllm_status s = exec(r, m->a, sc);
    r->out = saved;
    r->ctl = 0;
    if (s != VKLLM_OK) {
        buf_free(&b);
        return s;
    }
    return jinja_str_from_buf(r, at, &b, out);
}

/* The time strftime_now() shows when the caller fixed none: SOURCE_DATE_EPOCH
 * (seconds since 1970, the reproducible-builds convention) when it is set to
 * a plain decimal number, else the current time. */
static time_t jinja_now(void) {
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e && strlen(e) <= 15 && strspn(e, "0123456789") == strlen(e))
        return (time_t)strtoll(e, NULL, 10);
    return time(NULL);
}

static vkllm_status call_builtin(jrender *r, const jnode *at, int64_t id, const jv *args,
                                 size_t n_args, const char *const *kw_names, const jv *kw_vals,
                                 size_t n_kw, jv *out) {
    if (id == BI_RANGE) {
        int64_t a[3] = {0, 0, 1};
        if (n_args < 1 || n_args > 3 || n_kw)
            return jinja_fail(r, at, "range expects 1 to 3 integer arguments");
        for (size_t i = 0; i < n_args; i++) {
            if (args[i].t != JV_INT && args[i].t != JV_BOOL)
                return jinja_fail(r, at, "range: '%s' object cannot be interpreted as an integer",
                                  jinja_type_name(args[i]));
        }
        if (n_args == 1)
            a[1] = args[0].u.i;
        else
            for (size_t i = 0; i < n_args; i++)
                a[i] = args[i].u.i;
        if (a[2] == 0) return jinja_fail(r, at, "range() arg 3 must not be zero");
        __int128 span = a[2] > 0 ? (__int128)a[1] - a[0] : (__int128)a[0] - a[1];
        __int128 st = a[2] > 0 ? a[2] : -(__int128)a[2];
        __int128 cnt = span > 0 ? (span + st - 1) / st : 0;
        if (cnt > JINJA_MAX_RANGE)
            return jinja_fail(r, at, "range too big: %lld items, the limit is %d",
                              (long long)(cnt > INT64_MAX ? INT64_MAX : cnt), JINJA_MAX_RANGE);
        jlist *l = jinja_list_new(r, (size_t)cnt);
        if (!l) return jinja_nomem(r, at);
        for (int64_t i = 0; i < (int64_t)cnt; i++)
            l->v[l->n++] = jv_int(a[0] + i * a[2]);
        out->t = JV_LIST;
        out->tuple = 0;
        out->u.l = l;
        return VKLLM_OK;
    }
    if (id == BI_NAMESPACE || id == BI_DICT) {
        jdict *d = jinja_dict_new(r);
        if (!d) return jinja_nomem(r, at);
        for (size_t i = 0; i < n_args; i++) {
            if (args[i].t != JV_DICT)
                return jinja_fail(r, at, "%s() positional argument must be a dict",
                                  builtin_names[id]);
            for (size_t k = 0; k < args[i].u.d->n; k++)
                if (jinja_dict_set(r, d, args[i].u.d->k[k], args[i].u.d->v[k]))
                    return jinja_nomem(r, at);
        }
        for (size_t k = 0; k < n_kw; k++)
            if (jinja_dict_set(r, d, jv_str(kw_names[k], strlen(kw_names[k])), kw_vals[k]))
                return jinja_nomem(r, at);
        out->t = id == BI_DICT ? JV_DICT : JV_NS;
        out->u.d = d;
        return VKLLM_OK;
    }
    if (id == BI_RAISE) {
        jv msg = n_args ? args[0] : jv_str("", 0);
        TRY(jinja_to_str(r, at, msg, &msg));
        return jinja_fail(r, at, "%.*s", (int)(msg.n > 400 ? 400 : msg.n), msg.u.s);
    }
    /* strftime_now(format) */
    if (n_args != 1 || args[0].t != JV_STR || args[0].n > 200)
        return jinja_fail(r, at, "strftime_now expects one format string");
    char fmt[256], res[512];
    memcpy(fmt, args[0].u.s, args[0].n);
    fmt[args[0].n] = 0;
    time_t t = r->now ? r->now : jinja_now();
    struct tm tm;
    if (!localtime_r(&t, &tm)) return jinja_fail(r, at, "strftime_now: bad time");
    size_t len = args[0].n ? strftime(res, sizeof res, fmt, &tm) : 0;
    char *s = jinja_strdup(r, res, len);
    if (!s) return jinja_nomem(r, at);
    *out = jv_str(s, len);
    return VKLLM_OK;
}

vkllm_status jinja_eval_call_value(jrender *r, const jnode *at, jv fn, const jv *args,
                                   size_t n_args, const char *const *kw_names, const jv *kw_vals,
                                   size_t n_kw, jv *out) {
    if (++r->depth > JINJA_MAX_EVAL_DEPTH)
        return jinja_fail(r, at, "recursion deeper than %d levels", JINJA_MAX_EVAL_DEPTH);
    vkllm_status s;
    switch (fn.t) {
    case JV_MACRO:
        s = call_macro(r, at, fn.u.macro, args, n_args, kw_names, kw_vals, n_kw, out);
        break;
    case JV_FUNC:
        s = call_builtin(r, at, fn.u.i, args, n_args, kw_names, kw_vals, n_kw, out);
        break;
    case JV_METHOD:
        if (fn.u.m->self.t == JV_LOOP) { /* loop.cycle(a, b, ...) */
            if (!n_args)
                s = jinja_fail(r, at, "no items for cycling given");
            else
                *out = args[fn.u.m->self.u.loop->index0 % n_args], s = VKLLM_OK;
        } else {
            s = jinja_methods_call(r, at, fn.u.m, args, n_args, kw_names, kw_vals, n_kw, out);
        }
        break;
    case JV_UNDEF: s = undef_fail(r, at, fn); break;
    default: s = jinja_fail(r, at, "'%s' object is not callable", jinja_type_name(fn));
    }
    r->depth--;
    return s;
}

/* Evaluates the arguments of a call/filter/test node (kids) into arena arrays. */
static vkllm_status eval_args(jrender *r, const jnode *n, jscope *sc, jv **args, size_t *n_args,
                              const char ***kw_names, jv **kw_vals, size_t *n_kw) {
    size_t k = n->n_kids ? n->n_kids : 1;
    *args = jinja_arena_alloc(&r->arena, k * sizeof **args);
    *kw_vals = jinja_arena_alloc(&r->arena, k * sizeof **kw_vals);
    *kw_names = jinja_arena_alloc(&r->arena, k * sizeof **kw_names);
    if (!*args || !*kw_vals || !*kw_names) return jinja_nomem(r, n);
    *n_args = *n_kw = 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        const jnode *a = n->kids[i];
        if (a->kind == JN_KWARG) {
            char *nm = jinja_strdup(r, a->name, a->name_n);
            if (!nm) return jinja_nomem(r, n);
            (*kw_names)[*n_kw] = nm;
            TRY(eval(r, a->a, sc, &(*kw_vals)[(*n_kw)++]));
        } else {
            if (*n_kw) return jinja_fail(r, a, "positional argument follows keyword argument");
            TRY(eval(r, a, sc, &(*args)[(*n_args)++]));
        }
    }
    return VKLLM_OK;
}

/* ---- expressions ---- */

static vkllm_status eval_seq(jrender *r, const jnode *n, jscope *sc, jv *out, int tuple) {
    jlist *l = jinja_list_new(r, n->n_kids);
    if (!l) return jinja_nomem(r, n);
    for (size_t i = 0; i < n->n_kids; i++)
        TRY(eval(r, n->kids[i], sc, &l->v[l->n++]));
    out->t = JV_LIST;
    out->tuple = (uint8_t)tuple;
    out->u.l = l;
    return VKLLM_OK;
}

static vkllm_status eval_filter_or_test(jrender *r, const jnode *n, jscope *sc, jv *out) {
    jv v, *args, *kw_vals;
    const char **kw_names;
    size_t n_args, n_kw;
    if (n->a)
        TRY(eval(r, n->a, sc, &v));
    else
        v = r->pipe;
    TRY(eval_args(r, n, sc, &args, &n_args, &kw_names, &kw_vals, &n_kw));
    if (n->kind == JN_FILTER)
        return jinja_filters_apply(r, n, n->name, n->name_n, v, args, n_args, kw_names, kw_vals,
                                   n_kw, out);
    if (n_kw) return jinja_fail(r, n, "tests take no keyword arguments");
    int res;
    TRY(jinja_filters_test(r, n, n->name, n->name_n, v, args, n_args, &res));
    *out = jv_bool(res);
    return VKLLM_OK;
}

static vkllm_status eval_inner(jrender *r, const jnode *n, jscope *sc, jv *out) {
    jv a, b;
    switch ((jnode_kind)n->kind) {
    case JN_CONST: *out = n->val; return VKLLM_OK;
    case JN_NAME: {
        const jv *v = scope_find(sc, n->name, n->name_n);
        *out = v ? *v : undef_msg(r, "'%.*s' is undefined%.*s", n->name, n->name_n, "", 0);
        return VKLLM_OK;
    }
    case JN_LIST: return eval_seq(r, n, sc, out, 0);
    case JN_TUPLE: return eval_seq(r, n, sc, out, 1);
    case JN_DICT: {
        jdict *d = jinja_dict_new(r);
        if (!d) return jinja_nomem(r, n);
        for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
            TRY(eval(r, n->kids[i], sc, &a));
            TRY(eval(r, n->kids[i + 1], sc, &b));
            if (a.t == JV_LIST && !a.tuple) return jinja_fail(r, n, "unhashable type: 'list'");
            if (a.t == JV_DICT) return jinja_fail(r, n, "unhashable type: 'dict'");
            if (jinja_dict_set(r, d, a, b)) return jinja_nomem(r, n);
        }
        out->t = JV_DICT;
        out->u.d = d;
        return VKLLM_OK;
    }
    case JN_GETATTR:
        TRY(eval(r, n->a, sc, &a));
        return get_attr(r, n, a, n->name, n->name_n, out, 0);
    case JN_GETITEM:
        TRY(eval(r, n->a, sc, &a));
        TRY(eval(r, n->b, sc, &b));
        return get_item(r, n, a, b, out);
    case JN_SLICE: TRY(eval(r, n->a, sc, &a)); return do_slice(r, n, sc, a, out);
    case JN_CALL: {
        jv *args, *kw_vals;
        const char **kw_names;
        size_t n_args, n_kw;
        TRY(eval(r, n->a, sc, &a));
        TRY(eval_args(r, n, sc, &args, &n_args, &kw_names, &kw_vals, &n_kw));
        return jinja_eval_call_value(r, n, a, args, n_args, kw_names, kw_vals, n_kw, out);
    }
    case JN_FILTER:
    case JN_TEST: return eval_filter_or_test(r, n, sc, out);
    case JN_BINOP:
        TRY(eval(r, n->a, sc, &a));
        TRY(eval(r, n->b, sc, &b));
        return jinja_ops_binary(r, n, (jop)n->op, a, b, out);
    case JN_CONCAT: {
        TRY(eval(r, n->a, sc, &a));
        TRY(eval(r, n->b, sc, &b));
        buf s = {0};
        if (jinja_value_str(&s, a) || jinja_value_str(&s, b)) {
            buf_free(&s);
            return jinja_nomem(r, n);
        }
        return jinja_str_from_buf(r, n, &s, out);
    }
    case JN_UNARY:
        TRY(eval(r, n->a, sc, &a));
        if (a.t == JV_FLOAT)
            *out = jv_float(n->op == JOP_NEG ? -a.u.f : a.u.f);
        else if (a.t == JV_INT || a.t == JV_BOOL) {
            if (n->op == JOP_NEG && a.u.i == INT64_MIN) return jinja_fail(r, n, "integer overflow");
            *out = jv_int(n->op == JOP_NEG ? -a.u.i : a.u.i);
        } else if (a.t == JV_UNDEF)
            return undef_fail(r, n, a);
        else
            return jinja_fail(r, n, "bad operand type for unary %c: '%s'",
                              n->op == JOP_NEG ? '-' : '+', jinja_type_name(a));
        return VKLLM_OK;
    case JN_AND:
    case JN_OR:
        TRY(eval(r, n->a, sc, &a));
        if (jinja_truthy(a) == (n->kind == JN_OR)) {
            *out = a;
            return VKLLM_OK;
        }
        return eval(r, n->b, sc, out);
    case JN_NOT:
        TRY(eval(r, n->a, sc, &a));
        *out = jv_bool(!jinja_truthy(a));
        return VKLLM_OK;
    case JN_COND:
        TRY(eval(r, n->a, sc, &a));
        if (jinja_truthy(a)) return eval(r, n->b, sc, out);
        if (n->c) return eval(r, n->c, sc, out);
        *out = jv_undef();
        return VKLLM_OK;
    default: return jinja_fail(r, n, "internal: not an expression");
    }
}

static vkllm_status eval(jrender *r, const jnode *n, jscope *sc, jv *out) {
    if (++r->depth > JINJA_MAX_EVAL_DEPTH) {
        r->depth--;
        return jinja_fail(r, n, "expression nested deeper than %d levels", JINJA_MAX_EVAL_DEPTH);
    }
    vkllm_status s = eval_inner(r, n, sc, out);
    r->depth--;
    return s;
}

/* ---- statements ---- */

static vkllm_status assign(jrender *r, const jnode *target, jscope *sc, jv v) {
    if (target->kind == JN_NAME) {
        if (scope_set(r, sc, target->name, target->name_n, v)) return jinja_nomem(r, target);
        return VKLLM_OK;
    }
    if (target->kind == JN_GETATTR) {
        jv obj;
        TRY(eval(r, target->a, sc, &obj));
        if (obj.t != JV_NS)
            return jinja_fail(r, target, "can only assign attributes of a namespace() object");
        if (jinja_dict_set(r, obj.u.d, jv_str(target->name, target->name_n), v))
            return jinja_nomem(r, target);
        return VKLLM_OK;
    }
    /* tuple unpacking */
    jlist *items = NULL;
    if (v.t == JV_LIST) items = v.u.l;
    if (!items) return jinja_fail(r, target, "cannot unpack non-sequence %s", jinja_type_name(v));
    if (items->n != target->n_kids)
        return jinja_fail(r, target, "cannot unpack %zu values into %zu names", items->n,
                          target->n_kids);
    for (size_t i = 0; i < items->n; i++)
        TRY(assign(r, target->kids[i], sc, items->v[i]));
    return VKLLM_OK;
}

/* What a for loop iterates: lists as they are, dict keys, string characters. */
vkllm_status jinja_iter_items(jrender *r, const jnode *at, jv v, jlist **out) {
    if (v.t == JV_LIST) {
        *out = v.u.l;
        return VKLLM_OK;
    }
    jlist *l = jinja_list_new(r, 0);
    if (!l) return jinja_nomem(r, at);
    *out = l;
    if (v.t == JV_UNDEF) return VKLLM_OK;
    if (v.t == JV_DICT) {
        for (size_t i = 0; i < v.u.d->n; i++)
            if (jinja_list_push(r, l, v.u.d->k[i])) return jinja_nomem(r, at);
        return VKLLM_OK;
    }
    if (v.t == JV_STR) {
        for (size_t i = 0; i < v.n;) {
            size_t e = i + 1;
            while (e < v.n && ((unsigned char)v.u.s[e] & 0xC0) == 0x80)
                e++;
            if (jinja_list_push(r, l, jv_str(v.u.s + i, e - i))) return jinja_nomem(r, at);
            i = e;
        }
        return VKLLM_OK;
    }
    return jinja_fail(r, at, "'%s' object is not iterable", jinja_type_name(v));
}

static vkllm_status exec_for(jrender *r, const jnode *n, jscope *sc) {
    jv seq;
    jlist *items;
    TRY(eval(r, n->b, sc, &seq));
    TRY(jinja_iter_items(r, n->b, seq, &items));
    if (n->c) { /* {% for x in xs if cond %}: filter first, loop.* counts what is left */
        jlist *kept = jinja_list_new(r, 0);
        if (!kept) return jinja_nomem(r, n);
        jscope *it = scope_new(r, sc);
        if (!it) return jinja_nomem(r, n);
        for (size_t i = 0; i < items->n; i++) {
            jv ok;
            TRY(step(r, n));
            it->n = 0;
            TRY(assign(r, n->a, it, items->v[i]));
            TRY(eval(r, n->c, it, &ok));
            if (jinja_truthy(ok) && jinja_list_push(r, kept, items->v[i])) return jinja_nomem(r, n);
        }
        items = kept;
    }
    jloop *lp = jinja_arena_alloc(&r->arena, sizeof *lp);
    if (!lp) return jinja_nomem(r, n);
    lp->items = items;
    /* One scope serves every iteration, emptied each time, so loops use
     * constant memory. A macro defined in the body keeps this scope: called
     * after the loop it sees the last iteration's names. */
    jscope *it = scope_new(r, sc);
    if (!it) return jinja_nomem(r, n);
    int completed = 0;
    for (size_t i = 0; i < items->n; i++) {
        TRY(step(r, n));
        it->n = 0;
        lp->index0 = i;
        jv lv = {0};
        lv.t = JV_LOOP;
        lv.u.loop = lp;
        if (scope_set(r, it, "loop", 4, lv)) return jinja_nomem(r, n);
        TRY(assign(r, n->a, it, items->v[i]));
        TRY(exec(r, n->d, it));
        if (r->ctl == 1) {
            r->ctl = 0;
            break;
        }
        completed |= r->ctl == 0;
        r->ctl = 0;
    }
    /* Jinja2 runs the else block unless some iteration reached the end of the
     * body: an empty loop, but also one whose every pass hit break/continue. */
    if (!completed && n->e) return exec(r, n->e, sc);
    return VKLLM_OK;
}

/* Renders body into a string, then runs the filter chain (if any) on it. */
static vkllm_status capture(jrender *r, const jnode *body, const jnode *chain, jscope *sc,
                            jv *out) {
    buf b = {0}, *saved = r->out;
    r->out = &b;
    vkllm_status s = exec(r, body, sc);
    r->out = saved;
    if (s != VKLLM_OK) {
        buf_free(&b);
        return s;
    }
    TRY(jinja_str_from_buf(r, body, &b, out));
    if (chain) {
        jv saved_pipe = r->pipe;
        r->pipe = *out;
        s = eval(r, chain, sc, out);
        r->pipe = saved_pipe;
    }
    return s;
}

static vkllm_status exec_inner(jrender *r, const jnode *n, jscope *sc) {
    jv v;
    switch ((jnode_kind)n->kind) {
    case JN_BODY:
        for (size_t i = 0; i < n->n_kids && !r->ctl; i++)
            TRY(exec(r, n->kids[i], sc));
        return VKLLM_OK;
    case JN_TEXT: return emit(r, n, n->val.u.s, n->val.n);
    case JN_OUTPUT:
        TRY(eval(r, n->a, sc, &v));
        if (v.t == JV_STR) return emit(r, n, v.u.s, v.n);
        TRY(jinja_to_str(r, n, v, &v));
        return emit(r, n, v.u.s, v.n);
    case JN_IF:
        for (const jnode *c = n; c; c = c->c) {
            if (c->kind != JN_IF) return exec(r, c, sc); /* else body */
            TRY(eval(r, c->a, sc, &v));
            if (jinja_truthy(v)) return exec(r, c->b, sc);
        }
        return VKLLM_OK;
    case JN_FOR: return exec_for(r, n, sc);
    case JN_SET: TRY(eval(r, n->b, sc, &v)); return assign(r, n->a, sc, v);
    case JN_SET_BLOCK: TRY(capture(r, n->b, n->c, sc, &v)); return assign(r, n->a, sc, v);
    case JN_FILTER_BLOCK:
        TRY(capture(r, n->b, n->c, sc, &v));
        TRY(jinja_to_str(r, n, v, &v));
        return emit(r, n, v.u.s, v.n);
    case JN_MACRO:
        v.t = JV_MACRO;
        v.u.macro = jinja_arena_alloc(&r->arena, sizeof *v.u.macro);
        if (!v.u.macro) return jinja_nomem(r, n);
        v.u.macro->node = n;
        v.u.macro->scope = sc;
        if (scope_set(r, sc, n->name, n->name_n, v)) return jinja_nomem(r, n);
        return VKLLM_OK;
    case JN_BREAK: r->ctl = 1; return VKLLM_OK;
    case JN_CONTINUE: r->ctl = 2; return VKLLM_OK;
    default: return jinja_fail(r, n, "internal: not a statement");
    }
}

static vkllm_status exec(jrender *r, const jnode *n, jscope *sc) {
    if (++r->depth > JINJA_MAX_EVAL_DEPTH) {
        r->depth--;
        return jinja_fail(r, n, "recursion deeper than %d levels", JINJA_MAX_EVAL_DEPTH);
    }
    vkllm_status s = exec_inner(r, n, sc);
    r->depth--;
    return s;
}

/* ---- entry points ---- */

/* Jinja2 normalizes newlines to \n and drops one trailing newline. */
static vkllm_status normalize(const char *src, size_t len, jinja_arena *a, jinja_src *out) {
    char *t = jinja_arena_alloc(a, len + 1);
    if (!t) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            t[o++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            t[o++] = src[i];
        }
    }
    if (o && t[o - 1] == '\n') o--;
    t[o] = 0;
    out->text = t;
    out->len = o;
    return VKLLM_OK;
}

vkllm_status jinja_compile(const char *src, size_t len, jinja_template **out) {
    *out = NULL;
    if (!src && len) return err_set(VKLLM_ERR_INVALID_ARG, "template: NULL source");
    if (len > JINJA_MAX_SOURCE)
        return err_set(VKLLM_ERR_TEMPLATE,
                       "template: source of %zu bytes is over the %llu byte limit", len,
                       (unsigned long long)JINJA_MAX_SOURCE);
    if (memchr(src ? src : "", 0, len))
        return err_set(VKLLM_ERR_TEMPLATE, "template: source contains a NUL byte");
    jinja_template *t = mem_calloc(1, sizeof *t);
    if (!t) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
    jtok *toks;
    size_t n_toks;
    vkllm_status s = normalize(src ? src : "", len, &t->arena, &t->src);
    if (s == VKLLM_OK) s = jinja_lex(&t->src, &t->arena, &toks, &n_toks);
    if (s == VKLLM_OK) s = jinja_parse(&t->src, toks, n_toks, &t->arena, &t->root);
    if (s != VKLLM_OK) {
        jinja_free(t);
        return s;
    }
    *out = t;
    return VKLLM_OK;
}

void jinja_free(jinja_template *t) {
    if (!t) return;
    jinja_arena_free(&t->arena);
    mem_free(t);
}

static vkllm_status render_root(jrender *r, const jinja_template *t, const json_t *context) {
    jscope *globals = scope_new(r, NULL);
    if (!globals) return jinja_nomem(r, NULL);
    for (size_t i = 0; i < sizeof builtin_names / sizeof *builtin_names; i++) {
        jv f = {0};
        f.t = JV_FUNC;
        f.u.i = (int64_t)i;
        if (scope_set(r, globals, builtin_names[i], strlen(builtin_names[i]), f))
            return jinja_nomem(r, NULL);
    }
    r->root = scope_new(r, globals);
    if (!r->root) return jinja_nomem(r, NULL);
    if (context) {
        if (!json_is_object(context))
            return err_set(VKLLM_ERR_INVALID_ARG, "template: context must be a JSON object");
        const char *k;
        json_t *jvv;
        json_object_foreach((json_t *)context, k, jvv) {
            jv v;
            TRY(jinja_json_from(r, jvv, &v, 0));
            if (scope_set(r, r->root, k, strlen(k), v)) return jinja_nomem(r, NULL);
        }
    }
    return exec(r, t->root, r->root);
}

vkllm_status jinja_render_compiled(const jinja_template *t, const json_t *context,
                                   const jinja_render_opts *opts, char **out, size_t *out_len) {
    *out = NULL;
    if (out_len) *out_len = 0;
    buf b = {0};
    jrender r = {.src = &t->src, .out = &b, .now = opts ? opts->now : 0};
    r.arena.limit = JINJA_MAX_MEMORY;
    vkllm_status s = render_root(&r, t, context);
    jinja_arena_free(&r.arena);
    if (s != VKLLM_OK) {
        buf_free(&b);
        return s;
    }
    size_t n = b.len;
    char *res = buf_steal(&b);
    if (!res) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
    *out = res;
    if (out_len) *out_len = n;
    return VKLLM_OK;
}

vkllm_status jinja_render(const char *src, size_t len, const json_t *context, char **out,
                          size_t *out_len) {
    jinja_template *t;
    *out = NULL;
    TRY(jinja_compile(src, len, &t));
    vkllm_status s = jinja_render_compiled(t, context, NULL, out, out_len);
    jinja_free(t);
    return s;
}
