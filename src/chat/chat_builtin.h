/* chat_builtin.h — named fallback chat templates (Jinja source). */
#ifndef VKLLM_CHAT_BUILTIN_H
#define VKLLM_CHAT_BUILTIN_H

/* Jinja source of a built-in template, or NULL when the name is unknown. */
const char *chat_builtin_find(const char *name);
const char *chat_builtin_names(void);

#endif
