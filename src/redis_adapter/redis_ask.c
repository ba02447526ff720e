/* The classic Redis adapter asking the other servers (RedisAdapter.allRooms, fetchSockets,
 * addSockets, delSockets, disconnectSockets, serverSideEmit(WithAck), serverCount of
 * @socket.io/redis-adapter 8.3) and the responses to what it asked.
 *
 * The server count is PUBSUB NUMSUB of the request channel (this server included). A request
 * that waits for answers first asks that count, then publishes; it ends when every other
 * server answered, after requests_timeout_ms (SIO_ETIMEDOUT with what came: the callback's n
 * says how many), or when Redis drops (SIO_ECLOSED). socketsJoin/Leave and disconnectSockets
 * are published and not answered, as in Node. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/redis_adapter.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/map.h"

#define RT(x) SIO__RR_##x

/* A request that collects one answer per server. */
typedef struct ask {
  sio__rreq req;
  sio__radapter *r;
  size_t expected, received; /* answers to wait for, and in (this server's counts as one) */
  void (*fn)(void);
  void *user;
  sio__sbuf text; /* NUL-terminated strings: room names, JSON texts */
  size_t *offs;   /* of the results in text */
  size_t noffs, cap;
  sio__map seen; /* ALL_ROOMS: each name once */
  /* REMOTE_FETCH: per socket 4 + nrooms offsets: id, handshake, data, nrooms, rooms... */
  sio__sbuf body; /* the request, published once the count is known */
} ask;

static int push_off(ask *k, size_t off) {
  if (k->noffs == k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 16;
    size_t *v = sio__realloc(k->offs, cap * sizeof(*v));
    if (!v) return -ENOMEM;
    k->offs = v, k->cap = cap;
  }
  k->offs[k->noffs++] = off;
  return 0;
}

/* Appends a string (len bytes) NUL-terminated to text and records where. */
static int push_str(ask *k, const char *s, size_t len) {
  size_t off = k->text.len;
  sio__sbuf_append(&k->text, s, len);
  sio__sbuf_appendc(&k->text, '\0');
  return k->text.oom ? -ENOMEM : push_off(k, off);
}

static int push_slice(ask *k, const char *t, sio__json_slice v, int unescape) {
  if (!unescape) return push_str(k, t + v.off, v.len);
  size_t off = k->text.len;
  sio__wire_string(t, v, &k->text);
  sio__sbuf_appendc(&k->text, '\0');
  return k->text.oom ? -ENOMEM : push_off(k, off);
}

/* A value whose placeholders stand for bins, with each Buffer as JSON.stringify writes it. */
static int push_buffers(ask *k, const char *t, sio__json_slice v, const sio__mp_bins *bins) {
  size_t off = k->text.len;
  int rc = sio__mp_json_buffers(&k->text, t + v.off, v.len, bins->v, bins->n);
  sio__sbuf_appendc(&k->text, '\0');
  return rc ? rc : k->text.oom ? -ENOMEM : push_off(k, off);
}

static int push_room(ask *k, const char *name, size_t len) {
  if (sio__map_get(&k->seen, name, len)) return 0;
  if (sio__map_put(&k->seen, name, len, k)) return -ENOMEM;
  return push_str(k, name, len);
}

static int local_room(const char *room, size_t len, void *ctx) {
  push_room(ctx, room, len);
  return 0;
}

/* --- ending: the results to the caller ----------------------------------------------------- */

static const char **strings(ask *k, size_t from, size_t n) {
  const char **v = sio__calloc(n ? n : 1, sizeof(*v));
  for (size_t i = 0; v && i < n; i++) v[i] = k->text.data + k->offs[from + i];
  return v;
}

static void end_names(ask *k, int status) {
  const char **v = strings(k, 0, k->noffs);
  size_t n = v ? k->noffs : 0;
  if (!v && !status) status = -ENOMEM;
  if (k->req.type == RT(ALL_ROOMS))
    ((sio_names_fn)k->fn)(status, v, n, k->user);
  else
    ((sio_server_acks_fn)k->fn)(status, v, n, k->user);
  sio__free(v);
}

static void end_fetch(ask *k, int status) {
  size_t n = 0;
  for (size_t i = 0; i < k->noffs; i += 4 + k->offs[i + 3]) n++;
  sio_remote_socket *s = sio__calloc(n ? n : 1, sizeof(*s));
  const char **rooms = strings(k, 0, k->noffs); /* every string; rooms point into it */
  if ((!s || !rooms) && !status) status = -ENOMEM;
  size_t j = 0;
  for (size_t i = 0; s && rooms && i < k->noffs; i += 4 + k->offs[i + 3], j++) {
    s[j].id = rooms[i], s[j].handshake_json = rooms[i + 1], s[j].data_json = rooms[i + 2];
    s[j].nrooms = k->offs[i + 3], s[j].rooms = rooms + i + 4;
  }
  ((sio_remote_sockets_fn)k->fn)(status, s && rooms ? s : NULL, s && rooms ? n : 0, k->user);
  sio__free(s), sio__free(rooms);
}

static void ask_end(sio__rreq *q, int status) {
  ask *k = (ask *)q;
  if (status == SIO_ETIMEDOUT)
    sio__debug("redis adapter: request %d timed out: %zu responses out of %zu", q->type,
               k->received, k->expected);
  if (q->type == RT(REMOTE_FETCH))
    end_fetch(k, status);
  else
    end_names(k, status);
  sio__sbuf_free(&k->text), sio__sbuf_free(&k->body);
  sio__free(k->offs);
  sio__map_free(&k->seen);
}

/* --- asking --------------------------------------------------------------------------------- */

static void counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  ask *k = user;
  if (!k->req.ended) {
    /* others = servers besides this one; SERVER_SIDE_EMIT waits for them only */
    size_t others = count > 1 ? (size_t)count - 1 : 0;
    k->expected = k->req.type == RT(SERVER_SIDE_EMIT) ? others : others + 1;
    if (status)
      sio__rreq_end(&k->req, status);
    else if (!others || !k->r->ra)
      sio__rreq_end(&k->req, 0);
    else if (sio__radapter_publish(k->r, &k->r->req_channel, &k->body))
      sio__rreq_end(&k->req, SIO_ECLOSED);
  }
  sio__rreq_unref(&k->req);
}

/* Starts a request of type whose JSON body (without its requestId) is built by the caller
 * in body; fn gets the result. */
static ask *ask_new(sio__radapter *r, int type, uint32_t timeout_ms, void (*fn)(void), void *user) {
  if (!timeout_ms) timeout_ms = r->ra->requests_timeout_ms;
  ask *k = (ask *)sio__rreq_new(&r->reqs, sizeof(ask), type, timeout_ms, ask_end);
  if (!k) return NULL;
  k->r = r, k->fn = fn, k->user = user, k->received = type == RT(SERVER_SIDE_EMIT) ? 0 : 1;
  return k;
}

static int ask_send(ask *k) {
  sio__radapter *r = k->r;
  if (k->body.oom) {
    sio__rreq_end(&k->req, -ENOMEM);
    return 0;
  }
  sio__rreq_ref(&k->req);
  if (sio__rlink_numsub(r->ra->link, 0, r->req_channel.data, r->req_channel.len, counted, k))
    counted(NULL, -ENOMEM, 0, k);
  return 0;
}

static void body_head(ask *k, int type) {
  sio__sbuf_appends(&k->body, "{\"uid\":");
  sio__wire_put_str(&k->body, k->r->uid);
  sio__sbuf_appends(&k->body, ",\"requestId\":");
  sio__wire_put_str(&k->body, k->req.id);
  sio__sbuf_printf(&k->body, ",\"type\":%d", type);
}

static void body_opts(sio__sbuf *b, const sio_bcast_opts *o) {
  sio__sbuf_appends(b, ",\"opts\":{\"rooms\":");
  sio__wire_put_strs(b, o->rooms, o->nrooms);
  sio__sbuf_appends(b, ",\"except\":");
  sio__wire_put_strs(b, o->except, o->nexcept);
  sio__sbuf_appendc(b, '}');
}

int sio__radapter_all_rooms(sio_adapter *a, uint32_t timeout_ms, sio_names_fn fn, void *user) {
  sio__radapter *r = (sio__radapter *)a;
  if (!r->ra) { /* detached: this node is the cluster */
    ask k = {0};
    a->ops->rooms(a, local_room, &k);
    k.req.type = RT(ALL_ROOMS), k.fn = (void (*)(void))fn, k.user = user;
    ask_end(&k.req, 0);
    return 0;
  }
  ask *k = ask_new(r, RT(ALL_ROOMS), timeout_ms, (void (*)(void))fn, user);
  if (!k) return -ENOMEM;
  a->ops->rooms(a, local_room, k);
  body_head(k, RT(ALL_ROOMS));
  sio__sbuf_appendc(&k->body, '}');
  return ask_send(k);
}

int sio__radapter_fetch_sockets(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                void *user) {
  sio__radapter *r = (sio__radapter *)a;
  if (!r->ra) {
    fn(0, NULL, 0, user);
    return 0;
  }
  ask *k = ask_new(r, RT(REMOTE_FETCH), o->timeout_ms, (void (*)(void))fn, user);
  if (!k) return -ENOMEM;
  body_head(k, RT(REMOTE_FETCH));
  body_opts(&k->body, o);
  sio__sbuf_appendc(&k->body, '}');
  return ask_send(k);
}

/* serverSideEmit's data as Node's JSON.stringify writes it: a Buffer as Buffer#toJSON. */
static int put_emit_data(sio__sbuf *b, const sio_packet *p) {
  size_t len, n = sio_packet_attachments(p);
  const char *data = sio_packet_data(p, &len);
  if (!n) return sio__sbuf_append(b, data, len) ? -ENOMEM : 0;
  sio__mp_bins bins = {0};
  int rc = 0;
  for (unsigned i = 0; !rc && i < n; i++) {
    size_t bin_len;
    const void *bin = sio_packet_attachment(p, i, &bin_len);
    rc = sio__mp_bins_push(&bins, bin, bin_len);
  }
  if (!rc) rc = sio__mp_json_buffers(b, data, len, bins.v, bins.n);
  sio__mp_bins_free(&bins);
  return rc;
}

int sio__radapter_server_side_emit(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                                   sio_server_acks_fn fn, void *user) {
  sio__radapter *r = (sio__radapter *)a;
  if (!r->ra) {
    if (fn) fn(0, NULL, 0, user);
    return 0;
  }
  if (!fn) { /* {uid, type: 6, data} */
    sio__sbuf b = SIO__SBUF_INIT;
    sio__sbuf_appends(&b, "{\"uid\":");
    sio__wire_put_str(&b, r->uid);
    sio__sbuf_appends(&b, ",\"type\":6,\"data\":");
    int rc = put_emit_data(&b, p);
    sio__sbuf_appendc(&b, '}');
    if (!rc) rc = b.oom ? -ENOMEM : sio__radapter_publish(r, &r->req_channel, &b);
    sio__sbuf_free(&b);
    return rc == SIO_ECLOSED ? 0 : rc;
  }
  ask *k = ask_new(r, RT(SERVER_SIDE_EMIT), timeout_ms, (void (*)(void))fn, user);
  if (!k) return -ENOMEM;
  body_head(k, RT(SERVER_SIDE_EMIT));
  sio__sbuf_appends(&k->body, ",\"data\":");
  if (put_emit_data(&k->body, p)) k->body.oom = 1; /* ask_send ends it with -ENOMEM */
  sio__sbuf_appendc(&k->body, '}');
  return ask_send(k);
}

/* socketsJoin / socketsLeave / disconnectSockets: {uid, type, opts, rooms | close}. */
static int publish_change(sio__radapter *r, int type, const sio_bcast_opts *o,
                          const char *const *rooms, size_t n, int close) {
  if (!r->ra) return 0;
  sio__sbuf b = SIO__SBUF_INIT;
  sio__sbuf_appends(&b, "{\"uid\":");
  sio__wire_put_str(&b, r->uid);
  sio__sbuf_printf(&b, ",\"type\":%d", type);
  body_opts(&b, o);
  if (type == RT(REMOTE_DISCONNECT)) {
    sio__sbuf_appends(&b, close ? ",\"close\":true" : ",\"close\":false");
  } else {
    sio__sbuf_appends(&b, ",\"rooms\":");
    sio__wire_put_strs(&b, rooms, n);
  }
  sio__sbuf_appendc(&b, '}');
  int rc = b.oom ? -ENOMEM : sio__radapter_publish(r, &r->req_channel, &b);
  sio__sbuf_free(&b);
  return rc == SIO_ECLOSED ? 0 : rc; /* Redis down: the others are out of reach, as in Node */
}

int sio__radapter_add_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n) {
  return publish_change((sio__radapter *)a, RT(REMOTE_JOIN), o, rooms, n, 0);
}
int sio__radapter_del_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n) {
  return publish_change((sio__radapter *)a, RT(REMOTE_LEAVE), o, rooms, n, 0);
}
int sio__radapter_disconnect_sockets(sio_adapter *a, const sio_bcast_opts *o, int close) {
  return publish_change((sio__radapter *)a, RT(REMOTE_DISCONNECT), o, NULL, 0, close);
}

int sio__radapter_server_count(sio_adapter *a, sio_count_fn fn, void *user) {
  sio__radapter *r = (sio__radapter *)a;
  if (!r->ra) {
    fn(0, 1, user);
    return 0;
  }
  return sio__rlink_server_count(r->ra->link, 0, r->req_channel.data, r->req_channel.len, fn, user);
}

/* --- responses ------------------------------------------------------------------------------ */

static void got_fetch(ask *k, const char *t, sio__json_slice sockets) {
  sio__json_iter it;
  sio__json_slice s, v;
  sio__json_iter_init(&it, t + sockets.off, sockets.len);
  while (sio__json_iter_next(&it, &s)) {
    s.off += sockets.off;
    if (sio__wire_get_typed(t, s, "id", SIO__JSON_STRING, &v) != 1) continue;
    push_slice(k, t, v, 1);
    if (sio__wire_get(t, s, "handshake", &v))
      push_slice(k, t, v, 0);
    else
      push_str(k, "{}", 2);
    if (sio__wire_get(t, s, "data", &v))
      push_slice(k, t, v, 0);
    else
      push_str(k, "null", 4);
    size_t at = k->noffs;
    push_off(k, 0);
    sio__json_slice rooms, e;
    sio__json_iter ri;
    if (sio__wire_get_typed(t, s, "rooms", SIO__JSON_ARRAY, &rooms) == 1) {
      sio__json_iter_init(&ri, t + rooms.off, rooms.len);
      while (sio__json_iter_next(&ri, &e)) {
        e.off += rooms.off;
        if (!push_slice(k, t, e, 1) && at < k->noffs) k->offs[at]++;
      }
    }
  }
}

static void got_rooms(ask *k, const char *t, sio__json_slice rooms) {
  sio__json_iter it;
  sio__json_slice e;
  sio__sbuf name = SIO__SBUF_INIT;
  sio__json_iter_init(&it, t + rooms.off, rooms.len);
  while (sio__json_iter_next(&it, &e)) {
    e.off += rooms.off;
    sio__sbuf_reset(&name);
    if (!sio__wire_string(t, e, &name)) push_room(k, name.data ? name.data : "", name.len);
  }
  sio__sbuf_free(&name);
}

void sio__radapter_on_response(const sio__redis_message *m, void *user) {
  sio__radapter *r = user;
  if (!r->ra) return;
  sio__redis_res res;
  int rc = sio__redis_decode_response(&res, m->payload, m->len);
  const char *t = res.wire.text;
  if (rc) {
    sio__rlink_drop(r->ra->link, m, rc == -ENOMEM ? "out of memory" : "malformed response");
  } else if (!sio__radapter_ack_response(r, &res)) {
    sio__rreq *q = sio__rreq_find(&r->reqs, t + res.request_id.off + 1, res.request_id.len - 2);
    ask *k = (ask *)q;
    if (q && q->type == RT(SERVER_SIDE_EMIT) && res.type == RT(SERVER_SIDE_EMIT)) {
      if (res.value.type && res.wire.bins.n) /* a msgpack answer: its Buffers as in JSON */
        push_buffers(k, t, res.value, &res.wire.bins);
      else if (res.value.type)
        push_slice(k, t, res.value, 0);
      else
        push_str(k, "null", 4);
      k->received++;
    } else if (q && q->type == RT(REMOTE_FETCH) && res.sockets.type == SIO__JSON_ARRAY) {
      got_fetch(k, t, res.sockets);
      k->received++;
    } else if (q && q->type == RT(ALL_ROOMS) && res.rooms.type == SIO__JSON_ARRAY) {
      got_rooms(k, t, res.rooms);
      k->received++;
    }
    /* expected is known once NUMSUB answered (it is 0 before) */
    if (q && k->expected && k->received >= k->expected) sio__rreq_end(q, 0);
  }
  sio__redis_res_free(&res);
}
