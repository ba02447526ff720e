/* Certificates and keys from PEM text in memory (sio_tls_opts.cert_pem, key_pem, ca_pem), for
 * the programs that hold them there (read from a secure element, compiled in, fetched): the
 * same result as OpenSSL's *_file loaders, which read only files.
 *
 * Each returns 1 on success and 0 on failure, as those loaders do, with OpenSSL's reason in
 * the error queue. */
#include "net/tls_pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static BIO *pem_bio(const char *pem) {
  return BIO_new_mem_buf(pem, -1);
}

/* After the last PEM block, OpenSSL queues "no start line": the end, not an error. */
static int at_end(void) {
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) return 0;
  ERR_clear_error();
  return 1;
}

int sio__tls_use_chain_pem(SSL_CTX *ctx, const char *pem) {
  BIO *b = pem_bio(pem);
  if (!b) return 0;
  X509 *leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
  int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1 && SSL_CTX_clear_chain_certs(ctx) == 1;
  X509_free(leaf);
  X509 *ca;
  while (ok && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) { /* taken on success only */
      X509_free(ca);
      ok = 0;
    }
  }
  if (ok) ok = at_end();
  BIO_free(b);
  return ok;
}

int sio__tls_use_key_pem(SSL_CTX *ctx, const char *pem) {
  BIO *b = pem_bio(pem);
  if (!b) return 0;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, SSL_CTX_get_default_passwd_cb(ctx),
                                          SSL_CTX_get_default_passwd_cb_userdata(ctx));
  int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  BIO_free(b);
  return ok;
}

int sio__tls_use_ca_pem(SSL_CTX *ctx, const char *pem, STACK_OF(X509_NAME) * *names_out) {
  BIO *b = pem_bio(pem);
  STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int ok = b && names && store, n = 0;
  X509 *ca;
  while (ok && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    X509_NAME *name = X509_NAME_dup(X509_get_subject_name(ca));
    ok = name && X509_STORE_add_cert(store, ca) == 1 && sk_X509_NAME_push(names, name) > 0;
    if (!ok) X509_NAME_free(name);
    X509_free(ca);
    n++;
  }
  if (ok) ok = n > 0 && at_end(); /* at least one certificate */
  BIO_free(b);
  if (!ok) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return 0;
  }
  *names_out = names;
  return 1;
}
