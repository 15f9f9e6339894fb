/* gguf.c — GGUF v2/v3 reader (layout in gguf.h).
 *
 * gguf_open maps the file and makes one validating pass over the header with a
 * bounds-checked cursor; afterwards every accessor is safe without further
 * checks. Invariants after a successful open:
 *   - keys and tensor names are valid UTF-8 without NUL bytes, unique, and
 *     copied (NUL-terminated) into the handle;
 *   - string values are copied; string-array elements are NOT copied: each
 *     array keeps the file offset of every element's bytes, so element i is
 *     O(1) and a 150k-token vocabulary costs 8 bytes per token;
 *   - every tensor has 1..4 dims >= 1, a known block geometry, an element count
 *     <= INT64_MAX, an offset aligned to general.alignment and its bytes inside
 *     the file.
 * Keys and tensor names are found through open-addressing hash indexes. */
#include "format/gguf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define GGUF_DEFAULT_ALIGNMENT 32

/* Smallest encodings, used to reject counts that cannot fit in what is left. */
#define GGUF_MIN_KV_BYTES 13     /* u64 key length + u32 type + 1-byte value */
#define GGUF_MIN_TENSOR_BYTES 32 /* u64 name length + u32 n_dims + u64 ne + u32 type + u64 offset  \
                                  */

typedef struct gguf_kv {
    char *key;
    size_t key_len;
    gguf_value v;       /* data: into the mapping, or `str` for strings */
    char *str;          /* string value: NUL-terminated copy */
    uint64_t *str_offs; /* string array: file offset of each element's bytes */
} gguf_kv;

typedef struct gguf_slot {
    const char *name; /* NULL: empty */
    size_t len;
    int64_t idx;
} gguf_slot;

typedef struct gguf_index {
    gguf_slot *slots;
    uint64_t mask;
} gguf_index;

struct gguf {
    mfile f;
    int owns_map; /* 0 for gguf_open_memory: the bytes are borrowed */
    uint32_t version;
    uint64_t alignment, data_offset;
    int64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    gguf_index key_ix, tensor_ix;
};

/* ---- bounds-checked cursor ------------------------------------------------ */

typedef struct gguf_cursor {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
    char ctx[160]; /* "key 'x'", "tensor 'y'": prefixes truncation messages */
} gguf_cursor;

static uint64_t cur_left(const gguf_cursor *c) { return c->size - c->pos; }

static vkllm_status cur_need(const gguf_cursor *c, uint64_t n, const char *what) {
    if (n <= cur_left(c)) return VKLLM_OK;
    return err_set(VKLLM_ERR_FORMAT,
                   "gguf: %s: %s: truncated reading %s (need %llu bytes at offset %llu, %llu left)",
                   c->path, c->ctx, what, (unsigned long long)n, (unsigned long long)c->pos,
                   (unsigned long long)cur_left(c));
}

static uint32_t rd_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_le64(const uint8_t *p) {
    return (uint64_t)rd_le32(p) | (uint64_t)rd_le32(p + 4) << 32;
}

static vkllm_status cur_u32(gguf_cursor *c, const char *what, uint32_t *v) {
    TRY(cur_need(c, 4, what));
    *v = rd_le32(c->p + c->pos);
    c->pos += 4;
    return VKLLM_OK;
}

static vkllm_status cur_u64(gguf_cursor *c, const char *what, uint64_t *v) {
    TRY(cur_need(c, 8, what));
    *v = rd_le64(c->p + c->pos);
    c->pos += 8;
    return VKLLM_OK;
}

/* A length-prefixed string: stores the file offset of its bytes and its length. */
static vkllm_status cur_str(gguf_cursor *c, const char *what, uint64_t *off, uint64_t *len) {
    TRY(cur_u64(c, what, len));
    if (*len > cur_left(c))
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: %s: %s length %llu exceeds the %llu bytes left at offset %llu",
                       c->path, c->ctx, what, (unsigned long long)*len,
                       (unsigned long long)cur_left(c), (unsigned long long)c->pos);
    *off = c->pos;
    c->pos += *len;
    return VKLLM_OK;
}

/* ---- hash index over names ------------------------------------------------- */

static uint64_t name_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static int index_init(gguf_index *ix, uint64_t n) {
    uint64_t cap = 8;
    while (cap < 2 * n)
        cap *= 2; /* n is bounded by the file size, so no overflow */
    ix->slots = mem_calloc((size_t)cap, sizeof *ix->slots);
    if (!ix->slots) return -1;
    ix->mask = cap - 1;
    return 0;
}

/* Slot holding name, or the empty slot where it would go. */
static gguf_slot *index_slot(const gguf_index *ix, const char *name, size_t len) {
    uint64_t i = name_hash(name, len) & ix->mask;
    for (;;) {
        gguf_slot *s = &ix->slots[i];
        if (!s->name || (s->len == len && memcmp(s->name, name, len) == 0)) return s;
        i = (i + 1) & ix->mask;
    }
}

static int64_t index_find(const gguf_index *ix, const char *name) {
    if (!ix->slots || !name) return -1;
    const gguf_slot *s = index_slot(ix, name, strlen(name));
    return s->name ? s->idx : -1;
}

/* ---- value parsing ------------------------------------------------------------ */

static const char *const vtype_names[GGUF_VT_COUNT_] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

static const char *vtype_name(gguf_vtype t) {
    return (unsigned)t < GGUF_VT_COUNT_ ? vtype_names[t] : "?";
}

/* Bytes of a fixed-size value; 0 for strings and arrays. */
static uint64_t vtype_size(uint32_t t) {
    switch (t) {
    case GGUF_VT_U8:
    case GGUF_VT_I8:
    case GGUF_VT_BOOL: return 1;
    case GGUF_VT_U16:
    case GGUF_VT_I16: return 2;
    case GGUF_VT_U32:
    case GGUF_VT_I32:
    case GGUF_VT_F32: return 4;
    case GGUF_VT_U64:
    case GGUF_VT_I64:
    case GGUF_VT_F64: return 8;
    default: return 0;
    }
}

static vkllm_status nomem(const gguf_cursor *c) {
    return err_set(VKLLM_ERR_NOMEM, "gguf: %s: out of memory", c->path);
}

static vkllm_status check_bools(gguf_cursor *c, const uint8_t *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] > 1)
            return err_set(VKLLM_ERR_FORMAT,
                           "gguf: %s: %s: bool value %u at offset %llu is not 0 or 1", c->path,
                           c->ctx, p[i], (unsigned long long)(p - c->p + i));
    return VKLLM_OK;
}

static vkllm_status parse_array(gguf_cursor *c, gguf_kv *kv) {
    uint32_t et;
    TRY(cur_u32(c, "array element type", &et));
    if (et == GGUF_VT_ARRAY)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: nested arrays are not supported", c->path,
                       c->ctx);
    if (et >= GGUF_VT_COUNT_)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: unknown array element type %u", c->path,
                       c->ctx, et);
    uint64_t n;
    TRY(cur_u64(c, "array count", &n));
    kv->v.elem_type = (gguf_vtype)et;
    kv->v.n = n;
    kv->v.data = c->p + c->pos;
    uint64_t esz = vtype_size(et);
    if (esz) {
        uint64_t bytes;
        if (!ckmath_mul(n, esz, &bytes) || bytes > cur_left(c))
            return err_set(VKLLM_ERR_FORMAT,
                           "gguf: %s: %s: array of %llu %s elements exceeds the %llu bytes left",
                           c->path, c->ctx, (unsigned long long)n, vtype_name((gguf_vtype)et),
                           (unsigned long long)cur_left(c));
        if (et == GGUF_VT_BOOL) TRY(check_bools(c, c->p + c->pos, n));
        c->pos += bytes;
        return VKLLM_OK;
    }
    /* Strings: each takes at least its 8-byte length. */
    if (n > cur_left(c) / 8)
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: %s: array of %llu strings exceeds the %llu bytes left", c->path,
                       c->ctx, (unsigned long long)n, (unsigned long long)cur_left(c));
    kv->str_offs = mem_calloc((size_t)n, sizeof *kv->str_offs);
    if (!kv->str_offs) return nomem(c);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        TRY(cur_str(c, "array string", &kv->str_offs[i], &len));
    }
    return VKLLM_OK;
}

static vkllm_status parse_value(gguf_cursor *c, gguf_kv *kv, uint32_t type) {
    if (type >= GGUF_VT_COUNT_)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: unknown value type %u", c->path, c->ctx,
                       type);
    kv->v.type = (gguf_vtype)type;
    if (type == GGUF_VT_ARRAY) return parse_array(c, kv);
    if (type == GGUF_VT_STRING) {
        uint64_t off = 0, len = 0;
        TRY(cur_str(c, "string value", &off, &len));
        kv->str = mem_strndup((const char *)c->p + off, (size_t)len);
        if (!kv->str) return nomem(c);
        kv->v.n = len;
        kv->v.data = kv->str;
        return VKLLM_OK;
    }
    uint64_t sz = vtype_size(type);
    TRY(cur_need(c, sz, vtype_name((gguf_vtype)type)));
    if (type == GGUF_VT_BOOL) TRY(check_bools(c, c->p + c->pos, 1));
    kv->v.data = c->p + c->pos;
    c->pos += sz;
    return VKLLM_OK;
}

/* Keys and tensor names: UTF-8 without NUL (so lookups by C string reach them). */
static vkllm_status check_name(const gguf_cursor *c, uint64_t off, uint64_t len, const char *what,
                               int64_t i) {
    const uint8_t *s = c->p + off;
    if (memchr(s, 0, (size_t)len))
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s #%lld contains a NUL byte", c->path, what,
                       (long long)i);
    if (!utf8_valid(s, (size_t)len))
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s #%lld is not valid UTF-8 (offset %llu)",
                       c->path, what, (long long)i, (unsigned long long)off);
    return VKLLM_OK;
}

static vkllm_status parse_kvs(gguf *g, gguf_cursor *c) {
    for (int64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        snprintf(c->ctx, sizeof c->ctx, "key #%lld", (long long)i);
        uint64_t off = 0, len = 0;
        TRY(cur_str(c, "key", &off, &len));
        TRY(check_name(c, off, len, "key", i));
        kv->key = mem_strndup((const char *)c->p + off, (size_t)len);
        if (!kv->key) return nomem(c);
        kv->key_len = (size_t)len;
        snprintf(c->ctx, sizeof c->ctx, "key '%.100s'", kv->key);
        gguf_slot *s = index_slot(&g->key_ix, kv->key, kv->key_len);
        if (s->name)
            return err_set(VKLLM_ERR_FORMAT,
                           "gguf: %s: duplicate key '%.100s' (entries %lld and %lld)", c->path,
                           kv->key, (long long)s->idx, (long long)i);
        s->name = kv->key;
        s->len = kv->key_len;
        s->idx = i;
        uint32_t type;
        TRY(cur_u32(c, "value type", &type));
        TRY(parse_value(c, kv, type));
    }
    return VKLLM_OK;
}

static vkllm_status parse_alignment(gguf *g, const gguf_cursor *c) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = index_find(&g->key_ix, "general.alignment");
    if (i < 0) return VKLLM_OK;
    const gguf_kv *kv = &g->kv[i];
    if (kv->v.type != GGUF_VT_U32)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: general.alignment has type %s, expected u32",
                       c->path, vtype_name(kv->v.type));
    uint32_t a = rd_le32(kv->v.data);
    if (a == 0 || (a & (a - 1)))
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: general.alignment %u is not a nonzero power of two", c->path, a);
    g->alignment = a;
    return VKLLM_OK;
}

/* ---- tensor infos ------------------------------------------------------------- */

static vkllm_status parse_tensor(gguf *g, gguf_cursor *c, int64_t i, uint64_t *rel_off) {
    gguf_tensor *t = &g->tensors[i];
    snprintf(c->ctx, sizeof c->ctx, "tensor #%lld", (long long)i);
    uint64_t off = 0, len = 0;
    TRY(cur_str(c, "name", &off, &len));
    TRY(check_name(c, off, len, "tensor name", i));
    char *name = mem_strndup((const char *)c->p + off, (size_t)len);
    if (!name) return nomem(c);
    t->name = name;
    snprintf(c->ctx, sizeof c->ctx, "tensor '%.100s'", name);
    gguf_slot *s = index_slot(&g->tensor_ix, name, (size_t)len);
    if (s->name)
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: duplicate tensor name '%.100s' (tensors %lld and %lld)", c->path,
                       name, (long long)s->idx, (long long)i);
    s->name = name;
    s->len = (size_t)len;
    s->idx = i;

    TRY(cur_u32(c, "n_dims", &t->n_dims));
    if (t->n_dims < 1 || t->n_dims > 4)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: n_dims %u not in 1..4", c->path, c->ctx,
                       t->n_dims);
    uint64_t n_elem = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        TRY(cur_u64(c, "dimension", &t->ne[d]));
        if (t->ne[d] == 0)
            return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: dimension %u is 0", c->path, c->ctx, d);
        if (!ckmath_mul(n_elem, t->ne[d], &n_elem) || n_elem > (uint64_t)INT64_MAX)
            return err_set(VKLLM_ERR_FORMAT,
                           "gguf: %s: %s: element count overflows (dimension %u = %llu)", c->path,
                           c->ctx, d, (unsigned long long)t->ne[d]);
    }
    TRY(cur_u32(c, "type", &t->type));
    uint32_t bs = dtype_block_size(t->type);
    if (!bs)
        return err_set(VKLLM_ERR_UNSUPPORTED, "gguf: %s: %s: unsupported type %u", c->path, c->ctx,
                       t->type);
    if (t->ne[0] % bs)
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: %s: row length %llu is not a multiple of the %s block size %u",
                       c->path, c->ctx, (unsigned long long)t->ne[0], dtype_name(t->type), bs);
    /* n_elem fits in int64, so rows * row_bytes <= n_elem * type_size cannot overflow
     * for small type sizes, but check anyway: type sizes are data, not constants. */
    if (!ckmath_mul(n_elem / t->ne[0], dtype_row_bytes(t->type, t->ne[0]), &t->nbytes))
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: %s: byte size overflows", c->path, c->ctx);
    return cur_u64(c, "offset", rel_off);
}

/* Offsets are relative to the data section, which starts after the padding. */
static vkllm_status place_tensors(gguf *g, const gguf_cursor *c, const uint64_t *rel) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (rel[i] % g->alignment)
            return err_set(
                VKLLM_ERR_FORMAT,
                "gguf: %s: tensor '%.100s': offset %llu is not a multiple of the alignment %llu",
                c->path, t->name, (unsigned long long)rel[i], (unsigned long long)g->alignment);
        uint64_t end;
        if (!ckmath_add(g->data_offset, rel[i], &t->offset) ||
            !ckmath_add(t->offset, t->nbytes, &end) || end > c->size)
            return err_set(VKLLM_ERR_FORMAT,
                           "gguf: %s: tensor '%.100s': data (offset %llu + %llu bytes) past end of "
                           "file (%llu)",
                           c->path, t->name, (unsigned long long)rel[i],
                           (unsigned long long)t->nbytes, (unsigned long long)c->size);
        t->data = c->p + t->offset;
    }
    return VKLLM_OK;
}

static vkllm_status parse_tensors(gguf *g, gguf_cursor *c) {
    uint64_t *rel = mem_calloc((size_t)g->n_tensors, sizeof *rel);
    if (!rel) return nomem(c);
    vkllm_status s = VKLLM_OK;
    for (int64_t i = 0; i < g->n_tensors && s == VKLLM_OK; i++)
        s = parse_tensor(g, c, i, &rel[i]);
    if (s == VKLLM_OK) {
        if (!ckmath_align(c->pos, g->alignment, &g->data_offset))
            s = err_set(VKLLM_ERR_FORMAT, "gguf: %s: data offset overflows", c->path);
        else
            s = place_tensors(g, c, rel);
    }
    mem_free(rel);
    return s;
}

/* ---- header --------------------------------------------------------------------- */

static vkllm_status parse_header(gguf *g, gguf_cursor *c) {
    snprintf(c->ctx, sizeof c->ctx, "header");
    uint32_t magic;
    TRY(cur_u32(c, "magic", &magic));
    if (magic != GGUF_MAGIC)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: bad magic 0x%08x (not a GGUF file)", c->path,
                       magic);
    TRY(cur_u32(c, "version", &g->version));
    if (g->version == 1)
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: GGUF version 1 is not supported (only 2 and 3); "
                       "re-convert the model",
                       c->path);
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: big-endian GGUF files are not supported",
                       c->path);
    if (g->version != 2 && g->version != 3)
        return err_set(VKLLM_ERR_FORMAT, "gguf: %s: unknown GGUF version %u (only 2 and 3)",
                       c->path, g->version);
    uint64_t n_tensors, n_kv;
    TRY(cur_u64(c, "tensor count", &n_tensors));
    TRY(cur_u64(c, "kv count", &n_kv));
    /* Reject counts that cannot fit before allocating anything for them. */
    uint64_t left = cur_left(c);
    if (n_kv > left / GGUF_MIN_KV_BYTES)
        return err_set(
            VKLLM_ERR_FORMAT,
            "gguf: %s: kv count %llu cannot fit in the %llu bytes left (truncated or corrupt file)",
            c->path, (unsigned long long)n_kv, (unsigned long long)left);
    if (n_tensors > (left - n_kv * GGUF_MIN_KV_BYTES) / GGUF_MIN_TENSOR_BYTES)
        return err_set(VKLLM_ERR_FORMAT,
                       "gguf: %s: tensor count %llu cannot fit in the %llu bytes left (truncated "
                       "or corrupt file)",
                       c->path, (unsigned long long)n_tensors, (unsigned long long)left);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    g->kv = mem_calloc((size_t)n_kv, sizeof *g->kv);
    g->tensors = mem_calloc((size_t)n_tensors, sizeof *g->tensors);
    if (!g->kv || !g->tensors || index_init(&g->key_ix, n_kv) ||
        index_init(&g->tensor_ix, n_tensors))
        return nomem(c);
    return VKLLM_OK;
}

static vkllm_status gguf_parse(gguf *g) {
    gguf_cursor c = {.p = g->f.data, .size = g->f.size, .pos = 0, .path = g->f.path};
    TRY(parse_header(g, &c));
    TRY(parse_kvs(g, &c));
    TRY(parse_alignment(g, &c));
    return parse_tensors(g, &c);
}

static vkllm_status gguf_finish_open(gguf *g, gguf **out) {
    vkllm_status s = gguf_parse(g);
    if (s != VKLLM_OK) {
        gguf_close(g);
        return s;
    }
    *out = g;
    return VKLLM_OK;
}

vkllm_status gguf_open(const char *path, gguf **out) {
    *out = NULL;
    gguf *g = mem_calloc(1, sizeof *g);
    if (!g) return err_set(VKLLM_ERR_NOMEM, "gguf: %s: out of memory", path);
    vkllm_status s = mfile_open(path, &g->f);
    if (s != VKLLM_OK) {
        mem_free(g);
        return s;
    }
    g->owns_map = 1;
    return gguf_finish_open(g, out);
}

vkllm_status gguf_open_memory(const void *data, size_t size, const char *name, gguf **out) {
    *out = NULL;
    gguf *g = mem_calloc(1, sizeof *g);
    if (!g) return err_set(VKLLM_ERR_NOMEM, "gguf: %s: out of memory", name);
    g->f.path = mem_strdup(name);
    if (!g->f.path) {
        mem_free(g);
        return err_set(VKLLM_ERR_NOMEM, "gguf: %s: out of memory", name);
    }
    g->f.data = size ? data : NULL;
    g->f.size = size;
    return gguf_finish_open(g, out);
}

void gguf_close(gguf *g) {
    if (!g) return;
    if (g->kv)
        for (int64_t i = 0; i < g->n_kv; i++) {
            mem_free(g->kv[i].key);
            mem_free(g->kv[i].str);
            mem_free(g->kv[i].str_offs);
        }
    if (g->tensors)
        for (int64_t i = 0; i < g->n_tensors; i++)
            mem_free((void *)g->tensors[i].name);
    mem_free(g->kv);
    mem_free(g->tensors);
    mem_free(g->key_ix.slots);
    mem_free(g->tensor_ix.slots);
    if (g->owns_map) {
        mfile_close(&g->f);
    } else {
        mem_free(g->f.path);
    }
    mem_free(g);
}

/* ---- accessors -------------------------------------------------------------------- */

uint32_t gguf_version(const gguf *g) { return g->version; }
const char *gguf_path(const gguf *g) { return g->f.path; }
uint64_t gguf_alignment(const gguf *g) { return g->alignment; }
uint64_t gguf_data_offset(const gguf *g) { return g->data_offset; }

int64_t gguf_n_kv(const gguf *g) { return g->n_kv; }
int64_t gguf_find_key(const gguf *g, const char *key) { return index_find(&g->key_ix, key); }

const char *gguf_key(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

gguf_vtype gguf_kv_type(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].v.type : GGUF_VT_COUNT_;
}

static const gguf_kv *find_kv(const gguf *g, const char *key) {
    int64_t i = index_find(&g->key_ix, key);
    return i < 0 ? NULL : &g->kv[i];
}

static vkllm_status type_error(const gguf *g, const gguf_kv *kv, const char *expected) {
    return err_set(VKLLM_ERR_FORMAT, "gguf: %s: key '%s': expected %s, found %s", g->f.path,
                   kv->key, expected, vtype_name(kv->v.type));
}

/* An integer value as sign and magnitude, so the u64 and i64 ranges both fit.
 * Returns 0 when the value is not an integer. */
static int kv_integer(const gguf_kv *kv, int *neg, uint64_t *mag) {
    const uint8_t *p = kv->v.data;
    int64_t s;
    *neg = 0;
    switch (kv->v.type) {
    case GGUF_VT_U8: *mag = p[0]; return 1;
    case GGUF_VT_U16: *mag = (uint64_t)p[0] | (uint64_t)p[1] << 8; return 1;
    case GGUF_VT_U32: *mag = rd_le32(p); return 1;
    case GGUF_VT_U64: *mag = rd_le64(p); return 1;
    case GGUF_VT_I8: s = (int8_t)p[0]; break;
    case GGUF_VT_I16: s = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case GGUF_VT_I32: s = (int32_t)rd_le32(p); break;
    case GGUF_VT_I64: s = (int64_t)rd_le64(p); break;
    default: return 0;
    }
    *neg = s < 0;
    *mag = s < 0 ? (uint64_t)(-(s + 1)) + 1 : (uint64_t)s;
    return 1;
}

static vkllm_status range_error(const gguf *g, const gguf_kv *kv, int neg, uint64_t mag,
                                const char *to) {
    return err_set(VKLLM_ERR_FORMAT, "gguf: %s: key '%s': value %s%llu out of range for %s",
                   g->f.path, kv->key, neg ? "-" : "", (unsigned long long)mag, to);
}

vkllm_status gguf_get_u32(const gguf *g, const char *key, uint32_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    int neg;
    uint64_t mag;
    if (!kv_integer(kv, &neg, &mag)) return type_error(g, kv, "an integer");
    if (neg || mag > UINT32_MAX) return range_error(g, kv, neg, mag, "u32");
    *out = (uint32_t)mag;
    return VKLLM_OK;
}

vkllm_status gguf_get_i64(const gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    int neg;
    uint64_t mag;
    if (!kv_integer(kv, &neg, &mag)) return type_error(g, kv, "an integer");
    if (mag > (uint64_t)INT64_MAX + (uint64_t)neg) return range_error(g, kv, neg, mag, "i64");
    *out = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    return VKLLM_OK;
}

vkllm_status gguf_get_f32(const gguf *g, const char *key, float *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    if (kv->v.type == GGUF_VT_F32) {
        uint32_t b = rd_le32(kv->v.data);
        memcpy(out, &b, 4);
        return VKLLM_OK;
    }
    if (kv->v.type == GGUF_VT_F64) {
        uint64_t b = rd_le64(kv->v.data);
        double d;
        memcpy(&d, &b, 8);
        if (isfinite(d) && fabs(d) > FLT_MAX)
            return err_set(VKLLM_ERR_FORMAT, "gguf: %s: key '%s': value %g out of range for f32",
                           g->f.path, kv->key, d);
        *out = (float)d;
        return VKLLM_OK;
    }
    int neg;
    uint64_t mag;
    if (!kv_integer(kv, &neg, &mag)) return type_error(g, kv, "a number");
    *out = neg ? -(float)mag : (float)mag;
    return VKLLM_OK;
}

vkllm_status gguf_get_bool(const gguf *g, const char *key, int *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    if (kv->v.type != GGUF_VT_BOOL) return type_error(g, kv, "bool");
    *out = *(const uint8_t *)kv->v.data;
    return VKLLM_OK;
}

vkllm_status gguf_get_str(const gguf *g, const char *key, const char **s, size_t *len) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    if (kv->v.type != GGUF_VT_STRING) return type_error(g, kv, "string");
    *s = kv->str;
    if (len) *len = (size_t)kv->v.n;
    return VKLLM_OK;
}

vkllm_status gguf_get_arr(const gguf *g, const char *key, gguf_vtype *elem_type, uint64_t *n) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return VKLLM_ERR_INVALID_ARG;
    if (kv->v.type != GGUF_VT_ARRAY) return type_error(g, kv, "array");
    if (elem_type) *elem_type = kv->v.elem_type;
    if (n) *n = kv->v.n;
    return VKLLM_OK;
}

const void *gguf_arr_data(const gguf *g, const char *key) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->v.type != GGUF_VT_ARRAY || kv->v.elem_type == GGUF_VT_STRING) return NULL;
    return kv->v.data;
}

static const char *kv_arr_str(const gguf *g, const gguf_kv *kv, uint64_t j, size_t *len) {
    if (kv->v.type != GGUF_VT_ARRAY || kv->v.elem_type != GGUF_VT_STRING || j >= kv->v.n)
        return NULL;
    uint64_t off = kv->str_offs[j];
    if (len) *len = (size_t)rd_le64(g->f.data + off - 8);
    return (const char *)g->f.data + off;
}

const char *gguf_arr_str(const gguf *g, const char *key, uint64_t i, size_t *len) {
    const gguf_kv *kv = find_kv(g, key);
    return kv ? kv_arr_str(g, kv, i, len) : NULL;
}

void gguf_kv_value(const gguf *g, int64_t i, gguf_value *v) {
    if (i < 0 || i >= g->n_kv) {
        memset(v, 0, sizeof *v);
        v->type = GGUF_VT_COUNT_;
        return;
    }
    *v = g->kv[i].v;
}

const char *gguf_kv_arr_str(const gguf *g, int64_t i, uint64_t j, size_t *len) {
    return i >= 0 && i < g->n_kv ? kv_arr_str(g, &g->kv[i], j, len) : NULL;
}

int64_t gguf_n_tensors(const gguf *g) { return g->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name) {
    int64_t i = index_find(&g->tensor_ix, name);
    return i < 0 ? NULL : &g->tensors[i];
}
