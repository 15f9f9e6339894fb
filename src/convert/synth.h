/* synth.h — synthetic models: real architectures' shapes with small random
 * weights, written straight to GGUF in any target type (for benchmarks and
 * tests of big shapes without downloading weights). */
#ifndef VKLLM_CONVERT_SYNTH_H
#define VKLLM_CONVERT_SYNTH_H

#include <stdint.h>

#include "convert/quantize.h"
#include "model/config.h"
#include "vkllm.h"

/* Fills cfg with a named shape (tinyllama-1.1b, llama3-8b, llama2-7b,
 * qwen2.5-0.5b, qwen3-0.6b, stories15m). Returns -1 when unknown. */
int synth_shape(const char *name, model_config *cfg);
/* The accepted shape names, for help text. */
extern const char synth_shape_names[];
/* Defaults for an explicit shape of an architecture (eps, theta, biases...);
 * the caller sets dim, layers, heads, kv heads, ffn, vocab. */
void synth_defaults(model_arch arch, model_config *cfg);

typedef struct synth_params {
    const char *name;        /* general.name */
    const char *vocab_path;  /* GGUF whose tokenizer.* keys are copied; NULL: placeholder */
    uint64_t seed;
    int n_threads;           /* <= 0: all cores */
    quantize_progress_fn progress;
    void *progress_ud;
} synth_params;

/* Validates cfg, then writes out. With a vocabulary file, the model's n_vocab
 * becomes that file's token count. */
vkllm_status synth_write(const char *out, model_config *cfg, const quantize_target *t,
                         const synth_params *p);

#endif
