/* mfile.c — mmap wrapper (see mfile.h). */
#include "mfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

vkllm_status mfile_open(const char *path, mfile *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(VKLLM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_set(VKLLM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(VKLLM_ERR_IO, "%s: not a regular file", path);
    }
    out->path = mem_strdup(path);
    if (!out->path) {
        close(fd);
        return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
    }
    out->size = (uint64_t)st.st_size;
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            mfile_close(out);
            return err_set(VKLLM_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        out->data = p;
    }
    close(fd);
    return VKLLM_OK;
}

void mfile_close(mfile *f) {
    if (!f) return;
    if (f->data) munmap((void *)f->data, (size_t)f->size);
    mem_free(f->path);
    memset(f, 0, sizeof *f);
}

vkllm_status mfile_read_all(const char *path, uint64_t max, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(VKLLM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (mem_grow((void **)&buf, &cap, n + 65536 + 1, 1) != 0) {
            fclose(fp);
            mem_free(buf);
            return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
        }
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (n > max) {
            fclose(fp);
            mem_free(buf);
            return err_set(VKLLM_ERR_FORMAT, "%s: larger than %llu bytes", path,
                           (unsigned long long)max);
        }
        if (r == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        mem_free(buf);
        return err_set(VKLLM_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return VKLLM_OK;
}
