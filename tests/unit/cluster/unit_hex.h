/* Hex helpers for the cluster tests: byte vectors are written as notepack's tests write them. */
#ifndef SIO_TESTS_CLUSTER_UNIT_HEX_H
#define SIO_TESTS_CLUSTER_UNIT_HEX_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static inline int unit_hexval(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decodes hex (spaces allowed) into out, returns the byte count. */
static inline size_t unhex(const char *hex, void *out) {
  unsigned char *o = out;
  size_t n = 0;
  for (const char *p = hex; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    o[n++] = (unsigned char)(unit_hexval(p[0]) << 4 | unit_hexval(p[1]));
    p += 2;
  }
  return n;
}

static inline char *to_hex(const void *data, size_t n) {
  const unsigned char *d = data;
  char *s = malloc(2 * n + 1);
  for (size_t i = 0; i < n; i++) snprintf(s + 2 * i, 3, "%02x", d[i]);
  s[2 * n] = 0;
  return s;
}

/* The buffer's bytes equal the hex. */
static inline void expect_hex(const sio__sbuf *b, const char *hex) {
  char *got = to_hex(b->data, b->len);
  char *want = malloc(strlen(hex) + 1);
  size_t k = 0;
  for (const char *p = hex; *p; p++)
    if (*p != ' ') want[k++] = *p;
  want[k] = 0;
  if (strcmp(got, want)) fail_msg("bytes %s, want %s", got, want);
  free(got);
  free(want);
}

/* The buffer starts with the hex header and has `payload` more bytes. */
static inline void expect_hex_prefix(const sio__sbuf *b, const char *hex, size_t payload) {
  size_t hn = strlen(hex) / 2;
  char *got = to_hex(b->data, b->len < hn ? b->len : hn);
  if (strcmp(got, hex) || b->len != hn + payload)
    fail_msg("header %s (%zu bytes), want %s (%zu bytes)", got, b->len, hex, hn + payload);
  free(got);
}
#endif
