/* Who is on the other end of a TLS connection (sio/tls.h): the client certificate's fields as
 * Node writes them, for the layers that keep or reach a connection (engine, ws). */
#ifndef SIO_HTTP_TLS_PEER_H
#define SIO_HTTP_TLS_PEER_H

#include "net/net.h"
#include "sio/tls.h"

/* Fills out from a certificate (an X509 *) and the result of its check (X509_V_OK or an
 * X509_V_ERR_* code). 0 or -ENOMEM. */
int sio__tls_peer_fill(const void *x509, long verify_result, sio_tls_peer *out);
/* The client certificate of connection c: 0; -ENOENT when it sent none, or when its TLS is
 * another worker's (relayed); -EINVAL over plain TCP. */
int sio__conn_tls_peer(sio__conn *c, sio_tls_peer *out);
/* The request's client certificate with a reference of the caller's own (released with
 * sio__tls_cert_unref, net/tls.h), and the result of its check; NULL when there is none. */
void *sio__req_tls_cert_ref(const sio_req *req, long *verify_result);

#endif
