/* base64, random ids, SHA-1 and decimal parsing (see codec.h). */
#include "core/codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t sio__base64_encode(char *out, const void *in, size_t n, int url) {
  const unsigned char *p = in;
  const char *abc = url ? b64_url : b64_std;
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = abc[(v >> 6) & 63];
    out[o++] = abc[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    if (!url) {
      out[o++] = '=';
      out[o++] = '=';
    }
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = abc[(v >> 6) & 63];
    if (!url) out[o++] = '=';
  }
  return o;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

long sio__base64_decode(void *out, const char *in, size_t n) {
  unsigned char *o = out;
  while (n > 0 && in[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  size_t len = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)in[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o[len++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  return (long)len;
}

/* Random bytes come from OpenSSL's CSPRNG, drawn 512 bytes at a time into a per-thread pool:
 * a session id then costs a memcpy instead of a RAND_bytes call (which also checks for a fork
 * with getpid each time). A forked child must not reuse its parent's pool, so it is emptied in
 * the child (pthread_atfork). */
#define RANDOM_POOL 512
static _Thread_local unsigned char pool[RANDOM_POOL];
static _Thread_local size_t pool_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void empty_pool_in_child(void) {
  OPENSSL_cleanse(pool, sizeof pool);
  pool_left = 0;
}
static void register_atfork(void) { pthread_atfork(NULL, NULL, empty_pool_in_child); }

int sio__random_bytes(void *out, size_t len) {
  if (len > RANDOM_POOL / 4) return RAND_bytes(out, (int)len) == 1 ? 0 : -5; /* EIO */
  pthread_once(&atfork_once, register_atfork);
  if (pool_left < len) {
    if (RAND_bytes(pool, RANDOM_POOL) != 1) return -5;
    pool_left = RANDOM_POOL;
  }
  unsigned char *src = pool + (RANDOM_POOL - pool_left);
  memcpy(out, src, len);
  OPENSSL_cleanse(src, len); /* used bytes do not linger */
  pool_left -= len;
  return 0;
}

int sio__random_id(char *out, size_t bytes) {
  unsigned char raw[64];
  if (bytes > sizeof(raw)) return -22;
  if (sio__random_bytes(raw, bytes) != 0) return -5;
  size_t n = sio__base64_encode(out, raw, bytes, 1);
  out[n] = '\0';
  return 0;
}

/* SHA-1 (FIPS 180-4) written out: the WebSocket handshake hashes one short key per
 * connection, and OpenSSL 3's SHA1() fetches the digest implementation on every call (several
 * times the cost of the hash itself for 60 bytes). */
static uint32_t rol32(uint32_t x, int n) {
  return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const unsigned char *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5A827999;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ED9EBA1;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
    else
      f = b ^ c ^ d, k = 0xCA62C1D6;
    uint32_t t = rol32(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol32(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void sio__sha1(const void *data, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  const unsigned char *p = data;
  size_t left = len;
  for (; left >= 64; p += 64, left -= 64) sha1_block(h, p);
  unsigned char tail[128] = {0};
  memcpy(tail, p, left);
  tail[left] = 0x80;
  size_t tlen = left + 9 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
  sha1_block(h, tail);
  if (tlen == 128) sha1_block(h, tail + 64);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(h[i] >> 8);
    out[4 * i + 3] = (unsigned char)h[i];
  }
}

int sio__parse_u64(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 19) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}
