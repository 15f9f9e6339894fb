/* gguf_write.h — GGUF v3 writer (the layout is described in gguf.h).
 *
 * Usage:
 *   gguf_writer *w;  gguf_writer_create("out.gguf", &w);
 *   gguf_writer_set_str(w, "general.architecture", "llama", 5);  ... (any order; a key set
 *                                                                 twice keeps the last value)
 *   gguf_writer_add_tensor(w, "token_embd.weight", 2, ne, DTYPE_Q8_0);  ... (file order)
 *   gguf_writer_begin_data(w);        header, metadata and tensor infos reach the disk
 *   gguf_writer_write(w, bytes, n);   tensor data, streamed in the order the tensors were
 *                                     added, in pieces of any size; padding is automatic
 *   gguf_writer_finish(w);            fsync + rename onto the final path
 *   gguf_writer_free(w);              removes the temporary file unless finish succeeded
 *
 * Metadata and tensor infos are held in memory; tensor data never is. The file
 * is written to "<path>.tmp.<pid>" and renamed only after every byte was written
 * and synced, so a failed or interrupted write never leaves a partial <path>.
 * Tensor data is aligned to general.alignment (the key when set, else 32).
 *
 * Fault injection for tests: when the environment variable
 * VKLLM_FAULT_WRITE_AFTER=N is set, the writer fails with ENOSPC once N bytes
 * were written (read at gguf_writer_begin_data). */
#ifndef VKLLM_FORMAT_GGUF_WRITE_H
#define VKLLM_FORMAT_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"
#include "vkllm.h"

typedef struct gguf_writer gguf_writer;

vkllm_status gguf_writer_create(const char *path, gguf_writer **out);
/* Removes the temporary file unless gguf_writer_finish succeeded. NULL is a no-op. */
void gguf_writer_free(gguf_writer *w);

/* Scalars: type is one of U8..F64 or BOOL (not STRING/ARRAY); val points to the
 * value in that type's size. */
vkllm_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_vtype type, const void *val);
vkllm_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
vkllm_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
vkllm_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
vkllm_status gguf_writer_set_bool(gguf_writer *w, const char *key, int v);
vkllm_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *s, size_t len);
/* Numeric array of n packed little-endian elements of elem_type. */
vkllm_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type, uint64_t n,
                                 const void *data);
/* String array: strs[i] of lens[i] bytes (lens NULL: NUL-terminated strings). */
vkllm_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, uint64_t n,
                                     const char *const *strs, const size_t *lens);
/* Copies the i-th key/value of an open GGUF file. */
vkllm_status gguf_writer_copy_kv(gguf_writer *w, const gguf *g, int64_t i);
int gguf_writer_has_key(const gguf_writer *w, const char *key);
void gguf_writer_remove_key(gguf_writer *w, const char *key);

/* Declares the next tensor: ne[0] is the row length (a multiple of the type's
 * block size), n_dims 1..4. */
vkllm_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                                    const uint64_t *ne, uint32_t type);
/* Bytes of data the tensors need in total (after the last add_tensor). */
uint64_t gguf_writer_data_size(const gguf_writer *w);

vkllm_status gguf_writer_begin_data(gguf_writer *w);
vkllm_status gguf_writer_write(gguf_writer *w, const void *data, size_t n);
vkllm_status gguf_writer_finish(gguf_writer *w);

#endif
