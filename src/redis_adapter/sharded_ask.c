/* The sharded Redis adapter asking the other servers (ClusterAdapter.fetchSockets,
 * addSockets, delSockets, disconnectSockets, serverSideEmit, broadcastWithAck and
 * ShardedRedisAdapter.serverCount of socket.io-adapter 2.5 / @socket.io/redis-adapter 8.3),
 * and the responses that come back on <key>#<nsp>#<uid>#.
 *
 * The server count is PUBSUB SHARDNUMSUB of <key>#<nsp># (this server included). fetchSockets
 * and serverSideEmit with an ack first ask it; with no other server they end at once, else
 * they publish and wait for count - 1 responses (8 or 10), until the timeout (the operation's,
 * else requests_timeout_ms: SIO_ETIMEDOUT with what came) or until Redis drops (SIO_ECLOSED).
 * socketsJoin/Leave, disconnectSockets and serverSideEmit without an ack are published only.
 * A broadcast with acks publishes at once (the count, 11, and the answers, 12, feed the
 * collector); as the number of servers is known only when SHARDNUMSUB answers, a placeholder
 * server keeps the collector open until then (counts that come first wait). If Redis drops
 * before the answers came, the broadcast ends at once with SIO_ECLOSED and the answers so far. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "core/alloc.h"
#include "core/log.h"

#define SERVE_GRACE_MS 2000
#define T(x)           SIO__CM_##x

static uint32_t timeout_of(const sio__sadapter *s, uint32_t ms) {
  return ms ? ms : s->ra->requests_timeout_ms;
}

static int count_servers(sio__sadapter *s, sio__redis_count_cb cb, void *user) {
  return sio__rlink_numsub(s->ra->link, 1, s->channel.data, s->channel.len, cb, user);
}

/* --- requests that collect one response per other server ------------------------------------ */

typedef struct ask {
  sio__rreq req;
  sio__sadapter *s;
  size_t expected, received;
  void (*fn)(void);
  void *user;
  sio__sbuf got;  /* 10: NUL-terminated JSON texts; 8: the sockets' JSON, comma-separated */
  sio__sbuf body; /* the encoded request, published once the count is known */
} ask;

static void end_answers(ask *k, int status) {
  size_t n = k->received;
  const char **v = sio__calloc(n ? n : 1, sizeof(*v));
  const char *p = k->got.data;
  for (size_t i = 0; v && i < n; i++, p += strlen(p) + 1) v[i] = p;
  if (!v && !status) status = -ENOMEM;
  ((sio_server_acks_fn)k->fn)(status, v, v ? n : 0, k->user);
  sio__free(v);
}

/* Every socket of the responses: per socket, offsets in store of its id, handshake and data,
 * its number of rooms and their offsets. */
static int collect_sockets(const char *t, size_t len, sio__sbuf *store, sio__sbuf *offs) {
  sio__json_iter it;
  sio__json_slice e, v, rooms;
  sio__sbuf ptrs = SIO__SBUF_INIT;
  sio__json_iter_init(&it, t, len);
  while (sio__json_iter_next(&it, &e)) {
    size_t o[4];
    if (e.type != SIO__JSON_OBJECT || sio__wire_get_typed(t, e, "id", SIO__JSON_STRING, &v) != 1)
      continue;
    o[0] = store->len;
    sio__wire_string(t, v, store), sio__sbuf_appendc(store, '\0');
    o[1] = store->len;
    if (sio__wire_get(t, e, "handshake", &v))
      sio__sbuf_append(store, t + v.off, v.len);
    else
      sio__sbuf_appends(store, "{}");
    sio__sbuf_appendc(store, '\0');
    o[2] = store->len;
    if (sio__wire_get(t, e, "data", &v))
      sio__sbuf_append(store, t + v.off, v.len);
    else
      sio__sbuf_appends(store, "null");
    sio__sbuf_appendc(store, '\0');
    size_t from = store->len;
    sio__sbuf_reset(&ptrs);
    if (sio__wire_get_typed(t, e, "rooms", SIO__JSON_ARRAY, &rooms) == 1 &&
        sio__wire_strings(t, rooms, store, &ptrs))
      break;
    o[3] = ptrs.len / sizeof(char *);
    sio__sbuf_append(offs, o, sizeof o);
    for (size_t i = 0, at = from; i < o[3]; i++, at += strlen(store->data + at) + 1)
      sio__sbuf_append(offs, &at, sizeof at);
  }
  sio__sbuf_free(&ptrs);
  return store->oom || offs->oom ? -ENOMEM : 0;
}

static void end_fetch(ask *k, int status) {
  sio__sbuf json = SIO__SBUF_INIT, store = SIO__SBUF_INIT, offs = SIO__SBUF_INIT;
  sio__sbuf_appendc(&json, '[');
  sio__sbuf_append(&json, k->got.data, k->got.len);
  sio__sbuf_appendc(&json, ']');
  int rc = json.oom ? -ENOMEM : collect_sockets(json.data, json.len, &store, &offs);
  size_t nw = offs.len / sizeof(size_t), n = 0;
  const size_t *w = (const size_t *)(const void *)offs.data;
  for (size_t i = 0; i < nw; i += 4 + w[i + 3]) n++;
  sio_remote_socket *v = sio__calloc(n ? n : 1, sizeof(*v));
  const char **rooms = sio__calloc(nw ? nw : 1, sizeof(*rooms));
  if (!v || !rooms) rc = -ENOMEM;
  for (size_t i = 0, j = 0; !rc && i < nw; i += 4 + w[i + 3], j++) {
    v[j].id = store.data + w[i], v[j].handshake_json = store.data + w[i + 1];
    v[j].data_json = store.data + w[i + 2], v[j].nrooms = w[i + 3], v[j].rooms = rooms + i;
    for (size_t r = 0; r < w[i + 3]; r++) rooms[i + r] = store.data + w[i + 4 + r];
  }
  if (rc && !status) status = rc;
  ((sio_remote_sockets_fn)k->fn)(status, rc ? NULL : v, rc ? 0 : n, k->user);
  sio__free(v), sio__free(rooms);
  sio__sbuf_free(&json), sio__sbuf_free(&store), sio__sbuf_free(&offs);
}

static void ask_end(sio__rreq *q, int status) {
  ask *k = (ask *)q;
  if (status == SIO_ETIMEDOUT)
    sio__debug("redis adapter: timeout reached: only %zu responses received out of %zu",
               k->received, k->expected);
  if (q->type == T(FETCH_SOCKETS))
    end_fetch(k, status);
  else
    end_answers(k, status);
  sio__sbuf_free(&k->got), sio__sbuf_free(&k->body);
}

static void counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  ask *k = user;
  if (!k->req.ended) {
    k->expected = count > 1 ? (size_t)count - 1 : 0;
    if (status)
      sio__rreq_end(&k->req, status);
    else if (!k->expected || !k->s->ra)
      sio__rreq_end(&k->req, 0);
    else if (sio__sadapter_send(k->s, &k->body))
      sio__rreq_end(&k->req, SIO_ECLOSED);
  }
  sio__rreq_unref(&k->req);
}

/* Encodes m (its request id set here) and asks the server count; fn gets the result. */
static int ask_start(sio__sadapter *s, sio__cluster_out *m, uint32_t timeout_ms, void (*fn)(void),
                     void *user) {
  ask *k = (ask *)sio__rreq_new(&s->reqs, sizeof(ask), m->type, timeout_of(s, timeout_ms), ask_end);
  if (!k) return -ENOMEM;
  k->s = s, k->fn = fn, k->user = user;
  m->request_id = k->req.id;
  int rc = sio__cluster_encode(&k->body, m);
  if (rc) {
    sio__rreq_end(&k->req, rc);
    return 0; /* fn had its answer */
  }
  sio__rreq_ref(&k->req);
  if (count_servers(s, counted, k)) counted(NULL, -ENOMEM, 0, k);
  return 0;
}

int sio__sadapter_fetch_sockets(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                void *user) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra) {
    fn(0, NULL, 0, user);
    return 0;
  }
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio__sadapter_out_init(s, &m, T(FETCH_SOCKETS), o, &flags);
  int rc = m.flags ? ask_start(s, &m, o->timeout_ms, (void (*)(void))fn, user) : -ENOMEM;
  sio__sbuf_free(&flags);
  return rc;
}

int sio__sadapter_server_side_emit(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                                   sio_server_acks_fn fn, void *user) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra) {
    if (fn) fn(0, NULL, 0, user);
    return 0;
  }
  sio__cluster_out m;
  sio__sadapter_out_init(s, &m, T(SERVER_SIDE_EMIT), NULL, NULL);
  m.json = sio_packet_data(p, &m.json_len);
  m.bins = sio__sadapter_bins(p, &m.nbins);
  int rc = m.nbins && !m.bins ? -ENOMEM : 0;
  if (!rc && !fn)
    rc = sio__sadapter_publish(s, &m, NULL);
  else if (!rc)
    rc = ask_start(s, &m, timeout_ms, (void (*)(void))fn, user);
  sio__free((void *)m.bins);
  return rc == SIO_ECLOSED ? 0 : rc; /* Redis down: the others are out of reach, as in Node */
}

/* socketsJoin / socketsLeave / disconnectSockets: {opts, rooms | close}, not answered. */
static int publish_change(sio__sadapter *s, int type, const sio_bcast_opts *o,
                          const char *const *rooms, size_t n, int close) {
  if (!s->ra) return 0;
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio__sadapter_out_init(s, &m, type, o, &flags);
  m.join = rooms, m.njoin = n, m.close = type == T(DISCONNECT_SOCKETS) ? close != 0 : -1;
  int rc = m.flags ? sio__sadapter_publish(s, &m, NULL) : -ENOMEM;
  sio__sbuf_free(&flags);
  return rc == SIO_ECLOSED ? 0 : rc;
}

int sio__sadapter_add_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n) {
  return publish_change((sio__sadapter *)a, T(SOCKETS_JOIN), o, rooms, n, 0);
}
int sio__sadapter_del_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n) {
  return publish_change((sio__sadapter *)a, T(SOCKETS_LEAVE), o, rooms, n, 0);
}
int sio__sadapter_disconnect_sockets(sio_adapter *a, const sio_bcast_opts *o, int close) {
  return publish_change((sio__sadapter *)a, T(DISCONNECT_SOCKETS), o, NULL, 0, close);
}

typedef struct count_ctx {
  sio_count_fn fn;
  void *user;
} count_ctx;

static void server_counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  count_ctx cc = *(count_ctx *)user;
  sio__free(user);
  cc.fn(status, status || count < 1 ? 1 : (size_t)count, cc.user);
}

int sio__sadapter_server_count(sio_adapter *a, sio_count_fn fn, void *user) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra) {
    fn(0, 1, user);
    return 0;
  }
  count_ctx *cc = sio__malloc(sizeof(*cc));
  if (!cc) return -ENOMEM;
  cc->fn = fn, cc->user = user;
  int rc = count_servers(s, server_counted, cc);
  if (rc) sio__free(cc);
  return rc;
}

/* --- broadcast with acks -------------------------------------------------------------------- */

typedef struct ackreq {
  sio__rreq req;
  sio_bcast_acks *acks;
  int known;                   /* SHARDNUMSUB answered */
  int no_timeout;              /* the broadcast has no timeout of its own */
  size_t outstanding;          /* servers (the placeholder included) whose count has not come */
  size_t early, early_clients; /* counts that came before SHARDNUMSUB answered */
} ackreq;

static void ack_end(sio__rreq *q, int status) {
  ackreq *k = (ackreq *)q;
  if (status == SIO_ECLOSED) /* Redis dropped (or the adapter went): no more answers */
    sio_bcast_acks_fail(k->acks, status);
  /* without a timeout of its own the collector would wait forever: end it with what came */
  while (k->no_timeout && k->outstanding) sio_bcast_acks_client_count(k->acks, 0), k->outstanding--;
  sio_bcast_acks_release(k->acks);
}

static void ack_servers(sio__redis *c, int status, long long count, void *user) {
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

int sio__sadapter_broadcast_acks(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o,
                                 sio_bcast_acks *acks) {
  uint32_t deadline = o->timeout_ms ? o->timeout_ms + SERVE_GRACE_MS : s->ra->requests_timeout_ms;
  ackreq *k = (ackreq *)sio__rreq_new(&s->reqs, sizeof(ackreq), T(BROADCAST), deadline, ack_end);
  if (!k) return -ENOMEM;
  k->acks = acks, k->no_timeout = !o->timeout_ms;
  sio_bcast_acks_ref(acks);
  sio_bcast_acks_expect_servers(acks, 1); /* the placeholder, until SHARDNUMSUB answers */
  k->outstanding = 1;
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio__sadapter_out_init(s, &m, T(BROADCAST), o, &flags);
  m.request_id = k->req.id;
  m.json = sio_packet_data(p, &m.json_len);
  m.bins = sio__sadapter_bins(p, &m.nbins);
  int rc = (m.nbins && !m.bins) || !m.flags ? -ENOMEM : sio__sadapter_publish(s, &m, NULL);
  sio__free((void *)m.bins);
  sio__sbuf_free(&flags);
  if (!rc) {
    sio__rreq_ref(&k->req);
    if (count_servers(s, ack_servers, k)) sio__rreq_unref(&k->req), rc = -ENOMEM;
  }
  if (rc) { /* nobody else will answer: the local clients decide */
    sio_bcast_acks_client_count(acks, 0);
    k->outstanding = 0;
    sio__rreq_end(&k->req, rc);
  }
  return rc;
}

static void ack_response(ackreq *k, const sio__cluster_msg *m) {
  const char *t = m->wire.text;
  if (m->type == T(BROADCAST_CLIENT_COUNT)) {
    if (!k->known) {
      k->early++, k->early_clients += (size_t)m->client_count;
    } else if (k->outstanding) {
      k->outstanding--;
      sio_bcast_acks_client_count(k->acks, (size_t)m->client_count);
    }
    return;
  }
  sio__sbuf args = SIO__SBUF_INIT; /* the client's first argument, as an argument list */
  sio__sbuf_appendc(&args, '[');
  if (m->packet.type) sio__sbuf_append(&args, t + m->packet.off, m->packet.len);
  sio__sbuf_appendc(&args, ']');
  if (!args.oom) sio_bcast_acks_answer(k->acks, args.data, args.len);
  sio__sbuf_free(&args);
}

/* --- responses ------------------------------------------------------------------------------ */

void sio__sadapter_on_response(sio__sadapter *s, const sio__cluster_msg *m) {
  const char *t = m->wire.text;
  if (m->request_id.type != SIO__JSON_STRING) return;
  sio__rreq *q = sio__rreq_find(&s->reqs, t + m->request_id.off + 1, m->request_id.len - 2);
  if (!q || q->ended) return; /* another server's, or too late */
  ask *k = (ask *)q;
  switch (m->type) {
  case T(BROADCAST_CLIENT_COUNT):
  case T(BROADCAST_ACK):
    if (q->type == T(BROADCAST)) ack_response((ackreq *)q, m);
    return;
  case T(FETCH_SOCKETS_RESPONSE):
    if (q->type != T(FETCH_SOCKETS) || m->sockets.type != SIO__JSON_ARRAY) return;
    if (m->sockets.len > 2) { /* the elements, without the brackets */
      if (k->got.len) sio__sbuf_appendc(&k->got, ',');
      sio__sbuf_append(&k->got, t + m->sockets.off + 1, m->sockets.len - 2);
    }
    break;
  case T(SERVER_SIDE_EMIT_RESPONSE):
    if (q->type != T(SERVER_SIDE_EMIT)) return;
    if (m->packet.type)
      sio__sbuf_append(&k->got, t + m->packet.off, m->packet.len);
    else
      sio__sbuf_appends(&k->got, "null");
    sio__sbuf_appendc(&k->got, '\0');
    break;
  default:
    return;
  }
  k->received++;
  if (k->expected && k->received >= k->expected) sio__rreq_end(q, 0);
}
