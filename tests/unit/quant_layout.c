/* quant_layout.c — pins the block layouts independently of the quantizers:
 * blocks built byte by byte from the GGUF/ggml specification dequantize to
 * values worked out by hand (spot values as literals), and to the values of a
 * direct transcription of the spec's element -> (byte, bits) mapping written
 * here, separate from the library. */
#include "quant/quant.h"
#include "testutil.h"

#define F16_ONE 0x3C00  /* 1.0 */
#define F16_HALF 0x3800 /* 0.5 */
#define F16_QUARTER 0x3400
#define F16_MINUS_ONE 0xBC00
#define F16_TWO 0x4000

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void dequant(uint32_t t, const uint8_t *blk, float *y, int n) {
    CHECK(quant_dequantize_row(t, blk, y, n) == 0);
}

#define EXPECT(t, y, i, v)                                                                         \
    CHECKF((y)[i] == (float)(v), "%s element %d = %g, want %g", dtype_name(t), (int)(i),           \
           (double)(y)[i], (double)(v))

static void q8_0(void) {
    uint8_t b[34];
    put16(b, F16_HALF);
    for (int j = 0; j < 32; j++)
        b[2 + j] = (uint8_t)(int8_t)(j * 9 - 128); /* -128 .. 151 wraps */
    float y[32];
    dequant(DTYPE_Q8_0, b, y, 32);
    for (int j = 0; j < 32; j++)
        EXPECT(DTYPE_Q8_0, y, j, 0.5f * (float)(int8_t)(uint8_t)(j * 9 - 128));
    EXPECT(DTYPE_Q8_0, y, 0, -64.0f);  /* int8 -128 * 0.5 */
    EXPECT(DTYPE_Q8_0, y, 15, 3.5f);   /* 15*9-128 = 7 */
    EXPECT(DTYPE_Q8_0, y, 31, -52.5f); /* 151 -> int8 -105 */
}

/* 32-element 4-bit blocks: qs[j] low nibble = element j, high = element j+16 */
static void q4(void) {
    uint8_t b[20];
    float y[32];
    put16(b, F16_ONE);
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | (15 - j) << 4);
    dequant(DTYPE_Q4_0, b, y, 32);
    for (int j = 0; j < 16; j++) {
        EXPECT(DTYPE_Q4_0, y, j, j - 8);
        EXPECT(DTYPE_Q4_0, y, j + 16, 7 - j);
    }

    put16(b, F16_HALF);
    put16(b + 2, F16_MINUS_ONE);
    for (int j = 0; j < 16; j++)
        b[4 + j] = (uint8_t)(j | (15 - j) << 4);
    dequant(DTYPE_Q4_1, b, y, 32);
    for (int j = 0; j < 16; j++) {
        EXPECT(DTYPE_Q4_1, y, j, 0.5f * j - 1.0f);
        EXPECT(DTYPE_Q4_1, y, j + 16, 0.5f * (15 - j) - 1.0f);
    }
    EXPECT(DTYPE_Q4_1, y, 16, 6.5f);
}

/* Q5: qh (u32 LE) bit j is bit 4 of element j. Bits set here: 0, 17, 31
 * (bytes 01 00 02 80), i.e. elements 0, 17 and 31. */
static void q5(void) {
    uint8_t b[24];
    float y[32];
    put16(b, F16_ONE);
    b[2] = 0x01, b[3] = 0x00, b[4] = 0x02, b[5] = 0x80;
    for (int j = 0; j < 16; j++)
        b[6 + j] = (uint8_t)(j | (15 - j) << 4);
    dequant(DTYPE_Q5_0, b, y, 32);
    for (int j = 0; j < 16; j++) {
        int hi0 = j == 0 ? 16 : 0, hi1 = (j == 1 || j == 15) ? 16 : 0;
        EXPECT(DTYPE_Q5_0, y, j, (j | hi0) - 16);
        EXPECT(DTYPE_Q5_0, y, j + 16, ((15 - j) | hi1) - 16);
    }
    EXPECT(DTYPE_Q5_0, y, 0, 0.0f);   /* 0|16 - 16 */
    EXPECT(DTYPE_Q5_0, y, 1, -15.0f); /* 1 - 16 */
    EXPECT(DTYPE_Q5_0, y, 17, 14.0f); /* (14|16) - 16 */
    EXPECT(DTYPE_Q5_0, y, 31, 0.0f);  /* (0|16) - 16 */

    put16(b, F16_QUARTER);
    put16(b + 2, F16_TWO);
    b[4] = 0x01, b[5] = 0x00, b[6] = 0x02, b[7] = 0x80;
    for (int j = 0; j < 16; j++)
        b[8 + j] = (uint8_t)(j | (15 - j) << 4);
    dequant(DTYPE_Q5_1, b, y, 32);
    EXPECT(DTYPE_Q5_1, y, 0, 0.25f * 16 + 2);
    EXPECT(DTYPE_Q5_1, y, 1, 0.25f * 1 + 2);
    EXPECT(DTYPE_Q5_1, y, 17, 0.25f * 30 + 2);
    EXPECT(DTYPE_Q5_1, y, 31, 0.25f * 16 + 2);
    EXPECT(DTYPE_Q5_1, y, 20, 0.25f * 11 + 2);
}

/* K-quant 6-bit scales/mins used below, and their packing worked by hand:
 *   sc = {1, 2, 3, 4, 17, 33, 50, 63}, mn = {0, 5, 10, 63, 16, 31, 48, 7}
 *   byte i   = sc[i] | (sc[i+4]>>4)<<6 : 0x41 0x82 0xC3 0xC4
 *   byte 4+i = mn[i] | (mn[i+4]>>4)<<6 : 0x40 0x45 0xCA 0x3F
 *   byte 8+i = (sc[i+4]&15) | (mn[i+4]&15)<<4 : 0x01 0xF1 0x02 0x7F */
static const uint8_t k_scales[12] = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x45,
                                     0xCA, 0x3F, 0x01, 0xF1, 0x02, 0x7F};
static const int k_sc[8] = {1, 2, 3, 4, 17, 33, 50, 63}, k_mn[8] = {0, 5, 10, 63, 16, 31, 48, 7};

static uint8_t k_qs(int k) { return (uint8_t)((k % 16) | ((k * 7) % 16) << 4); }
static uint8_t k_qh(int l) { return (uint8_t)(l * 37); }

static void q4_k_q5_k(void) {
    uint8_t b[176];
    float y[256];
    /* Q4_K: d = 1, dmin = 0.5 */
    put16(b, F16_ONE);
    put16(b + 2, F16_HALF);
    memcpy(b + 4, k_scales, 12);
    for (int k = 0; k < 128; k++)
        b[16 + k] = k_qs(k);
    dequant(DTYPE_Q4_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        int c = e / 64, r = e % 64, sub = e / 32;
        int q = r < 32 ? k_qs(32 * c + r) & 15 : k_qs(32 * c + r - 32) >> 4;
        EXPECT(DTYPE_Q4_K, y, e, 1.0f * k_sc[sub] * q - 0.5f * k_mn[sub]);
    }
    EXPECT(DTYPE_Q4_K, y, 0, 0.0f);     /* qs[0] low = 0; sc 1, mn 0 */
    EXPECT(DTYPE_Q4_K, y, 33, 11.5f);   /* qs[1] high = 7; sc 2 mn 5: 14 - 2.5 */
    EXPECT(DTYPE_Q4_K, y, 200, 376.0f); /* qs[104] low = 8; sc 50 mn 48: 400 - 24 */
    EXPECT(DTYPE_Q4_K, y, 255, 563.5f); /* qs[127] high = 889%16 = 9; 63*9 - 3.5 */

    /* Q5_K: same header, qh[l] = 37*l, qs at offset 48 */
    for (int l = 0; l < 32; l++)
        b[16 + l] = k_qh(l);
    for (int k = 0; k < 128; k++)
        b[48 + k] = k_qs(k);
    dequant(DTYPE_Q5_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        int c = e / 64, r = e % 64, sub = e / 32, l = r % 32;
        int lo = r < 32 ? k_qs(32 * c + l) & 15 : k_qs(32 * c + l) >> 4;
        int hb = (k_qh(l) >> (2 * c + (r >= 32))) & 1;
        EXPECT(DTYPE_Q5_K, y, e, 1.0f * k_sc[sub] * (lo | hb << 4) - 0.5f * k_mn[sub]);
    }
    EXPECT(DTYPE_Q5_K, y, 2, 2.0f);     /* qh[2]=0x4A bit0 clear; q=2, sc 1 */
    EXPECT(DTYPE_Q5_K, y, 32, -2.5f);   /* qh[0]=0; q=0; sc 2, mn 5 */
    EXPECT(DTYPE_Q5_K, y, 65, 46.0f);   /* qh[1]=0x25 bit2 set; q=1|16=17; 3*17 - 5 */
    EXPECT(DTYPE_Q5_K, y, 195, 926.0f); /* qh[3]=0x6F bit6 set; q=3|16=19; 50*19 - 24 */
    EXPECT(DTYPE_Q5_K, y, 227, 311.5f); /* qh[3] bit7 clear; qs[99] high = 693%16 = 5; 63*5 - 3.5 */
}

static void q6_k(void) {
    static const int8_t sc[16] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -128};
    uint8_t b[210];
    for (int k = 0; k < 128; k++)
        b[k] = (uint8_t)(k * 13);
    for (int k = 0; k < 64; k++)
        b[128 + k] = (uint8_t)(k * 29);
    memcpy(b + 192, sc, 16);
    put16(b + 208, F16_HALF);
    float y[256];
    dequant(DTYPE_Q6_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, p = r / 32, l = r % 32;
        uint8_t lsrc = b[64 * h + l + 32 * (p & 1)];
        int lo = p < 2 ? lsrc & 15 : lsrc >> 4;
        int hi = (b[128 + 32 * h + l] >> (2 * p)) & 3;
        EXPECT(DTYPE_Q6_K, y, e, 0.5f * sc[e / 16] * ((lo | hi << 4) - 32));
    }
    EXPECT(DTYPE_Q6_K, y, 0, -16.0f);    /* ql[0]=0, qh[0]=0: 0.5*1*(0-32) */
    EXPECT(DTYPE_Q6_K, y, 40, 12.0f);    /* ql[40]=0x08 low 8, qh[8]=0xE8 bits2-3 = 2: q=40, sc 3 */
    EXPECT(DTYPE_Q6_K, y, 70, 10.0f);    /* ql[6]=0x4E high 4, qh[6]=0xAE bits4-5 = 2: q=36, sc 5 */
    EXPECT(DTYPE_Q6_K, y, 255, 1600.0f); /* ql[127]=0x73 high 7, qh[63]=0x23 bits6-7 = 0, sc -128 */
}

int main(void) {
    q8_0();
    q4();
    q5();
    q4_k_q5_k();
    q6_k();
    return test_finish();
}
