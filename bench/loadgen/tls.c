/* sio-loadgen --tls: the client side of TLS, OpenSSL over the connection's descriptor
 * (SSL_set_fd: a client may; the server under test never does).
 *
 * One SSL_CTX for the run: TLS 1.2 or 1.3 as the server picks, no certificate check (the
 * benchmark's certificate is throwaway), no session cache (every handshake is a full one, as
 * a new client's), partial writes, and released buffers (an idle client holds none: ten
 * thousand of them fit in one process). Read-ahead on: one read() takes what the server sent
 * (a batch of replies, a record or several) instead of OpenSSL's read of the 5-byte record
 * header and another of its body, so the load generator makes one read per batch and one
 * EAGAIN, not three reads, and loads the server harder for the same CPU. */
#include "loadgen.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

static SSL_CTX *ctx;

static SSL_CTX *client_ctx(void) {
  if (ctx) return ctx;
  ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) lg_fatal("SSL_CTX_new failed");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 1); /* see above */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
  return ctx;
}

static void tls_error(lg_ctx *x, lg_conn *c, const char *what, int err) {
  char msg[160], why[120] = "";
  unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, why, sizeof why);
  else if (err == SSL_ERROR_SYSCALL)
    snprintf(why, sizeof why, "%s", errno ? strerror(errno) : "the server closed");
  snprintf(msg, sizeof msg, "%s: %s", what, why[0] ? why : "failed");
  ERR_clear_error();
  lg_conn_error(x, c, msg);
}

void lg_tls_start(lg_ctx *x, lg_conn *c) {
  SSL *ssl = SSL_new(client_ctx());
  if (!ssl || !SSL_set_fd(ssl, c->fd)) lg_fatal("SSL_new failed");
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set_connect_state(ssl);
  c->ssl = ssl;
  c->state = ST_TLS;
}

int lg_tls_handshake(lg_ctx *x, lg_conn *c, bool *want_out) {
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) return 1;
  int err = SSL_get_error(c->ssl, r);
  *want_out = err == SSL_ERROR_WANT_WRITE;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  tls_error(x, c, "TLS handshake", err);
  return -1;
}

long lg_tls_recv(lg_ctx *x, lg_conn *c, void *buf, size_t len) {
  size_t got;
  if (SSL_read_ex(c->ssl, buf, len, &got) == 1) return (long)got;
  int err = SSL_get_error(c->ssl, 0);
  if (err == SSL_ERROR_ZERO_RETURN ||
      (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET))) {
    ERR_clear_error();
    return 0; /* close_notify, or the end of the stream */
  }
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  tls_error(x, c, "TLS read", err);
  errno = EPROTO;
  return -2; /* reported already */
}

long lg_tls_send(lg_ctx *x, lg_conn *c, const void *buf, size_t len, bool *want_out) {
  size_t w;
  *want_out = false;
  if (SSL_write_ex(c->ssl, buf, len, &w) == 1) return (long)w;
  int err = SSL_get_error(c->ssl, 0);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
    *want_out = err == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  }
  tls_error(x, c, "TLS write", err);
  return -2;
}

bool lg_tls_pending(const lg_conn *c) {
  return SSL_has_pending(c->ssl) == 1;
}

void lg_tls_free(lg_conn *c) {
  SSL_free(c->ssl);
  c->ssl = NULL;
}
