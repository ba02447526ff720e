/* libFuzzer target for the permessage-deflate receive path: arbitrary compressed payloads,
 * split into RSV1 messages and fragments as the input says, inflated under a small message
 * limit. It must never crash, leak or hand out more than the limit (decompression bombs stop
 * at the limit with 1009). A round trip through our deflater must give the input back.
 *
 * Input layout: byte 0 = flags (bit 0: text, bit 1: no context takeover, bits 2-7: fragment
 * size seed), then the compressed payload. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ws/codec.h"

#define LIMIT 4096

static size_t got_len;
static char got[1 << 16];

static int on_message(void *user, int binary, char *data, size_t len) {
  if (len > *(size_t *)user) abort();
  if (!binary && !sio__utf8_valid(data, len)) abort();
  got_len = len;
  if (len <= sizeof got) memcpy(got, data, len);
  return 0;
}

static int on_control(void *user, int op, unsigned code, char *data, size_t len) {
  return 0;
}

/* Appends an unmasked client-style frame (the reader runs with masks not required). */
static size_t put_frame(uint8_t *out, int b0, const uint8_t *p, size_t n) {
  size_t i = 0;
  out[i++] = (uint8_t)b0;
  if (n < 126)
    out[i++] = (uint8_t)n;
  else {
    out[i++] = 126;
    out[i++] = (uint8_t)(n >> 8);
    out[i++] = (uint8_t)n;
  }
  memcpy(out + i, p, n);
  return i + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 60000) return 0;
  uint8_t flags = data[0];
  int text = flags & 1;
  size_t frag = ((size_t)(flags >> 2) + 1) * 7;
  data++;
  size--;
  long live = sio__alloc_live();
  static const sio__ws_reader_cb cb = {on_message, on_control};
  size_t limit = LIMIT;
  sio__ws_pmd_params p = {.client_no_context_takeover = (uint8_t)((flags >> 1) & 1),
                          .server_no_context_takeover = (uint8_t)((flags >> 1) & 1),
                          .server_max_window_bits = 15};

  /* 1: the input as a compressed message in fragments */
  uint8_t *stream = malloc(size + (size / frag + 2) * 4 + 8);
  size_t n = 0;
  for (size_t i = 0; i == 0 || i < size; i += frag) {
    size_t k = size - i < frag ? size - i : frag;
    int first = i == 0, last = i + k >= size;
    int b0 = (last ? 0x80 : 0) | (first ? 0x40 | (text ? 1 : 2) : 0);
    n += put_frame(stream + n, b0, data + i, k);
    if (last) break;
  }
  sio__ws_reader r;
  sio__ws_reader_init(&r, limit, &cb, &limit);
  r.require_mask = 0;
  sio__ws_reader_enable_deflate(&r, &p);
  sio__ws_reader_feed(&r, (char *)stream, n);
  sio__ws_reader_free(&r);
  free(stream);

  /* 2: the input as plain data, through our deflater and back */
  sio__ws_deflater *d = sio__ws_deflater_new(&p, 8);
  size_t big = 1 << 16;
  sio__ws_reader_init(&r, big, &cb, &big);
  r.require_mask = 0;
  sio__ws_reader_enable_deflate(&r, &p);
  for (int round = 0; round < 2 && d; round++) {
    size_t off;
    sio__buf *b = sio__ws_deflate_frame(d, SIO__WS_OP_BINARY, data, size, &off);
    if (!b) break;
    got_len = (size_t)-1;
    if (sio__ws_reader_feed(&r, b->data + off, b->len - off) != 0) abort();
    if (got_len != size || memcmp(got, data, size) != 0) abort();
    sio__buf_unref(b);
  }
  sio__ws_reader_free(&r);
  sio__ws_deflater_free(d);
  if (sio__alloc_live() != live) abort();
  return 0;
}
