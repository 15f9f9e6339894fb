/* log.c — routes library messages to the user's callback (default: stderr). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static vkllm_log_fn log_fn;
static void *log_user;
static int log_min = LOG_WARN;

void vkllm_set_log(vkllm_log_fn fn, void *user, int min_level) {
    log_fn = fn;
    log_user = user;
    log_min = min_level;
}

void log_msg(int level, const char *fmt, ...) {
    if (level < log_min) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (log_fn)
        log_fn(level, buf, log_user);
    else
        fprintf(stderr, "vkllm: %s\n", buf);
}
