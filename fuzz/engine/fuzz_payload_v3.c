/* libFuzzer target for the Engine.IO v3 payload decoder (text "<len>:<packet>" and XHR2 binary
 * payloads; the first input byte picks which): decoding must never crash or leak, and
 * re-encoding what was decoded must decode to the same number of packets; a valid binary
 * payload re-encoded as text (what a server answers when no packet is binary) keeps its
 * packets. The same bytes also go through the WebSocket frame decoders. */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/codec_v3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int binary = data[0] & 1;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  sio__sbuf again = SIO__SBUF_INIT;
  long count = 0;
  int rc, enc = 0;
  sio__eio3_payload_init(&it, s, n, binary);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1) {
    if (sio__eio3_encode_record(&again, &p, binary) == -EINVAL) enc = -1;
    count++;
  }
  sio__eio3_payload_free(&it);
  /* a decoded text packet is valid UTF-8, so it re-encodes; a non-empty round trip holds */
  if (rc == 0 && enc) abort();
  if (rc == 0 && count > 0 && !again.oom &&
      sio__eio3_payload_count(again.data, again.len, binary) != count)
    abort();
  sio__sbuf_free(&again);
  if (binary && rc == 0) {
    sio__sbuf text = SIO__SBUF_INIT;
    int trc = sio__eio3_binary_to_text(s, n, &text);
    if (trc == -EINVAL) abort(); /* it decoded: it converts */
    if (trc == 0 && count > 0 && sio__eio3_payload_count(text.data, text.len, 0) != count) abort();
    sio__sbuf_free(&text);
  }
  sio__eio3_decode_ws_binary(s, n, &p);
  sio__sbuf scratch = SIO__SBUF_INIT;
  sio__eio3_decode_text(s, n, &scratch, &p);
  sio__sbuf_free(&scratch);
  return 0;
}
