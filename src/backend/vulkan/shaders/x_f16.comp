#version 450
// x_f16.comp — a GEMM's activations x [n_tok][ne0] (f32) rounded to f16 once
// into H [n_tokp][ne0p] (ne0p = ne0 rounded up to 64, n_tokp to the token
// tile), the padding zero. gemm_cm.comp (spec constant XH) then loads 16
// bytes of 8 halves a lane where it loaded 32 of floats and converted them in
// every workgroup of a token tile: its x traffic from L2 halves and its
// prefetch registers shrink, and it needs no bounds checks on x. The
// rounding is pack8's (words.glsl), so results equal the f32-input path.
// One thread an 8-element vector; workgroup y = token.
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer XBuf { float X[]; };
layout(std430, binding = 0) readonly buffer XBuf4 { vec4 X4[]; };
layout(std430, binding = 1) writeonly buffer HBuf { uvec4 H4[]; };

layout(push_constant) uniform PC { uint ne0, n_tok, ne0p; } pc;

#include "common/words.glsl"

void main() {
    uint v = gl_GlobalInvocationID.x, tok = gl_WorkGroupID.y, nv = pc.ne0p / 8u;
    if (v >= nv) return;
    uint c = 8u * v;
    vec4 a = vec4(0.0), b = vec4(0.0);
    if (tok < pc.n_tok) {
        uint base = tok * pc.ne0 + c;
        if ((pc.ne0 & 3u) == 0u && c + 8u <= pc.ne0) {
            a = X4[base / 4u];
            b = X4[base / 4u + 1u];
        } else {
            for (uint e = 0u; e < 4u; e++) {
                a[e] = c + e < pc.ne0 ? X[base + e] : 0.0;
                b[e] = c + 4u + e < pc.ne0 ? X[base + 4u + e] : 0.0;
            }
        }
    }
    H4[tok * nv + v] = pack8(a, b);
}
