/* In-process tests of the HTTP server: a libuv client on the same loop talks to an app on a
 * free port. Covers the internal hooks the upper layers use (upgrade takeover and refusal,
 * intercepts, shutdown hooks), graceful close, allocation failure at every step of a
 * request (no crash, no leak), and the CORS policy both the app's middleware and Engine.IO
 * use (http/negotiate.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/negotiate.h"
#include "http/server.h"

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uv_timer_t timer;
  const char *req;
  size_t req_len;
  char *resp;
  size_t resp_len;
  int done, closes;
} client;

static void c_closed(uv_handle_t *h) {
  ((client *)h->data)->closes++;
}
static void c_finish(client *c) {
  if (c->done) return;
  c->done = 1;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, c_closed);
  uv_close((uv_handle_t *)&c->timer, c_closed);
}
static void c_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof(buf));
}
static void c_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = s->data;
  if (n < 0) {
    c_finish(c);
    return;
  }
  c->resp = realloc(c->resp, c->resp_len + (size_t)n + 1);
  memcpy(c->resp + c->resp_len, b->base, (size_t)n);
  c->resp_len += (size_t)n;
  c->resp[c->resp_len] = 0;
}
static void c_written(uv_write_t *w, int status) {}
static void c_connected(uv_connect_t *r, int status) {
  client *c = r->data;
  if (status < 0) {
    c_finish(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, c_alloc, c_read);
  uv_buf_t b = uv_buf_init((char *)c->req, (unsigned)c->req_len);
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, c_written);
}
static void c_timeout(uv_timer_t *t) {
  c_finish(t->data);
}

/* Sends req, returns everything read until the server closes (or 2 s pass). Caller frees. */
static char *roundtrip(uv_loop_t *loop, int port, const char *req) {
  client *c = calloc(1, sizeof(*c));
  c->req = req;
  c->req_len = strlen(req);
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c->conn.data = c;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&a, c_connected);
  uv_timer_start(&c->timer, c_timeout, 2000, 0);
  while (c->closes < 2) uv_run(loop, UV_RUN_ONCE);
  char *r = c->resp ? c->resp : strdup("");
  free(c);
  return r;
}

static void on_hello(sio_req *req, sio_res *res, void *u) {
  sio_res_text(res, "hello");
}

static sio_app *new_app(uv_loop_t *loop) {
  sio_app_opts o = sio_app_opts_default();
  o.port_any = 1;
  o.host = "127.0.0.1";
  sio_app *app = sio_app_new(loop, &o);
  assert_non_null(app);
  assert_int_equal(sio_app_get(app, "/", on_hello, NULL), 0);
  return app;
}

static void free_app(uv_loop_t *loop, sio_app *app) {
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
}

static void test_get(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = new_app(&loop);
  assert_int_equal(sio_app_listen(app), 0);
  char *r =
      roundtrip(&loop, sio_app_port(app), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(r, "Content-Length: 5\r\n"));
  assert_non_null(strstr(r, "\r\n\r\nhello"));
  free(r);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- upgrade hooks ---------------------------------------------------------------------------- */
static void echo_data(sio__conn *c, const char *d, size_t n) {
  sio__conn_write_copy(c, d, n);
}
static void echo_close(sio__conn *c) {
  (*(int *)c->ctx)++;
}
static const sio__conn_handler echo_handler = {echo_data, NULL, NULL, echo_close};
static int echo_closed;

static int upgrade_take(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                        size_t rest_len, void *user) {
  if (strcmp(sio_req_header(req, "Upgrade"), "echo") != 0) {
    sio_res_status(res, 426);
    sio_res_text(res, "want echo");
    return 0;
  }
  (*(int *)user)++;
  const char *ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";
  sio__conn_write_copy(conn, ok, strlen(ok));
  sio__conn_write_copy(conn, rest, rest_len); /* echo what came with the head */
  conn->handler = &echo_handler;
  conn->ctx = &echo_closed;
  sio__conn_close(conn); /* the test client reads until close */
  return 1;
}

static int upgrade_other(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                         size_t rest_len, void *user) {
  sio_res_text(res, "shorter prefix");
  return 0;
}

static void test_upgrade(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = new_app(&loop);
  int taken = 0;
  assert_int_equal(sio__app_on_upgrade(app, "/", upgrade_other, NULL), 0);
  assert_int_equal(sio__app_on_upgrade(app, "/ws", upgrade_take, &taken), 0);
  assert_int_equal(sio_app_listen(app), 0);
  int port = sio_app_port(app);
  char *r = roundtrip(
      &loop, port,
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nRAWBYTES");
  assert_int_equal(taken, 1);
  assert_non_null(strstr(r, "HTTP/1.1 101 Switching Protocols\r\n"));
  assert_non_null(strstr(r, "\r\n\r\nRAWBYTES"));
  free(r);
  for (int i = 0; i < 1000 && echo_closed == 0; i++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(echo_closed, 1);
  /* refused: answered through res, connection closed afterwards */
  r = roundtrip(&loop, port,
                "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: other\r\nConnection: Upgrade\r\n\r\n");
  assert_non_null(strstr(r, "HTTP/1.1 426 Upgrade Required\r\n"));
  assert_non_null(strstr(r, "want echo"));
  free(r);
  /* the longest prefix wins; "/" catches the rest */
  r = roundtrip(&loop, port, "GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n\r\n");
  assert_non_null(strstr(r, "shorter prefix"));
  free(r);
  /* no Upgrade header: ordinary request */
  r = roundtrip(&loop, port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(r, "hello"));
  free(r);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- intercepts and shutdown ------------------------------------------------------------------ */
static void intercept(sio_req *req, sio_res *res, void *u) {
  if (strcmp(sio__req_query_string(req), "fall") == 0) {
    sio_next(req, res);
    return;
  }
  char ip[64];
  int port;
  assert_int_equal(sio__req_peer(req, ip, sizeof(ip), &port), 0);
  assert_non_null(sio__req_conn(req));
  sio_res_text(res, "engine");
}

static int shutdown_calls, closed_calls;
static void on_shutdown(sio_app *app, void *u) {
  shutdown_calls++;
  assert_true(sio__app_closing(app));
}
static void on_closed(sio_app *app, void *u) {
  closed_calls++;
}

static void test_intercept_and_shutdown(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = new_app(&loop);
  assert_non_null(sio__app_net(app));
  assert_int_equal(sio_app_intercept(app, "/socket.io/", intercept, NULL), 0);
  assert_int_equal(sio_app_get(app, "/socket.io/x", on_hello, NULL), 0);
  assert_int_equal(sio__app_on_shutdown(app, on_shutdown, NULL), 0);
  assert_int_equal(sio_app_listen(app), 0);
  int port = sio_app_port(app);
  char *r = roundtrip(&loop, port,
                      "GET /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(r, "\r\n\r\nengine"));
  free(r);
  r = roundtrip(&loop, port,
                "GET /socket.io/x?fall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null(strstr(r, "\r\n\r\nhello"));
  free(r);
  sio_app_close(app, on_closed, NULL);
  assert_int_equal(shutdown_calls, 1);
  while (!closed_calls) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(closed_calls, 1);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- shutdown deadline: a response that never comes is cut, and its handler told ----------- */
static int never_closed;
static void on_never_closed(sio_res *res, void *u) {
  never_closed++;
}
static void on_never(sio_req *req, sio_res *res, void *u) {
  sio_res_on_close(res, on_never_closed, NULL);
}

typedef struct held_client {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  int closed;
} held_client;
static void hc_closed(uv_handle_t *h) {
  ((held_client *)h->data)->closed = 1;
}
static void hc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) uv_close((uv_handle_t *)s, hc_closed);
}
static void hc_connected(uv_connect_t *r, int status) {
  held_client *c = r->data;
  static const char req[] = "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)req, sizeof(req) - 1);
  uv_read_start((uv_stream_t *)&c->tcp, c_alloc, hc_read);
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, c_written);
}

static void test_shutdown_deadline(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app_opts o = sio_app_opts_default();
  o.port_any = 1;
  o.host = "127.0.0.1";
  o.shutdown_timeout_ms = 100;
  sio_app *app = sio_app_new(&loop, &o);
  sio_app_get(app, "/never", on_never, NULL);
  assert_int_equal(sio_app_listen(app), 0);
  held_client c;
  memset(&c, 0, sizeof(c));
  uv_tcp_init(&loop, &c.tcp);
  c.tcp.data = c.conn.data = &c;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", sio_app_port(app), &a);
  uv_tcp_connect(&c.conn, &c.tcp, (struct sockaddr *)&a, hc_connected);
  for (int i = 0; i < 50; i++) uv_run(&loop, UV_RUN_NOWAIT); /* request in flight */
  uint64_t t0 = uv_now(&loop);
  closed_calls = 0;
  sio_app_close(app, on_closed, NULL);
  while (!closed_calls) uv_run(&loop, UV_RUN_ONCE);
  assert_true(uv_now(&loop) - t0 >= 90);
  assert_int_equal(never_closed, 1);
  while (!c.closed) uv_run(&loop, UV_RUN_ONCE); /* the server cut the connection */
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- a body read always ends in one callback, even when the client leaves mid-body ---------- */
static int body_calls, body_status;
static void on_body(sio_req *req, sio_res *res, int status, void *u) {
  body_calls++;
  body_status = status;
  sio_res_send_status(res, status ? status : 200); /* goes nowhere once the client left */
}
static void on_upload(sio_req *req, sio_res *res, void *u) {
  assert_int_equal(sio_req_read_body(req, res, 0, on_body, NULL), 0);
}

typedef struct cut_client {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  int reset, closed;
} cut_client;
static void cut_closed(uv_handle_t *h) {
  ((cut_client *)h->data)->closed = 1;
}
static void cut_connected(uv_connect_t *r, int status) {
  cut_client *c = r->data;
  static const char req[] =
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789";
  uv_buf_t b = uv_buf_init((char *)req, sizeof(req) - 1);
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, c_written);
}

/* Sends a head announcing 100 bytes and 10 of them; returns once the server has the request. */
static void cut_start(uv_loop_t *loop, sio_app *app, cut_client *c) {
  memset(c, 0, sizeof(*c));
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c->conn.data = c;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", sio_app_port(app), &a);
  uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&a, cut_connected);
  for (int i = 0; i < 50; i++) uv_run(loop, UV_RUN_NOWAIT);
}

static void cut_mid_body(int how) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  long live = sio__alloc_live();
  sio_app *app = new_app(&loop);
  sio_app_post(app, "/upload", on_upload, NULL);
  assert_int_equal(sio_app_listen(app), 0);
  cut_client c;
  body_calls = body_status = 0;
  cut_start(&loop, app, &c);
  assert_int_equal(body_calls, 0); /* the body is still pending */
  if (how == 0) {
    uv_close((uv_handle_t *)&c.tcp, cut_closed); /* FIN mid-body */
  } else if (how == 1) {
    uv_tcp_close_reset(&c.tcp, cut_closed); /* RST mid-body */
  } else {
    sio_app_free(app); /* the app goes away with the body pending */
    app = NULL;
    uv_close((uv_handle_t *)&c.tcp, cut_closed);
  }
  for (int i = 0; i < 200 && !body_calls; i++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(body_calls, 1);
  assert_int_equal(body_status, SIO_STATUS_CLIENT_GONE);
  for (int i = 0; i < 50; i++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(body_calls, 1); /* exactly one */
  if (app)
    free_app(&loop, app);
  else
    uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(sio__alloc_live(), live); /* request and connection state freed */
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_body_cut_by_fin(void **s) {
  cut_mid_body(0);
}
static void test_body_cut_by_rst(void **s) {
  cut_mid_body(1);
}
static void test_body_pending_at_app_free(void **s) {
  cut_mid_body(2);
}

/* --- a wave of header timeouts is spread over several loop iterations ------------------------
 * Slowloris connections open together and time out together. Acting on all of them in one
 * loop iteration (a 408 and a close each) stalled every other client (the soak: echo p99 of
 * 0.4 to 0.8 s). They are spread: the 408s arrive over tens of ms, and a request made when
 * the first arrives is answered before the last. */
#define LORIS_N 400
typedef struct loris_client {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uint64_t got_408; /* uv_hrtime when the 408 arrived */
  int closed;
} loris_client;
static int loris_408s;
static uint64_t loris_first, loris_last;
static void loris_closed(uv_handle_t *h) {
  ((loris_client *)h->data)->closed = 1;
}
static void loris_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  loris_client *c = s->data;
  if (n > 0 && !c->got_408 && n >= 12 && memcmp(b->base, "HTTP/1.1 408", 12) == 0) {
    c->got_408 = uv_hrtime();
    if (!loris_408s++) loris_first = c->got_408;
    loris_last = c->got_408;
  }
  if (n < 0) uv_close((uv_handle_t *)s, loris_closed);
}
static void loris_connected(uv_connect_t *r, int status) {
  loris_client *c = r->data;
  uv_buf_t b = uv_buf_init("G", 1); /* one byte of a head, then nothing */
  uv_read_start((uv_stream_t *)&c->tcp, c_alloc, loris_read);
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, c_written);
}

static void test_header_timeouts_spread(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app_opts o = sio_app_opts_default();
  o.port_any = 1;
  o.host = "127.0.0.1";
  o.header_timeout_ms = 200;
  sio_app *app = sio_app_new(&loop, &o);
  assert_int_equal(sio_app_get(app, "/", on_hello, NULL), 0);
  assert_int_equal(sio_app_listen(app), 0);
  loris_client *cs = calloc(LORIS_N, sizeof(*cs));
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", sio_app_port(app), &a);
  loris_408s = 0;
  for (int i = 0; i < LORIS_N; i++) {
    uv_tcp_init(&loop, &cs[i].tcp);
    cs[i].tcp.data = cs[i].conn.data = &cs[i];
    uv_tcp_connect(&cs[i].conn, &cs[i].tcp, (struct sockaddr *)&a, loris_connected);
  }
  while (!loris_408s) uv_run(&loop, UV_RUN_ONCE); /* the wave begins */
  /* a legitimate request now is served while the wave goes on */
  char *r =
      roundtrip(&loop, sio_app_port(app), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  uint64_t answered = uv_hrtime();
  assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
  free(r);
  int closed;
  do {
    uv_run(&loop, UV_RUN_ONCE);
    closed = 0;
    for (int i = 0; i < LORIS_N; i++) closed += cs[i].closed;
  } while (closed < LORIS_N);
  assert_int_equal(loris_408s, LORIS_N); /* every one got its 408 */
  double spread_ms = (double)(loris_last - loris_first) / 1e6;
  if (spread_ms < 25) fail_msg("the 408s came within %.1f ms: not spread", spread_ms);
  assert_true(answered < loris_last);
  free(cs);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- allocation failure at every step of a request ------------------------------------------- */
static void on_json(sio_req *req, sio_res *res, void *u) {
  sio_res_jsonf(res, "{s:s,s:s?}", "id", sio_req_param(req, "id"), "q", sio_req_query(req, "q"));
}

static sio_app *json_app(uv_loop_t *loop) {
  sio_app *app = new_app(loop);
  sio_app_use_json(app, 0);
  sio_app_post(app, "/items/:id", on_json, NULL);
  assert_int_equal(sio_app_listen(app), 0);
  return app;
}

/* One loop for every round: libuv aborts when it cannot grow its own tables (out of our
 * hands), so a warm-up round sizes them before allocations start failing. */
static void test_alloc_failures(void **s) {
  const char *req = "POST /items/42?q=a%20b HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\nContent-Type: "
                    "application/json\r\n"
                    "Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}";
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = json_app(&loop);
  char *r = roundtrip(&loop, sio_app_port(app), req);
  assert_non_null(strstr(r, "{\"id\":\"42\",\"q\":\"a b\"}"));
  free(r);
  free_app(&loop, app);
  for (long n = 0; n < 200; n++) {
    long live = sio__alloc_live();
    app = json_app(&loop);
    sio__alloc_fail_after(n);
    r = roundtrip(&loop, sio_app_port(app), req);
    sio__alloc_fail_reset();
    free(r);
    free_app(&loop, app);
    if (sio__alloc_live() != live) fprintf(stderr, "leak after failing at allocation %ld\n", n);
    assert_int_equal(sio__alloc_live(), live);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- conditional GET (sio_req_fresh) --------------------------------------------------------- */
#define LAST_MODIFIED 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
static void on_cached(sio_req *req, sio_res *res, void *u) {
  sio_res_set_header(res, "ETag", "\"v1\"");
  if (sio_req_fresh(req, "\"v1\"", LAST_MODIFIED)) {
    sio_res_status(res, 304);
    sio_res_end(res);
    return;
  }
  sio_res_text(res, "body");
}

/* The status line a GET /c with the given conditional header lines gets. */
static int cached_status(uv_loop_t *loop, int port, const char *headers) {
  char req[512];
  snprintf(req, sizeof req, "GET /c HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", headers);
  char *r = roundtrip(loop, port, req);
  int status = 0;
  sscanf(r, "HTTP/1.1 %d", &status);
  if (status == 304) assert_null(strstr(r, "body")); /* a 304 carries no body */
  free(r);
  return status;
}

static void test_fresh(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = new_app(&loop);
  assert_int_equal(sio_app_get(app, "/c", on_cached, NULL), 0);
  assert_int_equal(sio_app_listen(app), 0);
  int port = sio_app_port(app);
  assert_int_equal(cached_status(&loop, port, ""), 200);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: \"v1\"\r\n"), 304);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: W/\"v1\"\r\n"), 304);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: \"a\", \"v1\"\r\n"), 304);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: *\r\n"), 304);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: \"v2\"\r\n"), 200);
  assert_int_equal(cached_status(&loop, port, "If-None-Match: \"v1x\"\r\n"), 200);
  const char *same = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
  assert_int_equal(cached_status(&loop, port, same), 304);
  assert_int_equal(
      cached_status(&loop, port, "If-Modified-Since: Mon, 07 Nov 1994 00:00:00 GMT\r\n"), 304);
  assert_int_equal(
      cached_status(&loop, port, "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"), 200);
  assert_int_equal(cached_status(&loop, port, "If-Modified-Since: yesterday\r\n"), 200);
  /* If-None-Match decides when present (RFC 9110 13.2.2) */
  assert_int_equal(
      cached_status(
          &loop, port,
          "If-None-Match: \"v2\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
      200);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- CORS (http/negotiate.c) ----------------------------------------------------------------
 * The app's middleware (a list, credentials, max-age; only an OPTIONS with
 * Access-Control-Request-Method is a preflight) and the policy as Engine.IO sets it (an origin
 * function, every OPTIONS a preflight), through an intercept. A preflight is answered 204 with
 * Content-Length: 0 and no body type, as the cors middleware does. */
static int origin_ok(const char *origin, void *user) {
  return strcmp(origin, "http://fn.test") == 0;
}
static const sio__cors eio_like = {
    .origin_fn = origin_ok, .credentials = 1, .every_options_is_preflight = 1};
static const sio__cors any_with_credentials = {.origin = "*", .credentials = 1};
static void cors_intercept(sio_req *req, sio_res *res, void *user) {
  if (!sio__cors_apply(user, req, res)) sio_res_text(res, "after cors");
}

static char *cors_req(uv_loop_t *loop, int port, const char *method, const char *path,
                      const char *headers) {
  char req[512];
  snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", method,
           path, headers);
  return roundtrip(loop, port, req);
}

static void test_cors(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = new_app(&loop);
  sio_cors_opts o = {.origin = "http://a.test, http://b.test", .credentials = 1, .max_age = 60};
  assert_int_equal(sio_app_use_cors(app, "/api", &o), 0);
  assert_int_equal(sio_app_get(app, "/api/x", on_hello, NULL), 0);
  assert_int_equal(sio_app_intercept(app, "/eio/", cors_intercept, (void *)&eio_like), 0);
  assert_int_equal(sio_app_intercept(app, "/any/", cors_intercept, (void *)&any_with_credentials),
                   0);
  assert_int_equal(sio_app_listen(app), 0);
  int port = sio_app_port(app);
  const char *pre = "Origin: http://b.test\r\nAccess-Control-Request-Method: PUT\r\n"
                    "Access-Control-Request-Headers: x-a\r\n";
  char *r = cors_req(&loop, port, "OPTIONS", "/api/x", pre);
  assert_non_null(strstr(r, "HTTP/1.1 204 No Content\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Origin: http://b.test\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Credentials: true\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Headers: x-a\r\n"));
  assert_non_null(strstr(r, "Access-Control-Max-Age: 60\r\n"));
  assert_non_null(strstr(r, "Vary: Origin\r\n"));
  assert_non_null(strstr(r, "Vary: Access-Control-Request-Headers\r\n"));
  assert_non_null(strstr(r, "Content-Length: 0\r\n"));
  assert_null(strstr(r, "Content-Type"));
  free(r);
  /* a refused origin: a preflight still answered, without the grants */
  r = cors_req(&loop, port, "OPTIONS", "/api/x",
               "Origin: http://evil.test\r\nAccess-Control-Request-Method: PUT\r\n");
  assert_non_null(strstr(r, "HTTP/1.1 204 No Content\r\n"));
  assert_null(strstr(r, "Access-Control-Allow"));
  assert_non_null(strstr(r, "Vary: Origin\r\n"));
  free(r);
  r = cors_req(&loop, port, "GET", "/api/x", "Origin: http://a.test\r\n");
  assert_non_null(strstr(r, "Access-Control-Allow-Origin: http://a.test\r\n"));
  assert_non_null(strstr(r, "\r\n\r\nhello"));
  free(r);
  /* an OPTIONS that is no preflight is the router's (no CORS grant of methods) */
  r = cors_req(&loop, port, "OPTIONS", "/api/x", "Origin: http://a.test\r\n");
  assert_null(strstr(r, "Access-Control-Allow-Methods"));
  free(r);
  /* Engine.IO's policy: a function decides, and every OPTIONS is a preflight */
  r = cors_req(&loop, port, "OPTIONS", "/eio/", "Origin: http://fn.test\r\n");
  assert_non_null(strstr(r, "HTTP/1.1 204 No Content\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Origin: http://fn.test\r\n"));
  assert_non_null(strstr(r, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"));
  free(r);
  r = cors_req(&loop, port, "GET", "/eio/", "Origin: http://other.test\r\n");
  assert_null(strstr(r, "Access-Control-Allow"));
  assert_non_null(strstr(r, "Vary: Origin\r\n"));
  assert_non_null(strstr(r, "\r\n\r\nafter cors"));
  free(r);
  /* any origin with credentials: the origin is reflected, "*" when there is none */
  r = cors_req(&loop, port, "GET", "/any/", "Origin: http://z.test\r\n");
  assert_non_null(strstr(r, "Access-Control-Allow-Origin: http://z.test\r\n"));
  assert_non_null(strstr(r, "Vary: Origin\r\n"));
  free(r);
  r = cors_req(&loop, port, "GET", "/any/", "");
  assert_non_null(strstr(r, "Access-Control-Allow-Origin: *\r\n"));
  free(r);
  free_app(&loop, app);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get),
      cmocka_unit_test(test_upgrade),
      cmocka_unit_test(test_intercept_and_shutdown),
      cmocka_unit_test(test_shutdown_deadline),
      cmocka_unit_test(test_body_cut_by_fin),
      cmocka_unit_test(test_body_cut_by_rst),
      cmocka_unit_test(test_body_pending_at_app_free),
      cmocka_unit_test(test_header_timeouts_spread),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_cors),
      cmocka_unit_test(test_fresh),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
