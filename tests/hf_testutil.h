/* hf_testutil.h — small file writers for the format-reader tests: scratch
 * folders under $VKLLM_TMP, whole files, raw safetensors files (a given JSON
 * header and data buffer), and a slice read straight from a file with stdio
 * (the independent view the readers are compared with). */
#ifndef VKLLM_HF_TESTUTIL_H
#define VKLLM_HF_TESTUTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "$VKLLM_TMP/<name>" (created); caller frees. */
static inline char *tmp_dir(const char *name) {
    const char *t = getenv("VKLLM_TMP");
    if (!t || !*t) t = "/tmp";
    size_t n = strlen(t) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", t, name);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s\n", p);
        free(p);
        return NULL;
    }
    return p;
}

/* dir/name in a static buffer (valid until the next call). */
static inline const char *join(const char *dir, const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static inline int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static inline int write_text(const char *path, const char *text) {
    return write_file(path, text, strlen(text));
}

/* A safetensors file: u64 LE hlen (the real JSON length unless hlen_override
 * is nonzero), the JSON header, then data. */
static inline int write_st_raw(const char *path, const char *json, uint64_t hlen_override,
                               const void *data, size_t n_data) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t hlen = hlen_override ? hlen_override : strlen(json);
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(hlen >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(json, 1, strlen(json), f) == strlen(json) &&
             (n_data == 0 || fwrite(data, 1, n_data, f) == n_data);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* n bytes at offset off of a file, read with stdio; caller frees. */
static inline void *read_slice(const char *path, long off, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *p = malloc(n ? n : 1);
    int ok = fseek(f, off, SEEK_SET) == 0 && fread(p, 1, n, f) == n;
    fclose(f);
    if (!ok) {
        free(p);
        return NULL;
    }
    return p;
}

#endif
