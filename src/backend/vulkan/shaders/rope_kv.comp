#version 450
// rope_kv.comp — one dispatch for what rope(q), rope(k) and kv_write do in
// turn: q [n_tok][n_heads][head_dim] is rotated in place (one thread per
// rotated pair), k is rotated on its way into the paged K cache and v copied
// into the V cache (one thread per pair of adjacent output elements, so an
// f16 cache word is written whole; for a Q8_0 cache, kv_type 2, one thread
// per pair of 32-value blocks, layout in common/kv.glsl). Rotation as in rope.comp (mode 0:
// adjacent pairs, mode 1: halves), angles from common/rope.glsl.
// Bindings: 0 q, 1 k, 2 v, 3 K cache (layer range), 4 V cache, 5 batch info,
// 6 inv_freq [head_dim/2].
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) buffer QBuf { float Q[]; };
layout(std430, binding = 1) readonly buffer KBuf { float K[]; };
layout(std430, binding = 2) readonly buffer VBuf { float V[]; };
layout(std430, binding = 3) buffer KcBuf { uint Kc[]; };
layout(std430, binding = 4) buffer VcBuf { uint Vc[]; };
layout(std430, binding = 5) readonly buffer IBuf { int Info[]; };
layout(std430, binding = 6) readonly buffer FBuf { float F[]; };

layout(push_constant) uniform PC {
    uint n_tok, n_heads, n_kv_heads, head_dim, mode, kv_type, block_size, max_blocks, pos_off, seq_off, bt_off;
} pc;

#include "common/kv.glsl"
#include "common/rope.glsl"

// rotated element e of the head starting at k[base] (token position pos)
float k_rot(uint base, uint e, float pos) {
    uint half_d = pc.head_dim / 2u;
    if (pc.mode == 0u) {
        uint i = e >> 1;
        vec2 cs = rope_cs(pos, F[i]);
        float x0 = K[base + 2u * i], x1 = K[base + 2u * i + 1u];
        return (e & 1u) == 0u ? x0 * cs.x - x1 * cs.y : x0 * cs.y + x1 * cs.x;
    }
    uint i = e < half_d ? e : e - half_d;
    vec2 cs = rope_cs(pos, F[i]);
    float x0 = K[base + i], x1 = K[base + i + half_d];
    return e < half_d ? x0 * cs.x - x1 * cs.y : x0 * cs.y + x1 * cs.x;
}

void store2(bool is_k, uint dst, float a, float b) {
    if (pc.kv_type == 1u) {
        uint w = packHalf2x16(vec2(a, b));
        if (is_k) Kc[dst >> 1] = w; else Vc[dst >> 1] = w;
    } else if (is_k) {
        Kc[dst] = floatBitsToUint(a);
        Kc[dst + 1u] = floatBitsToUint(b);
    } else {
        Vc[dst] = floatBitsToUint(a);
        Vc[dst + 1u] = floatBitsToUint(b);
    }
}

// Q8_0: block pair pr of token t's row (h = t * pairs + pr), k rotated.
void store_q8(bool is_k, uint h) {
    uint row = pc.n_kv_heads * pc.head_dim, n_pairs = kv_q8_pairs(row);
    uint t = h / n_pairs, pr = h % n_pairs;
    uint pos = uint(Info[pc.pos_off + t]);
    uint slot = kv_slot_index(uint(Info[pc.seq_off + t]), pos, pc.bt_off, pc.max_blocks, pc.block_size);
    bool one = 2u * pr + 1u >= row / 32u;
    float x[64];
    for (uint i = 0u; i < 64u; i++) {
        uint e = 64u * pr + i;
        if (one && i >= 32u) {
            x[i] = 0.0;
        } else if (is_k) {
            x[i] = k_rot(t * row + (e / pc.head_dim) * pc.head_dim, e % pc.head_dim, float(pos));
        } else {
            x[i] = V[t * row + e];
        }
    }
    uint w[17];
    uint nw = kv_q8_pack(x, one, w);
    uint dst = slot * (kv_q8_row_bytes(row) / 4u) + 17u * pr;
    for (uint i = 0u; i < nw; i++) {
        if (is_k) Kc[dst + i] = w[i]; else Vc[dst + i] = w[i];
    }
}

void main() {
    uint half_d = pc.head_dim / 2u;
    uint row = pc.n_kv_heads * pc.head_dim;
    uint n_q = pc.n_tok * pc.n_heads * half_d;  // q pairs
    bool q8 = pc.kv_type == 2u;
    uint n_kv = pc.n_tok * (q8 ? kv_q8_pairs(row) : row / 2u); // k (and v) output pairs
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < n_q + 2u * n_kv; g += stride) {
        if (g < n_q) {
            uint i = g % half_d, th = g / half_d, t = th / pc.n_heads;
            vec2 cs = rope_cs(float(Info[pc.pos_off + t]), F[i]);
            uint base = th * pc.head_dim;
            uint i0 = pc.mode == 0u ? base + 2u * i : base + i;
            uint i1 = pc.mode == 0u ? i0 + 1u : i0 + half_d;
            float x0 = Q[i0], x1 = Q[i1];
            Q[i0] = x0 * cs.x - x1 * cs.y;
            Q[i1] = x0 * cs.y + x1 * cs.x;
            continue;
        }
        uint h = g - n_q;
        bool is_k = h < n_kv;
        if (!is_k) h -= n_kv;
        if (q8) {
            store_q8(is_k, h);
            continue;
        }
        uint t = h / (row / 2u), e = (h % (row / 2u)) * 2u; // element pair (e, e+1) of the row
        uint pos = uint(Info[pc.pos_off + t]);
        uint slot = kv_slot_index(uint(Info[pc.seq_off + t]), pos, pc.bt_off, pc.max_blocks, pc.block_size);
        uint dst = slot * row + e, src = t * row + e;
        if (is_k) {
            uint base = t * row + (e / pc.head_dim) * pc.head_dim, ee = e % pc.head_dim;
            store2(true, dst, k_rot(base, ee, float(pos)), k_rot(base, ee + 1u, float(pos)));
        } else {
            store2(false, dst, V[src], V[src + 1u]);
        }
    }
}
