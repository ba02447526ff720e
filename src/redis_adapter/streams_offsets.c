/* Offsets of the Redis Streams adapter, for connection state recovery (sio/recovery.h; Node:
 * socket.io-adapter 2.5 ClusterAdapter.broadcast and addOffsetIfNecessary, with
 * @socket.io/redis-streams-adapter 0.3 whose publishAndReturnOffset is the XADD).
 *
 * - A broadcast the namespace stores (SIO_BC_STORE) is XADDed, and the local recipients get it
 *   when Redis answers, with the entry id appended to its data: Node awaits the XADD, pushes
 *   the id onto packet.data, then runs the in-memory broadcast. When the XADD fails, Node
 *   broadcasts without an offset; so does this. The recipients are selected at that moment.
 * - A broadcast of another server read from the stream gets its entry id appended when Node's
 *   addOffsetIfNecessary would add it: recovery on, an EVENT without ack id, not volatile.
 * - A restore (streams_session.c) replays the entries up to some id X, then the socket joins
 *   its rooms; the stream reader, on another connection, was held meanwhile and then delivers
 *   what it had not dispatched, some of it up to X: s->restored remembers X per restored
 *   socket, and the selection of an entry at or before X leaves that socket out (exactly
 *   once). Entries past X reach it live.
 *   Own broadcasts need no filter: their XADD and the restore's XRANGE share one connection,
 *   so Redis answers them in the order it ran them. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/streams_entry.h"
#include "core/alloc.h"
#include "core/log.h"
#include "sio/recovery.h"

typedef struct stored {
  sio__spending p;
  sio__sbuf data;  /* the data array */
  sio__sbuf names; /* rooms, then except, each NUL-terminated */
  size_t nrooms, nexcept;
  unsigned flags;
  sio__sbuf att;   /* the attachments, one after the other */
  size_t *att_len; /* natt of them */
  unsigned natt;
} stored;

static void stored_free(stored *p) {
  sio__sbuf_free(&p->data), sio__sbuf_free(&p->names), sio__sbuf_free(&p->att);
  sio__free(p->att_len);
  sio__free(p);
}

/* The data array with `,"<id>"` before its closing bracket. */
static int append_offset(sio__sbuf *out, const char *data, size_t len, const char *id,
                         size_t id_len) {
  if (len < 2 || data[len - 1] != ']') return -EINVAL;
  sio__sbuf_append(out, data, len - 1);
  if (len > 2) sio__sbuf_appendc(out, ',');
  sio__sbuf_appendc(out, '"');
  sio__sbuf_append(out, id, id_len);
  sio__sbuf_append(out, "\"]", 2);
  return out->oom ? -ENOMEM : 0;
}

static void deliver(stored *p, const char *id, size_t id_len, sio__sadapter *s) {
  const char **v = sio__malloc((p->nrooms + p->nexcept + 1) * sizeof(*v));
  const void **att = sio__malloc((p->natt + 1) * sizeof(*att));
  sio__sbuf with_off = SIO__SBUF_INIT;
  size_t at = 0;
  if (!v || !att) {
    sio__warn("redis streams adapter: a stored broadcast was not delivered (out of memory)");
    sio__free(v), sio__free(att);
    return;
  }
  for (size_t i = 0; i < p->nrooms + p->nexcept; i++) {
    v[i] = p->names.data + at;
    at += strlen(v[i]) + 1;
  }
  at = 0;
  for (unsigned i = 0; i < p->natt; i++) att[i] = p->att.data + at, at += p->att_len[i];
  sio_bcast_opts o = {v, p->nrooms, v + p->nrooms, p->nexcept, p->flags & ~SIO_BC_STORE, 0};
  const char *data = p->data.data;
  size_t len = p->data.len;
  if (id && append_offset(&with_off, data, len, id, id_len) == 0)
    data = with_off.data, len = with_off.len;
  int rc = sio_adapter_deliver(s->base.nsp, data, len, att, p->att_len, p->natt, &o, NULL);
  if (rc && rc != SIO_ECLOSED)
    sio__debug("redis streams adapter: a stored broadcast was not delivered (%d)", rc);
  sio__sbuf_free(&with_off);
  sio__free(v), sio__free(att);
}

static void on_xadd(sio__redis *c, int status, const redisReply *r, void *user) {
  (void)c;
  stored *p = user;
  sio__sadapter *s = p->p.s;
  if (s) {
    sio__list_remove(&p->p.link);
    int ok = status == 0 && r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
             sio__stream_id_valid(r->str, r->len);
    if (!ok && status != SIO_ECLOSED)
      sio__warn("redis streams adapter: XADD failed (%s): broadcast without offset",
                status == SIO__REDIS_EREPLY && r ? r->str : sio_redis_strerror(status));
    deliver(p, ok ? r->str : NULL, ok ? r->len : 0, s);
  }
  stored_free(p);
}

long sio__streams_broadcast_stored(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o) {
  stored *x = sio__calloc(1, sizeof(*x));
  sio__sbuf flags = SIO__SBUF_INIT;
  sio__cluster_out m;
  sio_bcast_opts plain = *o;
  size_t len;
  int rc = x ? 0 : -ENOMEM;
  plain.timeout_ms = 0;
  plain.flags &= ~SIO_BC_STORE;
  if (!rc) {
    const char *data = sio_packet_data(p, &len);
    sio__sbuf_append(&x->data, data, len);
    for (size_t i = 0; i < o->nrooms; i++)
      sio__sbuf_append(&x->names, o->rooms[i], strlen(o->rooms[i]) + 1);
    for (size_t i = 0; i < o->nexcept; i++)
      sio__sbuf_append(&x->names, o->except[i], strlen(o->except[i]) + 1);
    x->nrooms = o->nrooms, x->nexcept = o->nexcept, x->flags = plain.flags;
    x->natt = sio_packet_attachments(p);
    if (x->natt && !(x->att_len = sio__calloc(x->natt, sizeof(size_t)))) rc = -ENOMEM;
    for (unsigned i = 0; !rc && i < x->natt; i++) {
      const void *b = sio_packet_attachment(p, i, &x->att_len[i]);
      sio__sbuf_append(&x->att, b, x->att_len[i]);
    }
    if (x->data.oom || x->names.oom || x->att.oom) rc = -ENOMEM;
  }
  if (rc) {
    if (x) stored_free(x);
    return rc;
  }
  x->p.s = s;
  sio__list_insert_tail(&s->pending, &x->p.link);
  sio__sadapter_out_init(s, &m, SIO__CM_BROADCAST, &plain, &flags);
  m.bins = sio__sadapter_bins(p, &m.nbins);
  m.json = sio_packet_data(p, &m.json_len);
  rc = (m.nbins && !m.bins) || !m.flags ? -ENOMEM : sio__streams_xadd(s, &m, on_xadd, x);
  sio__free((void *)m.bins);
  sio__sbuf_free(&flags);
  if (rc) { /* not sent, on_xadd not called: delivered now, without offset (as Node) */
    sio__warn("redis streams adapter: broadcast not published: %s", sio_redis_strerror(rc));
    sio__list_remove(&x->p.link);
    deliver(x, NULL, 0, s);
    stored_free(x);
  }
  return 0;
}

/* --- broadcasts of other servers ---------------------------------------------------------- */

int sio__streams_remote_data(sio__sadapter *s, const sio__cluster_msg *m, const sio_bcast_opts *o,
                             sio__sbuf *out) {
  const struct sio_recovery_opts *rec = s->base.recovery;
  const char *t = m->wire.text;
  int64_t type = -1, id = -1;
  if (!rec || !rec->enabled || !s->cur_off || (o->flags & SIO_BC_VOLATILE)) return 0;
  if (sio__wire_get_int(t, m->packet, "type", 0, 100, &type) != 1 || type != 2) return 0;
  if (sio__wire_get_int(t, m->packet, "id", INT64_MIN, INT64_MAX, &id) != 0) return 0;
  int rc =
      append_offset(out, t + m->packet_data.off, m->packet_data.len, s->cur_off, s->cur_off_len);
  return rc == -ENOMEM ? rc : rc == 0;
}

/* --- sockets restored from the stream ----------------------------------------------------- */

typedef struct filter {
  sio__sadapter *s;
  sio__stream_id cur;
  sio_member_fn fn;
  void *ctx;
} filter;

static void filtered(sio_member *mem, void *ctxp) {
  filter *f = ctxp;
  const sio__stream_id *upto =
      mem->id ? sio__map_get(&f->s->restored, mem->id, strlen(mem->id)) : NULL;
  if (upto && sio__stream_id_cmp(f->cur, *upto) <= 0) return; /* replayed by its restore */
  f->fn(mem, f->ctx);
}

long sio__streams_select(sio__sadapter *s, const sio_bcast_opts *o, sio_member_fn fn, void *ctx) {
  filter f = {s, {0, 0}, fn, ctx};
  if (sio__stream_id_parse(s->cur_off, s->cur_off_len, &f.cur))
    return s->mem->ops->select(s->mem, o, fn, ctx);
  return s->mem->ops->select(s->mem, o, filtered, &f);
}

void sio__streams_prune_restored(sio__sadapter *s, const char *id, size_t len) {
  sio__stream_id cur;
  if (sio__stream_id_parse(id, len, &cur)) return;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&s->restored, &i))) {
    sio__stream_id *upto = e->value;
    if (sio__stream_id_cmp(cur, *upto) <= 0) continue;
    sio__map_del(&s->restored, e->key, e->klen & ~SIO__MAP_BORROWED); /* leaves a tombstone */
    sio__free(upto);
  }
}

void sio__streams_pending_cancel(sio__sadapter *s) {
  while (s->pending.next && !sio__list_empty(&s->pending)) {
    sio__spending *p = sio__container_of(s->pending.next, sio__spending, link);
    sio__list_remove(&p->link);
    p->s = NULL;
    if (p->cancel) p->cancel(p);
  }
}
