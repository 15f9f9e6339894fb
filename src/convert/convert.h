/* convert.h — Hugging Face folder -> GGUF, with the metadata keys, tensor names
 * and (for llama) the Q/K row layout that published GGUF files use. */
#ifndef VKLLM_CONVERT_CONVERT_H
#define VKLLM_CONVERT_CONVERT_H

#include "convert/quantize.h"
#include "format/gguf_write.h"
#include "model/config.h"
#include "vkllm.h"

/* Converts dir (config.json, safetensors, tokenizer.json, tokenizer_config.json)
 * into out, weights in t's types. n_threads <= 0: all cores. */
vkllm_status convert_hf(const char *dir, const char *out, const quantize_target *t, int n_threads,
                        quantize_progress_fn progress, void *ud);

/* Writes general.* and <arch>.* hyper-parameter keys for cfg (shared with synth). */
vkllm_status convert_set_hparams(gguf_writer *w, const model_config *cfg, const char *name,
                                 uint32_t ftype);

/* The llama3 rope scaling divisors (head_dim/2 floats) of cfg, as stored in
 * the rope_freqs.weight tensor. Returns 0 when cfg has no llama3 scaling. */
int convert_rope_freqs(const model_config *cfg, float *out);

#endif
