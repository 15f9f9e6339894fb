/* chat_builtin.c — fallback chat templates, by name, for models that ship
 * none. Each is written from the published description of the format. */
#include <string.h>

#include "chat/chat_builtin.h"

typedef struct chat_builtin {
    const char *name;
    const char *src;
} chat_builtin;

static const chat_builtin chat_builtins[] = {
    {"chatml",
     "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"llama2",
     "{% if messages and messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}"
     "{% set msgs = messages[1:] %}{% else %}{% set sys = '' %}{% set msgs = messages %}{% endif %}"
     "{% for m in msgs %}{% if m['role'] == 'user' %}{{ bos_token + '[INST] ' }}"
     "{% if loop.first and sys %}{{ '<<SYS>>\\n' + sys + '\\n<</SYS>>\\n\\n' }}{% endif %}"
     "{{ m['content'] | trim + ' [/INST]' }}{% else %}{{ ' ' + m['content'] | trim + ' ' + eos_token }}"
     "{% endif %}{% endfor %}"},
    {"llama3",
     "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
     "'<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
     "{% endif %}"},
    {"zephyr",
     "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + eos_token + '\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
    {"mistral",
     "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
     "{{ '[INST] ' + m['content'] + ' [/INST]' }}{% elif m['role'] == 'assistant' %}"
     "{{ m['content'] + eos_token }}{% else %}{{ m['content'] + '\\n\\n' }}{% endif %}{% endfor %}"},
    {"phi3",
     "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
    {"gemma",
     "{{ bos_token }}{% for m in messages %}{% set role = 'model' if m['role'] == 'assistant' "
     "else 'user' %}{{ '<start_of_turn>' + role + '\\n' + m['content'] | trim + "
     "'<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<start_of_turn>model\\n' }}{% endif %}"},
};

const char *chat_builtin_find(const char *name) {
    for (size_t i = 0; i < sizeof chat_builtins / sizeof chat_builtins[0]; i++)
        if (!strcmp(chat_builtins[i].name, name)) return chat_builtins[i].src;
    return NULL;
}

const char *chat_builtin_names(void) { return "chatml, llama2, llama3, zephyr, mistral, phi3, gemma"; }
