/* llama2c.h — llama2.c ("legacy" version 0) checkpoints.
 *
 * Layout (little-endian, packed): 7 x i32 header
 *   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 * (vocab_size < 0: classifier not shared, |vocab_size| is the vocabulary and
 * wcls follows at the end), then f32 tensors back to back:
 *   token_embedding[vocab][dim], rms_att[L][dim], wq[L][dim][dim],
 *   wk[L][kv_dim][dim], wv[L][kv_dim][dim], wo[L][dim][dim], rms_ffn[L][dim],
 *   w1[L][hidden][dim], w2[L][dim][hidden], w3[L][hidden][dim], rms_final[dim],
 *   freq_cis_real[seq_len][head/2], freq_cis_imag[seq_len][head/2], (wcls[vocab][dim])
 * with kv_dim = n_kv_heads * dim / n_heads. */
#ifndef VKLLM_FORMAT_LLAMA2C_H
#define VKLLM_FORMAT_LLAMA2C_H

#include "core/mfile.h"
#include "vkllm.h"

typedef struct llama2c {
    mfile file;
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int shared_classifier;
    /* pointers into the mapping (f32, possibly unaligned only if the file is odd: it is 4-aligned) */
    const float *token_embedding; /* [vocab][dim] */
    const float *rms_att;         /* [L][dim] */
    const float *wq;              /* [L][dim][dim] */
    const float *wk;              /* [L][kv_dim][dim] */
    const float *wv;              /* [L][kv_dim][dim] */
    const float *wo;              /* [L][dim][dim] */
    const float *rms_ffn;         /* [L][dim] */
    const float *w1;              /* [L][hidden][dim] */
    const float *w2;              /* [L][dim][hidden] */
    const float *w3;              /* [L][hidden][dim] */
    const float *rms_final;       /* [dim] */
    const float *wcls;            /* [vocab][dim] (= token_embedding when shared) */
} llama2c;

/* Validates the header (positive, divisible, sane limits) and that the file
 * holds exactly the tensors it implies (a longer file is an error too). */
vkllm_status llama2c_open(const char *path, llama2c *out);
void llama2c_close(llama2c *m);

#endif
