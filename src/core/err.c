/* err.c — the thread-local last-error message and status names. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[1024];

vkllm_status err_set(vkllm_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return s;
}

vkllm_status err_prefix(vkllm_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof old);
    size_t pl = strlen(prefix);
    if (pl > sizeof err_buf - 3) pl = sizeof err_buf - 3;
    memcpy(err_buf, prefix, pl);
    memcpy(err_buf + pl, ": ", 2);
    size_t rest = sizeof err_buf - pl - 3, ol = strnlen(old, sizeof old - 1);
    if (ol > rest) ol = rest;
    memcpy(err_buf + pl + 2, old, ol);
    err_buf[pl + 2 + ol] = 0;
    return s;
}

const char *err_msg(void) { return err_buf; }
void err_clear(void) { err_buf[0] = 0; }

const char *vkllm_last_error(void) { return err_buf; }

const char *vkllm_status_str(vkllm_status s) {
    switch (s) {
    case VKLLM_OK: return "ok";
    case VKLLM_ERR_INVALID_ARG: return "invalid argument";
    case VKLLM_ERR_IO: return "i/o error";
    case VKLLM_ERR_FORMAT: return "malformed input";
    case VKLLM_ERR_UNSUPPORTED: return "unsupported";
    case VKLLM_ERR_NOMEM: return "out of memory";
    case VKLLM_ERR_CONTEXT_FULL: return "context full";
    case VKLLM_ERR_DEVICE: return "device error";
    case VKLLM_ERR_DEVICE_LOST: return "device lost";
    case VKLLM_ERR_DEVICE_OOM: return "out of device memory";
    case VKLLM_ERR_TEMPLATE: return "template error";
    case VKLLM_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
