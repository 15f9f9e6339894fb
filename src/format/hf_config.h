/* hf_config.h — Hugging Face config.json / generation_config.json parsing.
 * Accepts both the classic transformers 4.x form (rope_theta, rope_scaling,
 * torch_dtype) and the newer form (rope_parameters, dtype). */
#ifndef VKLLM_FORMAT_HF_CONFIG_H
#define VKLLM_FORMAT_HF_CONFIG_H

#include "model/config.h"
#include "vkllm.h"

/* Fills cfg from dir/config.json (and dir/generation_config.json when present:
 * bos/eos ids). Sets rope_neox = 1 (HF checkpoints use rotate-half). Validates
 * every value (positive, divisible, within sane limits). */
vkllm_status hf_config_load(const char *dir, model_config *cfg);

#endif
