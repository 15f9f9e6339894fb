/* safetensors.h — reader for Hugging Face safetensors weights: a single
 * model.safetensors, or shards listed by model.safetensors.index.json.
 *
 * File layout: u64 LE header_len N; N bytes of JSON
 *   { "name": {"dtype": "F16", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
 *     "__metadata__": {...} }
 * then the byte buffer; offsets are relative to 8 + N. Every offset, shape and
 * dtype size is validated (end - begin == product(shape) * elem size, within
 * the file, no overlap needed). Tensors point into the mapped shards. */
#ifndef VKLLM_FORMAT_SAFETENSORS_H
#define VKLLM_FORMAT_SAFETENSORS_H

#include <stdint.h>

#include "vkllm.h"

typedef struct st_tensor {
    const char *name;
    uint32_t type;      /* DTYPE_F32 / DTYPE_F16 / DTYPE_BF16; other dtypes: type_name set, type = UINT32_MAX */
    const char *type_name; /* as written in the file ("F16", "I64", ...) */
    int n_dims;
    int64_t shape[8];   /* shape[0] outermost (PyTorch order) */
    const void *data;
    uint64_t nbytes;
} st_tensor;

typedef struct safetensors safetensors;

/* dir: a model folder; opens model.safetensors, or every shard named in
 * model.safetensors.index.json. */
vkllm_status safetensors_open_dir(const char *dir, safetensors **out);
/* A single file. */
vkllm_status safetensors_open_file(const char *path, safetensors **out);
void safetensors_close(safetensors *s);

int64_t safetensors_n_tensors(const safetensors *s);
const st_tensor *safetensors_at(const safetensors *s, int64_t i);
const st_tensor *safetensors_find(const safetensors *s, const char *name);

#endif
