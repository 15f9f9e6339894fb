#version 450
// attention_gqa.comp — the per-token attention (decode, and the short runs of
// a mixed batch): out[t][h] = softmax(q[t][h] . K^T * scale) V over positions
// 0..pos[t] of slot seq[t]. One workgroup takes one (kv head, token, chunk of
// positions) and every query head that shares the kv head (GQA), so each K/V
// row is loaded once for all of them (attention.comp loads it per query head).
//
// Teams of 8 lanes: the workgroup's 32 teams are (head g, slice) pairs, g <
// n_rep = n_heads / n_kv_heads, n_sl = 32 / n_rep slices. A chunk is staged
// CP positions at a time (K and V as f32 in shared memory, the loads of the
// whole stage issued together); slice sl of head g scores positions sl,
// sl + n_sl, ... of the stage, its 8 lanes each owning dims lane + 8k (a
// score is reduced across the team with three shuffles), and keeps its own
// online softmax (max, sum, accumulator). The slices of a head are then
// joined through shared memory. Teams are built from subgroup lanes, so the
// shuffles stay inside them (subgroup sizes that are multiples of 8).
//
// Chunks (n_chunks > 1, flash-decoding): the joined partial [acc D][max][sum]
// of (token, head, chunk) goes to the partials; the last workgroup of a
// (token, kv head) to finish (an atomic count, zero between passes) merges
// the chunks of all its heads, with the same teams: slice sl takes chunks sl,
// sl + n_sl, ... So the split costs no second dispatch and barrier.
// kv_type: 0 f32, 1 f16, 2 Q8_0 (common/kv.glsl).
// With ROPE (decode batches whose tokens are all of different sequences, f32
// or f16 caches) the kernel also does rope_kv.comp's work, which then costs
// no dispatch and barrier of its own: each workgroup rotates its heads' q as
// it loads them, the workgroup whose chunk holds the token's position
// rotates k and stores k and v there (and stages them from shared memory),
// and the workgroup that finishes a (token, kv head) writes the rotated q
// back (after every workgroup has read it). Rotation as rope_kv.comp.
// Bindings: 0 out [n_tok][n_heads*D], 1 q, 2 K cache (layer), 3 V cache,
// 4 batch info, 5 partials [n_tok][n_heads][n_chunks][D+2], 6 counts
// [n_tok][n_kv_heads]; ROPE: 7 k, 8 v [n_tok][n_kv_heads*D], 9 inv_freq [D/2].
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;
// the head dim (host: a multiple of 8, at most 128)
layout(constant_id = 1) const uint HD = 64u;

layout(std430, binding = 0) writeonly buffer OBuf { float O[]; };
#ifdef ROPE
layout(std430, binding = 1) buffer QBuf { float Q[]; };
layout(std430, binding = 2) buffer KcBuf { uint Kc[]; };
layout(std430, binding = 3) buffer VcBuf { uint Vc[]; };
layout(std430, binding = 7) readonly buffer KrBuf { float Kr[]; };
layout(std430, binding = 8) readonly buffer VrBuf { float Vr[]; };
layout(std430, binding = 9) readonly buffer FBuf { float F[]; };
#else
layout(std430, binding = 1) readonly buffer QBuf { float Q[]; };
layout(std430, binding = 2) readonly buffer KcBuf { uint Kc[]; };
layout(std430, binding = 3) readonly buffer VcBuf { uint Vc[]; };
#endif
layout(std430, binding = 4) readonly buffer IBuf { int Info[]; };
layout(std430, binding = 5) coherent buffer PBuf { float P[]; };
layout(std430, binding = 6) coherent buffer CBuf { uint Cnt[]; };

layout(push_constant) uniform PC {
    uint n_tok, n_heads, n_kv_heads, head_dim, block_size, max_blocks, kv_type;
    float scale;
    uint pos_off, seq_off, bt_off, chunk, n_chunks, rope_mode;
} pc;

#include "common/kv.glsl"
#ifdef ROPE
#include "common/rope.glsl"
shared float newk_s[HD], newv_s[HD]; // the token's own k (rotated, as the cache holds it) and v
// element e of the head at BUF[base], rotated for position pos (mode 0:
// adjacent pairs, 1: halves)
#define ROT(BUF, base, e, pos) rot2(pc.rope_mode == 0u ? BUF[(base) + ((e) & ~1u)] : BUF[(base) + ((e) % (HD / 2u))],  \
    pc.rope_mode == 0u ? BUF[(base) + ((e) | 1u)] : BUF[(base) + ((e) % (HD / 2u)) + HD / 2u], e, pos)
float rot2(float x0, float x1, uint e, float pos) {
    uint i = pc.rope_mode == 0u ? e >> 1 : e % (HD / 2u);
    bool second = pc.rope_mode == 0u ? (e & 1u) != 0u : e >= HD / 2u;
    vec2 cs = rope_cs(pos, F[i]);
    return second ? x0 * cs.y + x1 * cs.x : x0 * cs.x - x1 * cs.y;
}
#endif

const uint NTEAM = 32u;
const uint DPL = HD / 8u;                 // dims per lane
const uint CP = HD <= 64u ? 48u : 24u;    // positions per stage: K and V take 25 KiB
const uint ROW = HD + 1u;                 // padded rows: no bank conflicts
shared float kv_s[2u * CP * ROW];         // K rows, then V rows; then the joins' (acc, max, sum) per team
shared uint base_s[CP];
shared uint last_s;

float sum8(float v) { // across the lane's team of 8
    v += subgroupShuffleXor(v, 1u);
    v += subgroupShuffleXor(v, 2u);
    return v + subgroupShuffleXor(v, 4u);
}

// the base of position j of slot s in this layer's cache, kv head kh
uint kv_base(uint s, uint j, uint row, uint kh) {
    uint slot = kv_slot_index(s, j, pc.bt_off, pc.max_blocks, pc.block_size);
    return kv_head_base(pc.kv_type, slot, row, kh, HD);
}

float kv_elem_f(uint which, uint base, uint d) {
    if (pc.kv_type == 2u) return which == 0u ? KV_Q8_AT(Kc, base, d) : KV_Q8_AT(Vc, base, d);
    return uintBitsToFloat(which == 0u ? Kc[base + d] : Vc[base + d]);
}

// K and V of positions base_s[0 .. n_c) (c0 + i) into kv_s; with ROPE the
// token's own position p from newk_s / newv_s
void stage(uint n_c, uint c0, uint p) {
    uint tid = gl_LocalInvocationID.x;
    if (pc.kv_type == 1u) {
        // every word of the stage loaded before any is stored (a loop that
        // loads and stores a word an iteration waits one memory latency per
        // iteration: SW of them)
        const uint WPR = HD / 2u, SW = (CP * WPR + 255u) / 256u; // words per row (f16 bases are even); per thread
        uint kw[SW], vw[SW];
        [[unroll]] for (uint k = 0u; k < SW; k++) {
            uint e = min(tid + 256u * k, n_c * WPR - 1u), w = (base_s[e / WPR] >> 1) + e % WPR;
            kw[k] = Kc[w];
            vw[k] = Vc[w];
        }
        [[unroll]] for (uint k = 0u; k < SW; k++) {
            uint e = tid + 256u * k;
            if (e >= n_c * WPR) break;
            uint i = e / WPR, dw = e % WPR;
#ifdef ROPE
            vec2 kk, vv;
            if (c0 + i == p) {
                kk = vec2(newk_s[2u * dw], newk_s[2u * dw + 1u]);
                vv = vec2(newv_s[2u * dw], newv_s[2u * dw + 1u]);
            } else {
                kk = unpackHalf2x16(kw[k]);
                vv = unpackHalf2x16(vw[k]);
            }
#else
            vec2 kk = unpackHalf2x16(kw[k]), vv = unpackHalf2x16(vw[k]);
#endif
            kv_s[i * ROW + 2u * dw] = kk.x;
            kv_s[i * ROW + 2u * dw + 1u] = kk.y;
            kv_s[(CP + i) * ROW + 2u * dw] = vv.x;
            kv_s[(CP + i) * ROW + 2u * dw + 1u] = vv.y;
        }
        return;
    }
    for (uint e = tid; e < n_c * HD; e += 256u) {
        uint i = e / HD, d = e % HD;
#ifdef ROPE
        if (c0 + i == p) {
            kv_s[i * ROW + d] = newk_s[d];
            kv_s[(CP + i) * ROW + d] = newv_s[d];
            continue;
        }
#endif
        kv_s[i * ROW + d] = kv_elem_f(0u, base_s[i], d);
        kv_s[(CP + i) * ROW + d] = kv_elem_f(1u, base_s[i], d);
    }
}

// Joins the slices' (m, l, acc) of each head through kv_s (free by then: the
// caller passed a barrier after the last use); slice 0's team of head g then
// holds the result in m, l, acc (other teams' values are dropped).
void join_slices(inout float m, inout float l, inout float acc[DPL], uint team, uint lane, uint g, uint n_rep, uint n_sl, bool act) {
    const uint W = HD + 2u;
    if (act) {
        for (uint k = 0u; k < DPL; k++) kv_s[team * W + lane + 8u * k] = acc[k];
        if (lane == 0u) {
            kv_s[team * W + HD] = m;
            kv_s[team * W + HD + 1u] = l;
        }
    }
    barrier();
    if (act && team < n_rep) {
        float M = -3.0e38;
        for (uint q = 0u; q < n_sl; q++) M = max(M, kv_s[(q * n_rep + g) * W + HD]);
        float L = 0.0;
        float a[DPL];
        for (uint k = 0u; k < DPL; k++) a[k] = 0.0;
        for (uint q = 0u; q < n_sl; q++) {
            uint b = (q * n_rep + g) * W;
            float c = exp(kv_s[b + HD] - M);
            L += kv_s[b + HD + 1u] * c;
            for (uint k = 0u; k < DPL; k++) a[k] += kv_s[b + lane + 8u * k] * c;
        }
        m = M;
        l = L;
        for (uint k = 0u; k < DPL; k++) acc[k] = a[k];
    }
    barrier();
}

// ROPE: the rotated q back in place, by the workgroup that finishes the
// (token, kv head): every workgroup has read q by then; all of a head's
// values are read before any is written (a value is its pair's partner)
void store_rotated_q(uint qb, uint lane, bool mine) {
#ifdef ROPE
    float posf = float(uint(Info[pc.pos_off + gl_WorkGroupID.y]));
    float qr[DPL];
    for (uint k = 0u; k < DPL; k++) qr[k] = mine ? ROT(Q, qb, lane + 8u * k, posf) : 0.0;
    barrier();
    if (mine)
        for (uint k = 0u; k < DPL; k++) Q[qb + lane + 8u * k] = qr[k];
#endif
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint kh = gl_WorkGroupID.x, t = gl_WorkGroupID.y, z = gl_WorkGroupID.z;
    // teams from subgroup lanes: lanes 8i .. 8i + 7 of a subgroup
    uint team = gl_SubgroupID * (gl_SubgroupSize / 8u) + gl_SubgroupInvocationID / 8u;
    uint lane = gl_SubgroupInvocationID % 8u;
    uint n_rep = pc.n_heads / pc.n_kv_heads, n_sl = NTEAM / n_rep;
    uint g = team % n_rep, sl = team / n_rep;
    bool act = sl < n_sl;
    uint h = kh * n_rep + g, row = pc.n_kv_heads * HD;
    uint qb = (t * pc.n_heads + h) * HD;

    uint p = uint(Info[pc.pos_off + t]), s = uint(Info[pc.seq_off + t]);
    uint j0 = z * pc.chunk, j1 = min(p + 1u, j0 + pc.chunk);
    float qv[DPL];
#ifdef ROPE
    float posf = float(p);
    for (uint k = 0u; k < DPL; k++) qv[k] = act ? ROT(Q, qb, lane + 8u * k, posf) * pc.scale : 0.0;
    if (j0 <= p) { // this chunk holds the token's position: its k and v go to the cache here
        uint kb = t * row + kh * HD, base = kv_base(s, p, row, kh);
        for (uint e = tid; e < HD / 2u; e += 256u) {
            vec2 kk = vec2(ROT(Kr, kb, 2u * e, posf), ROT(Kr, kb, 2u * e + 1u, posf));
            vec2 vv = vec2(Vr[kb + 2u * e], Vr[kb + 2u * e + 1u]);
            if (pc.kv_type == 1u) {
                uint wk = packHalf2x16(kk), wv = packHalf2x16(vv);
                Kc[(base >> 1) + e] = wk;
                Vc[(base >> 1) + e] = wv;
                kk = unpackHalf2x16(wk); // staged as the cache holds them
                vv = unpackHalf2x16(wv);
            } else {
                Kc[base + 2u * e] = floatBitsToUint(kk.x);
                Kc[base + 2u * e + 1u] = floatBitsToUint(kk.y);
                Vc[base + 2u * e] = floatBitsToUint(vv.x);
                Vc[base + 2u * e + 1u] = floatBitsToUint(vv.y);
            }
            newk_s[2u * e] = kk.x;
            newk_s[2u * e + 1u] = kk.y;
            newv_s[2u * e] = vv.x;
            newv_s[2u * e + 1u] = vv.y;
        }
    }
#else
    for (uint k = 0u; k < DPL; k++) qv[k] = act ? Q[qb + lane + 8u * k] * pc.scale : 0.0;
#endif

    float m = -3.0e38, l = 0.0;
    float acc[DPL];
    for (uint k = 0u; k < DPL; k++) acc[k] = 0.0;
    for (uint c0 = j0; c0 < j1; c0 += CP) {
        uint n_c = min(CP, j1 - c0);
        if (tid < n_c) base_s[tid] = kv_base(s, c0 + tid, row, kh);
        barrier();
        stage(n_c, c0, p);
        barrier();
        if (act)
            for (uint i = sl; i < n_c; i += n_sl) {
                float d = 0.0;
                for (uint k = 0u; k < DPL; k++) d += qv[k] * kv_s[i * ROW + lane + 8u * k];
                float sc = sum8(d);
                float mn = max(m, sc), al = exp(m - mn), pp = exp(sc - mn);
                l = l * al + pp;
                for (uint k = 0u; k < DPL; k++) acc[k] = acc[k] * al + pp * kv_s[(CP + i) * ROW + lane + 8u * k];
                m = mn;
            }
        barrier();
    }
    join_slices(m, l, acc, team, lane, g, n_rep, n_sl, act);

    if (pc.n_chunks > 1u) {
        const uint W = HD + 2u;
        if (act && team < n_rep) {
            uint ob = ((t * pc.n_heads + h) * pc.n_chunks + z) * W;
            for (uint k = 0u; k < DPL; k++) P[ob + lane + 8u * k] = acc[k];
            if (lane == 0u) {
                P[ob + HD] = m;
                P[ob + HD + 1u] = l;
            }
        }
        // the last of the (token, kv head)'s workgroups merges (the partials
        // made visible before the count goes up)
        memoryBarrierBuffer();
        barrier();
        if (tid == 0u) last_s = atomicAdd(Cnt[t * pc.n_kv_heads + kh], 1u) == pc.n_chunks - 1u ? 1u : 0u;
        barrier();
        if (last_s == 0u) return;
        memoryBarrierBuffer();
        uint nc = min(pc.n_chunks, p / pc.chunk + 1u); // chunks past the position stayed empty
        m = -3.0e38;
        l = 0.0;
        for (uint k = 0u; k < DPL; k++) acc[k] = 0.0;
        // MU chunks a step, all their loads issued before any is merged (one
        // chain of memory latencies per MU chunks, not per chunk); steps past
        // the last chunk read it again and count as empty
        const uint MU = DPL <= 8u ? 4u : 2u;
        if (act)
            for (uint z0 = sl; z0 < nc; z0 += MU * n_sl) {
                float mzs[MU], lzs[MU], az[MU * DPL];
                for (uint q = 0u; q < MU; q++) {
                    uint zz = z0 + q * n_sl;
                    bool ok = zz < nc;
                    uint ob = ((t * pc.n_heads + h) * pc.n_chunks + min(zz, nc - 1u)) * W;
                    float mz = P[ob + HD], lz = P[ob + HD + 1u];
                    mzs[q] = ok ? mz : -3.0e38;
                    lzs[q] = ok ? lz : 0.0;
                    for (uint k = 0u; k < DPL; k++) az[q * DPL + k] = P[ob + lane + 8u * k];
                }
                for (uint q = 0u; q < MU; q++) {
                    float mn = max(m, mzs[q]), al = exp(m - mn), c = exp(mzs[q] - mn) * (lzs[q] > 0.0 ? 1.0 : 0.0);
                    l = l * al + lzs[q] * c;
                    for (uint k = 0u; k < DPL; k++) acc[k] = acc[k] * al + az[q * DPL + k] * c;
                    m = mn;
                }
            }
        join_slices(m, l, acc, team, lane, g, n_rep, n_sl, act);
        if (tid == 0u) Cnt[t * pc.n_kv_heads + kh] = 0u; // zero again for the next pass
    }
    // one workgroup per (token, kv head) gets here: the only one, or the merging one
    if (act && team < n_rep)
        for (uint k = 0u; k < DPL; k++) O[qb + lane + 8u * k] = acc[k] / l;
    store_rotated_q(qb, lane, act && team < n_rep);
}
