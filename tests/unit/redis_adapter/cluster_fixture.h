/* Two (or more) sio servers on one loop, each with its own Redis adapter (its own two Redis
 * connections, as two processes would have), a real redis-server the test starts on a free
 * port (redis/redis_server.h: stopped by PID, killed with the test process), and raw
 * WebSocket Socket.IO clients that keep every text message they get, in order. */
#ifndef TESTS_UNIT_REDIS_ADAPTER_CLUSTER_FIXTURE_H
#define TESTS_UNIT_REDIS_ADAPTER_CLUSTER_FIXTURE_H
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "redis/redis_server.h"
#include "sio/adapter.h"
#include "sio/io.h"
#include "sio/redis.h"

static inline void fixture_unused(void) {
  (void)test_ms;
}

typedef struct node {
  uv_loop_t *loop;
  sio_app *app;
  sio_io *io;
  sio_redis_adapter *ra;
  sio_socket *last; /* the last socket connected */
  int connections;
} node;

static void node_on_conn(sio_socket *s, void *u) {
  node *n = u;
  n->last = s;
  n->connections++;
}

static void node_start(node *n, uv_loop_t *loop, int redis_port, const sio_redis_adapter_opts *o) {
  memset(n, 0, sizeof *n);
  n->loop = loop;
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis_port);
  assert_int_equal(sio_redis_adapter_new(loop, url, o, &n->ra), 0);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  n->app = sio_app_new(loop, &ao);
  assert_non_null(n->app);
  sio_io_opts io = sio_io_opts_default();
  io.adapter = sio_redis_adapter_factory;
  io.adapter_arg = n->ra;
  io.cleanup_empty_child_namespaces = 1;
  n->io = sio_io_attach(n->app, &io);
  assert_non_null(n->io);
  assert_int_equal(sio_io_on_connection(n->io, node_on_conn, n), 0);
  assert_int_equal(sio_app_listen(n->app), 0);
}

static void node_stop(node *n) {
  sio_app_free(n->app);
  sio_io_free(n->io);
  sio_redis_adapter_free(n->ra);
  for (int i = 0; i < 50; i++) uv_run(n->loop, UV_RUN_NOWAIT);
}

/* --- a raw client -------------------------------------------------------------------------- */

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t creq;
  const char *nsp; /* "/" or "/name" */
  char *in;        /* bytes not yet parsed */
  size_t inlen, incap;
  int upgraded, open, connected, closed;
  char **msgs; /* text messages (Engine.IO packets), NUL-terminated */
  size_t nmsgs, cap;
  size_t binaries; /* binary frames */
  char sid[32];    /* the Socket.IO socket id */
  int auto_ack;    /* answer every event that asks for an ack with ["ack-<sid>"] */
} client;

static void client_send(client *c, const char *t) {
  size_t n = strlen(t), h = n < 126 ? 2 : 4;
  char *f = malloc(n + h + 4);
  f[0] = (char)0x81;
  if (n < 126) {
    f[1] = (char)(0x80 | n);
  } else {
    f[1] = (char)(0x80 | 126);
    f[2] = (char)(n >> 8), f[3] = (char)n;
  }
  memset(f + h, 0, 4);
  memcpy(f + h + 4, t, n);
  uv_buf_t b = uv_buf_init(f, (unsigned)(n + h + 4));
  assert_int_equal(uv_try_write((uv_stream_t *)&c->tcp, &b, 1), (int)(n + h + 4));
  free(f);
}

static void client_text(client *c, const char *t, size_t n) {
  if (n == 1 && t[0] == '2') { /* ping */
    client_send(c, "3");
    return;
  }
  if (!c->open && n && t[0] == '0') {
    c->open = 1;
    char pk[128];
    snprintf(pk, sizeof pk, strcmp(c->nsp, "/") ? "40%s," : "40", c->nsp);
    client_send(c, pk);
    return;
  }
  if (!c->connected && n > 2 && !memcmp(t, "40", 2)) {
    const char *sid = strstr(t, "{\"sid\":\"");
    if (sid) {
      sid += 8;
      size_t l = strcspn(sid, "\"");
      snprintf(c->sid, sizeof c->sid, "%.*s", (int)l, sid);
      c->connected = 1;
    }
    return;
  }
  if (c->auto_ack && n > 2 && !memcmp(t, "42", 2) && t[2] >= '0' && t[2] <= '9') {
    char ack[96];
    size_t id = strspn(t + 2, "0123456789");
    snprintf(ack, sizeof ack, "43%.*s[\"ack-%s\"]", (int)id, t + 2, c->sid);
    client_send(c, ack);
  }
  if (c->nmsgs == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->msgs = realloc(c->msgs, c->cap * sizeof(*c->msgs));
  }
  char *m = malloc(n + 1);
  memcpy(m, t, n);
  m[n] = 0;
  c->msgs[c->nmsgs++] = m;
}

static void client_parse(client *c) {
  size_t at = 0;
  if (!c->upgraded) {
    char *end = c->inlen >= 4 ? memmem(c->in, c->inlen, "\r\n\r\n", 4) : NULL;
    if (!end) return;
    c->upgraded = 1;
    at = (size_t)(end - c->in) + 4;
  }
  for (;;) {
    size_t left = c->inlen - at;
    if (left < 2) break;
    const unsigned char *p = (const unsigned char *)c->in + at;
    size_t len = p[1] & 0x7f, h = 2;
    if (len == 126) {
      if (left < 4) break;
      len = (size_t)p[2] << 8 | p[3], h = 4;
    } else if (len == 127) {
      if (left < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
      h = 10;
    }
    if (left < h + len) break;
    if ((p[0] & 0x0f) == 1) client_text(c, (const char *)p + h, len);
    if ((p[0] & 0x0f) == 2) c->binaries++;
    if ((p[0] & 0x0f) == 8) c->closed = 1;
    at += h + len;
  }
  memmove(c->in, c->in + at, c->inlen - at);
  c->inlen -= at;
}

static void client_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  client *c = h->data;
  if (c->incap - c->inlen < 65536) {
    c->incap = c->incap ? c->incap * 2 : 131072;
    c->in = realloc(c->in, c->incap);
  }
  b->base = c->in + c->inlen;
  b->len = c->incap - c->inlen;
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = s->data;
  if (n < 0) {
    c->closed = 1;
    uv_read_stop(s);
    return;
  }
  c->inlen += (size_t)n;
  client_parse(c);
}

static void client_on_connect(uv_connect_t *r, int status) {
  client *c = r->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
  static const char up[] =
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)up, sizeof up - 1);
  uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

/* Connects to n's namespace nsp and runs the loop until connected. */
static void client_connect(client *c, node *n, const char *nsp) {
  memset(c, 0, sizeof *c);
  c->nsp = nsp;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", sio_app_port(n->app), &addr);
  uv_tcp_init(n->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr, client_on_connect);
  assert_true(test_run_until(n->loop, &c->connected, 5000));
}

static void client_noop_close(uv_handle_t *h) {}

static void client_free(client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, client_noop_close);
  for (size_t i = 0; i < c->nmsgs; i++) free(c->msgs[i]);
  free(c->msgs);
  free(c->in);
}

/* The index of the first message from `from` that contains s, or -1. */
static long client_find(const client *c, size_t from, const char *s) {
  for (size_t i = from; i < c->nmsgs; i++)
    if (strstr(c->msgs[i], s)) return (long)i;
  return -1;
}

typedef struct wait_msg {
  client *c;
  const char *s;
  int found;
} wait_msg;

/* Runs the loop until c got a message containing s (1), or ms passed (0). */
static int client_wait(client *c, uv_loop_t *loop, const char *s, unsigned ms) {
  uint64_t end = uv_now(loop) + ms;
  while (client_find(c, 0, s) < 0 && uv_now(loop) < end) test_run_for(loop, 5);
  return client_find(c, 0, s) >= 0;
}

/* The end of a test: clients, servers, Redis, and the loop once every handle has closed. */
static void world_stop(uv_loop_t *loop, test_redis *redis, node *a, node *b, client *ca,
                       client *cb) {
  client_free(ca);
  client_free(cb);
  node_stop(a);
  node_stop(b);
  test_redis_stop(redis);
  for (int i = 0; i < 100 && uv_loop_alive(loop); i++) uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
}

/* Runs the loop until both adapters are up (Redis connected, channels subscribed). */
static int wait_ready(uv_loop_t *loop, node *a, node *b, unsigned ms) {
  uint64_t end = uv_now(loop) + ms;
  while (!(sio_redis_adapter_ready(a->ra) && (!b || sio_redis_adapter_ready(b->ra))) &&
         uv_now(loop) < end)
    test_run_for(loop, 5);
  test_run_for(loop, 50); /* the SUBSCRIBE confirmations */
  return sio_redis_adapter_ready(a->ra) && (!b || sio_redis_adapter_ready(b->ra));
}
#endif
