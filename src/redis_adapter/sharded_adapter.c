/* The sharded Redis adapter (see sharded.h): the factory, the rooms of the wrapped in-memory
 * adapter and the room channels they open, the broadcast going out, and the dispatch of what
 * Redis delivers.
 *
 * Room channels (ShardedRedisAdapter's create-room / delete-room): in the dynamic mode a room
 * created here that is not a socket id of this server is SSUBSCRIBEd as <key>#<nsp>#<room>#
 * and unsubscribed when its last local member leaves; dynamic-private does the same for every
 * room, socket ids included; static subscribes the two fixed channels only.
 *
 * A broadcast is published once (never for SIO_BC_LOCAL): on the room's channel when it has
 * exactly one room, no ack is asked and the mode allows (dynamic: the room does not look like
 * a socket id, 20 characters; dynamic-private: any), else on the main channel (computeChannel).
 * Messages come as JSON or msgpack (the first byte); one on our response channel is a
 * response, the rest go to sharded_receive.c after Node's checks (not ours, our namespace). */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/streams_entry.h"
#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"

/* --- the in-memory adapter underneath ------------------------------------------------------ */

static sio_adapter *mem(sio_adapter *a) {
  sio__sadapter *s = (sio__sadapter *)a;
  s->mem->lookup = a->lookup; /* set by the namespace after the factory returned */
  s->mem->nsp = a->nsp;
  return s->mem;
}
static const sio_adapter *cmem(const sio_adapter *a) {
  return mem((sio_adapter *)a);
}

static int s_has(const sio_adapter *a, const sio_member *m, const char *room) {
  return cmem(a)->ops->has(cmem(a), m, room);
}
static void s_rooms_of(const sio_adapter *a, const sio_member *m, sio_room_name_fn fn, void *ctx) {
  cmem(a)->ops->rooms_of(cmem(a), m, fn, ctx);
}
static size_t s_room_size(const sio_adapter *a, const char *room) {
  return cmem(a)->ops->room_size(cmem(a), room);
}
static size_t s_count(const sio_adapter *a) {
  return cmem(a)->ops->count(cmem(a));
}
static void s_rooms(const sio_adapter *a, sio_room_name_fn fn, void *ctx) {
  cmem(a)->ops->rooms(cmem(a), fn, ctx);
}
static long s_select(sio_adapter *a, const sio_bcast_opts *o, sio_member_fn fn, void *ctx) {
  sio__sadapter *s = (sio__sadapter *)a;
  mem(a);
  if (s->cur_off && s->restored.count) return sio__streams_select(s, o, fn, ctx);
  return s->mem->ops->select(s->mem, o, fn, ctx);
}

/* The ClusterAdapter has no allRooms: this server's rooms. */
static int s_all_rooms(sio_adapter *a, uint32_t timeout_ms, sio_names_fn fn, void *user) {
  return mem(a)->ops->all_rooms(mem(a), timeout_ms, fn, user);
}

/* --- room channels -------------------------------------------------------------------------- */

static void on_raw(const sio__redis_message *m, void *user);

/* shouldUseASeparateNamespace: a public room (no socket id of this server), or any room in
 * dynamic-private. */
static int wants_channel(sio__sadapter *s, const sio_member *m, const char *room) {
  if (s->mode == SIO__SUB_DYNAMIC_PRIVATE) return 1;
  if (s->mode == SIO__SUB_STATIC) return 0;
  if (m && m->id && strcmp(m->id, room) == 0) return 0;
  return !(s->base.lookup && s->base.nsp && s->base.lookup(s->base.nsp, room));
}

static int room_sub_add(sio__sadapter *s, const char *room) {
  size_t len = strlen(room);
  if (!s->ra || sio__map_get(&s->room_subs, room, len)) return 0;
  sio__rlink_sub *sub = sio__calloc(1, sizeof(*sub));
  sio__sbuf ch = SIO__SBUF_INIT;
  sio__sbuf_append(&ch, s->channel.data, s->channel.len);
  sio__sbuf_appends(&ch, room);
  sio__sbuf_appendc(&ch, '#');
  int rc = !sub || ch.oom ? -ENOMEM : 0;
  if (!rc) {
    sub->kind = SIO__REDIS_SHARD, sub->fn = on_raw, sub->user = s;
    rc = sio__rlink_subscribe(s->ra->link, sub, ch.data, ch.len);
  }
  if (!rc && sio__map_put(&s->room_subs, room, len, sub)) {
    sio__rlink_unsubscribe(s->ra->link, sub);
    rc = -ENOMEM;
  }
  if (rc) sio__free(sub);
  sio__sbuf_free(&ch);
  return rc;
}

static void room_sub_drop(sio__sadapter *s, const char *room, size_t len) {
  sio__rlink_sub *sub = sio__map_get(&s->room_subs, room, len);
  if (!sub) return;
  sio__map_del(&s->room_subs, room, len);
  sio__rlink_unsubscribe(s->ra ? s->ra->link : NULL, sub);
  sio__free(sub);
}

static void room_gone_if_empty(sio__sadapter *s, const char *room, size_t len) {
  char stack[256];
  char *name = len < sizeof stack ? stack : sio__strndup(room, len);
  if (!name) return;
  if (name == stack) memcpy(stack, room, len), stack[len] = '\0';
  if (s_room_size(&s->base, name) == 0) room_sub_drop(s, name, len);
  if (name != stack) sio__free(name);
}

static int s_add_all(sio_adapter *a, sio_member *m, const char *const *rooms, size_t n) {
  sio__sadapter *s = (sio__sadapter *)a;
  int rc = mem(a)->ops->add_all(mem(a), m, rooms, n);
  for (size_t i = 0; !rc && s->mode != SIO__SUB_STATIC && i < n; i++)
    if (wants_channel(s, m, rooms[i]) && room_sub_add(s, rooms[i]))
      sio__warn("redis adapter: room %s: its channel is not subscribed (out of memory)", rooms[i]);
  return rc;
}

static int s_del(sio_adapter *a, sio_member *m, const char *room) {
  sio__sadapter *s = (sio__sadapter *)a;
  int rc = mem(a)->ops->del(mem(a), m, room);
  if (s->room_subs.count) room_gone_if_empty(s, room, strlen(room));
  return rc;
}

static int collect_room(const char *room, size_t len, void *ctx) {
  sio__sbuf *b = ctx;
  sio__sbuf_append(b, room, len);
  sio__sbuf_appendc(b, '\0');
  return 0;
}

static void s_del_all(sio_adapter *a, sio_member *m) {
  sio__sadapter *s = (sio__sadapter *)a;
  sio__sbuf names = SIO__SBUF_INIT;
  if (s->room_subs.count) mem(a)->ops->rooms_of(mem(a), m, collect_room, &names);
  mem(a)->ops->del_all(mem(a), m);
  for (size_t at = 0; !names.oom && at < names.len;) {
    size_t len = strlen(names.data + at);
    room_gone_if_empty(s, names.data + at, len);
    at += len + 1;
  }
  sio__sbuf_free(&names);
}

/* --- going out ------------------------------------------------------------------------------ */

void sio__sadapter_out_init(sio__sadapter *s, sio__cluster_out *m, int type,
                            const sio_bcast_opts *o, sio__sbuf *flags) {
  memset(m, 0, sizeof(*m));
  m->type = type, m->uid = s->uid, m->nsp = s->nsp_name, m->close = -1;
  m->msgpack = !sio__sadapter_shard(s); /* the streams adapter's pub/sub: msgpack.encode */
  if (!o) return;
  m->rooms = o->rooms, m->nrooms = o->nrooms, m->except = o->except, m->nexcept = o->nexcept;
  sio__radapter_flags_json(flags, o, 1);
  sio__sbuf_appendc(flags, '\0');
  m->flags = flags->oom ? NULL : flags->data;
}

sio__mp_bin *sio__sadapter_bins(const sio_packet *p, size_t *n) {
  *n = sio_packet_attachments(p);
  if (!*n) return NULL;
  sio__mp_bin *b = sio__calloc(*n, sizeof(*b));
  for (size_t i = 0; b && i < *n; i++) b[i].data = sio_packet_attachment(p, (unsigned)i, &b[i].len);
  return b;
}

/* computeChannel: the room's own channel for a plain broadcast to one room. */
static int room_channel(const sio__sadapter *s, const sio__cluster_out *m) {
  if (m->type != SIO__CM_BROADCAST || m->request_id || m->nrooms != 1) return 0;
  if (s->mode == SIO__SUB_DYNAMIC_PRIVATE) return 1;
  return s->mode == SIO__SUB_DYNAMIC && strlen(m->rooms[0]) != 20; /* looksLikeASocketId */
}

int sio__sadapter_publish(sio__sadapter *s, const sio__cluster_out *m, const char *to_uid) {
  if (!s->ra) return 0;
  if (s->ra->streams && !to_uid && !sio__streams_ephemeral(m))
    return sio__streams_xadd(s, m, NULL, NULL);
  sio__sbuf msg = SIO__SBUF_INIT, ch = SIO__SBUF_INIT;
  int rc = sio__cluster_encode(&msg, m);
  sio__sbuf_append(&ch, s->channel.data, s->channel.len);
  if (to_uid || room_channel(s, m)) {
    sio__sbuf_appends(&ch, to_uid ? to_uid : m->rooms[0]);
    sio__sbuf_appendc(&ch, '#');
  }
  if (!rc)
    rc = ch.oom ? -ENOMEM
                : sio__rlink_publish(s->ra->link, sio__sadapter_shard(s), ch.data, ch.len, msg.data,
                                     msg.len);
  sio__sbuf_free(&msg), sio__sbuf_free(&ch);
  return rc;
}

int sio__sadapter_send(sio__sadapter *s, const sio__sbuf *msg) {
  if (!s->ra) return SIO_ECLOSED;
  return sio__rlink_publish(s->ra->link, sio__sadapter_shard(s), s->channel.data, s->channel.len,
                            msg->data, msg->len);
}

static int publish_broadcast(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o) {
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio_bcast_opts plain = *o;
  plain.timeout_ms = 0; /* flags.timeout only with acks */
  sio__sadapter_out_init(s, &m, SIO__CM_BROADCAST, &plain, &flags);
  m.bins = sio__sadapter_bins(p, &m.nbins);
  m.json = sio_packet_data(p, &m.json_len);
  int rc = (m.nbins && !m.bins) || !m.flags ? -ENOMEM : sio__sadapter_publish(s, &m, NULL);
  sio__free((void *)m.bins);
  sio__sbuf_free(&flags);
  return rc;
}

static long s_broadcast(sio_adapter *a, const sio_packet *p, const sio_bcast_opts *o,
                        sio_member_fn fn, void *ctx, sio_bcast_acks *acks) {
  sio__sadapter *s = (sio__sadapter *)a;
  if ((o->flags & SIO_BC_STORE) && !(o->flags & SIO_BC_LOCAL) && !acks && s->ra && s->ra->streams)
    return sio__streams_broadcast_stored(s, p, o); /* delivered here once the id is known */
  if (!(o->flags & SIO_BC_LOCAL) && s->ra) {
    int rc = acks ? sio__sadapter_broadcast_acks(s, p, o, acks) : publish_broadcast(s, p, o);
    if (rc && rc != SIO_ECLOSED)
      sio__warn("redis adapter: broadcast not published: %s", sio_redis_strerror(rc));
  }
  return mem(a)->ops->select(mem(a), o, fn, ctx);
}

/* --- coming in ------------------------------------------------------------------------------ */

static int slice_is(const char *t, sio__json_slice v, const char *str) {
  return v.type == SIO__JSON_STRING && sio__json_string_eq(t + v.off, v.len, str, strlen(str));
}

static int is_response(int type) {
  return type == SIO__CM_FETCH_SOCKETS_RESPONSE || type == SIO__CM_SERVER_SIDE_EMIT_RESPONSE ||
         type == SIO__CM_BROADCAST_CLIENT_COUNT || type == SIO__CM_BROADCAST_ACK;
}

void sio__sadapter_dispatch(sio__sadapter *s, const sio__cluster_msg *m,
                            const sio__redis_message *raw, int response, const char *offset,
                            size_t offset_len) {
  const char *t = m->wire.text;
  if (offset && s->restored.count) sio__streams_prune_restored(s, offset, offset_len);
  if (response) {
    sio__sadapter_on_response(s, m); /* onResponse: no check of uid or nsp, as Node */
  } else if (!slice_is(t, m->uid, s->uid) && slice_is(t, m->nsp, s->nsp_name)) {
    if (is_response(m->type)) {
      sio__sadapter_on_response(s, m);
    } else {
      s->cur_off = offset, s->cur_off_len = offset_len; /* onMessage(message, offset) */
      sio__sadapter_on_message(s, m, raw);
      s->cur_off = NULL, s->cur_off_len = 0;
    }
  }
}

static void on_raw(const sio__redis_message *raw, void *user) {
  sio__sadapter *s = user;
  if (!s->ra) return;
  sio__cluster_msg m;
  int rc = sio__cluster_decode(&m, raw->payload, raw->len);
  if (rc)
    sio__rlink_drop(s->ra->link, raw, rc == -ENOMEM ? "out of memory" : "malformed message");
  else
    sio__sadapter_dispatch(s, &m, raw,
                           raw->channel_len == s->response.len &&
                               memcmp(raw->channel, s->response.data, raw->channel_len) == 0,
                           NULL, 0);
  sio__cluster_msg_free(&m);
}

/* --- the namespace adapter's life ----------------------------------------------------------- */

static void on_link_change(sio__rlink_watch *w, int up) {
  sio__sadapter *s = sio__container_of(w, sio__sadapter, watch);
  if (!up) {
    sio__rreqs_fail_all(&s->reqs, SIO_ECLOSED); /* their answers cannot come now */
  } else if (s->ra && !s->ra->streams && sio__rlink_has_sharded(s->ra->link) == 0 &&
             !s->ra->noshard_logged) {
    s->ra->noshard_logged = 1;
    sio__error("redis adapter: the sharded adapter needs Redis >= 7.0 (SSUBSCRIBE, SPUBLISH); "
               "the server is %s: this server's namespaces work locally only",
               sio__rlink_server_version(s->ra->link));
  }
}

void sio__sadapter_detach(sio__sadapter *s) {
  if (!s->ra) return;
  sio__rlink *l = s->ra->link;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&s->room_subs, &i))) {
    sio__rlink_unsubscribe(l, e->value);
    sio__free(e->value);
  }
  sio__map_free(&s->room_subs);
  sio__rlink_unsubscribe(l, &s->sub_main);
  sio__rlink_unsubscribe(l, &s->sub_response);
  sio__rlink_watch_remove(&s->watch);
  sio__list_remove(&s->link);
  s->ra = NULL;
  sio__rreqs_fail_all(&s->reqs, SIO_ECLOSED);
}

static void s_destroy(sio_adapter *a) {
  sio__sadapter *s = (sio__sadapter *)a;
  sio__streams_pending_cancel(s);
  sio__sadapter_detach(s);
  sio__rreqs_fail_all(&s->reqs, SIO_ECLOSED);
  sio__rreqs_fail_all(&s->serving, SIO_ECLOSED);
  s->mem->ops->destroy(s->mem);
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&s->restored, &i))) sio__free(e->value);
  sio__map_free(&s->restored);
  sio__sbuf_free(&s->channel), sio__sbuf_free(&s->response), sio__sbuf_free(&s->stream);
  sio__free(s);
}

/* The server shuts down: the Redis connections (shared by the server's namespaces) stop
 * holding the loop; they still serve the namespaces until these go. */
static void s_shutdown(sio_adapter *a) {
  sio__sadapter *x = (sio__sadapter *)a;
  if (x->ra) sio__rlink_unref(x->ra->link);
  if (x->ra) sio__streams_unref(x->ra->streams);
}

/* The ops both adapters share: the ClusterAdapter over the in-memory adapter. */
#define SHARDED_OPS                                                                                \
  .destroy = s_destroy, .shutdown = s_shutdown, .add_all = s_add_all, .del = s_del,                \
  .del_all = s_del_all, .has = s_has, .rooms_of = s_rooms_of, .room_size = s_room_size,            \
  .count = s_count, .rooms = s_rooms, .select = s_select, .broadcast = s_broadcast,                \
  .fetch_sockets = sio__sadapter_fetch_sockets, .add_sockets = sio__sadapter_add_sockets,          \
  .del_sockets = sio__sadapter_del_sockets,                                                        \
  .disconnect_sockets = sio__sadapter_disconnect_sockets,                                          \
  .server_side_emit = sio__sadapter_server_side_emit, .server_count = sio__sadapter_server_count,  \
  .all_rooms = s_all_rooms

static const sio_adapter_ops sharded_ops = {
    .name = "redis-sharded",
    SHARDED_OPS,
};

/* The Redis Streams adapter's: the same, and connection state recovery (Node's
 * RedisStreamsAdapter has persistSession / restoreSession; the sharded adapter has not). */
static const sio_adapter_ops streams_ops = {
    .name = "redis-streams",
    SHARDED_OPS,
    .persist_session = sio__streams_persist,
    .restore_session = sio__streams_restore,
    .last_offset = sio__streams_last_offset,
};

static void make_uid(char *out) {
  unsigned char raw[SIO__SADAPTER_UID_LEN / 2];
  static const char hex[] = "0123456789abcdef";
  if (sio__random_bytes(raw, sizeof raw)) memset(raw, 0, sizeof raw);
  for (size_t i = 0; i < sizeof raw; i++)
    out[2 * i] = hex[raw[i] >> 4], out[2 * i + 1] = hex[raw[i] & 15];
  out[SIO__SADAPTER_UID_LEN] = '\0';
}

static int subscribe_fixed(sio__sadapter *s) {
  sio__rlink *l = s->ra->link;
  s->sub_main.kind = s->sub_response.kind =
      sio__sadapter_shard(s) ? SIO__REDIS_SHARD : SIO__REDIS_CHANNEL;
  s->sub_main.fn = s->sub_response.fn = on_raw;
  s->sub_main.user = s->sub_response.user = s;
  int rc = sio__rlink_subscribe(l, &s->sub_main, s->channel.data, s->channel.len);
  if (!rc) rc = sio__rlink_subscribe(l, &s->sub_response, s->response.data, s->response.len);
  if (rc == SIO__REDIS_ENOSHARD) { /* a server known to be older than 7.0: local only */
    sio__error("redis adapter: namespace %s: sharded pub/sub needs Redis >= 7.0 (the server is "
               "%s); it works locally only",
               s->nsp_name, sio__rlink_server_version(l));
    rc = 0;
  }
  return rc;
}

sio_adapter *sio__sadapter_new(sio_nsp *nsp, sio_redis_adapter *ra) {
  sio__sadapter *s = sio__calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->base.ops = ra->streams ? &streams_ops : &sharded_ops;
  s->base.nsp = nsp;
  s->ra = ra;
  s->mode = ra->streams ? SIO__SUB_STATIC : ra->sub_mode; /* streams: no room channels */
  s->nsp_name = sio_nsp_name(nsp);
  sio__list_init(&s->link);
  sio__list_init(&s->watch.link);
  sio__list_init(&s->pending);
  sio__rreqs_init(&s->reqs, sio__rlink_loop(ra->link));
  sio__rreqs_init(&s->serving, sio__rlink_loop(ra->link));
  make_uid(s->uid);
  if (!(s->mem = sio_memory_adapter_new(nsp, NULL))) {
    sio__free(s);
    return NULL;
  }
  sio__sbuf_printf(&s->channel, "%s#%s#", ra->key, s->nsp_name);
  sio__sbuf_printf(&s->response, "%s#%s#%s#", ra->key, s->nsp_name, s->uid);
  if (ra->streams) {
    unsigned count;
    const char *name = sio__streams_name(ra->streams, &count);
    if (sio__stream_name(&s->stream, name, count, s->nsp_name)) s->stream.oom = 1;
    sio__sbuf_appendc(&s->stream, '\0'); /* a C string too */
    if (!s->stream.oom) s->stream.len--;
  }
  sio__list_insert_tail(&ra->snsps, &s->link);
  s->watch.fn = on_link_change;
  sio__rlink_watch_add(ra->link, &s->watch);
  if (s->channel.oom || s->response.oom || s->stream.oom || subscribe_fixed(s)) {
    s_destroy(&s->base);
    return NULL;
  }
  return &s->base;
}

int sio__sadapter_mode_of(const char *name) {
  if (!name || !strcmp(name, "dynamic")) return SIO__SUB_DYNAMIC;
  if (!strcmp(name, "static")) return SIO__SUB_STATIC;
  if (!strcmp(name, "dynamic-private")) return SIO__SUB_DYNAMIC_PRIVATE;
  return -EINVAL;
}
