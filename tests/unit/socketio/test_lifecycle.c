/* Server lifecycle in process: attach Socket.IO to an app, connect a raw WebSocket client over
 * loopback, CONNECT to "/", get the CONNECT answer and an event, then close the server and
 * the app; nothing may leak (run under ASan) and every callback must have happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "http/server.h"
#include "sio/io.h"
#include "socketio/raw_client.h"

typedef struct state {
  uv_loop_t loop;
  sio_app *app;
  sio_io *io;
  uv_tcp_t client;
  uv_connect_t creq;
  char in[8192];
  size_t inlen;
  int step;
  int connections, disconnects;
  char reason[64];
  int app_closed;
  long fail_at; /* allocation failures start once the WebSocket is open (libuv aborts on
                   allocation failure inside its poller, so the TCP setup stays out of it) */
} state;

static state st;

static void on_disc(sio_socket *s, const char *reason, void *u) {
  st.disconnects++;
  snprintf(st.reason, sizeof st.reason, "%s", reason);
}

static void on_hello(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (st.fail_at < 0) { /* (under allocation failures any of these may be missing) */
    assert_non_null(ack);
    /* drop_handshake: after the connection handlers the request is gone, the address stays */
    assert_string_equal(sio_handshake_address(s), "127.0.0.1");
    assert_null(sio_handshake_header(s, "host"));
  }
  if (ack) sio_ack_send_args(ack, a);
}

static void on_conn(sio_socket *s, void *u) {
  st.connections++;
  if (st.fail_at < 0) /* still there during "connection" */
    assert_string_equal(sio_handshake_header(s, "host"), "x");
  sio_on(s, "hello", on_hello, NULL);
  sio_on_disconnect(s, on_disc, NULL);
  sio_emitf(s, "welcome", "s", "hi");
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  b->base = st.in + st.inlen;
  b->len = sizeof st.in - st.inlen;
}

static void app_closed(sio_app *app, void *u) {
  st.app_closed = 1;
}
static void client_closed(uv_handle_t *h) {}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)s, client_closed);
    return;
  }
  st.inlen += (size_t)n;
  st.in[st.inlen] = 0;
  if (st.step == 0 && strstr(st.in, "\r\n\r\n") && strstr(st.in, "0{\"sid\"")) {
    st.step = 1;
    if (st.fail_at >= 0) sio__alloc_fail_after(st.fail_at);
    raw_send_text(&st.client, "40");
  }
  if (st.step == 1 && strstr(st.in, "40{\"sid\":\"") && strstr(st.in, "42[\"welcome\",\"hi\"]")) {
    st.step = 2;
    raw_send_text(&st.client, "421[\"hello\",{\"a\" : [1,2]}]");
  }
  if (st.step == 2 && strstr(st.in, "431[{\"a\":[1,2]}]")) {
    st.step = 3;
    sio_io_close(st.io);
    sio_app_close(st.app, app_closed, NULL);
  }
}

static void on_connect(uv_connect_t *r, int status) {
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&st.client, alloc_cb, read_cb);
  raw_write(&st.client, raw_upgrade, strlen(raw_upgrade));
}

/* Runs the scenario; with fail_at >= 0 the fail_at-th allocation after the WebSocket opened
 * fails (and every later one until the scenario winds down): nothing may crash or leak. */
static void scenario(long fail_at) {
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  ao.shutdown_timeout_ms = 300;
  st.app = sio_app_new(&st.loop, &ao);
  assert_non_null(st.app);
  sio_io_opts io_opts = sio_io_opts_default();
  io_opts.drop_handshake = 1;
  st.io = sio_io_attach(st.app, &io_opts);
  assert_non_null(st.io);
  assert_int_equal(sio_io_on_connection(st.io, on_conn, NULL), 0);
  assert_int_equal(sio_app_listen(st.app), 0);
  st.fail_at = fail_at;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", sio_app_port(st.app), &addr);
  uv_tcp_init(&st.loop, &st.client);
  uv_tcp_connect(&st.creq, &st.client, (struct sockaddr *)&addr, on_connect);
  for (int i = 0; i < 2000 && !st.app_closed; i++) {
    uv_run(&st.loop, fail_at >= 0 ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    if (fail_at >= 0 && i > 150 && !st.app_closed && !sio__app_closing(st.app)) {
      sio__alloc_fail_reset(); /* the scenario stalled: wind down */
      sio_io_close(st.io);
      sio_app_close(st.app, app_closed, NULL);
    }
    if (fail_at >= 0) uv_sleep(1);
  }
  sio__alloc_fail_reset();
  if (fail_at >= 0) {
    if (!uv_is_closing((uv_handle_t *)&st.client))
      uv_close((uv_handle_t *)&st.client, client_closed);
    sio_app_free(st.app);
    sio_io_free(st.io);
    for (int i = 0; i < 100 && uv_loop_alive(&st.loop); i++) uv_run(&st.loop, UV_RUN_NOWAIT);
    uv_loop_close(&st.loop);
    return;
  }
  assert_int_equal(st.step, 3);
  assert_true(st.app_closed);
  assert_int_equal(st.connections, 1);
  assert_int_equal(st.disconnects, 1);
  assert_string_equal(st.reason, "server shutting down");
  if (!uv_is_closing((uv_handle_t *)&st.client)) uv_close((uv_handle_t *)&st.client, client_closed);
  sio_app_free(st.app);
  sio_io_free(st.io);
  for (int i = 0; i < 100 && uv_loop_alive(&st.loop); i++) uv_run(&st.loop, UV_RUN_NOWAIT);
  uv_loop_close(&st.loop);
}

static void test_lifecycle(void **state_) {
  scenario(-1);
}

static void test_lifecycle_alloc_failures(void **state_) {
  for (long k = 0; k < 80; k += 2) scenario(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_lifecycle),
                                     cmocka_unit_test(test_lifecycle_alloc_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
