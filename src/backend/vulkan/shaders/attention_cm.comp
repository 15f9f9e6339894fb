#version 450
// attention_cm.comp — attention for the prompt of one sequence on NVIDIA
// cooperative matrices (16x16x16 f16 x f16 + f32): out[t][h] =
// softmax(q[t][h] . K^T * scale) V over positions 0..pos[t], the same result
// as attention.comp. A workgroup of 4 subgroups takes one head and 64
// consecutive batch tokens, 16 per subgroup; K and V go through shared
// memory as f16 in tiles of 64 positions, each loaded once for the 64
// queries.
// The element layout of an accumulator is the implementation's, so scores
// are stored to a per-subgroup 16x16 tile in shared memory where lane l owns
// row l / 2, columns 8 (l & 1) .. + 7. Rescaling the output accumulators
// (online softmax) would need that layout too, so the softmax takes two
// passes instead: the first finds each row's max and sum, the second forms
// the normalised probabilities (as f16, a matrix A) and accumulates P V;
// the scores are computed twice (a third more multiplies, no rescaling).
// Blocks of 16 positions past every query of a subgroup are skipped.
// Precision: q, K, V and P round to f16, sums in f32.
// Bindings: 0 out [n_tok][n_heads*D], 1 q, 2 K cache (layer), 3 V cache,
// 4 batch info (the host checked: one sequence, positions in the table).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#include "../vk_shader_iface.h"

layout(local_size_x = 128) in;
layout(constant_id = 1) const uint HD = 64u; // head dim: a multiple of 16, at most 128 (host)

layout(std430, binding = 0) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 1) readonly buffer QBuf { float Q[]; };
layout(std430, binding = 2) readonly buffer KcBuf { uint Kc[]; };
layout(std430, binding = 3) readonly buffer VcBuf { uint Vc[]; };
layout(std430, binding = 4) readonly buffer IBuf { int Info[]; };

layout(push_constant) uniform PC {
    uint n_tok, n_heads, n_kv_heads, head_dim, block_size, max_blocks, kv_type;
    float scale;
    uint pos_off, seq_off, bt_off, chunk, n_chunks;
} pc;

#include "common/kv.glsl"
#include "common/words.glsl"

const uint QT = 64u, KT = 64u, ND = HD / 16u;
const uint SK4 = HD / 8u + 1u; // row stride of the K/V (and q) tiles in uvec4: 16 bytes of padding
shared uvec4 Ks4[KT * SK4];    // [position][dim] f16; first the q tile
shared uvec4 Vs4[KT * SK4];
shared float Ss[4u * 256u];    // per subgroup: 16 x 16 scores (row-major), then output staging
shared uvec4 Ps4[4u * 32u];    // per subgroup: 16 x 16 probabilities, f16, row-major
shared uint tpos[QT], tbase[KT], tmax;

#define CM_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define CM_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>


// dims 8c .. 8c+7 of the K (v == false) or V row starting at base (an
// element index, or a byte offset for Q8_0) as 8 halves
uvec4 kv_chunk(bool v, uint base, uint c) {
    if (pc.kv_type == 1u) {
        uint w = (base + 8u * c) >> 1;
        return v ? uvec4(Vc[w], Vc[w + 1u], Vc[w + 2u], Vc[w + 3u]) : uvec4(Kc[w], Kc[w + 1u], Kc[w + 2u], Kc[w + 3u]);
    }
    float e[8];
    for (uint i = 0u; i < 8u; i++) {
        uint d = 8u * c + i;
        if (pc.kv_type == 0u)
            e[i] = uintBitsToFloat(v ? Vc[base + d] : Kc[base + d]);
        else
            e[i] = v ? KV_Q8_AT(Vc, base, d) : KV_Q8_AT(Kc, base, d);
    }
    return pack8(vec4(e[0], e[1], e[2], e[3]), vec4(e[4], e[5], e[6], e[7]));
}

// the K (and V) tile of positions c0 .. c0 + KT - 1 (zero past maxp)
void stage(uint s, uint c0, uint maxp, uint row, uint kh, bool with_v) {
    uint tid = gl_LocalInvocationID.x;
    if (tid < KT) {
        uint j = c0 + tid;
        uint slot = j <= maxp ? kv_slot_index(s, j, pc.bt_off, pc.max_blocks, pc.block_size) : 0u;
        tbase[tid] = kv_head_base(pc.kv_type, slot, row, kh, HD);
    }
    barrier();
    for (uint i = tid; i < KT * (HD / 8u); i += 128u) {
        uint k = i / (HD / 8u), c = i % (HD / 8u);
        bool ok = c0 + k <= maxp;
        Ks4[k * SK4 + c] = ok ? kv_chunk(false, tbase[k], c) : uvec4(0u);
        if (with_v) Vs4[k * SK4 + c] = ok ? kv_chunk(true, tbase[k], c) : uvec4(0u);
    }
    barrier();
}

void main() {
    uint tid = gl_LocalInvocationID.x, sg = tid >> 5, lane = tid & 31u;
    uint h = gl_WorkGroupID.x, t0 = gl_WorkGroupID.y * QT;
    uint kh = h / (pc.n_heads / pc.n_kv_heads), row = pc.n_kv_heads * HD;
    uint nq = min(QT, pc.n_tok - t0);
    uint s = uint(Info[pc.seq_off + t0]);

    // the q tile (as f16) and positions
    if (tid < QT) tpos[tid] = tid < nq ? uint(Info[pc.pos_off + t0 + tid]) : 0u;
    for (uint i = tid; i < QT * (HD / 8u); i += 128u) {
        uint qi = i / (HD / 8u), c = i % (HD / 8u);
        uvec4 v = uvec4(0u);
        if (qi < nq) {
            uint b = ((t0 + qi) * pc.n_heads + h) * HD + 8u * c;
            v = pack8(vec4(Q[b], Q[b + 1u], Q[b + 2u], Q[b + 3u]), vec4(Q[b + 4u], Q[b + 5u], Q[b + 6u], Q[b + 7u]));
        }
        Ks4[qi * SK4 + c] = v;
    }
    barrier();
    if (tid == 0u) {
        uint m = 0u;
        for (uint i = 0u; i < nq; i++) m = max(m, tpos[i]);
        tmax = m;
    }
    CM_A qa[ND];
    [[unroll]] for (uint j = 0u; j < ND; j++) coopMatLoadNV(qa[j], Ks4, (sg * 16u) * SK4 + 2u * j, SK4, false);
    barrier();
    uint maxp = tmax;

    // lane: row r of the subgroup's 16 queries, score columns 8 hh .. + 7
    uint r = lane >> 1, hh = lane & 1u;
    uint p_r = tpos[sg * 16u + r];
    uint sg_max = subgroupMax(p_r);
    uint ss = sg * 256u;

    // pass 1: each row's max and sum (per lane over its columns, then merged)
    float m = -3.0e38, l = 0.0;
    for (uint c0 = 0u; c0 <= maxp; c0 += KT) {
        stage(s, c0, maxp, row, kh, false);
        for (uint kb = 0u; kb < KT / 16u; kb++) {
            uint k0 = c0 + 16u * kb;
            if (k0 > sg_max) break;
            CM_C sc = CM_C(0.0);
            [[unroll]] for (uint j = 0u; j < ND; j++) {
                CM_A kt;
                coopMatLoadNV(kt, Ks4, (16u * kb) * SK4 + 2u * j, SK4, true);
                sc = coopMatMulAddNV(qa[j], kt, sc);
            }
            coopMatStoreNV(sc, Ss, ss, 16u, false);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            float v[8], bm = -3.0e38;
            for (uint e = 0u; e < 8u; e++) {
                uint key = k0 + 8u * hh + e;
                v[e] = key <= p_r ? Ss[ss + r * 16u + 8u * hh + e] * pc.scale : -3.0e38;
                bm = max(bm, v[e]);
            }
            float mn = max(m, bm), add = 0.0;
            for (uint e = 0u; e < 8u; e++) add += v[e] > -1.0e38 ? exp(v[e] - mn) : 0.0;
            l = l * exp(m - mn) + add;
            m = mn;
            subgroupBarrier();
        }
    }
    float m2 = subgroupShuffleXor(m, 1u), l2 = subgroupShuffleXor(l, 1u);
    float M = max(m, m2);
    float L = l * exp(m - M) + l2 * exp(m2 - M);
    float inv = 1.0 / L;

    // pass 2: P = exp(s - M) / L as f16, out += P V
    CM_C o[ND];
    [[unroll]] for (uint j = 0u; j < ND; j++) o[j] = CM_C(0.0);
    for (uint c0 = 0u; c0 <= maxp; c0 += KT) {
        stage(s, c0, maxp, row, kh, true);
        for (uint kb = 0u; kb < KT / 16u; kb++) {
            uint k0 = c0 + 16u * kb;
            if (k0 > sg_max) break;
            CM_C sc = CM_C(0.0);
            [[unroll]] for (uint j = 0u; j < ND; j++) {
                CM_A kt;
                coopMatLoadNV(kt, Ks4, (16u * kb) * SK4 + 2u * j, SK4, true);
                sc = coopMatMulAddNV(qa[j], kt, sc);
            }
            coopMatStoreNV(sc, Ss, ss, 16u, false);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            float pv[8];
            for (uint e = 0u; e < 8u; e++) {
                uint key = k0 + 8u * hh + e;
                pv[e] = key <= p_r ? exp(Ss[ss + r * 16u + 8u * hh + e] * pc.scale - M) * inv : 0.0;
            }
            Ps4[sg * 32u + r * 2u + hh] = pack8(vec4(pv[0], pv[1], pv[2], pv[3]), vec4(pv[4], pv[5], pv[6], pv[7]));
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            CM_A pa;
            coopMatLoadNV(pa, Ps4, sg * 32u, 2u, false);
            [[unroll]] for (uint j = 0u; j < ND; j++) {
                CM_A vb;
                coopMatLoadNV(vb, Vs4, (16u * kb) * SK4 + 2u * j, SK4, false);
                o[j] = coopMatMulAddNV(pa, vb, o[j]);
            }
            subgroupBarrier();
        }
    }

    // out: lane writes row r, dims 16 j + 8 hh .. + 7
    uint qi = sg * 16u + r;
    [[unroll]] for (uint j = 0u; j < ND; j++) {
        coopMatStoreNV(o[j], Ss, ss, 16u, false);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        if (qi < nq) {
            uint ob = ((t0 + qi) * pc.n_heads + h) * HD + 16u * j + 8u * hh;
            for (uint e = 0u; e < 8u; e++) O[ob + e] = Ss[ss + r * 16u + 8u * hh + e];
        }
        subgroupBarrier();
    }
}
