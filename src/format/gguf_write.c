/* gguf_write.c — GGUF v3 writer: metadata and tensor infos collected in memory,
 * tensor data streamed through a fixed buffer into "<path>.tmp.<pid>", then
 * fsync + rename. Any failure removes the temporary file; the final path is
 * only ever created complete.
 *
 * Each key/value is kept serialized (the bytes after the key and the u32
 * type: a raw scalar, u64 length + bytes, or u32 elem type + u64 n + elems),
 * so copying a key from another file and writing it out are plain memcpys.
 * Host byte order is assumed little-endian, as in the reader. */
#include "format/gguf_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"

#define GW_ALIGN_DEFAULT 32
#define GW_BUF_SIZE (4u << 20)

typedef struct gw_kv {
    char *key;
    uint32_t type;
    uint8_t *val; /* serialized value */
    size_t len;
} gw_kv;

typedef struct gw_tensor {
    char *name;
    uint32_t n_dims, type;
    uint64_t ne[4];
    uint64_t offset, nbytes; /* offset relative to the data section */
} gw_tensor;

struct gguf_writer {
    char *path, *tmp;
    gw_kv *kv;
    size_t n_kv, cap_kv;
    gw_tensor *t;
    size_t n_t, cap_t;
    uint64_t data_size; /* aligned end of the last tensor */
    uint64_t alignment;
    int fd;             /* -1 until begin_data */
    int failed, finished, created; /* created: the temporary file exists (ours) */
    uint8_t *buf;
    size_t buf_n;
    uint64_t written;   /* bytes handed to write(2) */
    uint64_t fault_after; /* UINT64_MAX: no injected failure */
    size_t cur;         /* tensor receiving data */
    uint64_t cur_done;  /* bytes of it received */
};

static const size_t gw_scalar_size[GGUF_VT_COUNT_] = {
    [GGUF_VT_U8] = 1,  [GGUF_VT_I8] = 1,  [GGUF_VT_U16] = 2,  [GGUF_VT_I16] = 2, [GGUF_VT_U32] = 4,
    [GGUF_VT_I32] = 4, [GGUF_VT_F32] = 4, [GGUF_VT_BOOL] = 1, [GGUF_VT_U64] = 8, [GGUF_VT_I64] = 8,
    [GGUF_VT_F64] = 8,
};

vkllm_status gguf_writer_create(const char *path, gguf_writer **out) {
    *out = NULL;
    gguf_writer *w = mem_calloc(1, sizeof *w);
    if (!w) return err_set(VKLLM_ERR_NOMEM, "gguf_write: %s: out of memory", path);
    w->fd = -1;
    w->alignment = GW_ALIGN_DEFAULT;
    w->fault_after = UINT64_MAX;
    w->path = mem_strdup(path);
    size_t n = strlen(path) + 32;
    w->tmp = mem_alloc(n);
    if (!w->path || !w->tmp) {
        gguf_writer_free(w);
        return err_set(VKLLM_ERR_NOMEM, "gguf_write: %s: out of memory", path);
    }
    snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    *out = w;
    return VKLLM_OK;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->created && !w->finished) unlink(w->tmp);
    for (size_t i = 0; i < w->n_kv; i++) {
        mem_free(w->kv[i].key);
        mem_free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) mem_free(w->t[i].name);
    mem_free(w->kv);
    mem_free(w->t);
    mem_free(w->buf);
    mem_free(w->path);
    mem_free(w->tmp);
    mem_free(w);
}

static vkllm_status gw_nomem(const gguf_writer *w) {
    return err_set(VKLLM_ERR_NOMEM, "gguf_write: %s: out of memory", w->path);
}

static int gw_find(const gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) return (int)i;
    return -1;
}

int gguf_writer_has_key(const gguf_writer *w, const char *key) { return gw_find(w, key) >= 0; }

void gguf_writer_remove_key(gguf_writer *w, const char *key) {
    int i = gw_find(w, key);
    if (i < 0) return;
    mem_free(w->kv[i].key);
    mem_free(w->kv[i].val);
    memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - (size_t)i - 1) * sizeof *w->kv);
    w->n_kv--;
}

/* Stores key = (type, val[len]) taking ownership of val (freed on failure). */
static vkllm_status gw_put(gguf_writer *w, const char *key, uint32_t type, uint8_t *val, size_t len) {
    if (w->fd >= 0 || w->failed) {
        mem_free(val);
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: metadata after the data began", w->path);
    }
    int i = gw_find(w, key);
    if (i >= 0) {
        mem_free(w->kv[i].val);
        w->kv[i].type = type;
        w->kv[i].val = val;
        w->kv[i].len = len;
        return VKLLM_OK;
    }
    char *k = mem_strdup(key);
    if (!k || mem_grow((void **)&w->kv, &w->cap_kv, w->n_kv + 1, sizeof *w->kv) != 0) {
        mem_free(k);
        mem_free(val);
        return gw_nomem(w);
    }
    w->kv[w->n_kv++] = (gw_kv){k, type, val, len};
    if (strcmp(key, "general.alignment") == 0 && type == GGUF_VT_U32 && len == 4) {
        uint32_t a;
        memcpy(&a, val, 4);
        if (a && !(a & (a - 1))) w->alignment = a;
    }
    return VKLLM_OK;
}

static uint8_t *gw_dup(const void *p, size_t n) {
    uint8_t *b = mem_alloc(n ? n : 1);
    if (b && n) memcpy(b, p, n);
    return b;
}

vkllm_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_vtype type, const void *val) {
    if ((unsigned)type >= GGUF_VT_COUNT_ || !gw_scalar_size[type])
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: key '%s': %d is not a scalar type",
                       w->path, key, (int)type);
    uint8_t *b = gw_dup(val, gw_scalar_size[type]);
    if (!b) return gw_nomem(w);
    if (type == GGUF_VT_BOOL) b[0] = b[0] ? 1 : 0;
    return gw_put(w, key, type, b, gw_scalar_size[type]);
}

vkllm_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_U32, &v);
}
vkllm_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_I32, &v);
}
vkllm_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_F32, &v);
}
vkllm_status gguf_writer_set_bool(gguf_writer *w, const char *key, int v) {
    uint8_t b = v ? 1 : 0;
    return gguf_writer_set_scalar(w, key, GGUF_VT_BOOL, &b);
}

vkllm_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *s, size_t len) {
    uint8_t *b = mem_alloc(8 + len);
    if (!b) return gw_nomem(w);
    uint64_t n = len;
    memcpy(b, &n, 8);
    if (len) memcpy(b + 8, s, len);
    return gw_put(w, key, GGUF_VT_STRING, b, 8 + len);
}

vkllm_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type, uint64_t n,
                                 const void *data) {
    if ((unsigned)elem_type >= GGUF_VT_COUNT_ || !gw_scalar_size[elem_type])
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: key '%s': array of type %d", w->path,
                       key, (int)elem_type);
    uint64_t bytes, total;
    if (!ckmath_mul(n, gw_scalar_size[elem_type], &bytes) || !ckmath_add(bytes, 12, &total) ||
        total > SIZE_MAX)
        return gw_nomem(w);
    uint8_t *b = mem_alloc((size_t)total);
    if (!b) return gw_nomem(w);
    uint32_t et = elem_type;
    memcpy(b, &et, 4);
    memcpy(b + 4, &n, 8);
    if (bytes) memcpy(b + 12, data, (size_t)bytes);
    return gw_put(w, key, GGUF_VT_ARRAY, b, (size_t)total);
}

vkllm_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, uint64_t n,
                                     const char *const *strs, const size_t *lens) {
    uint64_t total = 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = lens ? lens[i] : strlen(strs[i]);
        if (!ckmath_add(total, 8 + l, &total)) return gw_nomem(w);
    }
    if (total > SIZE_MAX) return gw_nomem(w);
    uint8_t *b = mem_alloc((size_t)total), *p = b + 12;
    if (!b) return gw_nomem(w);
    uint32_t et = GGUF_VT_STRING;
    memcpy(b, &et, 4);
    memcpy(b + 4, &n, 8);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = lens ? lens[i] : strlen(strs[i]);
        memcpy(p, &l, 8);
        if (l) memcpy(p + 8, strs[i], (size_t)l);
        p += 8 + l;
    }
    return gw_put(w, key, GGUF_VT_ARRAY, b, (size_t)total);
}

vkllm_status gguf_writer_copy_kv(gguf_writer *w, const gguf *g, int64_t i) {
    const char *key = gguf_key(g, i);
    if (!key) return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: no key #%lld in %s", w->path,
                             (long long)i, gguf_path(g));
    gguf_value v;
    gguf_kv_value(g, i, &v);
    if (v.type == GGUF_VT_STRING) return gguf_writer_set_str(w, key, v.data, (size_t)v.n);
    if (v.type != GGUF_VT_ARRAY) return gguf_writer_set_scalar(w, key, v.type, v.data);
    if (v.elem_type != GGUF_VT_STRING) return gguf_writer_set_arr(w, key, v.elem_type, v.n, v.data);
    /* string arrays: elements point into the source mapping */
    if (v.n > SIZE_MAX / (sizeof(char *) + sizeof(size_t))) return gw_nomem(w);
    const char **s = mem_calloc(v.n ? (size_t)v.n : 1, sizeof *s);
    size_t *l = mem_calloc(v.n ? (size_t)v.n : 1, sizeof *l);
    vkllm_status st = VKLLM_OK;
    if (!s || !l) st = gw_nomem(w);
    for (uint64_t j = 0; st == VKLLM_OK && j < v.n; j++) s[j] = gguf_kv_arr_str(g, i, j, &l[j]);
    if (st == VKLLM_OK) st = gguf_writer_set_arr_str(w, key, v.n, s, l);
    mem_free(s);
    mem_free(l);
    return st;
}

vkllm_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                                    const uint64_t *ne, uint32_t type) {
    if (w->fd >= 0 || w->failed)
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: tensor '%s' after the data began",
                       w->path, name);
    if (n_dims < 1 || n_dims > 4)
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: tensor '%s': %u dims", w->path, name,
                       n_dims);
    gw_tensor t = {.n_dims = n_dims, .type = type, .ne = {1, 1, 1, 1}};
    uint64_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        t.ne[d] = ne[d];
        if (d && !ckmath_mul(rows, ne[d], &rows))
            return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: tensor '%s': size overflows",
                           w->path, name);
    }
    uint64_t rb = dtype_row_bytes(type, ne[0]);
    if (!rb || !ckmath_mul(rb, rows, &t.nbytes))
        return err_set(VKLLM_ERR_INVALID_ARG,
                       "gguf_write: %s: tensor '%s': row of %llu is not a multiple of the %s block",
                       w->path, name, (unsigned long long)ne[0], dtype_name(type));
    t.offset = w->data_size;
    uint64_t end;
    if (!ckmath_add(t.offset, t.nbytes, &end) || !ckmath_align(end, w->alignment, &end))
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: tensor '%s': size overflows", w->path,
                       name);
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: duplicate tensor '%s'", w->path,
                           name);
    t.name = mem_strdup(name);
    if (!t.name || mem_grow((void **)&w->t, &w->cap_t, w->n_t + 1, sizeof *w->t) != 0) {
        mem_free(t.name);
        return gw_nomem(w);
    }
    w->t[w->n_t++] = t;
    w->data_size = end;
    return VKLLM_OK;
}

uint64_t gguf_writer_data_size(const gguf_writer *w) { return w->data_size; }

/* ---- output: buffered write(2), every failure names the file ---- */

static vkllm_status gw_fail(gguf_writer *w, int e, const char *what) {
    w->failed = 1;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->created) unlink(w->tmp);
    w->created = 0;
    return err_set(VKLLM_ERR_IO, "gguf_write: %s: %s: %s", w->path, what,
                   strerror(e));
}

static vkllm_status gw_flush(gguf_writer *w) {
    size_t off = 0;
    while (off < w->buf_n) {
        size_t n = w->buf_n - off;
        ssize_t r;
        if (w->written >= w->fault_after) {
            r = -1;
            errno = ENOSPC;
        } else {
            if (n > w->fault_after - w->written) n = (size_t)(w->fault_after - w->written);
            r = write(w->fd, w->buf + off, n);
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            return gw_fail(w, errno, "write failed");
        }
        if (r == 0) return gw_fail(w, ENOSPC, "write failed");
        off += (size_t)r;
        w->written += (uint64_t)r;
    }
    w->buf_n = 0;
    return VKLLM_OK;
}

static vkllm_status gw_out(gguf_writer *w, const void *p, size_t n) {
    const uint8_t *s = p;
    while (n) {
        size_t k = GW_BUF_SIZE - w->buf_n;
        if (k > n) k = n;
        memcpy(w->buf + w->buf_n, s, k);
        w->buf_n += k;
        s += k;
        n -= k;
        if (w->buf_n == GW_BUF_SIZE) TRY(gw_flush(w));
    }
    return VKLLM_OK;
}

static vkllm_status gw_zeros(gguf_writer *w, uint64_t n) {
    static const uint8_t z[64];
    while (n) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        TRY(gw_out(w, z, k));
        n -= k;
    }
    return VKLLM_OK;
}

static vkllm_status gw_out_u32(gguf_writer *w, uint32_t v) { return gw_out(w, &v, 4); }
static vkllm_status gw_out_u64(gguf_writer *w, uint64_t v) { return gw_out(w, &v, 8); }
static vkllm_status gw_out_str(gguf_writer *w, const char *s) {
    size_t n = strlen(s);
    TRY(gw_out_u64(w, n));
    return gw_out(w, s, n);
}

vkllm_status gguf_writer_begin_data(gguf_writer *w) {
    if (w->fd >= 0 || w->failed || w->finished)
        return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: begin_data called twice", w->path);
    const char *fault = getenv("VKLLM_FAULT_WRITE_AFTER");
    if (fault && *fault) w->fault_after = strtoull(fault, NULL, 10);
    w->buf = mem_alloc(GW_BUF_SIZE);
    if (!w->buf) return gw_nomem(w);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0644);
    if (w->fd < 0) {
        int e = errno;
        w->failed = 1;
        return err_set(VKLLM_ERR_IO, "gguf_write: %s: cannot create '%s': %s", w->path, w->tmp,
                       strerror(e));
    }
    w->created = 1;
    TRY(gw_out(w, "GGUF", 4));
    TRY(gw_out_u32(w, 3));
    TRY(gw_out_u64(w, w->n_t));
    TRY(gw_out_u64(w, w->n_kv));
    for (size_t i = 0; i < w->n_kv; i++) {
        TRY(gw_out_str(w, w->kv[i].key));
        TRY(gw_out_u32(w, w->kv[i].type));
        TRY(gw_out(w, w->kv[i].val, w->kv[i].len));
    }
    uint64_t pos = 24;
    for (size_t i = 0; i < w->n_kv; i++) pos += 8 + strlen(w->kv[i].key) + 4 + w->kv[i].len;
    for (size_t i = 0; i < w->n_t; i++) {
        const gw_tensor *t = &w->t[i];
        TRY(gw_out_str(w, t->name));
        TRY(gw_out_u32(w, t->n_dims));
        for (uint32_t d = 0; d < t->n_dims; d++) TRY(gw_out_u64(w, t->ne[d]));
        TRY(gw_out_u32(w, t->type));
        TRY(gw_out_u64(w, t->offset));
        pos += 8 + strlen(t->name) + 4 + 8 * t->n_dims + 4 + 8;
    }
    uint64_t data_start = pos;
    if (!ckmath_align(pos, w->alignment, &data_start)) return gw_fail(w, EOVERFLOW, "header too large");
    TRY(gw_zeros(w, data_start - pos));
    w->cur = 0;
    w->cur_done = 0;
    return VKLLM_OK;
}

/* Pads after each completed tensor, so the next one starts aligned. */
static vkllm_status gw_next_tensors(gguf_writer *w) {
    while (w->cur < w->n_t && w->cur_done == w->t[w->cur].nbytes) {
        uint64_t end = w->t[w->cur].offset + w->t[w->cur].nbytes;
        uint64_t next = w->cur + 1 < w->n_t ? w->t[w->cur + 1].offset : w->data_size;
        TRY(gw_zeros(w, next - end));
        w->cur++;
        w->cur_done = 0;
    }
    return VKLLM_OK;
}

vkllm_status gguf_writer_write(gguf_writer *w, const void *data, size_t n) {
    if (w->fd < 0) return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: not writing data", w->path);
    const uint8_t *p = data;
    while (n) {
        TRY(gw_next_tensors(w));
        if (w->cur >= w->n_t)
            return gw_fail(w, EINVAL, "more tensor data than the tensors declared");
        uint64_t left = w->t[w->cur].nbytes - w->cur_done;
        size_t k = left < n ? (size_t)left : n;
        TRY(gw_out(w, p, k));
        w->cur_done += k;
        p += k;
        n -= k;
    }
    return gw_next_tensors(w);
}

vkllm_status gguf_writer_finish(gguf_writer *w) {
    if (w->fd < 0 && !w->failed && !w->finished) TRY(gguf_writer_begin_data(w));
    if (w->fd < 0) return err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: not writing data", w->path);
    TRY(gw_next_tensors(w));
    if (w->cur < w->n_t) {
        err_set(VKLLM_ERR_INVALID_ARG, "gguf_write: %s: tensor '%s' is missing %llu bytes of data",
                w->path, w->t[w->cur].name,
                (unsigned long long)(w->t[w->cur].nbytes - w->cur_done));
        w->failed = 1;
        close(w->fd);
        w->fd = -1;
        unlink(w->tmp);
        w->created = 0;
        return VKLLM_ERR_INVALID_ARG;
    }
    TRY(gw_flush(w));
    if (fsync(w->fd) != 0) return gw_fail(w, errno, "fsync failed");
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        return gw_fail(w, errno, "close failed");
    }
    if (rename(w->tmp, w->path) != 0) return gw_fail(w, errno, "rename failed");
    w->finished = 1;
    return VKLLM_OK;
}
