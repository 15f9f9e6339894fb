#version 450
// add.comp — out = a + b over n values (grid-stride); out may alias a.
// Bindings: 0 out, 1 a, 2 b.
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) buffer OBuf { float O[]; };
layout(std430, binding = 1) readonly buffer ABuf { float A[]; };
layout(std430, binding = 2) readonly buffer BBuf { float B[]; };

layout(push_constant) uniform PC { uint n; } pc;

void main() {
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) O[i] = A[i] + B[i];
}
