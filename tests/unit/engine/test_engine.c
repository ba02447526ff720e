/* Unit tests for the Engine.IO server (src/engine/) over real loopback sockets.
 *
 * The server (an app with the engine attached) runs its libuv loop in a thread of its own; the
 * test drives it from the cmocka thread with blocking sockets (raw HTTP/1.1 and a minimal
 * WebSocket client) and checks what the layer above hears: connection, messages, close
 * reasons ("transport close", "ping timeout", "parse error", "forced close",
 * "transport error"), the handshake info, messages encoded once (sio__eio_msg), packets
 * buffered during an upgrade delivered over the WebSocket in order, 413, CORS lists, gzip, and
 * the per-message compress flag (permessage-deflate RSV1 per frame, gzip per polling payload). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "engine/engine.h"
#include "http/server.h"

#define PING_INTERVAL 250
#define PING_TIMEOUT  150
#define MAX_BUFFER    10000

/* --- the server thread -------------------------------------------------------------------- */

static uv_loop_t loop;
static sio_app *app;
static sio_eio *eio;
static uv_async_t stop_async;
static pthread_t server_thread;
static int port;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char event_log[65536];

static void log_event(const char *fmt, ...) {
  va_list ap;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(event_log);
  va_start(ap, fmt);
  vsnprintf(event_log + n, sizeof event_log - n, fmt, ap);
  va_end(ap);
  n = strlen(event_log);
  if (n + 1 < sizeof event_log) strcat(event_log, "\n");
  pthread_mutex_unlock(&log_mu);
}

static void on_connection(sio_eio_socket *s, void *user) {
  const char *x = sio_eio_socket_header(s, "X-Test");
  const char *foo = sio_eio_socket_query(s, "foo");
  log_event("open %s %s x=%s foo=%s addr=%s", sio_eio_socket_id(s), sio_eio_socket_transport(s),
            x ? x : "-", foo ? foo : "-", sio_eio_socket_remote_address(s));
}

/* One shared message for the compress tests: '1' a 2000-byte one that may be compressed, '0'
 * the same with compress off, 's' a short one (under the 1024-byte threshold) that may be. */
#define BIG_PROBE 2000
static void send_compress_probe(sio_eio_socket *s, char kind) {
  sio__eio_msg m;
  sio__sbuf b = SIO__SBUF_INIT;
  sio__eio_msg_begin(&b, 0);
  sio__sbuf_appendc(&b, kind);
  for (size_t i = 0; kind != 's' && i + 1 < BIG_PROBE; i++) sio__sbuf_appendc(&b, 'a' + i % 7);
  if (sio__eio_msg_seal(&b, 0, &m)) return;
  m.compress = kind != '0';
  sio__eio_send_msg(s, &m);
  sio__eio_msg_release(&m);
}

static void on_message(sio_eio_socket *s, const char *data, size_t len, int binary, void *user) {
  if (!binary && len == 3 && !memcmp(data, "bye", 3)) {
    sio_eio_send(s, "bye-ack", 7, 0);
    sio_eio_socket_close(s);
    return;
  }
  if (!binary && len == 6 && !memcmp(data, "shared", 6)) {
    sio__eio_msg m;
    sio__sbuf b = SIO__SBUF_INIT;
    sio__eio_msg_begin(&b, 0);
    sio__sbuf_appends(&b, "shared!");
    if (sio__eio_msg_seal(&b, 0, &m)) return;
    sio__eio_send_msg(s, &m);
    sio__eio_send_msg(s, &m);
    sio__eio_msg_release(&m);
    if (sio__eio_msg_new("\x01\x02", 2, 1, &m)) return;
    sio__eio_send_msg(s, &m);
    sio__eio_msg_release(&m);
    return;
  }
  if (!binary && len > 2 && !memcmp(data, "cz", 2)) { /* "cz" + one char per message */
    for (size_t i = 2; i < len; i++) send_compress_probe(s, data[i]);
    return;
  }
  if (!binary && len == 5 && !memcmp(data, "flood", 5)) {
    char chunk[1000];
    memset(chunk, 'f', sizeof chunk);
    int sent = 0, rc;
    while ((rc = sio_eio_send(s, chunk, sizeof chunk, 0)) == 0 && sent < 1000) sent++;
    log_event("flood %s %d %s", sio_eio_socket_transport(s), sent,
              rc == SIO_ETOOLARGE ? "full" : "?");
    return;
  }
  sio_eio_send(s, data, len, binary);
}

static void on_close(sio_eio_socket *s, const char *reason, void *user) {
  log_event("close %s %s", sio_eio_socket_id(s), reason);
  /* sends after close are refused (logged: cmocka asserts belong to the test thread) */
  if (sio_eio_send(s, "x", 1, 0) != SIO_ECLOSED) log_event("BUG send after close accepted");
}

static int allow_request(sio_req *req, void *user) {
  const char *deny = sio_req_query(req, "deny");
  return deny ? -1 : 0;
}

static void on_stop(uv_async_t *a) {
  sio_app_close(app, NULL, NULL);
  uv_close((uv_handle_t *)a, NULL);
}

static void *server_main(void *arg) {
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

static int test_cap; /* the app's connection cap (0: default) */

static int setup(void **state) {
  uv_loop_init(&loop);
  sio_app_opts ao = sio_app_opts_default();
  ao.max_connections = test_cap;
  ao.host = "127.0.0.1";
  ao.port = 0;
  ao.port_any = 1;
  app = sio_app_new(&loop, &ao);
  assert_non_null(app);
  sio_eio_opts o = sio_eio_opts_default();
  o.path = "/engine.io/";
  o.ping_interval_ms = PING_INTERVAL;
  o.ping_timeout_ms = PING_TIMEOUT;
  o.max_http_buffer_size = MAX_BUFFER;
  o.cors_origin = "http://a.test, http://b.test";
  o.cors_credentials = 1;
  o.http_compression = 1;
  o.per_message_deflate = 1; /* only clients that offer it get it */
  o.send_buffer_limit = 20000;
  o.upgrade_timeout_ms = 300;
  static const sio_eio_handlers h = {.allow_request = allow_request,
                                     .connection = on_connection,
                                     .message = on_message,
                                     .close = on_close};
  eio = sio_eio_attach(app, &o, &h, NULL);
  assert_non_null(eio);
  assert_int_equal(sio_app_listen(app), 0);
  port = sio_app_port(app);
  uv_async_init(&loop, &stop_async, on_stop);
  pthread_create(&server_thread, NULL, server_main, NULL);
  return 0;
}

static int log_has(const char *needle);

static int teardown(void **state) {
  if (log_has("BUG")) fail_msg("the server misbehaved: %s", event_log);
  uv_async_send(&stop_async);
  pthread_join(server_thread, NULL);
  sio_app_free(app); /* frees eio with it (sio_eio_free would now be a no-op) */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}

/* --- waiting for events ------------------------------------------------------------------- */

static int log_has(const char *needle) {
  pthread_mutex_lock(&log_mu);
  int r = strstr(event_log, needle) != NULL;
  pthread_mutex_unlock(&log_mu);
  return r;
}

static void wait_event(const char *needle, int ms) {
  for (int i = 0; i < ms / 5; i++) {
    if (log_has(needle)) return;
    usleep(5000);
  }
  static char copy[sizeof event_log];
  pthread_mutex_lock(&log_mu);
  memcpy(copy, event_log, sizeof copy);
  pthread_mutex_unlock(&log_mu);
  fail_msg("event \"%s\" did not happen; log:\n%s", needle, copy);
}

/* --- a blocking HTTP client --------------------------------------------------------------- */

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void write_all(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    assert_true(w > 0);
    p = (const char *)p + w;
    n -= (size_t)w;
  }
}

typedef struct reply {
  int status;
  char head[4096];
  char *body;
  size_t len;
} reply;

/* Sends one request (Connection: close) and reads the whole answer. */
static int http_start(const char *method, const char *query, const char *body, size_t blen,
                      const char *headers) {
  int fd = dial();
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "%s /engine.io/?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, query, headers ? headers : "", blen);
  write_all(fd, req, (size_t)n);
  if (blen) write_all(fd, body, blen);
  return fd;
}

static void http_finish(int fd, reply *r) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  ssize_t got;
  while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)got;
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
  }
  close(fd);
  buf[len] = 0;
  char *sep = strstr(buf, "\r\n\r\n");
  assert_non_null(sep);
  size_t hl = (size_t)(sep - buf);
  assert_true(hl < sizeof r->head);
  memcpy(r->head, buf, hl);
  r->head[hl] = 0;
  r->status = atoi(buf + 9);
  r->len = len - hl - 4;
  r->body = malloc(r->len + 1);
  memcpy(r->body, sep + 4, r->len);
  r->body[r->len] = 0;
  free(buf);
}

static reply http(const char *method, const char *query, const char *body, const char *headers) {
  reply r;
  int fd = http_start(method, query, body, body ? strlen(body) : 0, headers);
  http_finish(fd, &r);
  return r;
}

static void expect_reply(reply r, int status, const char *body) {
  if (r.status != status || (body && strcmp(r.body, body) != 0))
    fail_msg("got %d \"%s\", want %d \"%s\"", r.status, r.body, status, body ? body : "*");
  free(r.body);
}

/* Handshake; returns the sid in sid (>= 32 chars). */
static void handshake(char *sid, const char *extra_query, const char *headers) {
  char q[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling%s", extra_query ? extra_query : "");
  reply r = http("GET", q, NULL, headers);
  assert_int_equal(r.status, 200);
  const char *p = strstr(r.body, "\"sid\":\"");
  assert_non_null(p);
  p += 7;
  size_t n = strcspn(p, "\"");
  memcpy(sid, p, n);
  sid[n] = 0;
  assert_true(n >= 20); /* >= 120 bits */
  char want[256];
  snprintf(want, sizeof want,
           "0{\"sid\":\"%s\",\"upgrades\":[\"websocket\"],\"pingInterval\":%d,\"pingTimeout\":%d,"
           "\"maxPayload\":%d}",
           sid, PING_INTERVAL, PING_TIMEOUT, MAX_BUFFER);
  assert_string_equal(r.body, want);
  free(r.body);
}

static void sid_query(char *q, size_t n, const char *sid) {
  snprintf(q, n, "EIO=4&transport=polling&sid=%s", sid);
}

/* --- a minimal WebSocket client ----------------------------------------------------------- */

static int ws_open_with(const char *query, const char *headers) {
  int fd = dial();
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /engine.io/?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s\r\n",
                   query, headers);
  write_all(fd, req, (size_t)n);
  /* read the 101 head byte by byte so that no frame bytes are consumed */
  char head[2048];
  size_t len = 0;
  while (len < sizeof head - 1) {
    ssize_t got = read(fd, head + len, 1);
    if (got <= 0) break;
    len++;
    if (len >= 4 && !memcmp(head + len - 4, "\r\n\r\n", 4)) break;
  }
  head[len] = 0;
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int ws_open(const char *query) {
  return ws_open_with(query, "");
}

static void ws_send(int fd, int opcode, const void *data, size_t len) {
  unsigned char h[8] = {(unsigned char)(0x80 | opcode)};
  size_t hl = 2;
  assert_true(len < 65536);
  if (len < 126) {
    h[1] = (unsigned char)(0x80 | len);
  } else {
    h[1] = 0x80 | 126;
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    hl = 4;
  }
  unsigned char mask[4] = {1, 2, 3, 4};
  unsigned char *frame = malloc(hl + 4 + len);
  memcpy(frame, h, hl);
  memcpy(frame + hl, mask, 4);
  for (size_t i = 0; i < len; i++)
    frame[hl + 4 + i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
  write_all(fd, frame, hl + 4 + len);
  free(frame);
}

static void read_exact(int fd, void *p, size_t n) {
  while (n) {
    ssize_t got = read(fd, p, n);
    if (got <= 0) fail_msg("connection ended while reading a frame");
    p = (char *)p + got;
    n -= (size_t)got;
  }
}

/* Reads one unmasked server frame of under 64 KiB into buf: returns its first byte (FIN, RSV1,
 * opcode) and the payload length. */
static int ws_read_frame(int fd, void *buf, size_t *len) {
  unsigned char h[2];
  read_exact(fd, h, 2);
  size_t n = h[1] & 0x7f;
  if (n == 126) {
    unsigned char e[2];
    read_exact(fd, e, 2);
    n = (size_t)e[0] << 8 | e[1];
  }
  assert_true(n < 65536);
  read_exact(fd, buf, n);
  *len = n;
  return h[0];
}

/* Reads one frame: returns its opcode; payload NUL-terminated in buf (cap 65536). Pings from
 * the Engine.IO heartbeat ("2") are answered ("3") and skipped when skip_pings is set. */
static int ws_recv(int fd, char *buf, size_t *len, int skip_pings) {
  for (;;) {
    size_t n;
    int op = ws_read_frame(fd, buf, &n) & 0x0f;
    buf[n] = 0;
    *len = n;
    if (skip_pings && op == 1 && n == 1 && buf[0] == '2') {
      ws_send(fd, 1, "3", 1);
      continue;
    }
    return op;
  }
}

static void ws_expect_text(int fd, const char *want) {
  char buf[65536];
  size_t len;
  int op = ws_recv(fd, buf, &len, 1);
  if (op != 1 || strcmp(buf, want) != 0) fail_msg("got op %d \"%s\", want \"%s\"", op, buf, want);
}

/* 1 if the server closed the connection (close frame or EOF) within ms. */
static int ws_closed(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  for (int waited = 0; waited < ms; waited += 10) {
    if (poll(&p, 1, 10) > 0) {
      unsigned char h[2];
      ssize_t got = read(fd, h, 2);
      if (got <= 0) return 1;
      if ((h[0] & 0x0f) == 8) return 1;
      size_t n = h[1] & 0x7f;
      char skip[256];
      if (n < 126) read_exact(fd, skip, n);
    }
  }
  return 0;
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_handshake_errors(void **state) {
  expect_reply(http("GET", "EIO=3&transport=polling", NULL, NULL), 400,
               "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
  expect_reply(http("GET", "EIO=4&transport=x", NULL, NULL), 400,
               "{\"code\":0,\"message\":\"Transport unknown\"}");
  expect_reply(http("GET", "EIO=4&transport=polling&sid=nope", NULL, NULL), 400,
               "{\"code\":1,\"message\":\"Session ID unknown\"}");
  expect_reply(http("POST", "EIO=4&transport=polling", "4x", NULL), 400,
               "{\"code\":2,\"message\":\"Bad handshake method\"}");
  expect_reply(http("GET", "EIO=4&transport=websocket", NULL, NULL), 400,
               "{\"code\":3,\"message\":\"Bad request\"}");
  expect_reply(http("GET", "EIO=4&transport=polling&deny=1", NULL, NULL), 403,
               "{\"code\":4,\"message\":\"Forbidden\"}");
}

static void test_polling_messages_and_close(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, "&foo=a%20b", "X-Test: yes\r\n");
  snprintf(want, sizeof want, "open %s polling x=yes foo=a b addr=127.0.0.1", sid);
  wait_event(want, 1000);
  sid_query(q, sizeof q, sid);
  expect_reply(http("POST", q,
                    "4hello\x1e"
                    "bAQIDBA==",
                    NULL),
               200, "ok");
  expect_reply(http("GET", q, NULL, NULL), 200,
               "4hello\x1e"
               "bAQIDBA==");
  /* a message encoded once, sent twice, and a binary one */
  expect_reply(http("POST", q, "4shared", NULL), 200, "ok");
  expect_reply(http("GET", q, NULL, NULL), 200,
               "4shared!\x1e"
               "4shared!\x1e"
               "bAQI=");
  /* the client closes */
  expect_reply(http("POST", q, "1", NULL), 200, "ok");
  snprintf(want, sizeof want, "close %s transport close", sid);
  wait_event(want, 1000);
  expect_reply(http("GET", q, NULL, NULL), 400, NULL);
}

static void test_ping_timeout(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  reply r = http("GET", q, NULL, NULL); /* held until the ping */
  expect_reply(r, 200, "2");
  snprintf(want, sizeof want, "close %s ping timeout", sid);
  wait_event(want, PING_INTERVAL + PING_TIMEOUT + 200);
  expect_reply(http("GET", q, NULL, NULL), 400, NULL);
}

static void test_parse_error(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  reply r = http("POST", q,
                 "4ok\x1e"
                 "abc",
                 NULL);
  free(r.body);
  snprintf(want, sizeof want, "close %s parse error", sid);
  wait_event(want, 1000);
  expect_reply(http("GET", q, NULL, NULL), 400, NULL);
}

static void test_forced_close_delivers_queued(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  expect_reply(http("POST", q, "4bye", NULL), 200, "ok");
  snprintf(want, sizeof want, "close %s forced close", sid);
  wait_event(want, 1000);
  /* the queued packet, then the close packet */
  expect_reply(http("GET", q, NULL, NULL), 200,
               "4bye-ack\x1e"
               "1");
  expect_reply(http("GET", q, NULL, NULL), 400, NULL);
}

static void test_overlapping_get(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  int first = http_start("GET", q, NULL, 0, NULL);
  usleep(50000);
  expect_reply(http("GET", q, NULL, NULL), 500, NULL);
  reply r;
  http_finish(first, &r);
  expect_reply(r, 200, "1");
  snprintf(want, sizeof want, "close %s transport error", sid);
  wait_event(want, 1000);
}

static void test_too_large(void **state) {
  char sid[64], q[128], want[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  char *big = malloc(MAX_BUFFER * 2 + 1);
  memset(big, 'a', MAX_BUFFER * 2);
  big[0] = '4';
  big[MAX_BUFFER * 2] = 0;
  reply r = http("POST", q, big, NULL);
  free(big);
  expect_reply(r, 413, NULL);
  /* as Node's engine.io, only the POST is refused: the session goes on */
  expect_reply(http("POST", q, "4after", NULL), 200, "ok");
  expect_reply(http("GET", q, NULL, NULL), 200, "4after"); /* the echo */
  snprintf(want, sizeof want, "close %s", sid);
  assert_false(log_has(want));
}

static void test_send_buffer_limit(void **state) {
  char sid[64], q[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  expect_reply(http("POST", q, "4flood", NULL), 200, "ok");
  wait_event("flood polling 19 full", 1000); /* 19 x 1001 bytes + separators: 20000 is near */
  reply r = http("GET", q, NULL, NULL);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 19 * 1001 + 18);
  free(r.body);
  /* the buffer is empty again: messages are taken */
  expect_reply(http("POST", q, "4x", NULL), 200, "ok");
  expect_reply(http("GET", q, NULL, NULL), 200, "4x");
}

static void test_cors_and_gzip(void **state) {
  char sid[64], q[128];
  reply r = http("OPTIONS", "EIO=4&transport=polling", NULL,
                 "Origin: http://b.test\r\nAccess-Control-Request-Method: POST\r\n");
  assert_int_equal(r.status, 204);
  assert_non_null(strstr(r.head, "Access-Control-Allow-Origin: http://b.test"));
  assert_non_null(strstr(r.head, "Access-Control-Allow-Credentials: true"));
  assert_non_null(strstr(r.head, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE"));
  assert_non_null(strstr(r.head, "Content-Length: 0\r\n")); /* as the cors middleware */
  assert_null(strstr(r.head, "Content-Type"));
  free(r.body);
  handshake(sid, NULL, "Origin: http://c.test\r\n");
  r = http("GET", "EIO=4&transport=polling", NULL, "Origin: http://c.test\r\n");
  assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
  assert_non_null(strstr(r.head, "Cache-Control: no-store"));
  free(r.body);

  sid_query(q, sizeof q, sid);
  char msg[2002];
  memset(msg, 'z', sizeof msg - 1);
  msg[0] = '4';
  msg[sizeof msg - 1] = 0;
  expect_reply(http("POST", q, msg, NULL), 200, "ok");
  r = http("GET", q, NULL, "Accept-Encoding: gzip, deflate\r\n");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.head, "Content-Encoding: gzip"));
  char out[4096];
  z_stream z = {0};
  inflateInit2(&z, 15 + 16);
  z.next_in = (Bytef *)r.body;
  z.avail_in = (uInt)r.len;
  z.next_out = (Bytef *)out;
  z.avail_out = sizeof out;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  assert_int_equal(z.total_out, strlen(msg));
  assert_memory_equal(out, msg, strlen(msg));
  inflateEnd(&z);
  free(r.body);
}

static void test_websocket(void **state) {
  char buf[65536], want[160];
  size_t len;
  int fd = ws_open("EIO=4&transport=websocket&foo=ws");
  assert_true(fd >= 0);
  assert_int_equal(ws_recv(fd, buf, &len, 0), 1);
  assert_memory_equal(buf, "0{\"sid\":\"", 9);
  assert_non_null(strstr(buf, "\"upgrades\":[],"));
  char sid[64];
  size_t n = strcspn(buf + 9, "\"");
  memcpy(sid, buf + 9, n);
  sid[n] = 0;
  snprintf(want, sizeof want, "open %s websocket x=- foo=ws", sid);
  wait_event(want, 1000);
  ws_send(fd, 1, "4hi", 3);
  ws_expect_text(fd, "4hi");
  ws_send(fd, 2, "\x00\xff", 2);
  assert_int_equal(ws_recv(fd, buf, &len, 1), 2);
  assert_int_equal(len, 2);
  assert_memory_equal(buf, "\x00\xff", 2);
  ws_send(fd, 1, "4shared", 7);
  ws_expect_text(fd, "4shared!");
  ws_expect_text(fd, "4shared!");
  assert_int_equal(ws_recv(fd, buf, &len, 1), 2);
  assert_memory_equal(buf, "\x01\x02", 2);
  /* polling with a websocket session's sid is refused */
  char q[128];
  sid_query(q, sizeof q, sid);
  expect_reply(http("GET", q, NULL, NULL), 400, "{\"code\":3,\"message\":\"Bad request\"}");
  ws_send(fd, 1, "1", 1);
  assert_true(ws_closed(fd, 1000));
  close(fd);
  snprintf(want, sizeof want, "close %s transport close", sid);
  wait_event(want, 1000);

  /* a bad text packet closes with "parse error" */
  fd = ws_open("EIO=4&transport=websocket");
  assert_int_equal(ws_recv(fd, buf, &len, 0), 1);
  n = strcspn(buf + 9, "\"");
  memcpy(sid, buf + 9, n);
  sid[n] = 0;
  ws_send(fd, 1, "x", 1);
  assert_true(ws_closed(fd, 1000));
  close(fd);
  snprintf(want, sizeof want, "close %s parse error", sid);
  wait_event(want, 1000);
}

/* socket.compress(): over WebSocket with permessage-deflate, a message at or above the
 * threshold that may be compressed goes out deflated (RSV1); one with compress off and a short
 * one go out as they are. Each comes from one shared encoding. */
static void test_websocket_compress_flag(void **state) {
  int fd =
      ws_open_with("EIO=4&transport=websocket", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  assert_true(fd >= 0);
  z_stream z = {0};
  assert_int_equal(inflateInit2(&z, -15), Z_OK);
  static unsigned char buf[65536], out[65536];
  ws_send(fd, 1, "4cz10s1", 7);
  const char kinds[] = "o10s1"; /* the open packet first */
  for (size_t k = 0; k < sizeof kinds - 1; k++) {
    size_t n;
    int rsv1 = (ws_read_frame(fd, buf, &n) & 0x40) != 0;
    size_t len = n;
    const unsigned char *msg = buf;
    if (rsv1) { /* inflate, with the tail the sender removed put back */
      memcpy(buf + n, "\x00\x00\xff\xff", 4);
      z.next_in = buf;
      z.avail_in = (uInt)n + 4;
      z.next_out = out;
      z.avail_out = sizeof out;
      assert_int_equal(inflate(&z, Z_SYNC_FLUSH), Z_OK);
      len = sizeof out - z.avail_out;
      msg = out;
    }
    if (kinds[k] == 'o') continue;           /* the open packet, compressed or not */
    assert_int_equal(rsv1, kinds[k] == '1'); /* only big and compressible */
    assert_int_equal(msg[0], '4');
    assert_int_equal(msg[1], kinds[k]);
    assert_int_equal(len, kinds[k] == 's' ? 2 : BIG_PROBE + 1);
  }
  inflateEnd(&z);
  ws_send(fd, 1, "1", 1);
  close(fd);
}

/* Over polling, a payload is gzipped only when a packet in it may be compressed (engine.io's
 * Polling.send), and only past the threshold. */
static void test_polling_compress_flag(void **state) {
  char sid[64], q[128];
  handshake(sid, NULL, NULL);
  sid_query(q, sizeof q, sid);
  const char *gz = "Accept-Encoding: gzip\r\n";
  expect_reply(http("POST", q, "4cz0", NULL), 200, "ok");
  reply r = http("GET", q, NULL, gz);
  assert_int_equal(r.status, 200);
  assert_null(strstr(r.head, "Content-Encoding"));
  assert_int_equal(r.len, BIG_PROBE + 1);
  free(r.body);
  expect_reply(http("POST", q, "4cz00", NULL), 200, "ok");
  r = http("GET", q, NULL, gz);
  assert_null(strstr(r.head, "Content-Encoding"));
  free(r.body);
  expect_reply(http("POST", q, "4cz0s", NULL), 200, "ok"); /* one of them may be */
  r = http("GET", q, NULL, gz);
  assert_non_null(strstr(r.head, "Content-Encoding: gzip"));
  free(r.body);
  expect_reply(http("POST", q, "4cz1", NULL), 200, "ok");
  r = http("GET", q, NULL, gz);
  assert_non_null(strstr(r.head, "Content-Encoding: gzip"));
  free(r.body);
  expect_reply(http("POST", q, "1", NULL), 200, "ok");
}

static void test_upgrade_delivers_buffered_in_order(void **state) {
  char sid[64], q[160], want[160];
  handshake(sid, NULL, NULL);
  snprintf(q, sizeof q, "EIO=4&transport=websocket&sid=%s", sid);
  int fd = ws_open(q);
  assert_true(fd >= 0);
  ws_send(fd, 1, "2probe", 6);
  ws_expect_text(fd, "3probe");
  /* answers to these wait on the polling side (no GET is pending) */
  sid_query(q, sizeof q, sid);
  expect_reply(http("POST", q,
                    "4m1\x1e"
                    "4m2\x1e"
                    "bAQID\x1e"
                    "4m3",
                    NULL),
               200, "ok");
  /* a GET during the upgrade takes what is there; nothing else may be lost or doubled */
  ws_send(fd, 1, "5", 1);
  ws_expect_text(fd, "4m1");
  ws_expect_text(fd, "4m2");
  char buf[65536];
  size_t len;
  assert_int_equal(ws_recv(fd, buf, &len, 1), 2);
  assert_memory_equal(buf, "\x01\x02\x03", 3);
  ws_expect_text(fd, "4m3");
  ws_send(fd, 1, "4after", 6);
  ws_expect_text(fd, "4after");
  /* after the upgrade: polling refused, a second WebSocket closed, the first still works */
  expect_reply(http("GET", q, NULL, NULL), 400, NULL);
  snprintf(q, sizeof q, "EIO=4&transport=websocket&sid=%s", sid);
  int second = ws_open(q);
  if (second >= 0) {
    assert_true(ws_closed(second, 1000));
    close(second);
  }
  ws_send(fd, 1, "4still", 6);
  ws_expect_text(fd, "4still");
  /* the heartbeat goes on over the WebSocket: three pings answered keep it alive */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ws_recv(fd, buf, &len, 0), 1);
    assert_string_equal(buf, "2");
    ws_send(fd, 1, "3", 1);
  }
  ws_send(fd, 1, "4alive", 6);
  ws_expect_text(fd, "4alive");
  close(fd);
  snprintf(want, sizeof want, "close %s transport close", sid);
  wait_event(want, 1000);
}

static void test_upgrade_timeout_and_noop(void **state) {
  char sid[64], q[160];
  handshake(sid, NULL, NULL);
  snprintf(q, sizeof q, "EIO=4&transport=websocket&sid=%s", sid);
  int fd = ws_open(q);
  assert_true(fd >= 0);
  ws_send(fd, 1, "2probe", 6);
  ws_expect_text(fd, "3probe");
  /* while upgrading, a poll is answered at once with a noop */
  sid_query(q, sizeof q, sid);
  expect_reply(http("GET", q, NULL, NULL), 200, "6");
  /* no 5 within upgradeTimeout: the probe is closed, polling goes on */
  assert_true(ws_closed(fd, 1000));
  close(fd);
  expect_reply(http("POST", q, "4poll", NULL), 200, "ok");
  reply r = http("GET", q, NULL, NULL);
  assert_int_equal(r.status, 200);
  if (strcmp(r.body, "4poll") != 0 && strcmp(r.body, "2\x1e"
                                                     "4poll") != 0)
    fail_msg("unexpected %s", r.body);
  free(r.body);
  /* a probe that sends anything else than 2probe/5 is closed too */
  snprintf(q, sizeof q, "EIO=4&transport=websocket&sid=%s", sid);
  fd = ws_open(q);
  assert_true(fd >= 0);
  ws_send(fd, 1, "4nope", 5);
  assert_true(ws_closed(fd, 1000));
  close(fd);
  sid_query(q, sizeof q, sid);
  expect_reply(http("POST", q, "1", NULL), 200, "ok");
}

/* A POST whose body is cut short (the client leaves mid-body) ends the session with a
 * transport error, as Node's "data request connection closed prematurely", and frees it: the
 * body callback drops the reference taken for the POST (the churn leak of the soak). Runs in
 * a group of its own whose teardown checks that every allocation was returned. */
static void test_post_cut_mid_body(void **state) {
  for (int how = 0; how < 2; how++) {
    char sid[64], q[128], want[128];
    handshake(sid, NULL, NULL);
    sid_query(q, sizeof q, sid);
    int fd = dial();
    char req[512];
    int n =
        snprintf(req, sizeof req,
                 "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 120\r\n\r\n4hel", q);
    write_all(fd, req, (size_t)n);
    usleep(50000);  /* the server has the head and part of the body */
    if (how == 1) { /* RST rather than FIN */
      struct linger lg = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd);
    snprintf(want, sizeof want, "close %s transport error", sid);
    wait_event(want, PING_INTERVAL); /* before any ping timeout could close it */
  }
}

/* Past the app's connection cap (1 here, held by a WebSocket session), a WebSocket handshake
 * completes and the socket closes at once with 1013, no session made; a polling handshake
 * gets 503. */
static void test_over_capacity(void **state) {
  int held = ws_open("EIO=4&transport=websocket");
  assert_true(held >= 0);
  char buf[65536];
  size_t len;
  assert_int_equal(ws_recv(held, buf, &len, 0), 1);
  assert_int_equal(buf[0], '0'); /* the open packet */
  wait_event("open ", 1000);
  int refused = ws_open("EIO=4&transport=websocket");
  assert_true(refused >= 0); /* 101 */
  assert_int_equal(ws_recv(refused, buf, &len, 0), 8);
  assert_true(len >= 2);
  assert_int_equal((unsigned char)buf[0] << 8 | (unsigned char)buf[1], 1013);
  close(refused);
  reply r = http("GET", "EIO=4&transport=polling", NULL, NULL);
  expect_reply(r, 503, NULL);
  usleep(50000);
  pthread_mutex_lock(&log_mu);
  const char *second = strstr(strstr(event_log, "open ") + 5, "open ");
  pthread_mutex_unlock(&log_mu);
  assert_null(second); /* no session for the refused ones */
  close(held);
}

static int cap_setup(void **state) {
  test_cap = 1;
  event_log[0] = 0;
  return setup(state);
}
static int cap_teardown(void **state) {
  int r = teardown(state);
  test_cap = 0;
  return r;
}

static long live_before;
static int leak_setup(void **state) {
  live_before = sio__alloc_live();
  return setup(state);
}
static int leak_teardown(void **state) {
  teardown(state);
  if (sio__alloc_live() != live_before)
    fail_msg("%ld allocations not returned", sio__alloc_live() - live_before);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_errors),
      cmocka_unit_test(test_polling_messages_and_close),
      cmocka_unit_test(test_ping_timeout),
      cmocka_unit_test(test_parse_error),
      cmocka_unit_test(test_forced_close_delivers_queued),
      cmocka_unit_test(test_overlapping_get),
      cmocka_unit_test(test_too_large),
      cmocka_unit_test(test_send_buffer_limit),
      cmocka_unit_test(test_cors_and_gzip),
      cmocka_unit_test(test_websocket),
      cmocka_unit_test(test_websocket_compress_flag),
      cmocka_unit_test(test_polling_compress_flag),
      cmocka_unit_test(test_upgrade_delivers_buffered_in_order),
      cmocka_unit_test(test_upgrade_timeout_and_noop),
  };
  const struct CMUnitTest leak_tests[] = {
      cmocka_unit_test(test_post_cut_mid_body),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  event_log[0] = 0;
  failed += cmocka_run_group_tests(leak_tests, leak_setup, leak_teardown);
  const struct CMUnitTest cap_tests[] = {
      cmocka_unit_test(test_over_capacity),
  };
  return failed + cmocka_run_group_tests(cap_tests, cap_setup, cap_teardown);
}
