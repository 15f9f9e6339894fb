/* jinja_parse.c — recursive-descent parser from tokens to a syntax tree.
 * Precedence follows Jinja2's parser (lowest first): conditional `a if b else c`,
 * or, and, not, comparisons (incl. in / not in), + -, ~, * / // %, **, unary - +,
 * then primaries with postfix `.x`, `[i]`, `[a:b:c]`, calls, and `| filter` /
 * `is test` which bind tighter than any binary operator. Nesting is limited to
 * JINJA_MAX_DEPTH so hostile input cannot overflow the stack. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chat/jinja_int.h"

typedef struct parser {
    const jinja_src *src;
    const jtok *t;
    size_t n, i;
    jinja_arena *a;
    int depth;
    int loops; /* enclosing for loops (break/continue allowed) */
} parser;

static vkllm_status p_fail(parser *p, size_t pos, const char *fmt, ...) ERR_PRINTF(3, 4);
static vkllm_status p_fail(parser *p, size_t pos, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    jinja_lex_linecol(p->src, pos, &line, &col);
    return err_set(VKLLM_ERR_TEMPLATE, "template:%u:%u: %s", line, col, msg);
}

static const jtok *cur(parser *p) { return &p->t[p->i]; }
static void adv(parser *p) {
    if (p->t[p->i].type != JT_EOF) p->i++;
}

static int is_op(const jtok *t, const char *op) {
    return t->type == JT_OP && t->n == strlen(op) && memcmp(t->s, op, t->n) == 0;
}
static int is_name(const jtok *t, const char *nm) {
    return t->type == JT_NAME && t->n == strlen(nm) && memcmp(t->s, nm, t->n) == 0;
}

static const char *tok_desc(const jtok *t, char *buf, size_t cap) {
    switch (t->type) {
    case JT_EOF: return "end of template";
    case JT_VAR_END: return "end of print statement";
    case JT_BLOCK_END: return "end of statement block";
    case JT_TEXT: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_STRING: return "string";
    default: snprintf(buf, cap, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s); return buf;
    }
}

static vkllm_status unexpected(parser *p) {
    char b[64];
    return p_fail(p, cur(p)->pos, "unexpected token %s", tok_desc(cur(p), b, sizeof b));
}

static vkllm_status expect_op(parser *p, const char *op) {
    if (!is_op(cur(p), op)) {
        char b[64];
        return p_fail(p, cur(p)->pos, "expected '%s', got %s", op, tok_desc(cur(p), b, sizeof b));
    }
    adv(p);
    return VKLLM_OK;
}

static vkllm_status expect_type(parser *p, jtok_type ty, const char *what) {
    if (cur(p)->type != ty) {
        char b[64];
        return p_fail(p, cur(p)->pos, "expected %s, got %s", what, tok_desc(cur(p), b, sizeof b));
    }
    adv(p);
    return VKLLM_OK;
}

static jnode *mk(parser *p, jnode_kind k, size_t pos) {
    jnode *n = jinja_arena_alloc(p->a, sizeof *n);
    if (!n) return NULL;
    n->kind = (uint8_t)k;
    n->pos = pos;
    return n;
}

#define MK(var, kind, pos)                                                                         \
    jnode *var = mk(p, kind, pos);                                                                 \
    if (!var) return err_set(VKLLM_ERR_NOMEM, "template: out of memory")

/* Growable child list built in the arena. */
typedef struct kidlist {
    jnode **v;
    size_t n, cap;
} kidlist;

static vkllm_status kid_push(parser *p, kidlist *k, jnode *n) {
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 4;
        jnode **nv = jinja_arena_alloc(p->a, nc * sizeof *nv);
        if (!nv) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
        if (k->n) memcpy(nv, k->v, k->n * sizeof *nv);
        k->v = nv;
        k->cap = nc;
    }
    k->v[k->n++] = n;
    return VKLLM_OK;
}

static vkllm_status enter(parser *p) {
    if (++p->depth > JINJA_MAX_DEPTH)
        return p_fail(p, cur(p)->pos, "template nested deeper than %d levels", JINJA_MAX_DEPTH);
    return VKLLM_OK;
}

static vkllm_status parse_expr(parser *p, jnode **out);
static vkllm_status parse_or(parser *p, jnode **out);
static vkllm_status parse_unary(parser *p, int with_filter, jnode **out);

/* Comma-separated expressions; more than one (or a trailing comma) makes a tuple. */
static vkllm_status parse_tuple(parser *p, int with_cond, int explicit_parens, jnode **out) {
    size_t pos = cur(p)->pos;
    kidlist k = {0};
    int comma = 0;
    for (;;) {
        const jtok *t = cur(p);
        if (k.n && (t->type == JT_VAR_END || t->type == JT_BLOCK_END || is_op(t, ")") ||
                    is_name(t, "if") || is_op(t, "=")))
            break;
        if (explicit_parens && is_op(t, ")")) break;
        jnode *e;
        TRY(with_cond ? parse_expr(p, &e) : parse_or(p, &e));
        TRY(kid_push(p, &k, e));
        if (!is_op(cur(p), ",")) break;
        comma = 1;
        adv(p);
    }
    if (k.n == 1 && !comma) {
        *out = k.v[0];
        return VKLLM_OK;
    }
    if (k.n == 0 && !explicit_parens) return unexpected(p);
    MK(n, JN_TUPLE, pos);
    n->kids = k.v;
    n->n_kids = k.n;
    *out = n;
    return VKLLM_OK;
}

/* Call arguments after '(' up to ')': positional then name=value. */
static vkllm_status parse_args(parser *p, kidlist *k) {
    while (!is_op(cur(p), ")")) {
        if (k->n) TRY(expect_op(p, ","));
        if (is_op(cur(p), ")")) break;
        const jtok *t = cur(p);
        if (t->type == JT_NAME && is_op(&p->t[p->i + 1], "=")) {
            MK(kw, JN_KWARG, t->pos);
            kw->name = t->s;
            kw->name_n = t->n;
            adv(p);
            adv(p);
            TRY(parse_expr(p, &kw->a));
            TRY(kid_push(p, k, kw));
        } else {
            if (is_op(t, "*") || is_op(t, "**"))
                return p_fail(p, t->pos, "*args and **kwargs are not supported");
            jnode *e;
            TRY(parse_expr(p, &e));
            TRY(kid_push(p, k, e));
        }
    }
    adv(p);
    return VKLLM_OK;
}

static vkllm_status parse_primary(parser *p, jnode **out) {
    const jtok *t = cur(p);
    TRY(enter(p));
    if (t->type == JT_NAME) {
        MK(n, JN_CONST, t->pos);
        if (is_name(t, "true") || is_name(t, "True"))
            n->val = jv_bool(1);
        else if (is_name(t, "false") || is_name(t, "False"))
            n->val = jv_bool(0);
        else if (is_name(t, "none") || is_name(t, "None"))
            n->val = jv_none();
        else {
            n->kind = JN_NAME;
            n->name = t->s;
            n->name_n = t->n;
        }
        adv(p);
        *out = n;
    } else if (t->type == JT_STRING) {
        MK(n, JN_CONST, t->pos);
        size_t total = 0, j = p->i;
        for (; p->t[j].type == JT_STRING; j++)
            total += p->t[j].n;
        char *s = jinja_arena_alloc(p->a, total + 1);
        if (!s) return err_set(VKLLM_ERR_NOMEM, "template: out of memory");
        size_t o = 0;
        for (; cur(p)->type == JT_STRING; adv(p)) {
            memcpy(s + o, cur(p)->s, cur(p)->n);
            o += cur(p)->n;
        }
        n->val = jv_str(s, total);
        *out = n;
    } else if (t->type == JT_INT || t->type == JT_FLOAT) {
        MK(n, JN_CONST, t->pos);
        n->val = t->type == JT_INT ? jv_int(t->i) : jv_float(t->f);
        adv(p);
        *out = n;
    } else if (is_op(t, "(")) {
        adv(p);
        TRY(parse_tuple(p, 1, 1, out));
        TRY(expect_op(p, ")"));
    } else if (is_op(t, "[") || is_op(t, "{")) {
        int dict = is_op(t, "{");
        const char *close = dict ? "}" : "]";
        MK(n, dict ? JN_DICT : JN_LIST, t->pos);
        kidlist k = {0};
        adv(p);
        while (!is_op(cur(p), close)) {
            if (k.n) TRY(expect_op(p, ","));
            if (is_op(cur(p), close)) break;
            jnode *e;
            TRY(parse_expr(p, &e));
            TRY(kid_push(p, &k, e));
            if (dict) {
                TRY(expect_op(p, ":"));
                TRY(parse_expr(p, &e));
                TRY(kid_push(p, &k, e));
            }
        }
        adv(p);
        n->kids = k.v;
        n->n_kids = k.n;
        *out = n;
    } else {
        return unexpected(p);
    }
    p->depth--;
    return VKLLM_OK;
}

static vkllm_status parse_call(parser *p, jnode *callee, jnode **out) {
    MK(n, JN_CALL, cur(p)->pos);
    adv(p);
    kidlist k = {0};
    TRY(parse_args(p, &k));
    n->a = callee;
    n->kids = k.v;
    n->n_kids = k.n;
    *out = n;
    return VKLLM_OK;
}

static vkllm_status parse_subscript(parser *p, jnode *obj, jnode **out) {
    const jtok *t = cur(p);
    if (is_op(t, ".")) {
        adv(p);
        const jtok *nm = cur(p);
        if (nm->type == JT_NAME) {
            MK(n, JN_GETATTR, nm->pos);
            n->a = obj;
            n->name = nm->s;
            n->name_n = nm->n;
            adv(p);
            *out = n;
            return VKLLM_OK;
        }
        if (nm->type == JT_INT) {
            MK(n, JN_GETITEM, nm->pos);
            MK(c, JN_CONST, nm->pos);
            c->val = jv_int(nm->i);
            n->a = obj;
            n->b = c;
            adv(p);
            *out = n;
            return VKLLM_OK;
        }
        return unexpected(p);
    }
    adv(p); /* '[' */
    jnode *parts[3] = {NULL, NULL, NULL};
    int colons = 0;
    for (;;) {
        if (is_op(cur(p), "]")) break;
        if (is_op(cur(p), ":")) {
            if (++colons > 2) return unexpected(p);
            adv(p);
            continue;
        }
        if (parts[colons]) return unexpected(p);
        TRY(parse_expr(p, &parts[colons]));
    }
    adv(p);
    if (!colons && !parts[0]) return p_fail(p, t->pos, "empty subscript");
    MK(n, colons ? JN_SLICE : JN_GETITEM, t->pos);
    n->a = obj;
    n->b = parts[0];
    n->c = parts[1];
    n->d = parts[2];
    *out = n;
    return VKLLM_OK;
}

static vkllm_status parse_filter_or_test(parser *p, jnode *obj, int test, jnode **out) {
    size_t pos = cur(p)->pos;
    adv(p); /* '|' or 'is' */
    int negate = 0;
    if (test && is_name(cur(p), "not")) negate = 1, adv(p);
    const jtok *nm = cur(p);
    if (nm->type != JT_NAME) {
        /* `is none` / `is true`: those are names too; anything else is an error */
        return p_fail(p, nm->pos, "expected a %s name", test ? "test" : "filter");
    }
    MK(n, test ? JN_TEST : JN_FILTER, nm->pos);
    n->a = obj;
    n->name = nm->s;
    n->name_n = nm->n;
    adv(p);
    kidlist k = {0};
    const jtok *t = cur(p);
    if (is_op(t, "(")) {
        adv(p);
        TRY(parse_args(p, &k));
    } else if (test &&
               (t->type == JT_NAME || t->type == JT_STRING || t->type == JT_INT ||
                t->type == JT_FLOAT || is_op(t, "(") || is_op(t, "[") || is_op(t, "{")) &&
               !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and") &&
               !is_name(t, "is")) {
        jnode *arg;
        TRY(parse_primary(p, &arg));
        while (is_op(cur(p), ".") || is_op(cur(p), "["))
            TRY(parse_subscript(p, arg, &arg));
        TRY(kid_push(p, &k, arg));
    }
    n->kids = k.v;
    n->n_kids = k.n;
    if (negate) {
        MK(neg, JN_NOT, pos);
        neg->a = n;
        *out = neg;
    } else {
        *out = n;
    }
    return VKLLM_OK;
}

static vkllm_status parse_unary(parser *p, int with_filter, jnode **out) {
    const jtok *t = cur(p);
    TRY(enter(p));
    jnode *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        MK(u, JN_UNARY, t->pos);
        u->op = is_op(t, "-") ? JOP_NEG : JOP_POS;
        adv(p);
        TRY(parse_unary(p, 0, &u->a));
        n = u;
    } else {
        TRY(parse_primary(p, &n));
        for (;;) {
            if (is_op(cur(p), ".") || is_op(cur(p), "["))
                TRY(parse_subscript(p, n, &n));
            else if (is_op(cur(p), "("))
                TRY(parse_call(p, n, &n));
            else
                break;
        }
    }
    while (with_filter) {
        if (is_op(cur(p), "|"))
            TRY(parse_filter_or_test(p, n, 0, &n));
        else if (is_name(cur(p), "is"))
            TRY(parse_filter_or_test(p, n, 1, &n));
        else if (is_op(cur(p), "("))
            TRY(parse_call(p, n, &n));
        else
            break;
    }
    p->depth--;
    *out = n;
    return VKLLM_OK;
}

static vkllm_status binop(parser *p, jnode **left, jop op, size_t pos, jnode *right) {
    MK(n, JN_BINOP, pos);
    n->op = (uint8_t)op;
    n->a = *left;
    n->b = right;
    *left = n;
    return VKLLM_OK;
}

static vkllm_status parse_pow(parser *p, jnode **out) {
    TRY(parse_unary(p, 1, out));
    while (is_op(cur(p), "**")) {
        size_t pos = cur(p)->pos;
        adv(p);
        jnode *r;
        TRY(parse_unary(p, 1, &r));
        TRY(binop(p, out, JOP_POW, pos, r));
    }
    return VKLLM_OK;
}

static vkllm_status parse_math2(parser *p, jnode **out) {
    TRY(parse_pow(p, out));
    for (;;) {
        const jtok *t = cur(p);
        jop op;
        if (is_op(t, "*"))
            op = JOP_MUL;
        else if (is_op(t, "/"))
            op = JOP_DIV;
        else if (is_op(t, "//"))
            op = JOP_FLOORDIV;
        else if (is_op(t, "%"))
            op = JOP_MOD;
        else
            break;
        adv(p);
        jnode *r;
        TRY(parse_pow(p, &r));
        TRY(binop(p, out, op, t->pos, r));
    }
    return VKLLM_OK;
}

static vkllm_status parse_concat(parser *p, jnode **out) {
    TRY(parse_math2(p, out));
    while (is_op(cur(p), "~")) {
        size_t pos = cur(p)->pos;
        adv(p);
        jnode *r;
        TRY(parse_math2(p, &r));
        MK(n, JN_CONCAT, pos);
        n->a = *out;
        n->b = r;
        *out = n;
    }
    return VKLLM_OK;
}

static vkllm_status parse_math1(parser *p, jnode **out) {
    TRY(parse_concat(p, out));
    for (;;) {
        const jtok *t = cur(p);
        jop op;
        if (is_op(t, "+"))
            op = JOP_ADD;
        else if (is_op(t, "-"))
            op = JOP_SUB;
        else
            break;
        adv(p);
        jnode *r;
        TRY(parse_concat(p, &r));
        TRY(binop(p, out, op, t->pos, r));
    }
    return VKLLM_OK;
}

static vkllm_status parse_compare(parser *p, jnode **out) {
    jnode *left;
    TRY(parse_math1(p, &left));
    jnode *result = NULL;
    for (;;) {
        const jtok *t = cur(p);
        jop op;
        if (is_op(t, "=="))
            op = JOP_EQ;
        else if (is_op(t, "!="))
            op = JOP_NE;
        else if (is_op(t, "<"))
            op = JOP_LT;
        else if (is_op(t, "<="))
            op = JOP_LE;
        else if (is_op(t, ">"))
            op = JOP_GT;
        else if (is_op(t, ">="))
            op = JOP_GE;
        else if (is_name(t, "in"))
            op = JOP_IN;
        else if (is_name(t, "not") && is_name(&p->t[p->i + 1], "in"))
            op = JOP_NOTIN, adv(p);
        else
            break;
        adv(p);
        jnode *right;
        TRY(parse_math1(p, &right));
        jnode *cmp = left;
        TRY(binop(p, &cmp, op, t->pos, right));
        if (!result) {
            result = cmp;
        } else { /* a < b < c  ==  a < b and b < c */
            MK(and_, JN_AND, t->pos);
            and_->a = result;
            and_->b = cmp;
            result = and_;
        }
        left = right;
    }
    *out = result ? result : left;
    return VKLLM_OK;
}

static vkllm_status parse_not(parser *p, jnode **out) {
    if (is_name(cur(p), "not")) {
        TRY(enter(p));
        MK(n, JN_NOT, cur(p)->pos);
        adv(p);
        TRY(parse_not(p, &n->a));
        p->depth--;
        *out = n;
        return VKLLM_OK;
    }
    return parse_compare(p, out);
}

static vkllm_status parse_and(parser *p, jnode **out) {
    TRY(parse_not(p, out));
    while (is_name(cur(p), "and")) {
        MK(n, JN_AND, cur(p)->pos);
        adv(p);
        n->a = *out;
        TRY(parse_not(p, &n->b));
        *out = n;
    }
    return VKLLM_OK;
}

static vkllm_status parse_or(parser *p, jnode **out) {
    TRY(parse_and(p, out));
    while (is_name(cur(p), "or")) {
        MK(n, JN_OR, cur(p)->pos);
        adv(p);
        n->a = *out;
        TRY(parse_and(p, &n->b));
        *out = n;
    }
    return VKLLM_OK;
}

static vkllm_status parse_expr(parser *p, jnode **out) {
    TRY(enter(p));
    TRY(parse_or(p, out));
    while (is_name(cur(p), "if")) {
        MK(n, JN_COND, cur(p)->pos);
        adv(p);
        n->b = *out;
        TRY(parse_or(p, &n->a));
        if (is_name(cur(p), "else")) {
            adv(p);
            TRY(parse_expr(p, &n->c));
        }
        *out = n;
    }
    p->depth--;
    return VKLLM_OK;
}

/* ---- statements ---- */

static vkllm_status parse_body(parser *p, const char *const *ends, jnode **out,
                               const jtok **end_tok);

static vkllm_status end_block(parser *p) {
    return expect_type(p, JT_BLOCK_END, "end of statement block");
}

/* Assignment target: name, name.attr, or names separated by commas. */
static vkllm_status parse_target(parser *p, int allow_attr, jnode **out) {
    size_t pos = cur(p)->pos;
    int paren = is_op(cur(p), "(");
    if (paren) adv(p);
    kidlist k = {0};
    for (;;) {
        const jtok *t = cur(p);
        if (t->type != JT_NAME) return p_fail(p, t->pos, "expected a variable name");
        MK(n, JN_NAME, t->pos);
        n->name = t->s;
        n->name_n = t->n;
        adv(p);
        if (allow_attr && !k.n && is_op(cur(p), ".")) {
            adv(p);
            if (cur(p)->type != JT_NAME)
                return p_fail(p, cur(p)->pos, "expected an attribute name");
            MK(g, JN_GETATTR, cur(p)->pos);
            g->a = n;
            g->name = cur(p)->s;
            g->name_n = cur(p)->n;
            adv(p);
            *out = g;
            return VKLLM_OK;
        }
        TRY(kid_push(p, &k, n));
        if (!is_op(cur(p), ",")) break;
        adv(p);
    }
    if (paren) TRY(expect_op(p, ")"));
    if (k.n == 1) {
        *out = k.v[0];
        return VKLLM_OK;
    }
    MK(tu, JN_TUPLE, pos);
    tu->kids = k.v;
    tu->n_kids = k.n;
    *out = tu;
    return VKLLM_OK;
}

static vkllm_status parse_if(parser *p, size_t pos, jnode **out) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const ends_else[] = {"endif", NULL};
    MK(n, JN_IF, pos);
    *out = n;
    for (;;) {
        const jtok *end;
        TRY(parse_expr(p, &n->a));
        TRY(end_block(p));
        TRY(parse_body(p, ends, &n->b, &end));
        if (is_name(end, "elif")) {
            MK(e, JN_IF, end->pos);
            n->c = e;
            n = e;
            continue;
        }
        if (is_name(end, "else")) {
            TRY(end_block(p));
            TRY(parse_body(p, ends_else, &n->c, &end));
        }
        return end_block(p);
    }
}

static vkllm_status parse_for(parser *p, size_t pos, jnode **out) {
    static const char *const ends[] = {"else", "endfor", NULL};
    static const char *const ends_else[] = {"endfor", NULL};
    MK(n, JN_FOR, pos);
    TRY(parse_target(p, 0, &n->a));
    if (!is_name(cur(p), "in")) return p_fail(p, cur(p)->pos, "expected 'in' in for loop");
    adv(p);
    TRY(parse_tuple(p, 0, 0, &n->b));
    if (is_name(cur(p), "if")) {
        adv(p);
        TRY(parse_expr(p, &n->c));
    }
    if (is_name(cur(p), "recursive"))
        return p_fail(p, cur(p)->pos, "recursive loops are not supported");
    TRY(end_block(p));
    const jtok *end;
    p->loops++;
    TRY(parse_body(p, ends, &n->d, &end));
    p->loops--;
    if (is_name(end, "else")) {
        TRY(end_block(p));
        TRY(parse_body(p, ends_else, &n->e, &end));
    }
    *out = n;
    return end_block(p);
}

static vkllm_status parse_set(parser *p, size_t pos, jnode **out) {
    static const char *const ends[] = {"endset", NULL};
    jnode *target;
    TRY(parse_target(p, 1, &target));
    if (is_op(cur(p), "=")) {
        adv(p);
        MK(n, JN_SET, pos);
        n->a = target;
        TRY(parse_tuple(p, 1, 0, &n->b));
        *out = n;
        return end_block(p);
    }
    if (target->kind != JN_NAME) return p_fail(p, cur(p)->pos, "block set needs a single name");
    MK(n, JN_SET_BLOCK, pos);
    n->a = target;
    /* optional filters: {% set x | trim %} — kept as a filter chain over a placeholder */
    jnode *chain = NULL;
    while (is_op(cur(p), "|")) {
        TRY(parse_filter_or_test(p, chain, 0, &chain));
    }
    n->c = chain;
    TRY(end_block(p));
    const jtok *end;
    TRY(parse_body(p, ends, &n->b, &end));
    *out = n;
    return end_block(p);
}

static vkllm_status parse_macro(parser *p, size_t pos, jnode **out) {
    static const char *const ends[] = {"endmacro", NULL};
    const jtok *nm = cur(p);
    if (nm->type != JT_NAME) return p_fail(p, nm->pos, "expected a macro name");
    MK(n, JN_MACRO, pos);
    n->name = nm->s;
    n->name_n = nm->n;
    adv(p);
    TRY(expect_op(p, "("));
    kidlist k = {0};
    while (!is_op(cur(p), ")")) {
        if (k.n) TRY(expect_op(p, ","));
        const jtok *t = cur(p);
        if (t->type != JT_NAME) return p_fail(p, t->pos, "expected a parameter name");
        MK(param, JN_KWARG, t->pos);
        param->name = t->s;
        param->name_n = t->n;
        adv(p);
        if (is_op(cur(p), "=")) {
            adv(p);
            TRY(parse_expr(p, &param->a));
        }
        TRY(kid_push(p, &k, param));
    }
    adv(p);
    n->kids = k.v;
    n->n_kids = k.n;
    TRY(end_block(p));
    const jtok *end;
    int loops = p->loops;
    p->loops = 0;
    TRY(parse_body(p, ends, &n->a, &end));
    p->loops = loops;
    if (cur(p)->type == JT_NAME) adv(p); /* {% endmacro name %} */
    *out = n;
    return end_block(p);
}

static vkllm_status parse_filter_block(parser *p, size_t pos, jnode **out) {
    static const char *const ends[] = {"endfilter", NULL};
    MK(n, JN_FILTER_BLOCK, pos);
    jnode *chain = NULL;
    do {
        if (chain)
            adv(p);
        else {
            /* first filter has no leading '|': fake one by parsing from the name */
            p->i--;
        }
        TRY(parse_filter_or_test(p, chain, 0, &chain));
    } while (is_op(cur(p), "|"));
    n->c = chain;
    TRY(end_block(p));
    const jtok *end;
    TRY(parse_body(p, ends, &n->b, &end));
    *out = n;
    return end_block(p);
}

/* One {% ... %} statement; the keyword is current. Sets *stop when the keyword
 * is one of `ends` (left for the caller). */
static vkllm_status parse_stmt(parser *p, const char *const *ends, jnode **out, const jtok **stop) {
    const jtok *kw = cur(p);
    if (kw->type != JT_NAME) return p_fail(p, kw->pos, "expected a statement name");
    for (size_t i = 0; ends && ends[i]; i++)
        if (is_name(kw, ends[i])) {
            *stop = kw;
            adv(p);
            return VKLLM_OK;
        }
    size_t pos = kw->pos;
    adv(p);
    *out = NULL;
    if (is_name(kw, "if")) return parse_if(p, pos, out);
    if (is_name(kw, "for")) return parse_for(p, pos, out);
    if (is_name(kw, "set")) return parse_set(p, pos, out);
    if (is_name(kw, "macro")) return parse_macro(p, pos, out);
    if (is_name(kw, "filter")) return parse_filter_block(p, pos, out);
    if (is_name(kw, "break") || is_name(kw, "continue")) {
        if (!p->loops) return p_fail(p, pos, "'%.*s' outside of a loop", (int)kw->n, kw->s);
        MK(n, is_name(kw, "break") ? JN_BREAK : JN_CONTINUE, pos);
        *out = n;
        return end_block(p);
    }
    if (is_name(kw, "generation")) { /* transformers' tag: renders its body */
        static const char *const gends[] = {"endgeneration", NULL};
        const jtok *end;
        TRY(end_block(p));
        TRY(parse_body(p, gends, out, &end));
        return end_block(p);
    }
    char b[64];
    return p_fail(p, pos, "unexpected token %s", tok_desc(kw, b, sizeof b));
}

static vkllm_status parse_body(parser *p, const char *const *ends, jnode **out,
                               const jtok **end_tok) {
    TRY(enter(p));
    size_t start = cur(p)->pos;
    MK(body, JN_BODY, start);
    kidlist k = {0};
    *end_tok = NULL;
    for (;;) {
        const jtok *t = cur(p);
        jnode *n = NULL;
        if (t->type == JT_EOF) {
            if (ends) {
                unsigned line, col;
                jinja_lex_linecol(p->src, start, &line, &col);
                size_t last = 0;
                while (ends[last + 1])
                    last++;
                return p_fail(p, t->pos,
                              "unexpected end of template, expected '%s' (block opened on line %u)",
                              ends[last], line);
            }
            break;
        }
        if (t->type == JT_TEXT) {
            MK(tx, JN_TEXT, t->pos);
            tx->val = jv_str(t->s, t->n);
            n = tx;
            adv(p);
        } else if (t->type == JT_VAR_BEGIN) {
            MK(o, JN_OUTPUT, t->pos);
            adv(p);
            TRY(parse_tuple(p, 1, 0, &o->a));
            TRY(expect_type(p, JT_VAR_END, "end of print statement"));
            n = o;
        } else if (t->type == JT_BLOCK_BEGIN) {
            adv(p);
            const jtok *stop = NULL;
            TRY(parse_stmt(p, ends, &n, &stop));
            if (stop) {
                *end_tok = stop;
                break;
            }
        } else {
            return unexpected(p);
        }
        if (n) TRY(kid_push(p, &k, n));
    }
    body->kids = k.v;
    body->n_kids = k.n;
    *out = body;
    p->depth--;
    return VKLLM_OK;
}

vkllm_status jinja_parse(const jinja_src *src, const jtok *toks, size_t n_toks, jinja_arena *a,
                         jnode **root) {
    parser p = {.src = src, .t = toks, .n = n_toks, .a = a};
    const jtok *end;
    return parse_body(&p, NULL, root, &end);
}
