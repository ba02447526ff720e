/* Unit tests for the app's HTTPS (sio/tls.h, issue 15 point 3), in process: an app with TLS on
 * a free port, and libuv clients on the same loop that misbehave.
 *
 * - A slow handshake is bound by the request-headers timeout: a client that connects and sends
 *   nothing, or only the first bytes of a ClientHello, is closed once header_timeout_ms has
 *   passed (not before it, not long after it), with no answer (there is no TLS to answer in).
 * - A failed handshake (a record that is not a ClientHello) is logged at debug, with the
 *   peer's address and OpenSSL's reason, and closed; the app serves the next client.
 * - sio_app_listen fails with a specific code and an error log line naming the file and the
 *   reason: a missing certificate (SIO_ETLS_CERT), a missing key and an unreadable one (a
 *   directory, a PEM that is no key: SIO_ETLS_KEY), a key of another certificate
 *   (SIO_ETLS_KEY), a missing client CA (SIO_ETLS_CA); sio_strerror names each.
 * The certificates are made by this test with the openssl command in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/sio.h"
#include "sio/tls.h"

static char dir[64];

static const char *path_of(const char *name) {
  static char buf[8][160];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 160, "%s/%s", dir, name);
  return p;
}

static void make_cert(const char *name) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
           "%s/%s.key -out %s/%s.pem -days 2 -subj /CN=localhost >/dev/null 2>&1",
           dir, name, dir, name);
  assert_int_equal(system(cmd), 0);
}

static int setup(void **s) {
  snprintf(dir, sizeof dir, "/tmp/sio-https-unit-XXXXXX");
  assert_non_null(mkdtemp(dir));
  make_cert("a");
  make_cert("b");
  char cmd[512]; /* a's key, encrypted */
  snprintf(cmd, sizeof cmd,
           "openssl pkey -in %s/a.key -aes256 -passout pass:s3cret -out %s/a-enc.key >/dev/null "
           "2>&1",
           dir, dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static int teardown(void **s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* --- the log, captured ------------------------------------------------------------------------ */
static char logged[8192];

static void sink(sio_log_level level, const char *line, void *user) {
  size_t n = strlen(logged);
  snprintf(logged + n, sizeof logged - n, "%s|%s\n", level == SIO_LOG_DEBUG ? "D" : "E", line);
}

static void capture_log(sio_log_level level) {
  logged[0] = 0;
  sio_log_set_level(level);
  sio_log_set_sink(sink, NULL);
}

static void release_log(void) {
  sio_log_set_sink(NULL, NULL);
  sio_log_set_level(SIO_LOG_INFO);
}

/* --- a client that sends some bytes and waits for the close ---------------------------------- */
typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uv_timer_t limit;
  const char *bytes;
  size_t len;
  uint64_t t_connected, t_closed; /* loop time, ms */
  size_t got;                     /* bytes the server sent */
  int closes, eof;
} client;

static void closed_cb(uv_handle_t *h) {
  ((client *)h->data)->closes++;
}

static void finish(client *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
  c->t_closed = uv_now(c->tcp.loop);
  uv_timer_stop(&c->limit);
  uv_close((uv_handle_t *)&c->tcp, closed_cb);
  uv_close((uv_handle_t *)&c->limit, closed_cb);
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof buf);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = s->data;
  if (n > 0) c->got += (size_t)n;
  if (n < 0) {
    c->eof = 1;
    finish(c);
  }
}

static void written_cb(uv_write_t *w, int status) {}

static void connected_cb(uv_connect_t *r, int status) {
  client *c = r->data;
  assert_int_equal(status, 0);
  c->t_connected = uv_now(c->tcp.loop);
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  if (c->len) {
    uv_buf_t b = uv_buf_init((char *)c->bytes, (unsigned)c->len);
    uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, written_cb);
  }
}

static void limit_cb(uv_timer_t *t) {
  finish(t->data); /* the server never closed: t_closed - t_connected shows it */
}

/* Connects, sends `bytes`, and runs the loop until the server closes (or 5 s pass). */
static void run_client(uv_loop_t *loop, int port, client *c, const char *bytes, size_t len) {
  memset(c, 0, sizeof *c);
  c->bytes = bytes;
  c->len = len;
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->limit);
  c->tcp.data = c->limit.data = c->conn.data = c;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  assert_int_equal(uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&a, connected_cb), 0);
  uv_timer_start(&c->limit, limit_cb, 5000, 0);
  while (c->closes < 2) uv_run(loop, UV_RUN_ONCE);
}

/* --- the app ------------------------------------------------------------------------------------
 */
static void on_hello(sio_req *req, sio_res *res, void *u) {
  sio_res_text(res, "hello");
}

static sio_app *tls_app(uv_loop_t *loop, sio_tls_opts *tls, uint32_t header_timeout_ms) {
  sio_app_opts o = sio_app_opts_default();
  o.port_any = 1;
  o.host = "127.0.0.1";
  o.tls = tls;
  if (header_timeout_ms) o.header_timeout_ms = header_timeout_ms;
  sio_app *app = sio_app_new(loop, &o);
  assert_non_null(app);
  assert_int_equal(sio_app_get(app, "/", on_hello, NULL), 0);
  return app;
}

static void free_app(uv_loop_t *loop, sio_app *app) {
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* The first 40 bytes of a TLS 1.2/1.3 ClientHello record: the record header announces 512
 * bytes, the handshake header a ClientHello of 508; the rest never comes. */
static const unsigned char partial_hello[] = {
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x11, 0x22, 0x33,
    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd};

#define HEADER_TIMEOUT_MS 300

static void slow_handshake(const char *bytes, size_t len) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_tls_opts tls = sio_tls_opts_default();
  tls.cert_file = path_of("a.pem");
  tls.key_file = path_of("a.key");
  sio_app *app = tls_app(&loop, &tls, HEADER_TIMEOUT_MS);
  assert_int_equal(sio_app_listen(app), 0);
  client c;
  run_client(&loop, sio_app_port(app), &c, bytes, len);
  uint64_t took = c.t_closed - c.t_connected;
  assert_true(c.eof);                          /* the server closed it, not our 5 s limit */
  assert_true(took + 10 >= HEADER_TIMEOUT_MS); /* the wheel may fire a millisecond early */
  assert_true(took < HEADER_TIMEOUT_MS + 1500);
  assert_int_equal(c.got, 0); /* no 408 in clear text inside a TLS connection */
  free_app(&loop, app);
}

static void test_slow_handshake_nothing_sent(void **s) {
  slow_handshake(NULL, 0);
}

static void test_slow_handshake_partial_client_hello(void **s) {
  slow_handshake((const char *)partial_hello, sizeof partial_hello);
}

/* A handshake record whose body is no ClientHello: OpenSSL refuses it at once. */
static const unsigned char bad_hello[] = {0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00,
                                          0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};

static void test_failed_handshake_logged_at_debug(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_tls_opts tls = sio_tls_opts_default();
  tls.cert_file = path_of("a.pem");
  tls.key_file = path_of("a.key");
  sio_app *app = tls_app(&loop, &tls, 5000);
  assert_int_equal(sio_app_listen(app), 0);
  capture_log(SIO_LOG_DEBUG);
  client c;
  run_client(&loop, sio_app_port(app), &c, (const char *)bad_hello, sizeof bad_hello);
  release_log();
  assert_true(c.eof);
  assert_true(c.t_closed - c.t_connected < 1000); /* at once, not at the header timeout */
  const char *line = strstr(logged, "D|tls: handshake failed from 127.0.0.1 port ");
  assert_non_null(line);
  const char *why = strstr(line, ": ");
  assert_non_null(why);
  assert_true(strlen(why) > 4);                  /* a reason follows */
  assert_null(strstr(line, "connection error")); /* OpenSSL's own reason, not the fallback */
  /* The app goes on: the same bytes again, then nothing more is logged at info. */
  capture_log(SIO_LOG_INFO);
  run_client(&loop, sio_app_port(app), &c, (const char *)bad_hello, sizeof bad_hello);
  release_log();
  assert_true(c.eof);
  assert_string_equal(logged, "");
  free_app(&loop, app);
}

/* sio_app_listen with these files (and passphrase) fails with `code`, and logs a line naming
 * `file` and `why`. */
static void listen_fails_pass(const char *cert, const char *key, const char *pass, const char *ca,
                              int code, const char *file, const char *why) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_tls_opts tls = sio_tls_opts_default();
  tls.cert_file = cert;
  tls.key_file = key;
  tls.key_passphrase = pass;
  tls.ca_file = ca;
  sio_app *app = tls_app(&loop, &tls, 0);
  capture_log(SIO_LOG_INFO);
  int r = sio_app_listen(app);
  release_log();
  assert_int_equal(r, code);
  assert_non_null(strstr(logged, "E|tls: "));
  if (!strstr(logged, file) || !strstr(logged, why)) fail_msg("log: %s", logged);
  assert_non_null(sio_strerror(r));
  assert_non_null(strstr(sio_strerror(r), "TLS"));
  free_app(&loop, app);
}

static void listen_fails(const char *cert, const char *key, const char *ca, int code,
                         const char *file, const char *why) {
  listen_fails_pass(cert, key, NULL, ca, code, file, why);
}

/* An encrypted key: refused with a reason without its passphrase or with a wrong one (and never
 * a prompt: OpenSSL's default would read the terminal), served with the right one, and read
 * again with it on reload. */
static void test_encrypted_key(void **s) {
  const char *enc = path_of("a-enc.key");
  listen_fails_pass(path_of("a.pem"), enc, NULL, NULL, SIO_ETLS_KEY, enc,
                    "encrypted and no key_passphrase was given");
  listen_fails_pass(path_of("a.pem"), enc, "wrong", NULL, SIO_ETLS_KEY, enc,
                    "wrong key_passphrase");
  /* a passphrase given for a key that has none does no harm */
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_tls_opts tls = sio_tls_opts_default();
  tls.cert_file = path_of("a.pem");
  tls.key_file = path_of("a.key");
  tls.key_passphrase = "unused";
  sio_app *app = tls_app(&loop, &tls, 0);
  assert_int_equal(sio_app_listen(app), 0);
  free_app(&loop, app);

  uv_loop_init(&loop);
  char pass[] = "s3cret";
  tls.key_file = enc;
  tls.key_passphrase = pass;
  app = tls_app(&loop, &tls, 0);
  memset(pass, 'x', sizeof pass - 1); /* sio_app_new took its own copy */
  assert_int_equal(sio_app_listen(app), 0);
  assert_int_equal(sio_app_tls_reload(app), 0);
  free_app(&loop, app);
}

/* sio_app_tls_update: -EAGAIN before listen, the new files after, a bad one refused (the old
 * stay), -EINVAL without TLS. The handshakes it changes are tested in tests/unit/net. */
static void test_tls_update(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_tls_opts tls = sio_tls_opts_default();
  tls.cert_file = path_of("a.pem");
  tls.key_file = path_of("a.key");
  sio_app *app = tls_app(&loop, &tls, 0);
  assert_int_equal(sio_app_tls_update(app, &tls), -EAGAIN);
  assert_int_equal(sio_app_listen(app), 0);
  assert_int_equal(sio_app_tls_update(app, NULL), -EINVAL);
  sio_tls_opts next = sio_tls_opts_default();
  next.cert_file = path_of("b.pem");
  next.key_file = path_of("a.key");
  capture_log(SIO_LOG_INFO);
  assert_int_equal(sio_app_tls_update(app, &next), SIO_ETLS_KEY); /* not b's key */
  release_log();
  next.key_file = path_of("b.key");
  assert_int_equal(sio_app_tls_update(app, &next), 0);
  free_app(&loop, app);

  uv_loop_init(&loop);
  app = tls_app(&loop, NULL, 0); /* no TLS */
  assert_int_equal(sio_app_tls_update(app, &next), -EINVAL);
  free_app(&loop, app);
}

static void test_listen_errors(void **s) {
  const char *missing = path_of("missing.pem");
  listen_fails(missing, path_of("a.key"), NULL, SIO_ETLS_CERT, missing,
               "No such file or directory");
  const char *nokey = path_of("missing.key");
  listen_fails(path_of("a.pem"), nokey, NULL, SIO_ETLS_KEY, nokey, "No such file or directory");
  listen_fails(path_of("a.pem"), dir, NULL, SIO_ETLS_KEY, dir, "private key"); /* a folder */
  const char *cert_as_key = path_of("b.pem"); /* readable, but no key in it */
  listen_fails(path_of("a.pem"), cert_as_key, NULL, SIO_ETLS_KEY, cert_as_key, "private key");
  const char *other = path_of("b.key");
  listen_fails(path_of("a.pem"), other, NULL, SIO_ETLS_KEY, other, "mismatch");
  const char *noca = path_of("missing-ca.pem");
  listen_fails(path_of("a.pem"), path_of("a.key"), noca, SIO_ETLS_CA, noca, "client CA");
  /* no certificate at all: refused before any file is read */
  listen_fails(NULL, path_of("a.key"), NULL, SIO_ETLS_CERT, "(none)", "no certificate file");
}

/* Over plain HTTP there is no TLS to ask about: both calls say -EINVAL, as they do for NULL. */
static int who_peer_rc = 1, who_info_rc = 1, who_null_rc = 1;
static void on_who(sio_req *req, sio_res *res, void *u) {
  sio_tls_peer peer;
  sio_tls_info info;
  who_peer_rc = sio_req_tls_peer(req, &peer);
  who_info_rc = sio_req_tls_info(req, &info);
  who_null_rc =
      sio_req_tls_peer(req, NULL) == -EINVAL && sio_req_tls_info(NULL, &info) == -EINVAL ? 0 : -1;
  sio_res_text(res, "ok");
}

static void test_tls_peer_on_plain_http(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app *app = tls_app(&loop, NULL, 0); /* no TLS: plain HTTP */
  assert_int_equal(sio_app_get(app, "/who", on_who, NULL), 0);
  assert_int_equal(sio_app_listen(app), 0);
  static const char get[] = "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  client c;
  run_client(&loop, sio_app_port(app), &c, get, sizeof get - 1);
  assert_true(c.got > 0);
  assert_int_equal(who_peer_rc, -EINVAL);
  assert_int_equal(who_info_rc, -EINVAL);
  assert_int_equal(who_null_rc, 0);
  free_app(&loop, app);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slow_handshake_nothing_sent),
      cmocka_unit_test(test_slow_handshake_partial_client_hello),
      cmocka_unit_test(test_failed_handshake_logged_at_debug),
      cmocka_unit_test(test_listen_errors),
      cmocka_unit_test(test_encrypted_key),
      cmocka_unit_test(test_tls_update),
      cmocka_unit_test(test_tls_peer_on_plain_http),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
