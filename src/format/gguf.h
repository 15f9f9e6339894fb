/* gguf.h — GGUF v2/v3 reader (read-only, over a memory-mapped file).
 *
 * File layout (little-endian):
 *   offset 0   u32  magic "GGUF"
 *          4   u32  version (2 or 3)
 *          8   u64  n_tensors
 *         16   u64  n_kv
 *         24   kv[n_kv]:      string key, u32 value_type, value
 *              tensor_info[n_tensors]: string name, u32 n_dims, u64 ne[n_dims],
 *                                      u32 type, u64 offset (relative to data section)
 *              padding to `general.alignment` (default 32)
 *              data section
 *   string = u64 length + bytes (no NUL).  array = u32 elem_type, u64 n, elems.
 *
 * Everything is validated in gguf_open: counts against remaining bytes, strings
 * as UTF-8 (keys and tensor names), tensor types, dims, sizes (overflow-checked)
 * and offset+size within the file. After a successful open, all accessors are
 * safe. Keys, tensor names and string values returned are NUL-terminated
 * copies owned by the gguf handle (string values may contain NUL bytes: use the
 * length). Elements of string arrays (gguf_arr_str, gguf_kv_arr_str) are NOT
 * copied and NOT NUL-terminated: they point into the mapping, valid until
 * gguf_close; always use the returned length. Keys and tensor names never
 * contain NUL bytes (rejected at open). Arrays of arrays are rejected.
 * An unknown tensor type id (no known block geometry) fails the open with
 * VKLLM_ERR_UNSUPPORTED; known types vkllm cannot compute (dtype_supported()
 * == 0) open fine, with nbytes computed, so callers decide. */
#ifndef VKLLM_FORMAT_GGUF_H
#define VKLLM_FORMAT_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/mfile.h"
#include "vkllm.h"

typedef enum gguf_vtype {
    GGUF_VT_U8 = 0,
    GGUF_VT_I8 = 1,
    GGUF_VT_U16 = 2,
    GGUF_VT_I16 = 3,
    GGUF_VT_U32 = 4,
    GGUF_VT_I32 = 5,
    GGUF_VT_F32 = 6,
    GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8,
    GGUF_VT_ARRAY = 9,
    GGUF_VT_U64 = 10,
    GGUF_VT_I64 = 11,
    GGUF_VT_F64 = 12,
    GGUF_VT_COUNT_
} gguf_vtype;

typedef struct gguf_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];    /* ne[0] = innermost (row length); unused dims are 1 */
    uint32_t type;     /* dtype */
    uint64_t offset;   /* absolute offset in the file */
    uint64_t nbytes;
    const void *data;  /* into the mapping */
} gguf_tensor;

typedef struct gguf gguf;

vkllm_status gguf_open(const char *path, gguf **out);
/* Same, over bytes already in memory (borrowed: they must outlive the handle);
 * name is used in messages. For tests, fuzzing and embedded data. */
vkllm_status gguf_open_memory(const void *data, size_t size, const char *name, gguf **out);
void gguf_close(gguf *g);

uint32_t gguf_version(const gguf *g);
const char *gguf_path(const gguf *g);
uint64_t gguf_alignment(const gguf *g);
uint64_t gguf_data_offset(const gguf *g);

/* Metadata. Index-based access, plus lookups by key (-1 when absent). */
int64_t gguf_n_kv(const gguf *g);
int64_t gguf_find_key(const gguf *g, const char *key);
const char *gguf_key(const gguf *g, int64_t i);
gguf_vtype gguf_kv_type(const gguf *g, int64_t i);

/* Typed getters by key. Integer getters accept any integer value type whose
 * value fits; float getters accept F32/F64 and integers. Return VKLLM_OK,
 * VKLLM_ERR_FORMAT (present but wrong type / out of range, with a message)
 * or VKLLM_ERR_INVALID_ARG when the key is absent (no message set; callers
 * decide whether absence is an error). */
vkllm_status gguf_get_u32(const gguf *g, const char *key, uint32_t *out);
vkllm_status gguf_get_i64(const gguf *g, const char *key, int64_t *out);
vkllm_status gguf_get_f32(const gguf *g, const char *key, float *out);
vkllm_status gguf_get_bool(const gguf *g, const char *key, int *out);
vkllm_status gguf_get_str(const gguf *g, const char *key, const char **s, size_t *len);

/* Arrays: element type and count; elements by index. */
vkllm_status gguf_get_arr(const gguf *g, const char *key, gguf_vtype *elem_type, uint64_t *n);
/* Raw pointer to the elements of a numeric array (little-endian, packed, may be
 * unaligned: copy with memcpy); NULL when absent, not an array or a string array. */
const void *gguf_arr_data(const gguf *g, const char *key);
/* i-th string of a string array (i < n checked; returns NULL when out of range,
 * absent or not a string array). Points into the mapping, NOT NUL-terminated. */
const char *gguf_arr_str(const gguf *g, const char *key, uint64_t i, size_t *len);

/* Generic value access by kv index, for `vkllm info` and the GGUF writer. */
typedef struct gguf_value {
    gguf_vtype type;
    gguf_vtype elem_type;  /* arrays only */
    uint64_t n;            /* arrays: element count; strings: length */
    const void *data;      /* scalars: pointer to the raw value; strings: chars; arrays: elements (strings: see gguf_kv_arr_str) */
} gguf_value;
void gguf_kv_value(const gguf *g, int64_t i, gguf_value *v);
const char *gguf_kv_arr_str(const gguf *g, int64_t i, uint64_t j, size_t *len);

/* Tensors. */
int64_t gguf_n_tensors(const gguf *g);
const gguf_tensor *gguf_tensor_at(const gguf *g, int64_t i);
const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name);

#endif
