/* libFuzzer target for the WebSocket frame reader: any bytes, fed in any split, with or without
 * permessage-deflate, must never crash or leak; a message handed out must be within the limit
 * and, for text, valid UTF-8; after an error the reader stays failed.
 *
 * Input layout: byte 0 = flags (bit 0: deflate negotiated, bit 1: masks not required, bit 2:
 * client no context takeover), byte 1 = chunk size seed, then the stream. Also runs the
 * handshake (extension negotiation, key, token lists, subprotocols) on the stream as header
 * values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ws/codec.h"

#define LIMIT 65536

static int on_message(void *user, int binary, char *data, size_t len) {
  if (len > LIMIT) abort();
  if (!binary && !sio__utf8_valid(data, len)) abort();
  return 0;
}

static int on_control(void *user, int op, unsigned code, char *data, size_t len) {
  if (len > 125) abort();
  if (op == SIO__WS_OP_CLOSE && code != 1005 && !sio__ws_close_code_valid(code)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t flags = data[0];
  size_t chunk = (size_t)data[1] + 1;
  data += 2;
  size -= 2;
  char *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  long live = sio__alloc_live();
  static const sio__ws_reader_cb cb = {on_message, on_control};
  sio__ws_reader r;
  sio__ws_reader_init(&r, LIMIT, &cb, NULL);
  r.require_mask = !(flags & 2);
  sio__ws_pmd_params p = {.client_no_context_takeover = (uint8_t)((flags >> 2) & 1)};
  if (flags & 1) sio__ws_reader_enable_deflate(&r, &p);
  int rc = 0;
  for (size_t i = 0; i < size && rc == 0; i += chunk)
    rc = sio__ws_reader_feed(&r, copy + i, size - i < chunk ? size - i : chunk);
  if (rc > 0 && sio__ws_reader_feed(&r, copy, size ? 1 : 0) != rc) abort();
  sio__ws_reader_free(&r);
  if (sio__alloc_live() != live) abort();

  /* the same bytes as a Sec-WebSocket-Extensions value */
  char *hdr = malloc(size + 1);
  memcpy(hdr, data, size);
  hdr[size] = '\0';
  sio__ws_pmd_opts opts = {.enabled = 1};
  sio__ws_pmd_params out;
  if (sio__ws_pmd_negotiate(hdr, &opts, &out)) {
    if (out.server_max_window_bits < 9 || out.server_max_window_bits > 15) abort();
  }
  /* and as every handshake header at once */
  static const char *const protos[] = {"chat", "x", NULL};
  sio__ws_handshake_in in = {.method = "GET",
                             .http_minor = 1,
                             .upgrade = hdr,
                             .connection = hdr,
                             .version = hdr,
                             .key = hdr,
                             .protocols = hdr,
                             .extensions = hdr};
  sio__ws_handshake_out hs;
  if (sio__ws_handshake(&in, protos, &opts, &hs) == 0) {
    sio__sbuf resp = SIO__SBUF_INIT;
    sio__ws_handshake_response(&resp, &hs);
    sio__sbuf_free(&resp);
  }
  free(hdr);
  free(copy);
  return 0;
}
