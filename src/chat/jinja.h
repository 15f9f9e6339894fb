/* jinja.h — a Jinja2 subset for chat templates, configured the way Hugging Face
 * transformers renders them: sandboxed, trim_blocks=True, lstrip_blocks=True,
 * loop controls (break/continue), keep_trailing_newline=False, HF's tojson
 * (json.dumps with ensure_ascii=False) and the globals raise_exception(msg) and
 * strftime_now(fmt). Output matches Python Jinja2 byte for byte for the features
 * implemented (values print as Python's str()).
 *
 * Usage:
 *   jinja_template *t;
 *   if (jinja_compile(src, len, &t) != VKLLM_OK) ... vkllm_last_error()
 *   char *out; size_t n;
 *   jinja_render_compiled(t, ctx, NULL, &out, &n);   // ctx: jansson object
 *   mem_free(out); jinja_free(t);
 *
 * Errors are VKLLM_ERR_TEMPLATE with "template:LINE:COL: what" (LINE and COL
 * 1-based, COL in bytes). Hostile templates are bounded: nesting depth,
 * total loop steps, output and memory size, range() length (limits below).
 * A compiled template is immutable: it may be rendered concurrently. */
#ifndef VKLLM_CHAT_JINJA_H
#define VKLLM_CHAT_JINJA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vkllm.h"

#define JINJA_MAX_DEPTH 256             /* parser nesting (blocks, brackets, unary ops) */
#define JINJA_MAX_EVAL_DEPTH 400        /* evaluator recursion incl. macro calls */
#define JINJA_MAX_STEPS 10000000ull     /* loop iterations + macro calls per render */
#define JINJA_MAX_OUTPUT (64ull << 20)  /* bytes of any one string or output */
#define JINJA_MAX_MEMORY (512ull << 20) /* bytes of values allocated per render */
#define JINJA_MAX_RANGE 100000          /* as Jinja2's sandbox MAX_RANGE */
#define JINJA_MAX_SOURCE (16ull << 20)  /* template source size */

typedef struct jinja_template jinja_template;

typedef struct jinja_render_opts {
    /* Time strftime_now() formats (local time); 0 means $SOURCE_DATE_EPOCH
     * when set to a decimal number (reproducible renders), else the current time. */
    time_t now;
} jinja_render_opts;

vkllm_status jinja_compile(const char *src, size_t len, jinja_template **out);
void jinja_free(jinja_template *t);

/* context: a JSON object whose members become template variables (borrowed).
 * opts may be NULL. *out is NUL-terminated, owned by the caller (mem_free). */
vkllm_status jinja_render_compiled(const jinja_template *t, const json_t *context,
                                   const jinja_render_opts *opts, char **out, size_t *out_len);

/* Compile + render + free in one call. */
vkllm_status jinja_render(const char *src, size_t len, const json_t *context, char **out,
                          size_t *out_len);

#endif
