#version 450
// matvec.comp — the decode case of matmul (one token), with optional fused
// input and output stages (MODE, specialization constant 1):
//   x' = x                          (MODE & MV_NORM == 0, MODE & MV_GLU == 0)
//   x' = x / rms(x) * norm          (MV_NORM: binding 4 = norm weight words)
//   x' = silu(x) * up               (MV_GLU: binding 4 = the up activations)
//   out[row_out0 + r]  = W[row_w0 + r] . x' (+ bias)
//   out[row_out0 + r] += W[row_w0 + r] . x'  (MV_ACC: the residual add)
// Every thread takes NR rows of its units, so each x' value it loads serves
// NR rows and it keeps NR independent weight loads in flight; x' is built as
// x is loaded (nothing staged, so the weight loads start at once). The norm's
// scale 1/rms(x) multiplies the row sums at the end: the sum of squares is
// reduced together with them (the threads' elements cover x exactly once).
// One reduction at the end (subgroup sums, then a shared slot per subgroup).
// WIDE (float weights whose rows are 16-byte aligned): 16-byte weight loads,
// thread i takes vector i, i + WG, ... of the row (consecutive threads read
// consecutive bytes). Otherwise each thread decodes whole 32-element units
// (dequant.glsl), consecutive threads taking consecutive units.
// Bindings: 0 weight shard, 1 x [ne0], 2 out [n_out], 3 bias words,
// 4 norm weight words (MV_NORM) or up [ne0] (MV_GLU); 5 and 6 for the
// decode epilogue of common/mv_rope.glsl (VK_MV_ROPE / VK_MV_KV: rope and
// the KV store in place of rope_kv.comp, one token): the workgroup's NR rows
// are then NR / 2 whole rope pairs (NEOX: pairs p0 .. p0 + NR/2 - 1 of
// ep_pair_row, their first rows in slots 0 .. NR/2 - 1), and after the
// reduction every row's sum is in shared memory, so the thread of an output
// rotates it with its partner's.
#include "../vk_shader_iface.h"

layout(local_size_x_id = 2) in;
layout(constant_id = 0) const uint NT = 1u; // tokens per workgroup (1..VK_MV_NT_MAX)
layout(constant_id = 1) const uint MODE = 0u;
layout(constant_id = 2) const uint WG = VK_MV_WG;
layout(constant_id = 3) const uint NR = VK_MV_NR;

#ifdef WIDE
layout(std430, binding = 0) readonly buffer WBuf { uvec4 W4[]; };
#else
layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
#endif
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer XBuf4 { vec4 X4[]; }; // the same x, 16 bytes at a time
layout(std430, binding = 2) buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };
layout(std430, binding = 4) readonly buffer NBuf { uint Nw[]; };
layout(std430, binding = 4) readonly buffer NBuf4 { vec4 N4[]; }; // f32 norm / up, 16 bytes at a time

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type, norm_type;
    float eps;
    uint head_dim, block_size, max_blocks, pos_off, seq_off, bt_off; // the rope / KV epilogue only
} pc;

#ifndef WIDE
#include "common/bytes.glsl"
#include "common/dequant.glsl"
#endif

#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "common/words.glsl"
float bias_at(uint r) { return TYPED_WORD_AT(Bw, pc.bias_type, r); }
float norm_at(uint i) { return TYPED_WORD_AT(Nw, pc.norm_type, i); }
#include "common/mv_rope.glsl"

// the segment row of the workgroup's slot rr (0 .. NR - 1): r0 + rr, or NEOX
// rope pairs (the host checked that NR is even and divides head_dim, and
// for NEOX that it is a multiple of 4)
uint wg_row(uint r0, uint rr) {
    if (!EP_NEOX) return r0 + rr;
    const uint NP = NR / 2u;
    return ep_pair_row(gl_WorkGroupID.x * NP + rr % NP, rr / NP);
}

// per subgroup (or thread): NR*NT row sums, then NT sums of squares
shared float red[(NR + 1u) * NT * WG];
// slot k's total over the n_part partials (after the reduction)
float red_sum(uint k, uint n_part) {
    float s = 0.0;
    for (uint i = 0u; i < n_part; i++) s += red[k * WG + i];
    return s;
}
// the rmsnorm scale of a sum of squares
float norm_scale(float q) { return 1.0 / sqrt(q / float(pc.ne0) + pc.eps); }

float silu(float g) { return g / (1.0 + exp(-g)); }
vec4 silu4(vec4 g) { return g / (1.0 + exp(-g)); }

// x'[c..c+3] of a token from its plain x values xr at xi = token * ne0 + c
// (for the norm: without its scale, which is applied to the row sums at
// the end); c a multiple of 4
vec4 xin4(uint c, uint xi, vec4 xr) {
    if ((MODE & VK_MV_NORM) != 0u) {
        if (pc.norm_type == 0u) return xr * N4[c >> 2];
        return xr * vec4(norm_at(c), norm_at(c + 1u), norm_at(c + 2u), norm_at(c + 3u));
    }
    if ((MODE & VK_MV_GLU) != 0u) return silu4(xr) * N4[xi >> 2];
    return xr;
}
float xin1(uint c, uint xi, float xr) {
    if ((MODE & VK_MV_NORM) != 0u) return xr * norm_at(c);
    if ((MODE & VK_MV_GLU) != 0u) return silu(xr) * uintBitsToFloat(Nw[xi]);
    return xr;
}

#ifdef WIDE
#if defined(TYPE_F32)
const uint EPV = 4u; // elements per 16-byte vector
#else
const uint EPV = 8u;
#endif
// the 8 (f16/bf16) or 4 (f32) weights of the 16-byte vector w
void wide_unpack(uvec4 w, out vec4 a, out vec4 b) {
#if defined(TYPE_F32)
    a = uintBitsToFloat(w);
    b = vec4(0.0);
#elif defined(TYPE_F16)
    a = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
    b = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
#else
    a = uintBitsToFloat(uvec4(w.x << 16, w.x & 0xFFFF0000u, w.y << 16, w.y & 0xFFFF0000u));
    b = uintBitsToFloat(uvec4(w.z << 16, w.z & 0xFFFF0000u, w.w << 16, w.w & 0xFFFF0000u));
#endif
}
#endif

#ifndef WIDE
// x' of unit u of token t (zero past ne0), and the sum of its plain x^2 added to ss
void unit_x(uint t, uint u, out vec4 xv[8], inout float ss) {
    uint xb = t * pc.ne0;
    if ((pc.ne0 & 31u) == 0u) {
        for (uint j = 0u; j < 8u; j++) {
            uint c = u * 32u + 4u * j;
            vec4 xr = X4[(xb + c) >> 2];
            ss += dot(xr, xr);
            xv[j] = xin4(c, xb + c, xr);
        }
        return;
    }
    for (uint j = 0u; j < 8u; j++) {
        vec4 v = vec4(0.0);
        for (uint e = 0u; e < 4u; e++) {
            uint c = u * 32u + 4u * j + e;
            float xr = c < pc.ne0 ? X[xb + c] : 0.0;
            ss += xr * xr;
            v[e] = c < pc.ne0 ? xin1(c, xb + c, xr) : 0.0;
        }
        xv[j] = v;
    }
}

float unit_dot(float w[32], vec4 xv[8]) {
    float s = 0.0;
    for (uint j = 0u; j < 8u; j++)
        s += dot(vec4(w[4u * j], w[4u * j + 1u], w[4u * j + 2u], w[4u * j + 3u]), xv[j]);
    return s;
}
#endif

// the decode epilogue (EP: one token, NT = 1, the rows whole rope pairs):
// after the reduction, row slot rr's sum (with the norm's scale and bias)
float ep_sum(uint rr, uint n_part, float scale) {
    float s = red_sum(rr, n_part) * scale;
    if (pc.bias_type != VK_NO_BIAS) s += bias_at(pc.row_out0 + wg_row(gl_WorkGroupID.x * NR, rr));
    return s;
}
// slot rr's output: rotated with its pair's other row (slot rr ^ 1, or
// rr +- NR/2 for NEOX) under VK_MV_ROPE
float ep_value(uint rr, uint n_part, float scale) {
    float v = ep_sum(rr, n_part, scale);
    if (!EP_ROPE) return v;
    const uint NP = NR / 2u;
    bool first = EP_NEOX ? rr < NP : (rr & 1u) == 0u;
    uint mate = EP_NEOX ? (first ? rr + NP : rr - NP) : rr ^ 1u;
    float m = ep_sum(mate, n_part, scale);
    uint r0 = gl_WorkGroupID.x * NR;
    vec2 o = first ? ep_rotate(pc.row_out0 + wg_row(r0, rr), v, m) : ep_rotate(pc.row_out0 + wg_row(r0, mate), m, v);
    return first ? o.x : o.y;
}
// thread k < NR / 2 writes slots 2k and 2k + 1, adjacent rows (NEOX: the
// host checked that NR / 2 is even, so both lie in the same half of a head)
void ep_out(uint tid, uint n_part) {
    float scale = (MODE & VK_MV_NORM) != 0u ? norm_scale(red_sum(NR, n_part)) : 1.0;
    uint rr = 2u * tid, r0 = gl_WorkGroupID.x * NR;
    if (rr >= NR || wg_row(r0, rr) >= pc.n_rows) return;
    uint gr = pc.row_out0 + wg_row(r0, rr);
    ep_store2(gr, ep_value(rr, n_part, scale), ep_value(rr + 1u, n_part, scale));
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    ep_prefetch();
    uint r0 = gl_WorkGroupID.x * NR, t0 = gl_WorkGroupID.y * NT;
    float acc[NR * NT]; // [row][token]
    float ss[NT];       // sum of x^2 over this thread's elements, per token (the norm's scale)
    for (uint i = 0u; i < NR * NT; i++) acc[i] = 0.0;
    for (uint i = 0u; i < NT; i++) ss[i] = 0.0;
    // rows past the segment repeat its last row, tokens past n_tok the last
    // token (in bounds); their sums are dropped
    uint last = pc.n_rows - 1u, last_t = pc.n_tok - 1u;
    float o_pre = 0.0; // the residual of output k = tid (see the end)
    if ((MODE & VK_MV_ACC) != 0u && tid < NR * NT) {
        uint r = r0 + tid / NT, t = t0 + tid % NT;
        if (r < pc.n_rows && t < pc.n_tok) o_pre = O[t * pc.n_out + pc.row_out0 + r];
    }

#ifdef WIDE
    // rows of 16-byte vectors: ne0 is a multiple of EPV (so of 4)
    uint vpr = pc.row_bytes / 16u;
    for (uint i = tid; i < vpr; i += WG) {
        uint c = i * EPV;
        vec4 xa[NT], xb[NT];
        for (uint tt = 0u; tt < NT; tt++) {
            uint xi = min(t0 + tt, last_t) * pc.ne0 + c;
            vec4 ra = X4[xi >> 2];
            xa[tt] = xin4(c, xi, ra);
            ss[tt] += dot(ra, ra);
            xb[tt] = vec4(0.0);
            if (EPV == 8u) {
                vec4 rb = X4[(xi >> 2) + 1u];
                xb[tt] = xin4(c + 4u, xi + 4u, rb);
                ss[tt] += dot(rb, rb);
            }
        }
        for (uint rr = 0u; rr < NR; rr++) {
            uint r = min(wg_row(r0, rr), last);
            vec4 wa, wb;
            wide_unpack(W4[(pc.row_w0 + r) * vpr + i], wa, wb);
            for (uint tt = 0u; tt < NT; tt++) acc[rr * NT + tt] += dot(wa, xa[tt]) + dot(wb, xb[tt]);
        }
    }
#else
    uint nu = unit_count(pc.ne0);
    for (uint u = tid; u < nu; u += WG) {
        // one token (the host uses NT = 1 here: the decoding code is large and
        // would be repeated per token): its x' unit loaded once, then each row
        // decoded and used at once
        vec4 xv[8];
#ifdef BLOCK32
        // every row's block fetched before any is decoded: NR blocks' loads
        // in flight at once (decoding row by row from one staging array
        // serialised them, one memory latency per row)
        uint R[NR][BLK_N], al[NR];
        for (uint rr = 0u; rr < NR; rr++) {
            uint o = (pc.row_w0 + min(wg_row(r0, rr), last)) * pc.row_bytes + u * BLK_BYTES;
            blk_load(o, R[rr]);
            al[rr] = o & 2u;
        }
        unit_x(min(t0, last_t), u, xv, ss[0]);
        for (uint rr = 0u; rr < NR; rr++) {
            float w[32];
            unit_decode(R[rr], al[rr], w);
            acc[rr] += unit_dot(w, xv);
        }
#else
        unit_x(min(t0, last_t), u, xv, ss[0]);
        for (uint rr = 0u; rr < NR; rr++) {
            float w[32];
            unit_dequant((pc.row_w0 + min(wg_row(r0, rr), last)) * pc.row_bytes, u, pc.ne0, w);
            acc[rr] += unit_dot(w, xv);
        }
#endif
    }
#endif

    // slots: NR*NT row sums, then NT sums of squares
    const uint NS = (NR + 1u) * NT;
#ifdef USE_SUBGROUP
    for (uint k = 0u; k < NR * NT; k++) {
        float s = subgroupAdd(acc[k]);
        if (subgroupElect()) red[k * WG + gl_SubgroupID] = s;
    }
    if ((MODE & VK_MV_NORM) != 0u)
        for (uint tt = 0u; tt < NT; tt++) {
            float s = subgroupAdd(ss[tt]);
            if (subgroupElect()) red[(NR * NT + tt) * WG + gl_SubgroupID] = s;
        }
    barrier();
    uint n_part = gl_NumSubgroups;
#else
    for (uint k = 0u; k < NR * NT; k++) red[k * WG + tid] = acc[k];
    for (uint tt = 0u; tt < NT; tt++) red[(NR * NT + tt) * WG + tid] = ss[tt];
    barrier();
    for (uint st = WG / 2u; st > 0u; st >>= 1) {
        if (tid < st)
            for (uint k = 0u; k < NS; k++) red[k * WG + tid] += red[k * WG + tid + st];
        barrier();
    }
    uint n_part = 1u;
#endif
    if (EP) {
        ep_out(tid, n_part);
        return;
    }
    // one thread per (row, token) output (its residual, VK_MV_ACC, was
    // loaded before the dot: the first output's load is in flight meanwhile)
    for (uint k = tid; k < NR * NT; k += WG) {
        uint rr = k / NT, tt = k % NT, r = r0 + rr, t = t0 + tt;
        if (r >= pc.n_rows || t >= pc.n_tok) continue;
        float s = red_sum(k, n_part);
        if ((MODE & VK_MV_NORM) != 0u) s *= norm_scale(red_sum(NR * NT + tt, n_part));
        uint ro = pc.row_out0 + r, oi = t * pc.n_out + ro;
        if (pc.bias_type != VK_NO_BIAS) s += bias_at(ro);
        if ((MODE & VK_MV_ACC) != 0u) s += k == tid ? o_pre : O[oi];
        O[oi] = s;
    }
}
