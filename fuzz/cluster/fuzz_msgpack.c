/* libFuzzer target for the msgpack reader and the JSON <-> msgpack conversions. On any input:
 * validation, skipping, packet reading and conversion must not crash or leak; a value that
 * validates converts to JSON that converts back to msgpack that gives the same JSON again
 * (decode, re-encode, decode agree), except where notepack itself loses integers past 2^53;
 * and the input read as JSON text converts to msgpack whose JSON is stable in the same way. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/mp_json.h"
#include "roundtrip.h"

static void round_trip_msgpack(const uint8_t *data, size_t size, int with_bins) {
  sio__mp_bins bins = {0}, bins2 = {0};
  sio__sbuf j1 = SIO__SBUF_INIT, mp2 = SIO__SBUF_INIT, j2 = SIO__SBUF_INIT;
  /* depth 64: a Buffer written as {"type":"Buffer","data":[...]} nests two levels deeper */
  if (sio__mp_to_json(&j1, data, size, with_bins ? &bins : NULL, 64) == 0) {
    int rc = sio__mp_from_json(&mp2, j1.data, j1.len, with_bins ? bins.v : NULL, bins.n);
    if (rc) abort(); /* our own JSON must convert */
    rc = sio__mp_to_json(&j2, mp2.data, mp2.len, with_bins ? &bins2 : NULL, 0);
    if (rc) abort();
    if (!may_wrap(j1.data, j1.len) && (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len)))
      abort();
    if (with_bins && !may_wrap(j1.data, j1.len) && bins.n != bins2.n) abort();
  }
  sio__sbuf_free(&j1), sio__sbuf_free(&mp2), sio__sbuf_free(&j2);
  sio__mp_bins_free(&bins), sio__mp_bins_free(&bins2);
}

static void read_packet(const uint8_t *data, size_t size) {
  sio__mp_reader r;
  sio__mp_packet p;
  if (sio__mp_validate(data, size, 0)) return;
  sio__mp_reader_init(&r, data, size);
  if (sio__mp_get_packet(&r, &p) == 0) {
    sio__sbuf out = SIO__SBUF_INIT;
    /* what we read we can write again */
    if (sio__mp_put_event(&out, p.data.data, p.data.len, p.bins.v ? p.bins.v : (void *)"", p.bins.n,
                          p.nsp.data, p.nsp.len))
      abort();
    sio__sbuf_free(&out);
    sio__mp_packet_free(&p);
  }
}

static void json_side(const uint8_t *data, size_t size) {
  sio__sbuf mp1 = SIO__SBUF_INIT, j1 = SIO__SBUF_INIT, mp2 = SIO__SBUF_INIT, j2 = SIO__SBUF_INIT;
  sio__mp_bin bin = {"\x01\x02", 2};
  sio__mp_bins bins = {0}, bins2 = {0};
  if (sio__mp_from_json(&mp1, (const char *)data, size, &bin, 1) == 0) {
    if (sio__mp_to_json(&j1, mp1.data, mp1.len, &bins, SIO__MP_MESSAGE_DEPTH)) abort();
    if (sio__mp_from_json(&mp2, j1.data, j1.len, bins.v, bins.n)) abort();
    if (sio__mp_to_json(&j2, mp2.data, mp2.len, &bins2, SIO__MP_MESSAGE_DEPTH)) abort();
    if (!may_wrap(j1.data, j1.len) && (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len)))
      abort();
  }
  sio__sbuf_free(&mp1), sio__sbuf_free(&j1), sio__sbuf_free(&mp2), sio__sbuf_free(&j2);
  sio__mp_bins_free(&bins), sio__mp_bins_free(&bins2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sio__mp_reader r;
  sio__mp_reader_init(&r, data, size);
  while (sio__mp_left(&r) && sio__mp_skip(&r) == 0) {
  }
  round_trip_msgpack(data, size, 0);
  round_trip_msgpack(data, size, 1);
  read_packet(data, size);
  json_side(data, size);
  return 0;
}
