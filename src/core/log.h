/* log.h — the one logging path of the library (vkllm_set_log installs the sink). */
#ifndef VKLLM_CORE_LOG_H
#define VKLLM_CORE_LOG_H

#include "err.h"

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
void log_msg(int level, const char *fmt, ...) ERR_PRINTF(2, 3);

#endif
