/* The client certificate and the session of a request's TLS connection (sio/tls.h), each field
 * written as Node's tlsSocket writes it (getPeerCertificate(), getProtocol(), getCipher()), so
 * that a check ported from a Node server compares the same strings: RFC 2253 names, the serial
 * and the SHA-256 fingerprint in upper-case hex, the dates as OpenSSL prints them. */
#include "http/tls_peer.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "http/app_internal.h"
#include "net/tls.h"

static void copy_cut(char *out, size_t cap, const char *s, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(out, s, n);
  out[n] = '\0';
}

/* What an OpenSSL print function wrote into a memory BIO, into out. 0 or -ENOMEM. */
static int take_bio(BIO *b, char *out, size_t cap) {
  char *p;
  long n = BIO_get_mem_data(b, &p);
  copy_cut(out, cap, p, n > 0 ? (size_t)n : 0);
  return BIO_free(b) == 1 ? 0 : -ENOMEM;
}

static int name_text(const X509_NAME *name, char *out, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return -ENOMEM;
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
  return take_bio(b, out, cap);
}

static int time_text(const ASN1_TIME *t, char *out, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return -ENOMEM;
  ASN1_TIME_print(b, t);
  return take_bio(b, out, cap);
}

static int serial_text(const X509 *x, char *out, size_t cap) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  BN_free(bn);
  if (!hex) return -ENOMEM;
  copy_cut(out, cap, hex, strlen(hex));
  OPENSSL_free(hex);
  return 0;
}

static int fingerprint_text(const X509 *x, char *out, size_t cap) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) != 1) return -ENOMEM;
  static const char hex[] = "0123456789ABCDEF";
  size_t k = 0;
  for (unsigned i = 0; i < n && k + (i ? 3 : 2) < cap; i++) { /* room for the NUL after */
    if (i) out[k++] = ':';
    out[k++] = hex[md[i] >> 4];
    out[k++] = hex[md[i] & 15];
  }
  out[k] = '\0';
  return 0;
}

/* Node's socket.authorizationError: the X509_V_ERR_ constant's name without its prefix, for the
 * codes Node names; OpenSSL's text for the others. */
static const char *verify_error_name(long code) {
  static const struct {
    long code;
    const char *name;
  } names[] = {
#define NAMED(e) {X509_V_ERR_##e, #e}
      NAMED(UNABLE_TO_GET_ISSUER_CERT),
      NAMED(UNABLE_TO_GET_CRL),
      NAMED(UNABLE_TO_DECRYPT_CERT_SIGNATURE),
      NAMED(UNABLE_TO_DECRYPT_CRL_SIGNATURE),
      NAMED(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY),
      NAMED(CERT_SIGNATURE_FAILURE),
      NAMED(CRL_SIGNATURE_FAILURE),
      NAMED(CERT_NOT_YET_VALID),
      NAMED(CERT_HAS_EXPIRED),
      NAMED(CRL_NOT_YET_VALID),
      NAMED(CRL_HAS_EXPIRED),
      NAMED(ERROR_IN_CERT_NOT_BEFORE_FIELD),
      NAMED(ERROR_IN_CERT_NOT_AFTER_FIELD),
      NAMED(ERROR_IN_CRL_LAST_UPDATE_FIELD),
      NAMED(ERROR_IN_CRL_NEXT_UPDATE_FIELD),
      NAMED(OUT_OF_MEM),
      NAMED(DEPTH_ZERO_SELF_SIGNED_CERT),
      NAMED(SELF_SIGNED_CERT_IN_CHAIN),
      NAMED(UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
      NAMED(UNABLE_TO_VERIFY_LEAF_SIGNATURE),
      NAMED(CERT_CHAIN_TOO_LONG),
      NAMED(CERT_REVOKED),
      NAMED(INVALID_CA),
      NAMED(PATH_LENGTH_EXCEEDED),
      NAMED(INVALID_PURPOSE),
      NAMED(CERT_UNTRUSTED),
      NAMED(CERT_REJECTED),
      NAMED(HOSTNAME_MISMATCH),
#undef NAMED
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].code == code) return names[i].name;
  return X509_verify_cert_error_string(code);
}

int sio__tls_peer_fill(const void *x509, long verify_result, sio_tls_peer *out) {
  const X509 *x = x509;
  const X509_NAME *subject = X509_get_subject_name(x);
  memset(out, 0, sizeof *out);
  out->authorized = verify_result == X509_V_OK;
  if (!out->authorized) {
    const char *why = verify_error_name(verify_result);
    copy_cut(out->verify_error, sizeof out->verify_error, why, strlen(why));
  }
  if (X509_NAME_get_text_by_NID(subject, NID_commonName, out->common_name,
                                (int)sizeof out->common_name) < 0)
    out->common_name[0] = '\0';
  int r = name_text(subject, out->subject, sizeof out->subject);
  if (!r) r = name_text(X509_get_issuer_name(x), out->issuer, sizeof out->issuer);
  if (!r) r = serial_text(x, out->serial, sizeof out->serial);
  if (!r) r = fingerprint_text(x, out->fingerprint256, sizeof out->fingerprint256);
  if (!r) r = time_text(X509_get0_notBefore(x), out->valid_from, sizeof out->valid_from);
  if (!r) r = time_text(X509_get0_notAfter(x), out->valid_to, sizeof out->valid_to);
  return r;
}

/* 0 when c's TLS is here; -ENOENT when it is another worker's (relayed, net/tunnel.c: what it
 * knows of the client stays there); -EINVAL over plain TCP. */
static int tls_here(const sio__conn *c) {
  return sio__conn_is_tls(c) ? 0 : sio__conn_secure(c) ? -ENOENT : -EINVAL;
}

/* The request's TLS connection into *c, with tls_here's answer. */
static int tls_conn_of(const sio_req *req, sio__conn **c) {
  if (!req || !req->hc) return -EINVAL;
  *c = req->hc->conn;
  return tls_here(*c);
}

int sio__conn_tls_peer(sio__conn *c, sio_tls_peer *out) {
  int r = tls_here(c);
  if (r) return r;
  const void *x = sio__tls_peer_cert(c);
  return x ? sio__tls_peer_fill(x, sio__tls_verify_result(c), out) : -ENOENT;
}

void *sio__req_tls_cert_ref(const sio_req *req, long *verify_result) {
  sio__conn *c;
  if (tls_conn_of(req, &c) != 0) return NULL;
  *verify_result = sio__tls_verify_result(c);
  return sio__tls_cert_ref(sio__tls_peer_cert(c));
}

int sio_req_tls_peer(const sio_req *req, sio_tls_peer *out) {
  return req && req->hc && out ? sio__conn_tls_peer(req->hc->conn, out) : -EINVAL;
}

int sio_req_tls_info(const sio_req *req, sio_tls_info *out) {
  sio__conn *c;
  int r = out ? tls_conn_of(req, &c) : -EINVAL;
  if (r) return r;
  const SSL *ssl = sio__tls_ssl(c);
  if (!ssl) return -EINVAL;
  memset(out, 0, sizeof *out);
  const char *v = SSL_get_version(ssl);
  copy_cut(out->version, sizeof out->version, v, strlen(v));
  const char *cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  if (cipher) copy_cut(out->cipher, sizeof out->cipher, cipher, strlen(cipher));
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name) copy_cut(out->servername, sizeof out->servername, name, strlen(name));
  const unsigned char *alpn;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len) copy_cut(out->alpn, sizeof out->alpn, (const char *)alpn, alpn_len);
  out->resumed = SSL_session_reused(ssl) == 1;
  return 0;
}
