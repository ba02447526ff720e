/* libFuzzer target for the Engine.IO polling payload decoder: decoding must never crash or leak,
 * and re-encoding what was decoded must decode to the same packets. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sio__eio_payload_iter it;
  sio__eio_packet p;
  sio__sbuf again = SIO__SBUF_INIT;
  long n = 0;
  int rc;
  sio__eio_payload_init(&it, (const char *)data, size);
  while ((rc = sio__eio_payload_next(&it, &p)) == 1) {
    sio__eio_encode_packet(&again, &p, n > 0);
    n++;
  }
  sio__eio_payload_free(&it);
  if (rc == 0 && !again.oom) {
    /* text packets whose data contains \x1e cannot exist in a valid payload: round trip holds */
    if (sio__eio_payload_count(again.data, again.len) != n) abort();
  }
  sio__sbuf_free(&again);
  sio__eio_packet one;
  sio__eio_decode_text((const char *)data, size, &one);
  return 0;
}
