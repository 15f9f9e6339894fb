#version 450
// matvec.comp — the decode case of matmul (one token), with optional fused
// input and output stages (MODE, specialization constant 1):
//   x' = x                          (MODE & MV_NORM == 0, MODE & MV_GLU == 0)
//   x' = x / rms(x) * norm          (MV_NORM: binding 4 = norm weight words)
//   x' = silu(x) * up               (MV_GLU: binding 4 = the up activations)
//   out[row_out0 + r]  = W[row_w0 + r] . x' (+ bias)
//   out[row_out0 + r] += W[row_w0 + r] . x'  (MV_ACC: the residual add)
// The workgroup first stages x' in shared memory, in chunks of VK_MV_CHUNK
// elements, each 32-element unit followed by 4 floats of padding so that the
// threads (one unit apart) read distinct banks; then every thread takes NR
// rows of its units, so each x' value loaded serves NR rows and each thread
// keeps NR independent weight loads in flight. One reduction per row at the
// end (subgroup sums, then a shared slot per subgroup).
// WIDE (float weights whose rows are 16-byte aligned): 16-byte weight loads,
// thread i takes vector i, i + WG, ... of the chunk (consecutive threads read
// consecutive bytes). Otherwise each thread decodes whole units
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

// x' staged per chunk: unit u of the chunk at xs4[9u .. 9u + 7] (36 floats a unit)
shared vec4 xs4[VK_MV_CHUNK / 32u * 9u];
shared float red[NR * WG];

float sum_all(float v, uint tid) {
#ifdef USE_SUBGROUP
    float s = subgroupAdd(v);
    if (subgroupElect()) red[gl_SubgroupID] = s;
    barrier();
    float t = 0.0;
    for (uint i = 0u; i < gl_NumSubgroups; i++) t += red[i];
#else
    red[tid] = v;
    barrier();
    for (uint st = WG / 2u; st > 0u; st >>= 1) {
        if (tid < st) red[tid] += red[tid + st];
        barrier();
    }
    float t = red[0];
#endif
    barrier();
    return t;
}

float glu(float g, float u) { return g / (1.0 + exp(-g)) * u; }

float xin(uint c, float scale) {
    float v = X[c];
    if ((MODE & VK_MV_NORM) != 0u) v *= scale * norm_at(c);
    if ((MODE & VK_MV_GLU) != 0u) v = glu(v, uintBitsToFloat(Nw[c]));
    return v;
}

// Stages x'[c0 .. c0+n) (zero past ne0 up to the unit end). With ne0 a
// multiple of 4, 16-byte loads: thread i takes elements 4i..4i+3.
void stage(uint c0, uint n, float scale, uint tid) {
    uint nu = (n + 31u) / 32u;
    if ((pc.ne0 & 3u) == 0u) {
        for (uint i = tid; i < nu * 8u; i += WG) {
            uint c = c0 + 4u * i;
            vec4 v = vec4(0.0);
            if (c < pc.ne0) {
                v = X4[c >> 2];
                if ((MODE & VK_MV_NORM) != 0u)
                    v *= scale * vec4(norm_at(c), norm_at(c + 1u), norm_at(c + 2u), norm_at(c + 3u));
                if ((MODE & VK_MV_GLU) != 0u)
                    v = vec4(glu(v.x, uintBitsToFloat(Nw[c])), glu(v.y, uintBitsToFloat(Nw[c + 1u])),
                             glu(v.z, uintBitsToFloat(Nw[c + 2u])), glu(v.w, uintBitsToFloat(Nw[c + 3u])));
            }
            xs4[(i >> 3) * 9u + (i & 7u)] = v;
        }
        return;
    }
    for (uint i = tid; i < nu * 32u; i += WG) {
        uint c = c0 + i;
        float v = c < pc.ne0 ? xin(c, scale) : 0.0;
        xs4[(i >> 5) * 9u + ((i & 31u) >> 2)][i & 3u] = v;
    }
}

#ifdef WIDE
// dot of the 16 bytes w with the staged x' elements from chunk offset e
float wide_dot(uvec4 w, uint e) {
    uint k = (e >> 5) * 9u + ((e & 31u) >> 2);
#if defined(TYPE_F32)
    return dot(uintBitsToFloat(w), xs4[k]);
#else
    vec4 xa = xs4[k], xb = xs4[k + 1u];
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
#if defined(TYPE_F32)
const uint EPV = 4u; // elements per 16-byte vector
#else
const uint EPV = 8u;
#endif
#endif

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint r0 = gl_WorkGroupID.x * NR;
    float acc[NR];
    for (uint i = 0u; i < NR; i++) acc[i] = 0.0;
    // rows past the segment repeat its last row (in bounds); their sums are dropped
    uint last = pc.n_rows - 1u;

    float scale = 1.0;
    if ((MODE & VK_MV_NORM) != 0u) {
        float ss = 0.0;
        if ((pc.ne0 & 3u) == 0u) {
            for (uint i = tid; i < pc.ne0 / 4u; i += WG) ss += dot(X4[i], X4[i]);
        } else {
            for (uint c = tid; c < pc.ne0; c += WG) ss += X[c] * X[c];
        }
        scale = 1.0 / sqrt(sum_all(ss, tid) / float(pc.ne0) + pc.eps);
    }

    for (uint c0 = 0u; c0 < pc.ne0; c0 += VK_MV_CHUNK) {
        uint n = min(VK_MV_CHUNK, pc.ne0 - c0);
        if (c0 > 0u) barrier(); // the previous chunk's reads are done
        stage(c0, n, scale, tid);
        barrier();
#ifdef WIDE
        uint vpr = pc.row_bytes / 16u; // 16-byte vectors per row
        uint v0 = c0 / EPV, nv = (n + EPV - 1u) / EPV;
        for (uint i = tid; i < nv; i += WG) {
            for (uint rr = 0u; rr < NR; rr++) {
                uint r = min(r0 + rr, last);
                acc[rr] += wide_dot(W4[(pc.row_w0 + r) * vpr + v0 + i], i * EPV);
            }
        }
#else
        uint u0 = c0 / 32u, nu = (n + 31u) / 32u;
        for (uint uu = tid; uu < nu; uu += WG) {
            vec4 xv[8];
            for (uint j = 0u; j < 8u; j++) xv[j] = xs4[uu * 9u + j];
            for (uint rr = 0u; rr < NR; rr++) {
                uint r = min(r0 + rr, last);
                float w[32];
                unit_dequant((pc.row_w0 + r) * pc.row_bytes, u0 + uu, pc.ne0, w);
                float s = 0.0;
                for (uint j = 0u; j < 8u; j++)
                    s += dot(vec4(w[4u * j], w[4u * j + 1u], w[4u * j + 2u], w[4u * j + 3u]), xv[j]);
                acc[rr] += s;
            }
        }
#endif
    }

#ifdef USE_SUBGROUP
    for (uint rr = 0u; rr < NR; rr++) {
        float s = subgroupAdd(acc[rr]);
        if (subgroupElect()) red[rr * WG + gl_SubgroupID] = s;
    }
    barrier();
    if (tid < NR && r0 + tid < pc.n_rows) {
        float s = 0.0;
        for (uint i = 0u; i < gl_NumSubgroups; i++) s += red[tid * WG + i];
#else
    for (uint rr = 0u; rr < NR; rr++) red[rr * WG + tid] = acc[rr];
    barrier();
    for (uint st = WG / 2u; st > 0u; st >>= 1) {
        if (tid < st)
            for (uint rr = 0u; rr < NR; rr++) red[rr * WG + tid] += red[rr * WG + tid + st];
        barrier();
    }
    if (tid < NR && r0 + tid < pc.n_rows) {
        float s = red[tid * WG];
#endif
        uint ro = pc.row_out0 + r0 + tid;
        if (pc.bias_type != VK_NO_BIAS) s += bias_at(ro);
        if ((MODE & VK_MV_ACC) != 0u) s += O[ro];
        O[ro] = s;
    }
}
