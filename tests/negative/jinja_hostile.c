/* jinja_hostile.c — hostile and malformed templates fail fast with a clear
 * "template:LINE:COL: ..." error and bounded memory: deep nesting (parser and
 * evaluator), endless or huge loops, runaway recursion, string blow-up, huge
 * output, unterminated tags, misplaced end tags. */
#include <jansson.h>

#include "chat/jinja.h"
#include "core/buf.h"
#include "core/mem.h"
#include "testutil.h"

/* Renders src; expects VKLLM_ERR_TEMPLATE whose message starts with `prefix`
 * and contains `needle`. */
static void expect_error(const char *what, const char *src, size_t len, const char *prefix,
                         const char *needle) {
    char *out = NULL;
    json_t *ctx = json_pack("{s:[{s:s, s:s}]}", "messages", "role", "user", "content", "hi");
    vkllm_status s = jinja_render(src, len, ctx, &out, NULL);
    const char *msg = vkllm_last_error();
    CHECKF(s == VKLLM_ERR_TEMPLATE, "%s: status %d (%s)", what, s, s ? msg : "rendered");
    if (s == VKLLM_ERR_TEMPLATE) {
        CHECKF(strncmp(msg, prefix, strlen(prefix)) == 0, "%s: message '%s' lacks prefix '%s'",
               what, msg, prefix);
        CHECKF(strstr(msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, msg, needle);
        CHECKF(strchr(msg, '\n') == NULL, "%s: message is one line", what);
        fprintf(stderr, "  %-28s -> %s\n", what, msg);
    }
    CHECK(out == NULL);
    mem_free(out);
    json_decref(ctx);
}

static void expect_error_s(const char *what, const char *src, const char *prefix,
                           const char *needle) {
    expect_error(what, src, strlen(src), prefix, needle);
}

/* head + n copies of unit + tail */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len) {
    buf b = {0};
    buf_puts(&b, head);
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, unit);
    buf_puts(&b, tail);
    *len = b.len;
    return buf_steal(&b);
}

static void deep_nesting(void) {
    size_t len;
    char *s = repeat("{{ ", "(", 100000, "1 }}", &len);
    expect_error("100000 '('", s, len, "template:1:", "nested deeper");
    mem_free(s);
    s = repeat("{{ ", "[", 100000, " }}", &len);
    expect_error("100000 '['", s, len, "template:1:", "nested deeper");
    mem_free(s);
    s = repeat("", "{% if true %}", 100000, "x", &len);
    expect_error("100000 nested ifs", s, len, "template:1:", "nested deeper");
    mem_free(s);
    s = repeat("{{ ", "-", 100000, "1 }}", &len);
    expect_error("100000 unary minus", s, len, "template:1:", "nested deeper");
    mem_free(s);
    s = repeat("{{ ", "not ", 100000, "1 }}", &len);
    expect_error("100000 not", s, len, "template:1:", "nested deeper");
    mem_free(s);
    /* left-deep chains parse iteratively but evaluate recursively */
    s = repeat("{{ 1", " + 1", 100000, " }}", &len);
    expect_error("100000-term sum", s, len, "template:1:", "deeper than");
    mem_free(s);
    s = repeat("{{ 'x'", " | trim", 100000, " }}", &len);
    expect_error("100000 chained filters", s, len, "template:1:", "deeper than");
    mem_free(s);
    s = repeat("{{ x", ".a", 100000, " }}", &len);
    expect_error("100000 attributes", s, len, "template:1:", "");
    mem_free(s);
}

static void runaway(void) {
    expect_error_s("range(10**12)", "{% for i in range(10**12) %}x{% endfor %}",
                   "template:1:", "range too big");
    expect_error_s("range(-big)", "{{ range(-9223372036854775807, 9223372036854775807) | length }}",
                   "template:1:", "range too big");
    expect_error_s(
        "nested loops",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "template:1:", "loop iterations");
    expect_error_s("recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                   "template:1:", "deeper than");
    expect_error_s(
        "mutual recursion",
        "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
        "template:1:", "deeper than");
    expect_error_s("string * 10**12", "{{ 'x' * 10**12 }}", "template:1:", "longer than");
    expect_error_s("list * 10**9", "{{ ([1] * 1000000000) | length }}",
                   "template:1:", "longer than");
    expect_error_s(
        "doubling string",
        "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        "template:1:", "longer than");
    expect_error_s("huge output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
                   "template:1:", "output longer than");
    expect_error_s("memory", "{% for i in range(100000) %}{% set x = 'y' * 20000 %}{% endfor %}",
                   "template:1:", "memory limit");
    expect_error_s("int overflow", "{{ 2 ** 64 }}", "template:1:", "overflow");
    expect_error_s("replace blow-up",
                   "{% set ns = namespace(s='xx') %}{% for i in range(10) %}{% set ns.s = "
                   "ns.s.replace('x', 'x' * 1000) %}"
                   "{% endfor %}",
                   "template:1:", "");
}

static void malformed(void) {
    expect_error_s("unterminated {{", "hello {{ name", "template:1:7:", "unterminated");
    expect_error_s("unterminated {%", "a\n{% if x", "template:2:1:", "unterminated");
    expect_error_s("unterminated comment", "a\nb {# note", "template:2:3:", "unterminated comment");
    expect_error_s("missing endraw", "x\n {% raw %}{{ y }}",
                   "template:2:2:", "missing {% endraw %}");
    expect_error_s("unterminated string", "{{ 'abc }}", "template:1:4:", "unterminated string");
    expect_error_s("missing endif", "{% if x %}\nyes\n", "template:", "expected 'endif'");
    expect_error_s("missing endfor", "{% for x in y %}", "template:", "expected 'endfor'");
    expect_error_s("stray endfor", "line one\n  {% endfor %}",
                   "template:2:6:", "unexpected token 'endfor'");
    expect_error_s("endif in for", "{% for x in y %}{% endif %}",
                   "template:1:20:", "unexpected token 'endif'");
    expect_error_s("bad character", "{{ a ? b }}", "template:1:6:", "unexpected character");
    expect_error_s("unbalanced )", "{{ a) }}", "template:1:5:", "unexpected ')'");
    expect_error_s("empty expression", "{{ }}", "template:1:4:", "unexpected token");
    expect_error_s("break outside loop", "{% break %}", "template:1:4:", "outside of a loop");
    expect_error_s("unknown tag", "{% include 'x' %}",
                   "template:1:4:", "unexpected token 'include'");
    expect_error_s("bad escape", "{{ '\\u12' }}", "template:1:", "escape");
    expect_error_s("int literal overflow", "{{ 99999999999999999999 }}",
                   "template:1:4:", "too large");
    expect_error_s("render error position", "ok\n{{ 1 }}\n   {{ nope.x }}",
                   "template:3:", "'nope' is undefined");
    expect_error_s("raise_exception",
                   "{% if true %}\n  {{ raise_exception('Bad role: ' ~ 'x') }}{% endif %}",
                   "template:2:", "Bad role: x");
    expect_error_s("call non-callable", "{{ 'a'() }}", "template:1:", "not callable");
    expect_error("NUL byte (len)", "a\0b", 3, "template:", "NUL");
}

int main(void) {
    deep_nesting();
    runaway();
    malformed();
    return test_finish();
}
