/* buf.c — see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

int buf_append(buf *b, const void *p, size_t n) {
    if (n > (size_t)-1 - b->len - 1) return -1;
    if (mem_grow((void **)&b->data, &b->cap, b->len + n + 1, 1) != 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int buf_puts(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }
int buf_putc(buf *b, char c) { return buf_append(b, &c, 1); }

int buf_printf(buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof tmp) return buf_append(b, tmp, (size_t)n);
    if (mem_grow((void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1) != 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_reset(buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void buf_free(buf *b) {
    mem_free(b->data);
    memset(b, 0, sizeof *b);
}

char *buf_steal(buf *b) {
    if (!b->data && buf_append(b, "", 0) != 0) return NULL;
    char *d = b->data;
    memset(b, 0, sizeof *b);
    return d;
}
