#version 450
// gemm_cm.comp — the matmul of gemm.comp (same bindings, push constants and
// result: out[t][row_out0 + r] = sum_c W[row_w0 + r][c] * x[t][c] + bias) on
// tensor cores through VK_NV_cooperative_matrix, 16x16x16 f16 x f16 + f32.
// A workgroup of 8 subgroups (32 lanes each: the host checks) computes
// VK_GEMM_CM_ROWS = 128 rows x VK_GEMM_CM_TOK = 64 tokens; subgroup s a
// 32 x 32 tile (2 x 2 accumulators) at rows 32 (s & 3), tokens 32 (s >> 2).
// K goes in steps of 64 (two 32-element units) through shared memory as f16,
// kept as uvec4 (8 halves) so a store moves 16 bytes: weights dequantized
// (rows past the segment repeat its last row; their sums are dropped), x
// converted (tokens past n_tok and elements past ne0 are 0).
// The global loads of step i+1 are issued into registers before the
// tensor-core work of step i and written to shared memory after it, so their
// latency hides behind the multiplies. Loads are coalesced: float weights 8
// lanes x 16 bytes along a row, 32-element blocks two lanes per row, x 8
// lanes x 32 bytes per token.
// Products are summed in f32; weights and x round to f16 (relative error
// 2^-11 each, as in any f16 tensor-core path). Results go through a
// per-subgroup 16x16 staging tile in shared memory so the edges and the bias
// are handled by ordinary stores; split-K partials are stored straight from
// the accumulators.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;
// XH = 1: x comes as x_f16.comp's f16 rows (binding 1: [n_tokp][ne0p], ne0p =
// ne0 rounded up to 64, tokens to the tile, the padding zero), 16 bytes a
// lane, no bounds checks: half the L2 traffic of f32 x and 8 fewer
// prefetch registers a thread
layout(constant_id = 1) const uint XH = 0u;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 0) readonly buffer WBuf4 { uvec4 W4[]; }; // the same weights, 16 bytes at a time
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer XBuf4 { vec4 X4[]; };
layout(std430, binding = 1) readonly buffer XBufH { uvec4 XH4[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };
// split-K (n_split > 1): workgroup z sums units [z k_units, (z + 1) k_units)
// of every row into its tile's slot of the partials; the last workgroup of a
// tile (an atomic count, zero between passes) adds the slots in order
// (deterministic) and writes out. Few tiles (small batches: 32 tokens of a
// 2048-row weight are 16 tiles) then still fill the GPU.
layout(std430, binding = 4) coherent buffer PBuf { float P[]; };  // [tile][split][BN][BM]
layout(std430, binding = 4) coherent buffer PBuf4 { vec4 P4[]; };
layout(std430, binding = 5) coherent buffer CBuf { uint Cnt[]; }; // per tile

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type, n_split, k_units;
} pc;
shared uint last_s;

#include "common/bytes.glsl"
#include "common/dequant.glsl"

#include "common/words.glsl"
float bias_at(uint r) { return TYPED_WORD_AT(Bw, pc.bias_type, r); }

const uint BM = VK_GEMM_CM_ROWS, BN = VK_GEMM_CM_TOK, BK = 64u;
// row stride of both tiles: 9 uvec4 = 72 halves = 144 bytes (loads need
// 16-byte-aligned strides); the padding spreads rows over the banks
const uint SA4 = BK / 8u + 1u;
shared uvec4 Ws4[BM * SA4]; // [row][k]: matrix A, row-major
shared uvec4 Xs4[BN * SA4]; // [token][k]: matrix B (k x token), column-major
shared float Cs[8u * 256u]; // one 16x16 staging tile per subgroup, column-major

#define CM_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define CM_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

// ---- the registers between a step's loads and its shared-memory stores
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
#define FLOATW 1
// rows 16-byte aligned and ne0 a multiple of 8 (vec_ok): thread takes
// vector (tid & 7) of rows (tid >> 3) + 32 i; f32 rows hold two vectors per
// 8 elements
#if defined(TYPE_F32)
const uint FV = 2u;
#else
const uint FV = 1u;
#endif
const uint FR = BM / 32u;
uvec4 fw[FR * FV];
#endif
#if defined(BLOCK32)
uint R[BLK_N], ral;
#else
float wv[32]; // a whole decoded unit (K types; float rows not vector-aligned)
#endif
const uint XR = BN / 32u; // x: token (tid >> 3) + 32 i, elements 8 (tid & 7) .. + 7
vec4 xa[XR], xb[XR]; // f32 x (XH = 0)
uvec4 xh[XR];        // f16 x (XH = 1; the unused set is dead after specialization)

uint tid, last, nu;
bool vec_ok, x_wide;

// the (row, unit) of a dequantizing thread: two lanes per row
uint drow() { return tid >> 1; }
uint dunit(uint u0) { return u0 + (tid & 1u); }

vec4 x_at(uint base, uint c) {
    if (x_wide && c + 4u <= pc.ne0) return X4[(base + c) / 4u];
    vec4 v;
    for (uint e = 0u; e < 4u; e++) v[e] = c + e < pc.ne0 ? X[base + c + e] : 0.0;
    return v;
}

void fetch(uint r0, uint t0, uint u0) {
#if defined(FLOATW)
    if (vec_ok) {
        for (uint i = 0u; i < FR; i++) {
            uint row = (tid >> 3) + 32u * i, rb = (pc.row_w0 + min(r0 + row, last)) * pc.row_bytes;
            uint e = u0 * 32u + 8u * (tid & 7u); // the vector's first element
            for (uint f = 0u; f < FV; f++)
                fw[i * FV + f] = e < pc.ne0 ? W4[rb / 16u + e / (8u / FV) + f] : uvec4(0u);
        }
    } else {
        uint u = dunit(u0);
        if (u < nu) {
            unit_dequant((pc.row_w0 + min(r0 + drow(), last)) * pc.row_bytes, u, pc.ne0, wv);
        } else {
            for (uint i = 0u; i < 32u; i++) wv[i] = 0.0;
        }
    }
#else
    uint rb = (pc.row_w0 + min(r0 + drow(), last)) * pc.row_bytes, u = min(dunit(u0), nu - 1u);
#if defined(BLOCK32)
    uint o = rb + u * BLK_BYTES;
    blk_load(o, R);
    ral = o & 2u;
#else
    unit_dequant(rb, u, pc.ne0, wv);
#endif
#endif
    if (XH != 0u) {
        uint ne0p = (pc.ne0 + 63u) & ~63u;
        for (uint i = 0u; i < XR; i++)
            xh[i] = XH4[((t0 + (tid >> 3) + 32u * i) * ne0p + u0 * 32u + 8u * (tid & 7u)) / 8u];
        return;
    }
    for (uint i = 0u; i < XR; i++) {
        uint tok = t0 + (tid >> 3) + 32u * i, c = u0 * 32u + 8u * (tid & 7u);
        xa[i] = vec4(0.0);
        xb[i] = vec4(0.0);
        if (tok < pc.n_tok) {
            xa[i] = x_at(tok * pc.ne0, c);
            xb[i] = x_at(tok * pc.ne0, c + 4u);
        }
    }
}

// a decoded unit into row drow(), unit half (tid & 1) of the tile
void put_unit(float w[32], bool zero) {
    uint o = drow() * SA4 + (tid & 1u) * 4u;
    for (uint j = 0u; j < 4u; j++)
        Ws4[o + j] = zero ? uvec4(0u)
                          : pack8(vec4(w[8u * j], w[8u * j + 1u], w[8u * j + 2u], w[8u * j + 3u]),
                                  vec4(w[8u * j + 4u], w[8u * j + 5u], w[8u * j + 6u], w[8u * j + 7u]));
}

void store(uint u0) {
#if defined(FLOATW)
    if (vec_ok) {
        for (uint i = 0u; i < FR; i++) {
            uint o = ((tid >> 3) + 32u * i) * SA4 + (tid & 7u);
#if defined(TYPE_F16)
            Ws4[o] = fw[i];
#elif defined(TYPE_BF16)
            uvec4 v = fw[i];
            Ws4[o] = pack8(uintBitsToFloat(uvec4(v.x << 16, v.x & 0xFFFF0000u, v.y << 16, v.y & 0xFFFF0000u)),
                           uintBitsToFloat(uvec4(v.z << 16, v.z & 0xFFFF0000u, v.w << 16, v.w & 0xFFFF0000u)));
#else
            Ws4[o] = pack8(uintBitsToFloat(fw[2u * i]), uintBitsToFloat(fw[2u * i + 1u]));
#endif
        }
    } else {
        put_unit(wv, false);
    }
#elif defined(BLOCK32)
    float w[32];
    unit_decode(R, ral, w);
    put_unit(w, dunit(u0) >= nu);
#else
    put_unit(wv, dunit(u0) >= nu);
#endif
    for (uint i = 0u; i < XR; i++)
        Xs4[((tid >> 3) + 32u * i) * SA4 + (tid & 7u)] = XH != 0u ? xh[i] : pack8(xa[i], xb[i]);
}

void main() {
    tid = gl_LocalInvocationID.x;
    uint sg = tid >> 5, lane = tid & 31u;
    uint r0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
    uint wr = (sg & 3u) * 32u, wc = (sg >> 2) * 32u;
    last = pc.n_rows - 1u;
    nu = unit_count(pc.ne0);
    x_wide = (pc.ne0 & 3u) == 0u;
    vec_ok = (pc.row_bytes & 15u) == 0u && (pc.ne0 & 7u) == 0u;
    // the accumulators and operands are named variables, not arrays: an
    // array of cooperative matrices indexed in a loop may live in memory
    CM_C c00 = CM_C(0.0), c01 = CM_C(0.0), c10 = CM_C(0.0), c11 = CM_C(0.0);

    // this workgroup's units (k_units is even: a step's two units never
    // straddle two splits)
    uint ub = gl_WorkGroupID.z * pc.k_units, ue = min(nu, ub + pc.k_units);
    fetch(r0, t0, ub);
    for (uint u0 = ub; u0 < ue; u0 += 2u) {
        store(u0);
        barrier();
        if (u0 + 2u < ue) fetch(r0, t0, u0 + 2u); // in flight during the multiplies
        [[unroll]] for (uint kk = 0u; kk < BK / 8u; kk += 2u) {
            CM_A a0, a1, b0, b1;
            coopMatLoadNV(a0, Ws4, wr * SA4 + kk, SA4, false);
            coopMatLoadNV(a1, Ws4, (wr + 16u) * SA4 + kk, SA4, false);
            coopMatLoadNV(b0, Xs4, wc * SA4 + kk, SA4, true);
            coopMatLoadNV(b1, Xs4, (wc + 16u) * SA4 + kk, SA4, true);
            c00 = coopMatMulAddNV(a0, b0, c00);
            c01 = coopMatMulAddNV(a0, b1, c01);
            c10 = coopMatMulAddNV(a1, b0, c10);
            c11 = coopMatMulAddNV(a1, b1, c11);
        }
        barrier();
    }

    bool split = pc.n_split > 1u;
    uint tile = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (split) {
        // the partial tile [token][row], straight from the accumulators;
        // 16-token columns wholly past the batch are not stored (the
        // reduction never reads them)
        uint pb = (tile * pc.n_split + gl_WorkGroupID.z) * (BM * BN);
        for (uint q = 0u; q < 4u; q++) {
            uint i = q >> 1, j = q & 1u;
            if (t0 + wc + 16u * j >= pc.n_tok) continue; // subgroup-uniform
            uint o = pb + (wc + 16u * j) * BM + wr + 16u * i;
            if (q == 0u) coopMatStoreNV(c00, P, o, BM, true);
            else if (q == 1u) coopMatStoreNV(c01, P, o, BM, true);
            else if (q == 2u) coopMatStoreNV(c10, P, o, BM, true);
            else coopMatStoreNV(c11, P, o, BM, true);
        }
    } else {
        // lane l writes 8 consecutive rows of one token: O's rows are contiguous
        uint cs = sg * 256u, lt = lane >> 1, lr = (lane & 1u) * 8u;
        for (uint q = 0u; q < 4u; q++) {
            uint i = q >> 1, j = q & 1u;
            if (q == 0u) coopMatStoreNV(c00, Cs, cs, 16u, true);
            else if (q == 1u) coopMatStoreNV(c01, Cs, cs, 16u, true);
            else if (q == 2u) coopMatStoreNV(c10, Cs, cs, 16u, true);
            else coopMatStoreNV(c11, Cs, cs, 16u, true);
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
        return;
    }
    // the partials made visible before the count goes up
    controlBarrier(gl_ScopeWorkgroup, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer,
                   gl_SemanticsAcquireRelease | gl_SemanticsMakeAvailable | gl_SemanticsMakeVisible);
    if (tid == 0u)
        last_s = atomicAdd(Cnt[tile], 1u, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer,
                           gl_SemanticsAcquireRelease | gl_SemanticsMakeAvailable | gl_SemanticsMakeVisible) ==
                         pc.n_split - 1u ? 1u : 0u;
    controlBarrier(gl_ScopeWorkgroup, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared,
                   gl_SemanticsAcquireRelease | gl_SemanticsMakeAvailable | gl_SemanticsMakeVisible);
    if (last_s == 0u) return;
    // the sum of the slots, four rows of a token a thread, all the slots'
    // loads issued before they are added (in slot order): a loop that
    // waited for each load in turn took most of a small batch's GEMM time
    // (32 tokens: 58 us a GEMM, now 36)
    uint p0 = tile * pc.n_split * (BM * BN), nt = min(BN, pc.n_tok - t0);
    for (uint e = 4u * tid; e < BM * nt; e += 1024u) {
        vec4 v[VK_GEMM_SPLIT_MAX];
        [[unroll]] for (uint zz = 0u; zz < VK_GEMM_SPLIT_MAX; zz++)
            if (zz < pc.n_split) v[zz] = P4[(p0 + zz * (BM * BN) + e) / 4u];
        vec4 sum = v[0];
        [[unroll]] for (uint zz = 1u; zz < VK_GEMM_SPLIT_MAX; zz++)
            if (zz < pc.n_split) sum += v[zz];
        uint tok = t0 + e / BM;
        for (uint k = 0u; k < 4u; k++) {
            uint r = r0 + e % BM + k;
            if (r >= pc.n_rows) continue;
            uint ro = pc.row_out0 + r;
            O[tok * pc.n_out + ro] = sum[k] + (pc.bias_type != VK_NO_BIAS ? bias_at(ro) : 0.0);
        }
    }
    if (tid == 0u) Cnt[tile] = 0u; // zero again for the next pass
}
