// kv.glsl — addressing of the paged KV cache. Layout of one layer's K (or V):
// [n_blocks][block_size][n_kv_heads * head_dim] elements, f32 (one word each)
// or f16 (two per word, element e in half e & 1 of word e >> 1).
// Info holds the batch: pos at pos_off, seq at seq_off, the block table at
// bt_off ([n_slots][max_blocks]); the host checked every entry used.
uint kv_slot_index(uint s, uint p, uint bt_off, uint max_blocks, uint block_size) {
    uint blk = uint(Info[bt_off + s * max_blocks + p / block_size]);
    return blk * block_size + p % block_size;
}

// Q8_0 cache (kv_type 2): a position's row of n_kv_heads * head_dim values is
// row / 32 blocks of 34 bytes (f16 scale d, 32 int8 codes q; value = d * q),
// padded to whole words, so a position starts at slot * kv_q8_row_bytes(row)
// and blocks 2i, 2i+1 of a row fill words [17i, 17i + 17) of it.
uint kv_q8_row_bytes(uint row) { return ((row / 32u) * 34u + 3u) & ~3u; }

// where kv head kh (head dim D, row = n_kv_heads * D values) of cache slot
// `slot` starts: an element index, or a byte offset for Q8_0 (kv_type 2)
uint kv_head_base(uint kv_type, uint slot, uint row, uint kh, uint D) {
    return kv_type == 2u ? slot * kv_q8_row_bytes(row) + kh * (D / 32u) * 34u : slot * row + kh * D;
}
uint kv_q8_pairs(uint row) { return (row / 32u + 1u) / 2u; }

// Q8_0: value d of the head whose first block starts at byte base of buf
// (wd: the word holding the block's scale, wq: the word holding code d)
#define KV_Q8_AT(buf, base, d) q8_value(buf[((base) + ((d) >> 5) * 34u) >> 2],                    \
    buf[((base) + ((d) >> 5) * 34u + 2u + ((d) & 31u)) >> 2], (base) + ((d) >> 5) * 34u, ((d) & 31u))
float q8_value(uint wd, uint wq, uint boff, uint j) {
    float sc = unpackHalf2x16(wd >> ((boff & 2u) * 8u)).x;
    uint off = boff + 2u + j;
    return sc * float(bitfieldExtract(int(wq), int((off & 3u) * 8u), 8));
}

// Quantizes 32 (one == true) or 64 values as the reference converter does
// (d = max|x| / 127, q = round-half-away(x / d)) into 9 or 17 words; the
// two pad bytes after a lone block are 0.
uint kv_q8_byte(uint k, float d0, float d1, int q[64]) {
    if (k < 2u) return (packHalf2x16(vec2(d0, 0.0)) >> (8u * k)) & 0xFFu;
    if (k < 34u) return uint(q[k - 2u]) & 0xFFu;
    if (k < 36u) return (packHalf2x16(vec2(d1, 0.0)) >> (8u * (k - 34u))) & 0xFFu;
    return uint(q[k - 4u]) & 0xFFu;
}
uint kv_q8_pack(float x[64], bool one, out uint w[17]) {
    float dd[2];
    int q[64];
    for (uint b = 0u; b < 2u; b++) {
        float amax = 0.0;
        for (uint i = 0u; i < 32u; i++) amax = max(amax, abs(x[32u * b + i]));
        float d = amax / 127.0;
        float id = d != 0.0 ? 1.0 / d : 0.0;
        dd[b] = d;
        for (uint i = 0u; i < 32u; i++) {
            float v = clamp(x[32u * b + i] * id, -127.0, 127.0);
            q[32u * b + i] = int(sign(v) * floor(abs(v) + 0.5));
        }
    }
    if (one) dd[1] = 0.0;
    uint nw = one ? 9u : 17u;
    for (uint k = 0u; k < 17u; k++) {
        uint v = 0u;
        for (uint j = 0u; j < 4u; j++) {
            uint byte_i = 4u * k + j;
            if (!(one && byte_i >= 34u)) v |= kv_q8_byte(byte_i, dd[0], dd[1], q) << (8u * j);
        }
        w[k] = v;
    }
    return nw;
}
