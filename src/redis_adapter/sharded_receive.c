/* What the sharded Redis adapter receives from other servers (ClusterAdapter.onMessage of
 * socket.io-adapter 2.5), applied to this namespace and answered on the asker's response
 * channel <key>#<nsp>#<uid>#:
 *   3 BROADCAST           delivered to the local recipients; with a requestId, with acks: the
 *                         client count (11), then each client's first answer (12), until the
 *                         broadcast's timeout has passed
 *   4 SOCKETS_JOIN, 5 SOCKETS_LEAVE, 6 DISCONNECT_SOCKETS   applied to the local sockets
 *   7 FETCH_SOCKETS       the local sockets described (8)
 *   9 SERVER_SIDE_EMIT    this namespace's handlers; with a requestId the first answer (10)
 * Heartbeats and ADAPTER_CLOSE (of ClusterAdapterWithHeartbeat) mean nothing here, as in the
 * sharded adapter of Node, which is a plain ClusterAdapter. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/redis_ackwait.h"
#include "redis_adapter/redis_requests.h"
#include "core/alloc.h"
#include "core/log.h"

#define SERVE_GRACE_MS SIO__RACKWAIT_GRACE_MS

typedef struct names {
  sio__sbuf store, ptrs;
} names;

static const char *const *names_v(const names *n, size_t *count) {
  *count = n->ptrs.len / sizeof(char *);
  return *count ? (const char *const *)(const void *)n->ptrs.data : NULL;
}

/* opts of a message into o (rooms, except, flags); the strings live in r and e. */
static int opts_of(const sio__cluster_msg *m, names *r, names *e, sio_bcast_opts *o) {
  const char *t = m->wire.text;
  memset(o, 0, sizeof(*o));
  int rc = 0;
  if (m->rooms.type == SIO__JSON_ARRAY) rc = sio__wire_strings(t, m->rooms, &r->store, &r->ptrs);
  if (!rc && m->except.type == SIO__JSON_ARRAY)
    rc = sio__wire_strings(t, m->except, &e->store, &e->ptrs);
  o->rooms = names_v(r, &o->nrooms);
  o->except = names_v(e, &o->nexcept);
  o->flags = sio__radapter_flags_of(t, m->flags, &o->timeout_ms);
  return rc;
}

static void names_free(names *n) {
  sio__sbuf_free(&n->store), sio__sbuf_free(&n->ptrs);
}

/* The requester's uid and our request id of m, NUL-terminated, in b (uid first). */
static int ids_of(const sio__cluster_msg *m, sio__sbuf *b, size_t *rid_at) {
  const char *t = m->wire.text;
  sio__wire_string(t, m->uid, b);
  sio__sbuf_appendc(b, '\0');
  *rid_at = b->len;
  if (m->request_id.type == SIO__JSON_STRING) sio__wire_string(t, m->request_id, b);
  sio__sbuf_appendc(b, '\0');
  return b->oom ? -ENOMEM : 0;
}

/* --- broadcasts ----------------------------------------------------------------------------- */

typedef struct serving {
  sio__rreq req;
  sio__sadapter *s;
  sio__sbuf ids; /* the requester's uid, NUL, the request id, NUL */
  size_t rid_at;
} serving;

static void serving_end(sio__rreq *q, int status) {
  (void)status;
  sio__sbuf_free(&((serving *)q)->ids);
}

static void send_back(serving *v, sio__cluster_out *out) {
  out->request_id = v->ids.data + v->rid_at;
  if (!v->req.ended) sio__sadapter_publish(v->s, out, v->ids.data);
}

static void serve_count(size_t n, void *user) {
  serving *v = user;
  sio__cluster_out out;
  sio__sadapter_out_init(v->s, &out, SIO__CM_BROADCAST_CLIENT_COUNT, NULL, NULL);
  out.client_count = (int64_t)n;
  send_back(v, &out);
}

static void serve_answer(const char *args_json, size_t len, const void *const *att,
                         const size_t *att_len, unsigned natt, void *user) {
  serving *v = user;
  sio__cluster_out out;
  sio__json_slice first;
  sio__json_iter it;
  sio__mp_bins bins = {0};
  sio__sadapter_out_init(v->s, &out, SIO__CM_BROADCAST_ACK, NULL, NULL);
  sio__json_iter_init(&it, args_json, len);
  if (sio__json_iter_next(&it, &first)) out.json = args_json + first.off, out.json_len = first.len;
  /* only the first argument, as Node's adapter sends it (msgpack when it holds binaries) */
  if (!sio__mp_bins_push_all(&bins, att, att_len, natt)) {
    out.bins = bins.v, out.nbins = bins.n;
    send_back(v, &out);
  }
  sio__mp_bins_free(&bins);
}

static int attachments(const sio__cluster_msg *m, const void ***att, size_t **att_len) {
  return sio__mp_bins_arrays(&m->wire.bins, att, att_len);
}

static void broadcast(sio__sadapter *s, const sio__cluster_msg *m, sio_bcast_opts *o) {
  const void **att;
  size_t *att_len;
  int rc = attachments(m, &att, &att_len);
  serving *v = NULL;
  sio_remote_acks acks;
  if (!rc && m->request_id.type == SIO__JSON_STRING) {
    if (!o->timeout_ms) o->timeout_ms = s->ra->requests_timeout_ms;
    v = (serving *)sio__rreq_new(&s->serving, sizeof(serving), SIO__RADAPTER_SERVING,
                                 o->timeout_ms + SERVE_GRACE_MS, serving_end);
    rc = !v || ids_of(m, &v->ids, &v->rid_at) ? -ENOMEM : 0;
    if (v) v->s = s;
    acks = (sio_remote_acks){serve_count, serve_answer, v};
  }
  const char *t = m->wire.text;
  const char *data = t + m->packet_data.off;
  size_t len = m->packet_data.len;
  sio__sbuf with_off = SIO__SBUF_INIT; /* streams: the entry id last, as Node adds it */
  int off = !rc && !v && s->cur_off ? sio__streams_remote_data(s, m, o, &with_off) : 0;
  if (off < 0) rc = off;
  if (off > 0) data = with_off.data, len = with_off.len;
  if (!rc)
    rc = sio_adapter_deliver(s->base.nsp, data, len, att, att_len, (unsigned)m->wire.bins.n, o,
                             v ? &acks : NULL);
  sio__sbuf_free(&with_off);
  if (rc && rc != -ENOMEM) sio__debug("redis adapter: a broadcast was not delivered (%d)", rc);
  if (rc && v) sio__rreq_end(&v->req, rc);
  sio__free(att), sio__free(att_len);
}

/* --- fetchSockets --------------------------------------------------------------------------- */

typedef struct fetch_ctx {
  sio__sadapter *s;
  const sio__cluster_msg *m;
} fetch_ctx;

static void described(int status, const sio_remote_socket *v, size_t n, void *user) {
  fetch_ctx *c = user;
  sio__sbuf j = SIO__SBUF_INIT, ids = SIO__SBUF_INIT;
  size_t rid_at;
  sio__radapter_put_sockets(&j, v, n);
  if (!status && !j.oom && !ids_of(c->m, &ids, &rid_at)) {
    sio__cluster_out out;
    sio__sadapter_out_init(c->s, &out, SIO__CM_FETCH_SOCKETS_RESPONSE, NULL, NULL);
    out.request_id = ids.data + rid_at;
    out.json = j.data, out.json_len = j.len;
    sio__sadapter_publish(c->s, &out, ids.data);
  }
  sio__sbuf_free(&j), sio__sbuf_free(&ids);
}

/* --- serverSideEmit ------------------------------------------------------------------------- */

typedef struct sse_reply {
  sio__sadapter *s;
  sio__sbuf ids;
  size_t rid_at;
} sse_reply;

static void sse_answer(const char *json, size_t len, void *user) {
  sse_reply *r = user;
  sio__cluster_out out;
  sio__sadapter_out_init(r->s, &out, SIO__CM_SERVER_SIDE_EMIT_RESPONSE, NULL, NULL);
  out.request_id = r->ids.data + r->rid_at;
  out.json = json, out.json_len = len;
  sio__sadapter_publish(r->s, &out, r->ids.data);
}

static void server_side_emit(sio__sadapter *s, const sio__cluster_msg *m) {
  const char *t = m->wire.text;
  sse_reply r = {s, SIO__SBUF_INIT, 0};
  int ack = m->request_id.type == SIO__JSON_STRING;
  if (ack && ids_of(m, &r.ids, &r.rid_at)) ack = 0;
  const void **att;
  size_t *att_len;
  if (!attachments(m, &att, &att_len)) /* Node's binary arguments, as msgpack bin */
    sio_adapter_server_side_deliver(s->base.nsp, t + m->packet.off, m->packet.len, att, att_len,
                                    (unsigned)m->wire.bins.n, ack ? sse_answer : NULL, &r);
  sio__free(att), sio__free(att_len);
  sio__sbuf_free(&r.ids);
}

/* --- the dispatch --------------------------------------------------------------------------- */

void sio__sadapter_on_message(sio__sadapter *s, const sio__cluster_msg *m,
                              const sio__redis_message *raw) {
  names rooms = {SIO__SBUF_INIT, SIO__SBUF_INIT}, except = rooms, join = rooms;
  sio_bcast_opts o;
  sio_nsp *nsp = s->base.nsp;
  const char *t = m->wire.text;
  size_t njoin = 0;
  int rc = opts_of(m, &rooms, &except, &o);
  if (!rc && m->join.type == SIO__JSON_ARRAY)
    rc = sio__wire_strings(t, m->join, &join.store, &join.ptrs);
  const char *const *jv = names_v(&join, &njoin);
  if (rc) {
    sio__rlink_drop(s->ra->link, raw, rc == -ENOMEM ? "out of memory" : "malformed rooms");
  } else {
    switch (m->type) {
    case SIO__CM_BROADCAST:
      broadcast(s, m, &o);
      break;
    case SIO__CM_SOCKETS_JOIN:
      sio_adapter_apply_join(nsp, &o, jv, njoin);
      break;
    case SIO__CM_SOCKETS_LEAVE:
      sio_adapter_apply_leave(nsp, &o, jv, njoin);
      break;
    case SIO__CM_DISCONNECT_SOCKETS:
      sio_adapter_apply_disconnect(nsp, &o, m->close == 1);
      break;
    case SIO__CM_FETCH_SOCKETS: {
      fetch_ctx c = {s, m};
      sio_adapter_describe_sockets(nsp, &o, described, &c);
      break;
    }
    case SIO__CM_SERVER_SIDE_EMIT:
      server_side_emit(s, m);
      break;
    default: /* heartbeats, ADAPTER_CLOSE: nothing to do */
      break;
    }
  }
  names_free(&rooms), names_free(&except), names_free(&join);
}
