#version 450
// attention.comp — out[t][h] = softmax(q[t][h] . K^T * scale) V over positions
// 0..pos[t] of slot seq[t], one workgroup per (head, token). Positions go
// in chunks of VK_WG: each thread scores one position, then the chunk is
// folded into a running (max, sum, acc) — online softmax — with each thread
// owning head dims tid, tid + VK_WG, ...
// With SPLIT (flash-decoding, for long contexts and few tokens) workgroup z
// takes only positions [z*chunk, (z+1)*chunk) and writes its unnormalised
// partial [acc D][max][sum] to slot z of n_chunks per (token, head);
// attention_merge.comp combines them. kv_type: 0 f32, 1 f16, 2 Q8_0 (a
// position's base is then a byte offset; layout in common/kv.glsl).
// Bindings: 0 out [n_tok][n_heads*D] (SPLIT: partials
// [n_tok][n_heads][n_chunks][D+2]), 1 q, 2 K cache (layer), 3 V cache, 4 batch info.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;
// the head dim as a compile-time constant (0: read pc.head_dim): the host
// passes it so the loops over a head's dims unroll and their loads issue together
layout(constant_id = 1) const uint HD = 0u;

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
#include "common/reduce.glsl"

shared float q_s[VK_WG * VK_ATT_DPT];
shared float p_s[VK_WG];
shared uint base_s[VK_WG];

float kc_at(uint i) {
    if (pc.kv_type == 1u) return unpackHalf2x16(Kc[i >> 1])[i & 1u];
    return uintBitsToFloat(Kc[i]);
}

// Q8_0: value d of the head whose first block starts at byte base
#define KV_Q8_AT(buf, base, d) q8_value(buf[((base) + ((d) >> 5) * 34u) >> 2],                    \
    buf[((base) + ((d) >> 5) * 34u + 2u + ((d) & 31u)) >> 2], (base) + ((d) >> 5) * 34u, ((d) & 31u))
float q8_value(uint wd, uint wq, uint boff, uint j) {
    float sc = unpackHalf2x16(wd >> ((boff & 2u) * 8u)).x;
    uint off = boff + 2u + j;
    return sc * float(bitfieldExtract(int(wq), int((off & 3u) * 8u), 8));
}

float vc_at(uint base, uint d) {
    if (pc.kv_type == 2u) return KV_Q8_AT(Vc, base, d);
    uint i = base + d;
    if (pc.kv_type == 1u) return unpackHalf2x16(Vc[i >> 1])[i & 1u];
    return uintBitsToFloat(Vc[i]);
}

// Q8_0 K: the four codes at byte off (even) as one word
uint kc_u32(uint off) {
    uint w = off >> 2;
    if ((off & 2u) == 0u) return Kc[w];
    return (Kc[w] >> 16) | (Kc[w + 1u] << 16);
}

float k_dot_q8(uint base, uint D) {
    float sum = 0.0;
    for (uint b = 0u; b < D / 32u; b++) {
        uint bo = base + b * 34u;
        float sc = unpackHalf2x16(Kc[bo >> 2] >> ((bo & 2u) * 8u)).x;
        float part = 0.0;
        for (uint i = 0u; i < 8u; i++) {
            int u = int(kc_u32(bo + 2u + 4u * i));
            vec4 qv = vec4(bitfieldExtract(u, 0, 8), bitfieldExtract(u, 8, 8), bitfieldExtract(u, 16, 8),
                           bitfieldExtract(u, 24, 8));
            uint d = b * 32u + 4u * i;
            part += dot(vec4(q_s[d], q_s[d + 1u], q_s[d + 2u], q_s[d + 3u]), qv);
        }
        sum += sc * part;
    }
    return sum;
}

// q . K[base .. base+D): 8 elements per step so their loads are in flight
// together (an f16 cache: base and the step are even, so 4 whole words).
float k_dot(uint base, uint D) {
    if (pc.kv_type == 2u) return k_dot_q8(base, D);
    float sum = 0.0;
    uint d = 0u;
    for (; d + 8u <= D; d += 8u) {
        vec4 ka, kb;
        if (pc.kv_type == 1u) {
            uint w = (base + d) >> 1;
            uint w0 = Kc[w], w1 = Kc[w + 1u], w2 = Kc[w + 2u], w3 = Kc[w + 3u];
            ka = vec4(unpackHalf2x16(w0), unpackHalf2x16(w1));
            kb = vec4(unpackHalf2x16(w2), unpackHalf2x16(w3));
        } else {
            uint o = base + d;
            ka = uintBitsToFloat(uvec4(Kc[o], Kc[o + 1u], Kc[o + 2u], Kc[o + 3u]));
            kb = uintBitsToFloat(uvec4(Kc[o + 4u], Kc[o + 5u], Kc[o + 6u], Kc[o + 7u]));
        }
        sum += dot(vec4(q_s[d], q_s[d + 1u], q_s[d + 2u], q_s[d + 3u]), ka) +
               dot(vec4(q_s[d + 4u], q_s[d + 5u], q_s[d + 6u], q_s[d + 7u]), kb);
    }
    for (; d < D; d++) sum += q_s[d] * kc_at(base + d);
    return sum;
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
    if (h >= pc.n_heads || t >= pc.n_tok) return;
    uint D = HD != 0u ? HD : pc.head_dim;
    uint kh = h / (pc.n_heads / pc.n_kv_heads);
    uint row = pc.n_kv_heads * D;
    uint qb = (t * pc.n_heads + h) * D;
    for (uint d = tid; d < D; d += VK_WG) q_s[d] = Q[qb + d];
    barrier();

    uint p = uint(Info[pc.pos_off + t]);
    uint s = uint(Info[pc.seq_off + t]);
    float m = -3.0e38, l = 0.0;
    float acc[VK_ATT_DPT];
    for (uint k = 0u; k < VK_ATT_DPT; k++) acc[k] = 0.0;

#ifdef SPLIT
    uint j_begin = gl_WorkGroupID.z * pc.chunk;
    uint j_end = min(p + 1u, j_begin + pc.chunk);
#else
    uint j_begin = 0u, j_end = p + 1u;
#endif
    for (uint c0 = j_begin; c0 < j_end; c0 += VK_WG) {
        uint j = c0 + tid;
        float sc = -3.0e38;
        if (j < j_end) {
            uint slot = kv_slot_index(s, j, pc.bt_off, pc.max_blocks, pc.block_size);
            uint base = pc.kv_type == 2u ? slot * kv_q8_row_bytes(row) + kh * (D / 32u) * 34u
                                         : slot * row + kh * D;
            base_s[tid] = base;
            sc = k_dot(base, D) * pc.scale;
        }
        float m_new = max(m, wg_max(sc));
        float pj = j < j_end ? exp(sc - m_new) : 0.0;
        float alpha = exp(m - m_new);
        l = l * alpha + wg_sum(pj);
        p_s[tid] = pj;
        barrier();
        uint n_c = min(uint(VK_WG), j_end - c0);
        for (uint k = 0u; k < VK_ATT_DPT; k++) {
            uint d = tid + k * VK_WG;
            if (d >= D) break;
            float a = acc[k] * alpha;
            // 8 positions at a time: independent loads in flight together
            uint i = 0u;
            for (; i + 8u <= n_c; i += 8u) {
                float v0 = vc_at(base_s[i], d), v1 = vc_at(base_s[i + 1u], d);
                float v2 = vc_at(base_s[i + 2u], d), v3 = vc_at(base_s[i + 3u], d);
                float v4 = vc_at(base_s[i + 4u], d), v5 = vc_at(base_s[i + 5u], d);
                float v6 = vc_at(base_s[i + 6u], d), v7 = vc_at(base_s[i + 7u], d);
                a += p_s[i] * v0 + p_s[i + 1u] * v1 + p_s[i + 2u] * v2 + p_s[i + 3u] * v3 +
                     p_s[i + 4u] * v4 + p_s[i + 5u] * v5 + p_s[i + 6u] * v6 + p_s[i + 7u] * v7;
            }
            for (; i < n_c; i++) a += p_s[i] * vc_at(base_s[i], d);
            acc[k] = a;
        }
        m = m_new;
        barrier();
    }
#ifdef SPLIT
    uint ob = ((t * pc.n_heads + h) * pc.n_chunks + gl_WorkGroupID.z) * (D + 2u);
    for (uint k = 0u; k < VK_ATT_DPT; k++) {
        uint d = tid + k * VK_WG;
        if (d >= D) break;
        O[ob + d] = acc[k];
    }
    if (tid == 0u) {
        O[ob + D] = m;
        O[ob + D + 1u] = l;
    }
#else
    for (uint k = 0u; k < VK_ATT_DPT; k++) {
        uint d = tid + k * VK_WG;
        if (d >= D) break;
        O[qb + d] = acc[k] / l;
    }
#endif
}
