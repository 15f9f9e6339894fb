/* buf.h — a growable byte string (always NUL-terminated when data != NULL). */
#ifndef VKLLM_CORE_BUF_H
#define VKLLM_CORE_BUF_H

#include <stddef.h>

#include "err.h"

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

/* Each returns 0 on success, -1 on allocation failure (buf unchanged). */
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) ERR_PRINTF(2, 3);
void buf_reset(buf *b);  /* len = 0, keeps memory */
void buf_free(buf *b);   /* frees and zeroes */
char *buf_steal(buf *b); /* returns data (never NULL on success), leaves b empty */

#endif
