#version 450
// kv_write.comp — stores k and v rows ([n_tok][row], row = n_kv_heads*head_dim)
// of one layer at each token's (slot, position) in the paged cache.
// One thread per element (f32), element pair (f16) or pair of 32-value
// blocks (Q8_0, kv_type 2; layout in common/kv.glsl).
// Bindings: 0 K cache (layer range), 1 V cache, 2 k, 3 v, 4 batch info.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) buffer KcBuf { uint Kc[]; };
layout(std430, binding = 1) buffer VcBuf { uint Vc[]; };
layout(std430, binding = 2) readonly buffer KBuf { float K[]; };
layout(std430, binding = 3) readonly buffer VBuf { float V[]; };
layout(std430, binding = 4) readonly buffer IBuf { int Info[]; };

layout(push_constant) uniform PC {
    uint n_tok, row, block_size, max_blocks, kv_type, pos_off, seq_off, bt_off;
} pc;

#include "common/kv.glsl"

void write_q8() {
    uint n_pairs = kv_q8_pairs(pc.row), rw = kv_q8_row_bytes(pc.row) / 4u;
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < pc.n_tok * n_pairs; g += stride) {
        uint t = g / n_pairs, pr = g % n_pairs;
        uint slot = kv_slot_index(uint(Info[pc.seq_off + t]), uint(Info[pc.pos_off + t]),
                                  pc.bt_off, pc.max_blocks, pc.block_size);
        bool one = 2u * pr + 1u >= pc.row / 32u;
        uint src = t * pc.row + 64u * pr, dst = slot * rw + 17u * pr;
        float xk[64], xv[64];
        for (uint i = 0u; i < 64u; i++) {
            bool in_row = !one || i < 32u;
            xk[i] = in_row ? K[src + i] : 0.0;
            xv[i] = in_row ? V[src + i] : 0.0;
        }
        uint w[17];
        uint nw = kv_q8_pack(xk, one, w);
        for (uint i = 0u; i < nw; i++) Kc[dst + i] = w[i];
        kv_q8_pack(xv, one, w);
        for (uint i = 0u; i < nw; i++) Vc[dst + i] = w[i];
    }
}

void main() {
    if (pc.kv_type == 2u) {
        write_q8();
        return;
    }
    uint per = pc.kv_type == 1u ? 2u : 1u;
    uint n_per_row = pc.row / per;
    uint total = pc.n_tok * n_per_row;
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < total; g += stride) {
        uint t = g / n_per_row, e = (g % n_per_row) * per;
        uint slot = kv_slot_index(uint(Info[pc.seq_off + t]), uint(Info[pc.pos_off + t]),
                                  pc.bt_off, pc.max_blocks, pc.block_size);
        uint dst = slot * pc.row + e;
        uint src = t * pc.row + e;
        if (pc.kv_type == 1u) {
            Kc[dst >> 1] = packHalf2x16(vec2(K[src], K[src + 1u]));
            Vc[dst >> 1] = packHalf2x16(vec2(V[src], V[src + 1u]));
        } else {
            Kc[dst] = floatBitsToUint(K[src]);
            Vc[dst] = floatBitsToUint(V[src]);
        }
    }
}
