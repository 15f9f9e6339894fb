/* quantize_mix.c — per-tensor type choice: target names, plain targets, the
 * Q4_K_M/Q5_K_M recipe (use_more_bits layers computed here independently by
 * listing them), tied outputs, 1-D tensors and block fallbacks. */
#include "convert/quantize.h"
#include "core/dtype.h"
#include "testutil.h"

int main(void) {
    quantize_target t;
    CHECK(quantize_target_from_name("Q4_K_M", &t) == 0 && t.ftype == 15 && t.base == DTYPE_Q4_K && t.mix);
    CHECK(quantize_target_from_name("q8_0", &t) == 0 && t.ftype == 7 && t.base == DTYPE_Q8_0 && !t.mix);
    CHECK(quantize_target_from_name("bf16", &t) == 0 && t.ftype == 32);
    CHECK(quantize_target_from_name("q4_k_x", &t) == -1 && quantize_target_from_name("", &t) == -1);

    /* 32 layers: n/8 = 4, 7n/8 = 28; more bits in 0..3, 28..31 and 4 + 3k + 2 */
    static const int more32[] = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
    CHECK(quantize_target_from_name("q4_k_m", &t) == 0);
    for (int l = 0; l < 32; l++) {
        int more = 0;
        for (size_t k = 0; k < sizeof more32 / sizeof more32[0]; k++) more |= more32[k] == l;
        char name[64];
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        CHECKF(quantize_pick_type(&t, name, 2, 4096, 32, 1) == (more ? DTYPE_Q6_K : DTYPE_Q4_K), "%s", name);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        CHECKF(quantize_pick_type(&t, name, 2, 14336, 32, 1) == (more ? DTYPE_Q6_K : DTYPE_Q4_K), "%s", name);
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
        CHECK(quantize_pick_type(&t, name, 2, 4096, 32, 1) == DTYPE_Q4_K);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        CHECK(quantize_pick_type(&t, name, 1, 4096, 32, 1) == DTYPE_F32);
    }
    CHECK(quantize_pick_type(&t, "output.weight", 2, 4096, 32, 1) == DTYPE_Q6_K);
    CHECK(quantize_pick_type(&t, "token_embd.weight", 2, 4096, 32, 1) == DTYPE_Q4_K);
    CHECK(quantize_pick_type(&t, "token_embd.weight", 2, 4096, 32, 0) == DTYPE_Q6_K); /* tied */
    /* 22 layers (TinyLlama): n/8 = 2, 7n/8 = 19 */
    static const int more22[] = {0, 1, 4, 7, 10, 13, 16, 19, 20, 21};
    for (int l = 0; l < 22; l++) {
        int more = 0;
        for (size_t k = 0; k < sizeof more22 / sizeof more22[0]; k++) more |= more22[k] == l;
        char name[64];
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        CHECKF(quantize_pick_type(&t, name, 2, 5632, 22, 1) == (more ? DTYPE_Q6_K : DTYPE_Q4_K), "%s", name);
    }
    CHECK(quantize_target_from_name("q5_k_m", &t) == 0);
    CHECK(quantize_pick_type(&t, "blk.0.attn_v.weight", 2, 4096, 32, 1) == DTYPE_Q6_K);
    CHECK(quantize_pick_type(&t, "blk.5.attn_v.weight", 2, 4096, 32, 1) == DTYPE_Q5_K);
    /* fallbacks: 64-wide rows cannot hold K blocks; 176 cannot hold 32-blocks */
    CHECK(quantize_pick_type(&t, "blk.5.attn_q.weight", 2, 64, 32, 1) == DTYPE_Q5_1);
    CHECK(quantize_target_from_name("q8_0", &t) == 0);
    CHECK(quantize_pick_type(&t, "blk.0.ffn_down.weight", 2, 176, 2, 1) == DTYPE_F16);
    CHECK(quantize_pick_type(&t, "output.weight", 2, 4096, 32, 1) == DTYPE_Q8_0);
    CHECK(quantize_pick_type(&t, "rope_freqs.weight", 1, 64, 32, 1) == DTYPE_F32);
    return test_finish();
}
