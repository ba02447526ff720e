/* Unit tests for the net layer's TLS (net/tls.h): a TLS listener whose connections echo, and a
 * blocking OpenSSL client in a thread (the client may use SSL_set_fd; the server never does).
 * Small and large echoes (1 MiB each way: records staged and split, the socket buffer filling
 * up), many small writes in one loop turn leaving as few records, records sent in pieces cut at
 * every kind of boundary (inside a header, inside a body, at a record's end, several at once),
 * close_notify at the server's close, a reload of the certificate while a connection is open (it
 * goes on; the next one gets the new certificate), garbage and plain HTTP on the port, and the
 * configuration errors: a missing certificate, a missing key, a key of another certificate, a
 * bad min version. The certificates are made by this test with the openssl command, in a
 * temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "net/tls.h"
#include "sio/core.h"

static char dir[64];
static char path_buf[8][128];

static const char *file(int i, const char *name) {
  snprintf(path_buf[i], sizeof path_buf[i], "%s/%s", dir, name);
  return path_buf[i];
}

static void make_cert(const char *name, const char *cn) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
           "%s/%s.key -out %s/%s.pem -days 2 -subj /CN=%s >/dev/null 2>&1",
           dir, name, dir, name, cn);
  assert_int_equal(system(cmd), 0);
}

static int setup_certs(void **s) {
  snprintf(dir, sizeof dir, "/tmp/sio-tls-unit-XXXXXX");
  assert_non_null(mkdtemp(dir));
  make_cert("a", "first");
  make_cert("b", "second");
  return 0;
}

static int remove_certs(void **s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* --- the server: echo, each read answered by two writes --------------------------------------- */
typedef struct server {
  uv_loop_t loop;
  sio__net *net;
  sio__listener *listener;
  sio__tls_ctx *ctx;
  uv_async_t done;
  int closes;
  int close_after; /* close after echoing this many bytes (0: at the peer's end) */
  size_t echoed;
  int many_small;
} server;

static void echo_data(sio__conn *c, const char *data, size_t len) {
  server *sv = c->ctx;
  if (sv->many_small) { /* one write per byte: the flush must make few records of them */
    for (size_t i = 0; i < len; i++) assert_int_equal(sio__conn_write_copy(c, data + i, 1), 0);
  } else {
    size_t half = len / 2;
    assert_int_equal(sio__conn_write_copy(c, data, half), 0);
    assert_int_equal(sio__conn_write_copy(c, data + half, len - half), 0);
  }
  sv->echoed += len;
  if (sv->close_after && sv->echoed >= (size_t)sv->close_after) sio__conn_close(c);
}
static void echo_eof(sio__conn *c, int err) {
  sio__conn_close(c);
}
static void echo_close(sio__conn *c) {
  ((server *)c->ctx)->closes++;
}
static const sio__conn_handler echo_handler = {echo_data, echo_eof, NULL, echo_close};

static void on_accept(sio__listener *l, sio__conn *c, void *user) {
  assert_true(sio__conn_is_tls(c));
  c->handler = &echo_handler;
  c->ctx = user;
}

static void on_done(uv_async_t *a) {
  server *sv = a->data;
  sio__listener_close(sv->listener);
  uv_close((uv_handle_t *)&sv->done, NULL);
}

/* A TLS listener of cfg whose connections get `accept`'s handler; the client's `done` async
 * runs `done`. Returns the port. */
static int server_start_with(server *sv, const sio__tls_cfg *cfg, sio__accept_cb accept,
                             uv_async_cb done) {
  memset(sv, 0, sizeof *sv);
  uv_loop_init(&sv->loop);
  sv->net = sio__net_new(&sv->loop);
  assert_int_equal(sio__tls_ctx_new(cfg, &sv->ctx), 0);
  sio__listen_opts o = {.host = "127.0.0.1", .port = 0, .tls = sv->ctx};
  assert_int_equal(sio__listen(sv->net, &o, accept, sv, &sv->listener), 0);
  uv_async_init(&sv->loop, &sv->done, done);
  sv->done.data = sv;
  return sio__listener_port(sv->listener);
}

static int server_start_cfg(server *sv, const sio__tls_cfg *cfg) {
  return server_start_with(sv, cfg, on_accept, on_done);
}

static int server_start(server *sv, const char *cert, const char *key) {
  sio__tls_cfg cfg = {.cert_file = cert, .key_file = key};
  return server_start_cfg(sv, &cfg);
}

static void server_finish(server *sv) {
  sio__tls_ctx_unref(sv->ctx);
  sio__net_free(sv->net);
  uv_run(&sv->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&sv->loop), 0);
}

/* --- the client, in a thread -------------------------------------------------------------------
 */
typedef struct client {
  int port;
  size_t size;            /* bytes to send and expect back */
  int expect_close;       /* the server closes after the echo: expect close_notify */
  server *sv;             /* its `done` async: the client tells the loop it finished (or, in
                             test_reload, when to reload) */
  const char *cert, *key; /* a client certificate to present, if set */
  int ok, got_notify, chain_len;
  char subject[64];
} client;

static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static SSL *client_ssl(SSL_CTX *cctx, int fd) {
  SSL *ssl = SSL_new(cctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  return SSL_connect(ssl) == 1 ? ssl : (SSL_free(ssl), NULL);
}

static void subject_of(SSL *ssl, char *out, size_t n) {
  X509 *peer = SSL_get1_peer_certificate(ssl);
  out[0] = 0;
  if (peer) {
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, out, (int)n);
    X509_free(peer);
  }
}

/* Sends size bytes and reads them back, writing and reading alternately. */
static int exchange(SSL *ssl, size_t size) {
  char *out = malloc(size), *in = malloc(size);
  for (size_t i = 0; i < size; i++) out[i] = (char)(i * 13 + 1);
  size_t sent = 0, got = 0;
  while (got < size) {
    if (sent < size) {
      size_t chunk = size - sent < 32768 ? size - sent : 32768, w;
      if (SSL_write_ex(ssl, out + sent, chunk, &w) != 1) break;
      sent += w;
    }
    while (got < sent) {
      size_t r;
      if (SSL_read_ex(ssl, in + got, size - got, &r) != 1) goto out;
      got += r;
    }
  }
out:;
  int ok = got == size && memcmp(in, out, size) == 0;
  free(out);
  free(in);
  return ok;
}

/* The next read finds the server's close_notify (a clean TLS end), not data or a reset. */
static int got_close_notify(SSL *ssl) {
  char b;
  size_t r;
  return SSL_read_ex(ssl, &b, 1, &r) == 0 && SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN;
}

static void *client_main(void *arg) {
  client *cl = arg;
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  if (cl->cert) {
    assert_int_equal(SSL_CTX_use_certificate_file(cctx, cl->cert, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(cctx, cl->key, SSL_FILETYPE_PEM), 1);
  }
  int fd = tcp_connect(cl->port);
  SSL *ssl = client_ssl(cctx, fd);
  if (ssl) {
    subject_of(ssl, cl->subject, sizeof cl->subject);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    cl->chain_len = chain ? sk_X509_num(chain) : 0;
    cl->ok = exchange(ssl, cl->size);
    if (cl->expect_close) cl->got_notify = got_close_notify(ssl);
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  close(fd);
  SSL_CTX_free(cctx);
  uv_async_send(&cl->sv->done);
  return NULL;
}

/* Runs the server's loop while the client's thread `fn` runs, until both are done. */
static void run_client(server *sv, client *cl, void *(*fn)(void *)) {
  pthread_t th;
  cl->sv = sv;
  assert_int_equal(pthread_create(&th, NULL, fn, cl), 0);
  uv_run(&sv->loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
}

static void echo_of(size_t size, int many_small) {
  server sv;
  int port = server_start(&sv, file(0, "a.pem"), file(1, "a.key"));
  sv.many_small = many_small;
  client cl = {.port = port, .size = size};
  run_client(&sv, &cl, client_main);
  assert_true(cl.ok);
  assert_string_equal(cl.subject, "first");
  server_finish(&sv);
  assert_int_equal(sv.closes, 1);
}

static void test_echo_small(void **s) {
  echo_of(100, 0);
}
static void test_echo_large(void **s) {
  echo_of(1 << 20, 0);
}
static void test_echo_many_small_writes(void **s) {
  echo_of(20000, 1);
}

static void test_close_notify(void **s) {
  server sv;
  int port = server_start(&sv, file(0, "a.pem"), file(1, "a.key"));
  sv.close_after = 5000;
  client cl = {.port = port, .size = 5000, .expect_close = 1};
  run_client(&sv, &cl, client_main);
  assert_true(cl.ok);
  assert_true(cl.got_notify);
  server_finish(&sv);
}

/* Records cut at every kind of boundary: the client encrypts into a BIO pair and sends the
 * ciphertext in pieces of 1 to 250 bytes, a pause after each so that the server reads them one
 * by one: windows end inside a record header, inside a body, exactly at a record's end, and
 * hold several records. Every record's plaintext must come back, in order. */
static void send_pieces(int fd, BIO *net, int pause_us) {
  static const size_t sizes[] = {1, 3, 7, 64, 2, 250, 5, 17};
  char buf[256];
  for (int k = 0; BIO_ctrl_pending(net) > 0; k++) {
    int n = BIO_read(net, buf, (int)sizes[k % 8]);
    assert_true(n > 0);
    assert_int_equal(write(fd, buf, (size_t)n), n);
    if (pause_us) usleep((useconds_t)pause_us);
  }
}

static void recv_into(int fd, BIO *net) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal(BIO_write(net, buf, (int)n), n);
}

static void *pieces_client(void *arg) {
  client *cl = arg;
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  int fd = tcp_connect(cl->port);
  BIO *inner, *net;
  assert_int_equal(BIO_new_bio_pair(&inner, 0, &net, 0), 1);
  SSL *ssl = SSL_new(cctx);
  SSL_set_bio(ssl, inner, inner);
  SSL_set_connect_state(ssl);
  int r;
  while ((r = SSL_do_handshake(ssl)) != 1) {
    assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
    send_pieces(fd, net, 0);
    recv_into(fd, net);
  }
  send_pieces(fd, net, 0);
  char out[2000], in[2000];
  size_t total = 0;
  for (int i = 0; i < 20; i++) { /* 20 records of 10 to 181 bytes */
    size_t len = 10 + (size_t)i * 9;
    for (size_t j = 0; j < len; j++) out[total + j] = (char)('a' + (total + j) % 26);
    size_t w;
    assert_int_equal(SSL_write_ex(ssl, out + total, len, &w), 1);
    total += len;
  }
  send_pieces(fd, net, 2000);
  size_t got = 0;
  while (got < total) {
    size_t n;
    if (SSL_read_ex(ssl, in + got, sizeof in - got, &n) == 1) {
      got += n;
      continue;
    }
    assert_int_equal(SSL_get_error(ssl, 0), SSL_ERROR_WANT_READ);
    recv_into(fd, net);
  }
  cl->ok = got == total && memcmp(in, out, total) == 0;
  SSL_free(ssl); /* and inner */
  BIO_free(net);
  close(fd);
  SSL_CTX_free(cctx);
  uv_async_send(&cl->sv->done);
  return NULL;
}

static void test_records_in_pieces(void **s) {
  server sv;
  int port = server_start(&sv, file(0, "a.pem"), file(1, "a.key"));
  client cl = {.port = port};
  run_client(&sv, &cl, pieces_client);
  assert_true(cl.ok);
  server_finish(&sv);
  assert_int_equal(sv.closes, 1);
}

/* Reload to certificate b while a client is connected: it goes on; the next one sees b. */
static void *reload_client(void *arg) {
  client *cl = arg;
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  int fd = tcp_connect(cl->port);
  SSL *ssl = client_ssl(cctx, fd);
  assert_non_null(ssl);
  assert_true(exchange(ssl, 1000));
  /* the files now hold certificate b: the server loop reloads when the async fires */
  uv_async_send(&cl->sv->done);
  usleep(200 * 1000);
  cl->ok = exchange(ssl, 1000); /* the old connection still works */
  int fd2 = tcp_connect(cl->port);
  SSL *ssl2 = client_ssl(cctx, fd2);
  assert_non_null(ssl2);
  subject_of(ssl2, cl->subject, sizeof cl->subject);
  SSL_free(ssl2);
  close(fd2);
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(cctx);
  uv_async_send(&cl->sv->done);
  return NULL;
}

static int reloads;
static void on_reload_async(uv_async_t *a) {
  server *sv = a->data;
  if (reloads++ == 0) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s/b.pem %s/live.pem && cp %s/b.key %s/live.key", dir, dir, dir,
             dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sio__tls_ctx_reload(sv->ctx), 0);
    return;
  }
  on_done(a);
}

static void test_reload(void **s) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cp %s/a.pem %s/live.pem && cp %s/a.key %s/live.key", dir, dir, dir,
           dir);
  assert_int_equal(system(cmd), 0);
  server sv;
  sio__tls_cfg cfg = {.cert_file = file(0, "live.pem"), .key_file = file(1, "live.key")};
  client cl = {.port = server_start_with(&sv, &cfg, on_accept, on_reload_async)};
  run_client(&sv, &cl, reload_client);
  assert_true(cl.ok);
  assert_string_equal(cl.subject, "second");
  /* a reload that fails keeps the old certificate */
  snprintf(cmd, sizeof cmd, "rm %s/live.key", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(sio__tls_ctx_reload(sv.ctx), SIO_ETLS_KEY);
  server_finish(&sv);
}

/* --- PEM text in memory, and a configuration replaced (Node's setSecureContext) ----------- */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[4][8192];
  static int next;
  char *b = buf[next++ % 4];
  size_t n = fread(b, 1, sizeof buf[0] - 1, f);
  b[n] = '\0';
  fclose(f);
  return b;
}

/* The chain from memory: a leaf and one more certificate after it, both sent; the key from
 * memory, encrypted, through the passphrase. */
static void test_pem_in_memory(void **s) {
  char chain[16384], cmd[600];
  snprintf(chain, sizeof chain, "%s%s", slurp(file(0, "a.pem")), slurp(file(1, "b.pem")));
  snprintf(cmd, sizeof cmd,
           "openssl pkey -in %s/a.key -aes256 -passout pass:pw -out %s/a-enc.key >/dev/null 2>&1",
           dir, dir);
  assert_int_equal(system(cmd), 0);
  sio__tls_cfg cfg = {
      .cert_pem = chain, .key_pem = slurp(file(2, "a-enc.key")), .key_passphrase = "pw"};
  server sv;
  client cl = {.port = server_start_cfg(&sv, &cfg), .size = 100};
  run_client(&sv, &cl, client_main);
  assert_true(cl.ok);
  assert_string_equal(cl.subject, "first");
  assert_int_equal(cl.chain_len, 2);
  server_finish(&sv);
}

/* ca_pem: a client must present a certificate it holds (a.pem, self-signed, is its own CA). */
static void test_client_ca_in_memory(void **s) {
  sio__tls_cfg cfg = {.cert_file = file(0, "a.pem"),
                      .key_file = file(1, "a.key"),
                      .ca_pem = slurp(file(2, "a.pem"))};
  for (int with_cert = 1; with_cert >= 0; with_cert--) {
    server sv;
    client cl = {.port = server_start_cfg(&sv, &cfg), .size = 100};
    if (with_cert) cl.cert = file(3, "a.pem"), cl.key = file(4, "a.key");
    run_client(&sv, &cl, client_main);
    assert_int_equal(cl.ok, with_cert); /* refused without: the echo fails */
    server_finish(&sv);
  }
}

/* Update to b's certificate from memory while a client is connected: it goes on; the next one
 * sees b. A bad update changes nothing. */
static int updates;
static void on_update_async(uv_async_t *a) {
  server *sv = a->data;
  if (updates++ == 0) {
    sio__tls_cfg bad = {.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n", .key_file = "x"};
    assert_int_equal(sio__tls_ctx_update(sv->ctx, &bad), SIO_ETLS_CERT);
    sio__tls_cfg mismatch = {.cert_pem = slurp(file(0, "b.pem")),
                             .key_pem = slurp(file(1, "a.key"))};
    assert_int_equal(sio__tls_ctx_update(sv->ctx, &mismatch), SIO_ETLS_KEY);
    sio__tls_cfg nokey = {.cert_pem = slurp(file(0, "b.pem"))};
    assert_int_equal(sio__tls_ctx_update(sv->ctx, &nokey), SIO_ETLS_KEY);
    sio__tls_cfg b = {.cert_pem = slurp(file(0, "b.pem")), .key_pem = slurp(file(1, "b.key"))};
    assert_int_equal(sio__tls_ctx_update(sv->ctx, &b), 0);
    assert_int_equal(sio__tls_ctx_reload(sv->ctx), 0); /* from memory again: still b */
    return;
  }
  on_done(a);
}

static void test_update(void **s) {
  server sv;
  sio__tls_cfg cfg = {.cert_file = file(0, "a.pem"), .key_file = file(1, "a.key")};
  client cl = {.port = server_start_with(&sv, &cfg, on_accept, on_update_async)};
  run_client(&sv, &cl, reload_client);
  assert_true(cl.ok);
  assert_string_equal(cl.subject, "second");
  server_finish(&sv);
}

/* --- a TLS connection handed to another process: relayed (net/tunnel.c) -----------------------
 * The server's first read ("MOVE") hands the connection off; the callback adopts the given
 * socket in the same net, as the owning worker would, with a handler that says "OK" with the
 * bytes it was handed, echoes what follows, answers "BIG" with 4 MiB (the client waits before
 * reading it, so the relay's queue toward it passes the mark where it stops reading the owner) and
 * closes after "BYE". */
static int moved_relayed_tls, moved_closes;
static void moved_data(sio__conn *c, const char *d, size_t n) {
  static char big[4 << 20];
  if (n == 4 && !memcmp(d, "MOVE", 4)) {
    sio__conn_write_copy(c, "OK", 2);
  } else if (n >= 3 && !memcmp(d, "BIG", 3)) {
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    sio__conn_write_copy(c, big, sizeof big);
  } else if (n >= 3 && !memcmp(d, "BYE", 3)) {
    sio__conn_close(c);
  } else {
    sio__conn_write_copy(c, d, n);
  }
}
static void moved_close(sio__conn *c) {
  moved_closes++;
}
/* The client's end of input, passed on by the relay as a half-close: one answer still goes. */
static void moved_eof(sio__conn *c, int err) {
  if (err == UV_EOF) sio__conn_write_copy(c, "AFTER", 5);
  sio__conn_close(c);
}
static const sio__conn_handler moved_handler = {moved_data, moved_eof, NULL, moved_close};
static void moved_accept(sio__listener *l, sio__conn *c, void *user) {
  moved_relayed_tls = c->relayed_tls;
  c->handler = &moved_handler;
  c->ctx = user;
}
static void on_moved(int fd, const sio__peer *peer, const char *bytes, size_t len, void *user,
                     int tag) {
  server *sv = user;
  assert_int_equal(tag, 7);
  assert_int_equal(peer->tls, 1);
  assert_int_equal(peer->family, AF_INET);
  char copy[16];
  memcpy(copy, bytes, len);
  sio__net_adopt(sv->net, fd, peer, copy, len, moved_accept, sv);
}
static void mover_data(sio__conn *c, const char *d, size_t n) {
  assert_int_equal(sio__conn_handoff(c, d, n, NULL, 0, on_moved, c->ctx, 7), 0);
}
static const sio__conn_handler mover_handler = {mover_data, NULL, NULL, echo_close};
static void mover_accept(sio__listener *l, sio__conn *c, void *user) {
  c->handler = &mover_handler;
  c->ctx = user;
}

static int read_exactly(SSL *ssl, char *out, size_t n) {
  size_t got = 0, r;
  while (got < n && SSL_read_ex(ssl, out + got, n - got, &r) == 1) got += r;
  return got == n;
}

/* A client of the relay tests: connected, "MOVE" sent and the owner's "OK" read (moved 1). */
typedef struct relay_client {
  SSL_CTX *cctx;
  int fd;
  SSL *ssl;
  int moved;
} relay_client;

static void relay_client_open(relay_client *rc, int port) {
  rc->cctx = SSL_CTX_new(TLS_client_method());
  rc->fd = tcp_connect(port);
  rc->ssl = client_ssl(rc->cctx, rc->fd);
  assert_non_null(rc->ssl);
  size_t w;
  char ok[2];
  rc->moved = SSL_write_ex(rc->ssl, "MOVE", 4, &w) == 1 && read_exactly(rc->ssl, ok, 2) &&
              !memcmp(ok, "OK", 2);
}

static void relay_client_close(relay_client *rc) {
  SSL_free(rc->ssl);
  close(rc->fd);
  SSL_CTX_free(rc->cctx);
}

static void *mover_client(void *arg) {
  client *cl = arg;
  relay_client rc;
  relay_client_open(&rc, cl->port);
  SSL *ssl = rc.ssl;
  size_t w;
  char *big = malloc(4 << 20);
  int good = rc.moved && exchange(ssl, 300000) && SSL_write_ex(ssl, "BIG", 3, &w) == 1;
  usleep(300 * 1000); /* not reading: the relay's queue toward the client fills, it stops reading */
  good = good && read_exactly(ssl, big, 4 << 20);
  for (size_t i = 0; good && i < (4 << 20); i++) good = big[i] == (char)(i * 7);
  free(big);
  /* "BYE": the owner closes, which ends the relay and the client's TLS with a close_notify */
  good = good && SSL_write_ex(ssl, "BYE", 3, &w) == 1;
  cl->got_notify = got_close_notify(ssl);
  cl->ok = good;
  relay_client_close(&rc);
  uv_async_send(&cl->sv->done);
  return NULL;
}

static void test_tunnel(void **s) {
  server sv;
  sio__tls_cfg cfg = {.cert_file = file(0, "a.pem"), .key_file = file(1, "a.key")};
  client cl = {.port = server_start_with(&sv, &cfg, mover_accept, on_done)};
  run_client(&sv, &cl, mover_client);
  assert_true(cl.ok);
  assert_true(cl.got_notify);
  assert_int_equal(moved_relayed_tls, 1);
  server_finish(&sv);
  assert_int_equal(moved_closes, 1);
  assert_int_equal(sv.closes, 0); /* the TLS connection's handler went with the handoff */
}

/* The client sends its close_notify first (a half-close) and still gets the owner's answer. */
static void *half_closing_client(void *arg) {
  client *cl = arg;
  relay_client rc;
  relay_client_open(&rc, cl->port);
  char after[5];
  cl->ok = rc.moved && SSL_shutdown(rc.ssl) == 0 && read_exactly(rc.ssl, after, 5) &&
           !memcmp(after, "AFTER", 5);
  cl->got_notify = got_close_notify(rc.ssl);
  relay_client_close(&rc);
  uv_async_send(&cl->sv->done);
  return NULL;
}

static void test_tunnel_half_close(void **s) {
  server sv;
  sio__tls_cfg cfg = {.cert_file = file(0, "a.pem"), .key_file = file(1, "a.key")};
  moved_closes = 0;
  client cl = {.port = server_start_with(&sv, &cfg, mover_accept, on_done)};
  run_client(&sv, &cl, half_closing_client);
  assert_true(cl.ok);
  assert_true(cl.got_notify);
  server_finish(&sv);
  assert_int_equal(moved_closes, 1);
}

/* A relay still open when its net is freed is ended by the net: the client gets its
 * close_notify, the owner's end its end of input, and everything is freed. */
static void *held_client(void *arg) {
  client *cl = arg;
  relay_client rc;
  relay_client_open(&rc, cl->port);
  cl->ok = rc.moved;
  uv_async_send(&cl->sv->done); /* the server frees its net now */
  cl->got_notify = got_close_notify(rc.ssl);
  relay_client_close(&rc);
  return NULL;
}

static void free_net_now(uv_async_t *a) {
  server *sv = a->data;
  sio__listener_close(sv->listener);
  uv_close((uv_handle_t *)&sv->done, NULL);
  sio__net_free(sv->net);
}

static void test_tunnel_ended_with_net(void **s) {
  server sv;
  sio__tls_cfg cfg = {.cert_file = file(0, "a.pem"), .key_file = file(1, "a.key")};
  moved_closes = 0;
  client cl = {.port = server_start_with(&sv, &cfg, mover_accept, free_net_now)};
  run_client(&sv, &cl, held_client); /* returns once the net, relay and all, is gone */
  assert_true(cl.ok);
  assert_true(cl.got_notify);
  assert_int_equal(moved_closes, 1);
  sio__tls_ctx_unref(sv.ctx);
  assert_int_equal(uv_loop_close(&sv.loop), 0);
}

/* Bytes that are no TLS: the connection closes, plain HTTP gets its 400 first. */
static void *junk_client(void *arg) {
  client *cl = arg;
  /* plain HTTP; a handshake record of an unknown message type; not a TLS record at all */
  static const char *junk[] = {"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                               "\x16\x03\x01\x00\x04\x63\x00\x00\x00", "\x01\x02\x03garbage"};
  static const size_t junk_len[] = {27, 9, 10};
  for (int i = 0; i < 3; i++) {
    int fd = tcp_connect(cl->port);
    assert_true(write(fd, junk[i], junk_len[i]) > 0);
    char buf[512];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    if (i == 0) cl->ok = strstr(buf, "400 Bad Request") && strstr(buf, "sent to HTTPS port");
    close(fd);
  }
  uv_async_send(&cl->sv->done);
  return NULL;
}

static void test_not_tls(void **s) {
  server sv;
  int port = server_start(&sv, file(0, "a.pem"), file(1, "a.key"));
  client cl = {.port = port};
  run_client(&sv, &cl, junk_client);
  assert_true(cl.ok);
  server_finish(&sv);
  assert_int_equal(sv.closes, 3);
}

static void test_config_errors(void **s) {
  sio__tls_ctx *ctx = NULL;
  sio__tls_cfg c1 = {.cert_file = file(0, "none.pem"), .key_file = file(1, "a.key")};
  assert_int_equal(sio__tls_ctx_new(&c1, &ctx), SIO_ETLS_CERT);
  sio__tls_cfg c2 = {.cert_file = file(0, "a.pem"), .key_file = file(1, "none.key")};
  assert_int_equal(sio__tls_ctx_new(&c2, &ctx), SIO_ETLS_KEY);
  sio__tls_cfg c3 = {.cert_file = file(0, "a.pem"), .key_file = file(1, "b.key")};
  assert_int_equal(sio__tls_ctx_new(&c3, &ctx), SIO_ETLS_KEY);
  sio__tls_cfg c4 = {
      .cert_file = file(0, "a.pem"), .key_file = file(1, "a.key"), .min_version = 11};
  assert_int_equal(sio__tls_ctx_new(&c4, &ctx), SIO_ETLS_CONFIG);
  sio__tls_cfg c5 = {.cert_file = file(0, "a.pem"),
                     .key_file = file(1, "a.key"),
                     .ca_file = file(2, "none-ca.pem")};
  assert_int_equal(sio__tls_ctx_new(&c5, &ctx), SIO_ETLS_CA);
  sio__tls_cfg c6 = {
      .cert_file = file(0, "a.pem"), .key_file = file(1, "a.key"), .ciphers = "NOT-A-CIPHER"};
  assert_int_equal(sio__tls_ctx_new(&c6, &ctx), SIO_ETLS_CONFIG);
  assert_null(ctx);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_small),
      cmocka_unit_test(test_echo_large),
      cmocka_unit_test(test_echo_many_small_writes),
      cmocka_unit_test(test_close_notify),
      cmocka_unit_test(test_records_in_pieces),
      cmocka_unit_test(test_reload),
      cmocka_unit_test(test_pem_in_memory),
      cmocka_unit_test(test_client_ca_in_memory),
      cmocka_unit_test(test_update),
      cmocka_unit_test(test_tunnel),
      cmocka_unit_test(test_tunnel_ended_with_net),
      cmocka_unit_test(test_tunnel_half_close),
      cmocka_unit_test(test_not_tls),
      cmocka_unit_test(test_config_errors),
  };
  return cmocka_run_group_tests(tests, setup_certs, remove_certs);
}
