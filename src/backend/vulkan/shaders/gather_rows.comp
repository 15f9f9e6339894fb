#version 450
// gather_rows.comp — out[i] = x[rows[i]] for i < n_rows, rows of n values.
// Bindings: 0 out, 1 x, 2 rows (int32, checked by the host).
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) readonly buffer RBuf { int R[]; };

layout(push_constant) uniform PC { uint n_rows, n; } pc;

void main() {
    uint total = pc.n_rows * pc.n;
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < total; g += stride) {
        uint i = g / pc.n, c = g % pc.n;
        O[g] = X[uint(R[i]) * pc.n + c];
    }
}
