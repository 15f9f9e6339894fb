// bytes.glsl — byte-addressed reads from a weight buffer declared as
// `uint Wd[]` (little-endian words). Weight ranges are padded by one word
// so the unaligned 32-bit read never leaves the binding.
uint rd_u8(uint off) { return (Wd[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }
// off even
uint rd_u16(uint off) { return (Wd[off >> 2] >> ((off & 2u) * 8u)) & 0xFFFFu; }
// off even; the four bytes at off..off+3
uint rd_u32(uint off) {
    uint w = off >> 2;
    if ((off & 2u) == 0u) return Wd[w];
    return (Wd[w] >> 16) | (Wd[w + 1u] << 16);
}
float rd_f16(uint off) { return unpackHalf2x16(rd_u16(off)).x; }
float rd_bf16(uint off) { return uintBitsToFloat(rd_u16(off) << 16); }
float rd_f32(uint off) { return uintBitsToFloat(Wd[off >> 2]); }
