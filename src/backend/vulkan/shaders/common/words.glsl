// words.glsl — 16-bit floats in word arrays: value i of an F32 (type 0), F16
// (1) or BF16 (2) vector bound as uint[] (biases, norm weights: little-endian
// halves), and 8 floats packed as f16 into a uvec4 (shared-memory tiles).
float half_word(uint w, uint i) { return unpackHalf2x16((w >> ((i & 1u) * 16u)) & 0xFFFFu).x; }
float bf16_word(uint w, uint i) { return uintBitsToFloat(((w >> ((i & 1u) * 16u)) & 0xFFFFu) << 16); }
#define TYPED_WORD_AT(buf, type, i)                                                                \
    ((type) == 0u ? uintBitsToFloat(buf[i]) : (type) == 1u ? half_word(buf[(i) >> 1], i) : bf16_word(buf[(i) >> 1], i))

uvec4 pack8(vec4 a, vec4 b) {
    return uvec4(packHalf2x16(a.xy), packHalf2x16(a.zw), packHalf2x16(b.xy), packHalf2x16(b.zw));
}
