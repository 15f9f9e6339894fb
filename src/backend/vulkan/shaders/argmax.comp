#version 450
// argmax.comp — out[r] = index of the largest of x[r] (n values); ties go
// to the lowest index. One workgroup of VK_ARGMAX_WG threads per row, each
// thread loading four values per step so their loads are in flight together.
// Bindings: 0 out ids (int32), 1 x.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_ARGMAX_WG) in;

layout(std430, binding = 0) writeonly buffer OBuf { int O[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };

layout(push_constant) uniform PC { uint n_rows, n; } pc;

shared float bv[VK_ARGMAX_WG];
shared uint bi[VK_ARGMAX_WG];

void main() {
    uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    if (r >= pc.n_rows) return;
    float best = -3.4e38;
    uint idx = 0xFFFFFFFFu;
    const uint W = VK_ARGMAX_WG;
    uint i = tid;
    for (; i + 3u * W < pc.n; i += 4u * W) {
        float v0 = X[r * pc.n + i], v1 = X[r * pc.n + i + W];
        float v2 = X[r * pc.n + i + 2u * W], v3 = X[r * pc.n + i + 3u * W];
        if (idx == 0xFFFFFFFFu || v0 > best) { best = v0; idx = i; }
        if (v1 > best) { best = v1; idx = i + W; }
        if (v2 > best) { best = v2; idx = i + 2u * W; }
        if (v3 > best) { best = v3; idx = i + 3u * W; }
    }
    for (; i < pc.n; i += W) {
        float v = X[r * pc.n + i];
        if (idx == 0xFFFFFFFFu || v > best) { best = v; idx = i; }
    }
    bv[tid] = best;
    bi[tid] = idx;
    barrier();
    for (uint s = VK_ARGMAX_WG / 2u; s > 0u; s >>= 1) {
        if (tid < s) {
            float ov = bv[tid + s];
            uint oi = bi[tid + s];
            bool take = oi != 0xFFFFFFFFu &&
                        (bi[tid] == 0xFFFFFFFFu || ov > bv[tid] || (ov == bv[tid] && oi < bi[tid]));
            if (take) { bv[tid] = ov; bi[tid] = oi; }
        }
        barrier();
    }
    if (tid == 0u) O[r] = int(bi[0]);
}
