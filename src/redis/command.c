/* A Redis client's pipeline. A command is formatted with hiredis's redisFormatCommandArgv
 * into the output buffer and its pending answer goes at the tail of a ring; a prepare handle
 * writes the whole buffer once per loop iteration (while a write is in flight the buffer
 * keeps filling, and the write's completion schedules the next), so 10,000 commands issued in
 * one callback leave in a few writes. Replies, parsed by hiredis's redisReader, answer the
 * ring's head in order (RESP2 answers every command once, in order); a subscriber
 * connection's message pushes are taken out first (subscribe.c). Every pending answer is
 * answered exactly once: by its reply, or with SIO_ECLOSED when the link drops or the client
 * is freed (the ring is taken out before the callbacks run, so that they may issue commands,
 * which then fail at once, or free the client). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "redis/client_internal.h"

int sio__redis_link_up(const sio__redis *c) {
  return c->state == SIO__RS_HANDSHAKE || c->state == SIO__RS_READY;
}

/* ---- The ring of pending answers -------------------------------------------------------- */

static int ring_reserve(sio__redis *c) {
  if (c->qlen < c->qcap) return 0;
  size_t cap = c->qcap ? c->qcap * 2 : 64;
  sio__redis_pending *q = sio__malloc(cap * sizeof *q);
  if (!q) return -ENOMEM;
  for (size_t i = 0; i < c->qlen; i++) q[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
  sio__free(c->q);
  c->q = q;
  c->qcap = cap;
  c->qhead = 0;
  return 0;
}

static void ring_pop(sio__redis *c, sio__redis_pending *p) {
  *p = c->q[c->qhead];
  c->qhead = (c->qhead + 1) & (c->qcap - 1);
  c->qlen--;
}

static long long numsub_count(const redisReply *r, int *status) {
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
      r->element[1]->type == REDIS_REPLY_INTEGER)
    return r->element[1]->integer;
  *status = SIO__REDIS_EPROTO;
  return 0;
}

void sio__redis_answer(sio__redis *c, const sio__redis_pending *p, int status,
                       const redisReply *r) {
  switch ((sio__redis_pend_type)p->type) {
  case SIO__PEND_REPLY:
    if (p->fn.reply) p->fn.reply(c, status, r, p->user);
    break;
  case SIO__PEND_DONE:
    if (p->fn.done) p->fn.done(c, status, p->user);
    break;
  case SIO__PEND_COUNT: {
    long long n = status == 0 ? numsub_count(r, &status) : 0;
    if (p->fn.count) p->fn.count(c, status, n, p->user);
    break;
  }
  }
  if (p->gate && status != SIO_ECLOSED && c->state == SIO__RS_HANDSHAKE && c->resub_left > 0 &&
      --c->resub_left == 0)
    sio__redis_became_ready(c);
}

void sio__redis_fail_pending(sio__redis *c, int status) {
  sio__redis_pending *q = c->q;
  size_t cap = c->qcap, head = c->qhead, len = c->qlen;
  c->q = NULL;
  c->qcap = c->qhead = c->qlen = 0;
  for (size_t i = 0; i < len; i++) sio__redis_answer(c, &q[(head + i) & (cap - 1)], status, NULL);
  sio__free(q);
}

/* ---- Output ----------------------------------------------------------------------------- */

int sio__redis_enqueue(sio__redis *c, int argc, const char **argv, const size_t *argvlen,
                       const sio__redis_pending *p) {
  if (argc < 1 || !argv) return -EINVAL;
  if (ring_reserve(c)) return -ENOMEM;
  char *cmd = NULL;
  int n = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
  if (n < 0) return -ENOMEM;
  int rc = sio__sbuf_append(&c->out, cmd, (size_t)n);
  redisFreeCommand(cmd);
  if (rc) {
    c->out.oom = 0; /* the buffer is intact: only this command is refused */
    return -ENOMEM;
  }
  c->q[(c->qhead + c->qlen) & (c->qcap - 1)] = *p;
  c->qlen++;
  if (!uv_is_active((uv_handle_t *)&c->flusher)) uv_idle_start(&c->flusher, sio__redis_on_flush);
  return 0;
}

static void on_written(uv_write_t *req, int status) {
  sio__redis_link *link = req->data;
  link->writing = 0;
  sio__redis *c = link->c;
  if (!c) return;
  if (status < 0) {
    sio__redis_drop(c, status, uv_strerror(status));
    return;
  }
  if (link->inflight.cap > (1u << 20))
    sio__sbuf_free(&link->inflight); /* after a burst */
  else
    sio__sbuf_reset(&link->inflight);
  if (c->out.len) uv_idle_start(&c->flusher, sio__redis_on_flush);
}

void sio__redis_on_flush(uv_idle_t *h) {
  sio__redis *c = h->data;
  sio__redis_link *link = c->link;
  uv_idle_stop(h);
  if (!link || !sio__redis_link_up(c) || link->writing || !c->out.len) return;
  sio__sbuf t = link->inflight;
  link->inflight = c->out;
  c->out = t;
  uv_buf_t b = uv_buf_init(link->inflight.data, (unsigned)link->inflight.len);
  int rc = uv_write(&link->write_req, (uv_stream_t *)&link->tcp, &b, 1, on_written);
  if (rc)
    sio__redis_drop(c, rc, uv_strerror(rc));
  else
    link->writing = 1;
}

/* ---- Input ------------------------------------------------------------------------------ */

static void dispatch(sio__redis *c, const redisReply *r) {
  if (c->opts.on_message && sio__redis_dispatch_push(c, r)) return;
  if (c->qlen == 0) {
    sio__redis_drop(c, SIO__REDIS_EPROTO, "a reply to no command");
    return;
  }
  sio__redis_pending p;
  ring_pop(c, &p);
  sio__redis_answer(c, &p, r->type == REDIS_REPLY_ERROR ? SIO__REDIS_EREPLY : 0, r);
}

void sio__redis_on_bytes(sio__redis *c, sio__redis_link *link, const char *data, size_t n) {
  char why[160];
  if (redisReaderFeed(c->reader, data, n) != REDIS_OK) {
    sio__redis_drop(c, -ENOMEM, "out of memory");
    return;
  }
  for (;;) {
    void *reply = NULL;
    if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
      snprintf(why, sizeof why, "protocol error: %s", c->reader->errstr);
      sio__redis_drop(c, SIO__REDIS_EPROTO, why);
      return;
    }
    if (!reply) return;
    dispatch(c, reply);
    freeReplyObject(reply);
    if (c->link != link) return; /* dropped or freed by a callback */
  }
}

/* ---- Commands --------------------------------------------------------------------------- */

/* Enqueues p's command when a link is up; otherwise p fails at once with SIO_ECLOSED. */
static int submit(sio__redis *c, int argc, const char **argv, const size_t *argvlen,
                  const sio__redis_pending *p) {
  if (argc < 1 || !argv) return -EINVAL;
  if (!sio__redis_link_up(c)) {
    sio__redis_answer(c, p, SIO_ECLOSED, NULL);
    return 0;
  }
  return sio__redis_enqueue(c, argc, argv, argvlen, p);
}

int sio__redis_command(sio__redis *c, int argc, const char **argv, const size_t *argvlen,
                       sio__redis_reply_cb cb, void *user) {
  if (c->opts.on_message) return SIO__REDIS_ESUBSCRIBER;
  sio__redis_pending p = {.fn.reply = cb, .user = user, .type = SIO__PEND_REPLY};
  return submit(c, argc, argv, argvlen, &p);
}

int sio__redis_commandl(sio__redis *c, sio__redis_reply_cb cb, void *user, ...) {
  const char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, user);
  const char *a;
  while ((a = va_arg(ap, const char *)) && argc < 32) argv[argc++] = a;
  va_end(ap);
  if (a) return -EINVAL; /* more than 32 arguments */
  return sio__redis_command(c, argc, argv, NULL, cb, user);
}

int sio__redis_publish(sio__redis *c, int shard, const char *channel, size_t channel_len,
                       const void *payload, size_t len, sio__redis_reply_cb cb, void *user) {
  if (shard && c->sharded == 0) return SIO__REDIS_ENOSHARD;
  const char *argv[3] = {shard ? "SPUBLISH" : "PUBLISH", channel, payload};
  size_t lens[3] = {shard ? 8 : 7, channel_len, len};
  return sio__redis_command(c, 3, argv, lens, cb, user);
}

int sio__redis_numsub(sio__redis *c, int shard, const char *channel, size_t channel_len,
                      sio__redis_count_cb cb, void *user) {
  if (c->opts.on_message) return SIO__REDIS_ESUBSCRIBER;
  if (shard && c->sharded == 0) return SIO__REDIS_ENOSHARD;
  const char *argv[3] = {"PUBSUB", shard ? "SHARDNUMSUB" : "NUMSUB", channel};
  size_t lens[3] = {6, shard ? 11 : 6, channel_len};
  sio__redis_pending p = {.fn.count = cb, .user = user, .type = SIO__PEND_COUNT};
  return submit(c, 3, argv, lens, &p);
}
