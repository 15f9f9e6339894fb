#version 450
// silu_mul.comp — out = silu(gate) * up over n values (grid-stride).
// Bindings: 0 out, 1 gate, 2 up.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 1) readonly buffer GBuf { float G[]; };
layout(std430, binding = 2) readonly buffer UBuf { float U[]; };

layout(push_constant) uniform PC { uint n; } pc;

void main() {
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float g = G[i];
        O[i] = g / (1.0 + exp(-g)) * U[i];
    }
}
