/* Unit tests for src/net: an echo over loopback through sio__listen/sio__conn (batched writes,
 * large writes that need uv_write, graceful close), and the timer wheel's ordering and
 * accuracy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "net/net.h"

typedef struct echo_state {
  uv_loop_t loop;
  sio__net *net;
  sio__listener *listener;
  uv_tcp_t client;
  uv_connect_t connect_req;
  uv_write_t write_req;
  char *sent;
  size_t sent_len;
  char *got;
  size_t got_len;
  int server_closed;
} echo_state;

static void echo_on_data(sio__conn *c, const char *data, size_t len) {
  /* Two writes per read: both must arrive, in order. */
  size_t half = len / 2;
  assert_int_equal(sio__conn_write_copy(c, data, half), 0);
  assert_int_equal(sio__conn_write_copy(c, data + half, len - half), 0);
}

static void echo_on_eof(sio__conn *c, int err) { sio__conn_close(c); }

static void echo_on_close(sio__conn *c) {
  echo_state *st = c->ctx;
  st->server_closed++;
}

static const sio__conn_handler echo_handler = {echo_on_data, echo_on_eof, NULL, echo_on_close};

static void on_accept(sio__listener *l, sio__conn *c, void *user) {
  c->handler = &echo_handler;
  c->ctx = user;
}

static void client_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof(buf));
}

static void client_closed(uv_handle_t *h) {
  echo_state *st = h->data;
  sio__listener_close(st->listener);
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  echo_state *st = s->data;
  if (n > 0) {
    memcpy(st->got + st->got_len, b->base, (size_t)n);
    st->got_len += (size_t)n;
    if (st->got_len == st->sent_len) uv_close((uv_handle_t *)s, client_closed);
  } else if (n < 0) {
    uv_close((uv_handle_t *)s, client_closed);
  }
}

static void client_wrote(uv_write_t *r, int status) { assert_int_equal(status, 0); }

static void client_connected(uv_connect_t *r, int status) {
  echo_state *st = r->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&st->client, client_alloc, client_read);
  uv_buf_t b = uv_buf_init(st->sent, (unsigned)st->sent_len);
  uv_write(&st->write_req, (uv_stream_t *)&st->client, &b, 1, client_wrote);
}

static void run_echo(size_t size) {
  echo_state st;
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  st.net = sio__net_new(&st.loop);
  assert_non_null(st.net);
  sio__listen_opts o = {.host = "127.0.0.1", .port = 0};
  assert_int_equal(sio__listen(st.net, &o, on_accept, &st, &st.listener), 0);
  int port = sio__listener_port(st.listener);
  assert_true(port > 0);
  st.sent_len = size;
  st.sent = malloc(size);
  st.got = malloc(size);
  for (size_t i = 0; i < size; i++) st.sent[i] = (char)(i * 7 + 3);
  uv_tcp_init(&st.loop, &st.client);
  st.client.data = &st;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  st.connect_req.data = &st;
  uv_tcp_connect(&st.connect_req, &st.client, (struct sockaddr *)&addr, client_connected);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(st.got_len, size);
  assert_memory_equal(st.got, st.sent, size);
  assert_int_equal(st.server_closed, 1);
  sio__net_free(st.net);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&st.loop), 0);
  free(st.sent);
  free(st.got);
}

static void test_echo_small(void **s) { run_echo(100); }
static void test_echo_large(void **s) { run_echo(8 * 1024 * 1024); }

typedef struct timer_state {
  sio__timer t[4];
  int order[4];
  int fired;
  uint64_t start;
  uint64_t fired_at[4];
  sio__net *net;
} timer_state;

static timer_state *tstate;

static void on_timer(sio__timer *t) {
  int i = (int)(t - tstate->t);
  tstate->order[tstate->fired++] = i;
  tstate->fired_at[i] = sio__net_now(tstate->net);
}

static void test_timers(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  timer_state st;
  memset(&st, 0, sizeof st);
  tstate = &st;
  st.net = sio__net_new(&loop);
  for (int i = 0; i < 4; i++) sio__timer_init(&st.t[i]);
  st.start = uv_now(&loop);
  sio__timer_start(st.net, &st.t[0], 300, on_timer);
  sio__timer_start(st.net, &st.t[1], 50, on_timer);
  sio__timer_start(st.net, &st.t[2], 2500, on_timer); /* beyond one wheel turn */
  sio__timer_start(st.net, &st.t[3], 100, on_timer);
  sio__timer_stop(&st.t[3]);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(st.fired, 3);
  assert_int_equal(st.order[0], 1);
  assert_int_equal(st.order[1], 0);
  assert_int_equal(st.order[2], 2);
  assert_true(st.fired_at[0] - st.start >= 300 && st.fired_at[0] - st.start < 340);
  assert_true(st.fired_at[2] - st.start >= 2500 && st.fired_at[2] - st.start < 2540);
  sio__net_free(st.net);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_small),
      cmocka_unit_test(test_echo_large),
      cmocka_unit_test(test_timers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
