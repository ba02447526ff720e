/* TLS in the net layer, on OpenSSL 3 over memory BIOs of our own (no SSL_set_fd).
 *
 * A sio__tls_ctx is a server's TLS configuration: an SSL_CTX for the default certificate, one
 * per SNI name, ALPN http/1.1, tickets, client-certificate checks (tls_ctx.c). A listener given
 * one makes each accepted connection a TLS connection (tls_conn.c): the layers above still
 * read plaintext through on_data and write plaintext with sio__conn_write; the net decrypts
 * what it reads before on_data and encrypts the write queue when it flushes, so that the
 * writes of a loop iteration become as few records as their size needs and the epoll set, the
 * write batching and the per-connection memory stay the net's. */
#ifndef SIO_NET_TLS_H
#define SIO_NET_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

typedef struct sio__tls_ctx sio__tls_ctx;

typedef struct sio__tls_sni_cfg {
  const char *servername, *cert_file, *key_file;
} sio__tls_sni_cfg;

typedef struct sio__tls_cfg {
  const char *cert_file, *key_file, *ca_file;
  const char *key_passphrase;              /* NULL: the keys are not encrypted */
  const char *cert_pem, *key_pem, *ca_pem; /* PEM text in place of the files */
  int client_cert_optional, accept_unverified;
  int min_version; /* 0 or 12: TLS 1.2; 13: TLS 1.3 */
  const char *ciphers, *ciphersuites;
  const sio__tls_sni_cfg *sni;
  size_t sni_count;
} sio__tls_cfg;

/* A deep copy of a configuration (strings and SNI entries), and its release (passphrase and
 * key wiped). 0 or -ENOMEM (nothing is left to free then). */
int sio__tls_cfg_copy(sio__tls_cfg *dst, const sio__tls_cfg *src);
void sio__tls_cfg_free(sio__tls_cfg *cfg);

/* Reads the files and builds the contexts. 0, or SIO_ETLS_* / -ENOMEM (logged with the file
 * and OpenSSL's reason). The configuration's strings are copied. */
int sio__tls_ctx_new(const sio__tls_cfg *cfg, sio__tls_ctx **out);
/* Reads the files again; the next handshakes use the new certificates (the ticket keys are
 * kept, so resumption goes on). On failure the old ones stay. */
int sio__tls_ctx_reload(sio__tls_ctx *ctx);
/* The same with a new configuration in place of the old one (copied). */
int sio__tls_ctx_update(sio__tls_ctx *ctx, const sio__tls_cfg *cfg);
sio__tls_ctx *sio__tls_ctx_ref(sio__tls_ctx *ctx);
void sio__tls_ctx_unref(sio__tls_ctx *ctx);
/* The current SSL_CTX for the default certificate (an SSL_CTX *). */
void *sio__tls_ctx_ssl_ctx(sio__tls_ctx *ctx);

/* --- a connection's TLS (tls_conn.c, called by conn.c) -------------------------------------- */
/* Makes c a TLS connection (before sio__conn_start). 0 or -ENOMEM. */
int sio__tls_attach(sio__conn *c, sio__tls_ctx *ctx);
static inline int sio__conn_is_tls(const sio__conn *c) {
  return c->tls != NULL;
}
/* Over TLS for the layers above: TLS here, or relayed from the worker that holds its TLS. */
static inline int sio__conn_secure(const sio__conn *c) {
  return c->tls != NULL || c->relayed_tls;
}
/* Ciphertext read from the socket: decrypts it and hands the plaintext to c->handler. */
void sio__tls_input(sio__conn *c, const char *data, size_t len);
/* Ciphertext kept while paused: fed again on resume. */
int sio__tls_has_input(const sio__conn *c);
void sio__tls_input_kept(sio__conn *c);
/* The flush of a TLS connection: what is queued is encrypted and sent (close_notify after it
 * when closing). */
void sio__tls_flush(sio__conn *c);
/* Ciphertext accepted but not yet taken by the kernel. */
size_t sio__tls_buffered(const sio__conn *c);
/* Whether the close of c should go through a flush (to send close_notify). */
int sio__tls_wants_notify(const sio__conn *c);
void sio__tls_free(sio__conn *c);

/* The negotiated version ("TLSv1.3"), or NULL before the handshake has completed. */
const char *sio__tls_version(const sio__conn *c);
/* The check of the peer's certificate: X509_V_OK (0) or OpenSSL's X509_V_ERR_* code. */
long sio__tls_verify_result(const sio__conn *c);
/* The peer's certificate (an X509 *, borrowed: valid while c is), NULL when it sent none. */
void *sio__tls_peer_cert(const sio__conn *c);
/* c's SSL (an SSL *, borrowed), NULL for a plain connection or before its first bytes. */
void *sio__tls_ssl(const sio__conn *c);
/* A reference of the caller's own on a certificate from sio__tls_peer_cert, for keeping it past
 * the connection (NULL stays NULL), and its release. */
void *sio__tls_cert_ref(void *x509);
void sio__tls_cert_unref(void *x509);

#endif
