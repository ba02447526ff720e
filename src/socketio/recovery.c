/* Connection state recovery, the Socket.IO side (sio/recovery.h; Node: socket.io 4.8
 * namespace.ts _createSocket, socket.ts constructor and _onclose). The storage is the
 * adapter's (persist_session, restore_session, last_offset, SIO_BC_STORE in sio/adapter.h).
 *
 * - A CONNECT whose auth has a string `pid` (and an optional string `offset`) asks the adapter
 *   for the session, now or later. Restored: the socket takes the session's id, rooms and
 *   data, and the missed packets are queued; with skip_middlewares it connects at once, else
 *   it runs the middlewares, and broadcasts that reach it meanwhile are queued after the missed
 *   ones. Not restored: a fresh socket, as without recovery.
 * - Connected: the queue goes out, then the CONNECT reply with the session id (`pid`); a fresh
 *   socket gets a new pid and its position (the adapter's newest offset).
 * - Leaving for a reason Node keeps sessions for: the session (id, pid, rooms, data,
 *   position) goes to the adapter.
 * The offsets themselves are appended by the broadcast path (op.c, sio__out_add_offset). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"
#include "socketio/io_internal.h"
#include "ws/codec.h"

typedef struct sio__rec {
  char pid[24];
  char *base; /* the session's position (sio_session.offset) */
  uint8_t recovered;
  uint8_t queuing; /* restored, not connected yet: packets for it are queued */
  sio__out *queue;
  size_t nq, capq;
} sio__rec;

/* --- options ------------------------------------------------------------------------------ */

sio_recovery_opts sio_recovery_opts_default(void) {
  sio_recovery_opts o = {1, 120000, 1, 10000, 10000};
  return o;
}

int sio_io_set_recovery(sio_io *io, const sio_recovery_opts *opts) {
  if (!io) return -EINVAL;
  if (!opts || !opts->enabled) {
    memset(&io->recovery, 0, sizeof io->recovery);
    return 0;
  }
  sio_recovery_opts d = sio_recovery_opts_default(), o = *opts;
  if (!o.max_disconnection_duration_ms)
    o.max_disconnection_duration_ms = d.max_disconnection_duration_ms;
  if (!o.max_packets) o.max_packets = d.max_packets;
  if (!o.max_sessions) o.max_sessions = d.max_sessions;
  o.enabled = 1;
  o.skip_middlewares = o.skip_middlewares != 0;
  io->recovery = o;
  sio_adapter *a = io->main ? io->main->adapter : NULL;
  if (a && !a->ops->restore_session)
    sio__warn("recovery: the %s adapter does not support connection state recovery: it stays off "
              "(as with Node's adapters that do not implement restoreSession)",
              a->ops->name ? a->ops->name : "?");
  return 0;
}

const sio_recovery_opts *sio_io_recovery(const sio_io *io) {
  return io && io->recovery.enabled ? &io->recovery : NULL;
}

int sio_socket_recovered(const sio_socket *s) {
  return s && s->rec && s->rec->recovered;
}

int sio__rec_stores(sio_nsp *nsp) {
  const sio_adapter_ops *ops = nsp->adapter ? nsp->adapter->ops : NULL;
  return nsp->io && nsp->io->recovery.enabled && ops && ops->restore_session &&
         ops->persist_session && ops->last_offset;
}

/* --- packets ------------------------------------------------------------------------------ */

static void out_ref_copy(sio__out *dst, const sio__out *src) {
  *dst = *src;
  dst->mp.b = NULL; /* the msgpack form (if any) is the original's */
  sio__buf_ref(dst->text.b);
  dst->att = NULL;
  dst->natt = 0;
  if (!src->natt) return;
  dst->att = sio__calloc(src->natt, sizeof(*dst->att));
  if (!dst->att) return; /* the text only: the client drops a packet short of attachments */
  for (unsigned i = 0; i < src->natt; i++) {
    dst->att[i] = src->att[i];
    sio__buf_ref(dst->att[i].b);
  }
  dst->natt = src->natt;
}

/* The frame of o made again with `,"<offset>"` before its last ']' (a buffer shared with
 * someone else: the text is never written over under another reader). */
static int out_rebuild_with_offset(sio__out *o, const sio__offset *off) {
  const sio__eio_msg *t = &o->text;
  const char *b = t->b->data;
  size_t after = t->data_off + 1, end = t->b->len; /* the packet after its Engine.IO type */
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__eio_msg m;
  if (sio__eio_msg_begin_sized(&sb, 0, end - after + off->len + 3) ||
      sio__sbuf_append(&sb, b + after, end - 1 - after) || sio__sbuf_append(&sb, ",\"", 2) ||
      sio__sbuf_append(&sb, off->text, off->len) || sio__sbuf_append(&sb, "\"]", 2) ||
      sio__eio_msg_seal(&sb, 0, &m)) {
    sio__sbuf_free(&sb);
    return -ENOMEM;
  }
  m.compress = t->compress;
  sio__eio_msg_release(&o->text);
  o->text = m; /* the same headroom and header before data_off */
  return 0;
}

int sio__out_add_offset(sio__out *o, const sio__offset *off) {
  sio__buf *b = o->text.b;
  size_t add = off->len + 3, end = b->len;
  if (o->text.binary || end <= o->data_off || b->data[end - 1] != ']') return -EINVAL;
  if (b->refs != 1) return out_rebuild_with_offset(o, off);
  if (b->cap - end < add) { /* one realloc, usually in place (the packet was sized exactly) */
    sio__buf *nb = sio__realloc(b, sizeof(*b) + end + add + 1);
    if (!nb) return -ENOMEM;
    nb->cap = end + add;
    o->text.b = b = nb;
  }
  char *w = b->data + end - 1; /* over the closing bracket */
  w[0] = ',';
  w[1] = '"';
  memcpy(w + 2, off->text, off->len);
  w[2 + off->len] = '"';
  w[3 + off->len] = ']';
  b->len = end + add;
  b->data[b->len] = '\0';
  o->text.frame_off = sio__ws_frame_prepare(b, SIO__WS_OP_TEXT); /* the length changed */
  return 0;
}

int sio__out_from_data(sio__out *o, const sio_nsp *nsp, const char *data, size_t len,
                       const void *const *att, const size_t *att_len, unsigned natt) {
  memset(o, 0, sizeof(*o));
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__sio_type type = natt ? SIO__SIO_BINARY_EVENT : SIO__SIO_EVENT;
  if (sio__eio_msg_begin(&sb, 0) ||
      sio__sio_encode_header(&sb, 0, type, natt, nsp->name, nsp->name_len, SIO__SIO_NO_ID)) {
    sio__sbuf_free(&sb);
    return -ENOMEM;
  }
  o->data_off = sb.len;
  if (sio__sbuf_append(&sb, data, len) || sio__eio_msg_seal(&sb, 0, &o->text)) {
    sio__sbuf_free(&sb);
    return -ENOMEM;
  }
  if (natt && !(o->att = sio__calloc(natt, sizeof(*o->att)))) {
    sio__out_release(o);
    return -ENOMEM;
  }
  for (unsigned i = 0; i < natt; i++) {
    if (sio__eio_msg_new(att[i], att_len[i], 1, &o->att[i])) {
      sio__out_release(o);
      return -ENOMEM;
    }
    o->natt++;
  }
  return 0;
}

static int queue_push(sio__rec *r, const sio__out *o, int take) {
  if (r->nq == r->capq) {
    size_t cap = r->capq ? r->capq * 2 : 8;
    sio__out *q = sio__realloc(r->queue, cap * sizeof(*q));
    if (!q) return -ENOMEM;
    r->queue = q;
    r->capq = cap;
  }
  if (take)
    r->queue[r->nq++] = *o;
  else
    out_ref_copy(&r->queue[r->nq++], o);
  return 0;
}

static void queue_free(sio__rec *r) {
  for (size_t i = 0; i < r->nq; i++) sio__out_release(&r->queue[i]);
  sio__free(r->queue);
  r->queue = NULL;
  r->nq = r->capq = 0;
}

int sio__rec_queue(sio_socket *s, const sio__out *o) {
  if (!s->rec || !s->rec->queuing || s->state != SIO__S_PENDING) return 0;
  return queue_push(s->rec, o, 0) == 0;
}

/* The connected socket of session pid (its keys live in the sockets' sio__rec). */
static void pid_forget(sio_socket *s) {
  sio__map *m = &s->nsp->rec_pids;
  if (s->rec && sio__map_get(m, s->rec->pid, strlen(s->rec->pid)) == s)
    sio__map_del(m, s->rec->pid, strlen(s->rec->pid));
}

void sio__rec_free(sio_socket *s) {
  if (!s->rec) return;
  pid_forget(s);
  queue_free(s->rec);
  sio__free(s->rec->base);
  sio__free(s->rec);
  s->rec = NULL;
}

/* --- restoring ---------------------------------------------------------------------------- */

/* The string member `key` of the CONNECT auth: 0 and its text in out, 1 when absent, -1 when
 * present but not a string (or too long). */
static int auth_string(const char *auth, const char *key, char *out, size_t cap) {
  sio__json_slice obj, val;
  size_t n = strlen(auth);
  if (sio__json_validate(auth, n, SIO__JSON_MAX_DEPTH, &obj) || obj.type != SIO__JSON_OBJECT)
    return 1;
  if (!sio__json_object_get(auth + obj.off, obj.len, key, strlen(key), &val)) return 1;
  const char *v = auth + obj.off + val.off;
  if (val.type != SIO__JSON_STRING) return -1;
  sio__sbuf sb = SIO__SBUF_INIT;
  int rc =
      sio__json_string(v, val.len, &sb) || sb.len + 1 > cap || memchr(sb.data, 0, sb.len) ? -1 : 0;
  if (!rc) memcpy(out, sb.data, sb.len + 1);
  sio__sbuf_free(&sb);
  return rc;
}

/* The session into s: its id, rooms, data and the packets it missed (queued). */
static int restore_into(sio_socket *s, const sio_session *ss, const sio_missed_packet *pk,
                        size_t n) {
  sio_nsp *nsp = s->nsp;
  if (!ss || !ss->sid || !ss->pid || strlen(ss->sid) >= sizeof s->id ||
      strlen(ss->pid) >= sizeof s->rec->pid)
    return -EINVAL;
  if (sio__map_get(&nsp->sockets, ss->sid, strlen(ss->sid))) return -EEXIST; /* still here */
  sio__rec *r = sio__calloc(1, sizeof(*r));
  if (!r || !(r->base = sio__strdup(ss->offset ? ss->offset : ""))) {
    sio__free(r);
    return -ENOMEM;
  }
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    sio__out o;
    rc = sio__out_from_data(&o, nsp, pk[i].data, pk[i].len, pk[i].att, pk[i].att_len, pk[i].natt);
    if (!rc && (rc = queue_push(r, &o, 1))) sio__out_release(&o);
  }
  if (!rc && ss->data_json && strcmp(ss->data_json, "{}") != 0)
    rc = sio_socket_set_data_json(s, ss->data_json);
  if (rc) {
    queue_free(r);
    sio__free(r->base);
    sio__free(r);
    return rc;
  }
  memcpy(s->id, ss->sid, strlen(ss->sid) + 1);
  memcpy(r->pid, ss->pid, strlen(ss->pid) + 1);
  r->recovered = 1;
  r->queuing = 1;
  s->rec = r;
  if (ss->nrooms && nsp->adapter->ops->add_all(nsp->adapter, &s->member, ss->rooms, ss->nrooms))
    sio__warn("recovery: socket %s: out of memory while joining its rooms again", s->id);
  return 0;
}

static void on_restored(int status, const sio_session *ss, const sio_missed_packet *pk, size_t n,
                        void *user) {
  sio_socket *s = user;
  int live = s->state == SIO__S_PENDING && s->client && s->client->es;
  int ok = live && status == 0 && restore_into(s, ss, pk, n) == 0;
  if (live) {
    if (ok) sio__debug("recovery: socket %s restored (%zu missed packets)", s->id, n);
    sio__nsp_admit(s, ok && s->nsp->io && s->nsp->io->recovery.skip_middlewares);
  }
  sio_socket_unref(s); /* the restore's */
}

int sio__rec_connect(sio_socket *s) {
  sio_nsp *nsp = s->nsp;
  if (!sio__rec_stores(nsp)) return 0;
  char pid[24], offset[sizeof(((sio__offset *)0)->text)];
  if (auth_string(s->auth, "pid", pid, sizeof pid)) return 0;
  /* Node wants both as strings; a missing offset (a client that never got an event, #5538)
   * resumes from the session's position, an unusable one gets a fresh socket */
  int off = auth_string(s->auth, "offset", offset, sizeof offset);
  if (off < 0) return 0;
  /* Still connected under that session: its transport died and the server has not noticed
   * yet (a polling client cut between two requests is only seen at the ping timeout), while
   * the client already came back. The pid proves it is the same client: the old connection
   * is closed as a dropped one (its session kept), then restored here. Node refuses the
   * recovery in this case (no session yet) and the client loses what was sent meanwhile. */
  sio_socket *old = sio__map_get(&nsp->rec_pids, pid, strlen(pid));
  if (old && old->client && old->client != s->client && old->state == SIO__S_CONNECTED) {
    sio__debug("recovery: session of socket %s resumed on a new connection: closing the old one",
               old->id);
    sio__client_close(old->client, "transport close");
  }
  if (s->state != SIO__S_PENDING || !s->client || !s->client->es) return 1; /* went with it */
  sio_socket_ref(s);
  sio_adapter *a = nsp->adapter;
  if (a->ops->restore_session(a, pid, off == 0 ? offset : NULL, on_restored, s)) {
    sio_socket_unref(s); /* not restored, fn not called: a fresh socket */
    return 0;
  }
  return 1;
}

/* --- connecting and leaving --------------------------------------------------------------- */

const char *sio__rec_connected(sio_socket *s) {
  sio_nsp *nsp = s->nsp;
  if (!sio__rec_stores(nsp)) {
    sio__rec_free(s);
    return NULL;
  }
  sio__rec *r = s->rec;
  if (!r) {
    char off[sizeof(((sio__offset *)0)->text)] = "";
    if (!(r = sio__calloc(1, sizeof(*r)))) return NULL;
    if (sio__random_id(r->pid, 15) ||
        nsp->adapter->ops->last_offset(nsp->adapter, off, sizeof off) ||
        !(r->base = sio__strdup(off))) {
      sio__free(r);
      return NULL;
    }
    s->rec = r;
  }
  if (sio__map_put_ref(&nsp->rec_pids, r->pid, strlen(r->pid), s))
    sio__warn("recovery: socket %s: out of memory (its session cannot be taken over)", s->id);
  if (r->queuing && s->client && s->client->es) {
    /* owed before the CONNECT reply (the client buffers them and emits them before "connect");
     * past the send-buffer limit too: the replay is bounded by max_packets */
    for (size_t i = 0; i < r->nq; i++) sio__client_send_out(s->client, &r->queue[i]);
  }
  queue_free(r);
  r->queuing = 0;
  return r->pid;
}

/* socket.io's RECOVERABLE_DISCONNECT_REASONS */
static int recoverable(const char *reason) {
  static const char *const kept[] = {"transport error",      "transport close",
                                     "forced close",         "ping timeout",
                                     "server shutting down", "forced server close"};
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
    if (strcmp(reason, kept[i]) == 0) return 1;
  return 0;
}

typedef struct rooms_acc {
  const char *own;
  const char **v;
  size_t n, cap;
  int oom;
} rooms_acc;

static int add_room(const char *room, size_t len, void *ctx) {
  rooms_acc *ra = ctx;
  (void)len;
  if (strcmp(room, ra->own) == 0) return 0;
  if (ra->n == ra->cap) {
    size_t cap = ra->cap ? ra->cap * 2 : 8;
    const char **v = sio__realloc(ra->v, cap * sizeof(*v));
    if (!v) {
      ra->oom = 1;
      return 1;
    }
    ra->v = v;
    ra->cap = cap;
  }
  ra->v[ra->n++] = room;
  return 0;
}

void sio__rec_disconnecting(sio_socket *s, const char *reason) {
  sio_nsp *nsp = s->nsp;
  pid_forget(s);
  if (!reason || !recoverable(reason) || !sio__rec_stores(nsp)) return;
  sio_adapter *a = nsp->adapter;
  rooms_acc ra = {s->id, NULL, 0, 0, 0};
  a->ops->rooms_of(a, &s->member, add_room, &ra);
  sio_session ss = {s->rec->pid, s->id, ra.v, ra.n, sio_socket_data_json(s), s->rec->base};
  int rc = ra.oom ? -ENOMEM : a->ops->persist_session(a, &ss);
  if (rc) sio__warn("recovery: socket %s: session not kept: %s", s->id, sio_strerror(rc));
  sio__free(ra.v);
}
