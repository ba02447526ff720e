/* Broadcasts with acks across the classic Redis adapter (RedisAdapter.broadcastWithAck and
 * the BROADCAST request of @socket.io/redis-adapter 8.3), both ways.
 *
 * Asking: the BROADCAST request (type 7, msgpack) goes on the request channel; each other
 * server answers its client count (8) and then each client's answer (9), fed into the
 * sio_bcast_acks of the broadcast by the collector both adapters share (redis_ackwait.h:
 * how many servers will report is PUBSUB NUMSUB, known only later; if Redis drops before the
 * answers came, the broadcast ends at once with SIO_ECLOSED and the answers so far).
 *
 * Serving: another server's BROADCAST is delivered to the local recipients with acks; the
 * count and each answer are published back until the broadcast's timeout has passed. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/redis_adapter.h"
#include "redis_adapter/redis_ackwait.h"
#include "core/alloc.h"
#include "core/log.h"

#define RT(x)          SIO__RR_##x
#define SERVE_GRACE_MS SIO__RACKWAIT_GRACE_MS

/* --- asking --------------------------------------------------------------------------------- */

static int publish_request(sio__radapter *r, sio__rackwait *k, const sio_packet *p,
                           const sio_bcast_opts *o) {
  sio__sbuf msg = SIO__SBUF_INIT;
  sio__radapter_out x;
  int rc = sio__radapter_out_init(&x, r, p, o, 1);
  x.m.type = RT(BROADCAST), x.m.request_id = k->req.id;
  if (!rc) rc = sio__redis_encode_request(&msg, &x.m);
  if (!rc) rc = sio__radapter_publish(r, &r->req_channel, &msg);
  sio__radapter_out_free(&x);
  sio__sbuf_free(&msg);
  return rc;
}

int sio__radapter_broadcast_acks(sio__radapter *r, const sio_packet *p, const sio_bcast_opts *o,
                                 sio_bcast_acks *acks) {
  sio__rackwait *k =
      sio__rackwait_new(&r->reqs, RT(BROADCAST), o, r->ra->requests_timeout_ms, acks);
  if (!k) return -ENOMEM;
  return sio__rackwait_start(k, publish_request(r, k, p, o), r->ra->link, 0, r->req_channel.data,
                             r->req_channel.len);
}

int sio__radapter_ack_response(sio__radapter *r, const sio__redis_res *res) {
  if (res->type != RT(BROADCAST_CLIENT_COUNT) && res->type != RT(BROADCAST_ACK)) return 0;
  const char *t = res->wire.text;
  sio__rreq *q = sio__rreq_find(&r->reqs, t + res->request_id.off + 1, res->request_id.len - 2);
  if (!q || q->type != RT(BROADCAST)) return 1; /* another server's, or too late */
  sio__rackwait *k = (sio__rackwait *)q;
  if (res->type == RT(BROADCAST_CLIENT_COUNT))
    sio__rackwait_client_count(k, res->client_count);
  else
    sio__rackwait_answer(k, t, res->value, &res->wire.bins);
  return 1;
}

/* --- serving -------------------------------------------------------------------------------- */

typedef struct serving {
  sio__rreq req;
  sio__radapter *r;
  sio__sbuf rid, channel;
} serving;

static void serving_end(sio__rreq *q, int status) {
  serving *s = (serving *)q;
  (void)status;
  sio__sbuf_free(&s->rid), sio__sbuf_free(&s->channel);
}

static void send_back(serving *s, const sio__redis_out *out) {
  sio__sbuf msg = SIO__SBUF_INIT;
  if (!s->req.ended && !sio__redis_encode_response(&msg, out))
    sio__radapter_publish(s->r, &s->channel, &msg);
  sio__sbuf_free(&msg);
}

static void serve_count(size_t n, void *user) {
  serving *s = user;
  sio__redis_out out = {
      .type = RT(BROADCAST_CLIENT_COUNT), .request_id = s->rid.data, .client_count = (int64_t)n};
  send_back(s, &out);
}

static void serve_answer(const char *args_json, size_t len, const void *const *att,
                         const size_t *att_len, unsigned natt, void *user) {
  serving *s = user;
  sio__json_slice first;
  sio__json_iter it;
  sio__redis_out out = {.type = RT(BROADCAST_ACK), .request_id = s->rid.data};
  sio__mp_bins bins = {0};
  sio__json_iter_init(&it, args_json, len);
  if (sio__json_iter_next(&it, &first)) out.json = args_json + first.off, out.json_len = first.len;
  /* only the first argument, as Node's adapter sends it, its binaries as msgpack bin */
  if (!sio__mp_bins_push_all(&bins, att, att_len, natt)) {
    out.bins = bins.v, out.nbins = bins.n;
    send_back(s, &out);
  }
  sio__mp_bins_free(&bins);
}

void sio__radapter_serve_broadcast(sio__radapter *r, const sio__redis_req *q, const char *rid,
                                   const sio_bcast_opts *opts) {
  sio_bcast_opts o = *opts;
  if (!o.timeout_ms) o.timeout_ms = r->ra->requests_timeout_ms;
  serving *s = (serving *)sio__rreq_new(&r->serving, sizeof(serving), SIO__RADAPTER_SERVING,
                                        o.timeout_ms + SERVE_GRACE_MS, serving_end);
  if (!s) return;
  s->r = r;
  sio__sbuf_appends(&s->rid, rid);
  sio__sbuf_appendc(&s->rid, '\0');
  const void **att;
  size_t *att_len;
  int rc = sio__radapter_response_channel(r, q, &s->channel);
  if (sio__mp_bins_arrays(&q->wire.bins, &att, &att_len) || s->rid.oom) rc = -ENOMEM;
  sio_remote_acks acks = {serve_count, serve_answer, s};
  const char *t = q->wire.text;
  if (!rc)
    rc = sio_adapter_deliver(r->base.nsp, t + q->packet_data.off, q->packet_data.len, att, att_len,
                             (unsigned)q->wire.bins.n, &o, &acks);
  if (rc) sio__rreq_end(&s->req, rc);
  sio__free(att), sio__free(att_len);
}
