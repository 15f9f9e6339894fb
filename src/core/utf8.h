/* utf8.h — UTF-8 validation and decoding (strict: no overlongs, no surrogates). */
#ifndef VKLLM_CORE_UTF8_H
#define VKLLM_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the valid character starting at s (n bytes left), or 0 if invalid. */
size_t utf8_char_len(const uint8_t *s, size_t n);
/* Decodes one character; returns its length (0 if invalid) and stores the code point. */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* Encodes cp (<= 0x10FFFF) into out (4 bytes room); returns the length. */
size_t utf8_encode(uint32_t cp, char *out);
/* 1 if all n bytes are valid UTF-8. */
int utf8_valid(const void *s, size_t n);
/* Bytes of the longest prefix of s[0..n) that ends on a character boundary,
 * holding back a trailing incomplete (but so far valid) sequence. */
size_t utf8_complete_prefix(const uint8_t *s, size_t n);

#endif
