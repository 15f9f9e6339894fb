#version 450
// matvec.comp — the decode case of matmul (one token): out[row_out0 + r] =
// sum_c W[row_w0 + r][c] * x[c] (+ bias). A workgroup of VK_MV_WG threads
// takes VK_MV_NR rows together, so each thread keeps VK_MV_NR independent
// loads in flight, and reduces them all at the end with one barrier
// (subgroup sums, then one shared slot per subgroup and row).
// WIDE (float weights whose rows are 16-byte aligned): 16-byte loads, thread i
// takes vector i, i + VK_MV_WG, ... of the row, so a subgroup reads
// consecutive 16-byte vectors. Otherwise each thread decodes whole 32-element
// units (dequant.glsl), consecutive threads taking consecutive units.
// Bindings: 0 weight shard, 1 x [ne0], 2 out [n_out], 3 bias words.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_MV_WG) in;

#ifdef WIDE
layout(std430, binding = 0) readonly buffer WBuf { uvec4 W4[]; };
layout(std430, binding = 1) readonly buffer XBuf { vec4 X4[]; };
#else
layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
#endif
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type;
} pc;

#ifndef WIDE
#include "common/bytes.glsl"
#include "common/dequant.glsl"
#endif

#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

float bias_at(uint r) {
    if (pc.bias_type == 0u) return uintBitsToFloat(Bw[r]);
    uint h = (Bw[r >> 1] >> ((r & 1u) * 16u)) & 0xFFFFu;
    if (pc.bias_type == 1u) return unpackHalf2x16(h).x;
    return uintBitsToFloat(h << 16);
}

#ifdef WIDE
// dot of the 16 bytes w with the matching x elements (8 for 16-bit types, 4 for f32)
float wide_dot(uvec4 w, uint i) {
#if defined(TYPE_F32)
    return dot(uintBitsToFloat(w), X4[i]);
#else
    vec4 xa = X4[2u * i], xb = X4[2u * i + 1u];
#if defined(TYPE_F16)
    vec2 a = unpackHalf2x16(w.x), b = unpackHalf2x16(w.y), c = unpackHalf2x16(w.z), d = unpackHalf2x16(w.w);
#else
    vec2 a = uintBitsToFloat(uvec2(w.x << 16, w.x & 0xFFFF0000u));
    vec2 b = uintBitsToFloat(uvec2(w.y << 16, w.y & 0xFFFF0000u));
    vec2 c = uintBitsToFloat(uvec2(w.z << 16, w.z & 0xFFFF0000u));
    vec2 d = uintBitsToFloat(uvec2(w.w << 16, w.w & 0xFFFF0000u));
#endif
    return dot(vec4(a, b), xa) + dot(vec4(c, d), xb);
#endif
}
#endif

shared float red[VK_MV_NR * VK_MV_WG];

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint r0 = gl_WorkGroupID.x * VK_MV_NR;
    float acc[VK_MV_NR];
    for (uint i = 0u; i < VK_MV_NR; i++) acc[i] = 0.0;
    // rows past the segment repeat its last row (in bounds); their sums are dropped
    uint last = pc.n_rows - 1u;

#ifdef WIDE
    uint vpr = pc.row_bytes / 16u; // 16-byte vectors per row
    for (uint i = tid; i < vpr; i += VK_MV_WG) {
        for (uint rr = 0u; rr < VK_MV_NR; rr++) {
            uint r = min(r0 + rr, last);
            acc[rr] += wide_dot(W4[(pc.row_w0 + r) * vpr + i], i);
        }
    }
#else
    uint nu = unit_count(pc.ne0);
    for (uint u = tid; u < nu; u += VK_MV_WG) {
        uint xb = u * 32u;
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
        uint lim = min(32u, pc.ne0 - xb);
#else
        const uint lim = 32u;
#endif
        for (uint rr = 0u; rr < VK_MV_NR; rr++) {
            uint r = min(r0 + rr, last);
            float w[32];
            unit_dequant((pc.row_w0 + r) * pc.row_bytes, u, pc.ne0, w);
            float s = 0.0;
            for (uint i = 0u; i < lim; i++) s += w[i] * X[xb + i];
            acc[rr] += s;
        }
    }
#endif

#ifdef USE_SUBGROUP
    for (uint rr = 0u; rr < VK_MV_NR; rr++) {
        float s = subgroupAdd(acc[rr]);
        if (subgroupElect()) red[rr * VK_MV_WG + gl_SubgroupID] = s;
    }
    barrier();
    if (tid < VK_MV_NR && r0 + tid < pc.n_rows) {
        float s = 0.0;
        for (uint i = 0u; i < gl_NumSubgroups; i++) s += red[tid * VK_MV_WG + i];
#else
    for (uint rr = 0u; rr < VK_MV_NR; rr++) red[rr * VK_MV_WG + tid] = acc[rr];
    barrier();
    for (uint st = VK_MV_WG / 2u; st > 0u; st >>= 1) {
        if (tid < st)
            for (uint rr = 0u; rr < VK_MV_NR; rr++) red[rr * VK_MV_WG + tid] += red[rr * VK_MV_WG + tid + st];
        barrier();
    }
    if (tid < VK_MV_NR && r0 + tid < pc.n_rows) {
        float s = red[tid * VK_MV_WG];
#endif
        uint ro = pc.row_out0 + r0 + tid;
        if (pc.bias_type != VK_NO_BIAS) s += bias_at(ro);
        O[ro] = s;
    }
}
