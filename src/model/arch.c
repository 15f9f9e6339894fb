/* arch.c — the per-architecture table: which tensors exist, their names in
 * GGUF and Hugging Face files, and their shapes. The forward pass itself is
 * shared by all architectures (forward.c); only this table differs. */
#include <stdio.h>

#include "model/model.h"

typedef struct arch_role_info {
    const char *gguf;   /* GGUF name (layer roles use %d) */
    const char *hf;     /* Hugging Face name */
    int per_layer;
} arch_role_info;

static const arch_role_info arch_roles[ROLE_COUNT_] = {
    [ROLE_TOK_EMBD] = {"token_embd.weight", "model.embed_tokens.weight", 0},
    [ROLE_OUT_NORM] = {"output_norm.weight", "model.norm.weight", 0},
    [ROLE_OUTPUT] = {"output.weight", "lm_head.weight", 0},
    [ROLE_ATTN_NORM] = {"blk.%d.attn_norm.weight", "model.layers.%d.input_layernorm.weight", 1},
    [ROLE_WQ] = {"blk.%d.attn_q.weight", "model.layers.%d.self_attn.q_proj.weight", 1},
    [ROLE_WK] = {"blk.%d.attn_k.weight", "model.layers.%d.self_attn.k_proj.weight", 1},
    [ROLE_WV] = {"blk.%d.attn_v.weight", "model.layers.%d.self_attn.v_proj.weight", 1},
    [ROLE_WO] = {"blk.%d.attn_output.weight", "model.layers.%d.self_attn.o_proj.weight", 1},
    [ROLE_BQ] = {"blk.%d.attn_q.bias", "model.layers.%d.self_attn.q_proj.bias", 1},
    [ROLE_BK] = {"blk.%d.attn_k.bias", "model.layers.%d.self_attn.k_proj.bias", 1},
    [ROLE_BV] = {"blk.%d.attn_v.bias", "model.layers.%d.self_attn.v_proj.bias", 1},
    [ROLE_Q_NORM] = {"blk.%d.attn_q_norm.weight", "model.layers.%d.self_attn.q_norm.weight", 1},
    [ROLE_K_NORM] = {"blk.%d.attn_k_norm.weight", "model.layers.%d.self_attn.k_norm.weight", 1},
    [ROLE_FFN_NORM] = {"blk.%d.ffn_norm.weight",
                       "model.layers.%d.post_attention_layernorm.weight", 1},
    [ROLE_W_GATE] = {"blk.%d.ffn_gate.weight", "model.layers.%d.mlp.gate_proj.weight", 1},
    [ROLE_W_UP] = {"blk.%d.ffn_up.weight", "model.layers.%d.mlp.up_proj.weight", 1},
    [ROLE_W_DOWN] = {"blk.%d.ffn_down.weight", "model.layers.%d.mlp.down_proj.weight", 1},
};

int arch_tensor_name(model_format f, model_role r, int layer, char *out, size_t cap) {
    const char *fmt = f == MODEL_HF ? arch_roles[r].hf : arch_roles[r].gguf;
    int n = arch_roles[r].per_layer ? snprintf(out, cap, fmt, layer) : snprintf(out, cap, "%s", fmt);
    return n > 0 && (size_t)n < cap;
}

int arch_has_role(const model_config *cfg, model_role r) {
    switch (r) {
    case ROLE_BQ:
    case ROLE_BK:
    case ROLE_BV: return cfg->has_qkv_bias;
    case ROLE_Q_NORM:
    case ROLE_K_NORM: return cfg->has_qk_norm;
    case ROLE_OUTPUT: return !cfg->tied_output;
    default: return 1;
    }
}

wtensor *arch_slot(vkllm_model *m, model_role r, int layer) {
    model_layer *L = r >= ROLE_FIRST_LAYER ? &m->layers[layer] : NULL;
    switch (r) {
    case ROLE_TOK_EMBD: return &m->tok_embd;
    case ROLE_OUT_NORM: return &m->out_norm;
    case ROLE_OUTPUT: return &m->output;
    case ROLE_ATTN_NORM: return &L->attn_norm;
    case ROLE_WQ: return &L->wq;
    case ROLE_WK: return &L->wk;
    case ROLE_WV: return &L->wv;
    case ROLE_WO: return &L->wo;
    case ROLE_BQ: return &L->bq;
    case ROLE_BK: return &L->bk;
    case ROLE_BV: return &L->bv;
    case ROLE_Q_NORM: return &L->q_norm;
    case ROLE_K_NORM: return &L->k_norm;
    case ROLE_FFN_NORM: return &L->ffn_norm;
    case ROLE_W_GATE: return &L->w_gate;
    case ROLE_W_UP: return &L->w_up;
    case ROLE_W_DOWN: return &L->w_down;
    case ROLE_COUNT_: break;
    }
    return NULL;
}

bk_weight **arch_bk_slot(vkllm_model *m, model_role r, int layer) {
    model_bk_layer *L = r >= ROLE_FIRST_LAYER ? &m->bk_layers[layer] : NULL;
    switch (r) {
    case ROLE_TOK_EMBD: return &m->bk_tok_embd;
    case ROLE_OUT_NORM: return &m->bk_out_norm;
    case ROLE_OUTPUT: return &m->bk_output;
    case ROLE_ATTN_NORM: return &L->attn_norm;
    case ROLE_WQ: return &L->wq;
    case ROLE_WK: return &L->wk;
    case ROLE_WV: return &L->wv;
    case ROLE_WO: return &L->wo;
    case ROLE_BQ: return &L->bq;
    case ROLE_BK: return &L->bk;
    case ROLE_BV: return &L->bv;
    case ROLE_Q_NORM: return &L->q_norm;
    case ROLE_K_NORM: return &L->k_norm;
    case ROLE_FFN_NORM: return &L->ffn_norm;
    case ROLE_W_GATE: return &L->w_gate;
    case ROLE_W_UP: return &L->w_up;
    case ROLE_W_DOWN: return &L->w_down;
    case ROLE_COUNT_: break;
    }
    return NULL;
}

void arch_shape(const model_config *c, model_role r, int64_t *ne0, int64_t *ne1) {
    int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    int64_t a = c->dim, b = 1;
    switch (r) {
    case ROLE_TOK_EMBD:
    case ROLE_OUTPUT: b = c->n_vocab; break;
    case ROLE_OUT_NORM:
    case ROLE_ATTN_NORM:
    case ROLE_FFN_NORM: break;
    case ROLE_WQ: b = q; break;
    case ROLE_WK:
    case ROLE_WV: b = kv; break;
    case ROLE_WO: a = q; b = c->dim; break;
    case ROLE_BQ: a = q; break;
    case ROLE_BK:
    case ROLE_BV: a = kv; break;
    case ROLE_Q_NORM:
    case ROLE_K_NORM: a = c->head_dim; break;
    case ROLE_W_GATE:
    case ROLE_W_UP: b = c->ffn_dim; break;
    case ROLE_W_DOWN: a = c->ffn_dim; b = c->dim; break;
    case ROLE_COUNT_: break;
    }
    *ne0 = a;
    *ne1 = b;
}
