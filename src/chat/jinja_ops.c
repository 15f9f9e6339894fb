/* jinja_ops.c — binary operators with Python semantics: int arithmetic is
 * checked for overflow (an error, where Python would grow), `/` is true
 * division, `//` and `%` floor, `+`/`*` also join and repeat strings and lists
 * (bounded by JINJA_MAX_OUTPUT), comparisons order only comparable types, and
 * `in` tests substrings, list members and dict keys. */
#include <math.h>
#include <string.h>

#include "chat/jinja_int.h"

static const char *const op_sym[] = {
    "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};

static int is_num(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static int is_int(jv v) { return v.t == JV_INT || v.t == JV_BOOL; }
static double num(jv v) { return v.t == JV_FLOAT ? v.u.f : (double)v.u.i; }

static vkllm_status bad_operands(jrender *r, const jnode *at, jop op, jv a, jv b) {
    if (a.t == JV_UNDEF || b.t == JV_UNDEF) {
        jv u = a.t == JV_UNDEF ? a : b;
        if (u.u.s) return jinja_fail(r, at, "%.*s", (int)u.n, u.u.s);
        return jinja_fail(r, at, "value is undefined");
    }
    if (op >= JOP_LT && op <= JOP_GE)
        return jinja_fail(r, at, "'%s' not supported between instances of '%s' and '%s'",
                          op_sym[op], jinja_type_name(a), jinja_type_name(b));
    return jinja_fail(r, at, "unsupported operand type(s) for %s: '%s' and '%s'", op_sym[op],
                      jinja_type_name(a), jinja_type_name(b));
}

static vkllm_status overflow(jrender *r, const jnode *at) {
    return jinja_fail(r, at, "integer overflow");
}

static vkllm_status repeat(jrender *r, const jnode *at, jv seq, int64_t times, jv *out) {
    if (times < 0) times = 0;
    size_t unit = seq.t == JV_STR ? seq.n : seq.u.l->n * sizeof(jv);
    if (unit && (uint64_t)times > JINJA_MAX_OUTPUT / unit)
        return jinja_fail(r, at, "repetition result longer than %llu bytes",
                          (unsigned long long)JINJA_MAX_OUTPUT);
    if (seq.t == JV_STR) {
        char *s = jinja_arena_alloc(&r->arena, seq.n * (size_t)times + 1);
        if (!s) return jinja_nomem(r, at);
        size_t total = seq.n * (size_t)times, done = seq.n < total ? seq.n : total;
        if (done) memcpy(s, seq.u.s, done);
        while (done < total) { /* doubling copies: O(log n) memcpy calls */
            size_t k = done < total - done ? done : total - done;
            memcpy(s + done, s, k);
            done += k;
        }
        *out = jv_str(s, seq.n * (size_t)times);
        return VKLLM_OK;
    }
    size_t n = seq.u.l->n * (size_t)times;
    jlist *l = jinja_list_new(r, n);
    if (!l) return jinja_nomem(r, at);
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < seq.u.l->n; k++)
            l->v[l->n++] = seq.u.l->v[k];
    *out = seq;
    out->u.l = l;
    return VKLLM_OK;
}

static vkllm_status concat(jrender *r, const jnode *at, jv a, jv b, jv *out) {
    if (a.t == JV_STR) {
        if (a.n + b.n > JINJA_MAX_OUTPUT)
            return jinja_fail(r, at, "string longer than %llu bytes",
                              (unsigned long long)JINJA_MAX_OUTPUT);
        char *s = jinja_arena_alloc(&r->arena, a.n + b.n + 1);
        if (!s) return jinja_nomem(r, at);
        memcpy(s, a.u.s, a.n);
        memcpy(s + a.n, b.u.s, b.n);
        *out = jv_str(s, a.n + b.n);
        return VKLLM_OK;
    }
    jlist *l = jinja_list_new(r, a.u.l->n + b.u.l->n);
    if (!l) return jinja_nomem(r, at);
    for (size_t i = 0; i < a.u.l->n; i++)
        l->v[l->n++] = a.u.l->v[i];
    for (size_t i = 0; i < b.u.l->n; i++)
        l->v[l->n++] = b.u.l->v[i];
    *out = a;
    out->u.l = l;
    return VKLLM_OK;
}

static vkllm_status contains(jrender *r, const jnode *at, jv item, jv c, int *res) {
    *res = 0;
    switch (c.t) {
    case JV_UNDEF: return VKLLM_OK; /* iterates as empty */
    case JV_STR:
        if (item.t != JV_STR)
            return jinja_fail(r, at, "'in <string>' requires string as left operand, not %s",
                              jinja_type_name(item));
        if (item.n == 0) *res = 1;
        for (size_t i = 0; !*res && item.n <= c.n && i <= c.n - item.n; i++)
            *res = memcmp(c.u.s + i, item.u.s, item.n) == 0;
        return VKLLM_OK;
    case JV_LIST:
        for (size_t i = 0; i < c.u.l->n && !*res; i++)
            *res = jinja_equal(item, c.u.l->v[i]);
        return VKLLM_OK;
    case JV_DICT:
    case JV_NS: *res = jinja_dict_getv(c.u.d, item) != NULL; return VKLLM_OK;
    default: return jinja_fail(r, at, "argument of type '%s' is not iterable", jinja_type_name(c));
    }
}

static vkllm_status int_pow(jrender *r, const jnode *at, int64_t base, int64_t e, jv *out) {
    if (e < 0) {
        *out = jv_float(pow((double)base, (double)e));
        return VKLLM_OK;
    }
    int64_t acc = 1;
    while (e > 0) {
        if (e & 1)
            if (__builtin_mul_overflow(acc, base, &acc)) return overflow(r, at);
        e >>= 1;
        if (e && __builtin_mul_overflow(base, base, &base)) return overflow(r, at);
    }
    *out = jv_int(acc);
    return VKLLM_OK;
}

static vkllm_status arith(jrender *r, const jnode *at, jop op, jv a, jv b, jv *out) {
    if (is_int(a) && is_int(b)) {
        int64_t x = a.u.i, y = b.u.i, z;
        switch (op) {
        case JOP_ADD:
            if (__builtin_add_overflow(x, y, &z)) return overflow(r, at);
            break;
        case JOP_SUB:
            if (__builtin_sub_overflow(x, y, &z)) return overflow(r, at);
            break;
        case JOP_MUL:
            if (__builtin_mul_overflow(x, y, &z)) return overflow(r, at);
            break;
        case JOP_DIV:
            if (y == 0) return jinja_fail(r, at, "division by zero");
            *out = jv_float((double)x / (double)y);
            return VKLLM_OK;
        case JOP_FLOORDIV:
        case JOP_MOD:
            if (y == 0) return jinja_fail(r, at, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) return overflow(r, at);
            z = op == JOP_FLOORDIV ? x / y : x % y;
            if (op == JOP_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0))) z--;
            if (op == JOP_MOD && z != 0 && ((z < 0) != (y < 0))) z += y;
            break;
        case JOP_POW: return int_pow(r, at, x, y, out);
        default: return bad_operands(r, at, op, a, b);
        }
        *out = jv_int(z);
        return VKLLM_OK;
    }
    double x = num(a), y = num(b), z;
    switch (op) {
    case JOP_ADD: z = x + y; break;
    case JOP_SUB: z = x - y; break;
    case JOP_MUL: z = x * y; break;
    case JOP_DIV:
        if (y == 0) return jinja_fail(r, at, "float division by zero");
        z = x / y;
        break;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (y == 0) return jinja_fail(r, at, "float modulo by zero");
        z = fmod(x, y);
        if (z != 0 && ((z < 0) != (y < 0))) z += y;
        if (op == JOP_FLOORDIV) z = floor((x - z) / y + 0.5);
        break;
    case JOP_POW: z = pow(x, y); break;
    default: return bad_operands(r, at, op, a, b);
    }
    *out = jv_float(z);
    return VKLLM_OK;
}

vkllm_status jinja_ops_binary(jrender *r, const jnode *at, jop op, jv a, jv b, jv *out) {
    int c, res;
    switch (op) {
    case JOP_EQ: *out = jv_bool(jinja_equal(a, b)); return VKLLM_OK;
    case JOP_NE: *out = jv_bool(!jinja_equal(a, b)); return VKLLM_OK;
    case JOP_LT:
    case JOP_LE:
    case JOP_GT:
    case JOP_GE:
        if (jinja_compare(a, b, &c)) return bad_operands(r, at, op, a, b);
        res = op == JOP_LT ? c < 0 : op == JOP_LE ? c <= 0 : op == JOP_GT ? c > 0 : c >= 0;
        *out = jv_bool(res);
        return VKLLM_OK;
    case JOP_IN:
    case JOP_NOTIN:
        TRY(contains(r, at, a, b, &res));
        *out = jv_bool(op == JOP_IN ? res : !res);
        return VKLLM_OK;
    default: break;
    }
    if (is_num(a) && is_num(b)) return arith(r, at, op, a, b, out);
    if (op == JOP_ADD && a.t == b.t && (a.t == JV_STR || (a.t == JV_LIST && a.tuple == b.tuple)))
        return concat(r, at, a, b, out);
    if (op == JOP_MOD && a.t == JV_STR) {
        if (b.t == JV_LIST && b.tuple)
            return jinja_methods_percent(r, at, a, b.u.l->v, b.u.l->n, out);
        return jinja_methods_percent(r, at, a, &b, 1, out);
    }
    if (op == JOP_MUL && (a.t == JV_STR || a.t == JV_LIST) && is_int(b))
        return repeat(r, at, a, b.u.i, out);
    if (op == JOP_MUL && (b.t == JV_STR || b.t == JV_LIST) && is_int(a))
        return repeat(r, at, b, a.u.i, out);
    return bad_operands(r, at, op, a, b);
}
