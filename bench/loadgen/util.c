/* sio-loadgen utilities: byte queues, the monotonic clock, the latency histogram, a fast
 * non-cryptographic rng (WebSocket mask keys and handshake nonces need only be unpredictable
 * enough for a load test), and hex timestamps that travel inside payloads so that latency is
 * measured without per-message bookkeeping on the client. */
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void lg_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("sio-loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void buf_make_room(lg_buf *b, size_t n) {
  if (b->off + b->len + n <= b->cap) return;
  if (b->off > 0) { /* slide the live bytes to the front first */
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
    if (b->len + n <= b->cap) return;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  b->data = realloc(b->data, cap);
  if (!b->data) lg_fatal("out of memory");
  b->cap = cap;
}

uint8_t *lg_buf_tail(lg_buf *b, size_t n) {
  buf_make_room(b, n);
  uint8_t *p = b->data + b->off + b->len;
  b->len += n;
  return p;
}

void lg_buf_append(lg_buf *b, const void *p, size_t n) {
  if (n) memcpy(lg_buf_tail(b, n), p, n);
}

void lg_buf_consume(lg_buf *b, size_t n) {
  b->off += n;
  b->len -= n;
  if (b->len == 0) b->off = 0;
}

void lg_buf_free(lg_buf *b) {
  free(b->data);
  *b = (lg_buf){0};
}

uint64_t lg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lg_rand(void) {
  static uint64_t s;
  if (!s) s = lg_now_ns() | 1;
  s ^= s << 13; /* xorshift64 */
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

static int hist_index(uint64_t v) {
  if (v < 128) return (int)v;
  int e = 63 - __builtin_clzll(v); /* >= 7 */
  int sub = (int)(v >> (e - 6)) - 64;
  return 128 + (e - 7) * 64 + sub;
}

/* The middle of a bucket, in nanoseconds. */
static double hist_value(int i) {
  if (i < 128) return i;
  int e = (i - 128) / 64 + 7, sub = (i - 128) % 64;
  double width = (double)(1ull << (e - 6));
  return (64 + sub) * width + width / 2;
}

void lg_hist_add(lg_hist *h, uint64_t ns) {
  h->bucket[hist_index(ns)]++;
  h->count++;
}

double lg_hist_pct_us(const lg_hist *h, double pct) {
  if (!h->count) return 0;
  uint64_t rank = (uint64_t)(pct / 100.0 * (double)h->count);
  if (rank >= h->count) rank = h->count - 1;
  uint64_t seen = 0;
  for (int i = 0; i < LG_HIST_BUCKETS; i++) {
    seen += h->bucket[i];
    if (seen > rank) return hist_value(i) / 1000.0;
  }
  return hist_value(LG_HIST_BUCKETS - 1) / 1000.0;
}

void lg_hist_print(const lg_hist *h, FILE *f, const char *prefix) {
  for (int i = 0; i < LG_HIST_BUCKETS; i++)
    if (h->bucket[i])
      fprintf(f, "%s %.3f %llu\n", prefix, hist_value(i) / 1000.0,
              (unsigned long long)h->bucket[i]);
}

void lg_put_hex64(char *out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, v >>= 4) out[i] = digits[v & 15];
}

/* Hex digit values by byte; 0xff marks a non-digit (uppercase is not produced here). */
static uint8_t hex_value[256];

static void hex_table_init(void) {
  memset(hex_value, 0xff, sizeof hex_value);
  for (int d = 0; d < 10; d++) hex_value['0' + d] = (uint8_t)d;
  for (int d = 0; d < 6; d++) hex_value['a' + d] = (uint8_t)(10 + d);
}

bool lg_get_hex(const uint8_t *in, int digits, uint64_t *v) {
  if (hex_value[0] != 0xff) hex_table_init();
  uint64_t r = 0;
  uint8_t bad = 0;
  for (int i = 0; i < digits; i++) {
    uint8_t d = hex_value[in[i]];
    bad |= d & 0xf0;
    r = r << 4 | (d & 15);
  }
  *v = r;
  return bad == 0;
}
