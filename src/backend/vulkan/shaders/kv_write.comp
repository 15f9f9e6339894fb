#version 450
// kv_write.comp — stores k and v rows ([n_tok][row], row = n_kv_heads*head_dim)
// of one layer at each token's (slot, position) in the paged cache.
// One thread per element (f32) or element pair (f16).
// Bindings: 0 K cache (layer range), 1 V cache, 2 k, 3 v, 4 batch info.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) buffer KcBuf { uint Kc[]; };
layout(std430, binding = 1) buffer VcBuf { uint Vc[]; };
layout(std430, binding = 2) readonly buffer KBuf { float K[]; };
layout(std430, binding = 3) readonly buffer VBuf { float V[]; };
layout(std430, binding = 4) readonly buffer IBuf { int Info[]; };

layout(push_constant) uniform PC {
    uint n_tok, row, block_size, max_blocks, kv_f16, pos_off, seq_off, bt_off;
} pc;

#include "common/kv.glsl"

void main() {
    uint per = pc.kv_f16 != 0u ? 2u : 1u;
    uint n_per_row = pc.row / per;
    uint total = pc.n_tok * n_per_row;
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < total; g += stride) {
        uint t = g / n_per_row, e = (g % n_per_row) * per;
        uint slot = kv_slot_index(uint(Info[pc.seq_off + t]), uint(Info[pc.pos_off + t]),
                                  pc.bt_off, pc.max_blocks, pc.block_size);
        uint dst = slot * pc.row + e;
        uint src = t * pc.row + e;
        if (pc.kv_f16 != 0u) {
            Kc[dst >> 1] = packHalf2x16(vec2(K[src], K[src + 1u]));
            Vc[dst >> 1] = packHalf2x16(vec2(V[src], V[src + 1u]));
        } else {
            Kc[dst] = floatBitsToUint(K[src]);
            Vc[dst] = floatBitsToUint(V[src]);
        }
    }
}
