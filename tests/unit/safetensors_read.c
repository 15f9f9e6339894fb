/* safetensors_read — the safetensors reader on the tiny-* fixtures (names,
 * shapes, dtypes and byte ranges checked against facts read from the files
 * with Python's json/struct), and a 2-shard split of tiny-qwen2 written by the
 * test (random shard assignment, entry order and header padding) that must
 * give the same tensors. */
#include <jansson.h>

#include "core/dtype.h"
#include "format/safetensors.h"
#include "hf_testutil.h"
#include "testutil.h"

typedef struct expect {
    const char *name;
    const char *dtype;
    uint32_t type;
    int n_dims;
    int64_t shape[2];
    uint64_t begin, end; /* data_offsets */
} expect;

typedef struct fixture {
    const char *dir;
    uint64_t header_len;
    int64_t n_tensors;
    expect e[4];
} fixture;

static const fixture fixtures[] = {
    {"tiny-llama2",
     2184,
     21,
     {{"lm_head.weight", "F16", DTYPE_F16, 2, {32000, 64}, 0, 4096000},
      {"model.layers.1.mlp.down_proj.weight", "F16", DTYPE_F16, 2, {64, 176}, 8280448, 8302976},
      {"model.layers.0.self_attn.k_proj.weight", "F16", DTYPE_F16, 2, {16, 64}, 8259840, 8261888},
      {"model.norm.weight", "F16", DTYPE_F16, 1, {64, 0}, 8368640, 8368768}}},
    {"tiny-llama3",
     2160,
     20,
     {{"model.embed_tokens.weight", "BF16", DTYPE_BF16, 2, {128256, 64}, 0, 16416768},
      {"model.layers.0.mlp.gate_proj.weight", "BF16", DTYPE_BF16, 2, {192, 64}, 16441472, 16466048},
      {"model.layers.1.self_attn.v_proj.weight",
       "BF16",
       DTYPE_BF16,
       2,
       {16, 64},
       16603648,
       16605696},
      {"model.norm.weight", "BF16", DTYPE_BF16, 1, {64, 0}, 16605696, 16605824}}},
    {"tiny-qwen2",
     2784,
     26,
     {{"model.layers.0.self_attn.q_proj.bias", "BF16", DTYPE_BF16, 1, {64, 0}, 19521856, 19521984},
      {"model.layers.0.self_attn.k_proj.bias", "BF16", DTYPE_BF16, 1, {32, 0}, 19509504, 19509568},
      {"model.layers.1.self_attn.k_proj.weight",
       "BF16",
       DTYPE_BF16,
       2,
       {32, 64},
       19596096,
       19600192},
      {"model.embed_tokens.weight", "BF16", DTYPE_BF16, 2, {151936, 64}, 0, 19447808}}},
};

static void check_fixture(const char *models, const fixture *fx) {
    char dir[1024], file[1100];
    snprintf(dir, sizeof dir, "%s/%s", models, fx->dir);
    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    safetensors *s = NULL;
    vkllm_status st = safetensors_open_dir(dir, &s);
    CHECKF(st == VKLLM_OK, "%s: %s", dir, vkllm_last_error());
    if (st != VKLLM_OK) return;
    CHECKF(safetensors_n_tensors(s) == fx->n_tensors, "%s: %lld tensors", fx->dir,
           (long long)safetensors_n_tensors(s));
    for (int i = 0; i < 4; i++) {
        const expect *e = &fx->e[i];
        const st_tensor *t = safetensors_find(s, e->name);
        CHECKF(t != NULL, "%s: %s missing", fx->dir, e->name);
        if (!t) continue;
        CHECK(strcmp(t->name, e->name) == 0);
        CHECK(strcmp(t->type_name, e->dtype) == 0);
        CHECK(t->type == e->type);
        CHECK(t->n_dims == e->n_dims);
        for (int d = 0; d < e->n_dims; d++)
            CHECK(t->shape[d] == e->shape[d]);
        CHECK(t->nbytes == e->end - e->begin);
        void *want = read_slice(file, (long)(8 + fx->header_len + e->begin), e->end - e->begin);
        CHECK(want != NULL);
        if (want) CHECKF(memcmp(want, t->data, t->nbytes) == 0, "%s: %s bytes", fx->dir, e->name);
        free(want);
    }
    /* Every tensor is reachable by index and by name, names are distinct. */
    for (int64_t i = 0; i < safetensors_n_tensors(s); i++) {
        const st_tensor *t = safetensors_at(s, i);
        CHECK(t != NULL && safetensors_find(s, t->name) == t);
        CHECK(t && t->type == (strcmp(t->type_name, "F16") == 0    ? DTYPE_F16
                               : strcmp(t->type_name, "BF16") == 0 ? DTYPE_BF16
                               : strcmp(t->type_name, "F32") == 0  ? DTYPE_F32
                                                                   : UINT32_MAX));
    }
    CHECK(safetensors_at(s, -1) == NULL);
    CHECK(safetensors_at(s, fx->n_tensors) == NULL);
    CHECK(safetensors_find(s, "model.no_such.weight") == NULL);
    safetensors_close(s);

    /* open_file on the same file gives the same count. */
    CHECK(safetensors_open_file(file, &s) == VKLLM_OK);
    if (s) CHECK(safetensors_n_tensors(s) == fx->n_tensors);
    safetensors_close(s);
}

/* Writes one shard holding the tensors of src with shard_of[i] == k, in a
 * shuffled order, with random space padding after the JSON. */
static int write_shard(const char *path, const safetensors *src, const int *shard_of, int k,
                       uint64_t *rng) {
    int64_t n = safetensors_n_tensors(src);
    int64_t *order = malloc(sizeof *order * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(test_rng_u64(rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    json_t *hdr = json_object();
    json_object_set_new(hdr, "__metadata__", json_pack("{s:s}", "format", "pt"));
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
        if (shard_of[order[i]] == k) total += safetensors_at(src, order[i])->nbytes;
    uint8_t *data = malloc(total ? total : 1);
    size_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (shard_of[order[i]] != k) continue;
        const st_tensor *t = safetensors_at(src, order[i]);
        json_t *shape = json_array();
        for (int d = 0; d < t->n_dims; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(hdr, t->name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", t->type_name, "shape", shape,
                                      "data_offsets", (json_int_t)pos,
                                      (json_int_t)(pos + t->nbytes)));
        memcpy(data + pos, t->data, t->nbytes);
        pos += t->nbytes;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    size_t pad = (size_t)(test_rng_u64(rng) % 16);
    size_t tl = strlen(text);
    char *padded = malloc(tl + pad + 1);
    memcpy(padded, text, tl);
    memset(padded + tl, ' ', pad);
    padded[tl + pad] = 0;
    int r = write_st_raw(path, padded, 0, data, total);
    free(padded);
    free(text);
    free(data);
    json_decref(hdr);
    free(order);
    return r;
}

static void check_sharded(const char *models, uint64_t *rng) {
    char src_dir[1024];
    snprintf(src_dir, sizeof src_dir, "%s/tiny-qwen2", models);
    safetensors *src = NULL;
    CHECKF(safetensors_open_dir(src_dir, &src) == VKLLM_OK, "%s", vkllm_last_error());
    if (!src) return;
    char *dir = tmp_dir("safetensors_read_sharded");
    CHECK(dir != NULL);
    int64_t n = safetensors_n_tensors(src);
    int *shard_of = malloc(sizeof *shard_of * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        shard_of[i] = (int)(test_rng_u64(rng) & 1);
    shard_of[0] = 0; /* both shards non-empty */
    shard_of[n - 1] = 1;
    static const char *names[2] = {"model-00001-of-00002.safetensors",
                                   "model-00002-of-00002.safetensors"};
    for (int k = 0; k < 2; k++)
        CHECK(write_shard(join(dir, names[k]), src, shard_of, k, rng) == 0);
    json_t *wm = json_object();
    for (int64_t i = 0; i < n; i++)
        json_object_set_new(wm, safetensors_at(src, i)->name, json_string(names[shard_of[i]]));
    json_t *index = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)19620992,
                              "weight_map", wm);
    CHECK(json_dump_file(index, join(dir, "model.safetensors.index.json"), JSON_INDENT(2)) == 0);
    json_decref(index);

    safetensors *sh = NULL;
    vkllm_status st = safetensors_open_dir(dir, &sh);
    CHECKF(st == VKLLM_OK, "sharded: %s", vkllm_last_error());
    if (sh) {
        CHECK(safetensors_n_tensors(sh) == n);
        for (int64_t i = 0; i < n; i++) {
            const st_tensor *a = safetensors_at(src, i), *b = safetensors_find(sh, a->name);
            CHECKF(b != NULL, "sharded: %s missing", a->name);
            if (!b) continue;
            CHECK(a->type == b->type && strcmp(a->type_name, b->type_name) == 0);
            CHECK(a->n_dims == b->n_dims);
            for (int d = 0; d < a->n_dims; d++)
                CHECK(a->shape[d] == b->shape[d]);
            CHECK(a->nbytes == b->nbytes);
            CHECK(a->data != b->data);
            CHECKF(memcmp(a->data, b->data, a->nbytes) == 0, "sharded: %s data", a->name);
        }
    }
    safetensors_close(sh);
    /* Each shard also opens alone, holding just its share. */
    int64_t n0 = 0;
    for (int64_t i = 0; i < n; i++)
        n0 += shard_of[i] == 0;
    sh = NULL;
    CHECK(safetensors_open_file(join(dir, names[0]), &sh) == VKLLM_OK);
    if (sh) CHECK(safetensors_n_tensors(sh) == n0);
    safetensors_close(sh);

    for (int k = 0; k < 2; k++)
        remove(join(dir, names[k]));
    remove(join(dir, "model.safetensors.index.json"));
    free(shard_of);
    free(dir);
    safetensors_close(src);
}

int main(void) {
    const char *d = test_data_dir();
    if (!d) return test_finish();
    uint64_t rng = test_seed() | 1;
    char models[512];
    snprintf(models, sizeof models, "%s/models", d);
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        check_fixture(models, &fixtures[i]);
    check_sharded(models, &rng);
    return test_finish();
}
