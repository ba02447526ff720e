/* Content negotiation and CORS, once for the HTTP layer and the layers above it (static files,
 * the CORS middleware, Engine.IO's polling responses and CORS, the Socket.IO client bundle).
 *
 * - Accept-Encoding (RFC 9110, 12.5.3): whether a response may be gzipped. q=0 refuses a
 *   coding; "*" stands for every coding the field does not name; a client that ranks identity
 *   above gzip gets identity.
 * - CORS as the `cors` middleware that Express and Node's engine.io use: the origin decision
 *   (any, one, a comma-separated list, or a function), credentials, and the preflight answer
 *   (204 with Content-Length: 0 and no body type). */
#ifndef SIO_HTTP_NEGOTIATE_H
#define SIO_HTTP_NEGOTIATE_H

#include "sio/http.h"

/* 1 if a response may be gzipped for this Accept-Encoding value (NULL: no header, no gzip):
 * gzip (or x-gzip), else "*", has a q above 0 and no lower than an explicit identity's. */
int sio__accepts_gzip(const char *accept_encoding);

#define SIO__CORS_METHODS "GET,HEAD,PUT,PATCH,POST,DELETE"

/* A CORS policy; the strings are the caller's and must outlive it. */
typedef struct sio__cors {
  const char *origin; /* "*", one origin or a comma-separated list; NULL: origin_fn decides */
  int (*origin_fn)(const char *origin, void *user); /* 1 allows (the origin is reflected) */
  void *origin_user;
  const char *methods;         /* Access-Control-Allow-Methods [SIO__CORS_METHODS] */
  const char *allowed_headers; /* NULL: Access-Control-Request-Headers echoed */
  int credentials;             /* Access-Control-Allow-Credentials: true (allowed origins) */
  int max_age;                 /* Access-Control-Max-Age in seconds; 0: not sent */
  /* Which OPTIONS requests are preflights: every one (engine.io, as its cors middleware), or
   * only those with Access-Control-Request-Method (the app's, so that the router answers the
   * others with Allow). */
  int every_options_is_preflight;
} sio__cors;

/* Adds the CORS headers c gives req to res. Returns 1 when req was a preflight, answered here
 * (204, Content-Length: 0, no Content-Type: with the methods and headers when the origin is
 * allowed), else 0 (the caller goes on answering). */
int sio__cors_apply(const sio__cors *c, sio_req *req, sio_res *res);

#endif
