#version 450
// gemm_cm.comp — the matmul of gemm.comp (same bindings, push constants and
// result: out[t][row_out0 + r] = sum_c W[row_w0 + r][c] * x[t][c] + bias) on
// tensor cores through VK_NV_cooperative_matrix, 16x16x16 f16 x f16 + f32.
// A workgroup of 8 subgroups (32 lanes each: the host checks) computes 128
// rows x 64 tokens; subgroup s takes rows 32(s & 3).. and tokens 32(s >> 2)..,
// a 2 x 2 grid of 16x16 accumulators. K goes in steps of 64 (two 32-element
// units): each thread dequantizes one (row, unit) into shared memory as f16
// (rows past the segment repeat its last row; their sums are dropped), the x
// tile is converted to f16 (tokens past n_tok and elements past ne0 are 0).
// Products are summed in f32; x rounds to f16 (relative error 2^-11 per
// element, as in any f16 tensor-core path). Results go through a per-subgroup
// 16x16 staging tile in shared memory so the edges and the bias are handled
// by ordinary stores.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer XBuf4 { vec4 X4[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type;
} pc;

#include "common/bytes.glsl"
#include "common/dequant.glsl"

float bias_at(uint r) {
    if (pc.bias_type == 0u) return uintBitsToFloat(Bw[r]);
    uint h = (Bw[r >> 1] >> ((r & 1u) * 16u)) & 0xFFFFu;
    if (pc.bias_type == 1u) return unpackHalf2x16(h).x;
    return uintBitsToFloat(h << 16);
}

const uint BM = VK_GEMM_CM_ROWS, BN = VK_GEMM_CM_TOK, BK = 64u;
// row stride of both tiles in halves: 144 bytes (loads need 16-byte-aligned
// strides); the 8 halves of padding spread a column's rows over the banks
const uint SA = BK + 8u;
shared float16_t Ws[BM * SA]; // [row][k]: matrix A, row-major
shared float16_t Xs[BN * SA]; // [token][k]: matrix B (k x token), column-major
shared float Cs[8u * 256u];   // one 16x16 staging tile per subgroup, column-major

#define CM_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define CM_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint sg = tid >> 5, lane = tid & 31u;
    uint r0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
    uint wr = (sg & 3u) * 32u, wc = (sg >> 2) * 32u;
    CM_C acc[2][2];
    for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 2u; j++) acc[i][j] = CM_C(0.0);
    uint last = pc.n_rows - 1u;
    uint nu = unit_count(pc.ne0);
    bool x_wide = (pc.ne0 & 3u) == 0u;
    // this thread's (row, unit) of each step; the rotation `rot` of the
    // words it writes puts the 32 lanes of a subgroup on 32 different banks
    uint drow = tid & (BM - 1u), duh = tid / BM, rot = (drow >> 3) & 3u;
    uint wrow = (pc.row_w0 + min(r0 + drow, last)) * pc.row_bytes;

    for (uint u0 = 0u; u0 < nu; u0 += 2u) {
        {
            uint u = u0 + duh;
            float w[32];
            if (u < nu) {
                unit_dequant(wrow, u, pc.ne0, w);
            } else {
                for (uint i = 0u; i < 32u; i++) w[i] = 0.0;
            }
            uint base = drow * SA + duh * 32u;
            for (uint i = 0u; i < 16u; i++) {
                uint q = (i + rot) & 15u;
                Ws[base + 2u * q] = float16_t(w[2u * q]);
                Ws[base + 2u * q + 1u] = float16_t(w[2u * q + 1u]);
            }
        }
        // x: 16 lanes read 64 consecutive floats of one token (4 at a time)
        for (uint pass = 0u; pass < BN / 16u; pass++) {
            uint t = pass * 16u + (tid >> 4), k4 = tid & 15u, tok = t0 + t;
            uint c = u0 * 32u + k4 * 4u;
            vec4 v = vec4(0.0);
            if (tok < pc.n_tok) {
                uint base = tok * pc.ne0;
                if (x_wide && c + 4u <= pc.ne0) {
                    v = X4[(base + c) / 4u];
                } else {
                    for (uint e = 0u; e < 4u; e++) v[e] = c + e < pc.ne0 ? X[base + c + e] : 0.0;
                }
            }
            uint o = t * SA + k4 * 4u;
            for (uint e = 0u; e < 4u; e++) Xs[o + e] = float16_t(v[e]);
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk += 16u) {
            CM_A a[2], bm[2];
            for (uint i = 0u; i < 2u; i++) coopMatLoadNV(a[i], Ws, (wr + 16u * i) * SA + kk, SA, false);
            for (uint j = 0u; j < 2u; j++) coopMatLoadNV(bm[j], Xs, (wc + 16u * j) * SA + kk, SA, true);
            for (uint i = 0u; i < 2u; i++)
                for (uint j = 0u; j < 2u; j++) acc[i][j] = coopMatMulAddNV(a[i], bm[j], acc[i][j]);
        }
        barrier();
    }

    // lane l writes 8 consecutive rows of one token: O's rows are contiguous
    uint cs = sg * 256u, lt = lane >> 1, lr = (lane & 1u) * 8u;
    for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 2u; j++) {
            coopMatStoreNV(acc[i][j], Cs, cs, 16u, true);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            uint tok = t0 + wc + 16u * j + lt;
            for (uint e = 0u; e < 8u; e++) {
                uint r = r0 + wr + 16u * i + lr + e;
                if (r < pc.n_rows && tok < pc.n_tok) {
                    uint ro = pc.row_out0 + r;
                    float bias = pc.bias_type != VK_NO_BIAS ? bias_at(ro) : 0.0;
                    O[tok * pc.n_out + ro] = Cs[cs + lt * 16u + lr + e] + bias;
                }
            }
            subgroupBarrier();
        }
}
