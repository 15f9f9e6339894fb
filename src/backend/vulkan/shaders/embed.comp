#version 450
// embed.comp — out[t] = row ids[t] of the table, as f32, for the tokens whose
// id falls in this shard's rows [row_lo, row_hi). One workgroup per token.
// Bindings: 0 table shard (words), 1 batch info (int32), 2 out [n_tok][ne0].
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer IBuf { int Info[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };

layout(push_constant) uniform PC {
    uint ne0, row_bytes, row_lo, row_hi, n_tok, ids_off;
} pc;

#include "common/bytes.glsl"
#include "common/dequant.glsl"

void main() {
    uint t = gl_WorkGroupID.x;
    if (t >= pc.n_tok) return;
    uint id = uint(Info[pc.ids_off + t]);
    if (id < pc.row_lo || id >= pc.row_hi) return;
    uint rb = (id - pc.row_lo) * pc.row_bytes;
    uint nu = unit_count(pc.ne0);
    for (uint u = gl_LocalInvocationID.x; u < nu; u += VK_WG) {
        float w[32];
        unit_dequant(rb, u, pc.ne0, w);
        uint lim = min(32u, pc.ne0 - u * 32u);
        for (uint i = 0u; i < lim; i++) O[t * pc.ne0 + u * 32u + i] = w[i];
    }
}
