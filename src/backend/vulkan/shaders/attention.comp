#version 450
// attention.comp — out[t][h] = softmax(q[t][h] . K^T * scale) V over positions
// 0..pos[t] of slot seq[t], one workgroup per (head, token). Positions go
// in chunks of VK_WG: each thread scores one position, then the chunk is
// folded into a running (max, sum, acc) — online softmax — with each thread
// owning head dims tid, tid + VK_WG, ...
// With SPLIT (flash-decoding, for long contexts and few tokens) workgroup z
// takes only positions [z*chunk, (z+1)*chunk) and writes its unnormalised
// partial [acc D][max][sum] to slot z of n_chunks per (token, head); the
// last workgroup of a (token, head) to finish (an atomic count) merges them,
// so the split costs no second dispatch and barrier. With TILED, the many-token kernel at
// the end of this file. kv_type: 0 f32, 1 f16, 2 Q8_0 (a
// position's base is then a byte offset; layout in common/kv.glsl).
// Bindings: 0 out [n_tok][n_heads*D], 1 q, 2 K cache (layer), 3 V cache,
// 4 batch info; SPLIT: 5 partials, 6 counts.
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
#ifdef SPLIT
layout(std430, binding = 5) coherent buffer PBuf { float P[]; };  // partials [n_tok][n_heads][n_chunks][D+2]
layout(std430, binding = 6) coherent buffer CBuf { uint Cnt[]; }; // finished chunks per (token, head), 0 between passes
shared uint last_s;
shared float cw_s[VK_ATT_MAX_CHUNKS]; // the merge's weight per chunk
#endif

layout(push_constant) uniform PC {
    uint n_tok, n_heads, n_kv_heads, head_dim, block_size, max_blocks, kv_type;
    float scale;
    uint pos_off, seq_off, bt_off, chunk, n_chunks;
} pc;

#include "common/kv.glsl"
#include "common/reduce.glsl"

#ifndef TILED
shared float q_s[VK_WG * VK_ATT_DPT];
shared float p_s[VK_WG];
shared uint base_s[VK_WG];
// A known, even head dim up to 128 stages each chunk of PCH positions' K and
// V in shared memory first (rows padded to HD + 1 floats: no bank
// conflicts), the loads of the whole chunk issued together: one memory
// latency per chunk instead of one per few positions (decode is latency-bound).
const bool KV_TILE = HD != 0u && HD <= 128u && (HD & 1u) == 0u;
const uint PCH = HD <= 64u ? 48u : 24u; // positions per chunk: K and V take at most 25 KiB
const uint TSZ = HD <= 128u ? PCH * (HD + 1u) : 1u; // nothing staged past 128 dims
shared float ks_t[TSZ], vs_t[TSZ];
#endif

float kc_at(uint i) {
    if (pc.kv_type == 1u) return unpackHalf2x16(Kc[i >> 1])[i & 1u];
    return uintBitsToFloat(Kc[i]);
}


float vc_at(uint base, uint d) {
    if (pc.kv_type == 2u) return KV_Q8_AT(Vc, base, d);
    uint i = base + d;
    if (pc.kv_type == 1u) return unpackHalf2x16(Vc[i >> 1])[i & 1u];
    return uintBitsToFloat(Vc[i]);
}

// element d of the head whose K (or V) starts at base (an element index, or
// a byte offset for Q8_0)
float k_elem(uint base, uint d) {
    if (pc.kv_type == 2u) return KV_Q8_AT(Kc, base, d);
    return kc_at(base + d);
}

// the position's base in a layer's cache, for kv head kh
uint kv_base(uint s, uint j, uint row, uint kh, uint D) {
    uint slot = kv_slot_index(s, j, pc.bt_off, pc.max_blocks, pc.block_size);
    return kv_head_base(pc.kv_type, slot, row, kh, D);
}

#ifndef TILED
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

#endif

#ifdef TILED
// Prompts (many tokens): a workgroup takes one head and a tile of ATT_QT
// consecutive batch tokens; K and V go through shared memory in tiles of
// ATT_KT positions, each loaded once for all the tile's queries (the plain
// kernel reads them once per token). Queries of several sequences in one
// tile are served one sequence at a time (causal mask: position <= the
// query's, same sequence). Online softmax per query row; each thread owns
// query tid / 4 and dims (tid & 3) + 4k of the output.
// Shared memory grows with the head dim HD (given by the host, which checks
// the device's limit, vk_ops.c): 4 * ((ATT_QT + 2 ATT_KT) (HD + 1) + 737) bytes.
const uint ATT_QT = 16u, ATT_KT = 32u, DP = HD + 1u, NO = (HD + 3u) / 4u;
shared float tq[ATT_QT * DP], tk[ATT_KT * DP], tv[ATT_KT * DP];
shared float ts[ATT_QT * (ATT_KT + 1u)];
shared float tm[ATT_QT], tl[ATT_QT], ta[ATT_QT];
shared uint tpos[ATT_QT], tseq[ATT_QT], tbase[ATT_KT];
shared uint useq[ATT_QT], umax[ATT_QT], n_useq;

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint h = gl_WorkGroupID.x, t0 = gl_WorkGroupID.y * ATT_QT;
    if (h >= pc.n_heads || t0 >= pc.n_tok) return;
    uint D = HD; // <= VK_ATT_TILED_DMAX, a multiple of 4 (host)
    uint kh = h / (pc.n_heads / pc.n_kv_heads), row = pc.n_kv_heads * D;
    uint nq = min(ATT_QT, pc.n_tok - t0);
    if (tid < ATT_QT) {
        bool ok = tid < nq;
        tpos[tid] = ok ? uint(Info[pc.pos_off + t0 + tid]) : 0u;
        tseq[tid] = ok ? uint(Info[pc.seq_off + t0 + tid]) : 0xFFFFFFFFu;
        tm[tid] = -3.0e38;
        tl[tid] = 0.0;
    }
    for (uint i = tid; i < ATT_QT * D; i += VK_WG) {
        uint qi = i / D, d = i % D;
        tq[qi * DP + d] = qi < nq ? Q[((t0 + qi) * pc.n_heads + h) * D + d] : 0.0;
    }
    barrier();
    uint oq = tid >> 2, dp = tid & 3u;
    float o[NO];
    for (uint k = 0u; k < NO; k++) o[k] = 0.0;

    // the tile's distinct sequences and the last position each needs
    if (tid == 0u) {
        uint n = 0u;
        for (uint e = 0u; e < nq; e++) {
            uint k = 0u;
            while (k < n && useq[k] != tseq[e]) k++;
            if (k == n) {
                useq[n] = tseq[e];
                umax[n] = 0u;
                n++;
            }
            umax[k] = max(umax[k], tpos[e]);
        }
        n_useq = n;
    }
    barrier();
    for (uint us = 0u; us < n_useq; us++) {
        uint s = useq[us], maxp = umax[us];
        for (uint c0 = 0u; c0 <= maxp; c0 += ATT_KT) {
            uint nk = min(ATT_KT, maxp + 1u - c0);
            if (tid < ATT_KT) tbase[tid] = tid < nk ? kv_base(s, c0 + tid, row, kh, D) : 0u;
            barrier();
            for (uint i = tid; i < nk * D; i += VK_WG) {
                uint j = i / D, d = i % D;
                tk[j * DP + d] = k_elem(tbase[j], d);
                tv[j * DP + d] = vc_at(tbase[j], d);
            }
            barrier();
            // scores: query tid / 4, keys 8 (tid & 3) .. + 7
            for (uint jj = 0u; jj < 8u; jj++) {
                uint sq = tid >> 2, j = (tid & 3u) * 8u + jj;
                float sc = -3.0e38;
                if (sq < nq && tseq[sq] == s && j < nk && c0 + j <= tpos[sq]) {
                    float a = 0.0;
                    for (uint d = 0u; d < D; d++) a += tq[sq * DP + d] * tk[j * DP + d];
                    sc = a * pc.scale;
                }
                ts[sq * (ATT_KT + 1u) + j] = sc;
            }
            barrier();
            // online softmax per query row of this sequence
            if (tid < ATT_QT) {
                uint rb = tid * (ATT_KT + 1u);
                if (tid < nq && tseq[tid] == s) {
                    float mx = tm[tid];
                    for (uint j = 0u; j < nk; j++) mx = max(mx, ts[rb + j]);
                    float sum = 0.0;
                    for (uint j = 0u; j < ATT_KT; j++) {
                        float pj = j < nk && ts[rb + j] > -1.0e38 ? exp(ts[rb + j] - mx) : 0.0;
                        ts[rb + j] = pj;
                        sum += pj;
                    }
                    float alpha = exp(tm[tid] - mx);
                    tl[tid] = tl[tid] * alpha + sum;
                    tm[tid] = mx;
                    ta[tid] = alpha;
                } else {
                    for (uint j = 0u; j < ATT_KT; j++) ts[rb + j] = 0.0;
                    ta[tid] = 1.0;
                }
            }
            barrier();
            float a = ta[oq];
            for (uint k = 0u; k < NO; k++) o[k] *= a;
            for (uint j = 0u; j < nk; j++) {
                float pj = ts[oq * (ATT_KT + 1u) + j];
                for (uint k = 0u; k < NO; k++) {
                    uint d = dp + 4u * k;
                    if (d < D) o[k] += pj * tv[j * DP + d];
                }
            }
            barrier();
        }
    }
    if (oq < nq) {
        float inv = 1.0 / tl[oq];
        uint ob = ((t0 + oq) * pc.n_heads + h) * D;
        for (uint k = 0u; k < NO; k++) {
            uint d = dp + 4u * k;
            if (d < D) O[ob + d] = o[k] * inv;
        }
    }
}
#else
// K and V of positions base_s[0 .. n_c) into ks_t / vs_t (KV_TILE)
void stage_kv(uint n_c) {
    uint tid = gl_LocalInvocationID.x;
    const uint ROW = HD + 1u;
    if (pc.kv_type == 1u) {
        const uint WPR = HD / 2u; // f16: words per row (bases are even)
        for (uint k = 0u; k < (PCH * WPR + VK_WG - 1u) / VK_WG; k++) {
            uint e = tid + VK_WG * k, i = e / WPR, dw = e % WPR;
            if (i < n_c) {
                uint w = (base_s[i] >> 1) + dw;
                vec2 kk = unpackHalf2x16(Kc[w]), vv = unpackHalf2x16(Vc[w]);
                ks_t[i * ROW + 2u * dw] = kk.x;
                ks_t[i * ROW + 2u * dw + 1u] = kk.y;
                vs_t[i * ROW + 2u * dw] = vv.x;
                vs_t[i * ROW + 2u * dw + 1u] = vv.y;
            }
        }
        return;
    }
    for (uint k = 0u; k < (PCH * HD + VK_WG - 1u) / VK_WG; k++) {
        uint e = tid + VK_WG * k, i = e / HD, d = e % HD;
        if (i < n_c) {
            ks_t[i * ROW + d] = k_elem(base_s[i], d);
            vs_t[i * ROW + d] = vc_at(base_s[i], d);
        }
    }
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
    if (KV_TILE) {
        for (uint c0 = j_begin; c0 < j_end; c0 += PCH) {
            uint n_c = min(PCH, j_end - c0);
            if (tid < PCH) base_s[tid] = tid < n_c ? kv_base(s, c0 + tid, row, kh, D) : 0u;
            barrier();
            stage_kv(n_c);
            barrier();
            float sc = -3.0e38;
            if (tid < n_c) {
                float a = 0.0;
                for (uint d = 0u; d < HD; d++) a += q_s[d] * ks_t[tid * (HD + 1u) + d];
                sc = a * pc.scale;
            }
            float m_new = max(m, wg_max(sc));
            float pj = tid < n_c ? exp(sc - m_new) : 0.0;
            float alpha = exp(m - m_new);
            l = l * alpha + wg_sum(pj);
            p_s[tid] = pj;
            barrier();
            for (uint k = 0u; k < VK_ATT_DPT; k++) {
                uint d = tid + k * VK_WG;
                if (d >= D) break;
                float a = acc[k] * alpha;
                for (uint i = 0u; i < n_c; i++) a += p_s[i] * vs_t[i * (HD + 1u) + d];
                acc[k] = a;
            }
            m = m_new;
            barrier();
        }
    } else
    for (uint c0 = j_begin; c0 < j_end; c0 += VK_WG) {
        uint j = c0 + tid;
        float sc = -3.0e38;
        if (j < j_end) {
            uint base = kv_base(s, j, row, kh, D);
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
    uint W = D + 2u, pb = (t * pc.n_heads + h) * pc.n_chunks * W;
    uint ob = pb + gl_WorkGroupID.z * W;
    for (uint k = 0u; k < VK_ATT_DPT; k++) {
        uint d = tid + k * VK_WG;
        if (d >= D) break;
        P[ob + d] = acc[k];
    }
    if (tid == 0u) {
        P[ob + D] = m;
        P[ob + D + 1u] = l;
    }
    // the last of the (token, head)'s n_chunks workgroups to finish merges
    // the partials (their writes made visible before the count goes up)
    memoryBarrierBuffer();
    barrier();
    if (tid == 0u) last_s = atomicAdd(Cnt[t * pc.n_heads + h], 1u) == pc.n_chunks - 1u ? 1u : 0u;
    barrier();
    if (last_s == 0u) return;
    memoryBarrierBuffer();
    uint nc = min(pc.n_chunks, p / pc.chunk + 1u); // chunks past the position stayed empty
    // the chunks' max and sum across the threads (one chunk each, a few when
    // there are more chunks than threads: no serial chain of loads), the
    // weights exp(m_z - M) / L through shared memory, then each output dim
    // sums its chunks 8 loads at a time
    float mz = -3.0e38;
    for (uint z = tid; z < nc; z += VK_WG) mz = max(mz, P[pb + z * W + D]);
    float M = wg_max(mz);
    float lz = 0.0;
    for (uint z = tid; z < nc; z += VK_WG) lz += P[pb + z * W + D + 1u] * exp(P[pb + z * W + D] - M);
    float inv = 1.0 / wg_sum(lz);
    for (uint z = tid; z < nc && z < VK_ATT_MAX_CHUNKS; z += VK_WG) cw_s[z] = exp(P[pb + z * W + D] - M) * inv;
    barrier();
    for (uint d = tid; d < D; d += VK_WG) {
        float sv = 0.0;
        uint z = 0u;
        for (; z + 8u <= nc; z += 8u) {
            float v0 = P[pb + z * W + d], v1 = P[pb + (z + 1u) * W + d], v2 = P[pb + (z + 2u) * W + d];
            float v3 = P[pb + (z + 3u) * W + d], v4 = P[pb + (z + 4u) * W + d], v5 = P[pb + (z + 5u) * W + d];
            float v6 = P[pb + (z + 6u) * W + d], v7 = P[pb + (z + 7u) * W + d];
            sv += cw_s[z] * v0 + cw_s[z + 1u] * v1 + cw_s[z + 2u] * v2 + cw_s[z + 3u] * v3 + cw_s[z + 4u] * v4 +
                  cw_s[z + 5u] * v5 + cw_s[z + 6u] * v6 + cw_s[z + 7u] * v7;
        }
        for (; z < nc; z++) sv += cw_s[z] * P[pb + z * W + d];
        O[qb + d] = sv;
    }
    if (tid == 0u) Cnt[t * pc.n_heads + h] = 0u; // zero again for the next pass
#else
    for (uint k = 0u; k < VK_ATT_DPT; k++) {
        uint d = tid + k * VK_WG;
        if (d >= D) break;
        O[qb + d] = acc[k] / l;
    }
#endif
}
#endif
