/* sio TLS: HTTPS and WSS served by the app itself, on OpenSSL 3.
 *
 *   sio_tls_opts tls = sio_tls_opts_default();
 *   tls.cert_file = "cert.pem";   (the leaf first, then the intermediates)
 *   tls.key_file = "key.pem";
 *   sio_app_opts ao = sio_app_opts_default();
 *   ao.port = 443;
 *   ao.tls = &tls;                 (the app's listener speaks HTTPS, WebSockets are wss://)
 *   sio_app *app = sio_app_new(loop, &ao);
 *
 * Everything above the connection works unchanged over TLS: routes, static files, WebSocket,
 * Engine.IO polling and upgrade, Socket.IO, the served client bundle. ALPN offers http/1.1;
 * session tickets are on (resumption survives sio_app_tls_reload). The options are copied by
 * sio_app_new; the files are read by sio_app_listen, which fails with SIO_ETLS_CERT,
 * SIO_ETLS_KEY, SIO_ETLS_CA or SIO_ETLS_CONFIG (and logs the file and OpenSSL's reason). */
#ifndef SIO_TLS_H
#define SIO_TLS_H

#include "sio/core.h"
#include "sio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A certificate for one server name (SNI): a client that asks for `servername` gets this one;
 * "*.example.com" matches one label. Other names get the default (sio_tls_opts.cert_file). */
typedef struct sio_tls_sni {
  const char *servername;
  const char *cert_file; /* PEM chain */
  const char *key_file;  /* PEM private key */
} sio_tls_sni;

/* The plain listener beside the TLS one (sio_tls_opts.plain_port). */
#define SIO_TLS_PLAIN_NONE 0
#define SIO_TLS_PLAIN_ANY  (-1) /* a free port (sio_app_plain_port) */

typedef struct sio_tls_opts {
  const char *cert_file; /* PEM certificate chain, leaf first; required (or cert_pem) */
  const char *key_file;  /* PEM private key; required (or key_pem) */
  /* The passphrase of an encrypted key_file, and of the SNI entries' keys (Node's
   * `passphrase`), kept for reloads and wiped from memory when the app goes. NULL: the keys
   * must be unencrypted; an encrypted one then fails sio_app_listen with SIO_ETLS_KEY (never a
   * prompt on the terminal). */
  const char *key_passphrase;
  /* The same as PEM text in memory (Node's `cert`, `key`, `ca` given as strings), in place of
   * cert_file, key_file and ca_file: for keys read from a secure element or compiled in. The
   * text is copied; sio_app_tls_reload keeps it (only files are read again), sio_app_tls_update
   * replaces it. */
  const char *cert_pem, *key_pem, *ca_pem;
  /* Client certificates: with a CA file, clients must present a certificate it signed (the
   * handshake fails otherwise), or may, with client_cert_optional. */
  const char *ca_file;
  int client_cert_optional;
  /* 1: a client certificate that fails the check does not fail the handshake; the handler
   * decides, from sio_tls_peer.authorized and .verify_error (Node's requestCert with
   * rejectUnauthorized: false). */
  int accept_unverified_client_certs;
  int min_version;          /* 0 or 12: TLS 1.2 (default); 13: TLS 1.3 only */
  const char *ciphers;      /* TLS 1.2 cipher list (OpenSSL syntax); NULL: OpenSSL's default */
  const char *ciphersuites; /* TLS 1.3 suites; NULL: OpenSSL's default */
  const sio_tls_sni *sni;   /* certificates by server name, sni_count of them */
  size_t sni_count;
  /* A plain HTTP listener as well, on this port (SIO_TLS_PLAIN_ANY: a free one), on the same
   * host. It serves the app as the TLS one does, or, with redirect_plain, answers every request
   * with 301 to the same URL on https:// (the TLS port; 308 for other methods than GET/HEAD). */
  int plain_port;
  int redirect_plain;
  /* Strict-Transport-Security on every answer over TLS: max-age in seconds, 0: not sent. */
  uint32_t hsts_max_age;
  int hsts_include_subdomains;
} sio_tls_opts;

SIO_EXTERN sio_tls_opts sio_tls_opts_default(void);

/* Reads the certificate and key files again (the default's, the CA and every SNI entry's) and
 * serves the new ones to the next handshakes; open connections keep theirs and are not
 * dropped. On failure (the same error codes as sio_app_listen) the old ones stay in use.
 * -EINVAL if the app has no TLS, -EAGAIN before sio_app_listen. */
SIO_EXTERN int sio_app_tls_reload(sio_app *app);

/* Node's server.setSecureContext(options): the next handshakes use tls's certificates, keys,
 * client CAs, versions, ciphers and SNI entries (its plain_port, redirect and HSTS fields are
 * not read: those stay as the app was made). Open connections keep theirs; session tickets
 * issued before still resume. On failure (the codes of sio_app_listen) nothing changes.
 * -EINVAL without TLS, -EAGAIN before sio_app_listen. */
SIO_EXTERN int sio_app_tls_update(sio_app *app, const sio_tls_opts *tls);

/* The plain listener's port (sio_tls_opts.plain_port) after sio_app_listen, else 0. */
SIO_EXTERN int sio_app_plain_port(const sio_app *app);

/* Whether the request came over TLS (on the TLS listener). */
SIO_EXTERN int sio_req_secure(const sio_req *req);

/* --- who is on the other end ----------------------------------------------------------------
 * The client's certificate, as Node's tlsSocket.getPeerCertificate() gives its fields. A
 * client sends one only when asked (sio_tls_opts.ca_file), and one it sends has been verified
 * against the CA file: the handshake failed otherwise, unless accept_unverified_client_certs
 * let it in with authorized 0:
 *
 *   sio_tls_peer peer;
 *   if (sio_req_tls_peer(req, &peer) == 0) printf("device %s\n", peer.common_name);
 *
 * Fields too long for their buffer are cut (always NUL-terminated). */
typedef struct sio_tls_peer {
  char subject[256];       /* RFC 2253: "CN=alice,O=Acme" */
  char issuer[256];        /* the same, of the issuer */
  char common_name[128];   /* the subject's CN, "" if it has none (Node: subject.CN) */
  char serial[84];         /* hex, upper case (Node: serialNumber) */
  char fingerprint256[96]; /* "AB:01:..", SHA-256 of the DER (Node: fingerprint256) */
  char valid_from[32];     /* "Dec  7 01:02:03 2026 GMT" (Node: valid_from) */
  char valid_to[32];
  int authorized; /* it passed the check against the CA (Node: socket.authorized) */
  /* why not, as Node's socket.authorizationError names it ("CERT_HAS_EXPIRED",
   * "DEPTH_ZERO_SELF_SIGNED_CERT", ...), "" when authorized */
  char verify_error[64];
} sio_tls_peer;

/* The session: what Node's getProtocol(), getCipher().name, servername, alpnProtocol and
 * isSessionReused() tell. */
typedef struct sio_tls_info {
  char version[16];     /* "TLSv1.3", "TLSv1.2" */
  char cipher[64];      /* "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256" */
  char servername[256]; /* the name the client asked for (SNI), "" if none */
  char alpn[32];        /* "http/1.1", "" if the client offered no ALPN */
  int resumed;          /* 1: resumed from a session ticket, no full handshake */
} sio_tls_info;

typedef struct sio_ws sio_ws;
typedef struct sio_eio_socket sio_eio_socket;
typedef struct sio_socket sio_socket;

/* 0; -ENOENT: the client sent no certificate, or its TLS connection is held by another worker
 * (sio/workers.h), which relays the request here; -EINVAL: not over TLS (or a NULL argument). */
SIO_EXTERN int sio_req_tls_peer(const sio_req *req, sio_tls_peer *out);
/* 0; -ENOENT: relayed from the worker holding the TLS; -EINVAL: not over TLS (or NULL). */
SIO_EXTERN int sio_req_tls_info(const sio_req *req, sio_tls_info *out);
/* The same of a raw WebSocket's connection (sio/ws.h). */
SIO_EXTERN int sio_ws_tls_peer(const sio_ws *ws, sio_tls_peer *out);
/* The certificate of an Engine.IO session's handshake request (sio/engine.h), and of a
 * Socket.IO socket's (sio/io.h; Node: socket.request.socket.getPeerCertificate()). It is kept
 * with the handshake, so it is there over polling too, where each request is a connection of
 * its own: -ENOENT also once sio_io_opts.drop_handshake has let the handshake go. */
SIO_EXTERN int sio_eio_socket_tls_peer(const sio_eio_socket *s, sio_tls_peer *out);
SIO_EXTERN int sio_handshake_tls_peer(const sio_socket *s, sio_tls_peer *out);

#ifdef __cplusplus
}
#endif
#endif
