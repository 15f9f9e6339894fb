#version 450
// rope.comp — rotary position embedding in place on x [n_tok][n_heads][head_dim].
// One thread per rotated pair; mode 0 rotates (x[2i], x[2i+1]), mode 1
// (x[i], x[i + n_dims/2]). inv_freq[i] (computed on the host in f32, with the
// frequency factors applied) gives the angle pos * inv_freq[i], reduced
// to [-pi, pi] before sin/cos so large positions keep their accuracy.
// Bindings: 0 x, 1 batch info (pos at pos_off), 2 inv_freq [n_dims/2].
#include "../vk_shader_iface.h"

layout(local_size_x = VK_WG) in;

layout(std430, binding = 0) buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer IBuf { int Info[]; };
layout(std430, binding = 2) readonly buffer FBuf { float F[]; };

layout(push_constant) uniform PC {
    uint n_tok, n_heads, head_dim, n_dims, mode, pos_off;
} pc;

#include "common/rope.glsl"

void main() {
    uint half_d = pc.n_dims / 2u;
    uint total = pc.n_tok * pc.n_heads * half_d;
    uint stride = gl_NumWorkGroups.x * VK_WG;
    for (uint g = gl_GlobalInvocationID.x; g < total; g += stride) {
        uint i = g % half_d;
        uint th = g / half_d;             // token * n_heads + head
        uint t = th / pc.n_heads;
        vec2 cs = rope_cs(float(Info[pc.pos_off + t]), F[i]);
        float c = cs.x, s = cs.y;
        uint base = th * pc.head_dim;
        uint i0 = pc.mode == 0u ? base + 2u * i : base + i;
        uint i1 = pc.mode == 0u ? i0 + 1u : i0 + half_d;
        float x0 = X[i0], x1 = X[i1];
        X[i0] = x0 * c - x1 * s;
        X[i1] = x0 * s + x1 * c;
    }
}
