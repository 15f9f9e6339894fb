/* safetensors.c — Hugging Face safetensors reader (see safetensors.h).
 *
 * One file:
 *   offset      size  field
 *   0           8     u64 LE header_len N (<= file size - 8, <= 100 MB)
 *   8           N     JSON object: name -> {"dtype", "shape", "data_offsets": [begin, end]},
 *                     plus an optional "__metadata__" entry (ignored)
 *   8 + N       rest  byte buffer; tensor bytes are [8 + N + begin, 8 + N + end)
 *
 * A sharded model is a folder with model.safetensors.index.json whose
 * "weight_map" maps tensor name -> shard file name (a plain name in the same
 * folder). Each shard is mapped once; the tensors of all shards are gathered
 * into one array sorted by name (binary search in safetensors_find), and every
 * name must be unique across shards. Tensors point into the mappings, which
 * live until safetensors_close. */
#include "safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/ckmath.h"
#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/mfile.h"
#include "core/utf8.h"

#define ST_MAX_HEADER (100ull * 1000 * 1000)
#define ST_MAX_INDEX (100ull * 1000 * 1000)
#define ST_MAX_DIMS 8

typedef struct st_entry {
    st_tensor t; /* first member: safetensors_at hands out &entry->t */
    int shard;   /* index into safetensors.files */
    char *owned; /* name and (unknown) dtype name, one allocation */
} st_entry;

struct safetensors {
    mfile *files;
    int n_files;
    st_entry *ents;
    size_t n_ents, cap_ents;
};

/* Element sizes of the safetensors dtypes; an unknown dtype name is kept
 * (type UINT32_MAX, no size check) so the loader can name it. */
typedef struct st_dtype {
    const char *name;
    uint32_t bytes;
    uint32_t type; /* DTYPE_* or UINT32_MAX */
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F32", 4, DTYPE_F32},      {"F16", 2, DTYPE_F16},      {"BF16", 2, DTYPE_BF16},
    {"F64", 8, UINT32_MAX},     {"I64", 8, UINT32_MAX},     {"U64", 8, UINT32_MAX},
    {"I32", 4, UINT32_MAX},     {"U32", 4, UINT32_MAX},     {"I16", 2, UINT32_MAX},
    {"U16", 2, UINT32_MAX},     {"I8", 1, UINT32_MAX},      {"U8", 1, UINT32_MAX},
    {"BOOL", 1, UINT32_MAX},    {"F8_E4M3", 1, UINT32_MAX}, {"F8_E5M2", 1, UINT32_MAX},
    {"F8_E8M0", 1, UINT32_MAX},
};

static const st_dtype *st_dtype_find(const char *name) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0) return &st_dtypes[i];
    return NULL;
}

static int st_cmp_name(const void *a, const void *b) {
    return strcmp(((const st_entry *)a)->t.name, ((const st_entry *)b)->t.name);
}

/* Reads a non-negative JSON integer. */
static int st_json_u64(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* Validates one header entry and appends it. */
static vkllm_status st_add_tensor(safetensors *s, int shard, const char *path, const char *name,
                                  const json_t *info, const uint8_t *buf, uint64_t buf_size) {
    if (!*name) return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: empty tensor name", path);
    if (!utf8_valid(name, strlen(name)))
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: tensor name is not valid UTF-8", path);
    if (!json_is_object(info))
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: tensor '%s': entry is not an object",
                       path, name);
    const json_t *jdt = json_object_get(info, "dtype");
    const json_t *jshape = json_object_get(info, "shape");
    const json_t *joff = json_object_get(info, "data_offsets");
    if (!json_is_string(jdt))
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': dtype missing or not a string", path, name);
    if (!json_is_array(jshape))
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': shape missing or not an array", path, name);
    if (!json_is_array(joff) || json_array_size(joff) != 2)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets must be an array [begin, end]",
                       path, name);
    const char *dt_name = json_string_value(jdt);
    size_t rank = json_array_size(jshape);
    if (rank > ST_MAX_DIMS)
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: tensor '%s': rank %zu > %d", path, name,
                       rank, ST_MAX_DIMS);

    st_tensor t;
    memset(&t, 0, sizeof t);
    t.n_dims = (int)rank;
    uint64_t n_elems = 1;
    for (size_t i = 0; i < rank; i++) {
        uint64_t d;
        if (!st_json_u64(json_array_get(jshape, i), &d) || d > INT64_MAX)
            return err_set(VKLLM_ERR_FORMAT,
                           "safetensors: %s: tensor '%s': shape[%zu] is not a non-negative integer",
                           path, name, i);
        t.shape[i] = (int64_t)d;
        if (!ckmath_mul(n_elems, d, &n_elems))
            return err_set(VKLLM_ERR_FORMAT,
                           "safetensors: %s: tensor '%s': element count overflows", path, name);
    }
    uint64_t begin, end;
    if (!st_json_u64(json_array_get(joff, 0), &begin) ||
        !st_json_u64(json_array_get(joff, 1), &end))
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets are not non-negative integers",
                       path, name);
    if (begin > end)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets begin %llu > end %llu", path,
                       name, (unsigned long long)begin, (unsigned long long)end);
    if (end > buf_size)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data end %llu past end of data buffer (%llu)",
                       path, name, (unsigned long long)end, (unsigned long long)buf_size);

    const st_dtype *dt = st_dtype_find(dt_name);
    if (dt) {
        uint64_t want;
        if (!ckmath_mul(n_elems, dt->bytes, &want))
            return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: tensor '%s': byte size overflows",
                           path, name);
        if (want != end - begin)
            return err_set(VKLLM_ERR_FORMAT,
                           "safetensors: %s: tensor '%s': shape and dtype %s need %llu bytes but "
                           "data_offsets span %llu",
                           path, name, dt_name, (unsigned long long)want,
                           (unsigned long long)(end - begin));
    }

    size_t nl = strlen(name), dl = strlen(dt_name);
    char *owned = mem_alloc(nl + dl + 2);
    if (!owned) return err_set(VKLLM_ERR_NOMEM, "safetensors: %s: out of memory", path);
    memcpy(owned, name, nl + 1);
    memcpy(owned + nl + 1, dt_name, dl + 1);
    if (mem_grow((void **)&s->ents, &s->cap_ents, s->n_ents + 1, sizeof *s->ents) != 0) {
        mem_free(owned);
        return err_set(VKLLM_ERR_NOMEM, "safetensors: %s: out of memory", path);
    }
    t.name = owned;
    t.type_name = owned + nl + 1;
    t.type = dt ? dt->type : UINT32_MAX;
    t.data = buf + begin;
    t.nbytes = end - begin;
    st_entry *e = &s->ents[s->n_ents++];
    e->t = t;
    e->shard = shard;
    e->owned = owned;
    return VKLLM_OK;
}

/* Maps files[shard] (already holding the path) and appends its tensors. */
static vkllm_status st_parse_file(safetensors *s, int shard, const char *path) {
    mfile *f = &s->files[shard];
    TRY(mfile_open(path, f));
    if (f->size < 8)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: file of %llu bytes is too small for a header", path,
                       (unsigned long long)f->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->data[i];
    if (hlen > f->size - 8)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: header length %llu past end of file (%llu bytes)", path,
                       (unsigned long long)hlen, (unsigned long long)f->size);
    if (hlen > ST_MAX_HEADER)
        return err_set(VKLLM_ERR_FORMAT,
                       "safetensors: %s: header length %llu exceeds the %llu limit", path,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    /* Checked before parsing so that a bad tensor name gets a clear message. */
    if (!utf8_valid(f->data + 8, (size_t)hlen))
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: JSON header is not valid UTF-8", path);
    json_error_t jerr;
    json_t *root =
        json_loadb((const char *)f->data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: bad JSON header: %s (byte %d)", path,
                       jerr.text, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: JSON header is not an object", path);
    }
    const uint8_t *buf = f->data + 8 + hlen;
    uint64_t buf_size = f->size - 8 - hlen;
    const char *key;
    json_t *val;
    vkllm_status st = VKLLM_OK;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) continue;
        st = st_add_tensor(s, shard, path, key, val, buf, buf_size);
        if (st != VKLLM_OK) break;
    }
    json_decref(root);
    return st;
}

/* Sorts the gathered tensors and rejects a name present twice (across shards;
 * within one file jansson already rejects duplicate keys). */
static vkllm_status st_finish(safetensors *s) {
    if (s->n_ents > 1) qsort(s->ents, s->n_ents, sizeof *s->ents, st_cmp_name);
    for (size_t i = 1; i < s->n_ents; i++)
        if (strcmp(s->ents[i - 1].t.name, s->ents[i].t.name) == 0)
            return err_set(VKLLM_ERR_FORMAT, "safetensors: tensor '%s' appears in both %s and %s",
                           s->ents[i].t.name, s->files[s->ents[i - 1].shard].path,
                           s->files[s->ents[i].shard].path);
    return VKLLM_OK;
}

static st_entry *st_lookup(const safetensors *s, const char *name) {
    size_t lo = 0, hi = s->n_ents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->ents[mid].t.name, name);
        if (c == 0) return &s->ents[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static vkllm_status st_new(int n_files, safetensors **out) {
    safetensors *s = mem_calloc(1, sizeof *s);
    if (!s) return err_set(VKLLM_ERR_NOMEM, "safetensors: out of memory");
    s->files = mem_calloc((size_t)n_files, sizeof *s->files);
    if (!s->files) {
        mem_free(s);
        return err_set(VKLLM_ERR_NOMEM, "safetensors: out of memory");
    }
    s->n_files = n_files;
    *out = s;
    return VKLLM_OK;
}

vkllm_status safetensors_open_file(const char *path, safetensors **out) {
    *out = NULL;
    safetensors *s = NULL;
    TRY(st_new(1, &s));
    vkllm_status st = st_parse_file(s, 0, path);
    if (st == VKLLM_OK) st = st_finish(s);
    if (st != VKLLM_OK) {
        safetensors_close(s);
        return st;
    }
    *out = s;
    return VKLLM_OK;
}

/* A shard name must stay inside the model folder. */
static int st_shard_name_ok(const char *n) {
    return *n && !strchr(n, '/') && !strchr(n, '\\') && !strstr(n, "..");
}

static vkllm_status st_join(const char *dir, const char *name, buf *out) {
    buf_reset(out);
    if (buf_printf(out, "%s/%s", dir, name) != 0)
        return err_set(VKLLM_ERR_NOMEM, "safetensors: out of memory");
    return VKLLM_OK;
}

/* Sharded model: index is the parsed model.safetensors.index.json. */
static vkllm_status st_open_sharded(const char *dir, const char *ipath, json_t *index,
                                    safetensors **out) {
    json_t *wm = json_object_get(index, "weight_map");
    if (!json_is_object(wm))
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: weight_map missing or not an object",
                       ipath);
    if (json_object_size(wm) == 0)
        return err_set(VKLLM_ERR_FORMAT, "safetensors: %s: weight_map is empty", ipath);

    /* Distinct shard names, in first-seen order (borrowed from the JSON). */
    size_t n_map = json_object_size(wm), n_shards = 0;
    const char **shards = mem_calloc(n_map, sizeof *shards);
    if (!shards) return err_set(VKLLM_ERR_NOMEM, "safetensors: out of memory");
    vkllm_status st = VKLLM_OK;
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val) {
        if (!json_is_string(val)) {
            st = err_set(VKLLM_ERR_FORMAT, "safetensors: %s: weight_map['%s'] is not a string",
                         ipath, key);
            break;
        }
        const char *sh = json_string_value(val);
        if (!st_shard_name_ok(sh)) {
            st = err_set(VKLLM_ERR_FORMAT,
                         "safetensors: %s: tensor '%s': shard name '%s' must be a plain file name",
                         ipath, key, sh);
            break;
        }
        size_t j = 0;
        while (j < n_shards && strcmp(shards[j], sh) != 0)
            j++;
        if (j == n_shards) shards[n_shards++] = sh;
    }
    safetensors *s = NULL;
    if (st == VKLLM_OK) st = st_new((int)n_shards, &s);
    buf path = {0};
    for (size_t j = 0; st == VKLLM_OK && j < n_shards; j++) {
        st = st_join(dir, shards[j], &path);
        if (st == VKLLM_OK) st = st_parse_file(s, (int)j, path.data);
    }
    if (st == VKLLM_OK) st = st_finish(s);
    /* Every tensor of the index must be in the shard the index names. */
    if (st == VKLLM_OK) {
        json_object_foreach(wm, key, val) {
            const char *sh = json_string_value(val);
            st_entry *e = st_lookup(s, key);
            if (!e || strcmp(shards[e->shard], sh) != 0) {
                st = err_set(VKLLM_ERR_FORMAT, "safetensors: %s: tensor '%s' not found in shard %s",
                             ipath, key, sh);
                break;
            }
        }
    }
    buf_free(&path);
    mem_free(shards);
    if (st != VKLLM_OK) {
        safetensors_close(s);
        return st;
    }
    *out = s;
    return VKLLM_OK;
}

vkllm_status safetensors_open_dir(const char *dir, safetensors **out) {
    *out = NULL;
    buf path = {0};
    vkllm_status st = st_join(dir, "model.safetensors.index.json", &path);
    if (st != VKLLM_OK) return st;
    struct stat sb;
    if (stat(path.data, &sb) != 0) {
        st = st_join(dir, "model.safetensors", &path);
        if (st == VKLLM_OK && stat(path.data, &sb) != 0)
            st = err_set(VKLLM_ERR_IO,
                         "safetensors: %s: no model.safetensors or "
                         "model.safetensors.index.json",
                         dir);
        if (st == VKLLM_OK) st = safetensors_open_file(path.data, out);
        buf_free(&path);
        return st;
    }
    char *text = NULL;
    size_t len = 0;
    st = mfile_read_all(path.data, ST_MAX_INDEX, &text, &len);
    if (st == VKLLM_OK) {
        json_error_t jerr;
        json_t *index = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!index)
            st = err_set(VKLLM_ERR_FORMAT, "safetensors: %s: bad JSON: %s (line %d)", path.data,
                         jerr.text, jerr.line);
        else if (!json_is_object(index))
            st = err_set(VKLLM_ERR_FORMAT, "safetensors: %s: not a JSON object", path.data);
        else
            st = st_open_sharded(dir, path.data, index, out);
        json_decref(index);
    }
    mem_free(text);
    buf_free(&path);
    return st;
}

void safetensors_close(safetensors *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_ents; i++)
        mem_free(s->ents[i].owned);
    mem_free(s->ents);
    for (int i = 0; i < s->n_files; i++)
        mfile_close(&s->files[i]);
    mem_free(s->files);
    mem_free(s);
}

int64_t safetensors_n_tensors(const safetensors *s) { return (int64_t)s->n_ents; }

const st_tensor *safetensors_at(const safetensors *s, int64_t i) {
    if (i < 0 || (uint64_t)i >= s->n_ents) return NULL;
    return &s->ents[i].t;
}

const st_tensor *safetensors_find(const safetensors *s, const char *name) {
    st_entry *e = st_lookup(s, name);
    return e ? &e->t : NULL;
}
