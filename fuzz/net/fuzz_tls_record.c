/* libFuzzer target for the TLS record path of the net layer (net/tls.h, tls_conn.c): bytes from
 * a peer reach OpenSSL through the connection's memory BIO, never through the descriptor.
 *
 * Byte 0 picks the mode, byte 1 the chunk size the rest is fed in (records split anywhere):
 * - mode even: the bytes are the peer's first flight, as they come off the socket: a
 *   ClientHello (the seed corpus has recorded ones), a plain HTTP request (answered 400 in
 *   clear text), garbage, truncated or oversized records;
 * - mode odd: an in-process client (OpenSSL over memory BIOs of its own) completes a real
 *   handshake with the connection first; then the bytes are sent as application data through
 *   the client (valid records, decrypted and echoed by the server, encrypted back), and then
 *   fed raw (records that fail to decrypt or parse after the handshake).
 * Whatever comes, the connection never crashes, the echo is exact, and every allocation sio
 * made for the connection is freed with it. The server writes to one end of a socketpair; the
 * harness reads the other. The certificate is made in memory at start. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "net/net_internal.h"
#include "net/tls.h"

static uv_loop_t loop;
static sio__net *net;
static sio__tls_ctx *server_ctx;
static SSL_CTX *client_ctx;
static char cert_path[64], key_path[64], dir[32];

/* --- the server side: echo ----------------------------------------------------------------------
 */
static size_t echoed;

static void echo_data(sio__conn *c, const char *data, size_t len) {
  echoed += len;
  sio__conn_write_copy(c, data, len);
}
static void echo_eof(sio__conn *c, int err) {
  sio__conn_close(c);
}
static const sio__conn_handler echo_handler = {echo_data, echo_eof, NULL, NULL};

/* --- setup: a self-signed P-256 certificate in a temporary folder --------------------------- */
static void remove_files(void) {
  unlink(cert_path);
  unlink(key_path);
  rmdir(dir);
}

static void make_cert(void) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  if (!key || !X509_sign(x, key, EVP_sha256())) abort();
  snprintf(dir, sizeof dir, "/tmp/sio-fuzz-tls-XXXXXX");
  if (!mkdtemp(dir)) abort();
  snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
  snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
  FILE *f = fopen(cert_path, "w"), *k = fopen(key_path, "w");
  if (!f || !k || !PEM_write_X509(f, x) || !PEM_write_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL))
    abort();
  fclose(f);
  fclose(k);
  X509_free(x);
  EVP_PKEY_free(key);
  atexit(remove_files);
}

static void warm_up(void);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  uv_loop_init(&loop);
  net = sio__net_new(&loop);
  make_cert();
  sio__tls_cfg cfg = {.cert_file = cert_path, .key_file = key_path};
  if (!net || sio__tls_ctx_new(&cfg, &server_ctx) != 0) abort();
  client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
  warm_up();
  return 0;
}

/* --- one connection -----------------------------------------------------------------------------
 */
typedef struct harness {
  sio__conn *c;
  int peer;            /* the socketpair's other end: what the server sent */
  SSL *cl;             /* the client, mode odd */
  BIO *cl_in, *cl_out; /* its memory BIOs: bytes from the server, bytes to it */
  unsigned char *echo; /* plaintext the client got back */
  size_t echo_len, echo_cap;
} harness;

/* The server's pending output goes to the socket; what it sent goes to the client's input. */
static void pump_server_out(harness *h) {
  sio__net_flush_all(net);
  char buf[65536];
  ssize_t n;
  while ((n = recv(h->peer, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    if (h->cl_in) BIO_write(h->cl_in, buf, (int)n);
}

/* Feeds bytes to the server in chunks, as reads off the socket would bring them. */
static void feed(harness *h, const uint8_t *p, size_t len, size_t chunk) {
  for (size_t i = 0; i < len && !h->c->closed; i += chunk) {
    size_t n = len - i < chunk ? len - i : chunk;
    memcpy(net->read_buf, p + i, n); /* the server reads from the loop-wide buffer */
    sio__tls_input(h->c, net->read_buf, n);
    pump_server_out(h);
  }
}

/* What the client wrote goes to the server. */
static void pump_client_out(harness *h, size_t chunk) {
  char buf[16384];
  int n;
  while ((n = BIO_read(h->cl_out, buf, sizeof buf)) > 0) feed(h, (uint8_t *)buf, (size_t)n, chunk);
}

static void client_read(harness *h) {
  unsigned char buf[16384];
  size_t got;
  while (SSL_read_ex(h->cl, buf, sizeof buf, &got) == 1) {
    if (h->echo_len + got > h->echo_cap) {
      h->echo_cap = (h->echo_len + got) * 2;
      h->echo = realloc(h->echo, h->echo_cap);
    }
    memcpy(h->echo + h->echo_len, buf, got);
    h->echo_len += got;
  }
}

/* Runs the handshake between the client and the server; 1 when both finished. */
static int handshake(harness *h, size_t chunk) {
  h->cl = SSL_new(client_ctx);
  h->cl_in = BIO_new(BIO_s_mem());
  h->cl_out = BIO_new(BIO_s_mem());
  SSL_set_bio(h->cl, h->cl_in, h->cl_out);
  SSL_set_connect_state(h->cl);
  for (int round = 0; round < 8 && !h->c->closed; round++) {
    int r = SSL_do_handshake(h->cl);
    pump_client_out(h, chunk);
    if (r == 1 && sio__tls_version(h->c)) return 1;
  }
  return 0;
}

static void run(const uint8_t *data, size_t size) {
  int mode = data[0] & 1;
  size_t chunk = (size_t)data[1] * 64 + 1;
  data += 2;
  size -= 2;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) abort();
  harness h = {.peer = sv[1]};
  h.c = sio__conn_new(net, sv[0]);
  if (!h.c) abort();
  h.c->handler = &echo_handler;
  if (sio__tls_attach(h.c, server_ctx) != 0) abort();
  echoed = 0;
  if (mode == 0) {
    feed(&h, data, size, chunk);
  } else if (handshake(&h, chunk)) {
    size_t w;
    if (size && SSL_write_ex(h.cl, data, size, &w) != 1) abort();
    pump_client_out(&h, chunk);
    for (int i = 0; i < 4; i++) { /* the echo, as records come back */
      client_read(&h);
      pump_server_out(&h);
    }
    client_read(&h);
    if (!h.c->closed && (echoed != size || h.echo_len != size || memcmp(h.echo, data, size)))
      abort();
    feed(&h, data, size, chunk); /* the same bytes raw: not records of this session */
  }
  if (!h.c->closed) sio__conn_abort(h.c);
  sio__net_reap(net); /* frees the connection and its TLS state */
  close(sv[1]);
  SSL_free(h.cl); /* and its BIOs */
  free(h.echo);
}

/* OpenSSL and the net allocate some state once (error queues, the net's TLS buffers, a cached
 * write queue): one connection of each kind first, so that the leak check counts only the
 * connection's own. */
static void warm_up(void) {
  static const uint8_t plain[] = "\x00\x01GET / HTTP/1.1\r\n\r\n";
  static const uint8_t echo[] = "\x01\x01hello";
  run(plain, sizeof plain - 1);
  run(echo, sizeof echo - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  long live = sio__alloc_live();
  run(data, size);
  if (sio__alloc_live() != live) abort();
  return 0;
}
