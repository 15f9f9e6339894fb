#version 450
// argmax.comp — out[r] = index of the largest of x[r] (n values); ties go
// to the lowest index. One workgroup per row.
// Bindings: 0 out ids (int32), 1 x.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) writeonly buffer OBuf { int O[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };

layout(push_constant) uniform PC { uint n_rows, n; } pc;

shared float bv[VK_WG];
shared uint bi[VK_WG];

void main() {
    uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    if (r >= pc.n_rows) return;
    float best = -3.4e38;
    uint idx = 0xFFFFFFFFu;
    for (uint i = tid; i < pc.n; i += VK_WG) {
        float v = X[r * pc.n + i];
        if (idx == 0xFFFFFFFFu || v > best) { best = v; idx = i; }
    }
    bv[tid] = best;
    bi[tid] = idx;
    barrier();
    for (uint s = VK_WG / 2u; s > 0u; s >>= 1) {
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
