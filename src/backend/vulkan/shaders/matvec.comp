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
// 4 norm weight words (MV_NORM) or up [ne0] (MV_GLU).
#include "../vk_shader_iface.h"

layout(local_size_x_id = 2) in;
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
} pc;

#ifndef WIDE
#include "common/bytes.glsl"
#include "common/dequant.glsl"
#endif

#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

// 16-bit value i of a word array (little-endian halves)
float half_word(uint w, uint i) { return unpackHalf2x16((w >> ((i & 1u) * 16u)) & 0xFFFFu).x; }
float bf16_word(uint w, uint i) { return uintBitsToFloat(((w >> ((i & 1u) * 16u)) & 0xFFFFu) << 16); }

float bias_at(uint r) {
    if (pc.bias_type == 0u) return uintBitsToFloat(Bw[r]);
    if (pc.bias_type == 1u) return half_word(Bw[r >> 1], r);
    return bf16_word(Bw[r >> 1], r);
}

float norm_at(uint i) {
    if (pc.norm_type == 0u) return uintBitsToFloat(Nw[i]);
    if (pc.norm_type == 1u) return half_word(Nw[i >> 1], i);
    return bf16_word(Nw[i >> 1], i);
}

shared float red[(NR + 1u) * WG];

float silu(float g) { return g / (1.0 + exp(-g)); }
vec4 silu4(vec4 g) { return g / (1.0 + exp(-g)); }

// x'[c..c+3] from the plain x values xr (for the norm: without its scale,
// which is applied to the row sums at the end); c a multiple of 4
vec4 xin4(uint c, vec4 xr) {
    if ((MODE & VK_MV_NORM) != 0u) {
        if (pc.norm_type == 0u) return xr * N4[c >> 2];
        return xr * vec4(norm_at(c), norm_at(c + 1u), norm_at(c + 2u), norm_at(c + 3u));
    }
    if ((MODE & VK_MV_GLU) != 0u) return silu4(xr) * N4[c >> 2];
    return xr;
}
float xin1(uint c, float xr) {
    if ((MODE & VK_MV_NORM) != 0u) return xr * norm_at(c);
    if ((MODE & VK_MV_GLU) != 0u) return silu(xr) * uintBitsToFloat(Nw[c]);
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

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint r0 = gl_WorkGroupID.x * NR;
    float acc[NR];
    for (uint i = 0u; i < NR; i++) acc[i] = 0.0;
    float ss = 0.0; // sum of x^2 over this thread's elements (the norm's scale)
    // rows past the segment repeat its last row (in bounds); their sums are dropped
    uint last = pc.n_rows - 1u;

#ifdef WIDE
    // rows of 16-byte vectors: ne0 is a multiple of EPV (so of 4)
    uint vpr = pc.row_bytes / 16u;
    for (uint i = tid; i < vpr; i += WG) {
        uint c = i * EPV;
        vec4 ra = X4[c >> 2], xa = xin4(c, ra), xb = vec4(0.0);
        ss += dot(ra, ra);
        if (EPV == 8u) {
            vec4 rb = X4[(c >> 2) + 1u];
            xb = xin4(c + 4u, rb);
            ss += dot(rb, rb);
        }
        for (uint rr = 0u; rr < NR; rr++) {
            uint r = min(r0 + rr, last);
            vec4 wa, wb;
            wide_unpack(W4[(pc.row_w0 + r) * vpr + i], wa, wb);
            acc[rr] += dot(wa, xa) + dot(wb, xb);
        }
    }
#else
    uint nu = unit_count(pc.ne0);
    for (uint u = tid; u < nu; u += WG) {
        vec4 xv[8];
        if ((pc.ne0 & 31u) == 0u) {
            for (uint j = 0u; j < 8u; j++) {
                vec4 xr = X4[u * 8u + j];
                ss += dot(xr, xr);
                xv[j] = xin4(u * 32u + 4u * j, xr);
            }
        } else {
            for (uint j = 0u; j < 8u; j++) {
                vec4 v = vec4(0.0);
                for (uint e = 0u; e < 4u; e++) {
                    uint c = u * 32u + 4u * j + e;
                    float xr = c < pc.ne0 ? X[c] : 0.0;
                    ss += xr * xr;
                    v[e] = c < pc.ne0 ? xin1(c, xr) : 0.0;
                }
                xv[j] = v;
            }
        }
        for (uint rr = 0u; rr < NR; rr++) {
            uint r = min(r0 + rr, last);
            float w[32];
            unit_dequant((pc.row_w0 + r) * pc.row_bytes, u, pc.ne0, w);
            float s = 0.0;
            for (uint j = 0u; j < 8u; j++)
                s += dot(vec4(w[4u * j], w[4u * j + 1u], w[4u * j + 2u], w[4u * j + 3u]), xv[j]);
            acc[rr] += s;
        }
    }
#endif

    // row sums, and the sum of squares in slot NR
#ifdef USE_SUBGROUP
    for (uint rr = 0u; rr < NR; rr++) {
        float s = subgroupAdd(acc[rr]);
        if (subgroupElect()) red[rr * WG + gl_SubgroupID] = s;
    }
    if ((MODE & VK_MV_NORM) != 0u) {
        float s = subgroupAdd(ss);
        if (subgroupElect()) red[NR * WG + gl_SubgroupID] = s;
    }
    barrier();
    if (tid < NR && r0 + tid < pc.n_rows) {
        float s = 0.0, q = 0.0;
        for (uint i = 0u; i < gl_NumSubgroups; i++) s += red[tid * WG + i];
        if ((MODE & VK_MV_NORM) != 0u)
            for (uint i = 0u; i < gl_NumSubgroups; i++) q += red[NR * WG + i];
#else
    for (uint rr = 0u; rr < NR; rr++) red[rr * WG + tid] = acc[rr];
    red[NR * WG + tid] = ss;
    barrier();
    for (uint st = WG / 2u; st > 0u; st >>= 1) {
        if (tid < st)
            for (uint rr = 0u; rr <= NR; rr++) red[rr * WG + tid] += red[rr * WG + tid + st];
        barrier();
    }
    if (tid < NR && r0 + tid < pc.n_rows) {
        float s = red[tid * WG], q = red[NR * WG];
#endif
        if ((MODE & VK_MV_NORM) != 0u) s *= 1.0 / sqrt(q / float(pc.ne0) + pc.eps);
        uint ro = pc.row_out0 + r0 + tid;
        if (pc.bias_type != VK_NO_BIAS) s += bias_at(ro);
        if ((MODE & VK_MV_ACC) != 0u) s += O[ro];
        O[ro] = s;
    }
}
