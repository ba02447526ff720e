/* libFuzzer target for the Redis client's reply path: arbitrary bytes from "the server" go
 * through hiredis's reader into our dispatch (message pushes, subscription confirmations
 * matched against the ring's head, answers popped in order, a reply to no command dropping
 * the link). The input's first byte picks a subscriber or a command client and how many
 * commands are pending, of which kinds; the rest is what Redis sends, fed in two pieces. On
 * any input: no crash, no leak, every pending answer answered exactly once (by a reply, or
 * with SIO_ECLOSED at the drop or the free), and every message's fields inside the reply. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "redis/client_internal.h"

static int answered[64];

static void on_done(sio__redis *c, int status, void *user) {
  answered[(uintptr_t)user]++;
}
static void on_reply(sio__redis *c, int status, const redisReply *r, void *user) {
  if (status != SIO_ECLOSED && !r) abort();
  answered[(uintptr_t)user]++;
}

static volatile size_t sink;
static void on_message(sio__redis *c, const sio__redis_message *m, void *user) {
  size_t sum = 0; /* every byte must be readable (ASan) */
  for (size_t i = 0; i < m->channel_len; i++) sum += (unsigned char)m->channel[i];
  for (size_t i = 0; i < m->len; i++) sum += (unsigned char)m->payload[i];
  for (size_t i = 0; i < m->pattern_len; i++) sum += (unsigned char)m->pattern[i];
  if ((m->kind == SIO__REDIS_PMESSAGE) != (m->pattern != NULL)) abort();
  sink += sum;
}

/* A client that never connects (port 1, loop not run) given a link by hand, as if READY. */
static sio__redis *fake_ready_client(uv_loop_t *loop, int subscriber) {
  sio__redis_opts o = {.on_message = subscriber ? on_message : NULL};
  sio__redis *c = NULL;
  if (sio__redis_new(loop, "redis://127.0.0.1:1", &o, &c)) abort();
  sio__redis_link *link = sio__calloc(1, sizeof *link);
  uv_tcp_init(loop, &link->tcp);
  link->tcp.data = link;
  link->c = c;
  c->link = link;
  c->reader = sio__redis_reader_new();
  c->state = SIO__RS_READY;
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static uv_loop_t *loop;
  if (!loop) {
    loop = malloc(sizeof *loop);
    uv_loop_init(loop);
  }
  int subscriber = data[0] & 1;
  int pending = (data[0] >> 1) & 7;
  sio__redis *c = fake_ready_client(loop, subscriber);
  memset(answered, 0, sizeof answered);
  for (int i = 0; i < pending; i++) {
    sio__redis_pending p = {.user = (void *)(uintptr_t)i};
    if (subscriber) {
      p.type = SIO__PEND_DONE, p.fn.done = on_done;
      p.expect = (uint8_t)(1 + i % 3), p.unsub = (uint8_t)(i / 3 % 2);
    } else {
      p.type = SIO__PEND_REPLY, p.fn.reply = on_reply;
    }
    const char *argv[1] = {"PING"};
    if (sio__redis_enqueue(c, 1, argv, NULL, &p)) abort();
  }
  sio__redis_link *link = c->link;
  size_t half = (size - 1) / 2;
  sio__redis_on_bytes(c, link, (const char *)data + 1, half);
  if (c->link == link) sio__redis_on_bytes(c, link, (const char *)data + 1 + half, size - 1 - half);
  sio__redis_free(c);
  uv_run(loop, UV_RUN_DEFAULT);
  for (int i = 0; i < pending; i++)
    if (answered[i] != 1) abort();
  return 0;
}
