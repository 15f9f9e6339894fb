// kv.glsl — addressing of the paged KV cache. Layout of one layer's K (or V):
// [n_blocks][block_size][n_kv_heads * head_dim] elements, f32 (one word each)
// or f16 (two per word, element e in half e & 1 of word e >> 1).
// Info holds the batch: pos at pos_off, seq at seq_off, the block table at
// bt_off ([n_slots][max_blocks]); the host checked every entry used.
uint kv_slot_index(uint s, uint p, uint bt_off, uint max_blocks, uint block_size) {
    uint blk = uint(Info[bt_off + s * max_blocks + p / block_size]);
    return blk * block_size + p % block_size;
}
