/* jinja_int.h — shared internals of the Jinja engine: the arena, tokens, the
 * syntax tree and runtime values. Everything a compile or a render allocates
 * lives in one arena freed at once, so values need no reference counts and
 * cycles (a namespace holding itself) cannot leak. */
#ifndef VKLLM_CHAT_JINJA_INT_H
#define VKLLM_CHAT_JINJA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "chat/jinja.h"
#include "core/buf.h"
#include "core/err.h"

/* ---- arena (jinja_value.c) ---- */
typedef struct jinja_arena {
    struct jinja_blk *head;
    size_t used, limit; /* bytes handed out; limit 0 = unlimited */
} jinja_arena;

void *jinja_arena_alloc(jinja_arena *a, size_t n); /* zeroed; NULL on limit or no memory */
void jinja_arena_free(jinja_arena *a);

/* ---- tokens (jinja_lex.c) ---- */
typedef enum jtok_type {
    JT_EOF,
    JT_TEXT,
    JT_VAR_BEGIN,
    JT_VAR_END,
    JT_BLOCK_BEGIN,
    JT_BLOCK_END,
    JT_NAME,
    JT_STRING,
    JT_INT,
    JT_FLOAT,
    JT_OP
} jtok_type;

typedef struct jtok {
    jtok_type type;
    size_t pos;    /* offset in the normalized source */
    const char *s; /* TEXT/STRING: content (escapes decoded); NAME/OP: source text */
    size_t n;
    int64_t i;
    double f;
} jtok;

typedef struct jinja_src {
    char *text; /* normalized: \r\n and \r -> \n, one trailing \n removed */
    size_t len;
} jinja_src;

/* Tokens go into *toks (arena); errors name template:line:col. */
vkllm_status jinja_lex(const jinja_src *src, jinja_arena *a, jtok **toks, size_t *n_toks);
/* Line and column (1-based) of offset pos. */
void jinja_lex_linecol(const jinja_src *src, size_t pos, unsigned *line, unsigned *col);

/* ---- syntax tree (jinja_parse.c) ---- */
typedef enum jnode_kind {
    /* statements */
    JN_BODY,
    JN_TEXT,
    JN_OUTPUT,
    JN_IF,
    JN_FOR,
    JN_SET,
    JN_SET_BLOCK,
    JN_MACRO,
    JN_BREAK,
    JN_CONTINUE,
    JN_FILTER_BLOCK,
    /* expressions */
    JN_CONST,
    JN_NAME,
    JN_LIST,
    JN_TUPLE,
    JN_DICT,
    JN_GETATTR,
    JN_GETITEM,
    JN_SLICE,
    JN_CALL,
    JN_KWARG,
    JN_FILTER,
    JN_TEST,
    JN_BINOP,
    JN_UNARY,
    JN_AND,
    JN_OR,
    JN_NOT,
    JN_COND,
    JN_CONCAT
} jnode_kind;

typedef enum jop {
    JOP_ADD,
    JOP_SUB,
    JOP_MUL,
    JOP_DIV,
    JOP_FLOORDIV,
    JOP_MOD,
    JOP_POW,
    JOP_EQ,
    JOP_NE,
    JOP_LT,
    JOP_LE,
    JOP_GT,
    JOP_GE,
    JOP_IN,
    JOP_NOTIN,
    JOP_NEG,
    JOP_POS
} jop;

/* ---- values (jinja_value.c) ---- */
typedef enum jv_type {
    JV_UNDEF,
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,
    JV_DICT,
    JV_NS,
    JV_MACRO,
    JV_FUNC,
    JV_METHOD,
    JV_LOOP
} jv_type;

struct jlist;
struct jdict;
struct jnode;
struct jmethod;
struct jloop;
struct jmacro;
struct jscope;

typedef struct jv {
    uint8_t t;
    uint8_t tuple; /* JV_LIST printed as (a, b) */
    size_t n;      /* JV_STR: bytes; JV_UNDEF: length of the message */
    union {
        int64_t i; /* INT, BOOL, FUNC (builtin id) */
        double f;
        const char *s; /* STR; UNDEF: "'x' is undefined" (may be NULL) */
        struct jlist *l;
        struct jdict *d; /* DICT, NS */
        struct jmacro *macro;
        struct jmethod *m;
        struct jloop *loop;
    } u;
} jv;

typedef struct jlist {
    size_t n, cap;
    jv *v;
} jlist;

typedef struct jdict {
    size_t n, cap;
    jv *k, *v; /* insertion order */
} jdict;

typedef struct jmethod {
    jv self;
    const char *name;
    size_t n;
} jmethod;

/* A macro and the scope it was defined in (it sees that scope's names). */
typedef struct jmacro {
    const struct jnode *node;
    struct jscope *scope;
} jmacro;

typedef struct jloop {
    const jlist *items;
    size_t index0;
} jloop;

typedef struct jnode {
    uint8_t kind;
    uint8_t op;
    size_t pos;
    const char *name; /* NAME, GETATTR, FILTER, TEST, KWARG, MACRO, SET target */
    size_t name_n;
    jv val; /* CONST */
    struct jnode *a, *b, *c, *d, *e;
    struct jnode **kids; /* BODY statements, call args, list items, dict k/v pairs */
    size_t n_kids;
} jnode;

vkllm_status jinja_parse(const jinja_src *src, const jtok *toks, size_t n_toks, jinja_arena *a,
                         jnode **root);

static inline jv jv_undef(void) {
    jv v = {0};
    v.t = JV_UNDEF;
    return v;
}
static inline jv jv_none(void) {
    jv v = {0};
    v.t = JV_NONE;
    return v;
}
static inline jv jv_bool(int b) {
    jv v = {0};
    v.t = JV_BOOL;
    v.u.i = b != 0;
    return v;
}
static inline jv jv_int(int64_t i) {
    jv v = {0};
    v.t = JV_INT;
    v.u.i = i;
    return v;
}
static inline jv jv_float(double f) {
    jv v = {0};
    v.t = JV_FLOAT;
    v.u.f = f;
    return v;
}
static inline jv jv_str(const char *s, size_t n) {
    jv v = {0};
    v.t = JV_STR;
    v.u.s = s;
    v.n = n;
    return v;
}

/* ---- render state (jinja_eval.c) ---- */
typedef struct jscope jscope;

typedef struct jrender {
    const jinja_src *src;
    jinja_arena arena;
    buf *out;
    uint64_t steps;
    int depth;
    int ctl; /* 1 break, 2 continue */
    time_t now;
    jscope *root;
    jv pipe; /* operand of the filters of {% set x | f %} and {% filter f %} */
} jrender;

/* Error at node position: "template:L:C: msg". Returns VKLLM_ERR_TEMPLATE. */
vkllm_status jinja_fail(jrender *r, const jnode *n, const char *fmt, ...) ERR_PRINTF(3, 4);
vkllm_status jinja_nomem(jrender *r, const jnode *n);
int jinja_truthy(jv v);
/* What iteration yields: list items, dict keys, string characters; Undefined is empty. */
vkllm_status jinja_iter_items(jrender *r, const jnode *at, jv v, jlist **out);
/* obj.name as the template writes it (getattr then item). */
vkllm_status jinja_getattr(jrender *r, const jnode *at, jv obj, const char *name, size_t n,
                           jv *out);
vkllm_status jinja_eval_call_value(jrender *r, const jnode *at, jv fn, const jv *args,
                                   size_t n_args, const char *const *kw_names, const jv *kw_vals,
                                   size_t n_kw, jv *out);

/* binary operators with Python semantics (jinja_ops.c) */
vkllm_status jinja_ops_binary(jrender *r, const jnode *at, jop op, jv a, jv b, jv *out);

/* values (jinja_value.c) */
jlist *jinja_list_new(jrender *r, size_t cap);
int jinja_list_push(jrender *r, jlist *l, jv v); /* 0 ok, -1 no memory */
jdict *jinja_dict_new(jrender *r);
int jinja_dict_set(jrender *r, jdict *d, jv k, jv v);
const jv *jinja_dict_get(const jdict *d, const char *k, size_t n);
const jv *jinja_dict_getv(const jdict *d, jv k);
char *jinja_strdup(jrender *r, const char *s, size_t n);
int jinja_equal(jv a, jv b);
/* -1/0/1 in *c; returns -1 when the types cannot be ordered. */
int jinja_compare(jv a, jv b, int *c);
/* Python str() / repr() appended to b; 0 ok, -1 no memory or too long. */
int jinja_value_str(buf *b, jv v);
int jinja_value_repr(buf *b, jv v);
const char *jinja_type_name(jv v);
/* Python float repr. */
void jinja_float_repr(double f, char out[40]);
/* Length in code points, UTF-8 helpers. */
size_t jinja_utf8_len(const char *s, size_t n);
size_t jinja_utf8_offset(const char *s, size_t n, size_t index); /* byte offset of index-th cp */
/* Builds a str value from a buffer (copies into the arena). */
vkllm_status jinja_str_from_buf(jrender *r, const jnode *at, buf *b, jv *out);
/* Converts any value to a str value (Python str()). */
vkllm_status jinja_to_str(jrender *r, const jnode *at, jv v, jv *out);

/* json (jinja_json.c) */
vkllm_status jinja_json_from(jrender *r, const json_t *j, jv *out, int depth);
/* json.dumps options; defaults as transformers' tojson: ensure_ascii=False. */
typedef struct jinja_json_opts {
    int indent; /* < 0: None (one line) */
    int sort_keys, ensure_ascii;
    jv item_sep, key_sep; /* JV_STR to override ", " / ": " (with indent: "," / ": ") */
} jinja_json_opts;
vkllm_status jinja_json_dump(jrender *r, const jnode *at, jv v, const jinja_json_opts *o, buf *b);

/* filters and tests (jinja_filters.c) */
vkllm_status jinja_filters_apply(jrender *r, const jnode *at, const char *name, size_t name_n, jv v,
                                 const jv *args, size_t n_args, const char *const *kw_names,
                                 const jv *kw_vals, size_t n_kw, jv *out);
vkllm_status jinja_filters_test(jrender *r, const jnode *at, const char *name, size_t name_n, jv v,
                                const jv *args, size_t n_args, int *out);

/* Python str / list / dict methods (jinja_methods.c) */
vkllm_status jinja_methods_call(jrender *r, const jnode *at, const jmethod *m, const jv *args,
                                size_t n_args, const char *const *kw_names, const jv *kw_vals,
                                size_t n_kw, jv *out);
int jinja_methods_has(jv self, const char *name, size_t n);
int jinja_methods_isspace(uint32_t cp);
/* mode: 1 upper, 2 lower, 3 str.title, 4 capitalize, 5 the title filter. */
vkllm_status jinja_methods_case(jrender *r, const jnode *at, jv s, int mode, jv *out);
vkllm_status jinja_methods_replace(jrender *r, const jnode *at, jv s, jv old, jv new_,
                                   int64_t count, jv *out);
/* Python printf-style formatting: fmt % args. */
vkllm_status jinja_methods_percent(jrender *r, const jnode *at, jv fmt, const jv *args,
                                   size_t n_args, jv *out);
/* Python str.strip family: which: 1 left, 2 right, 3 both; chars NULL = whitespace. */
jv jinja_methods_strip(jv s, int which, const char *chars, size_t chars_n);

#endif
