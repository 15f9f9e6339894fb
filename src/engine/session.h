/* session.h — internal accessors of vkllm_session for other library modules. */
#ifndef VKLLM_ENGINE_SESSION_H
#define VKLLM_ENGINE_SESSION_H

#include "vkllm.h"

vkllm_model *session_model(const vkllm_session *s);

#endif
