/* Ownership runs from the app down: sio_app_free frees what is attached to it (a Socket.IO
 * server, an Engine.IO server, a WebSocket route), and the servers' own free functions are safe
 * in any order a user writes them before the loop runs again: app then servers (the old order),
 * servers then app, the app twice, a server twice. Each order runs with the servers idle and
 * with live clients over loopback (a Socket.IO WebSocket client, an Engine.IO WebSocket and a
 * held polling GET, a raw WebSocket on the route). Run under ASan by make test: a use after
 * free or a leak fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "sio/engine.h"
#include "sio/io.h"
#include "sio/ws.h"
#include "socketio/raw_client.h"

enum order { APP_THEN_SERVERS, SERVERS_THEN_APP, APP_TWICE, SERVERS_TWICE };

enum { C_IO, C_EIO_WS, C_EIO_POLL, C_ROUTE, C_LATE, NCLIENTS };

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t creq;
  const char *request;
  char in[4096];
  size_t inlen;
  int open, closed, polling;
} client;

static struct {
  uv_loop_t loop;
  sio_app *app;
  sio_io *io;
  sio_eio *eio;
  client c[NCLIENTS];
  int io_connections, eio_connections, ws_opens;
} st;

static const char up_eio[] = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n";
static const char up_route[] = "GET /ws HTTP/1.1\r\nHost: x\r\n"
                               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n";
static const char poll_open[] =
    "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";
static const char io_poll_open[] =
    "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

static void on_io_connection(sio_socket *s, void *u) {
  st.io_connections++;
}
static void on_eio_connection(sio_eio_socket *s, void *u) {
  st.eio_connections++;
}
static void on_eio_message(sio_eio_socket *s, const char *d, size_t n, int binary, void *u) {}
static void on_eio_close(sio_eio_socket *s, const char *reason, void *u) {}
static void on_ws_open(sio_ws *ws, void *u) {
  st.ws_opens++;
}
static void on_ws_message(sio_ws *ws, const char *d, size_t n, int binary, void *u) {}
static void on_ws_close(sio_ws *ws, int code, const char *r, size_t rl, void *u) {}

/* After the polling handshake's answer: the held GET of that session. */
static void hold_get(client *c) {
  const char *sid = strstr(c->in, "\"sid\":\"");
  if (!sid) return;
  sid += 7;
  const char *end = strchr(sid, '"');
  if (!end) return;
  static char get[256];
  int n = snprintf(get, sizeof get,
                   "GET /engine.io/?EIO=4&transport=polling&sid=%.*s HTTP/1.1\r\nHost: x\r\n\r\n",
                   (int)(end - sid), sid);
  c->polling = 1;
  c->open = 1;
  raw_write(&c->tcp, get, (size_t)n);
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  client *c = h->data;
  b->base = c->in + c->inlen;
  b->len = sizeof c->in - 1 - c->inlen;
}
static void on_closed(uv_handle_t *h) {
  ((client *)h->data)->closed = 1;
}
static void close_client(client *c) {
  if (c->request && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = s->data;
  if (n < 0) {
    close_client(c);
    return;
  }
  c->inlen += (size_t)n;
  c->in[c->inlen] = 0;
  if (c == &st.c[C_IO] && !c->open && strstr(c->in, "0{\"sid\"")) {
    c->open = 1;
    raw_send_text(&c->tcp, "40"); /* CONNECT to "/" */
  }
  if (c == &st.c[C_EIO_POLL] && !c->polling && strstr(c->in, "\r\n\r\n")) hold_get(c);
}
static void on_connect(uv_connect_t *r, int status) {
  client *c = r->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  raw_write(&c->tcp, c->request, strlen(c->request));
}
static void start_client(client *c, const char *request) {
  memset(c, 0, sizeof *c);
  c->request = request;
  c->tcp.data = c->creq.data = c;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", sio_app_port(st.app), &a);
  uv_tcp_init(&st.loop, &c->tcp);
  uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&a, on_connect);
}

static void run_until(int (*done)(void)) {
  for (int i = 0; i < 3000 && !done(); i++) uv_run(&st.loop, UV_RUN_ONCE);
}
static int all_open(void) {
  return st.io_connections == 1 && st.eio_connections == 2 && st.ws_opens == 1 &&
         st.c[C_EIO_POLL].polling;
}
static int late_answered(void) {
  return st.c[C_LATE].closed;
}

static void setup(void) {
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  st.app = sio_app_new(&st.loop, &ao);
  assert_non_null(st.app);
  st.io = sio_io_attach(st.app, NULL);
  assert_non_null(st.io);
  assert_int_equal(sio_io_on_connection(st.io, on_io_connection, NULL), 0);
  sio_eio_opts eo = sio_eio_opts_default();
  eo.path = "/engine.io/";
  sio_eio_handlers eh = {
      .connection = on_eio_connection, .message = on_eio_message, .close = on_eio_close};
  st.eio = sio_eio_attach(st.app, &eo, &eh, NULL);
  assert_non_null(st.eio);
  sio_ws_handlers wh = {.open = on_ws_open, .message = on_ws_message, .close = on_ws_close};
  assert_int_equal(sio_app_ws(st.app, "/ws", &wh, NULL, NULL), 0);
  assert_int_equal(sio_app_listen(st.app), 0);
}

static void connect_clients(void) {
  start_client(&st.c[C_IO], raw_upgrade);
  start_client(&st.c[C_EIO_WS], up_eio);
  start_client(&st.c[C_EIO_POLL], poll_open);
  start_client(&st.c[C_ROUTE], up_route);
  run_until(all_open);
  assert_true(all_open());
}

/* The servers were freed while the app lives: their paths are the app's again (404). */
static void check_unhooked(void) {
  for (int i = 0; i < 20; i++) uv_run(&st.loop, UV_RUN_NOWAIT);
  start_client(&st.c[C_LATE], io_poll_open);
  run_until(late_answered);
  assert_non_null(strstr(st.c[C_LATE].in, "HTTP/1.1 404"));
}

static void free_in_order(enum order o) {
  switch (o) {
  case APP_THEN_SERVERS:
    sio_app_free(st.app);
    sio_io_free(st.io);
    sio_eio_free(st.eio);
    break;
  case SERVERS_THEN_APP:
    sio_io_free(st.io);
    sio_eio_free(st.eio);
    check_unhooked();
    sio_app_free(st.app);
    break;
  case APP_TWICE:
    sio_app_free(st.app);
    sio_app_free(st.app);
    break;
  case SERVERS_TWICE:
    sio_io_free(st.io);
    sio_io_free(st.io);
    sio_eio_free(st.eio);
    sio_eio_free(st.eio);
    sio_app_free(st.app);
    sio_io_free(st.io);
    sio_eio_free(st.eio);
    break;
  }
}

static void scenario(enum order o, int live) {
  setup();
  if (live) connect_clients();
  free_in_order(o);
  for (int i = 0; i < NCLIENTS; i++) close_client(&st.c[i]);
  for (int i = 0; i < 5000 && uv_loop_alive(&st.loop); i++) uv_run(&st.loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&st.loop), 0); /* every handle of the app and servers closed */
}

static void test_app_then_servers(void **s) {
  scenario(APP_THEN_SERVERS, 0);
  scenario(APP_THEN_SERVERS, 1);
}
static void test_servers_then_app(void **s) {
  scenario(SERVERS_THEN_APP, 0);
  scenario(SERVERS_THEN_APP, 1);
}
static void test_app_twice(void **s) {
  scenario(APP_TWICE, 0);
  scenario(APP_TWICE, 1);
}
static void test_servers_twice(void **s) {
  scenario(SERVERS_TWICE, 0);
  scenario(SERVERS_TWICE, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_app_then_servers),
      cmocka_unit_test(test_servers_then_app),
      cmocka_unit_test(test_app_twice),
      cmocka_unit_test(test_servers_twice),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
