/*
 * vkllm.h — the public contract of libvkllm, a C11 LLM inference engine for
 * Llama-family models on Vulkan GPUs and on the CPU.
 *
 * Usage:
 *
 *   vkllm_model_params mp = vkllm_model_default_params();
 *   vkllm_model *model = NULL;
 *   if (vkllm_model_load("model.gguf", &mp, &model) != VKLLM_OK) {
 *       fprintf(stderr, "%s\n", vkllm_last_error());
 *       return 1;
 *   }
 *   vkllm_session_params sp = vkllm_session_default_params();
 *   vkllm_session *s = NULL;
 *   vkllm_session_create(model, &sp, &s);
 *   int32_t ids[512]; size_t n = 0;
 *   vkllm_tokenize(model, "Once upon a time", 16, VKLLM_TOKENIZE_ADD_BOS, ids, 512, &n);
 *   vkllm_session_eval(s, ids, n);                 // prompt
 *   int32_t next; vkllm_session_sample(s, &next);   // one token
 *   ...
 *   vkllm_session_destroy(s);
 *   vkllm_model_destroy(model);
 *
 * Errors: every function returns a vkllm_status; the message for the last
 * failure on the calling thread is vkllm_last_error() (thread-local, valid
 * until the next failing call on that thread).
 *
 * Thread safety: a model may be shared by several sessions on different
 * threads; one session must be used by one thread at a time.
 *
 * Ownership: *_destroy / *_free accept NULL. Strings returned by the library
 * are borrowed and valid for the lifetime of the handle they came from unless
 * stated otherwise.
 */
#ifndef VKLLM_H
#define VKLLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkllm_status {
    VKLLM_OK = 0,
    VKLLM_ERR_INVALID_ARG,   /* a parameter or flag value is out of range */
    VKLLM_ERR_IO,            /* a file could not be opened, read or written */
    VKLLM_ERR_FORMAT,        /* a file is malformed (truncated, bad magic, bad offsets, bad JSON) */
    VKLLM_ERR_UNSUPPORTED,   /* valid input that vkllm does not handle (architecture, tensor type) */
    VKLLM_ERR_NOMEM,         /* host allocation failed */
    VKLLM_ERR_CONTEXT_FULL,  /* the sequence would exceed the context size */
    VKLLM_ERR_DEVICE,        /* a Vulkan call failed */
    VKLLM_ERR_DEVICE_LOST,   /* the GPU was lost */
    VKLLM_ERR_DEVICE_OOM,    /* not enough GPU memory */
    VKLLM_ERR_TEMPLATE,      /* a chat template failed to parse or render */
    VKLLM_ERR_INTERNAL       /* a bug in vkllm */
} vkllm_status;

/* Short constant name of a status ("invalid argument", ...). */
const char *vkllm_status_str(vkllm_status s);

/* Message describing the last failure on this thread ("" when none). */
const char *vkllm_last_error(void);

/* Log messages (load progress, warnings) go through one callback; the default
 * writes warnings and errors to stderr. level: 0 debug, 1 info, 2 warn, 3 error. */
typedef void (*vkllm_log_fn)(int level, const char *msg, void *user);
void vkllm_set_log(vkllm_log_fn fn, void *user, int min_level);

/* ---- models ------------------------------------------------------------ */

typedef struct vkllm_model vkllm_model;

typedef enum vkllm_backend_kind {
    VKLLM_BACKEND_AUTO = 0,  /* Vulkan when a usable GPU exists, else CPU */
    VKLLM_BACKEND_CPU,
    VKLLM_BACKEND_VULKAN
} vkllm_backend_kind;

typedef struct vkllm_model_params {
    const char *tokenizer_path; /* llama2.c checkpoints: tokenizer .bin; NULL = next to the model */
    vkllm_backend_kind backend;
    int n_threads;              /* CPU threads; 0 = number of cores */
    int device;                 /* Vulkan device index; -1 = best */
    int max_binding_mb;         /* Vulkan: force a smaller storage-binding limit; 0 = device limit */
    int profile;                /* Vulkan: 1 = time every GPU dispatch; a per-op table (calls, ms,
                                   us/call, % of GPU time, matmul GB/s) is printed to stderr by
                                   vkllm_model_destroy; 0 (default) = off */
} vkllm_model_params;

vkllm_model_params vkllm_model_default_params(void);

/* path: a .gguf file, a Hugging Face folder, or a llama2.c .bin checkpoint.
 * On success *out owns the model; free with vkllm_model_destroy. */
vkllm_status vkllm_model_load(const char *path, const vkllm_model_params *params,
                              vkllm_model **out);
void vkllm_model_destroy(vkllm_model *model);

typedef struct vkllm_model_info {
    const char *arch;        /* "llama", "qwen2", "qwen3" */
    const char *name;        /* general.name or folder name; may be "" */
    int n_vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim;
    int ctx_train;
    float rope_theta;
    uint64_t weight_bytes;   /* bytes of all weights as stored */
    uint64_t n_params;
    int32_t bos_id, eos_id;  /* -1 when absent */
    const char *backend;     /* "cpu" or "vulkan" */
    const char *device;      /* device name (GPU or CPU model) */
    const char *weight_type; /* most common weight type by bytes ("q4_0", "f16", ...) */
} vkllm_model_info;

void vkllm_model_get_info(const vkllm_model *model, vkllm_model_info *info);

/* Model's chat template (Jinja source) or NULL when it ships none. */
const char *vkllm_model_chat_template(const vkllm_model *model);

/* ---- tokenizer ---------------------------------------------------------- */

enum {
    VKLLM_TOKENIZE_ADD_BOS = 1,       /* add BOS (and EOS) as the model's metadata says */
    VKLLM_TOKENIZE_PARSE_SPECIAL = 2  /* special-token text in the input becomes control tokens */
};

/* Writes up to cap ids; *n_out is the number needed (may exceed cap: call again). */
vkllm_status vkllm_tokenize(const vkllm_model *model, const char *text, size_t len, int flags,
                            int32_t *ids, size_t cap, size_t *n_out);

/* Text piece of one token (raw bytes; may be a partial UTF-8 character). */
vkllm_status vkllm_token_piece(const vkllm_model *model, int32_t id, const char **piece,
                               size_t *len);

int vkllm_token_is_eog(const vkllm_model *model, int32_t id); /* end of generation? */

/* Streaming detokenizer: feed ids one by one (prompt ids too, so the
 * first-token rules apply) and get the complete UTF-8 text they add; a token
 * ending inside a multi-byte character is held back until it completes. */
typedef struct vkllm_detokenizer vkllm_detokenizer;
vkllm_status vkllm_detokenizer_create(const vkllm_model *model, vkllm_detokenizer **out);
/* *text (borrowed, valid until the next call) receives the new text. */
vkllm_status vkllm_detokenizer_push(vkllm_detokenizer *d, int32_t id, const char **text,
                                    size_t *len);
/* Emits whatever is still held back (an incomplete character at the end). */
void vkllm_detokenizer_flush(vkllm_detokenizer *d, const char **text, size_t *len);
void vkllm_detokenizer_destroy(vkllm_detokenizer *d);

/* ---- sessions (KV cache + sampler) -------------------------------------- */

typedef struct vkllm_session vkllm_session;

typedef struct vkllm_sampling_params {
    float temperature;      /* 0 = greedy */
    int top_k;              /* 0 = off */
    float top_p;            /* 1 = off */
    float min_p;            /* 0 = off */
    float repeat_penalty;   /* 1 = off */
    int repeat_last_n;      /* tokens the penalty looks back over */
    uint64_t seed;
    /* logit bias: logits[bias_ids[i]] += bias_values[i] before anything else
     * (-INFINITY bans a token); n_bias entries, ids in [0, n_vocab). The arrays
     * are borrowed only during the call that takes these parameters (copied). */
    const int32_t *bias_ids;
    const float *bias_values;
    int n_bias;
} vkllm_sampling_params;

/* Element type of the KV cache. Q8_0 stores blocks of 32 values with an f16
 * scale (about half the memory of F16) and needs a head dimension that is a
 * multiple of 32. */
typedef enum vkllm_kv_type {
    VKLLM_KV_F16 = 0,       /* default */
    VKLLM_KV_F32,
    VKLLM_KV_Q8_0
} vkllm_kv_type;

/* Name of a KV type ("f16", "f32", "q8_0"); "?" when out of range. */
const char *vkllm_kv_type_str(vkllm_kv_type t);

typedef struct vkllm_session_params {
    int n_ctx;              /* 0 = the model's training context, capped at 4096 */
    vkllm_sampling_params sampling;
    vkllm_kv_type kv_type;  /* VKLLM_KV_F16 by default */
} vkllm_session_params;

vkllm_session_params vkllm_session_default_params(void);

vkllm_status vkllm_session_create(vkllm_model *model, const vkllm_session_params *params,
                                  vkllm_session **out);
void vkllm_session_destroy(vkllm_session *s);

/* Appends tokens to the sequence and computes logits of the last one. */
vkllm_status vkllm_session_eval(vkllm_session *s, const int32_t *ids, size_t n);

/* Which logits an eval keeps on the host:
 *   AUTO: the last position's; with greedy sampling only the argmax (computed on
 *         the device), so vkllm_session_logits returns NULL;
 *   LAST: the last position's;  ALL: every evaluated position's. */
typedef enum vkllm_logits_mode {
    VKLLM_LOGITS_AUTO = 0,
    VKLLM_LOGITS_LAST,
    VKLLM_LOGITS_ALL
} vkllm_logits_mode;
void vkllm_session_set_logits_mode(vkllm_session *s, vkllm_logits_mode mode);
/* Logits kept by the last eval (*n_rows rows of n_vocab floats), or NULL. */
const float *vkllm_session_logits(const vkllm_session *s, size_t *n_rows);

/* Samples the next token from the last logits with the session's settings. */
vkllm_status vkllm_session_sample(vkllm_session *s, int32_t *id);

/* Drops everything after the first n_keep tokens of the sequence. */
vkllm_status vkllm_session_truncate(vkllm_session *s, size_t n_keep);
size_t vkllm_session_n_past(const vkllm_session *s);

/* Tokens in the session's sequence (borrowed, valid until the next call). */
const int32_t *vkllm_session_tokens(const vkllm_session *s, size_t *n);

typedef struct vkllm_memory_stats {
    uint64_t weights, kv_cache, scratch;
} vkllm_memory_stats;
void vkllm_session_memory(const vkllm_session *s, vkllm_memory_stats *m);

/* ---- several sequences in one forward pass ------------------------------ */

/* A vkllm_batch holds up to n_seq_max sequences over one paged KV cache.
 * Sequences are added (optionally starting with a prefix of another one,
 * whose KV blocks are then shared copy-on-write), given tokens with
 * vkllm_batch_append, and evaluated together by vkllm_batch_step: every
 * pending token of every sequence goes through one forward pass per
 * micro-batch of up to n_ubatch tokens, and each sequence that had pending
 * tokens gets the logits of its last one. Each sequence samples with its own
 * settings and random generator. Removing a sequence returns its KV blocks to
 * the pool.
 *
 *   vkllm_batch_params bp = vkllm_batch_default_params();
 *   vkllm_batch *b = NULL;
 *   vkllm_batch_create(model, &bp, &b);
 *   int32_t a, c;
 *   vkllm_batch_seq_add(b, &sampling, -1, 0, &a);
 *   vkllm_batch_append(b, a, prompt, n);
 *   vkllm_batch_step(b);                        // prompt of a
 *   vkllm_batch_seq_add(b, &sampling, a, n, &c); // c starts with a's prompt (shared)
 *   for (;;) { int32_t id;
 *       vkllm_batch_sample(b, a, &id); vkllm_batch_append(b, a, &id, 1);
 *       ...                                      // and for c, once it has logits
 *       vkllm_batch_step(b); }
 *   vkllm_batch_seq_remove(b, a);
 *   vkllm_batch_destroy(b);
 *
 * Thread safety: one vkllm_batch is used by one thread at a time; it shares
 * the model's backend with sessions of the same model only on that thread. */
typedef struct vkllm_batch vkllm_batch;

typedef struct vkllm_batch_params {
    int n_ctx;              /* positions per sequence; 0 = training context, capped at 4096 */
    int n_seq_max;          /* sequences alive at once, 1..256; default 8 */
    int n_ubatch;           /* tokens per forward pass, 1..4096; default 512 */
    vkllm_kv_type kv_type;  /* VKLLM_KV_F16 by default */
    int keep_logits;        /* 0 (default): when every sequence of a step samples greedily only
                               the argmax is computed (on the device) and vkllm_batch_logits
                               returns NULL; 1: logits are always kept on the host */
} vkllm_batch_params;

vkllm_batch_params vkllm_batch_default_params(void);

/* On success *out owns the batch; free with vkllm_batch_destroy. The model is
 * borrowed and must outlive the batch. */
vkllm_status vkllm_batch_create(vkllm_model *model, const vkllm_batch_params *params,
                                vkllm_batch **out);
void vkllm_batch_destroy(vkllm_batch *b);

/* Adds a sequence; *seq_id receives its id (ids are never reused). sampling:
 * NULL = vkllm_session_default_params().sampling; copied. share_from: -1, or
 * a live sequence whose first n_share evaluated tokens become the start of
 * the new one (their KV blocks are shared until either sequence writes into
 * a shared block, which is then copied). */
vkllm_status vkllm_batch_seq_add(vkllm_batch *b, const vkllm_sampling_params *sampling,
                                 int32_t share_from, size_t n_share, int32_t *seq_id);
/* Ends a sequence: its pending tokens are dropped and its KV blocks released. */
vkllm_status vkllm_batch_seq_remove(vkllm_batch *b, int32_t seq_id);
/* Queues tokens (copied) for the next step. */
vkllm_status vkllm_batch_append(vkllm_batch *b, int32_t seq_id, const int32_t *ids, size_t n);
/* Evaluates every pending token of every live sequence. All or nothing: on
 * failure no sequence advances and the pending tokens stay queued.
 * *n_evaluated (may be NULL) receives the number of tokens evaluated. */
vkllm_status vkllm_batch_step(vkllm_batch *b, size_t *n_evaluated);
/* Logits (n_vocab floats) of the sequence's last evaluated token, kept by the
 * last step that evaluated it; NULL when none (see keep_logits). Borrowed,
 * valid until the next step or the sequence's removal. */
const float *vkllm_batch_logits(const vkllm_batch *b, int32_t seq_id);
/* Samples the sequence's next token from its last logits with its own
 * settings and generator (the token is not appended). */
vkllm_status vkllm_batch_sample(vkllm_batch *b, int32_t seq_id, int32_t *id);
/* Evaluated tokens of a sequence (borrowed, valid until the next call on b);
 * NULL for an unknown id. */
const int32_t *vkllm_batch_tokens(const vkllm_batch *b, int32_t seq_id, size_t *n);
/* Live sequences. */
int vkllm_batch_n_seqs(const vkllm_batch *b);
/* KV blocks in the pool and how many of them are free. */
void vkllm_batch_kv_blocks(const vkllm_batch *b, int *n_free, int *n_total);
void vkllm_batch_memory(const vkllm_batch *b, vkllm_memory_stats *m);

/* ---- chat ---------------------------------------------------------------- */

/* A conversation rendered with the model's chat template (Jinja) on top of a
 * session. Each vkllm_chat_prepare renders the whole conversation, keeps the
 * longest common token prefix already in the session's KV cache and evaluates
 * only the new suffix. The caller then samples/evaluates the answer and adds
 * it with vkllm_chat_add(c, "assistant", text). */
typedef struct vkllm_chat vkllm_chat;

/* tmpl: NULL = the model's own template (error when it has none); a built-in
 * name ("chatml", "llama2", "llama3", "zephyr", "mistral", "phi3", "gemma");
 * or Jinja source when tmpl_is_source is nonzero. The session is borrowed. */
vkllm_status vkllm_chat_create(vkllm_session *s, const char *tmpl, int tmpl_is_source,
                               vkllm_chat **out);
void vkllm_chat_destroy(vkllm_chat *c);
vkllm_status vkllm_chat_add(vkllm_chat *c, const char *role, const char *content);
/* Sets a template variable from JSON text ("false", "[...]"). */
vkllm_status vkllm_chat_set_var(vkllm_chat *c, const char *name, const char *json);
/* Forgets the messages (the KV cache is reused on the next prepare). */
void vkllm_chat_reset(vkllm_chat *c);
/* Renders with the generation prompt, evaluates what is new; *n_eval = tokens evaluated. */
vkllm_status vkllm_chat_prepare(vkllm_chat *c, size_t *n_eval);
/* Renders the conversation (add_generation_prompt as given) into *text (mem owned by c,
 * valid until the next call). */
vkllm_status vkllm_chat_render(vkllm_chat *c, int add_generation_prompt, const char **text);

#ifdef __cplusplus
}
#endif
#endif /* VKLLM_H */
