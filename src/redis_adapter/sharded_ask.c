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
 * A broadcast with acks publishes at once; the counts (11) and the answers (12) feed the
 * collector both adapters share (redis_ackwait.h). */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/redis_ackwait.h"
#include "core/alloc.h"
#include "core/log.h"

#define T(x) SIO__CM_##x

static uint32_t timeout_of(const sio__sadapter *s, uint32_t ms) {
  return ms ? ms : s->ra->requests_timeout_ms;
}

static int count_servers(sio__sadapter *s, sio__redis_count_cb cb, void *user) {
  return sio__rlink_numsub(s->ra->link, sio__sadapter_shard(s), s->channel.data, s->channel.len, cb,
                           user);
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

int sio__sadapter_server_count(sio_adapter *a, sio_count_fn fn, void *user) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra) {
    fn(0, 1, user);
    return 0;
  }
  return sio__rlink_server_count(s->ra->link, sio__sadapter_shard(s), s->channel.data,
                                 s->channel.len, fn, user);
}

/* --- broadcast with acks -------------------------------------------------------------------- */

static int publish_with_ack(sio__sadapter *s, sio__rackwait *k, const sio_packet *p,
                            const sio_bcast_opts *o) {
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio__sadapter_out_init(s, &m, T(BROADCAST), o, &flags);
  m.request_id = k->req.id;
  m.json = sio_packet_data(p, &m.json_len);
  m.bins = sio__sadapter_bins(p, &m.nbins);
  int rc = (m.nbins && !m.bins) || !m.flags ? -ENOMEM : sio__sadapter_publish(s, &m, NULL);
  sio__free((void *)m.bins);
  sio__sbuf_free(&flags);
  return rc;
}

int sio__sadapter_broadcast_acks(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o,
                                 sio_bcast_acks *acks) {
  sio__rackwait *k = sio__rackwait_new(&s->reqs, T(BROADCAST), o, s->ra->requests_timeout_ms, acks);
  if (!k) return -ENOMEM;
  return sio__rackwait_start(k, publish_with_ack(s, k, p, o), s->ra->link, sio__sadapter_shard(s),
                             s->channel.data, s->channel.len);
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
    if (q->type != T(BROADCAST)) return;
    if (m->type == T(BROADCAST_CLIENT_COUNT))
      sio__rackwait_client_count((sio__rackwait *)q, m->client_count);
    else
      sio__rackwait_answer((sio__rackwait *)q, t, m->packet, &m->wire.bins);
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
    if (m->packet.type && m->wire.bins.n) /* Buffers in the answer: as Buffer#toJSON */
      sio__mp_json_buffers(&k->got, t + m->packet.off, m->packet.len, m->wire.bins.v,
                           m->wire.bins.n);
    else if (m->packet.type)
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
