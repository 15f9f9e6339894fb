#version 450
// matvec_sx.comp — matvec.comp's one-token case for quantized weights, with
// the same fused stages (MODE: VK_MV_NORM / VK_MV_GLU input, VK_MV_ACC
// output; bindings and push constants as matvec.comp) but x' staged once per
// workgroup in shared memory: x' = norm(x) or silu(x) * up is built by all
// threads (coalesced 16-byte loads), then each subgroup takes whole rows,
// its lanes consecutive 32-element units, and reduces a row with one
// subgroupAdd. matvec.comp reloads x (and the norm weight or up) per thread
// for every few rows: for 4-bit weights that was ~3.5 times the weight
// bytes, and it bounded the speed; here x costs one load per VK_MVX_ROWS
// rows. Two rows and two steps at a time per subgroup keep four blocks'
// loads in flight; the first four are fetched before x' is staged. A unit is
// dotted with x' as it is decoded (dequant.glsl's blk_dot / unit_dot_x):
// decoding the 32 weights into an array first took 136 registers a thread,
// so one workgroup fit an SM (NVIDIA) and the larger matvecs ran in
// several waves. The host takes this kernel when ne0 <= VK_MVX_MAXE and
// subgroup arithmetic exists (any subgroup size).
// A subgroup's row pair is a rope pair for the decode epilogue of
// common/mv_rope.glsl (VK_MV_ROPE / VK_MV_KV: rope and the KV store in
// place of rope_kv.comp): rows (2i, 2i + 1), or for VK_MV_NEOX rows
// (e, e + head_dim/2) of a head, pair p of the workgroups' order. An f16
// cache word of a NEOX pair's row holds rows of two subgroups' pairs: they
// meet in shared memory (XCHG) and one thread writes the word.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require
#include "../vk_shader_iface.h"

layout(local_size_x = 256) in;
layout(constant_id = 1) const uint MODE = 0u;
// subgroups a row pair (1 or 2; the host passes it in bits 16.. of the mode):
// with 2, each takes every other step of the pair's units, so a workgroup
// holds VK_MVX_ROWS / 2 rows and a lane does half the work of its chain
// (the halves' sums meet in shared memory); not with VK_MV_DIRECT
layout(constant_id = 2) const uint HSPLIT = 1u;
// vectors of x a thread loads at once while x' is staged (the host makes it
// cover the row in one round: ceil(ne0 / 1024), at most 8): a loop that
// loads, uses and stores a few vectors an iteration waits one memory latency
// per iteration (three for the 5632-wide down projection at 2)
layout(constant_id = 0) const uint SG = 2u;
// steps of a row pair's units a lane fetches at once in the dot loop (each
// step one block of each of the two rows): four were slower on the H200
// (Q8_0 decode 595 -> 410 tok/s, Q4_0 694 -> 670-683, llama3-8b Q4_0 175 ->
// 158; docs/PERF.md)
const uint STEPS = 2u;

layout(std430, binding = 0) readonly buffer WBuf { uint Wd[]; };
layout(std430, binding = 1) readonly buffer XBuf4 { vec4 X4[]; };
layout(std430, binding = 2) buffer OBuf { float O[]; };
layout(std430, binding = 3) readonly buffer BBuf { uint Bw[]; };
layout(std430, binding = 4) readonly buffer NBuf { uint Nw[]; };
layout(std430, binding = 4) readonly buffer NBuf4 { vec4 N4[]; };

layout(push_constant) uniform PC {
    uint ne0, n_rows, row_w0, row_out0, n_out, n_tok, row_bytes, bias_type, norm_type;
    float eps;
    uint head_dim, block_size, max_blocks, pos_off, seq_off, bt_off; // the rope / KV epilogue only
} pc;

#include "common/bytes.glsl"
#include "common/words.glsl"
float bias_at(uint r) { return TYPED_WORD_AT(Bw, pc.bias_type, r); }
float norm_at(uint i) { return TYPED_WORD_AT(Nw, pc.norm_type, i); }
vec4 silu4(vec4 g) { return g / (1.0 + exp(-g)); }
#include "common/mv_rope.glsl"

// VK_MV_DIRECT (an experiment, VKLLM_VK_MVX_DIRECT=1; not with VK_MV_GLU):
// no x' staging and no barrier: each lane reads the x (and norm weight) of
// its units itself, once per step for both rows, and sums their squares; a
// subgroup's lanes cover the row once, so one subgroupAdd gives the norm's
// scale for the row pair at the end.
const bool DIRECT = (MODE & VK_MV_DIRECT) != 0u;
shared vec4 xs4[DIRECT ? 1u : VK_MVX_MAXE / 4u]; // x' (f32)
vec4 xu_[8];
float ssq_;
void load_xu(uint u) {
    if (!DIRECT) return;
    for (uint j = 0u; j < 8u; j++) {
        uint i = u * 8u + j, c = 4u * i;
        vec4 xr = X4[i];
        ssq_ += dot(xr, xr);
        if ((MODE & VK_MV_NORM) != 0u)
            xr *= pc.norm_type == 0u ? N4[i] : vec4(norm_at(c), norm_at(c + 1u), norm_at(c + 2u), norm_at(c + 3u));
        xu_[j] = xr;
    }
}
// x' vector i = 8u + j (unit u, j < 8) lives at 8u + (j ^ (u & 7)): lanes
// read units u = lane + k * subgroup size, so unswizzled the 8 lanes of a
// 16-byte shared load's phase were 128 bytes apart, all in the same 4 banks
// (an 8-way conflict on every x' read); XOR-ing the low bits spreads them
// over all 32 banks. Staging writes stay consecutive within 128 bytes.
uint xsw(uint i) { return i ^ ((i >> 3) & 7u); }
#define DQ_XV(u, j) (DIRECT ? xu_[j] : xs4[(u) * 8u + ((j) ^ ((u) & 7u))])
#include "common/dequant.glsl"

shared float red[64];              // per-subgroup partial sums of x^2 (subgroups of 4+ lanes)
const uint XCHG_BITS = VK_MV_ROPE | VK_MV_NEOX | VK_MV_KV | VK_MV_KV_F16;
const bool XCHG = (MODE & XCHG_BITS) == XCHG_BITS; // EP_NEOX and EP_F16
shared float exv[XCHG ? VK_MVX_ROWS : 1u]; // XCHG: pair i's rotated rows at i and NPAIR + i
shared vec2 hsum_s[HSPLIT > 1u ? VK_MVX_ROWS : 1u]; // HSPLIT 2: half h's sums of pair i at 2i + h
shared vec2 hadd_s[HSPLIT > 1u ? VK_MVX_ROWS / 2u : 1u]; // and the residual / bias of pair i

// a workgroup's rows and row pairs
const uint ROWS = VK_MVX_ROWS / HSPLIT;
const uint NPAIR = ROWS / 2u;

// the weight rows (wa, wb) of pair p of the dispatch, wb clamped to the last
// row (a lone last row pairs with itself; its second sum is dropped)
uvec2 pair_rows(uint p) { return uvec2(ep_pair_row(p, 0u), min(ep_pair_row(p, 1u), pc.n_rows - 1u)); }

// the pair's outputs o = (sum * scale + add), by one lane (ra = 2 pi: the
// pair's first row in the workgroup)
void finish_pair(uint pi, uint r0, uint wa, uint wb, float sa, float sb, float add_a, float add_b, float scale) {
    uint ra = 2u * pi, rb = ra + 1u;
    if (EP) {
        // both rows of the pair exist (the host checked: whole heads)
        uint ga = pc.row_out0 + wa, gb = pc.row_out0 + wb;
        vec2 o = vec2(sa * scale + add_a, sb * scale + add_b);
        if (EP_ROPE) o = ep_rotate(ga, o.x, o.y);
        if (XCHG) {
            exv[pi] = o.x;
            exv[NPAIR + pi] = o.y;
        } else if (EP_NEOX) {
            O[ep_index(ga)] = o.x;
            O[ep_index(gb)] = o.y;
        } else {
            ep_store2(ga, o.x, o.y);
        }
    } else {
        for (uint k = 0u; k < 2u; k++) {
            uint rr = k == 0u ? ra : rb;
            if (r0 + rr >= pc.n_rows) continue;
            uint ro = pc.row_out0 + r0 + rr;
            O[ro] = (k == 0u ? sa : sb) * scale + (k == 0u ? add_a : add_b);
        }
    }
}

// row r's unit u dotted with x' (the block fetched first, then decoded)
#if defined(BLOCK32)
#define FETCH(R, r, u) blk_load((pc.row_w0 + (r)) * pc.row_bytes + (u) * BLK_BYTES, R)
#define ALIGN_OF(r, u) (((pc.row_w0 + (r)) * pc.row_bytes + (u) * BLK_BYTES) & 2u)
#endif

void main() {
    uint tid = gl_LocalInvocationID.x;
    ep_prefetch();
    uint sg = gl_SubgroupID, ns = gl_NumSubgroups, sl = gl_SubgroupInvocationID, sz = gl_SubgroupSize;
    uint r0 = gl_WorkGroupID.x * ROWS;
    // subgroup sg: half hh of its pair's units (steps of sz units from hh sz)
    uint hh = sg % HSPLIT, sgp = sg / HSPLIT, nsp = ns / HSPLIT, u00 = sl + hh * sz;

    uint nu = unit_count(pc.ne0);
    // subgroup sg takes the workgroup's row pairs i = sgp, sgp + nsp, ...:
    // rows (2p, 2p + 1) of pair p = wg * NPAIR + i, or ep_pair_row's NEOX pairs
    uint p0 = gl_WorkGroupID.x * NPAIR;
#if defined(BLOCK32)
    // the blocks of the first two steps (units u00 and u00 + HSPLIT sz) of
    // this subgroup's first row pair are fetched before x' is built: their
    // memory latency overlaps the staging (for rows of up to 64 HSPLIT units,
    // all of them)
    uint Pa0[BLK_N], Pb0[BLK_N], Pa1[BLK_N], Pb1[BLK_N];
    bool pre = sgp < NPAIR && 2u * (p0 + sgp) < pc.n_rows && u00 < nu;
    if (pre) {
        uvec2 w = pair_rows(p0 + sgp);
        uint wa = w.x, wb = w.y, u1 = min(u00 + HSPLIT * sz, nu - 1u);
        FETCH(Pa0, wa, u00);
        FETCH(Pb0, wb, u00);
        FETCH(Pa1, wa, u1);
        FETCH(Pb1, wb, u1);
    }
#endif

    float ss = 0.0;
    uint n4 = DIRECT ? 0u : pc.ne0 / 4u;
    // SG vectors a thread at a time, all their loads issued before any is used
    bool n_f32 = (MODE & VK_MV_GLU) != 0u || ((MODE & VK_MV_NORM) != 0u && pc.norm_type == 0u);
    for (uint i0 = tid; i0 < n4; i0 += SG * 256u) {
        vec4 xr[SG], nr[SG];
        [[unroll]] for (uint q = 0u; q < SG; q++) {
            uint i = min(i0 + q * 256u, n4 - 1u);
            xr[q] = X4[i];
            nr[q] = n_f32 ? N4[i] : vec4(1.0);
        }
        [[unroll]] for (uint q = 0u; q < SG; q++) {
            uint i = i0 + q * 256u;
            if (i >= n4) break;
            vec4 v = xr[q];
            ss += dot(v, v);
            if ((MODE & VK_MV_NORM) != 0u) {
                uint c = 4u * i;
                v *= pc.norm_type == 0u ? nr[q] : vec4(norm_at(c), norm_at(c + 1u), norm_at(c + 2u), norm_at(c + 3u));
            }
            if ((MODE & VK_MV_GLU) != 0u) v = silu4(xr[q]) * nr[q];
            xs4[xsw(i)] = v;
        }
    }
    float scale = 1.0;
    if (!DIRECT && (MODE & VK_MV_NORM) != 0u) {
        float s = subgroupAdd(ss);
        if (subgroupElect()) red[sg] = s;
    }
    if (!DIRECT) barrier();
    if (!DIRECT && (MODE & VK_MV_NORM) != 0u) {
        float q = 0.0;
        for (uint i = 0u; i < ns; i++) q += red[i];
        scale = 1.0 / sqrt(q / float(pc.ne0) + pc.eps);
    }

    for (uint pi = sgp; pi < NPAIR; pi += nsp) {
        uint ra = 2u * pi;
        if (r0 + ra >= pc.n_rows) break; // subgroup-uniform (r0 + ra = 2p)
        uvec2 w = pair_rows(p0 + pi);
        uint wa = w.x, wb = w.y;
        float acc_a = 0.0, acc_b = 0.0;
        ssq_ = 0.0;
        // the residual (VK_MV_ACC) and bias, loaded now: in flight during the dot
        float add_a = 0.0, add_b = 0.0;
        if ((MODE & VK_MV_ACC) != 0u) {
            add_a = O[pc.row_out0 + wa];
            add_b = O[pc.row_out0 + wb];
        }
        if (pc.bias_type != VK_NO_BIAS) {
            add_a += bias_at(pc.row_out0 + wa);
            add_b += bias_at(pc.row_out0 + wb);
        }
        // STEPS steps (units u + k HSPLIT sz) at a time: 2 STEPS blocks' loads in flight
        const uint DU = HSPLIT * sz;
        for (uint u = u00; u < nu; u += STEPS * DU) {
#if defined(BLOCK32)
            uint Ra[STEPS][BLK_N], Rb[STEPS][BLK_N];
            bool first = pre && pi == sgp && u == u00;
            [[unroll]] for (uint k = 0u; k < STEPS; k++) {
                uint uk = u + k * DU;
                if (uk >= nu) break;
                if (first && k == 0u) {
                    Ra[k] = Pa0;
                    Rb[k] = Pb0;
                } else if (first && k == 1u) {
                    Ra[k] = Pa1;
                    Rb[k] = Pb1;
                } else {
                    FETCH(Ra[k], wa, uk);
                    FETCH(Rb[k], wb, uk);
                }
            }
            [[unroll]] for (uint k = 0u; k < STEPS; k++) {
                uint uk = u + k * DU;
                if (uk >= nu) break;
                load_xu(uk);
                acc_a += blk_dot(Ra[k], ALIGN_OF(wa, uk), uk);
                acc_b += blk_dot(Rb[k], ALIGN_OF(wb, uk), uk);
            }
#else
            [[unroll]] for (uint k = 0u; k < STEPS; k++) {
                uint uk = u + k * DU;
                if (uk >= nu) break;
                load_xu(uk);
                acc_a += unit_dot_x((pc.row_w0 + wa) * pc.row_bytes, uk);
                acc_b += unit_dot_x((pc.row_w0 + wb) * pc.row_bytes, uk);
            }
#endif
        }
        float sa = subgroupAdd(acc_a), sb = subgroupAdd(acc_b);
        if (DIRECT && (MODE & VK_MV_NORM) != 0u) scale = 1.0 / sqrt(subgroupAdd(ssq_) / float(pc.ne0) + pc.eps);
        if (HSPLIT > 1u) {
            if (subgroupElect()) {
                hsum_s[2u * pi + hh] = vec2(sa, sb);
                if (hh == 0u) hadd_s[pi] = vec2(add_a, add_b);
            }
        } else if (subgroupElect()) {
            finish_pair(pi, r0, wa, wb, sa, sb, add_a, add_b, scale);
        }
    }
    if (HSPLIT > 1u) {
        // the halves' sums (in half order) by the first subgroup of each pair
        barrier();
        for (uint pi = sgp; pi < NPAIR; pi += nsp) {
            if (hh != 0u || r0 + 2u * pi >= pc.n_rows) break;
            uvec2 w = pair_rows(p0 + pi);
            vec2 s = hsum_s[2u * pi] + hsum_s[2u * pi + 1u], ad = hadd_s[pi];
            if (subgroupElect()) finish_pair(pi, r0, w.x, w.y, s.x, s.y, ad.x, ad.y, scale);
        }
    }
    if (XCHG) {
        // thread j < NPAIR: half j & 1 of the pairs 2(j >> 1) and 2(j >> 1) + 1,
        // whose rows are adjacent (pairs of a head come in even numbers)
        barrier();
        uint pl = 2u * (tid >> 1), k = tid & 1u;
        if (tid < NPAIR && 2u * (p0 + pl) < pc.n_rows)
            ep_store2(pc.row_out0 + ep_pair_row(p0 + pl, k), exv[k * NPAIR + pl], exv[k * NPAIR + pl + 1u]);
    }
}
