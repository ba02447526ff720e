/* Unit tests for the public WebSocket API (sio_app_ws) on a real loop: a client thread speaks
 * raw RFC 6455 over a blocking socket while the loop runs on the main thread. Covers the
 * handlers (open, message, close with codes and reasons), subprotocol choice, the origin hook
 * (403), server-initiated close, the send-buffer limit (drop and close policies), and
 * shutdown closing WebSockets with 1001. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "sio/http.h"
#include "sio/ws.h"

/* --- a blocking raw client ------------------------------------------------------------------ */
static int client_connect(int port, const char *extra_headers, char *head, size_t headcap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  char req[1024];
  int n =
      snprintf(req, sizeof req,
               "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
               extra_headers ? extra_headers : "");
  if (write(fd, req, (size_t)n) != n) return -1;
  /* read the head byte by byte so no frame byte is swallowed */
  size_t len = 0;
  while (len + 1 < headcap) {
    if (read(fd, head + len, 1) != 1) break;
    len++;
    if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0) break;
  }
  head[len] = '\0';
  return fd;
}

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static void send_frame(int fd, int opcode, const void *p, size_t n) {
  uint8_t f[256];
  static const uint8_t key[4] = {1, 2, 3, 4};
  size_t i = 0;
  f[i++] = (uint8_t)(0x80 | opcode);
  f[i++] = (uint8_t)(0x80 | n); /* n < 126 in these tests */
  memcpy(f + i, key, 4);
  i += 4;
  for (size_t k = 0; k < n; k++) f[i + k] = ((const uint8_t *)p)[k] ^ key[k & 3];
  if (write(fd, f, i + n) < 0) return;
}

static void send_close(int fd, int code, const char *reason) {
  uint8_t p[125];
  p[0] = (uint8_t)(code >> 8);
  p[1] = (uint8_t)code;
  size_t r = strlen(reason);
  memcpy(p + 2, reason, r);
  send_frame(fd, 8, p, 2 + r);
}

/* Reads one server frame; returns its opcode (-1 on EOF/error). payload must hold 64 KiB. */
static int read_frame(int fd, uint8_t *payload, size_t *len) {
  uint8_t h[10];
  if (read_full(fd, h, 2)) return -1;
  uint64_t n = h[1] & 0x7F;
  if (n == 126) {
    if (read_full(fd, h + 2, 2)) return -1;
    n = (uint64_t)h[2] << 8 | h[3];
  } else if (n == 127) {
    if (read_full(fd, h + 2, 8)) return -1;
    n = 0;
    for (int k = 0; k < 8; k++) n = n << 8 | h[2 + k];
  }
  if (n > 65536 || read_full(fd, payload, (size_t)n)) return -1;
  *len = (size_t)n;
  return h[0] & 0x0F;
}

static int read_close_code(int fd) {
  uint8_t p[65536];
  size_t n;
  for (;;) {
    int op = read_frame(fd, p, &n);
    if (op < 0) return -1;
    if (op == 8) return n >= 2 ? (p[0] << 8 | p[1]) : 1005;
  }
}

static int at_eof(int fd) {
  char c;
  return read(fd, &c, 1) == 0;
}

/* --- the server side --------------------------------------------------------------------- */
typedef struct fixture {
  uv_loop_t loop;
  sio_app *app;
  int port;
  uv_async_t done;
  pthread_t thread;
  void (*client)(struct fixture *f);
  /* what the handlers saw */
  int opens, messages, closes, close_code, drops, fails, drains;
  size_t buffered_after_flood;
  char close_reason[128];
  char last[256];
  size_t last_len;
  int shutdown_on_open;
  int max_connections; /* the app's cap (0: default) */
  int client_code;     /* close code the client read */
  int client_fail;     /* line of the first failed client-side check (cmocka asserts belong to the
                          main thread) */
} fixture;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond) && !f->client_fail) f->client_fail = __LINE__;                                     \
  } while (0)

static void on_open(sio_ws *ws, void *user) {
  fixture *f = user;
  f->opens++;
  sio_ws_set_data(ws, f);
  assert_ptr_equal(sio_ws_data(ws), f);
  sio_ws_send_text(ws, "welcome");
  if (f->shutdown_on_open) sio_app_close(f->app, NULL, NULL);
}

static void on_message(sio_ws *ws, const char *data, size_t len, int binary, void *user) {
  fixture *f = user;
  f->messages++;
  f->last_len = len < sizeof f->last ? len : sizeof f->last;
  memcpy(f->last, data, f->last_len);
  if (len == 8 && memcmp(data, "close-me", 8) == 0) {
    assert_int_equal(sio_ws_close(ws, 4001, "server bye"), 0);
    assert_int_equal(sio_ws_send_text(ws, "too late"), SIO_ECLOSED);
    return;
  }
  if (len == 5 && memcmp(data, "flood", 5) == 0) {
    char big[100];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 200; i++) {
      int rc = sio_ws_send(ws, big, sizeof big, 1);
      if (rc == SIO_ETOOLARGE)
        f->drops++;
      else if (rc == SIO_ECLOSED)
        f->fails++;
    }
    return;
  }
  if (len == 6 && memcmp(data, "flood2", 6) == 0) {
    char big[1000];
    memset(big, 'y', sizeof big);
    for (int i = 0; i < 200; i++) sio_ws_send(ws, big, sizeof big, 1);
    f->buffered_after_flood = sio_ws_buffered_amount(ws);
    return;
  }
  sio_ws_send(ws, data, len, binary);
}

static void on_drain(sio_ws *ws, void *user) {
  fixture *f = user;
  f->drains++;
  assert_true(sio_ws_buffered_amount(ws) < f->buffered_after_flood);
}

static void on_close(sio_ws *ws, int code, const char *reason, size_t reason_len, void *user) {
  fixture *f = user;
  f->closes++;
  f->close_code = code;
  memcpy(f->close_reason, reason, reason_len < 127 ? reason_len : 127);
  f->close_reason[reason_len < 127 ? reason_len : 127] = '\0';
}

static const sio_ws_handlers handlers = {
    .open = on_open, .message = on_message, .drain = on_drain, .close = on_close};

static void on_done(uv_async_t *a) {
  fixture *f = a->data;
  sio_app_close(f->app, NULL, NULL);
  uv_close((uv_handle_t *)a, NULL);
}

static void *client_main(void *arg) {
  fixture *f = arg;
  f->client(f);
  uv_async_send(&f->done);
  return NULL;
}

static int allow_good_origin(const char *origin, void *user) {
  return origin && strcmp(origin, "http://good") == 0;
}

static void run(fixture *f, const sio_ws_opts *opts) {
  assert_int_equal(uv_loop_init(&f->loop), 0);
  sio_app_opts ao = sio_app_opts_default();
  ao.host = "127.0.0.1";
  ao.port = 0;
  ao.port_any = 1;
  ao.max_connections = f->max_connections;
  f->app = sio_app_new(&f->loop, &ao);
  assert_non_null(f->app);
  assert_int_equal(sio_app_ws(f->app, "/chat", &handlers, opts, f), 0);
  assert_int_equal(sio_app_listen(f->app), 0);
  f->port = sio_app_port(f->app);
  uv_async_init(&f->loop, &f->done, on_done);
  f->done.data = f;
  pthread_create(&f->thread, NULL, client_main, f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  pthread_join(f->thread, NULL);
  assert_int_equal(f->client_fail, 0);
  sio_app_free(f->app);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* --- tests ------------------------------------------------------------------------------- */
static void client_basic(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, "Sec-WebSocket-Protocol: soap, chat\r\n", head, sizeof head);
  CHECK((strstr(head, "HTTP/1.1 101")) != NULL);
  CHECK((strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")) != NULL);
  CHECK((strstr(head, "Sec-WebSocket-Protocol: chat\r\n")) != NULL);
  uint8_t p[65536];
  size_t n;
  CHECK((read_frame(fd, p, &n)) == (1));
  CHECK(memcmp(p, "welcome", 7) == 0);
  send_frame(fd, 1, "hi", 2);
  CHECK((read_frame(fd, p, &n)) == (1));
  CHECK((n) == (2));
  send_frame(fd, 9, "pp", 2);
  CHECK((read_frame(fd, p, &n)) == (10));
  CHECK(memcmp(p, "pp", 2) == 0);
  send_close(fd, 4000, "bye");
  CHECK((read_close_code(fd)) == (4000));
  CHECK(at_eof(fd));
  close(fd);
}

static void test_basic(void **state) {
  fixture f = {.client = client_basic};
  static const char *const protos[] = {"chat", "superchat", NULL};
  sio_ws_opts o = sio_ws_opts_default();
  o.protocols = protos;
  run(&f, &o);
  assert_int_equal(f.opens, 1);
  assert_int_equal(f.messages, 1);
  assert_int_equal(f.closes, 1);
  assert_int_equal(f.close_code, 4000);
  assert_string_equal(f.close_reason, "bye");
}

static void client_origin(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, "Origin: http://evil\r\n", head, sizeof head);
  CHECK((strstr(head, "HTTP/1.1 403")) != NULL);
  close(fd);
  fd = client_connect(f->port, NULL, head, sizeof head);
  CHECK((strstr(head, "HTTP/1.1 403")) != NULL);
  close(fd);
  fd = client_connect(f->port, "Origin: http://good\r\n", head, sizeof head);
  CHECK((strstr(head, "HTTP/1.1 101")) != NULL);
  send_close(fd, 1000, "");
  CHECK((read_close_code(fd)) == (1000));
  close(fd);
  /* wrong version: 426 with the version we speak */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK((connect(s, (struct sockaddr *)&a, sizeof a)) == (0));
  const char *req = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n"
                    "Origin: http://good\r\n\r\n";
  CHECK(write(s, req, strlen(req)) > 0);
  char resp[1024] = {0};
  CHECK(read(s, resp, sizeof resp - 1) > 0);
  CHECK((strstr(resp, "HTTP/1.1 426")) != NULL);
  CHECK((strstr(resp, "Sec-WebSocket-Version: 13\r\n")) != NULL);
  close(s);
  /* another path under the prefix is not this route */
  s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK((connect(s, (struct sockaddr *)&a, sizeof a)) == (0));
  req = "GET /chatroom HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  CHECK(write(s, req, strlen(req)) > 0);
  memset(resp, 0, sizeof resp);
  CHECK(read(s, resp, sizeof resp - 1) > 0);
  CHECK((strstr(resp, "HTTP/1.1 404")) != NULL);
  close(s);
}

static void test_origin(void **state) {
  fixture f = {.client = client_origin};
  sio_ws_opts o = sio_ws_opts_default();
  o.check_origin = allow_good_origin;
  run(&f, &o);
  assert_int_equal(f.opens, 1);
  assert_int_equal(f.closes, 1);
}

static void client_server_close(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  send_frame(fd, 1, "close-me", 8);
  CHECK((read_close_code(fd)) == (4001));
  send_close(fd, 4001, "");
  CHECK(at_eof(fd));
  close(fd);
}

static void test_server_close(void **state) {
  fixture f = {.client = client_server_close};
  run(&f, NULL);
  assert_int_equal(f.closes, 1);
  assert_int_equal(f.close_code, 4001);
}

static void client_flood(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  send_frame(fd, 1, "flood", 5);
  f->client_code = read_close_code(fd);
  close(fd);
}

static void client_flood_then_close(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  send_frame(fd, 1, "flood", 5);
  usleep(200000);
  send_close(fd, 1000, "");
  CHECK((read_close_code(fd)) == (1000));
  close(fd);
}

static void test_send_limit_drop(void **state) {
  fixture f = {.client = client_flood_then_close};
  sio_ws_opts o = sio_ws_opts_default();
  o.max_buffered = 2000;
  o.drop_when_full = 1;
  run(&f, &o);
  assert_true(f.drops > 0);
  assert_int_equal(f.fails, 0);
  assert_int_equal(f.close_code, 1000);
}

static void test_send_limit_close(void **state) {
  fixture f = {.client = client_flood};
  sio_ws_opts o = sio_ws_opts_default();
  o.max_buffered = 2000;
  run(&f, &o);
  assert_int_equal(f.drops, 0);
  assert_true(f.fails > 0);
  assert_int_equal(f.close_code, 1008);  /* what the server reported in on_close */
  assert_int_equal(f.client_code, 1008); /* and sent */
}

static void client_drain(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  uint8_t p[65536];
  size_t n;
  CHECK(read_frame(fd, p, &n) == 1); /* welcome */
  send_frame(fd, 1, "flood2", 6);
  for (int i = 0; i < 200; i++) CHECK(read_frame(fd, p, &n) == 2 && n == 1000);
  send_close(fd, 1000, "");
  CHECK(read_close_code(fd) == 1000);
  close(fd);
}

static void test_drain(void **state) {
  fixture f = {.client = client_drain};
  run(&f, NULL);
  assert_true(f.buffered_after_flood >= 200 * 1000);
  assert_int_equal(f.drains, 1);
}

/* Appends a masked client frame of any length below 64 KiB. */
static size_t put_frame(uint8_t *f, int opcode, const uint8_t *p, size_t n) {
  static const uint8_t key[4] = {9, 8, 7, 6};
  size_t i = 0;
  f[i++] = (uint8_t)(0x80 | opcode);
  if (n < 126) {
    f[i++] = (uint8_t)(0x80 | n);
  } else {
    f[i++] = 0x80 | 126;
    f[i++] = (uint8_t)(n >> 8);
    f[i++] = (uint8_t)n;
  }
  memcpy(f + i, key, 4);
  i += 4;
  for (size_t k = 0; k < n; k++) f[i + k] = p[k] ^ key[k & 3];
  return i + n;
}

/* Many frames in one write: their echoes and pongs are batched while the read is processed
 * (headers of both short and 16-bit forms, the batch grown past its first block, frames over
 * the batch's size sent on their own), and must come back complete and in order. */
static void client_batched(fixture *f) {
  static const size_t sizes[] = {0, 1, 125, 126, 127, 1000, 2040, 3000, 4096, 4097, 10000, 65535};
  enum { N = sizeof sizes / sizeof *sizes };
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  /* frame i carries payload + i: the echoes differ from one another */
  uint8_t *payload = malloc(65536 + N), *out = malloc(2 * N * 65600), *p = malloc(65536);
  for (size_t i = 0; i < 65536 + N; i++) payload[i] = (uint8_t)('A' + i % 50);
  size_t n = 0;
  for (size_t i = 0; i < N; i++) {
    n += put_frame(out + n, (int)(1 + i % 2), payload + i, sizes[i]);
    n += put_frame(out + n, 9, payload, i % 3 ? 3 : 0);
  }
  size_t len;
  CHECK(read_frame(fd, p, &len) == 1); /* welcome */
  CHECK(write(fd, out, n) == (ssize_t)n);
  for (size_t i = 0; i < N; i++) {
    CHECK(read_frame(fd, p, &len) == (int)(1 + i % 2));
    CHECK(len == sizes[i] && memcmp(p, payload + i, len) == 0);
    CHECK(read_frame(fd, p, &len) == 10);
    CHECK(len == (i % 3 ? 3u : 0u));
  }
  send_close(fd, 1000, "");
  CHECK(read_close_code(fd) == 1000);
  close(fd);
  free(payload);
  free(out);
  free(p);
}

static void test_batched(void **state) {
  /* over 64 KiB queued, a drain event may come: its check (less than after the flood) holds */
  fixture f = {.client = client_batched, .buffered_after_flood = SIZE_MAX};
  run(&f, NULL);
  assert_int_equal(f.messages, 12);
  assert_int_equal(f.close_code, 1000);
}

static void client_shutdown(fixture *f) {
  char head[2048];
  int fd = client_connect(f->port, NULL, head, sizeof head);
  CHECK((read_close_code(fd)) == (1001));
  send_close(fd, 1001, "");
  close(fd);
}

static void test_shutdown(void **state) {
  fixture f = {.client = client_shutdown, .shutdown_on_open = 1};
  run(&f, NULL);
  assert_int_equal(f.closes, 1);
  assert_int_equal(f.close_code, 1001);
}

/* Past the app's connection cap (2 here) a WebSocket gets its handshake, then close 1013 at
 * once, and its handlers never hear of it; a plain request gets 503. Upgraded connections count
 * towards the cap (they once did not, and WebSockets filled up to the net's hard cap). */
static void client_over_capacity(fixture *f) {
  char head[2048];
  uint8_t p[65536];
  size_t n;
  int a = client_connect(f->port, NULL, head, sizeof head);
  CHECK(strstr(head, "HTTP/1.1 101") != NULL);
  CHECK(read_frame(a, p, &n) == 1); /* welcome: open */
  int b = client_connect(f->port, NULL, head, sizeof head);
  CHECK(strstr(head, "HTTP/1.1 101") != NULL);
  CHECK(read_frame(b, p, &n) == 1);
  /* third: over the cap */
  int c = client_connect(f->port, NULL, head, sizeof head);
  CHECK(strstr(head, "HTTP/1.1 101") != NULL);
  CHECK(read_close_code(c) == 1013);
  send_close(c, 1000, "");
  CHECK(at_eof(c));
  close(c);
  /* a plain request over the cap */
  int h = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(h, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  CHECK(connect(h, (struct sockaddr *)&sa, sizeof sa) == 0);
  static const char get[] = "GET /chat HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(write(h, get, sizeof get - 1) == (ssize_t)(sizeof get - 1));
  char resp[1024];
  ssize_t got = 0, r;
  while ((r = read(h, resp + got, sizeof resp - 1 - (size_t)got)) > 0) got += r;
  resp[got > 0 ? got : 0] = '\0';
  CHECK(strncmp(resp, "HTTP/1.1 503", 12) == 0);
  CHECK(strstr(resp, "Too many connections") != NULL);
  close(h);
  /* one leaves: a new one gets in (once the server has seen the first one gone) */
  send_close(a, 1000, "");
  CHECK(read_close_code(a) == 1000);
  CHECK(at_eof(a));
  close(a);
  int opened = 0;
  for (int i = 0; i < 40 && !opened; i++) {
    int d = client_connect(f->port, NULL, head, sizeof head);
    int op = read_frame(d, p, &n);
    if (op == 1) {
      opened = 1;
      send_close(d, 1000, "");
      read_close_code(d);
    }
    close(d);
    if (!opened) usleep(50000);
  }
  CHECK(opened);
  send_close(b, 1000, "");
  CHECK(read_close_code(b) == 1000);
  close(b);
}

static void test_over_capacity(void **state) {
  fixture f = {.client = client_over_capacity, .max_connections = 2};
  run(&f, NULL);
  assert_int_equal(f.opens, 3); /* a, b and the late one; never the refused */
  assert_int_equal(f.closes, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_server_close),
      cmocka_unit_test(test_send_limit_drop),
      cmocka_unit_test(test_send_limit_close),
      cmocka_unit_test(test_shutdown),
      cmocka_unit_test(test_drain),
      cmocka_unit_test(test_batched),
      cmocka_unit_test(test_over_capacity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
