/* Broadcasts with acks across the classic Redis adapter (RedisAdapter.broadcastWithAck and
 * the BROADCAST request of @socket.io/redis-adapter 8.3), both ways.
 *
 * Asking: the BROADCAST request (type 7, msgpack) goes on the request channel; each other
 * server answers its client count (8) and then each client's answer (9), fed into the
 * sio_bcast_acks of the broadcast. How many servers will report is PUBSUB NUMSUB, known only
 * later: a placeholder server keeps the collector open until then (counts that come first
 * wait), and is released when the number is known. If Redis drops before the answers came,
 * the broadcast ends at once with SIO_ECLOSED and the answers so far.
 *
 * Serving: another server's BROADCAST is delivered to the local recipients with acks; the
 * count and each answer are published back until the broadcast's timeout has passed. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/redis_adapter.h"
#include "core/alloc.h"
#include "core/log.h"

#define RT(x)          SIO__RR_##x
#define SERVE_GRACE_MS 2000 /* the collector's own timeout ends it before this */

/* --- asking --------------------------------------------------------------------------------- */

typedef struct ackreq {
  sio__rreq req;
  sio__radapter *r;
  sio_bcast_acks *acks;
  int known;                   /* NUMSUB answered */
  int no_timeout;              /* the broadcast has no timeout of its own */
  size_t outstanding;          /* servers (the placeholder included) whose count has not come */
  size_t early, early_clients; /* counts that came before NUMSUB answered */
} ackreq;

static void ack_end(sio__rreq *q, int status) {
  ackreq *k = (ackreq *)q;
  if (status == SIO_ECLOSED) /* Redis dropped (or the adapter went): no more answers */
    sio_bcast_acks_fail(k->acks, status);
  /* without a timeout of its own the collector would wait forever: end it with what came */
  while (k->no_timeout && k->outstanding) sio_bcast_acks_client_count(k->acks, 0), k->outstanding--;
  sio_bcast_acks_release(k->acks);
}

static void servers_counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  ackreq *k = user;
  if (!k->req.ended && status) { /* Redis is down: the local clients decide */
    sio_bcast_acks_client_count(k->acks, 0);
    k->outstanding = 0;
  } else if (!k->req.ended) {
    size_t others = count > 1 ? (size_t)count - 1 : 0;
    sio_bcast_acks_expect_servers(k->acks, others);
    k->outstanding += others;
    k->known = 1;
    for (size_t i = 0; i < k->early && k->outstanding > 1; i++, k->outstanding--)
      sio_bcast_acks_client_count(k->acks, i ? 0 : k->early_clients);
    sio_bcast_acks_client_count(k->acks, 0); /* the placeholder */
    k->outstanding--;
  }
  sio__rreq_unref(&k->req);
}

static int publish_request(sio__radapter *r, ackreq *k, const sio_packet *p,
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
  uint32_t deadline = o->timeout_ms ? o->timeout_ms + SERVE_GRACE_MS : r->ra->requests_timeout_ms;
  ackreq *k = (ackreq *)sio__rreq_new(&r->reqs, sizeof(ackreq), RT(BROADCAST), deadline, ack_end);
  if (!k) return -ENOMEM;
  k->r = r, k->acks = acks, k->no_timeout = !o->timeout_ms;
  sio_bcast_acks_ref(acks);
  sio_bcast_acks_expect_servers(acks, 1); /* the placeholder, until NUMSUB answers */
  k->outstanding = 1;
  int rc = publish_request(r, k, p, o);
  if (!rc) {
    sio__rreq_ref(&k->req);
    if (sio__rlink_numsub(r->ra->link, 0, r->req_channel.data, r->req_channel.len, servers_counted,
                          k))
      sio__rreq_unref(&k->req), rc = -ENOMEM;
  }
  if (rc) { /* nobody else will answer: the local clients decide */
    sio_bcast_acks_client_count(acks, 0);
    k->outstanding = 0;
    sio__rreq_end(&k->req, rc);
  }
  return rc;
}

int sio__radapter_ack_response(sio__radapter *r, const sio__redis_res *res) {
  if (res->type != RT(BROADCAST_CLIENT_COUNT) && res->type != RT(BROADCAST_ACK)) return 0;
  const char *t = res->wire.text;
  sio__rreq *q = sio__rreq_find(&r->reqs, t + res->request_id.off + 1, res->request_id.len - 2);
  if (!q || q->type != RT(BROADCAST)) return 1; /* another server's, or too late */
  ackreq *k = (ackreq *)q;
  if (res->type == RT(BROADCAST_CLIENT_COUNT)) {
    if (!k->known) {
      k->early++, k->early_clients += (size_t)res->client_count;
    } else if (k->outstanding) {
      k->outstanding--;
      sio_bcast_acks_client_count(k->acks, (size_t)res->client_count);
    }
    return 1;
  }
  sio__sbuf args = SIO__SBUF_INIT; /* the client's first argument, as an argument list */
  sio__sbuf_appendc(&args, '[');
  if (res->value.type) sio__sbuf_append(&args, t + res->value.off, res->value.len);
  sio__sbuf_appendc(&args, ']');
  if (!args.oom) sio_bcast_acks_answer(k->acks, args.data, args.len);
  sio__sbuf_free(&args);
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

static void serve_answer(const char *args_json, size_t len, void *user) {
  serving *s = user;
  sio__json_slice first;
  sio__json_iter it;
  sio__redis_out out = {.type = RT(BROADCAST_ACK), .request_id = s->rid.data};
  sio__json_iter_init(&it, args_json, len);
  if (sio__json_iter_next(&it, &first)) out.json = args_json + first.off, out.json_len = first.len;
  send_back(s, &out); /* only the first argument, as Node's adapter sends it */
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
  size_t n = q->wire.bins.n;
  const void **att = n ? sio__calloc(n, sizeof(*att)) : NULL;
  size_t *att_len = n ? sio__calloc(n, sizeof(*att_len)) : NULL;
  int rc = sio__radapter_response_channel(r, q, &s->channel);
  if (s->rid.oom || (n && (!att || !att_len))) rc = -ENOMEM;
  for (size_t i = 0; !rc && i < n; i++)
    att[i] = q->wire.bins.v[i].data, att_len[i] = q->wire.bins.v[i].len;
  sio_remote_acks acks = {serve_count, serve_answer, s};
  const char *t = q->wire.text;
  if (!rc)
    rc = sio_adapter_deliver(r->base.nsp, t + q->packet_data.off, q->packet_data.len, att, att_len,
                             (unsigned)n, &o, &acks);
  if (rc) sio__rreq_end(&s->req, rc);
  sio__free(att), sio__free(att_len);
}
