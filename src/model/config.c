/* config.c — architecture names shared by the GGUF and Hugging Face readers. */
#include "config.h"

#include <string.h>

const char *model_arch_name(model_arch a) {
    switch (a) {
    case ARCH_LLAMA: return "llama";
    case ARCH_QWEN2: return "qwen2";
    case ARCH_QWEN3: return "qwen3";
    case ARCH_COUNT_: break;
    }
    return "unknown";
}

int model_arch_from_name(const char *name) {
    if (!name) return -1;
    /* Mistral is the Llama graph (its sliding window is not used at our context sizes). */
    if (strcmp(name, "llama") == 0 || strcmp(name, "mistral") == 0) return ARCH_LLAMA;
    if (strcmp(name, "qwen2") == 0) return ARCH_QWEN2;
    if (strcmp(name, "qwen3") == 0) return ARCH_QWEN3;
    return -1;
}
