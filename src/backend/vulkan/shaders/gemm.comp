#version 450
// gemm.comp — matmul for many tokens (prompts): out[t][row_out0 + r] =
// sum_c W[row_w0 + r][c] * x[t][c] (+ bias), tiled: a workgroup of 256
// threads computes 64 rows x 64 tokens, each thread a 4 x 4 block. The K
// dimension goes in steps of two 32-element units: 128 threads dequantize
// one (row, unit) each into shared memory (k-major, so the inner loop reads
// a float4 of 4 rows and a float4 of 4 tokens and does 16 FMAs), all 256
// threads load the x tile (16-byte loads when rows of x are 4-aligned).
// Each weight unit is dequantized once per workgroup and serves 64 tokens.
// Rows past the segment repeat its last row (their sums are dropped);
// tokens past n_tok and elements past ne0 count as zero.
// Bindings: 0 weight shard (words), 1 x [n_tok][ne0], 2 out [n_tok][n_out],
// 3 bias words (bias_type F32/F16/BF16, or VK_NO_BIAS).
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer XBuf4 { vec4 X4[]; }; // the same x, 16 bytes at a time
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type;
} pc;

#include "common/bytes.glsl"
#include "common/dequant.glsl"

#include "common/words.glsl"
float bias_at(uint r) { return TYPED_WORD_AT(Bw, pc.bias_type, r); }

const uint BK = 64u;            // elements of K per step (two units)
shared vec4 Ws4[BK * 16u];      // [k][row / 4]: 64 rows
shared vec4 Xs4[BK * 16u];      // [k][token / 4]: 64 tokens

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint r0 = gl_WorkGroupID.x * 64u, t0 = gl_WorkGroupID.y * 64u;
    uint tx = tid & 15u, ty = tid >> 4; // tokens 4tx.., rows 4ty..
    vec4 acc[4];
    for (uint i = 0u; i < 4u; i++) acc[i] = vec4(0.0);
    uint last = pc.n_rows - 1u;
    uint nu = unit_count(pc.ne0);
    bool x_wide = (pc.ne0 & 3u) == 0u;

    for (uint u0 = 0u; u0 < nu; u0 += 2u) {
        if (tid < 128u) {
            uint row = tid & 63u, uh = tid >> 6, u = u0 + uh;
            float w[32];
            if (u < nu) {
                unit_dequant((pc.row_w0 + min(r0 + row, last)) * pc.row_bytes, u, pc.ne0, w);
            } else {
                for (uint i = 0u; i < 32u; i++) w[i] = 0.0;
            }
            for (uint i = 0u; i < 32u; i++) Ws4[(uh * 32u + i) * 16u + (row >> 2)][row & 3u] = w[i];
        }
        {
            // token t = tid / 4 takes elements 16q .. 16q+15 of this step
            uint t = tid >> 2, q = tid & 3u, tok = t0 + t;
            uint c = u0 * 32u + q * 16u;
            vec4 v[4];
            for (uint j = 0u; j < 4u; j++) v[j] = vec4(0.0);
            if (tok < pc.n_tok) {
                uint base = tok * pc.ne0;
                if (x_wide && c + 16u <= pc.ne0) {
                    for (uint j = 0u; j < 4u; j++) v[j] = X4[(base + c) / 4u + j];
                } else {
                    for (uint j = 0u; j < 4u; j++)
                        for (uint e = 0u; e < 4u; e++) {
                            uint cc = c + 4u * j + e;
                            v[j][e] = cc < pc.ne0 ? X[base + cc] : 0.0;
                        }
                }
            }
            for (uint j = 0u; j < 4u; j++)
                for (uint e = 0u; e < 4u; e++) Xs4[(q * 16u + 4u * j + e) * 16u + (t >> 2)][t & 3u] = v[j][e];
        }
        barrier();
        // blocked summation: each step's 64 products summed apart, then added
        // (rounding grows with 64 + K/64 terms, not K)
        vec4 st[4];
        for (uint i = 0u; i < 4u; i++) st[i] = vec4(0.0);
        for (uint k = 0u; k < BK; k++) {
            vec4 wv = Ws4[k * 16u + ty], xv = Xs4[k * 16u + tx];
            st[0] += wv.x * xv;
            st[1] += wv.y * xv;
            st[2] += wv.z * xv;
            st[3] += wv.w * xv;
        }
        for (uint i = 0u; i < 4u; i++) acc[i] += st[i];
        barrier();
    }

    for (uint i = 0u; i < 4u; i++) {
        uint r = r0 + 4u * ty + i;
        if (r >= pc.n_rows) break;
        uint ro = pc.row_out0 + r;
        float bias = pc.bias_type != VK_NO_BIAS ? bias_at(ro) : 0.0;
        for (uint j = 0u; j < 4u; j++) {
            uint tok = t0 + 4u * tx + j;
            if (tok < pc.n_tok) O[tok * pc.n_out + ro] = acc[i][j] + bias;
        }
    }
}
