// dequant.glsl — decodes one "unit" of 32 consecutive elements of a weight
// row to f32, for the weight type chosen by a TYPE_* define. Needs bytes.glsl.
// rb: byte offset of the row in Wd; u: unit index in the row (elements
// 32u..32u+31); ne0: row length (float types may end mid-unit: padded with 0).
// Quantized layouts are those of quant.h (GGUF/ggml blocks); a K-type block
// of 256 holds 8 units.

// float(v) for 0 <= v < 2^23, exactly, as one OR and one subtraction: the
// bits of 2^23 + v read as a float. Integer-to-float conversion runs at a
// fraction of the FMA rate on GPUs; this path runs at full rate. `precise`:
// the subtraction must not be folded into what follows (it would cancel).
float small_float(uint v) {
    precise float f = uintBitsToFloat(0x4B000000u | v) - 8388608.0;
    return f;
}

#if defined(TYPE_Q8_0) || defined(TYPE_Q4_0) || defined(TYPE_Q4_1) || defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
#define BLOCK32 1
// The 32-element block types are 18..34 bytes long, so a block starts at an
// even byte that is 4-aligned or not depending on the block's index: lanes of
// a subgroup alternate. A block is fetched as words (blk_load: from the word
// holding its first byte; BLK_WORDS covers the block at either alignment,
// reading at most 4 bytes past its end — the binding's padding) into an
// array the caller owns, so loads of several blocks can be in flight before
// any is decoded (unit_decode). BLK_W(R, al, k) is the 32-bit little-endian
// value at byte k (even, a compile-time constant) of the block: a select,
// not a branch, between the two alignments, with constant indices so R
// stays in registers.
// BLK_QS: the byte where a block's codes start (after d [, m] [, qh]).
#if defined(TYPE_Q8_0)
#define BLK_WORDS 9u
#define BLK_BYTES 34u
#define BLK_QS 2u
#elif defined(TYPE_Q4_0)
#define BLK_WORDS 5u
#define BLK_BYTES 18u
#define BLK_QS 2u
#elif defined(TYPE_Q4_1)
#define BLK_WORDS 6u
#define BLK_BYTES 20u
#define BLK_QS 4u
#elif defined(TYPE_Q5_0)
#define BLK_WORDS 6u
#define BLK_BYTES 22u
#define BLK_QS 6u
#else
#define BLK_WORDS 7u
#define BLK_BYTES 24u
#define BLK_QS 8u
#endif
#define BLK_N (BLK_WORDS + 1u)
// the words of the block at byte offset o (even); its alignment is o & 2
void blk_load(uint o, out uint R[BLK_N]) {
    uint b = o >> 2;
    for (uint i = 0u; i < BLK_WORDS; i++) R[i] = Wd[b + i];
    R[BLK_WORDS] = 0u;
}
// the word at byte a of the loaded words (a even, constant)
#define BLK_AT(R, a) ((((a) & 2u) == 0u) ? R[(a) >> 2] : ((R[(a) >> 2] >> 16) | (R[((a) >> 2) + 1u] << 16)))
#define BLK_W(R, al, k) ((al) == 0u ? BLK_AT(R, k) : BLK_AT(R, (k) + 2u))

// The header of a fetched block: w = d * q + m for each unsigned code q
// (Q8_0's code is byte ^ 0x80 = signed value + 128), and the fifth bits qh
// of the Q5 types (0 otherwise). Layouts: Q8_0 d | qs; Q4_0 d | qs; Q4_1 d,
// m | qs; Q5_0 d | qh | qs; Q5_1 d, m | qh | qs (all f16 d, m).
void blk_head(uint R[BLK_N], uint al, out float d, out float m, out uint qh) {
    qh = 0u;
#if defined(TYPE_Q4_1) || defined(TYPE_Q5_1)
    vec2 dm = unpackHalf2x16(BLK_W(R, al, 0u));
    d = dm.x;
    m = dm.y;
#else
    d = unpackHalf2x16(BLK_W(R, al, 0u) & 0xFFFFu).x;
#if defined(TYPE_Q8_0)
    m = -128.0 * d;
#elif defined(TYPE_Q4_0)
    m = -8.0 * d;
#else
    m = -16.0 * d;
#endif
#endif
#if defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
    qh = BLK_W(R, al, BLK_QS - 4u);
#endif
}

// the 32 weights of a fetched block (al: its byte offset & 2)
void unit_decode(uint R[BLK_N], uint al, out float w[32]) {
    float d, m;
    uint qh;
    blk_head(R, al, d, m, qh);
#if defined(TYPE_Q8_0)
    for (uint j = 0u; j < 8u; j++) {
        uint q = BLK_W(R, al, BLK_QS + 4u * j);
        for (uint b = 0u; b < 4u; b++) // byte b as signed: (byte ^ 0x80) - 128
            w[4u * j + b] = d * (small_float(((q >> (8u * b)) & 0xFFu) ^ 0x80u) - 128.0);
    }
#else
    for (uint j = 0u; j < 4u; j++) {
        uint q = BLK_W(R, al, BLK_QS + 4u * j);
        for (uint b = 0u; b < 4u; b++) {
            uint e = 4u * j + b;
            uint by = (q >> (8u * b)) & 0xFFu;
            uint lo = (by & 15u) | (((qh >> e) & 1u) << 4);
            uint hi = (by >> 4) | (((qh >> (e + 16u)) & 1u) << 4);
            w[e] = d * small_float(lo) + m;
            w[16u + e] = d * small_float(hi) + m;
        }
    }
#endif
}
#endif

void unit_dequant(uint rb, uint u, uint ne0, out float w[32]) {
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
    for (uint i = 0u; i < 32u; i++) {
        uint k = u * 32u + i;
        float v = 0.0;
        if (k < ne0) {
#if defined(TYPE_F32)
            v = rd_f32(rb + k * 4u);
#elif defined(TYPE_F16)
            v = rd_f16(rb + k * 2u);
#else
            v = rd_bf16(rb + k * 2u);
#endif
        }
        w[i] = v;
    }
#elif defined(BLOCK32)
    uint o = rb + u * BLK_BYTES, R[BLK_N];
    blk_load(o, R);
    unit_decode(R, o & 2u, w);
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#if defined(TYPE_Q4_K)
    uint o = rb + (u >> 3) * 144u;
    uint qo = o + 16u;
#else
    uint o = rb + (u >> 3) * 176u;
    uint qho = o + 16u;
    uint qo = o + 48u;
#endif
    uint s = u & 7u;
    float d = rd_f16(o), dmin = rd_f16(o + 2u);
    // 6-bit scale and min of sub-block s, packed in scales[12] at o+4
    uint sc, mn;
    if (s < 4u) {
        sc = rd_u8(o + 4u + s) & 63u;
        mn = rd_u8(o + 8u + s) & 63u;
    } else {
        uint a = rd_u8(o + 8u + s);      // scales[s+4]
        sc = (a & 15u) | ((rd_u8(o + s) >> 6) << 4);        // scales[s-4]
        mn = (a >> 4) | ((rd_u8(o + 4u + s) >> 6) << 4);    // scales[s]
    }
    float dl = d * float(sc), ml = dmin * float(mn);
    uint c = s >> 1, sh = (s & 1u) * 4u;
    for (uint j = 0u; j < 8u; j++) {
        uint q = rd_u32(qo + 32u * c + 4u * j);
#if defined(TYPE_Q5_K)
        uint h = rd_u32(qho + 4u * j);
#endif
        for (uint b = 0u; b < 4u; b++) {
            uint v = (q >> (8u * b + sh)) & 15u;
#if defined(TYPE_Q5_K)
            v |= ((h >> (8u * b + s)) & 1u) << 4;
#endif
            w[4u * j + b] = dl * small_float(v) - ml;
        }
    }
#elif defined(TYPE_Q6_K)
    uint o = rb + (u >> 3) * 210u;
    uint s = u & 7u, n = s >> 2, k = s & 3u;
    float d = rd_f16(o + 208u);
    uint qlo = o + 64u * n + 32u * (k & 1u);
    uint qho = o + 128u + 32u * n;
    uint sh = 4u * (k >> 1);
    uint hs = 2u * k;
    uint sco = o + 192u + 8u * n + 2u * k;
    float d0 = d * float(int(rd_u8(sco) << 24) >> 24);
    float d1 = d * float(int(rd_u8(sco + 1u) << 24) >> 24);
    for (uint j = 0u; j < 8u; j++) {
        uint ql = rd_u32(qlo + 4u * j);
        uint qh = rd_u32(qho + 4u * j);
        for (uint b = 0u; b < 4u; b++) {
            uint l = 4u * j + b;
            uint v = ((ql >> (8u * b + sh)) & 15u) | (((qh >> (8u * b + hs)) & 3u) << 4);
            w[l] = (l < 16u ? d0 : d1) * (small_float(v) - 32.0);
        }
    }
#else
#error "unit_dequant: no TYPE_* define"
#endif
}

uint unit_count(uint ne0) {
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
    return (ne0 + 31u) / 32u;
#else
    return ne0 / 32u;
#endif
}

#ifdef DQ_XV
// The dot of one unit of weights with x', without the unit's 32 weights in
// registers (which made matvec_sx's threads so large that one workgroup fit
// an SM): the includer defines DQ_XV(u, j) = x'[32u + 4j .. 32u + 4j + 3] as
// a vec4. Every type is w_e = dl * q_e + ml with small unsigned codes q_e,
// so the sum is dl * (q . x') + ml * sum(x'), both sums in f32.
float sum4(vec4 v) { return (v.x + v.y) + (v.z + v.w); }
vec4 nib4(uint q, uint sh) { // the 4-bit fields at bits sh, sh + 8, sh + 16, sh + 24
    return vec4(small_float((q >> sh) & 15u), small_float((q >> (sh + 8u)) & 15u),
                small_float((q >> (sh + 16u)) & 15u), small_float((q >> (sh + 24u)) & 15u));
}
vec4 byte4(uint q) {
    return vec4(small_float(q & 0xFFu), small_float((q >> 8) & 0xFFu), small_float((q >> 16) & 0xFFu),
                small_float(q >> 24));
}
#if defined(BLOCK32)
// a fetched block (blk_load) of unit u
float blk_dot(uint R[BLK_N], uint al, uint u) {
    float sq = 0.0, sx = 0.0, d, m;
    uint qh;
    blk_head(R, al, d, m, qh);
#if defined(TYPE_Q8_0)
    for (uint j = 0u; j < 8u; j++) { // codes as unsigned: byte ^ 0x80 = q + 128
        vec4 xv = DQ_XV(u, j);
        sq += dot(byte4(BLK_W(R, al, BLK_QS + 4u * j) ^ 0x80808080u), xv);
        sx += sum4(xv);
    }
#else
    for (uint j = 0u; j < 4u; j++) { // byte 4j + b: element 4j + b (low nibble), 16 + 4j + b (high)
        uint q = BLK_W(R, al, BLK_QS + 4u * j);
        vec4 xl = DQ_XV(u, j), xh = DQ_XV(u, 4u + j);
        vec4 lo = nib4(q, 0u), hi = nib4(q, 4u);
#if defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
        uint bl = qh >> (4u * j), bh = qh >> (16u + 4u * j); // fifth bits of the 4 elements
        lo += 16.0 * vec4(bl & 1u, (bl >> 1) & 1u, (bl >> 2) & 1u, (bl >> 3) & 1u);
        hi += 16.0 * vec4(bh & 1u, (bh >> 1) & 1u, (bh >> 2) & 1u, (bh >> 3) & 1u);
#endif
        sq += dot(lo, xl) + dot(hi, xh);
        sx += sum4(xl + xh);
    }
#endif
    return d * sq + m * sx;
}
#else
// unit u of the row at byte rb (K types: 8 units per 256-element block)
float unit_dot_x(uint rb, uint u) {
    float sq = 0.0, sx = 0.0;
#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
    // 144 / 176-byte blocks: rows and blocks start 4-aligned, read as words
#if defined(TYPE_Q4_K)
    uint o = (rb + (u >> 3) * 144u) >> 2, qo = o + 4u;
#else
    uint o = (rb + (u >> 3) * 176u) >> 2, qho = o + 4u, qo = o + 12u;
#endif
    uint s = u & 7u;
    vec2 dd = unpackHalf2x16(Wd[o]);
    uint s1 = Wd[o + 1u], s2 = Wd[o + 2u], s3 = Wd[o + 3u]; // scales[0..11]
    // scales[s], scales[s + 4] (s < 4) or scales[s + 4], scales[s - 4], scales[s] (s >= 4)
    uint sc, mn;
    if (s < 4u) {
        sc = (s1 >> (8u * s)) & 63u;
        mn = (s2 >> (8u * s)) & 63u;
    } else {
        uint a = s3 >> (8u * (s - 4u));
        sc = (a & 15u) | (((s1 >> (8u * (s - 4u) + 6u)) & 3u) << 4);
        mn = ((a >> 4) & 15u) | (((s2 >> (8u * (s - 4u) + 6u)) & 3u) << 4);
    }
    float dl = dd.x * small_float(sc), ml = -dd.y * small_float(mn);
    uint c = s >> 1, sh = (s & 1u) * 4u;
    for (uint j = 0u; j < 8u; j++) {
        uint q = Wd[qo + 8u * c + j];
        vec4 xv = DQ_XV(u, j), v = nib4(q, sh);
#if defined(TYPE_Q5_K)
        uint h = Wd[qho + j] >> s;
        v += 16.0 * vec4(h & 1u, (h >> 8) & 1u, (h >> 16) & 1u, (h >> 24) & 1u);
#endif
        sq += dot(v, xv);
        sx += sum4(xv);
    }
    return dl * sq + ml * sx;
#elif defined(TYPE_Q6_K)
    // 210-byte blocks: 2-aligned, read through rd_u32
    uint o = rb + (u >> 3) * 210u;
    uint s = u & 7u, n = s >> 2, k = s & 3u;
    float d = rd_f16(o + 208u);
    uint qlo = o + 64u * n + 32u * (k & 1u), qho = o + 128u + 32u * n;
    uint sh = 4u * (k >> 1), hs = 2u * k;
    uint sco = o + 192u + 8u * n + 2u * k;
    float d0 = d * float(int(rd_u8(sco) << 24) >> 24), d1 = d * float(int(rd_u8(sco + 1u) << 24) >> 24);
    float s0 = 0.0, x0 = 0.0;
    for (uint j = 0u; j < 8u; j++) {
        uint ql = rd_u32(qlo + 4u * j), qh = rd_u32(qho + 4u * j) >> hs;
        vec4 xv = DQ_XV(u, j);
        vec4 v = nib4(ql, sh) + 16.0 * vec4(qh & 3u, (qh >> 8) & 3u, (qh >> 16) & 3u, (qh >> 24) & 3u);
        if (j < 4u) {
            s0 += dot(v, xv);
            x0 += sum4(xv);
        } else {
            sq += dot(v, xv);
            sx += sum4(xv);
        }
    }
    return d0 * (s0 - 32.0 * x0) + d1 * (sq - 32.0 * sx);
#else
#error "unit_dot_x: quantized K types only"
#endif
}
#endif
#endif
