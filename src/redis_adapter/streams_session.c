/* Sessions of the Redis Streams adapter (@socket.io/redis-streams-adapter 0.3,
 * RedisStreamsAdapter#persistSession and #restoreSession), so that a client recovers on any
 * server of a mixed cluster, Node or sio, and across a restart of its server.
 *
 * persistSession: SET <sessionKeyPrefix><pid> <value> PX <window>, the value being Node's
 * base64(msgpack {sid, pid, rooms, data}) plus the socket's position (stream_session.h). So
 * either side restores the other's sessions.
 * restoreSession(pid, offset):
 *   1. an offset that is not ^[0-9]+-[0-9]+$: refused (Node's "invalid offset");
 *   2. MULTI GET key DEL key EXEC (the session is consumed, found or not, as Node);
 *   3. the starting point: the client's offset, or the session's position when later or when
 *      the client has none (a client that never got an event, socket.io #5538; Node refuses
 *      it); XRANGE <stream> <it> <it> must find it (not trimmed by MAXLEN), except 0-0 (the
 *      stream was empty when the socket connected);
 *   4. XRANGE <stream> <next id> + COUNT 1000 again and again (Node: at most 100 calls) until a
 *      batch is short; each entry of type "3" (BROADCAST) of the namespace whose opts select
 *      the session's rooms (shouldIncludePacket: no rooms or one of them, and none excepted)
 *      is a missed packet, its data with the entry id last. As in Node, the entry's packet is
 *      not judged further (a volatile broadcast that was in the stream is replayed). After 100
 *      calls without reaching the end: refused, rather than a restore with a gap (Node returns
 *      what it read).
 * From the start of a restore to the moment its socket joined its rooms, this server's reader
 * of the stream dispatches nothing (sio__streams_pause): so every entry after the last one the
 * restore read (X) reaches the socket live, and those up to X that the reader dispatches after
 * skip it (streams_offsets.c). Node lets the two connections race.
 * Every command goes through the adapter's publisher connection, that of its XADDs. */
#include <errno.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/stream_session.h"
#include "redis_adapter/streams_entry.h"
#include "core/alloc.h"
#include "core/log.h"
#include "sio/recovery.h"

#define RESTORE_MAX_CALLS 100 /* RESTORE_SESSION_MAX_XRANGE_CALLS */
#define RESTORE_COUNT     "1000"
#define RESTORE_COUNT_N   1000
#define ID_MAX            48

/* --- persistSession ----------------------------------------------------------------------- */

static void on_set(sio__redis *c, int status, const redisReply *r, void *user) {
  (void)c, (void)user;
  if (status && status != SIO_ECLOSED)
    sio__warn("redis streams adapter: session not kept: %s",
              status == SIO__REDIS_EREPLY && r ? r->str : sio_redis_strerror(status));
}

int sio__streams_persist(sio_adapter *a, const sio_session *ss) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra || !s->ra->streams) return SIO_ECLOSED;
  if (!ss || !ss->pid || !ss->sid) return -EINVAL;
  uint32_t window = a->recovery && a->recovery->max_disconnection_duration_ms
                        ? a->recovery->max_disconnection_duration_ms
                        : 120000;
  sio__sbuf key = SIO__SBUF_INIT, b64 = SIO__SBUF_INIT;
  char px[16];
  snprintf(px, sizeof px, "%u", (unsigned)window);
  int rc = sio__stream_session_encode(&b64, ss);
  sio__sbuf_printf(&key, "%s%s", sio__streams_session_prefix(s->ra->streams), ss->pid);
  if (!rc && key.oom) rc = -ENOMEM;
  if (!rc) {
    const char *v[] = {"SET", key.data, b64.data, "PX", px};
    size_t len[] = {3, key.len, b64.len, 2, strlen(px)};
    rc = sio__rlink_command(s->ra->link, 5, v, len, on_set, NULL);
  }
  sio__sbuf_free(&key), sio__sbuf_free(&b64);
  return rc;
}

/* --- restoreSession ----------------------------------------------------------------------- */

typedef struct missed {
  size_t off, len; /* in r->pdata */
  size_t att0;     /* its first attachment in r->attlen */
  unsigned natt;
} missed;

typedef struct restore {
  sio__spending p;
  sio_restore_fn fn;
  void *user;
  int done;            /* fn called */
  char client[ID_MAX]; /* the client's offset, "" when none */
  char pid[64];
  sio__stream_session ss; /* the session read back */
  char start[ID_MAX];     /* where the replay starts */
  char at[ID_MAX];        /* the last entry id read */
  int calls;
  int held;                          /* the stream reader holds its entries for this restore */
  sio__sbuf pdata, patt, pk, attlen; /* missed packets: texts, bytes, missed[], size_t[] */
} restore;

static void restore_free(restore *r) {
  sio__stream_session_free(&r->ss);
  sio__sbuf_free(&r->pdata), sio__sbuf_free(&r->patt), sio__sbuf_free(&r->pk);
  sio__sbuf_free(&r->attlen);
  sio__free(r);
}

static void remember_upto(sio__sadapter *s, const char *sid, const char *at) {
  sio__stream_id id, *v;
  if (sio__stream_id_parse(at, strlen(at), &id) || (id.ms == 0 && id.seq == 0)) return;
  if (!(v = sio__malloc(sizeof(*v)))) return;
  *v = id;
  sio__free(sio__map_del(&s->restored, sid, strlen(sid)));
  if (sio__map_put(&s->restored, sid, strlen(sid), v)) sio__free(v);
}

static void call_fn(restore *r, int status) {
  size_t nrooms = 0, n = r->pk.len / sizeof(missed), k = 0;
  const char *const *all = sio__stream_session_rooms(&r->ss, &nrooms);
  const missed *pk = (const missed *)(const void *)r->pk.data;
  const size_t *attlen = (const size_t *)(const void *)r->attlen.data;
  size_t natt_all = r->attlen.len / sizeof(size_t);
  /* on the heap: a replay may hold many packets (up to the stream's length) */
  const char **rooms = status ? NULL : sio__malloc((nrooms + 1) * sizeof(*rooms));
  const void **att = status ? NULL : sio__malloc((natt_all + 1) * sizeof(*att));
  sio_missed_packet *out = status ? NULL : sio__malloc((n + 1) * sizeof(*out));
  r->done = 1;
  if (!status && (!rooms || !att || !out)) status = -ENOMEM;
  if (status) {
    sio__free(rooms), sio__free(att), sio__free(out);
    r->fn(status, NULL, NULL, 0, r->user);
    return;
  }
  for (size_t i = 0; i < nrooms; i++)
    if (strcmp(all[i], r->ss.sid.data) != 0) rooms[k++] = all[i];
  size_t at = 0;
  for (size_t i = 0; i < natt_all; i++) att[i] = r->patt.data + at, at += attlen[i];
  for (size_t i = 0; i < n; i++)
    out[i] = (sio_missed_packet){r->pdata.data + pk[i].off, pk[i].len, att + pk[i].att0,
                                 attlen + pk[i].att0, pk[i].natt};
  /* the position: the session's, else where this restore started (a Node session has none) */
  const char *pos = *r->ss.pos.data ? r->ss.pos.data : r->start;
  sio_session ss = {r->pid, r->ss.sid.data, rooms, k, r->ss.data.data, pos};
  if (r->p.s) remember_upto(r->p.s, r->ss.sid.data, r->at);
  r->fn(0, &ss, out, n, r->user);
  sio__free(rooms), sio__free(att), sio__free(out);
}

/* The stream reader of this namespace holds its entries while a restore reads the stream. */
static void hold(restore *r, int on) {
  sio__sadapter *s = r->p.s;
  if (r->held == on) return;
  r->held = on;
  if (s && s->ra && s->ra->streams) sio__streams_pause(s->ra->streams, s->stream.data, on);
}

/* The end of a restore, from the callback of its last command. */
static void finish(restore *r, int status) {
  if (r->p.s) sio__list_remove(&r->p.link);
  if (!r->done) call_fn(r, status); /* the socket joins its rooms: then the reader resumes */
  hold(r, 0);
  restore_free(r);
}

static void cancel(sio__spending *p) {
  restore *r = (restore *)p;
  if (!r->done) call_fn(r, SIO_ECLOSED); /* freed by its pending command's callback */
  r->held = 0; /* the reader goes with the server's adapter (p->s is NULL now) */
}

/* One C string in a JSON array slice of strings (or numbers), as shouldIncludePacket asks. */
static int in_list(const char *t, sio__json_slice arr, const char *name) {
  sio__json_iter it;
  sio__json_slice e;
  size_t n = strlen(name);
  if (arr.type != SIO__JSON_ARRAY) return 0;
  sio__json_iter_init(&it, t + arr.off, arr.len);
  while (sio__json_iter_next(&it, &e)) {
    const char *v = t + arr.off + e.off;
    if (e.type == SIO__JSON_STRING && sio__json_string_eq(v, e.len, name, n)) return 1;
    if (e.type == SIO__JSON_NUMBER && e.len == n && memcmp(v, name, n) == 0) return 1;
  }
  return 0;
}

static int array_empty(const char *t, sio__json_slice arr) {
  sio__json_iter it;
  sio__json_slice e;
  if (arr.type != SIO__JSON_ARRAY) return 1;
  sio__json_iter_init(&it, t + arr.off, arr.len);
  return !sio__json_iter_next(&it, &e);
}

static int should_include(restore *r, const sio__cluster_msg *m) {
  const char *t = m->wire.text;
  size_t n;
  const char *const *rooms = sio__stream_session_rooms(&r->ss, &n);
  const char *sid = r->ss.sid.data;
  int included = array_empty(t, m->rooms) || in_list(t, m->rooms, sid);
  for (size_t i = 0; i < n && !included; i++) included = in_list(t, m->rooms, rooms[i]);
  if (!included || in_list(t, m->except, sid)) return 0;
  for (size_t i = 0; i < n; i++)
    if (in_list(t, m->except, rooms[i])) return 0;
  return 1;
}

/* One entry of the stream: a missed packet when it is a broadcast the session's rooms select. */
static int take(restore *r, const sio__stream_entry *e) {
  sio__sadapter *s = r->p.s;
  size_t nl = strlen(s->nsp_name);
  if (!e->nsp || e->nsp_len != nl || memcmp(e->nsp, s->nsp_name, nl) || !e->type ||
      e->type_len != 1 || e->type[0] != '3')
    return 0;
  sio__sbuf buf = SIO__SBUF_INIT;
  sio__cluster_msg m;
  int rc = sio__stream_entry_message(e, &buf, &m);
  if (!rc && m.type == SIO__CM_BROADCAST && m.packet_data.type == SIO__JSON_ARRAY &&
      should_include(r, &m)) {
    const char *d = m.wire.text + m.packet_data.off;
    size_t len = m.packet_data.len;
    missed pk = {r->pdata.len, 0, r->attlen.len / sizeof(size_t), (unsigned)m.wire.bins.n};
    sio__sbuf_append(&r->pdata, d, len - 1);
    if (len > 2) sio__sbuf_appendc(&r->pdata, ',');
    sio__sbuf_appendc(&r->pdata, '"');
    sio__sbuf_append(&r->pdata, e->id, e->id_len);
    sio__sbuf_append(&r->pdata, "\"]", 2);
    pk.len = r->pdata.len - pk.off;
    for (size_t i = 0; i < m.wire.bins.n; i++) {
      sio__sbuf_append(&r->patt, m.wire.bins.v[i].data, m.wire.bins.v[i].len);
      sio__sbuf_append(&r->attlen, &m.wire.bins.v[i].len, sizeof(size_t));
    }
    sio__sbuf_append(&r->pk, &pk, sizeof pk);
    rc = r->pdata.oom || r->patt.oom || r->attlen.oom || r->pk.oom ? -ENOMEM : 0;
  } else if (rc != -ENOMEM) {
    rc = 0; /* not one of ours, or malformed: skipped, as Node's loop would */
  }
  sio__cluster_msg_free(&m);
  sio__sbuf_free(&buf);
  return rc;
}

static void set_at(restore *r, const char *id, size_t len) {
  if (len >= sizeof r->at) return;
  memcpy(r->at, id, len);
  r->at[len] = '\0';
}

static int id_after(const char *a, const char *b) { /* a after b (a "" or "$": no) */
  sio__stream_id x, y;
  if (sio__stream_id_parse(a, strlen(a), &x) || sio__stream_id_parse(b, strlen(b), &y)) return 0;
  return sio__stream_id_cmp(x, y) > 0;
}

/* A reply for a restore whose adapter went away (cancel): only the memory is left to free. */
static int abandoned(restore *r) {
  if (r->p.s) return 0;
  restore_free(r);
  return 1;
}

static void next_range(restore *r);

static void on_range(sio__redis *c, int status, const redisReply *reply, void *user) {
  (void)c;
  restore *r = user;
  if (abandoned(r)) return;
  if (status || !reply || reply->type != REDIS_REPLY_ARRAY) {
    finish(r, SIO_ENOTFOUND);
    return;
  }
  for (size_t i = 0; i < reply->elements; i++) {
    sio__stream_entry e;
    if (sio__stream_entry_parse(reply->element[i], &e)) continue;
    if (take(r, &e)) {
      finish(r, -ENOMEM);
      return;
    }
    set_at(r, e.id, e.id_len);
  }
  if (reply->elements < RESTORE_COUNT_N)
    finish(r, 0); /* the end of the stream (the reader holds what came after: it is later) */
  else
    next_range(r);
}

static void next_range(restore *r) {
  sio__sadapter *s = r->p.s;
  sio__stream_id at;
  sio__sbuf from = SIO__SBUF_INIT;
  int rc = ++r->calls > RESTORE_MAX_CALLS ? SIO_ENOTFOUND : 0;
  if (!rc && !s->ra) rc = SIO_ECLOSED;
  if (!rc && (rc = sio__stream_id_parse(r->at, strlen(r->at), &at)) == 0)
    rc = sio__stream_id_next(&from, at);
  if (!rc) {
    const char *v[] = {"XRANGE", s->stream.data, from.data, "+", "COUNT", RESTORE_COUNT};
    size_t len[] = {6, s->stream.len, from.len, 1, 5, strlen(RESTORE_COUNT)};
    rc = sio__rlink_command(s->ra->link, 6, v, len, on_range, r);
  }
  sio__sbuf_free(&from);
  if (rc) finish(r, rc == -EINVAL ? SIO_ENOTFOUND : rc);
}

static void on_check(sio__redis *c, int status, const redisReply *reply, void *user) {
  (void)c;
  restore *r = user;
  if (abandoned(r)) return;
  if (status || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
    finish(r, SIO_ENOTFOUND); /* "session or offset not found" */
  else
    next_range(r);
}

static void on_exec(sio__redis *c, int status, const redisReply *reply, void *user) {
  (void)c;
  restore *r = user;
  if (abandoned(r)) return;
  const redisReply *v = !status && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements
                            ? reply->element[0]
                            : NULL;
  if (!v || v->type != REDIS_REPLY_STRING) {
    finish(r, SIO_ENOTFOUND);
    return;
  }
  int rc = sio__stream_session_decode(&r->ss, v->str, v->len);
  if (rc) {
    if (rc != -ENOMEM) sio__warn("redis streams adapter: session %s is malformed", r->pid);
    finish(r, rc == -ENOMEM ? rc : SIO_ENOTFOUND);
    return;
  }
  /* the later of the client's offset and the session's position; 0-0 is an empty stream's */
  const char *start = r->client;
  if (!*start || id_after(r->ss.pos.data, start)) start = r->ss.pos.data;
  if (strlen(start) >= ID_MAX || !sio__stream_id_valid(start, strlen(start))) {
    finish(r, SIO_ENOTFOUND);
    return;
  }
  strcpy(r->start, start);
  set_at(r, start, strlen(start));
  if (!strcmp(start, "0-0")) {
    next_range(r);
    return;
  }
  sio__sadapter *s = r->p.s;
  const char *a[] = {"XRANGE", s->stream.data, r->at, r->at};
  size_t len[] = {6, s->stream.len, strlen(r->at), strlen(r->at)};
  rc = s->ra ? sio__rlink_command(s->ra->link, 4, a, len, on_check, r) : SIO_ECLOSED;
  if (rc) finish(r, rc);
}

int sio__streams_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn fn,
                         void *user) {
  sio__sadapter *s = (sio__sadapter *)a;
  if (!s->ra || !s->ra->streams) return SIO_ECLOSED;
  if (!pid || !fn || strlen(pid) >= sizeof(((restore *)0)->pid)) return -EINVAL;
  if (offset && (strlen(offset) >= ID_MAX || !sio__stream_id_valid(offset, strlen(offset))))
    return SIO_ENOTFOUND; /* Node: "invalid offset" */
  restore *r = sio__calloc(1, sizeof(*r));
  sio__sbuf key = SIO__SBUF_INIT;
  if (!r) return -ENOMEM;
  r->fn = fn, r->user = user;
  strcpy(r->pid, pid);
  if (offset) strcpy(r->client, offset);
  sio__sbuf_printf(&key, "%s%s", sio__streams_session_prefix(s->ra->streams), pid);
  if (key.oom) {
    restore_free(r);
    return -ENOMEM;
  }
  r->p.s = s, r->p.cancel = cancel;
  sio__list_insert_tail(&s->pending, &r->p.link);
  hold(r, 1);
  const char *multi[] = {"MULTI"}, *get[] = {"GET", key.data}, *del[] = {"DEL", key.data};
  const char *exec[] = {"EXEC"};
  size_t l1[] = {5}, l2[] = {3, key.len}, l4[] = {4};
  sio__rlink *l = s->ra->link;
  int rc = sio__rlink_command(l, 1, multi, l1, NULL, NULL);
  if (!rc) rc = sio__rlink_command(l, 2, get, l2, NULL, NULL);
  if (!rc) rc = sio__rlink_command(l, 2, del, l2, NULL, NULL);
  if (rc) { /* out of memory before EXEC: nothing runs */
    const char *discard[] = {"DISCARD"};
    size_t l5[] = {7};
    sio__rlink_command(l, 1, discard, l5, NULL, NULL);
    sio__list_remove(&r->p.link);
    hold(r, 0);
    restore_free(r);
  } else {
    rc = sio__rlink_command(l, 1, exec, l4, on_exec, r); /* r may be gone when it returns */
    if (rc) {
      sio__list_remove(&r->p.link);
      hold(r, 0);
      restore_free(r);
    }
  }
  sio__sbuf_free(&key);
  return rc;
}

int sio__streams_last_offset(sio_adapter *a, char *buf, size_t cap) {
  sio__sadapter *s = (sio__sadapter *)a;
  const char *last =
      s->ra && s->ra->streams ? sio__streams_last(s->ra->streams, s->stream.data) : "";
  if (!sio__stream_id_valid(last, strlen(last))) last = ""; /* "$": not known */
  size_t n = strlen(last);
  if (n + 1 > cap) return -ENOBUFS;
  memcpy(buf, last, n + 1);
  return 0;
}
