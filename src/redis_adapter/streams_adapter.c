/* The Redis Streams adapter (@socket.io/redis-streams-adapter 0.3.1's createAdapter): the
 * ClusterAdapter of the sharded adapter (sharded.h) on another transport.
 *
 * What Node's RedisStreamsAdapter#doPublish writes to a stream (XADD <stream> MAXLEN ~ <max>
 * * uid .. nsp .. type .. data ..) goes through here: broadcasts without acks, socketsJoin,
 * socketsLeave, disconnectSockets. Ephemeral messages (broadcasts with acks, serverSideEmit,
 * fetchSockets) and every response go by PUBLISH as msgpack on <prefix>#<nsp># and
 * <prefix>#<nsp>#<uid># (sharded_adapter.c does that part, shard 0).
 *
 * One reader per stream, each on its own connection (Node's readOnlyClients): XREAD BLOCK
 * <block> COUNT <n> STREAMS <stream> <last id>, again and again. Node starts from `$`, so an
 * entry written between two XREADs is lost; we start from the stream's last entry id
 * (XREVRANGE + - COUNT 1, 0-0 for an empty stream) and go on from each entry read, also after
 * Redis came back. A failed read is retried after a backoff (100 ms doubling to 2 s) once the
 * connection is up. Each entry goes to the namespace adapter of its nsp, as Node's
 * namespaceToAdapters. While a restore of a session reads the stream (streams_session.c), the
 * reader of that stream dispatches nothing: what it receives meanwhile is read again once the
 * restore is done, so the restore knows every entry the reader has not dispatched yet. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "redis_adapter/sharded.h"
#include "redis_adapter/streams_entry.h"
#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000

typedef struct sreader {
  sio__streams *st;
  sio__redis *c;
  char *stream;
  char last[48]; /* the last entry id read; "" until known */
  uv_timer_t retry;
  unsigned backoff_ms;
  int busy;        /* a command is pending */
  unsigned paused; /* restores under way: entries are not dispatched (see sio__streams_pause) */
  int skipped;     /* a read was left unanswered while paused: read again when resumed */
} sreader;

struct sio__streams {
  sio_redis_adapter *ra;
  sio_redis_streams_opts o; /* strings owned below */
  char *name, *sessions;
  sreader *r;
  size_t n, closing;
  int freed;
};

static void poll_stream(sreader *r);

static void on_retry(uv_timer_t *t) {
  poll_stream(t->data);
}

/* --- reading ------------------------------------------------------------------------------- */

static void dispatch_entry(sio__streams *st, const sio__stream_entry *e) {
  sio__list *it;
  if (!e->nsp) return;
  sio__list_foreach(it, &st->ra->snsps) {
    sio__sadapter *s = sio__container_of(it, sio__sadapter, link);
    size_t len = strlen(s->nsp_name);
    if (len != e->nsp_len || memcmp(s->nsp_name, e->nsp, len)) continue;
    sio__sbuf buf = SIO__SBUF_INIT;
    sio__cluster_msg m;
    int rc = sio__stream_entry_message(e, &buf, &m);
    sio__redis_message raw = {SIO__REDIS_MESSAGE, e->id, e->id_len, NULL, 0, e->data, e->data_len};
    if (rc)
      sio__rlink_drop(st->ra->link, &raw, rc == -ENOMEM ? "out of memory" : "malformed entry");
    else
      sio__sadapter_dispatch(s, &m, &raw, 0, e->id, e->id_len);
    sio__cluster_msg_free(&m);
    sio__sbuf_free(&buf);
    return;
  }
}

static void set_last(sreader *r, const char *id, size_t len) {
  if (len >= sizeof r->last) return; /* no id Redis makes is that long */
  memcpy(r->last, id, len);
  r->last[len] = '\0';
}

static void failed(sreader *r, int status, const redisReply *reply) {
  if (status == SIO__REDIS_EREPLY && reply)
    sio__warn("redis streams adapter: reading %s: %s", r->stream, reply->str);
  r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RETRY_MIN_MS;
  if (r->backoff_ms > RETRY_MAX_MS) r->backoff_ms = RETRY_MAX_MS;
  uv_timer_start(&r->retry, on_retry, r->backoff_ms, 0);
}

static void on_read(sio__redis *c, int status, const redisReply *reply, void *user) {
  (void)c;
  sreader *r = user;
  const redisReply *entries = NULL;
  r->busy = 0;
  if (r->st->freed) return;
  if (r->paused) { /* not dispatched, r->last kept: read again once resumed */
    r->skipped = 1;
    return;
  }
  if (status || sio__stream_xread_entries(reply, &entries)) {
    failed(r, status, reply);
    return;
  }
  r->backoff_ms = 0;
  for (size_t i = 0; entries && i < entries->elements && !r->st->freed; i++) {
    sio__stream_entry e;
    if (sio__stream_entry_parse(entries->element[i], &e)) continue;
    set_last(r, e.id, e.id_len);
    dispatch_entry(r->st, &e);
  }
  if (!r->st->freed) poll_stream(r);
}

static void on_last(sio__redis *c, int status, const redisReply *reply, void *user) {
  (void)c;
  sreader *r = user;
  sio__stream_entry e;
  r->busy = 0;
  if (r->st->freed) return;
  if (status || !reply || reply->type != REDIS_REPLY_ARRAY) {
    failed(r, status, reply);
    return;
  }
  if (reply->elements == 0)
    strcpy(r->last, "0-0");
  else if (!sio__stream_entry_parse(reply->element[0], &e))
    set_last(r, e.id, e.id_len);
  else
    strcpy(r->last, "$");
  poll_stream(r);
}

static void poll_stream(sreader *r) {
  char block[16], count[16];
  int rc;
  if (r->busy || uv_is_active((uv_handle_t *)&r->retry) || !sio__redis_is_ready(r->c)) return;
  if (r->paused) {
    r->skipped = 1;
    return;
  }
  r->busy = 1;
  if (!r->last[0]) {
    rc =
        sio__redis_commandl(r->c, on_last, r, "XREVRANGE", r->stream, "+", "-", "COUNT", "1", NULL);
  } else {
    snprintf(block, sizeof block, "%u", (unsigned)r->st->o.block_time_ms);
    snprintf(count, sizeof count, "%u", (unsigned)r->st->o.read_count);
    rc = sio__redis_commandl(r->c, on_read, r, "XREAD", "BLOCK", block, "COUNT", count, "STREAMS",
                             r->stream, r->last, NULL);
  }
  if (rc) r->busy = 0; /* -ENOMEM: the next event or retry tries again */
}

static void on_reader_event(sio__redis *c, sio__redis_event ev, int err, void *user) {
  (void)c, (void)err;
  sreader *r = user;
  if (ev == SIO__REDIS_READY && !r->st->freed) poll_stream(r);
}

/* --- writing ------------------------------------------------------------------------------- */

/* isEphemeral: what goes by pub/sub. */
int sio__streams_ephemeral(const sio__cluster_out *m) {
  return (m->type == SIO__CM_BROADCAST && m->request_id) || m->type == SIO__CM_SERVER_SIDE_EMIT ||
         m->type == SIO__CM_FETCH_SOCKETS;
}

typedef struct xadd_args {
  const char *v[16];
  size_t len[16];
  int n;
} xadd_args;

static void arg(xadd_args *a, const char *s, size_t len) {
  a->v[a->n] = s, a->len[a->n++] = len;
}

int sio__streams_xadd(sio__sadapter *s, const sio__cluster_out *m, sio__redis_reply_cb cb,
                      void *user) {
  sio__streams *st = s->ra->streams;
  sio__sbuf data = SIO__SBUF_INIT, b64 = SIO__SBUF_INIT;
  char type[8], max[16];
  int bin = 0, rc = sio__cluster_encode_data(&data, m, &bin);
  xadd_args a = {.n = 0};
  snprintf(type, sizeof type, "%d", m->type);
  snprintf(max, sizeof max, "%u", (unsigned)st->o.max_len);
  if (!rc && bin && !sio__sbuf_reserve(&b64, sio__base64_len(data.len) + 1))
    b64.len = sio__base64_encode(b64.data, data.data, data.len, 0);
  else if (!rc && bin)
    rc = -ENOMEM;
  arg(&a, "XADD", 4), arg(&a, s->stream.data, s->stream.len), arg(&a, "MAXLEN", 6);
  arg(&a, "~", 1), arg(&a, max, strlen(max)), arg(&a, "*", 1);
  arg(&a, "uid", 3), arg(&a, m->uid, strlen(m->uid)), arg(&a, "nsp", 3);
  arg(&a, m->nsp, strlen(m->nsp)), arg(&a, "type", 4), arg(&a, type, strlen(type));
  if (!rc && data.len) {
    arg(&a, "data", 4);
    if (bin)
      arg(&a, b64.data, b64.len);
    else
      arg(&a, data.data, data.len);
  }
  if (!rc) rc = sio__rlink_command(s->ra->link, a.n, a.v, a.len, cb, user);
  sio__sbuf_free(&data), sio__sbuf_free(&b64);
  return rc;
}

/* --- life ---------------------------------------------------------------------------------- */

static void closed(uv_handle_t *h) {
  sreader *r = h->data;
  sio__streams *st = r->st;
  sio__free(r->stream);
  if (--st->closing) return;
  sio__free(st->r), sio__free(st->name), sio__free(st->sessions);
  sio__free(st);
}

void sio__streams_free(sio__streams *st) {
  if (!st || st->freed) return;
  st->freed = 1;
  st->closing = st->n;
  for (size_t i = 0; i < st->n; i++) sio__redis_free(st->r[i].c);
  for (size_t i = 0; i < st->n; i++) uv_close((uv_handle_t *)&st->r[i].retry, closed);
  if (!st->n) {
    sio__free(st->r), sio__free(st->name), sio__free(st->sessions);
    sio__free(st);
  }
}

void sio__streams_unref(sio__streams *st) {
  for (size_t i = 0; st && i < st->n; i++) {
    sio__redis_unref(st->r[i].c);
    uv_unref((uv_handle_t *)&st->r[i].retry);
  }
}

int sio__streams_ready(const sio__streams *st) {
  for (size_t i = 0; st && i < st->n; i++)
    if (!sio__redis_is_ready(st->r[i].c) || !st->r[i].last[0]) return 0;
  return 1;
}

static int reader_start(sio__streams *st, sreader *r, uv_loop_t *loop, const char *url, size_t i) {
  sio__sbuf name = SIO__SBUF_INIT;
  sio__redis_opts ro = {.name = "streams reader", .on_event = on_reader_event, .user = r};
  r->st = st;
  uv_timer_init(loop, &r->retry);
  r->retry.data = r;
  st->n++;
  if (st->o.stream_count > 1)
    sio__sbuf_printf(&name, "%s-%zu", st->name, i);
  else
    sio__sbuf_appends(&name, st->name);
  r->stream = name.oom ? NULL : sio__strdup(name.data);
  sio__sbuf_free(&name);
  if (!r->stream) return -ENOMEM;
  return sio__redis_new(loop, url, &ro, &r->c);
}

int sio__streams_new(sio_redis_adapter *ra, uv_loop_t *loop, const char *url,
                     const sio_redis_streams_opts *o) {
  sio__streams *st = sio__calloc(1, sizeof(*st));
  if (!st) return -ENOMEM;
  st->ra = ra, st->o = *o;
  st->name = sio__strdup(o->stream_name && *o->stream_name ? o->stream_name : "socket.io");
  st->sessions = sio__strdup(o->session_key_prefix ? o->session_key_prefix : "sio:session:");
  if (!st->o.stream_count) st->o.stream_count = 1;
  if (!st->o.max_len) st->o.max_len = 10000;
  if (!st->o.read_count) st->o.read_count = 100;
  if (!st->o.block_time_ms) st->o.block_time_ms = 5000;
  st->o.stream_name = st->name, st->o.session_key_prefix = st->sessions;
  st->r = sio__calloc(st->o.stream_count, sizeof(*st->r));
  int rc = st->name && st->sessions && st->r ? 0 : -ENOMEM;
  for (size_t i = 0; !rc && i < st->o.stream_count; i++)
    rc = reader_start(st, &st->r[i], loop, url, i);
  ra->streams = st;
  return rc;
}

const char *sio__streams_name(const sio__streams *st, unsigned *count) {
  *count = st->o.stream_count;
  return st->name;
}

const char *sio__streams_last(const sio__streams *st, const char *stream) {
  for (size_t i = 0; st && i < st->n; i++)
    if (st->r[i].stream && !strcmp(st->r[i].stream, stream)) return st->r[i].last;
  return "";
}

const char *sio__streams_session_prefix(const sio__streams *st) {
  return st->sessions;
}

void sio__streams_pause(sio__streams *st, const char *stream, int on) {
  for (size_t i = 0; st && !st->freed && i < st->n; i++) {
    sreader *r = &st->r[i];
    if (!r->stream || strcmp(r->stream, stream)) continue;
    if (on) {
      r->paused++;
    } else if (r->paused && --r->paused == 0 && r->skipped) {
      r->skipped = 0;
      poll_stream(r);
    }
  }
}
