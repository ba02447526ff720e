/* Differential test against Node's adapters: runs tests/unit/cluster/adapter_diff.mjs, whose
 * real @socket.io/redis-adapter (classic and sharded) and @socket.io/redis-emitter publish
 * through fake Redis clients, and answers each captured message ("<kind> <hex>", E for an
 * emitter's broadcast, whose options sio writes in the emitter's order) with what sio
 * encodes from its own decoding of it; the script compares with Node's bytes. Skipped when Node
 * or the npm packages are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/message.h"
#include "cluster/request.h"
#include "core/alloc.h"
#include "cstrs.h"
#include "node_peer.h"

static void json_of(sio__json_slice j, const char *t, const char **json, size_t *len) {
  if (j.type != SIO__JSON_INVALID) *json = t + j.off, *len = j.len;
}

static int cluster(sio__sbuf *out, strs *s, const void *raw, size_t n) {
  sio__cluster_msg m;
  int rc = sio__cluster_decode(&m, raw, n);
  if (!rc) {
    const char *t = m.wire.text;
    sio__cluster_out o = {.type = m.type, .close = m.close, .client_count = m.client_count};
    o.uid = keep(s, t, m.uid, 0), o.nsp = keep(s, t, m.nsp, 0);
    o.request_id = keep(s, t, m.request_id, 0), o.flags = keep(s, t, m.flags, 1);
    o.rooms = rooms(s, t, m.rooms, &o.nrooms), o.except = rooms(s, t, m.except, &o.nexcept);
    o.join = rooms(s, t, m.join, &o.njoin);
    json_of(m.type == SIO__CM_BROADCAST                ? m.packet_data
            : m.type == SIO__CM_FETCH_SOCKETS_RESPONSE ? m.sockets
                                                       : m.packet,
            t, &o.json, &o.json_len);
    o.bins = m.wire.bins.v, o.nbins = m.wire.bins.n;
    rc = sio__cluster_encode(out, &o);
  }
  sio__cluster_msg_free(&m);
  return rc;
}

static int broadcast(sio__sbuf *out, strs *s, const void *raw, size_t n, int emitter) {
  sio__redis_bcast b;
  int rc = sio__redis_decode_broadcast(&b, raw, n);
  if (!rc) {
    const char *t = b.wire.text;
    sio__redis_out o = {.uid = keep(s, t, b.uid, 0), .flags = keep(s, t, b.flags, 1)};
    o.emitter_order = emitter;
    o.nsp = b.nsp.type ? keep(s, t, b.nsp, 0) : "/";
    o.rooms = rooms(s, t, b.rooms, &o.nrooms), o.except = rooms(s, t, b.except, &o.nexcept);
    json_of(b.packet_data, t, &o.json, &o.json_len);
    o.bins = b.wire.bins.v, o.nbins = b.wire.bins.n;
    rc = sio__redis_encode_broadcast(out, &o);
  }
  sio__redis_bcast_free(&b);
  return rc;
}

static int request(sio__sbuf *out, strs *s, const void *raw, size_t n) {
  sio__redis_req r;
  sio__json_slice nsp;
  int rc = sio__redis_decode_request(&r, raw, n);
  if (!rc) {
    const char *t = r.wire.text;
    sio__redis_out o = {.type = r.type, .close = r.close};
    o.uid = keep(s, t, r.uid, 0), o.request_id = keep(s, t, r.request_id, 0);
    o.flags = keep(s, t, r.flags, 1);
    o.rooms = rooms(s, t, r.rooms, &o.nrooms), o.except = rooms(s, t, r.except, &o.nexcept);
    o.join = rooms(s, t, r.target, &o.njoin);
    json_of(r.type == SIO__RR_BROADCAST ? r.packet_data : r.data, t, &o.json, &o.json_len);
    if (r.type == SIO__RR_BROADCAST && sio__wire_get(t, r.packet, "nsp", &nsp))
      o.nsp = keep(s, t, nsp, 0);
    o.bins = r.wire.bins.v, o.nbins = r.wire.bins.n;
    rc = sio__redis_encode_request(out, &o);
  }
  sio__redis_req_free(&r);
  return rc;
}

static int response(sio__sbuf *out, strs *s, const void *raw, size_t n) {
  sio__redis_res r;
  int rc = sio__redis_decode_response(&r, raw, n);
  if (!rc) {
    const char *t = r.wire.text;
    sio__redis_out o = {.type = r.type, .client_count = r.client_count};
    o.request_id = keep(s, t, r.request_id, 0);
    if (r.type < 0) /* untyped: the request it answers shows in what it carries */
      o.type = r.sockets.type ? SIO__RR_REMOTE_FETCH
               : r.rooms.type ? SIO__RR_ALL_ROOMS
                              : SIO__RR_REMOTE_JOIN;
    json_of(r.sockets, t, &o.json, &o.json_len);
    json_of(r.value, t, &o.json, &o.json_len);
    o.join = rooms(s, t, r.rooms, &o.njoin);
    o.bins = r.wire.bins.v, o.nbins = r.wire.bins.n;
    rc = sio__redis_encode_response(out, &o);
  }
  sio__redis_res_free(&r);
  return rc;
}

static void answer(FILE *out, char *line, size_t n) {
  size_t len;
  unsigned char *raw = node_peer_unhex(line, n, &len);
  sio__sbuf b = SIO__SBUF_INIT;
  strs s = {.n = 0};
  int rc = line[0] == 'C'   ? cluster(&b, &s, raw, len)
           : line[0] == 'B' ? broadcast(&b, &s, raw, len, 0)
           : line[0] == 'E' ? broadcast(&b, &s, raw, len, 1)
           : line[0] == 'Q' ? request(&b, &s, raw, len)
                            : response(&b, &s, raw, len);
  node_peer_reply(out, rc, b.data, b.len);
  strs_free(&s);
  sio__sbuf_free(&b);
  free(raw);
}

static void test_against_node_adapters(void **state) {
  int code = node_peer_run("adapter_diff.mjs", answer);
  if (code == 77 || code == 127) skip(); /* no adapter packages in node_modules, or no Node */
  assert_int_equal(code, 0);
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_node_adapters)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
