/* err.h — status codes with a message for the calling thread.
 * Every internal function that can fail on user-controlled input returns a
 * vkllm_status and records "where: what: bad value" with err_set(). The message
 * lives in a thread-local buffer read by vkllm_last_error(). */
#ifndef VKLLM_CORE_ERR_H
#define VKLLM_CORE_ERR_H

#include "vkllm.h"

#if defined(__GNUC__)
#define ERR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ERR_PRINTF(a, b)
#endif

/* Records the message and returns s, so callers write `return err_set(...)`. */
vkllm_status err_set(vkllm_status s, const char *fmt, ...) ERR_PRINTF(2, 3);
/* Prefixes the current message with "prefix: " (adds context while unwinding). */
vkllm_status err_prefix(vkllm_status s, const char *fmt, ...) ERR_PRINTF(2, 3);
const char *err_msg(void);
void err_clear(void);

/* Propagate a failure: VK_TRY(expr) returns the status when not VKLLM_OK. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        vkllm_status try_s_ = (expr);                                                              \
        if (try_s_ != VKLLM_OK) return try_s_;                                                     \
    } while (0)

#endif
