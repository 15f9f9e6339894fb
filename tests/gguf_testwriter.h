/* gguf_testwriter.h — a tiny GGUF writer for tests (unit, negative, fuzz):
 * builds files byte by byte so tests control every field, including wrong
 * ones. Plain malloc (test code); aborts on allocation failure. */
#ifndef VKLLM_GGUF_TESTWRITER_H
#define VKLLM_GGUF_TESTWRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tw {
    uint8_t *b;
    size_t n, cap;
} tw;

static inline void tw_bytes(tw *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        size_t c = w->cap ? w->cap : 256;
        while (c < w->n + n) c *= 2;
        w->b = realloc(w->b, c);
        if (!w->b) abort();
        w->cap = c;
    }
    if (n) memcpy(w->b + w->n, p, n);
    w->n += n;
}

static inline void tw_u8(tw *w, uint8_t v) { tw_bytes(w, &v, 1); }
static inline void tw_u16(tw *w, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    tw_bytes(w, b, 2);
}
static inline void tw_u32(tw *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
    tw_bytes(w, b, 4);
}
static inline void tw_u64(tw *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    tw_bytes(w, b, 8);
}
static inline void tw_f32(tw *w, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    tw_u32(w, u);
}
static inline void tw_f64(tw *w, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    tw_u64(w, u);
}
static inline void tw_strn(tw *w, const char *s, size_t n) {
    tw_u64(w, n);
    tw_bytes(w, s, n);
}
static inline void tw_str(tw *w, const char *s) { tw_strn(w, s, strlen(s)); }

static inline void tw_header(tw *w, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    tw_bytes(w, "GGUF", 4);
    tw_u32(w, version);
    tw_u64(w, n_tensors);
    tw_u64(w, n_kv);
}

/* Key and value type; the caller writes the value. */
static inline void tw_key(tw *w, const char *key, uint32_t type) {
    tw_str(w, key);
    tw_u32(w, type);
}

static inline void tw_tensor(tw *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                             uint64_t offset) {
    tw_str(w, name);
    tw_u32(w, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) tw_u64(w, ne[d]);
    tw_u32(w, type);
    tw_u64(w, offset);
}

static inline void tw_pad(tw *w, size_t align) {
    while (w->n % align) tw_u8(w, 0);
}

static inline int tw_save(const tw *w, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t r = w->n ? fwrite(w->b, 1, w->n, f) : 0;
    return fclose(f) != 0 || r != w->n ? -1 : 0;
}

static inline void tw_free(tw *w) {
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* A small valid v3 file (alignment 32) with one value of several types, a
 * string array and three tensors (f32 [4,2], q8_0 [32,2], f16 [8]). */
static inline void tw_small_file(tw *w) {
    tw_header(w, 3, 3, 6);
    tw_key(w, "general.architecture", 8);
    tw_str(w, "llama");
    tw_key(w, "llama.block_count", 4);
    tw_u32(w, 2);
    tw_key(w, "llama.rope.freq_base", 6);
    tw_f32(w, 10000.0f);
    tw_key(w, "tokenizer.ggml.add_bos_token", 7);
    tw_u8(w, 1);
    tw_key(w, "tokenizer.ggml.tokens", 9);
    tw_u32(w, 8);
    tw_u64(w, 3);
    tw_str(w, "<s>");
    tw_str(w, "a");
    tw_str(w, "\xc4\xa0the");
    tw_key(w, "tokenizer.ggml.scores", 9);
    tw_u32(w, 6);
    tw_u64(w, 3);
    tw_f32(w, 0.0f);
    tw_f32(w, -1.5f);
    tw_f32(w, -2.5f);
    uint64_t ne_a[2] = {4, 2}, ne_b[2] = {32, 2}, ne_c[1] = {8};
    tw_tensor(w, "a.weight", 2, ne_a, 0, 0);   /* 32 bytes */
    tw_tensor(w, "b.weight", 2, ne_b, 8, 32);  /* 68 bytes */
    tw_tensor(w, "c.weight", 1, ne_c, 1, 128); /* 16 bytes */
    tw_pad(w, 32);
    for (int i = 0; i < 144; i++) tw_u8(w, (uint8_t)(i * 7 + 1));
}

#endif
