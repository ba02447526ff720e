/* Small encodings shared by the layers: hex digits, base64 (standard and URL alphabets), random
 * ids from OpenSSL's RNG, SHA-1, percent-decoding and decimal parsing. The hex helpers are inline:
 * the HTTP chunk parser and the JSON scanner call them per byte. */
#ifndef SIO_CORE_CODEC_H
#define SIO_CORE_CODEC_H
#include <stddef.h>
#include <stdint.h>

/* The value of a hex digit (either case), or -1. */
static inline int sio__hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The 16-bit value of four hex digits, already checked (a JSON \uXXXX escape). */
static inline uint32_t sio__hex4(const char *p) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) v = v << 4 | (uint32_t)sio__hex_value((unsigned char)p[k]);
  return v;
}

/* Lowercase hex digits, for writing. */
#define SIO__HEX_DIGITS "0123456789abcdef"

/* Percent-decodes in[0..n) into out (room for n + 1 bytes), NUL-terminated: %XX (either case)
 * becomes its byte and, with plus_as_space (query strings, forms), '+' a space. A '%' not
 * followed by two hex digits is kept as it is and sets *bad (bad may be NULL; else 0 when every
 * escape was good). Returns the decoded length, which may count NUL bytes (%00): callers that
 * want a C string compare it with strlen. The one decoder: HTTP paths, parameters, queries,
 * forms, cookies and static file names, the Engine.IO handshake's query, Redis URLs. */
size_t sio__pct_decode(const char *in, size_t n, char *out, int plus_as_space, int *bad);

/* Length of the base64 (padded) encoding of n bytes. */
static inline size_t sio__base64_len(size_t n) {
  return (n + 2) / 3 * 4;
}
/* Writes sio__base64_len(n) chars (no NUL). url: '-' '_' alphabet without padding; returns
 * the number of chars written. */
size_t sio__base64_encode(char *out, const void *in, size_t n, int url);
/* Decodes standard base64 (padding optional, no whitespace). out must hold n*3/4+3 bytes.
 * Returns the decoded length or -1 if the input is not base64. */
long sio__base64_decode(void *out, const char *in, size_t n);

/* Fills out with `len` bytes from a CSPRNG. Returns 0 or a negative error. */
int sio__random_bytes(void *out, size_t len);
/* A random id of `bytes` random bytes as URL-safe base64 (no padding), NUL-terminated.
 * out must hold 4*bytes/3+3 chars. Returns 0 or negative. */
int sio__random_id(char *out, size_t bytes);

void sio__sha1(const void *data, size_t len, unsigned char out[20]);

/* Parses an unsigned decimal of 1..19 digits (no sign, no spaces). 0 or -1. */
int sio__parse_u64(const char *s, size_t n, uint64_t *out);

#endif
