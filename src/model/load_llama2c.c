/* load_llama2c.c — fills a model from a llama2.c checkpoint (all f32) and its
 * tokenizer file. llama2.c rotates adjacent pairs (BK_ROPE_NORM), theta 1e4,
 * eps 1e-5, BOS 1, EOS 2; the tokenizer defaults to tokenizer.bin beside the
 * checkpoint. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dtype.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/model.h"

static void l2c_tensor(wtensor *w, const float *base, int64_t index, int64_t ne0, int64_t ne1) {
    w->type = DTYPE_F32;
    w->ne0 = ne0;
    w->ne1 = ne1;
    w->data = base + index * ne0 * ne1;
    w->nbytes = (uint64_t)(ne0 * ne1) * 4;
}

vkllm_status model_load_llama2c(vkllm_model *m, const char *path, const char *tokenizer_path) {
    m->format = MODEL_LLAMA2C;
    TRY(llama2c_open(path, &m->l2c));
    m->has_l2c = 1;
    const llama2c *l = &m->l2c;
    model_config *c = &m->cfg;
    c->arch = ARCH_LLAMA;
    c->n_vocab = l->vocab_size;
    c->dim = l->dim;
    c->n_layers = l->n_layers;
    c->n_heads = l->n_heads;
    c->n_kv_heads = l->n_kv_heads;
    c->head_dim = l->dim / l->n_heads;
    c->ffn_dim = l->hidden_dim;
    c->ctx_train = l->seq_len;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->rope_neox = 0;
    c->tied_output = l->shared_classifier;
    c->bos_id = 1;
    c->eos_id = 2;
    m->layers = mem_calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) return err_set(VKLLM_ERR_NOMEM, "%s: out of memory", path);
    int64_t d = c->dim, kv = (int64_t)c->n_kv_heads * c->head_dim, h = c->ffn_dim;
    l2c_tensor(&m->tok_embd, l->token_embedding, 0, d, c->n_vocab);
    l2c_tensor(&m->out_norm, l->rms_final, 0, d, 1);
    if (!c->tied_output) l2c_tensor(&m->output, l->wcls, 0, d, c->n_vocab);
    for (int i = 0; i < c->n_layers; i++) {
        model_layer *L = &m->layers[i];
        l2c_tensor(&L->attn_norm, l->rms_att, i, d, 1);
        l2c_tensor(&L->wq, l->wq, i, d, d);
        l2c_tensor(&L->wk, l->wk, i, d, kv);
        l2c_tensor(&L->wv, l->wv, i, d, kv);
        l2c_tensor(&L->wo, l->wo, i, d, d);
        l2c_tensor(&L->ffn_norm, l->rms_ffn, i, d, 1);
        l2c_tensor(&L->w_gate, l->w1, i, d, h);
        l2c_tensor(&L->w_down, l->w2, i, h, d);
        l2c_tensor(&L->w_up, l->w3, i, d, h);
    }
    const char *base = strrchr(path, '/');
    m->name = mem_strdup(base ? base + 1 : path);
    if (!m->name) return err_set(VKLLM_ERR_NOMEM, "out of memory");
    /* tokenizer: --tokenizer, else tokenizer.bin or tok<N>.bin beside the checkpoint */
    char guess[4096];
    const char *tp = tokenizer_path;
    if (!tp) {
        size_t dl = base ? (size_t)(base - path) : 0;
        struct stat st;
        snprintf(guess, sizeof guess, "%.*s%stokenizer.bin", (int)dl, path, dl ? "/" : "");
        if (stat(guess, &st) != 0)
            snprintf(guess, sizeof guess, "%.*s%stok%d.bin", (int)dl, path, dl ? "/" : "",
                     c->n_vocab);
        if (stat(guess, &st) == 0) tp = guess;
    }
    if (tp) TRY(tokenizer_from_llama2c(tp, c->n_vocab, &m->tok));
    return VKLLM_OK;
}
