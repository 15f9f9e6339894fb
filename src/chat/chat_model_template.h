/* chat_model_template.h — finds a model's own chat template and its bos/eos
 * token strings: a Hugging Face folder (tokenizer_config.json "chat_template",
 * a string or a list of {name, template} of which "default" is taken, else
 * chat_template.jinja; bos_token/eos_token as strings or {content}) or a GGUF
 * file (tokenizer.chat_template, tokenizer.ggml.tokens[bos/eos id]). */
#ifndef VKLLM_CHAT_MODEL_TEMPLATE_H
#define VKLLM_CHAT_MODEL_TEMPLATE_H

#include <stddef.h>

#include "vkllm.h"

/* *tmpl (NUL-terminated, *len bytes), *bos and *eos are mem_alloc'd (mem_free);
 * *bos / *eos are NULL when the model does not name them. */
vkllm_status chat_model_template_load(const char *model_path, char **tmpl, size_t *len, char **bos,
                                      char **eos);

#endif
