/* Certificates and keys from PEM text in memory (tls_pem.c). */
#ifndef SIO_NET_TLS_PEM_H
#define SIO_NET_TLS_PEM_H

#include <openssl/ssl.h>

/* The leaf then the chain, as SSL_CTX_use_certificate_chain_file reads them. */
int sio__tls_use_chain_pem(SSL_CTX *ctx, const char *pem);
/* The private key, decrypted through the context's password callback if it is encrypted. */
int sio__tls_use_key_pem(SSL_CTX *ctx, const char *pem);
/* Every certificate of pem trusted for client certificates; *names their subjects (the list
 * sent to clients), the caller's. */
int sio__tls_use_ca_pem(SSL_CTX *ctx, const char *pem, STACK_OF(X509_NAME) * *names);

#endif
