#version 450
// matmul.comp — out[t][row_out0 + r] = sum_c W[row_w0 + r][c] * x[t][c] (+ bias)
// for one row segment of one weight shard. A workgroup computes VK_MM_NR
// rows for NT tokens (spec constant 0: 1 for decode, VK_MM_NT_MAX for
// prompts): its threads take consecutive 32-element units of the same rows,
// so together they stream consecutive blocks; each unit is dequantized once
// and reused for all NT tokens.
// Bindings: 0 weight shard (words), 1 x [n_tok][ne0], 2 out [n_tok][n_out],
// 3 bias words (bias_type F32/F16/BF16, or VK_NO_BIAS).
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;
layout(constant_id = 0) const uint NT = 1;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type;
} pc;

#include "common/bytes.glsl"
#include "common/dequant.glsl"
#include "common/reduce.glsl"

float bias_at(uint r) {
    if (pc.bias_type == 0u) return uintBitsToFloat(Bw[r]);
    uint h = (Bw[r >> 1] >> ((r & 1u) * 16u)) & 0xFFFFu;
    if (pc.bias_type == 1u) return unpackHalf2x16(h).x;
    return uintBitsToFloat(h << 16);
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint r0 = gl_WorkGroupID.x * VK_MM_NR;
    uint t0 = gl_WorkGroupID.y * NT;
    float acc[VK_MM_NR * VK_MM_NT_MAX];
    for (uint i = 0u; i < VK_MM_NR * VK_MM_NT_MAX; i++) acc[i] = 0.0;

    uint nu = unit_count(pc.ne0);
    for (uint u = tid; u < nu; u += VK_WG) {
        for (uint rr = 0u; rr < VK_MM_NR; rr++) {
            uint r = r0 + rr;
            if (r >= pc.n_rows) break;
            float w[32];
            unit_dequant((pc.row_w0 + r) * pc.row_bytes, u, pc.ne0, w);
            for (uint tt = 0u; tt < NT; tt++) {
                uint t = t0 + tt;
                if (t >= pc.n_tok) break;
                uint xb = t * pc.ne0 + u * 32u;
                float s = 0.0;
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
                uint lim = min(32u, pc.ne0 - u * 32u);
                for (uint i = 0u; i < lim; i++) s += w[i] * X[xb + i];
#else
                for (uint i = 0u; i < 32u; i++) s += w[i] * X[xb + i];
#endif
                acc[rr * VK_MM_NT_MAX + tt] += s;
            }
        }
    }
    for (uint rr = 0u; rr < VK_MM_NR; rr++) {
        uint r = r0 + rr;
        if (r >= pc.n_rows) break;
        for (uint tt = 0u; tt < NT; tt++) {
            uint t = t0 + tt;
            if (t >= pc.n_tok) break;
            float s = wg_sum(acc[rr * VK_MM_NT_MAX + tt]);
            if (tid == 0u) {
                uint ro = pc.row_out0 + r;
                if (pc.bias_type != VK_NO_BIAS) s += bias_at(ro);
                O[t * pc.n_out + ro] = s;
            }
        }
    }
}
