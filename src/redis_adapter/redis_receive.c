/* What the classic Redis adapter receives from other servers (RedisAdapter.onmessage and
 * onrequest of @socket.io/redis-adapter 8.3), applied to this namespace and answered.
 *
 * Broadcasts: a one-room channel whose room has no local socket is dropped before decoding;
 * then our own uid and another namespace are dropped, the rest delivered to the local
 * recipients. Requests (JSON or msgpack, by the first byte): 0 SOCKETS and 1 ALL_ROOMS list
 * this node's ids or rooms; 2 REMOTE_JOIN, 3 REMOTE_LEAVE, 4 REMOTE_DISCONNECT apply to the
 * local sockets (the opts form) or to one socket by id (the legacy form, answered); 5
 * REMOTE_FETCH describes the local sockets; 6 SERVER_SIDE_EMIT runs this namespace's
 * handlers (the first answer goes back when an ack is wanted); 7 BROADCAST delivers with
 * acks: the client count (8), then each client's answer (9). Our own requests are not
 * answered: the namespace did the local part already. Anything malformed or foreign is
 * logged once per server and dropped. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/redis_adapter.h"
#include "redis_adapter/redis_requests.h"
#include "core/alloc.h"
#include "core/log.h"

#define RT(x) SIO__RR_##x

/* --- broadcasts ---------------------------------------------------------------------------- */

static int slice_is(const char *t, sio__json_slice s, const char *str) {
  return s.type == SIO__JSON_STRING && sio__json_string_eq(t + s.off, s.len, str, strlen(str));
}

/* rooms/except of a message into o; names keeps the strings. */
static int opts_of(const char *t, sio__json_slice rooms, sio__json_slice except, sio__sbuf *sb,
                   sio__sbuf *sb2, sio_bcast_opts *o) {
  const char **rv, **ev;
  int rc = sio__radapter_names(t, rooms, sb, &rv, &o->nrooms);
  if (!rc)
    rc = sio__radapter_names(t, except, sb2, &ev, &o->nexcept);
  else
    ev = NULL;
  o->rooms = rv, o->except = ev;
  return rc;
}

static void opts_free(sio_bcast_opts *o, sio__sbuf *sb, sio__sbuf *sb2) {
  sio__free((void *)o->rooms), sio__free((void *)o->except);
  sio__sbuf_free(sb), sio__sbuf_free(sb2);
}

static int room_is_local(sio__radapter *r, const char *room, size_t len) {
  char stack[256];
  char *name = len < sizeof stack ? stack : sio__strndup(room, len);
  if (!name) return 1; /* out of memory: let the selection decide */
  if (name == stack) memcpy(stack, room, len), stack[len] = '\0';
  int local = r->base.ops->room_size(&r->base, name) > 0;
  if (name != stack) sio__free(name);
  return local;
}

static void deliver(sio__radapter *r, const sio__redis_bcast *b) {
  const char *t = b->wire.text;
  sio__sbuf sb = SIO__SBUF_INIT, sb2 = SIO__SBUF_INIT;
  sio_bcast_opts o;
  memset(&o, 0, sizeof o);
  o.flags = sio__radapter_flags_of(t, b->flags, NULL);
  int rc = opts_of(t, b->rooms, b->except, &sb, &sb2, &o);
  const void **att;
  size_t *att_len;
  if (sio__mp_bins_arrays(&b->wire.bins, &att, &att_len)) rc = -ENOMEM;
  if (!rc)
    rc = sio_adapter_deliver(r->base.nsp, t + b->packet_data.off, b->packet_data.len, att, att_len,
                             (unsigned)b->wire.bins.n, &o, NULL);
  if (rc && rc != -ENOMEM) sio__debug("redis adapter: a broadcast was not delivered (%d)", rc);
  sio__free(att), sio__free(att_len);
  opts_free(&o, &sb, &sb2);
}

void sio__radapter_on_broadcast(const sio__redis_message *m, void *user) {
  sio__radapter *r = user;
  size_t pre = r->channel.len;
  if (!r->ra) return;
  /* <key>#<nsp># or <key>#<nsp>#<room># (Node reads the room as channel.slice(pre, -1)) */
  size_t room_len = m->channel_len > pre + 1 ? m->channel_len - pre - 1 : 0;
  if (m->channel_len < pre || memcmp(m->channel, r->channel.data, pre) != 0 ||
      (room_len && m->channel[m->channel_len - 1] != '#')) {
    sio__rlink_drop(r->ra->link, m, "not a broadcast channel of this namespace");
    return;
  }
  if (room_len && !room_is_local(r, m->channel + pre, room_len)) return; /* as Node: unknown room */
  sio__redis_bcast b;
  int rc = sio__redis_decode_broadcast(&b, m->payload, m->len);
  if (rc) {
    sio__rlink_drop(r->ra->link, m, rc == -ENOMEM ? "out of memory" : "malformed broadcast");
  } else if (!slice_is(b.wire.text, b.uid, r->uid)) {
    /* absent nsp means "/", as in Node */
    int same = b.nsp.type == SIO__JSON_STRING ? slice_is(b.wire.text, b.nsp, r->nsp_name)
                                              : strcmp(r->nsp_name, "/") == 0;
    if (same) deliver(r, &b);
  }
  sio__redis_bcast_free(&b);
}

/* --- answering ------------------------------------------------------------------------------ */

int sio__radapter_response_channel(sio__radapter *r, const sio__redis_req *q, sio__sbuf *ch) {
  sio__sbuf_append(ch, r->res_channel.data, r->res_channel.len);
  if (r->ra && r->ra->specific_response && q->uid.type == SIO__JSON_STRING) {
    sio__wire_string(q->wire.text, q->uid, ch);
    sio__sbuf_appendc(ch, '#');
  }
  return ch->oom ? -ENOMEM : 0;
}

/* publishResponse: on the common response channel, or the asker's own one. */
static void respond(sio__radapter *r, const sio__redis_req *q, const sio__redis_out *out) {
  sio__sbuf msg = SIO__SBUF_INIT, ch = SIO__SBUF_INIT;
  if (!sio__radapter_response_channel(r, q, &ch) && !sio__redis_encode_response(&msg, out))
    sio__radapter_publish(r, &ch, &msg);
  sio__sbuf_free(&msg), sio__sbuf_free(&ch);
}

typedef struct names_acc {
  sio__sbuf sb;
  size_t n;
} names_acc;

static int add_room_name(const char *room, size_t len, void *ctx) {
  names_acc *a = ctx;
  sio__sbuf_append(&a->sb, room, len);
  sio__sbuf_appendc(&a->sb, '\0');
  a->n++;
  return 0;
}
static void add_member_id(sio_member *m, void *ctx) {
  add_room_name(m->id, strlen(m->id), ctx);
}

/* The NUL-separated names of acc as an array (allocated) for an encoder. */
static const char **names_array(names_acc *a) {
  const char **v = sio__calloc(a->n ? a->n : 1, sizeof(*v));
  const char *p = a->sb.data;
  for (size_t i = 0; v && i < a->n; i++, p += strlen(p) + 1) v[i] = p;
  return v;
}

static void answer_names(sio__radapter *r, const sio__redis_req *q, char *rid, int sockets,
                         const sio_bcast_opts *o) {
  names_acc a = {SIO__SBUF_INIT, 0};
  if (sockets)
    r->base.ops->select(&r->base, o, add_member_id, &a);
  else
    r->base.ops->rooms(&r->base, add_room_name, &a);
  const char **v = names_array(&a);
  sio__sbuf json = SIO__SBUF_INIT;
  sio__redis_out out = {.type = sockets ? RT(SOCKETS) : RT(ALL_ROOMS), .request_id = rid};
  if (sockets) { /* {requestId, sockets: [ids]} */
    sio__wire_put_strs(&json, v, a.n);
    out.json = json.data, out.json_len = json.len;
  } else {
    out.join = v, out.njoin = a.n;
  }
  if (v && !a.sb.oom && !json.oom) respond(r, q, &out);
  sio__free(v);
  sio__sbuf_free(&json), sio__sbuf_free(&a.sb);
}

typedef struct fetch_ctx {
  sio__radapter *r;
  const sio__redis_req *q;
  char *rid;
} fetch_ctx;

static void described(int status, const sio_remote_socket *s, size_t n, void *user) {
  fetch_ctx *c = user;
  sio__sbuf j = SIO__SBUF_INIT;
  sio__radapter_put_sockets(&j, s, n);
  sio__redis_out out = {.type = RT(REMOTE_FETCH), .request_id = c->rid};
  out.json = j.data, out.json_len = j.len;
  if (!status && !j.oom) respond(c->r, c->q, &out);
  sio__sbuf_free(&j);
}

typedef struct sse_reply {
  sio__radapter *r;
  char *rid;
} sse_reply;

/* The handler's answer: {type: 6, requestId, data} on the common response channel (Node
 * publishes it there whatever publishOnSpecificResponseChannel says). */
static void sse_answer(const char *json, size_t len, void *user) {
  sse_reply *s = user;
  sio__sbuf msg = SIO__SBUF_INIT;
  sio__redis_out out = {
      .type = RT(SERVER_SIDE_EMIT), .request_id = s->rid, .json = json, .json_len = len};
  if (!sio__redis_encode_response(&msg, &out))
    sio__radapter_publish(s->r, &s->r->res_channel, &msg);
  sio__sbuf_free(&msg);
}

/* The legacy one-socket form of 2-4 ({requestId, sid, room | close}), answered {requestId}. */
static void legacy(sio__radapter *r, const sio__redis_req *q, char *rid) {
  const char *t = q->wire.text;
  sio__sbuf sid = SIO__SBUF_INIT, room = SIO__SBUF_INIT;
  sio__wire_string(t, q->sid, &sid), sio__sbuf_appendc(&sid, '\0');
  if (q->type != RT(REMOTE_DISCONNECT)) sio__wire_string(t, q->room, &room);
  sio__sbuf_appendc(&room, '\0');
  sio_socket *s = sid.oom || room.oom ? NULL : sio_nsp_socket(r->base.nsp, sid.data);
  if (s) {
    sio__redis_out out = {.type = q->type, .request_id = rid};
    if (q->type == RT(REMOTE_JOIN)) sio_join(s, room.data);
    if (q->type == RT(REMOTE_LEAVE)) sio_leave(s, room.data);
    respond(r, q, &out); /* before a disconnect, which may free r's namespace's socket */
    if (q->type == RT(REMOTE_DISCONNECT)) sio_disconnect(s, q->close == 1);
  }
  sio__sbuf_free(&sid), sio__sbuf_free(&room);
}

static void apply(sio__radapter *r, const sio__redis_req *q, char *rid) {
  const char *t = q->wire.text;
  sio__sbuf sb = SIO__SBUF_INIT, sb2 = SIO__SBUF_INIT, sb3 = SIO__SBUF_INIT;
  sio_bcast_opts o;
  memset(&o, 0, sizeof o);
  const char **target = NULL;
  size_t ntarget = 0;
  int rc = opts_of(t, q->rooms, q->except, &sb, &sb2, &o);
  if (!rc) rc = sio__radapter_names(t, q->target, &sb3, &target, &ntarget);
  if (rc) goto done;
  sio_nsp *nsp = r->base.nsp;
  switch (q->type) {
  case RT(SOCKETS):
    o.rooms = target, o.nrooms = ntarget; /* {rooms}: no opts */
    answer_names(r, q, rid, 1, &o);
    o.rooms = NULL, o.nrooms = 0;
    break;
  case RT(ALL_ROOMS):
    answer_names(r, q, rid, 0, &o);
    break;
  case RT(REMOTE_JOIN):
    sio_adapter_apply_join(nsp, &o, target, ntarget);
    break;
  case RT(REMOTE_LEAVE):
    sio_adapter_apply_leave(nsp, &o, target, ntarget);
    break;
  case RT(REMOTE_DISCONNECT):
    sio_adapter_apply_disconnect(nsp, &o, q->close == 1);
    break;
  case RT(REMOTE_FETCH): {
    fetch_ctx c = {r, q, rid};
    sio_adapter_describe_sockets(nsp, &o, described, &c);
    break;
  }
  case RT(BROADCAST):
    o.flags = sio__radapter_flags_of(t, q->flags, &o.timeout_ms);
    sio__radapter_serve_broadcast(r, q, rid, &o);
    break;
  }
done:
  sio__free(target);
  sio__sbuf_free(&sb3);
  opts_free(&o, &sb, &sb2);
}

static void serve(sio__radapter *r, const sio__redis_req *q) {
  const char *t = q->wire.text;
  sio__sbuf id = SIO__SBUF_INIT;
  if (q->request_id.type == SIO__JSON_STRING) sio__wire_string(t, q->request_id, &id);
  sio__sbuf_appendc(&id, '\0');
  char *rid = q->request_id.type == SIO__JSON_STRING ? id.data : NULL;
  int own_uid = slice_is(t, q->uid, r->uid);
  int own_id = rid && sio__rreq_find(&r->reqs, rid, strlen(rid)); /* our request, echoed */
  int legacy_form = q->type >= RT(REMOTE_JOIN) && q->type <= RT(REMOTE_DISCONNECT) && !q->has_opts;
  if (id.oom || own_id || own_uid) {
    /* ours: done here already */
  } else if (q->type == RT(SERVER_SIDE_EMIT)) {
    sse_reply s = {r, rid};
    const void **att;
    size_t *att_len;
    if (!sio__mp_bins_arrays(&q->wire.bins, &att, &att_len))
      sio_adapter_server_side_deliver(r->base.nsp, t + q->data.off, q->data.len, att, att_len,
                                      (unsigned)q->wire.bins.n, rid ? sse_answer : NULL, &s);
    sio__free(att), sio__free(att_len);
  } else if (legacy_form) {
    legacy(r, q, rid);
  } else {
    apply(r, q, rid);
  }
  sio__sbuf_free(&id);
}

void sio__radapter_on_request(const sio__redis_message *m, void *user) {
  sio__radapter *r = user;
  if (!r->ra) return;
  sio__redis_req q;
  int rc = sio__redis_decode_request(&q, m->payload, m->len);
  if (rc)
    sio__rlink_drop(r->ra->link, m, rc == -ENOMEM ? "out of memory" : "malformed request");
  else
    serve(r, &q);
  sio__redis_req_free(&q);
}
