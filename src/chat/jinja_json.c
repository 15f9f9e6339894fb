/* jinja_json.c — JSON in and out of template values: jansson objects become
 * dicts (key order kept), and the tojson filter writes what transformers'
 * tojson does, json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...):
 * separators ", " / ": " without indent, "," / ": " with it. */
#include <math.h>
#include <string.h>

#include "chat/jinja_int.h"
#include "core/utf8.h"

#define JSON_MAX_DEPTH 256

vkllm_status jinja_json_from(jrender *r, const json_t *j, jv *out, int depth) {
    if (depth > JSON_MAX_DEPTH)
        return err_set(VKLLM_ERR_TEMPLATE, "template: context JSON nested deeper than %d",
                       JSON_MAX_DEPTH);
    switch (json_typeof(j)) {
    case JSON_NULL: *out = jv_none(); return VKLLM_OK;
    case JSON_TRUE: *out = jv_bool(1); return VKLLM_OK;
    case JSON_FALSE: *out = jv_bool(0); return VKLLM_OK;
    case JSON_INTEGER: *out = jv_int((int64_t)json_integer_value(j)); return VKLLM_OK;
    case JSON_REAL: *out = jv_float(json_real_value(j)); return VKLLM_OK;
    case JSON_STRING: {
        size_t n = json_string_length(j);
        *out = jv_str(json_string_value(j), n); /* borrowed: the context outlives the render */
        return VKLLM_OK;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jlist *l = jinja_list_new(r, n);
        if (!l) return jinja_nomem(r, NULL);
        for (size_t i = 0; i < n; i++) {
            jv v;
            TRY(jinja_json_from(r, json_array_get(j, i), &v, depth + 1));
            l->v[l->n++] = v;
        }
        out->t = JV_LIST;
        out->tuple = 0;
        out->u.l = l;
        return VKLLM_OK;
    }
    case JSON_OBJECT: {
        jdict *d = jinja_dict_new(r);
        if (!d) return jinja_nomem(r, NULL);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            jv val;
            TRY(jinja_json_from(r, v, &val, depth + 1));
            /* keys are unique in a jansson object: append without a lookup */
            if (d->n == d->cap) {
                if (jinja_dict_set(r, d, jv_str(k, strlen(k)), val)) return jinja_nomem(r, NULL);
            } else {
                d->k[d->n] = jv_str(k, strlen(k));
                d->v[d->n++] = val;
            }
        }
        out->t = JV_DICT;
        out->u.d = d;
        return VKLLM_OK;
    }
    }
    return err_set(VKLLM_ERR_TEMPLATE, "template: unknown JSON value type");
}

/* ensure_ascii: code points past 0x7F as \uXXXX (UTF-16 surrogate pairs past 0xFFFF). */
static int dump_str(buf *b, const char *s, size_t n, int ascii) {
    if (buf_putc(b, '"')) return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char tmp[16];
        if (ascii && c >= 0x7F) { /* Python escapes everything outside " ".."~" */
            uint32_t cp;
            size_t l = utf8_decode((const uint8_t *)s + i, n - i, &cp);
            if (!l) cp = c, l = 1;
            if (buf_append(b, s + run, i - run)) return -1;
            if (cp >= 0x10000)
                snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10),
                         0xDC00 + ((cp - 0x10000) & 0x3FF));
            else
                snprintf(tmp, sizeof tmp, "\\u%04x", cp);
            if (buf_puts(b, tmp)) return -1;
            i += l - 1;
            run = i + 1;
            continue;
        }
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                esc = tmp;
            }
        }
        if (!esc) continue;
        if (buf_append(b, s + run, i - run) || buf_puts(b, esc)) return -1;
        run = i + 1;
    }
    if (buf_append(b, s + run, n - run)) return -1;
    return buf_putc(b, '"');
}

static int newline_indent(buf *b, int indent, int level) {
    if (buf_putc(b, '\n')) return -1;
    for (long i = 0; i < (long)indent * level; i++)
        if (buf_putc(b, ' ')) return -1;
    return 0;
}

typedef struct dumper {
    jrender *r;
    const jnode *at;
    int indent, sort_keys, ascii;
    jv item_sep, key_sep;
} dumper;

static int put_sep(buf *b, jv sep) { return buf_append(b, sep.u.s, sep.n); }

static vkllm_status dump(dumper *d, buf *b, jv v, int level) {
    char tmp[40];
    if (level > JSON_MAX_DEPTH) return jinja_fail(d->r, d->at, "tojson: value nested too deeply");
    if (b->len > JINJA_MAX_OUTPUT)
        return jinja_fail(d->r, d->at, "tojson: output longer than %llu bytes",
                          (unsigned long long)JINJA_MAX_OUTPUT);
    int rc = 0;
    switch (v.t) {
    case JV_NONE: rc = buf_puts(b, "null"); break;
    case JV_BOOL: rc = buf_puts(b, v.u.i ? "true" : "false"); break;
    case JV_INT: rc = buf_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT:
        if (isnan(v.u.f))
            rc = buf_puts(b, "NaN");
        else if (isinf(v.u.f))
            rc = buf_puts(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else
            jinja_float_repr(v.u.f, tmp), rc = buf_puts(b, tmp);
        break;
    case JV_STR: rc = dump_str(b, v.u.s, v.n, d->ascii); break;
    case JV_LIST: {
        if (v.u.l->n == 0) {
            rc = buf_puts(b, "[]");
            break;
        }
        if (buf_putc(b, '[')) return jinja_nomem(d->r, d->at);
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i && put_sep(b, d->item_sep)) return jinja_nomem(d->r, d->at);
            if (d->indent >= 0 && newline_indent(b, d->indent, level + 1))
                return jinja_nomem(d->r, d->at);
            TRY(dump(d, b, v.u.l->v[i], level + 1));
        }
        if (d->indent >= 0 && newline_indent(b, d->indent, level)) return jinja_nomem(d->r, d->at);
        rc = buf_putc(b, ']');
        break;
    }
    case JV_DICT:
    case JV_NS: {
        const jdict *dc = v.u.d;
        if (dc->n == 0) {
            rc = buf_puts(b, "{}");
            break;
        }
        size_t *order = jinja_arena_alloc(&d->r->arena, dc->n * sizeof *order);
        if (!order) return jinja_nomem(d->r, d->at);
        for (size_t i = 0; i < dc->n; i++)
            order[i] = i;
        if (d->sort_keys) /* insertion sort: key counts are small */
            for (size_t i = 1; i < dc->n; i++)
                for (size_t j = i; j > 0; j--) {
                    int c = 0;
                    if (jinja_compare(dc->k[order[j - 1]], dc->k[order[j]], &c) || c <= 0) break;
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        vkllm_status s = VKLLM_OK;
        if (buf_putc(b, '{')) s = jinja_nomem(d->r, d->at);
        for (size_t i = 0; i < dc->n && s == VKLLM_OK; i++) {
            jv k = dc->k[order[i]];
            if (i && put_sep(b, d->item_sep))
                s = jinja_nomem(d->r, d->at);
            else if (d->indent >= 0 && newline_indent(b, d->indent, level + 1))
                s = jinja_nomem(d->r, d->at);
            if (s) break;
            if (k.t == JV_STR)
                rc = dump_str(b, k.u.s, k.n, d->ascii);
            else if (k.t == JV_INT || k.t == JV_BOOL || k.t == JV_FLOAT || k.t == JV_NONE) {
                buf kb = {0};
                rc = jinja_value_str(&kb, k.t == JV_BOOL
                                              ? jv_str(k.u.i ? "true" : "false", k.u.i ? 4 : 5)
                                          : k.t == JV_NONE ? jv_str("null", 4)
                                                           : k);
                rc = rc || dump_str(b, kb.data ? kb.data : "", kb.len, d->ascii);
                buf_free(&kb);
            } else {
                s = jinja_fail(d->r, d->at,
                               "tojson: keys must be str, int, float, bool or None, not %s",
                               jinja_type_name(k));
                break;
            }
            if (rc || put_sep(b, d->key_sep))
                s = jinja_nomem(d->r, d->at);
            else
                s = dump(d, b, dc->v[order[i]], level + 1);
        }
        if (s == VKLLM_OK && d->indent >= 0 && newline_indent(b, d->indent, level))
            s = jinja_nomem(d->r, d->at);
        if (s == VKLLM_OK && buf_putc(b, '}')) s = jinja_nomem(d->r, d->at);
        return s;
    }
    default:
        return jinja_fail(d->r, d->at, "Object of type %s is not JSON serializable",
                          jinja_type_name(v));
    }
    return rc ? jinja_nomem(d->r, d->at) : VKLLM_OK;
}

vkllm_status jinja_json_dump(jrender *r, const jnode *at, jv v, const jinja_json_opts *o, buf *b) {
    dumper d = {r,
                at,
                o->indent,
                o->sort_keys,
                o->ensure_ascii,
                jv_str(o->indent >= 0 ? "," : ", ", o->indent >= 0 ? 1 : 2),
                jv_str(": ", 2)};
    if (o->item_sep.t == JV_STR) d.item_sep = o->item_sep;
    if (o->key_sep.t == JV_STR) d.key_sep = o->key_sep;
    return dump(&d, b, v, 0);
}
