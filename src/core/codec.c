/* base64, random ids, SHA-1 and decimal parsing (see codec.h). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init and co.: see sio__sha1 */
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

/* Standard alphabet values by byte, 0x80 for bytes outside it: a lookup instead of a chain
 * of range tests per character. */
#define B64V(c)                                                                                    \
  ((unsigned char)((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                          \
                   : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                     \
                   : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                     \
                   : (c) == '+'               ? 62                                                 \
                   : (c) == '/'               ? 63                                                 \
                                              : 0x80))
#define B64V4(c)  B64V(c), B64V((c) + 1), B64V((c) + 2), B64V((c) + 3)
#define B64V16(c) B64V4(c), B64V4((c) + 4), B64V4((c) + 8), B64V4((c) + 12)
#define B64V64(c) B64V16(c), B64V16((c) + 16), B64V16((c) + 32), B64V16((c) + 48)
static const unsigned char b64_values[256] = {B64V64(0), B64V64(64), B64V64(128), B64V64(192)};

long sio__base64_decode(void *out, const char *in, size_t n) {
  const unsigned char *s = (const unsigned char *)in;
  unsigned char *o = out;
  while (n > 0 && in[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  size_t len = 0, i = 0;
  for (; i + 4 <= n; i += 4) { /* four characters make three bytes */
    unsigned a = b64_values[s[i]], b = b64_values[s[i + 1]], c = b64_values[s[i + 2]],
             d = b64_values[s[i + 3]];
    if ((a | b | c | d) & 0x80) return -1;
    uint32_t v = a << 18 | b << 12 | c << 6 | d;
    o[len++] = (unsigned char)(v >> 16);
    o[len++] = (unsigned char)(v >> 8);
    o[len++] = (unsigned char)v;
  }
  if (i < n) { /* two or three characters left: one or two bytes (the spare bits dropped) */
    unsigned a = b64_values[s[i]], b = b64_values[s[i + 1]],
             c = n - i == 3 ? b64_values[s[i + 2]] : 0;
    if ((a | b | c) & 0x80) return -1;
    o[len++] = (unsigned char)(a << 2 | b >> 4);
    if (n - i == 3) o[len++] = (unsigned char)(b << 4 | c >> 2);
  }
  return (long)len;
}

/* Random bytes come from OpenSSL's CSPRNG, drawn 4 KiB at a time (one refill per ~130 connections)
 * into a per-thread pool: a session id then takes its bytes from there instead of from a RAND_bytes
 * call (which also checks for a fork with getpid each time). A forked child must not reuse its
 * parent's pool, so it is emptied in the child (pthread_atfork). */
#define RANDOM_POOL 4096
static _Thread_local unsigned char pool[RANDOM_POOL];
static _Thread_local size_t pool_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Used bytes do not linger in the pool: they are wiped once used, by a memset called
 * through a volatile pointer (which the compiler cannot drop), as OpenSSL's portable
 * OPENSSL_cleanse does; its x86-64 assembly clears a short span a byte at a time, several times
 * the cost of the memset for an id's 15 or 16 bytes. */
static void *(*volatile wipe)(void *, int, size_t) = memset;

static void empty_pool_in_child(void) {
  OPENSSL_cleanse(pool, sizeof pool);
  pool_left = 0;
}
static void register_atfork(void) {
  pthread_atfork(NULL, NULL, empty_pool_in_child);
}

/* The next len (<= RANDOM_POOL) bytes of the pool, refilled first if short; NULL if the CSPRNG
 * fails. The caller wipes them once used. */
static unsigned char *pool_take(size_t len) {
  if (pool_left < len) {
    pthread_once(&atfork_once, register_atfork); /* before the pool first holds bytes */
    if (RAND_bytes(pool, RANDOM_POOL) != 1) return NULL;
    pool_left = RANDOM_POOL;
  }
  unsigned char *src = pool + (RANDOM_POOL - pool_left);
  pool_left -= len;
  return src;
}

int sio__random_bytes(void *out, size_t len) {
  if (len > RANDOM_POOL / 4) return RAND_bytes(out, (int)len) == 1 ? 0 : -5; /* EIO */
  unsigned char *src = pool_take(len);
  if (!src) return -5;
  memcpy(out, src, len);
  wipe(src, 0, len);
  return 0;
}

/* Encodes straight from the pool: the raw bytes are not copied anywhere first. */
int sio__random_id(char *out, size_t bytes) {
  if (bytes > 64) return -22;
  unsigned char *src = pool_take(bytes);
  if (!src) return -5;
  size_t n = sio__base64_encode(out, src, bytes, 1);
  wipe(src, 0, bytes);
  out[n] = '\0';
  return 0;
}

/* The WebSocket handshake hashes one short key per connection: OpenSSL 3's one-shot SHA1()
 * fetches the digest implementation from the provider on every call (more work than the hash
 * of 60 bytes), so this calls the low-level functions, which run the hash directly. */
void sio__sha1(const void *data, size_t len, unsigned char out[20]) {
  SHA_CTX c;
  SHA1_Init(&c);
  SHA1_Update(&c, data, len);
  SHA1_Final(out, &c);
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

/* The one percent-decoder (codec.h). */
size_t sio__pct_decode(const char *in, size_t n, char *out, int plus_as_space, int *bad) {
  size_t o = 0;
  int was_bad = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '%') {
      int hi, lo;
      if (i + 2 < n && (hi = sio__hex_value((unsigned char)in[i + 1])) >= 0 &&
          (lo = sio__hex_value((unsigned char)in[i + 2])) >= 0) {
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
        continue;
      }
      was_bad = 1;
      out[o++] = c;
      continue;
    }
    out[o++] = plus_as_space && c == '+' ? ' ' : c;
  }
  out[o] = 0;
  if (bad) *bad = was_bad;
  return o;
}
