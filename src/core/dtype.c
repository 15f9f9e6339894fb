/* dtype.c — the element-type table (block geometry from the ggml specification). */
#include "dtype.h"

#include <strings.h>

typedef struct dtype_info {
    const char *name;
    uint32_t block_size, type_size;
    int supported;
} dtype_info;

static const dtype_info dtype_table[DTYPE_COUNT_] = {
    [DTYPE_F32] = {"f32", 1, 4, 1},
    [DTYPE_F16] = {"f16", 1, 2, 1},
    [DTYPE_Q4_0] = {"q4_0", 32, 18, 1},
    [DTYPE_Q4_1] = {"q4_1", 32, 20, 1},
    [DTYPE_Q5_0] = {"q5_0", 32, 22, 1},
    [DTYPE_Q5_1] = {"q5_1", 32, 24, 1},
    [DTYPE_Q8_0] = {"q8_0", 32, 34, 1},
    [DTYPE_Q8_1] = {"q8_1", 32, 36, 0},
    [DTYPE_Q2_K] = {"q2_k", 256, 84, 0},
    [DTYPE_Q3_K] = {"q3_k", 256, 110, 0},
    [DTYPE_Q4_K] = {"q4_k", 256, 144, 1},
    [DTYPE_Q5_K] = {"q5_k", 256, 176, 1},
    [DTYPE_Q6_K] = {"q6_k", 256, 210, 1},
    [DTYPE_Q8_K] = {"q8_k", 256, 292, 0},
    [DTYPE_I8] = {"i8", 1, 1, 0},
    [DTYPE_I16] = {"i16", 1, 2, 0},
    [DTYPE_I32] = {"i32", 1, 4, 0},
    [DTYPE_I64] = {"i64", 1, 8, 0},
    [DTYPE_F64] = {"f64", 1, 8, 0},
    [DTYPE_BF16] = {"bf16", 1, 2, 1},
};

int dtype_supported(uint32_t t) { return t < DTYPE_COUNT_ && dtype_table[t].supported; }

const char *dtype_name(uint32_t t) {
    return t < DTYPE_COUNT_ && dtype_table[t].name ? dtype_table[t].name : "?";
}

int dtype_from_name(const char *name) {
    for (int t = 0; t < DTYPE_COUNT_; t++)
        if (dtype_table[t].name && strcasecmp(dtype_table[t].name, name) == 0) return t;
    return -1;
}

uint32_t dtype_block_size(uint32_t t) { return t < DTYPE_COUNT_ ? dtype_table[t].block_size : 0; }
uint32_t dtype_type_size(uint32_t t) { return t < DTYPE_COUNT_ ? dtype_table[t].type_size : 0; }

uint64_t dtype_row_bytes(uint32_t t, uint64_t n) {
    uint32_t bs = dtype_block_size(t);
    if (!bs || n % bs) return 0;
    return n / bs * dtype_type_size(t);
}
