/* libFuzzer target for the cluster message codecs: any input given to the ClusterAdapter
 * decoder and to the classic Redis adapter's broadcast, request and response decoders must not
 * crash or leak; a message that decodes must encode again from its decoded fields and decode
 * to the same type with the same packet data (when it has no binaries, whose placeholders may be
 * renumbered). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/message.h"
#include "cluster/request.h"
#include "../../tests/unit/cluster/cstrs.h"
#include "roundtrip.h"

static int same_slice(const sio__wire *a, sio__json_slice x, const sio__wire *b,
                      sio__json_slice y) {
  if (x.type != y.type) return 0;
  return x.type == SIO__JSON_INVALID ||
         (x.len == y.len && !memcmp(a->text + x.off, b->text + y.off, x.len));
}

static void cluster_round_trip(const uint8_t *data, size_t size) {
  sio__cluster_msg m, m2;
  strs s = {.n = 0};
  sio__sbuf out = SIO__SBUF_INIT;
  if (sio__cluster_decode(&m, data, size) == 0) {
    const char *t = m.wire.text;
    sio__cluster_out o = {.type = m.type, .close = m.close, .client_count = m.client_count};
    o.uid = keep(&s, t, m.uid, 0), o.nsp = keep(&s, t, m.nsp, 0);
    o.request_id = keep(&s, t, m.request_id, 0);
    o.flags = keep(&s, t, m.flags, 1);
    o.rooms = rooms(&s, t, m.rooms, &o.nrooms);
    o.except = rooms(&s, t, m.except, &o.nexcept);
    o.join = rooms(&s, t, m.join, &o.njoin);
    sio__json_slice j = m.type == SIO__CM_BROADCAST                ? m.packet_data
                        : m.type == SIO__CM_FETCH_SOCKETS_RESPONSE ? m.sockets
                                                                   : m.packet;
    if (j.type != SIO__JSON_INVALID) o.json = t + j.off, o.json_len = j.len;
    o.bins = m.wire.bins.v, o.nbins = m.wire.bins.n;
    int rc = s.n < CSTRS_MAX ? sio__cluster_encode(&out, &o) : SIO__CLUSTER_EFORMAT;
    if (rc == -EINVAL) abort(); /* what we decoded we can encode (too deep may be refused) */
    if (rc == 0) {
      if (sio__cluster_decode(&m2, out.data, out.len)) abort();
      if (m2.type != m.type) abort();
      /* with binaries, placeholders are renumbered in Node's member order (and binaries in
       * members the encoder does not write, such as a heartbeat's data, are gone) */
      if (!m.wire.bins.n && !same_slice(&m.wire, m.packet_data, &m2.wire, m2.packet_data)) abort();
      sio__cluster_msg_free(&m2);
    }
  }
  sio__cluster_msg_free(&m);
  sio__sbuf_free(&out);
  strs_free(&s);
}

static void broadcast_round_trip(const uint8_t *data, size_t size) {
  sio__redis_bcast b, b2;
  strs s = {.n = 0};
  sio__sbuf out = SIO__SBUF_INIT;
  if (sio__redis_decode_broadcast(&b, data, size) == 0) {
    const char *t = b.wire.text;
    sio__redis_out o = {.uid = keep(&s, t, b.uid, 0), .flags = keep(&s, t, b.flags, 1)};
    o.nsp = b.nsp.type ? keep(&s, t, b.nsp, 0) : "/";
    o.rooms = rooms(&s, t, b.rooms, &o.nrooms);
    o.except = rooms(&s, t, b.except, &o.nexcept);
    o.json = t + b.packet_data.off, o.json_len = b.packet_data.len;
    o.bins = b.wire.bins.v, o.nbins = b.wire.bins.n;
    int rc = s.n < CSTRS_MAX && o.nsp ? sio__redis_encode_broadcast(&out, &o) : 1;
    if (rc == -EINVAL) abort();
    if (rc == 0) {
      if (sio__redis_decode_broadcast(&b2, out.data, out.len)) abort();
      if (!b.wire.bins.n && !may_wrap(o.json, o.json_len) &&
          !same_slice(&b.wire, b.packet_data, &b2.wire, b2.packet_data))
        abort();
      sio__redis_bcast_free(&b2);
    }
  }
  sio__redis_bcast_free(&b);
  sio__sbuf_free(&out);
  strs_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sio__redis_req rq;
  sio__redis_res rs;
  cluster_round_trip(data, size);
  broadcast_round_trip(data, size);
  sio__redis_decode_request(&rq, data, size);
  sio__redis_req_free(&rq);
  sio__redis_decode_response(&rs, data, size);
  sio__redis_res_free(&rs);
  return 0;
}
