#version 450
// rmsnorm.comp — out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, one workgroup
// per row. out may alias x (each thread reads its elements before writing).
// Bindings: 0 w (words; w_type F32/F16/BF16), 1 x, 2 out.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) buffer OBuf { float O[]; };

layout(push_constant) uniform PC {
    uint n, n_rows, w_type;
    float eps;
    uint row0;
} pc;

#include "common/bytes.glsl"
#include "common/reduce.glsl"

float w_at(uint i) {
    if (pc.w_type == 0u) return rd_f32(i * 4u);
    if (pc.w_type == 1u) return rd_f16(i * 2u);
    return rd_bf16(i * 2u);
}

void main() {
    uint r = gl_WorkGroupID.x + pc.row0;
    if (r >= pc.n_rows) return;
    uint base = r * pc.n;
    float ss = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < pc.n; i += VK_WG) {
        float v = X[base + i];
        ss += v * v;
    }
    ss = wg_sum(ss);
    float sc = 1.0 / sqrt(ss / float(pc.n) + pc.eps);
    for (uint i = gl_LocalInvocationID.x; i < pc.n; i += VK_WG)
        O[base + i] = X[base + i] * sc * w_at(i);
}
