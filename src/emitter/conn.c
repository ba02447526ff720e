/* The emitter's Redis connection: one command client shared by every namespace's emitter, and
 * the FIFO of its messages (see emitter_internal.h).
 *
 * A message is queued while Redis is not up (bounded by max_queued: past it a publish is
 * refused, never dropped later) and sent at READY, in order. Sent messages are answered in
 * order by the client, each through its done callback; one on its way when the connection
 * drops fails with SIO_ECLOSED and is not sent again (Redis may have delivered it). Once the
 * last emitter is gone the connection waits for its FIFO: queued messages still go out if
 * the connection comes up, and fail with SIO_ECLOSED when an attempt fails instead; then the
 * client is freed and nothing keeps the loop alive. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/list.h"
#include "core/log.h"
#include "emitter/emitter_internal.h"

typedef struct pub {
  sio__list link; /* in conn->queue until sent */
  sio__emitter_conn *c;
  sio_emitter_done_fn done;
  void *user;
  int ping; /* a flush marker: PING, answered after everything before it */
  size_t chlen, len;
  char data[]; /* channel, then payload */
} pub;

struct sio__emitter_conn {
  sio__redis *redis;
  sio__list queue;
  size_t queued, inflight, max_queued;
  int refs, closing, freed;
  int in_done; /* inside done callbacks, which may free the last emitter: close after */
  sio__emitter_tap_fn tap;
  void *tap_user;
};

static void finish(pub *p, int status, long long receivers) {
  sio__emitter_conn *c = p->c;
  c->in_done++;
  if (p->done) p->done(status, receivers, p->user);
  c->in_done--;
  sio__free(p);
}

/* Everything is answered and no emitter is left: free the client (from any callback, but not
 * under a done callback of ours, whose caller still uses c). */
static void maybe_close(sio__emitter_conn *c) {
  if (!c->closing || c->queued || c->inflight || c->freed || c->in_done) return;
  c->freed = 1;
  sio__redis_free(c->redis);
  sio__free(c);
}

static void on_reply(sio__redis *r, int status, const redisReply *reply, void *user) {
  pub *p = user;
  sio__emitter_conn *c = p->c;
  long long n = !status && reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
  c->inflight--;
  finish(p, status, n);
  maybe_close(c);
}

static int send_one(sio__emitter_conn *c, pub *p) {
  c->inflight++;
  if (p->ping) return sio__redis_commandl(c->redis, on_reply, p, "PING", NULL);
  return sio__redis_publish(c->redis, 0, p->data, p->chlen, p->data + p->chlen, p->len, on_reply,
                            p);
}

/* Sends what waited, in order, while the connection stays up. */
static void drain(sio__emitter_conn *c) {
  while (!sio__list_empty(&c->queue) && sio__redis_is_ready(c->redis)) {
    pub *p = sio__container_of(c->queue.next, pub, link);
    sio__list_remove(&p->link);
    c->queued--;
    int rc = send_one(c, p);
    if (rc) { /* refused before it was issued: on_reply will not come */
      c->inflight--;
      finish(p, rc, 0);
    }
  }
}

/* Fails what waits (the connection of a closing emitter could not be made). */
static void fail_queue(sio__emitter_conn *c, int status) {
  while (!sio__list_empty(&c->queue)) {
    pub *p = sio__container_of(c->queue.next, pub, link);
    sio__list_remove(&p->link);
    c->queued--;
    finish(p, status, 0);
  }
}

static void on_event(sio__redis *r, sio__redis_event ev, int err, void *user) {
  sio__emitter_conn *c = user;
  if (ev == SIO__REDIS_READY)
    drain(c);
  else if (c->closing)
    fail_queue(c, SIO_ECLOSED);
  maybe_close(c);
}

int sio__emitter_conn_new(uv_loop_t *loop, const char *url, size_t max_queued,
                          sio__emitter_conn **out) {
  sio__emitter_conn *c = sio__calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  sio__list_init(&c->queue);
  c->refs = 1;
  c->max_queued = max_queued ? max_queued : SIO__EMITTER_DEFAULT_QUEUE;
  sio__redis_opts o = {.name = "emitter", .on_event = on_event, .user = c};
  int rc = sio__redis_new(loop, url, &o, &c->redis);
  if (rc) {
    sio__free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void sio__emitter_conn_ref(sio__emitter_conn *c) {
  c->refs++;
}

void sio__emitter_conn_unref(sio__emitter_conn *c) {
  if (--c->refs) return;
  c->closing = 1;
  maybe_close(c);
}

int sio__emitter_conn_ready(const sio__emitter_conn *c) {
  return sio__redis_is_ready(c->redis);
}

void sio__emitter_conn_tap(sio__emitter_conn *c, sio__emitter_tap_fn fn, void *user) {
  c->tap = fn, c->tap_user = user;
}

static int enqueue(sio__emitter_conn *c, pub *p) {
  if (c->queued >= c->max_queued) {
    sio__free(p);
    return -ENOBUFS;
  }
  sio__list_insert_tail(&c->queue, &p->link);
  c->queued++;
  drain(c);
  maybe_close(c); /* a done callback of drain may have freed the last emitter */
  return 0;
}

int sio__emitter_publish(sio__emitter_conn *c, const char *channel, size_t channel_len,
                         const void *payload, size_t len, sio_emitter_done_fn done, void *user) {
  if (c->tap) {
    c->tap(channel, channel_len, payload, len, c->tap_user);
    if (done) done(0, 1, user);
    return 0;
  }
  pub *p = sio__malloc(sizeof *p + channel_len + len);
  if (!p) return -ENOMEM;
  *p = (pub){.c = c, .done = done, .user = user, .chlen = channel_len, .len = len};
  memcpy(p->data, channel, channel_len);
  if (len) memcpy(p->data + channel_len, payload, len);
  return enqueue(c, p);
}

int sio__emitter_conn_flush(sio__emitter_conn *c, sio_emitter_done_fn done, void *user) {
  if (c->tap) {
    if (done) done(0, 0, user);
    return 0;
  }
  pub *p = sio__malloc(sizeof *p);
  if (!p) return -ENOMEM;
  *p = (pub){.c = c, .done = done, .user = user, .ping = 1};
  return enqueue(c, p);
}
