#version 450
// attention_merge.comp — the second step of split attention: combines the
// n_chunks partials (unnormalised acc[D], running max m, sum l) that
// attention.comp (SPLIT) wrote for one (head, token) into
// out = sum_z acc_z * exp(m_z - M) / sum_z l_z * exp(m_z - M), M = max_z m_z.
// Only chunks that start at or before the token's position hold data.
// Bindings: 0 out [n_tok][n_heads*D], 1 partials [n_tok][n_heads][n_chunks][D+2], 4 batch info.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;
layout(constant_id = 1) const uint HD = 0u; // the head dim (0: pc.head_dim), as in attention.comp

layout(std430, binding = 0) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 1) readonly buffer PBuf { float P[]; };
layout(std430, binding = 4) readonly buffer IBuf { int Info[]; };

layout(push_constant) uniform PC {
    uint n_tok, n_heads, n_kv_heads, head_dim, block_size, max_blocks, kv_type;
    float scale;
    uint pos_off, seq_off, bt_off, chunk, n_chunks;
} pc;

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
    if (h >= pc.n_heads || t >= pc.n_tok) return;
    uint D = HD != 0u ? HD : pc.head_dim, W = D + 2u;
    uint p = uint(Info[pc.pos_off + t]);
    uint nc = min(pc.n_chunks, p / pc.chunk + 1u);
    uint pb = (t * pc.n_heads + h) * pc.n_chunks * W;
    float M = -3.0e38;
    for (uint z = 0u; z < nc; z++) M = max(M, P[pb + z * W + D]);
    float L = 0.0;
    for (uint z = 0u; z < nc; z++) L += P[pb + z * W + D + 1u] * exp(P[pb + z * W + D] - M);
    uint ob = (t * pc.n_heads + h) * D;
    for (uint d = tid; d < D; d += VK_WG) {
        float s = 0.0;
        for (uint z = 0u; z < nc; z++) s += P[pb + z * W + d] * exp(P[pb + z * W + D] - M);
        O[ob + d] = s / L;
    }
}
