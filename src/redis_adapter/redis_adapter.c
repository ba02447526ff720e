/* The classic Redis adapter (see redis_adapter.h): the public calls of sio/redis.h, the
 * factory that makes one adapter per namespace (its channels subscribed then, unsubscribed
 * when the namespace goes), the rooms and local selection of the wrapped in-memory adapter,
 * and the broadcast going out: encoded once, published once on <key>#<nsp># (or on the
 * one-room channel), as RedisAdapter.broadcast does; never for SIO_BC_LOCAL. */
#include "redis_adapter/redis_adapter.h"
#include "redis_adapter/sharded.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

/* --- the in-memory adapter underneath ------------------------------------------------------ */

static sio_adapter *mem(sio_adapter *a) {
  sio__radapter *r = (sio__radapter *)a;
  r->mem->lookup = a->lookup; /* set by the namespace after the factory returned */
  r->mem->nsp = a->nsp;
  return r->mem;
}
static const sio_adapter *cmem(const sio_adapter *a) {
  return mem((sio_adapter *)a);
}

static int r_add_all(sio_adapter *a, sio_member *m, const char *const *rooms, size_t n) {
  return mem(a)->ops->add_all(mem(a), m, rooms, n);
}
static int r_del(sio_adapter *a, sio_member *m, const char *room) {
  return mem(a)->ops->del(mem(a), m, room);
}
static void r_del_all(sio_adapter *a, sio_member *m) {
  mem(a)->ops->del_all(mem(a), m);
}
static int r_has(const sio_adapter *a, const sio_member *m, const char *room) {
  return cmem(a)->ops->has(cmem(a), m, room);
}
static void r_rooms_of(const sio_adapter *a, const sio_member *m, sio_room_name_fn fn, void *ctx) {
  cmem(a)->ops->rooms_of(cmem(a), m, fn, ctx);
}
static size_t r_room_size(const sio_adapter *a, const char *room) {
  return cmem(a)->ops->room_size(cmem(a), room);
}
static size_t r_count(const sio_adapter *a) {
  return cmem(a)->ops->count(cmem(a));
}
static void r_rooms(const sio_adapter *a, sio_room_name_fn fn, void *ctx) {
  cmem(a)->ops->rooms(cmem(a), fn, ctx);
}
static long r_select(sio_adapter *a, const sio_bcast_opts *o, sio_member_fn fn, void *ctx) {
  return mem(a)->ops->select(mem(a), o, fn, ctx);
}

/* --- helpers shared by the adapter's files -------------------------------------------------- */

void sio__radapter_flags_json(sio__sbuf *out, const sio_bcast_opts *o, int with_timeout) {
  int first = 1;
  sio__sbuf_appendc(out, '{');
  if (o->flags & SIO_BC_VOLATILE) sio__sbuf_appends(out, "\"volatile\":true"), first = 0;
  if (!(o->flags & SIO_BC_COMPRESS))
    sio__sbuf_appends(out, first ? "\"compress\":false" : ",\"compress\":false"), first = 0;
  if (with_timeout && o->timeout_ms)
    sio__sbuf_printf(out, "%s\"timeout\":%u", first ? "" : ",", (unsigned)o->timeout_ms);
  sio__sbuf_appendc(out, '}');
}

unsigned sio__radapter_flags_of(const char *text, sio__json_slice flags, uint32_t *timeout) {
  unsigned f = SIO_BC_COMPRESS;
  sio__json_slice v;
  if (timeout) *timeout = 0;
  if (flags.type != SIO__JSON_OBJECT) return f;
  if (sio__wire_get(text, flags, "volatile", &v) && v.type == SIO__JSON_TRUE) f |= SIO_BC_VOLATILE;
  if (sio__wire_get(text, flags, "compress", &v) && v.type == SIO__JSON_FALSE)
    f &= ~SIO_BC_COMPRESS;
  int64_t t;
  if (timeout && sio__wire_get_int(text, flags, "timeout", 1, UINT32_MAX, &t) == 1)
    *timeout = (uint32_t)t;
  return f;
}

int sio__radapter_names(const char *text, sio__json_slice arr, sio__sbuf *sb, const char ***v,
                        size_t *n) {
  *v = NULL, *n = 0;
  if (arr.type != SIO__JSON_ARRAY) return 0;
  sio__json_iter it;
  sio__json_slice e;
  size_t count = 0;
  sio__json_iter_init(&it, text + arr.off, arr.len);
  while (sio__json_iter_next(&it, &e)) {
    e.off += arr.off;
    if (sio__wire_string(text, e, sb) || sio__sbuf_appendc(sb, '\0')) return -ENOMEM;
    count++;
  }
  if (!count) return 0;
  const char **names = sio__calloc(count, sizeof(*names));
  if (!names) return -ENOMEM;
  const char *p = sb->data;
  for (size_t i = 0; i < count; i++, p += strlen(p) + 1) names[i] = p;
  *v = names, *n = count;
  return 0;
}

int sio__radapter_publish(sio__radapter *r, const sio__sbuf *channel, const sio__sbuf *payload) {
  if (!r->ra) return 0;
  return sio__rlink_publish(r->ra->link, 0, channel->data, channel->len, payload->data,
                            payload->len);
}

/* --- broadcast ------------------------------------------------------------------------------ */

int sio__radapter_out_init(sio__radapter_out *x, sio__radapter *r, const sio_packet *p,
                           const sio_bcast_opts *o, int with_timeout) {
  memset(x, 0, sizeof *x);
  size_t n = sio_packet_attachments(p);
  x->bins = n ? sio__calloc(n, sizeof(*x->bins)) : NULL;
  for (size_t i = 0; x->bins && i < n; i++)
    x->bins[i].data = sio_packet_attachment(p, (unsigned)i, &x->bins[i].len);
  sio__radapter_flags_json(&x->flags, o, with_timeout);
  sio__sbuf_appendc(&x->flags, '\0');
  sio__redis_out *m = &x->m;
  m->uid = r->uid, m->nsp = r->nsp_name, m->flags = x->flags.data;
  m->rooms = o->rooms, m->nrooms = o->nrooms, m->except = o->except, m->nexcept = o->nexcept;
  m->bins = x->bins, m->nbins = n;
  m->json = sio_packet_data(p, &m->json_len);
  return (n && !x->bins) || x->flags.oom ? -ENOMEM : 0;
}

void sio__radapter_out_free(sio__radapter_out *x) {
  sio__free(x->bins);
  sio__sbuf_free(&x->flags);
}

static int publish_broadcast(sio__radapter *r, const sio_packet *p, const sio_bcast_opts *o) {
  sio__sbuf msg = SIO__SBUF_INIT, channel = SIO__SBUF_INIT;
  sio__radapter_out x;
  int rc = sio__radapter_out_init(&x, r, p, o, 0);
  if (!rc) rc = sio__redis_encode_broadcast(&msg, &x.m);
  sio__sbuf_append(&channel, r->channel.data, r->channel.len);
  if (o->nrooms == 1) { /* a one-room channel: servers without that room drop it unread */
    sio__sbuf_appends(&channel, o->rooms[0]);
    sio__sbuf_appendc(&channel, '#');
  }
  if (!rc) rc = channel.oom ? -ENOMEM : sio__radapter_publish(r, &channel, &msg);
  sio__radapter_out_free(&x);
  sio__sbuf_free(&msg), sio__sbuf_free(&channel);
  return rc;
}

static long r_broadcast(sio_adapter *a, const sio_packet *p, const sio_bcast_opts *o,
                        sio_member_fn fn, void *ctx, sio_bcast_acks *acks) {
  sio__radapter *r = (sio__radapter *)a;
  if (!(o->flags & SIO_BC_LOCAL) && r->ra) {
    int rc = acks ? sio__radapter_broadcast_acks(r, p, o, acks) : publish_broadcast(r, p, o);
    if (rc && rc != SIO_ECLOSED)
      sio__warn("redis adapter: broadcast not published: %s", sio_redis_strerror(rc));
  }
  return mem(a)->ops->select(mem(a), o, fn, ctx);
}

/* --- the namespace adapter's life ----------------------------------------------------------- */

static void on_link_change(sio__rlink_watch *w, int up) {
  sio__radapter *r = sio__container_of(w, sio__radapter, watch);
  if (!up) sio__rreqs_fail_all(&r->reqs, SIO_ECLOSED); /* their answers cannot come now */
}

static void detach(sio__radapter *r) {
  if (!r->ra) return;
  sio__rlink *l = r->ra->link;
  sio__rlink_unsubscribe(l, &r->sub_bcast);
  sio__rlink_unsubscribe(l, &r->sub_req);
  sio__rlink_unsubscribe(l, &r->sub_res);
  sio__rlink_unsubscribe(l, &r->sub_res_specific);
  sio__rlink_watch_remove(&r->watch);
  sio__list_remove(&r->link);
  r->ra = NULL;
  sio__rreqs_fail_all(&r->reqs, SIO_ECLOSED);
}

static void r_destroy(sio_adapter *a) {
  sio__radapter *r = (sio__radapter *)a;
  detach(r);
  sio__rreqs_fail_all(&r->reqs, SIO_ECLOSED);
  sio__rreqs_fail_all(&r->serving, SIO_ECLOSED);
  r->mem->ops->destroy(r->mem);
  sio__sbuf_free(&r->channel), sio__sbuf_free(&r->req_channel);
  sio__sbuf_free(&r->res_channel), sio__sbuf_free(&r->res_specific);
  sio__free(r);
}

/* The server shuts down: the Redis connections (shared by the server's namespaces) stop
 * holding the loop; they still serve the namespaces until these go. */
static void r_shutdown(sio_adapter *a) {
  sio__radapter *x = (sio__radapter *)a;
  if (x->ra) sio__rlink_unref(x->ra->link);
}

static const sio_adapter_ops redis_ops = {
    .name = "redis",
    .destroy = r_destroy,
    .shutdown = r_shutdown,
    .add_all = r_add_all,
    .del = r_del,
    .del_all = r_del_all,
    .has = r_has,
    .rooms_of = r_rooms_of,
    .room_size = r_room_size,
    .count = r_count,
    .rooms = r_rooms,
    .select = r_select,
    .broadcast = r_broadcast,
    .fetch_sockets = sio__radapter_fetch_sockets,
    .add_sockets = sio__radapter_add_sockets,
    .del_sockets = sio__radapter_del_sockets,
    .disconnect_sockets = sio__radapter_disconnect_sockets,
    .server_side_emit = sio__radapter_server_side_emit,
    .server_count = sio__radapter_server_count,
    .all_rooms = sio__radapter_all_rooms,
};

static int make_channels(sio__radapter *r, const char *key) {
  const char *n = r->nsp_name;
  sio__sbuf_printf(&r->channel, "%s#%s#", key, n);
  sio__sbuf_printf(&r->req_channel, "%s-request#%s#", key, n);
  sio__sbuf_printf(&r->res_channel, "%s-response#%s#", key, n);
  sio__sbuf_printf(&r->res_specific, "%s-response#%s#%s#", key, n, r->uid);
  return r->channel.oom || r->req_channel.oom || r->res_channel.oom || r->res_specific.oom ? -ENOMEM
                                                                                           : 0;
}

static int sub(sio__radapter *r, sio__rlink_sub *s, sio__redis_sub_kind kind, const sio__sbuf *name,
               int pattern, sio__rlink_msg_fn fn) {
  s->kind = kind, s->fn = fn, s->user = r;
  sio__sbuf full = SIO__SBUF_INIT;
  sio__sbuf_append(&full, name->data, name->len);
  if (pattern) sio__sbuf_appendc(&full, '*');
  int rc = full.oom ? -ENOMEM : sio__rlink_subscribe(r->ra->link, s, full.data, full.len);
  sio__sbuf_free(&full);
  return rc;
}

static int attach(sio__radapter *r) {
  sio__list_insert_tail(&r->ra->nsps, &r->link);
  r->watch.fn = on_link_change;
  sio__rlink_watch_add(r->ra->link, &r->watch);
  int rc = sub(r, &r->sub_bcast, SIO__REDIS_PATTERN, &r->channel, 1, sio__radapter_on_broadcast);
  if (!rc)
    rc = sub(r, &r->sub_req, SIO__REDIS_CHANNEL, &r->req_channel, 0, sio__radapter_on_request);
  if (!rc)
    rc = sub(r, &r->sub_res, SIO__REDIS_CHANNEL, &r->res_channel, 0, sio__radapter_on_response);
  if (!rc)
    rc = sub(r, &r->sub_res_specific, SIO__REDIS_CHANNEL, &r->res_specific, 0,
             sio__radapter_on_response);
  return rc;
}

sio_adapter *sio_redis_adapter_factory(sio_nsp *nsp, void *arg) {
  sio_redis_adapter *ra = arg;
  if (!ra) return NULL;
  if (ra->sharded || ra->streams) return sio__sadapter_new(nsp, ra);
  sio__radapter *r = sio__calloc(1, sizeof(*r));
  if (!r) return NULL;
  r->base.ops = &redis_ops;
  r->base.nsp = nsp;
  r->ra = ra;
  r->nsp_name = sio_nsp_name(nsp);
  sio__list_init(&r->link);
  sio__list_init(&r->watch.link);
  sio__rreqs_init(&r->reqs, sio__rlink_loop(ra->link));
  sio__rreqs_init(&r->serving, sio__rlink_loop(ra->link));
  sio__rreq_make_id(r->uid);
  if (!(r->mem = sio_memory_adapter_new(nsp, NULL)) || make_channels(r, ra->key) || attach(r)) {
    if (r->mem)
      r_destroy(&r->base);
    else
      sio__free(r);
    return NULL;
  }
  return &r->base;
}

/* --- the server's adapter ------------------------------------------------------------------- */

sio_redis_adapter_opts sio_redis_adapter_opts_default(void) {
  sio_redis_adapter_opts o;
  memset(&o, 0, sizeof(o));
  o.key = "socket.io";
  o.requests_timeout_ms = 5000;
  return o;
}

/* Over Redis (url) or between workers (w). */
static int adapter_new(uv_loop_t *loop, const char *url, sio_worker *w,
                       const sio_redis_adapter_opts *opts, sio_redis_adapter **out) {
  int mode = opts->sharded ? sio__sadapter_mode_of(opts->subscription_mode) : 0;
  if (mode < 0) return mode; /* not dynamic, static nor dynamic-private */
  sio_redis_adapter *ra = sio__calloc(1, sizeof(*ra));
  if (!ra) return -ENOMEM;
  sio__list_init(&ra->nsps);
  sio__list_init(&ra->snsps);
  ra->sharded = opts->sharded != 0, ra->sub_mode = mode;
  ra->key = sio__strdup(opts->key && *opts->key ? opts->key : "socket.io");
  ra->requests_timeout_ms = opts->requests_timeout_ms ? opts->requests_timeout_ms : 5000;
  ra->specific_response = opts->publish_on_specific_response_channel != 0;
  int rc = !ra->key ? -ENOMEM
           : w      ? sio__rlink_new_local(loop, w, &ra->link)
                    : sio__rlink_new(loop, url, &ra->link);
  if (rc) {
    sio__free(ra->key);
    sio__free(ra);
    return rc;
  }
  *out = ra;
  return 0;
}

int sio_redis_adapter_new(uv_loop_t *loop, const char *url, const sio_redis_adapter_opts *opts,
                          sio_redis_adapter **out) {
  sio_redis_adapter_opts d = sio_redis_adapter_opts_default();
  if (!out) return -EINVAL;
  *out = NULL;
  if (!loop || !url) return -EINVAL;
  return adapter_new(loop, url, NULL, opts ? opts : &d, out);
}

int sio_workers_adapter_new(uv_loop_t *loop, sio_worker *w, const sio_redis_adapter_opts *opts,
                            sio_redis_adapter **out) {
  sio_redis_adapter_opts o = opts ? *opts : sio_redis_adapter_opts_default();
  if (!out) return -EINVAL;
  *out = NULL;
  if (!loop || !w) return -EINVAL;
  o.sharded = 1; /* the ClusterAdapter messages of socket.io-adapter 2.5 */
  return adapter_new(loop, NULL, w, &o, out);
}

sio_redis_streams_opts sio_redis_streams_opts_default(void) {
  sio_redis_streams_opts o;
  memset(&o, 0, sizeof(o));
  o.stream_name = "socket.io";
  o.stream_count = 1;
  o.channel_prefix = "socket.io";
  o.max_len = 10000;
  o.read_count = 100;
  o.block_time_ms = 5000;
  o.session_key_prefix = "sio:session:";
  o.requests_timeout_ms = 5000;
  return o;
}

int sio_redis_streams_adapter_new(uv_loop_t *loop, const char *url,
                                  const sio_redis_streams_opts *opts, sio_redis_adapter **out) {
  sio_redis_streams_opts d = sio_redis_streams_opts_default();
  sio_redis_adapter_opts ro = sio_redis_adapter_opts_default();
  if (!opts) opts = &d;
  if (opts->stream_count > 4096) return -EINVAL;
  ro.key = opts->channel_prefix;
  ro.requests_timeout_ms = opts->requests_timeout_ms;
  int rc = sio_redis_adapter_new(loop, url, &ro, out);
  if (!rc && (rc = sio__streams_new(*out, loop, url, opts))) {
    sio_redis_adapter_free(*out);
    *out = NULL;
  }
  return rc;
}

int sio_redis_adapter_ready(const sio_redis_adapter *ra) {
  return ra && sio__rlink_ready(ra->link) && sio__streams_ready(ra->streams);
}

const char *sio_redis_adapter_uid(const sio_redis_adapter *ra, const sio_nsp *nsp) {
  const sio__list *it;
  if (!ra) return NULL;
  sio__list_foreach(it, &ra->nsps) {
    const sio__radapter *r = sio__container_of(it, sio__radapter, link);
    if (r->base.nsp == nsp) return r->uid;
  }
  sio__list_foreach(it, &ra->snsps) {
    const sio__sadapter *s = sio__container_of(it, sio__sadapter, link);
    if (s->base.nsp == nsp) return s->uid;
  }
  return NULL;
}

void sio_redis_adapter_free(sio_redis_adapter *ra) {
  if (!ra) return;
  while (!sio__list_empty(&ra->nsps)) detach(sio__container_of(ra->nsps.next, sio__radapter, link));
  while (!sio__list_empty(&ra->snsps))
    sio__sadapter_detach(sio__container_of(ra->snsps.next, sio__sadapter, link));
  sio__rlink_free(ra->link);
  sio__streams_free(ra->streams);
  sio__free(ra->key);
  sio__free(ra);
}

const char *sio_redis_strerror(int err) {
  return sio__redis_strerror(err);
}
