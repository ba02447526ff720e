/* Unit tests for the WebSocket codec: the RFC 6455 and RFC 7692 example frames byte for byte,
 * every framing rule's close code, UTF-8 validation across splits, close payloads, the
 * handshake and permessage-deflate negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ws/codec.h"

/* --- a recording reader ------------------------------------------------------------------ */
typedef struct rec {
  int nmsg, nctl;
  int binary[16];
  char msg[16][512];
  size_t len[16];
  int ctl_op[16];
  unsigned ctl_code[16];
  char ctl[16][126];
  size_t ctl_len[16];
} rec;

static int on_message(void *user, int binary, char *data, size_t len) {
  rec *r = user;
  if (r->nmsg < 16) {
    r->binary[r->nmsg] = binary;
    memcpy(r->msg[r->nmsg], data, len < 512 ? len : 512);
    r->len[r->nmsg] = len;
  }
  r->nmsg++;
  return 0;
}

static int on_control(void *user, int op, unsigned code, char *data, size_t len) {
  rec *r = user;
  if (r->nctl < 16) {
    r->ctl_op[r->nctl] = op;
    r->ctl_code[r->nctl] = code;
    memcpy(r->ctl[r->nctl], data, len);
    r->ctl_len[r->nctl] = len;
  }
  r->nctl++;
  return 0;
}

static const sio__ws_reader_cb cbs = {on_message, on_control};

/* Feeds bytes in pieces of `chunk` (0: all at once); returns the reader's result. */
static int feed(sio__ws_reader *r, const void *bytes, size_t n, size_t chunk) {
  char *copy = malloc(n + 1);
  memcpy(copy, bytes, n);
  int rc = 0;
  if (!chunk) chunk = n ? n : 1;
  for (size_t i = 0; i < n && rc == 0; i += chunk)
    rc = sio__ws_reader_feed(r, copy + i, n - i < chunk ? n - i : chunk);
  free(copy);
  return rc;
}

static int feed_new(rec *rc, const void *bytes, size_t n, size_t chunk, size_t max) {
  sio__ws_reader r;
  memset(rc, 0, sizeof(*rc));
  sio__ws_reader_init(&r, max, &cbs, rc);
  int res = feed(&r, bytes, n, chunk);
  sio__ws_reader_free(&r);
  return res;
}

/* Builds a masked client frame. */
static size_t client_frame(uint8_t *out, int b0, const void *payload, size_t len) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t i = 0;
  out[i++] = (uint8_t)b0;
  if (len < 126)
    out[i++] = (uint8_t)(0x80 | len);
  else if (len <= 0xFFFF) {
    out[i++] = 0x80 | 126;
    out[i++] = (uint8_t)(len >> 8);
    out[i++] = (uint8_t)len;
  } else {
    out[i++] = 0x80 | 127;
    for (int k = 0; k < 8; k++) out[i++] = (uint8_t)((uint64_t)len >> (56 - 8 * k));
  }
  memcpy(out + i, key, 4);
  i += 4;
  for (size_t k = 0; k < len; k++) out[i + k] = ((const uint8_t *)payload)[k] ^ key[k & 3];
  return i + len;
}

/* --- RFC 6455 5.7 examples --------------------------------------------------------------- */
static void test_rfc_masked_hello(void **state) {
  static const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  rec r;
  for (size_t chunk = 0; chunk <= sizeof f; chunk++) {
    assert_int_equal(feed_new(&r, f, sizeof f, chunk, 0), 0);
    assert_int_equal(r.nmsg, 1);
    assert_int_equal(r.binary[0], 0);
    assert_int_equal(r.len[0], 5);
    assert_memory_equal(r.msg[0], "Hello", 5);
  }
}

static void test_rfc_unmasked_rejected(void **state) {
  static const uint8_t f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  rec r;
  assert_int_equal(feed_new(&r, f, sizeof f, 0, 0), 1002);
  assert_int_equal(r.nmsg, 0);
}

static void test_rfc_unmasked_client_side(void **state) {
  /* the unmasked examples, read as a client would */
  static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
  static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  rec rc;
  memset(&rc, 0, sizeof rc);
  sio__ws_reader r;
  sio__ws_reader_init(&r, 0, &cbs, &rc);
  r.require_mask = 0;
  assert_int_equal(feed(&r, frag, sizeof frag, 0), 0);
  assert_int_equal(feed(&r, ping, sizeof ping, 1), 0);
  assert_int_equal(rc.nmsg, 1);
  assert_int_equal(rc.len[0], 5);
  assert_memory_equal(rc.msg[0], "Hello", 5);
  assert_int_equal(rc.nctl, 1);
  assert_int_equal(rc.ctl_op[0], SIO__WS_OP_PING);
  assert_memory_equal(rc.ctl[0], "Hello", 5);
  sio__ws_reader_free(&r);
}

static void test_rfc_masked_pong(void **state) {
  static const uint8_t f[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  rec r;
  assert_int_equal(feed_new(&r, f, sizeof f, 3, 0), 0);
  assert_int_equal(r.nctl, 1);
  assert_int_equal(r.ctl_op[0], SIO__WS_OP_PONG);
  assert_memory_equal(r.ctl[0], "Hello", 5);
}

static void test_encoder_headers(void **state) {
  uint8_t h[10];
  static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  size_t off;
  sio__buf *b = sio__ws_frame_new(SIO__WS_OP_TEXT, 0, "Hello", 5, &off);
  assert_int_equal(b->len - off, sizeof hello);
  assert_memory_equal(b->data + off, hello, sizeof hello);
  sio__buf_unref(b);
  static const uint8_t h256[] = {0x82, 0x7E, 0x01, 0x00};
  assert_int_equal(sio__ws_header_write(h, SIO__WS_OP_BINARY, 0, 256), 4);
  assert_memory_equal(h, h256, 4);
  static const uint8_t h64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
  assert_int_equal(sio__ws_header_write(h, SIO__WS_OP_BINARY, 0, 65536), 10);
  assert_memory_equal(h, h64k, 10);
  assert_int_equal(sio__ws_header_write(h, SIO__WS_OP_BINARY, 0, 125), 2);
  assert_int_equal(h[1], 125);
  assert_int_equal(sio__ws_header_write(h, SIO__WS_OP_BINARY, 0, 126), 4);
  assert_int_equal(sio__ws_header_write(h, SIO__WS_OP_BINARY, 0, 65535), 4);
  assert_int_equal(h[2], 0xFF);
  /* a prepared shared buffer */
  sio__buf *s = sio__buf_new(SIO__WS_HEADROOM + 5);
  memcpy(s->data + SIO__WS_HEADROOM, "Hello", 5);
  s->len = SIO__WS_HEADROOM + 5;
  off = sio__ws_frame_prepare(s, SIO__WS_OP_TEXT);
  assert_int_equal(off, SIO__WS_HEADROOM - 2);
  assert_memory_equal(s->data + off, hello, sizeof hello);
  sio__buf_unref(s);
  /* close frames */
  b = sio__ws_close_frame_new(1000, "bye", 3, &off);
  static const uint8_t cl[] = {0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'};
  assert_memory_equal(b->data + off, cl, sizeof cl);
  sio__buf_unref(b);
  b = sio__ws_close_frame_new(0, NULL, 0, &off);
  assert_int_equal(b->len - off, 2);
  assert_int_equal((uint8_t)b->data[off + 1], 0);
  sio__buf_unref(b);
}

static void test_lengths(void **state) {
  static const size_t sizes[] = {0, 1, 125, 126, 127, 128, 65535, 65536, 100000};
  uint8_t *payload = malloc(100000), *frame = malloc(100020);
  for (size_t i = 0; i < 100000; i++) payload[i] = (uint8_t)(i * 7);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = client_frame(frame, 0x82, payload, sizes[s]);
    sio__ws_reader r;
    int count = 0;
    struct {
      int *count;
      size_t want;
      const uint8_t *p;
    } ctx = {&count, sizes[s], payload};
    (void)ctx;
    rec rc;
    memset(&rc, 0, sizeof rc);
    sio__ws_reader_init(&r, 0, &cbs, &rc);
    assert_int_equal(feed(&r, frame, n, 0), 0);
    assert_int_equal(rc.nmsg, 1);
    assert_int_equal(rc.len[0], sizes[s]);
    assert_memory_equal(rc.msg[0], payload, sizes[s] < 512 ? sizes[s] : 512);
    memset(&rc, 0, sizeof rc);
    assert_int_equal(feed(&r, frame, n, 7), 0);
    assert_int_equal(rc.nmsg, 1);
    assert_int_equal(rc.len[0], sizes[s]);
    sio__ws_reader_free(&r);
  }
  free(payload);
  free(frame);
}

/* --- framing errors ---------------------------------------------------------------------- */
static int one_frame(int b0, const void *p, size_t n) {
  uint8_t f[256];
  size_t len = client_frame(f, b0, p, n);
  rec r;
  return feed_new(&r, f, len, 0, 0);
}

static void test_framing_errors(void **state) {
  assert_int_equal(one_frame(0x81 | 0x40, "a", 1), 1002); /* RSV1 without extension */
  assert_int_equal(one_frame(0x81 | 0x20, "a", 1), 1002);
  assert_int_equal(one_frame(0x81 | 0x10, "a", 1), 1002);
  assert_int_equal(one_frame(0x89 | 0x40, "", 0), 1002); /* RSV on control */
  for (int op = 3; op <= 7; op++) assert_int_equal(one_frame(0x80 | op, "", 0), 1002);
  for (int op = 11; op <= 15; op++) assert_int_equal(one_frame(0x80 | op, "", 0), 1002);
  uint8_t big[126];
  memset(big, 'x', sizeof big);
  assert_int_equal(one_frame(0x89, big, 126), 1002); /* ping > 125 */
  assert_int_equal(one_frame(0x89, big, 125), 0);
  assert_int_equal(one_frame(0x09, "", 0), 1002);  /* fragmented ping */
  assert_int_equal(one_frame(0x80, "a", 1), 1002); /* continuation with nothing open */
  assert_int_equal(one_frame(0x00, "a", 1), 1002);
  /* a new data frame while a message is open */
  uint8_t f[64];
  size_t n = client_frame(f, 0x01, "ab", 2);
  n += client_frame(f + n, 0x81, "cd", 2);
  rec r;
  assert_int_equal(feed_new(&r, f, n, 0, 0), 1002);
  /* a 64-bit length with the top bit set */
  static const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  assert_int_equal(feed_new(&r, huge, sizeof huge, 0, 0), 1002);
  /* errors are found from the first two bytes (fail fast) */
  static const uint8_t early[] = {0x83, 0x80};
  assert_int_equal(feed_new(&r, early, 2, 0, 0), 1002);
}

static void test_size_limit(void **state) {
  uint8_t f[256], p[100];
  memset(p, 'a', sizeof p);
  rec r;
  size_t n = client_frame(f, 0x81, p, 100);
  assert_int_equal(feed_new(&r, f, n, 0, 100), 0);
  assert_int_equal(feed_new(&r, f, n, 0, 99), 1009);
  n = client_frame(f, 0x01, p, 50);
  n += client_frame(f + n, 0x80, p, 51);
  assert_int_equal(feed_new(&r, f, n, 0, 100), 1009);
  assert_int_equal(r.nmsg, 0);
  /* only the header is needed to refuse */
  static const uint8_t hdr[] = {0x82, 0xFF, 0, 0, 0, 0, 0x7F, 0, 0, 0, 1, 2, 3, 4};
  assert_int_equal(feed_new(&r, hdr, sizeof hdr, 0, 1 << 20), 1009);
}

static void test_fragments_and_interleaved_control(void **state) {
  uint8_t f[512];
  size_t n = client_frame(f, 0x01, "fra", 3);
  n += client_frame(f + n, 0x89, "pi", 2);
  n += client_frame(f + n, 0x00, "gme", 3);
  n += client_frame(f + n, 0x8A, "", 0);
  n += client_frame(f + n, 0x80, "nted", 4);
  n += client_frame(f + n, 0x82, "\x01\x02", 2);
  rec r;
  for (size_t chunk = 0; chunk < 12; chunk++) {
    assert_int_equal(feed_new(&r, f, n, chunk, 0), 0);
    assert_int_equal(r.nmsg, 2);
    assert_int_equal(r.len[0], 10);
    assert_memory_equal(r.msg[0], "fragmented", 10);
    assert_int_equal(r.binary[1], 1);
    assert_int_equal(r.nctl, 2);
    assert_int_equal(r.ctl_op[0], SIO__WS_OP_PING);
    assert_memory_equal(r.ctl[0], "pi", 2);
    assert_int_equal(r.ctl_op[1], SIO__WS_OP_PONG);
  }
  /* empty fragments */
  n = client_frame(f, 0x01, "", 0);
  n += client_frame(f + n, 0x00, "", 0);
  n += client_frame(f + n, 0x80, "", 0);
  assert_int_equal(feed_new(&r, f, n, 1, 0), 0);
  assert_int_equal(r.nmsg, 1);
  assert_int_equal(r.len[0], 0);
}

/* --- UTF-8 ------------------------------------------------------------------------------- */
static void test_utf8(void **state) {
  assert_true(sio__utf8_valid("", 0));
  assert_true(sio__utf8_valid("hello world, plain ascii text", 29));
  assert_true(sio__utf8_valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11)); /* κόσμε */
  assert_true(sio__utf8_valid("\xf4\x8f\xbf\xbf", 4));                              /* U+10FFFF */
  assert_true(sio__utf8_valid("\xef\xbf\xbf", 3));                                  /* U+FFFF */
  assert_true(sio__utf8_valid("\xed\x9f\xbf", 3));                                  /* U+D7FF */
  assert_true(sio__utf8_valid("\xee\x80\x80", 3));                                  /* U+E000 */
  assert_false(sio__utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
  assert_false(sio__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  assert_false(sio__utf8_valid("\xc0\x80", 2));         /* overlong */
  assert_false(sio__utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
  assert_false(sio__utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong */
  assert_false(sio__utf8_valid("\xf8\x88\x80\x80\x80", 5));
  assert_false(sio__utf8_valid("\x80", 1));
  assert_false(sio__utf8_valid("\xce", 1)); /* truncated */
  assert_false(sio__utf8_valid("\xfe", 1));
  /* every split of a 4-byte sequence */
  const uint8_t *s = (const uint8_t *)"a\xf0\x9f\x98\x80z";
  for (size_t k = 0; k <= 6; k++) {
    uint32_t st = sio__utf8_step(SIO__UTF8_ACCEPT, s, k);
    assert_int_not_equal(st, SIO__UTF8_REJECT);
    assert_int_equal(sio__utf8_step(st, s + k, 6 - k), SIO__UTF8_ACCEPT);
  }
  /* fail fast: the reject comes at the first impossible byte */
  assert_int_equal(sio__utf8_step(SIO__UTF8_ACCEPT, (const uint8_t *)"\xed\xa0", 2),
                   SIO__UTF8_REJECT);
  assert_int_equal(sio__utf8_step(SIO__UTF8_ACCEPT, (const uint8_t *)"\xf4\x90", 2),
                   SIO__UTF8_REJECT);
}

static void test_utf8_frames(void **state) {
  uint8_t f[256];
  rec r;
  /* valid text split across fragments inside a code point */
  size_t n = client_frame(f, 0x01, "\xce\xba\xe1", 3);
  n += client_frame(f + n, 0x00, "\xbd\xb9\xcf", 3);
  n += client_frame(f + n, 0x80, "\x83\xce\xbc\xce\xb5", 5);
  assert_int_equal(feed_new(&r, f, n, 1, 0), 0);
  assert_int_equal(r.nmsg, 1);
  /* invalid in a first fragment fails before the message ends */
  n = client_frame(f, 0x01, "ok\xed\xa0\x80", 5);
  assert_int_equal(feed_new(&r, f, n, 0, 0), 1007);
  /* fails mid-frame: feed only the header and the bad byte */
  n = client_frame(f, 0x81,
                   "abc\xff"
                   "defgh",
                   9);
  sio__ws_reader rd;
  memset(&r, 0, sizeof r);
  sio__ws_reader_init(&rd, 0, &cbs, &r);
  assert_int_equal(feed(&rd, f, 6 + 3, 0), 0);
  assert_int_equal(sio__ws_reader_feed(&rd, (char *)f + 9, 1), 1007);
  sio__ws_reader_free(&rd);
  /* truncated at the end of the message */
  n = client_frame(f, 0x81, "abc\xce", 4);
  assert_int_equal(feed_new(&r, f, n, 0, 0), 1007);
  /* binary is not checked */
  n = client_frame(f, 0x82, "\xff\xfe", 2);
  assert_int_equal(feed_new(&r, f, n, 0, 0), 0);
}

/* --- the in-place path: a frame whose header (or all of it) is in one read ---------------
 * The reader decodes such a frame straight from the input, and delivers a whole one-frame
 * message from there; a header split across reads is gathered first. Both must give the same
 * messages and the same close codes, so each case here is fed whole, split in two at every
 * position (or at many, for the big ones) and a byte at a time. */
static void rec_equal(const rec *a, const rec *b) {
  assert_int_equal(a->nmsg, b->nmsg);
  assert_int_equal(a->nctl, b->nctl);
  for (int i = 0; i < a->nmsg && i < 16; i++) {
    assert_int_equal(a->binary[i], b->binary[i]);
    assert_int_equal(a->len[i], b->len[i]);
    assert_memory_equal(a->msg[i], b->msg[i], a->len[i] < 512 ? a->len[i] : 512);
  }
  for (int i = 0; i < a->nctl && i < 16; i++) {
    assert_int_equal(a->ctl_op[i], b->ctl_op[i]);
    assert_int_equal(a->ctl_code[i], b->ctl_code[i]);
    assert_int_equal(a->ctl_len[i], b->ctl_len[i]);
    assert_memory_equal(a->ctl[i], b->ctl[i], a->ctl_len[i]);
  }
}

/* Feeds f as two pieces, split at k. */
static int feed_split(rec *rc, const uint8_t *f, size_t n, size_t k, size_t max, int mask) {
  sio__ws_reader r;
  memset(rc, 0, sizeof(*rc));
  sio__ws_reader_init(&r, max, &cbs, rc);
  r.require_mask = (uint8_t)mask;
  char *copy = malloc(n + 1);
  memcpy(copy, f, n);
  int res = sio__ws_reader_feed(&r, copy, k);
  if (res == 0 && k < n) res = sio__ws_reader_feed(&r, copy + k, n - k);
  free(copy);
  sio__ws_reader_free(&r);
  return res;
}

/* Whole, split at every position (every 997th past 300 bytes, and near the end), and byte by
 * byte for small inputs: the same result every time. Returns it, with the whole feed's record
 * in *whole. */
static int same_every_split(rec *whole, const uint8_t *f, size_t n, size_t max, int mask) {
  int want = feed_split(whole, f, n, n, max, mask);
  rec *other = malloc(sizeof *other);
  for (size_t k = 0; k < n; k += (k < 300 || n - k < 300) ? 1 : 997) {
    assert_int_equal(feed_split(other, f, n, k, max, mask), want);
    rec_equal(whole, other);
  }
  if (n < 1000) {
    sio__ws_reader r;
    memset(other, 0, sizeof *other);
    sio__ws_reader_init(&r, max, &cbs, other);
    r.require_mask = (uint8_t)mask;
    assert_int_equal(feed(&r, f, n, 1), want);
    sio__ws_reader_free(&r);
    rec_equal(whole, other);
  }
  free(other);
  return want;
}

/* An unmasked frame (as a server sends, or a client reads). */
static size_t plain_frame(uint8_t *out, int b0, const void *payload, size_t len) {
  size_t i = 0;
  out[i++] = (uint8_t)b0;
  if (len < 126)
    out[i++] = (uint8_t)len;
  else if (len <= 0xFFFF) {
    out[i++] = 126;
    out[i++] = (uint8_t)(len >> 8);
    out[i++] = (uint8_t)len;
  } else {
    out[i++] = 127;
    for (int k = 0; k < 8; k++) out[i++] = (uint8_t)((uint64_t)len >> (56 - 8 * k));
  }
  memcpy(out + i, payload, len);
  return i + len;
}

static void test_in_place_lengths(void **state) {
  static const size_t sizes[] = {0, 1, 7, 8, 9, 31, 32, 33, 40, 125, 126, 127, 65535, 65536};
  uint8_t *payload = malloc(65536), *f = malloc(3 * 65600);
  for (size_t i = 0; i < 65536; i++) payload[i] = (uint8_t)('a' + i % 26);
  rec *r = malloc(sizeof *r);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t len = sizes[s];
    for (int b0 = 0x81; b0 <= 0x82; b0++) {
      /* one frame; then three in one buffer (each delivered in order) */
      size_t n = client_frame(f, b0, payload, len);
      assert_int_equal(same_every_split(r, f, n, 0, 1), 0);
      assert_int_equal(r->nmsg, 1);
      assert_int_equal(r->binary[0], b0 == 0x82);
      assert_int_equal(r->len[0], len);
      assert_memory_equal(r->msg[0], payload, len < 512 ? len : 512);
      n += client_frame(f + n, 0x89, "p", 1);
      n += client_frame(f + n, b0, payload + 1, len ? len - 1 : 0);
      if (len < 1000) {
        assert_int_equal(same_every_split(r, f, n, 0, 1), 0);
        assert_int_equal(r->nmsg, 2);
        assert_int_equal(r->nctl, 1);
        assert_int_equal(r->len[1], len ? len - 1 : 0);
        assert_memory_equal(r->msg[1], payload + 1, len ? (len - 1 < 512 ? len - 1 : 512) : 0);
      }
      /* the size limit from the header: exactly at it passes, one past fails (0: no limit) */
      n = client_frame(f, b0, payload, len);
      if (len > 1) {
        assert_int_equal(same_every_split(r, f, n, len, 1), 0);
        assert_int_equal(r->nmsg, 1);
        assert_int_equal(same_every_split(r, f, n, len - 1, 1), 1009);
        assert_int_equal(r->nmsg, 0);
        /* refused before the payload: the header alone is enough */
        assert_int_equal(feed_split(r, f, n - len, n - len, len - 1, 1), 1009);
      }
      /* unmasked: refused by a server, accepted by a client */
      n = plain_frame(f, b0, payload, len);
      assert_int_equal(same_every_split(r, f, n, 0, 1), 1002);
      assert_int_equal(r->nmsg, 0);
      assert_int_equal(same_every_split(r, f, n, 0, 0), 0);
      assert_int_equal(r->nmsg, 1);
      assert_int_equal(r->len[0], len);
      assert_memory_equal(r->msg[0], payload, len < 512 ? len : 512);
      /* a client may also read masked frames */
      n = client_frame(f, b0, payload, len);
      assert_int_equal(same_every_split(r, f, n, 0, 0), 0);
      assert_int_equal(r->nmsg, 1);
    }
  }
  free(r);
  free(payload);
  free(f);
}

/* A frame that breaks a rule right after a good one in the same buffer: the good message is
 * delivered, then the reader fails with the code the rule gives. */
static void test_in_place_error_after_good(void **state) {
  uint8_t f[512], big[200];
  memset(big, 'x', sizeof big);
  rec r;
  static const struct {
    int b0;
    size_t len;
    const char *p;
    int want;
  } bad[] = {
      {0x83, 1, "a", 1002},         /* reserved opcode */
      {0x8B, 0, "", 1002},          /* reserved control opcode */
      {0x80, 1, "a", 1002},         /* continuation with nothing open */
      {0x91, 1, "a", 1002},         /* RSV2 */
      {0xC1, 1, "a", 1002},         /* RSV1 without permessage-deflate */
      {0x09, 0, "", 1002},          /* fragmented ping */
      {0x81, 3, "a\xc0\x80", 1007}, /* overlong */
      {0x81, 2, "a\xce", 1007},     /* truncated at the end */
      {0x88, 1, "\x03", 1002},      /* close payload of one byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t n = client_frame(f, 0x81, "good", 4);
    n += client_frame(f + n, bad[i].b0, bad[i].p, bad[i].len);
    assert_int_equal(same_every_split(&r, f, n, 0, 1), bad[i].want);
    assert_int_equal(r.nmsg, 1);
    assert_memory_equal(r.msg[0], "good", 4);
  }
  /* a ping over 125 bytes, a message over the limit, a 64-bit length with the top bit set */
  size_t n = client_frame(f, 0x82, "good", 4);
  n += client_frame(f + n, 0x89, big, 126);
  assert_int_equal(same_every_split(&r, f, n, 0, 1), 1002);
  assert_int_equal(r.nmsg, 1);
  n = client_frame(f, 0x82, "good", 4);
  n += client_frame(f + n, 0x82, big, 101);
  assert_int_equal(same_every_split(&r, f, n, 100, 1), 1009);
  assert_int_equal(r.nmsg, 1);
  static const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  n = client_frame(f, 0x82, "good", 4);
  memcpy(f + n, huge, sizeof huge);
  n += sizeof huge;
  assert_int_equal(same_every_split(&r, f, n, 0, 1), 1002);
  assert_int_equal(r.nmsg, 1);
  /* an unmasked frame after a masked one */
  n = client_frame(f, 0x81, "good", 4);
  n += plain_frame(f + n, 0x81, "bad", 3);
  assert_int_equal(same_every_split(&r, f, n, 0, 1), 1002);
  assert_int_equal(r.nmsg, 1);
  /* a new message while a fragmented one is open, each frame whole in the buffer */
  n = client_frame(f, 0x01, "fr", 2);
  n += client_frame(f + n, 0x81, "new", 3);
  assert_int_equal(same_every_split(&r, f, n, 0, 1), 1002);
  assert_int_equal(r.nmsg, 0);
  /* and the good path through the same frames: fragments, control frames between them */
  n = client_frame(f, 0x01, "fr", 2);
  n += client_frame(f + n, 0x8A, "", 0);
  n += client_frame(f + n, 0x80, "ag", 2);
  n += client_frame(f + n, 0x81, "next", 4);
  assert_int_equal(same_every_split(&r, f, n, 0, 1), 0);
  assert_int_equal(r.nmsg, 2);
  assert_memory_equal(r.msg[0], "frag", 4);
  assert_memory_equal(r.msg[1], "next", 4);
  assert_int_equal(r.nctl, 1);
}

/* A bad byte anywhere in a text (the 32- and 8-byte blocks of the unmasking and its tail) is
 * found; the same text is fine as binary. Non-ASCII valid texts are delivered. */
static void test_in_place_utf8(void **state) {
  uint8_t f[128], p[45];
  rec r;
  for (size_t len = 1; len <= sizeof p; len += 11) {
    for (size_t pos = 0; pos < len; pos++) {
      memset(p, 'a', sizeof p);
      p[pos] = 0xFF;
      size_t n = client_frame(f, 0x81, p, len);
      assert_int_equal(same_every_split(&r, f, n, 0, 1), 1007);
      assert_int_equal(r.nmsg, 0);
      n = plain_frame(f, 0x81, p, len);
      assert_int_equal(same_every_split(&r, f, n, 0, 0), 1007);
      n = client_frame(f, 0x82, p, len);
      assert_int_equal(same_every_split(&r, f, n, 0, 1), 0);
      assert_int_equal(r.nmsg, 1);
      /* a valid two-byte character at the same place */
      p[pos] = 0xCE;
      if (pos + 1 < len) p[pos + 1] = 0xBA;
      n = client_frame(f, 0x81, p, len);
      assert_int_equal(same_every_split(&r, f, n, 0, 1), pos + 1 < len ? 0 : 1007);
      assert_int_equal(r.nmsg, pos + 1 < len);
      if (pos + 1 < len) assert_memory_equal(r.msg[0], p, len);
    }
  }
}

static int stop_on_message(void *user, int binary, char *data, size_t len) {
  rec *r = user;
  assert_non_null(data); /* never NULL, even when empty */
  on_message(user, binary, data, len);
  return r->nmsg == 1 ? -5 : 0;
}

/* A callback's stop comes back from feed at once; feeding the rest goes on from the next
 * frame. */
static void test_in_place_stop(void **state) {
  static const sio__ws_reader_cb stop_cbs = {stop_on_message, on_control};
  uint8_t f[64];
  size_t n = client_frame(f, 0x81, "", 0);
  size_t first = n;
  n += client_frame(f + n, 0x81, "two", 3);
  rec rc;
  memset(&rc, 0, sizeof rc);
  sio__ws_reader r;
  sio__ws_reader_init(&r, 0, &stop_cbs, &rc);
  assert_int_equal(sio__ws_reader_feed(&r, (char *)f, n), -5);
  assert_int_equal(rc.nmsg, 1);
  assert_int_equal(rc.len[0], 0);
  assert_int_equal(sio__ws_reader_feed(&r, (char *)f + first, n - first), 0);
  assert_int_equal(rc.nmsg, 2);
  assert_memory_equal(rc.msg[1], "two", 3);
  sio__ws_reader_free(&r);
}

/* The unmasking at every key position, length and alignment, in one call or two. */
static void test_unmask(void **state) {
  static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  uint8_t buf[96], want[96];
  for (uint32_t pos = 0; pos < 4; pos++) {
    for (size_t align = 0; align < 8; align++) {
      for (size_t len = 0; len <= 80; len++) {
        for (size_t i = 0; i < len; i++) {
          buf[align + i] = (uint8_t)(i * 13 + 7);
          want[i] = (uint8_t)((i * 13 + 7) ^ key[(pos + i) & 3]);
        }
        uint32_t p = pos;
        sio__ws_unmask(buf + align, len, key, &p);
        assert_memory_equal(buf + align, want, len);
        assert_int_equal(p, (pos + len) & 3);
        for (size_t k = 0; k <= len; k += 5) { /* split in two */
          for (size_t i = 0; i < len; i++) buf[align + i] = (uint8_t)(i * 13 + 7);
          p = pos;
          sio__ws_unmask(buf + align, k, key, &p);
          sio__ws_unmask(buf + align + k, len - k, key, &p);
          assert_memory_equal(buf + align, want, len);
        }
      }
    }
  }
}

/* --- close ------------------------------------------------------------------------------- */
static void test_close_payloads(void **state) {
  unsigned code;
  const char *reason;
  size_t rl;
  assert_int_equal(sio__ws_close_parse(NULL, 0, &code, &reason, &rl), 0);
  assert_int_equal(code, 1005);
  assert_int_equal(sio__ws_close_parse((const uint8_t *)"\x03", 1, &code, &reason, &rl), 1002);
  static const unsigned ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                1010, 1011, 3000, 3999, 4000, 4999};
  static const unsigned bad[] = {0,    999,  1004, 1005, 1006, 1012, 1013, 1014,
                                 1015, 1016, 1100, 2000, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    uint8_t p[2] = {(uint8_t)(ok[i] >> 8), (uint8_t)ok[i]};
    assert_int_equal(sio__ws_close_parse(p, 2, &code, &reason, &rl), 0);
    assert_int_equal(code, ok[i]);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
    assert_int_equal(sio__ws_close_parse(p, 2, &code, &reason, &rl), 1002);
  }
  assert_int_equal(sio__ws_close_parse((const uint8_t *)"\x03\xe8"
                                                        "bye",
                                       5, &code, &reason, &rl),
                   0);
  assert_int_equal(rl, 3);
  assert_memory_equal(reason, "bye", 3);
  assert_int_equal(
      sio__ws_close_parse((const uint8_t *)"\x03\xe8\xed\xa0\x80", 5, &code, &reason, &rl), 1002);
  /* through the reader */
  uint8_t f[64];
  rec r;
  size_t n = client_frame(f, 0x88,
                          "\x03\xe8"
                          "bye",
                          5);
  assert_int_equal(feed_new(&r, f, n, 2, 0), 0);
  assert_int_equal(r.nctl, 1);
  assert_int_equal(r.ctl_code[0], 1000);
  assert_memory_equal(r.ctl[0], "bye", 3);
  n = client_frame(f, 0x88, "\x03", 1);
  assert_int_equal(feed_new(&r, f, n, 0, 0), 1002);
}

/* --- handshake --------------------------------------------------------------------------- */
static void test_accept_key(void **state) {
  char out[29];
  sio__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static sio__ws_handshake_in good_req(void) {
  sio__ws_handshake_in in = {.method = "GET",
                             .http_minor = 1,
                             .upgrade = "WebSocket",
                             .connection = "keep-alive, Upgrade",
                             .version = "13",
                             .key = "dGhlIHNhbXBsZSBub25jZQ=="};
  return in;
}

static void test_handshake(void **state) {
  sio__ws_handshake_out out;
  sio__ws_handshake_in in = good_req();
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 0);
  assert_int_equal(out.status, 101);
  sio__sbuf s = SIO__SBUF_INIT;
  sio__ws_handshake_response(&s, &out);
  assert_string_equal(s.data, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  sio__sbuf_free(&s);
  in.version = "8";
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 426);
  in = good_req();
  in.key = "dGhlIHNhbXBsZSBub25jZQ"; /* not 16 bytes */
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  in.key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  in.key = NULL;
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  in = good_req();
  in.connection = "keep-alive";
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  in = good_req();
  in.upgrade = "h2c";
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  in = good_req();
  in.method = "POST";
  assert_int_equal(sio__ws_handshake(&in, NULL, NULL, &out), 400);
  /* subprotocols: the client's first that we support */
  static const char *const ours[] = {"chat", "superchat", NULL};
  in = good_req();
  in.protocols = "soap, superchat , chat";
  assert_int_equal(sio__ws_handshake(&in, ours, NULL, &out), 0);
  assert_string_equal(out.protocol, "superchat");
  in.protocols = "soap";
  assert_int_equal(sio__ws_handshake(&in, ours, NULL, &out), 0);
  assert_null(out.protocol);
  assert_true(sio__ws_token_list_has("a, UPGRADE", "upgrade"));
  assert_false(sio__ws_token_list_has("upgrades", "upgrade"));
}

static void test_pmd_negotiation(void **state) {
  sio__ws_pmd_opts opts = {.enabled = 1};
  sio__ws_pmd_params p;
  sio__sbuf s = SIO__SBUF_INIT;
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; client_max_window_bits", &opts, &p),
                   1);
  sio__ws_pmd_format(&s, &p);
  assert_string_equal(s.data, "permessage-deflate");
  sio__sbuf_reset(&s);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; server_no_context_takeover; "
                                         "client_no_context_takeover; server_max_window_bits=10",
                                         &opts, &p),
                   1);
  sio__ws_pmd_format(&s, &p);
  assert_string_equal(s.data, "permessage-deflate; server_no_context_takeover; "
                              "client_no_context_takeover; server_max_window_bits=10");
  sio__sbuf_reset(&s);
  /* 8 is declined, the next offer taken */
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; server_max_window_bits=8, "
                                         "permessage-deflate; server_max_window_bits=\"9\"",
                                         &opts, &p),
                   1);
  assert_int_equal(p.server_max_window_bits, 9);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; server_max_window_bits=8", &opts, &p),
                   0);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; server_max_window_bits", &opts, &p),
                   0);
  assert_int_equal(
      sio__ws_pmd_negotiate("permessage-deflate; server_max_window_bits=16", &opts, &p), 0);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; client_max_window_bits=7", &opts, &p),
                   0);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; foo", &opts, &p), 0);
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate; server_no_context_takeover; "
                                         "server_no_context_takeover",
                                         &opts, &p),
                   0);
  assert_int_equal(sio__ws_pmd_negotiate("x-webkit-deflate-frame, permessage-deflate; "
                                         "client_max_window_bits=15",
                                         &opts, &p),
                   1);
  opts.enabled = 0;
  assert_int_equal(sio__ws_pmd_negotiate("permessage-deflate", &opts, &p), 0);
  sio__sbuf_free(&s);
  /* through the handshake */
  sio__ws_pmd_opts on = {.enabled = 1};
  sio__ws_handshake_in in = good_req();
  in.extensions = "permessage-deflate; client_max_window_bits";
  sio__ws_handshake_out out;
  assert_int_equal(sio__ws_handshake(&in, NULL, &on, &out), 0);
  assert_true(out.deflate);
  sio__ws_handshake_response(&s, &out);
  assert_non_null(strstr(s.data, "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
  sio__sbuf_free(&s);
}

/* --- permessage-deflate ------------------------------------------------------------------ */
static void test_rfc7692_examples(void **state) {
  /* 7.2.3.1/7.2.3.2: "Hello" compressed, then again with the context taken over */
  static const uint8_t m1[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  static const uint8_t m2[] = {0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00};
  /* 7.2.3.3: no compression (a stored block) */
  static const uint8_t m3[] = {0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff,
                               0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00};
  /* 7.2.3.1: fragmented */
  static const uint8_t m4[] = {0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00};
  sio__ws_pmd_params p = {0};
  rec rc;
  memset(&rc, 0, sizeof rc);
  sio__ws_reader r;
  sio__ws_reader_init(&r, 1000, &cbs, &rc);
  r.require_mask = 0;
  assert_int_equal(sio__ws_reader_enable_deflate(&r, &p), 0);
  assert_int_equal(feed(&r, m1, sizeof m1, 0), 0);
  assert_int_equal(feed(&r, m2, sizeof m2, 1), 0);
  assert_int_equal(feed(&r, m3, sizeof m3, 0), 0);
  assert_int_equal(feed(&r, m4, sizeof m4, 2), 0);
  assert_int_equal(rc.nmsg, 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(rc.len[i], 5);
    assert_memory_equal(rc.msg[i], "Hello", 5);
  }
  /* RSV1 on a continuation frame is an error */
  static const uint8_t bad[] = {0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00};
  assert_int_equal(feed(&r, bad, sizeof bad, 0), 1002);
  sio__ws_reader_free(&r);
  /* the first message again, from our deflater, byte for byte */
  sio__ws_deflater *d =
      sio__ws_deflater_new(&(sio__ws_pmd_params){.server_max_window_bits = 15}, 8);
  size_t off;
  sio__buf *b = sio__ws_deflate_frame(d, SIO__WS_OP_TEXT, "Hello", 5, &off);
  assert_non_null(b);
  assert_int_equal(b->len - off, sizeof m1);
  assert_memory_equal(b->data + off, m1, sizeof m1);
  sio__buf_unref(b);
  b = sio__ws_deflate_frame(d, SIO__WS_OP_TEXT, "Hello", 5, &off);
  assert_memory_equal(b->data + off, m2, sizeof m2);
  sio__buf_unref(b);
  sio__ws_deflater_free(d);
}

static void test_deflate_roundtrip_and_bomb(void **state) {
  static const sio__ws_pmd_params variants[] = {
      {0, 0, 15, 0, 0}, {1, 1, 9, 0, 1}, {1, 0, 12, 0, 1}, {0, 1, 15, 0, 0}};
  size_t big = 300000;
  char *text = malloc(big);
  for (size_t i = 0; i < big; i++) text[i] = "lorem ipsum dolor sit amet "[i % 27];
  for (size_t v = 0; v < 4; v++) {
    sio__ws_deflater *d = sio__ws_deflater_new(&variants[v], 8);
    rec rc;
    memset(&rc, 0, sizeof rc);
    sio__ws_reader r;
    sio__ws_reader_init(&r, big, &cbs, &rc);
    r.require_mask = 0;
    /* the reader's side: the peer resets exactly when our deflater does */
    sio__ws_pmd_params rp = variants[v];
    rp.client_no_context_takeover = rp.server_no_context_takeover;
    sio__ws_reader_enable_deflate(&r, &rp);
    static const size_t sizes[] = {0, 1, 125, 4096, 300000, 17};
    for (size_t k = 0; k < 6; k++) {
      size_t off;
      sio__buf *b = sio__ws_deflate_frame(d, SIO__WS_OP_TEXT, text, sizes[k], &off);
      assert_non_null(b);
      assert_int_equal(feed(&r, b->data + off, b->len - off, 1000), 0);
      sio__buf_unref(b);
      assert_int_equal(rc.nmsg, (int)k + 1);
      assert_int_equal(rc.len[k], sizes[k]);
      assert_memory_equal(rc.msg[k], text, sizes[k] < 512 ? sizes[k] : 512);
    }
    sio__ws_reader_free(&r);
    sio__ws_deflater_free(d);
  }
  /* inflation past the limit: 1009, and memory stays bounded by the limit */
  memset(text, 'a', big);
  sio__ws_deflater *d = sio__ws_deflater_new(&variants[0], 8);
  size_t off;
  sio__buf *b = sio__ws_deflate_frame(d, SIO__WS_OP_BINARY, text, big, &off);
  rec rc;
  memset(&rc, 0, sizeof rc);
  sio__ws_reader r;
  sio__ws_reader_init(&r, 1000, &cbs, &rc);
  r.require_mask = 0;
  sio__ws_reader_enable_deflate(&r, &variants[0]);
  assert_int_equal(feed(&r, b->data + off, b->len - off, 0), 1009);
  assert_true(!r.msg || r.msg->cap < 8192);
  sio__ws_reader_free(&r);
  sio__buf_unref(b);
  sio__ws_deflater_free(d);
  /* corrupt data: 1007 */
  static const uint8_t corrupt[] = {0xc2, 0x03, 0xff, 0xff, 0xff};
  memset(&rc, 0, sizeof rc);
  sio__ws_reader_init(&r, 1000, &cbs, &rc);
  r.require_mask = 0;
  sio__ws_reader_enable_deflate(&r, &variants[0]);
  assert_int_equal(feed(&r, corrupt, sizeof corrupt, 0), 1007);
  sio__ws_reader_free(&r);
  free(text);
}

static void test_no_leaks(void **state) {
  long before = sio__alloc_live();
  test_rfc7692_examples(state);
  test_fragments_and_interleaved_control(state);
  assert_int_equal(sio__alloc_live(), before);
}

static void test_alloc_failure(void **state) {
  /* a fragmented message needs memory: failure is a clean 1011, not a crash or leak */
  uint8_t f[64];
  size_t n = client_frame(f, 0x01, "abc", 3);
  n += client_frame(f + n, 0x80, "def", 3);
  long before = sio__alloc_live();
  for (long k = 0; k < 4; k++) {
    rec r;
    sio__alloc_fail_after(k);
    int rc = feed_new(&r, f, n, 1, 0);
    sio__alloc_fail_reset();
    assert_true(rc == 0 || rc == 1011);
  }
  assert_int_equal(sio__alloc_live(), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc_masked_hello),
      cmocka_unit_test(test_rfc_unmasked_rejected),
      cmocka_unit_test(test_rfc_unmasked_client_side),
      cmocka_unit_test(test_rfc_masked_pong),
      cmocka_unit_test(test_encoder_headers),
      cmocka_unit_test(test_lengths),
      cmocka_unit_test(test_framing_errors),
      cmocka_unit_test(test_size_limit),
      cmocka_unit_test(test_fragments_and_interleaved_control),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_utf8_frames),
      cmocka_unit_test(test_in_place_lengths),
      cmocka_unit_test(test_in_place_error_after_good),
      cmocka_unit_test(test_in_place_utf8),
      cmocka_unit_test(test_in_place_stop),
      cmocka_unit_test(test_unmask),
      cmocka_unit_test(test_close_payloads),
      cmocka_unit_test(test_accept_key),
      cmocka_unit_test(test_handshake),
      cmocka_unit_test(test_pmd_negotiation),
      cmocka_unit_test(test_rfc7692_examples),
      cmocka_unit_test(test_deflate_roundtrip_and_bomb),
      cmocka_unit_test(test_no_leaks),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
