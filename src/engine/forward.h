/* forward.h — one forward pass of a batch through the model, expressed as
 * backend ops (the same straight-line code for every architecture and backend). */
#ifndef VKLLM_ENGINE_FORWARD_H
#define VKLLM_ENGINE_FORWARD_H

#include "model/model.h"

typedef struct fwd_state {
    int max_tokens, max_out;
    bk_buf *x, *h, *q, *k, *v, *att, *gate, *up; /* [max_tokens, ...] activations */
    bk_buf *xo, *logits, *ids;                   /* [max_out, ...] outputs */
    uint64_t scratch_bytes;
} fwd_state;

vkllm_status forward_init(vkllm_model *m, int max_tokens, int max_out, fwd_state *st);
void forward_free(vkllm_model *m, fwd_state *st);

/* Runs the batch (n_tokens <= max_tokens) and produces, for each of the n_out
 * batch rows in out_rows (<= max_out), either the logits (logits != NULL:
 * n_out * n_vocab floats) and/or the argmax id (argmax != NULL). */
vkllm_status forward_run(vkllm_model *m, fwd_state *st, bk_kv *kv, const bk_batch *batch,
                         const int32_t *out_rows, int n_out, float *logits, int32_t *argmax);

#endif
