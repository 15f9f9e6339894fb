/* mfile.h — read-only memory-mapped files.
 * Model files are mapped, never copied; tensors point into the mapping, which
 * stays valid until mfile_close. An empty file maps to data == NULL, size 0. */
#ifndef VKLLM_CORE_MFILE_H
#define VKLLM_CORE_MFILE_H

#include <stddef.h>
#include <stdint.h>

#include "vkllm.h"

typedef struct mfile {
    const uint8_t *data;
    uint64_t size;
    char *path; /* owned copy, for messages */
} mfile;

vkllm_status mfile_open(const char *path, mfile *out);
void mfile_close(mfile *f); /* accepts a zeroed or closed mfile */

/* Reads a whole (small) file into a NUL-terminated heap buffer, at most max bytes. */
vkllm_status mfile_read_all(const char *path, uint64_t max, char **out, size_t *len);

#endif
