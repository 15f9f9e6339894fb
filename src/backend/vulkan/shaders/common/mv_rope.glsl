// mv_rope.glsl — the decode epilogue of matvec.comp and matvec_sx.comp that
// replaces rope_kv.comp for one token (vk_qkv_rope_kv in vk_ops.c):
//   VK_MV_ROPE: output rows are rotated in rope pairs, as rope.comp does
//               (VK_MV_NEOX: rows (e, e + head_dim/2) of a head, else
//               (2i, 2i + 1)); the kernel computes both rows of a pair in
//               one place before the epilogue
//   VK_MV_KV:   binding 2 is a cache layer, not out: row r goes to element
//               r of the batch's one token's cache slot (f32, or f16 with
//               VK_MV_KV_F16, where adjacent elements share a word that one
//               invocation writes whole)
// The position, slot and frequencies come from the buffers rope_kv.comp
// reads (so a decode step's commands stay the same: vk_record.c); the host
// checked the position, the block table entry and every shape.
// Needs MODE and pc (n_out, head_dim, block_size, max_blocks, pos_off,
// seq_off, bt_off) and `float O[]` at binding 2 declared first.
// Bindings: 2 (again) the out words as uint, 5 batch info, 6 inv_freq [head_dim/2].
layout(std430, binding = 2) buffer OBufU { uint Ou[]; };
layout(std430, binding = 5) readonly buffer IBuf { int Info[]; };
layout(std430, binding = 6) readonly buffer FBuf { float F[]; };
#include "common/kv.glsl"
#include "common/rope.glsl"

// (each a test of MODE's bits alone: glslang's optimizer rejects && and ||
// between specialization-constant booleans, "ID has not been defined")
const bool EP_ROPE = (MODE & VK_MV_ROPE) != 0u;
const bool EP_KV = (MODE & VK_MV_KV) != 0u;
const bool EP_NEOX = (MODE & (VK_MV_ROPE | VK_MV_NEOX)) == (VK_MV_ROPE | VK_MV_NEOX);
const bool EP_F16 = (MODE & (VK_MV_KV | VK_MV_KV_F16)) == (VK_MV_KV | VK_MV_KV_F16);
const bool EP = (MODE & (VK_MV_ROPE | VK_MV_KV)) != 0u;

// The token's position and cache slot, loaded by ep_prefetch() at the
// start of main(): read in the epilogue they were two dependent loads (the
// slot needs the position, then its block table entry) after the dot, on
// every workgroup's critical path; at the start they overlap the weights'.
uint ep_pos_, ep_slot_;
void ep_prefetch() {
    if (!EP) return;
    ep_pos_ = uint(Info[pc.pos_off]);
    if (EP_KV) ep_slot_ = kv_slot_index(uint(Info[pc.seq_off]), ep_pos_, pc.bt_off, pc.max_blocks, pc.block_size);
}

// row k (0: the pair's first, 1: its second) of rope pair p (rows counted
// from a head boundary, which every dispatch's first row is)
uint ep_pair_row(uint p, uint k) {
    if (!EP_NEOX) return 2u * p + k;
    uint hh = pc.head_dim / 2u;
    return (p / hh) * pc.head_dim + p % hh + k * hh;
}

// the pair (x0, x1) whose first row is output row gr, rotated
vec2 ep_rotate(uint gr, float x0, float x1) {
    uint e = gr % pc.head_dim;
    uint i = EP_NEOX ? e : e / 2u; // (the first row of a NEOX pair lies in the head's first half)
    vec2 cs = rope_cs(float(ep_pos_), F[i]);
    return vec2(x0 * cs.x - x1 * cs.y, x0 * cs.y + x1 * cs.x);
}

// the element that output row gr is stored at: in out (q) or the cache layer
uint ep_index(uint gr) {
    if (!EP_KV) return gr;
    return ep_slot_ * pc.n_out + gr;
}

// output rows gr (even) and gr + 1, adjacent in memory
void ep_store2(uint gr, float a, float b) {
    uint i = ep_index(gr);
    if (EP_F16) {
        Ou[i >> 1] = packHalf2x16(vec2(a, b));
    } else {
        O[i] = a;
        O[i + 1u] = b;
    }
}
