/* sio Engine.IO: the server side of Engine.IO v4 on its own, as Node's `engine.io` package.
 *
 *   static void on_message(sio_eio_socket *s, const char *data, size_t len, int binary,
 *                          void *user) {
 *     sio_eio_send(s, data, len, binary);                       (echo)
 *   }
 *   sio_eio *eio = sio_eio_attach(app, &(sio_eio_opts){ .path = "/engine.io/" },
 *                                 &(sio_eio_handlers){ .message = on_message }, NULL);
 *
 * A session (sio_eio_socket) starts with a long-polling or WebSocket handshake, may upgrade
 * from polling to WebSocket, is kept alive by the server's pings, and ends once with a reason:
 * "transport close" (the client closed it or went away), "ping timeout", "transport error",
 * "parse error", "forced close" (sio_eio_socket_close) or "server shutting down".
 *
 * With allow_eio3 the server also speaks Engine.IO v3 to older clients, as Node's engine.io does:
 * length-prefixed polling payloads (XHR2 binary payloads, or base64 with b64=1), binary
 * WebSocket frames led by their type byte, and the heartbeat reversed (the client pings, the
 * server answers; pingInterval + pingTimeout without a ping closes the session).
 *
 * Conventions (as libuv): 0 or a negative error code (sio_strerror); callbacks get the `user`
 * given to sio_eio_attach; everything runs on the loop thread. */
#ifndef SIO_ENGINE_H
#define SIO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sio/core.h"
#include "sio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_eio sio_eio;               /* the server, attached to an app */
typedef struct sio_eio_socket sio_eio_socket; /* one client session */

enum {
  SIO_EIO_POLLING = 1,
  SIO_EIO_WEBSOCKET = 2,
};

/* Origin check for CORS: 1 to allow (the origin is reflected), 0 to refuse. */
typedef int (*sio_eio_origin_fn)(const char *origin, void *user);

/* Zero means the default (in brackets; names as Node's engine.io). */
typedef struct sio_eio_opts {
  const char *path;                 /* ["/engine.io/"]; must end with '/' */
  uint32_t ping_interval_ms;        /* pingInterval [25000] */
  uint32_t ping_timeout_ms;         /* pingTimeout [20000] */
  uint32_t upgrade_timeout_ms;      /* upgradeTimeout [10000] */
  size_t max_http_buffer_size;      /* maxHttpBufferSize [1e6]: bigger POSTs get 413, bigger
                                       WebSocket messages close with 1009; the session closes */
  unsigned transports;              /* SIO_EIO_* bits [both] */
  int no_upgrades;                  /* allowUpgrades = false */
  int http_compression;             /* gzip polling responses when accepted [off] */
  size_t compression_threshold;     /* only responses, and WebSocket messages, at least this long
                                       are compressed [1024] (httpCompression.threshold and
                                       perMessageDeflate.threshold) */
  int per_message_deflate;          /* perMessageDeflate on the WebSocket transport [off] */
  const char *cors_origin;          /* "*", an origin, or a comma-separated list [no CORS] */
  sio_eio_origin_fn cors_origin_fn; /* or a function deciding per origin */
  void *cors_user;
  int cors_credentials;     /* Access-Control-Allow-Credentials: true */
  size_t send_buffer_limit; /* per-session bytes not yet sent [1 MiB]: past it sends
                               fail with SIO_ETOOLARGE (see sio_eio_send) */
  int allow_eio3;           /* allowEIO3: accept Engine.IO v3 clients (engine.io-client 3.x, as in
                               socket.io-client 2.x) [off: their handshake gets 400 code 5,
                               "Unsupported protocol version"] */
} sio_eio_opts;

SIO_EXTERN sio_eio_opts sio_eio_opts_default(void); /* for C++ callers */

typedef struct sio_eio_handlers {
  /* Optional: decide on a handshake (allowRequest). Return 0 to accept; anything else refuses
   * it with 403 {"code":4,"message":"Forbidden"}. */
  int (*allow_request)(sio_req *req, void *user);
  /* A new session is open (its open packet is on its way). */
  void (*connection)(sio_eio_socket *s, void *user);
  /* One message: text (UTF-8) or binary. data is valid only during the call. */
  void (*message)(sio_eio_socket *s, const char *data, size_t len, int binary, void *user);
  /* Optional: everything queued so far has been handed to the transport. */
  void (*drain)(sio_eio_socket *s, void *user);
  /* The session ended (exactly once). The handle must not be used after this returns. */
  void (*close)(sio_eio_socket *s, const char *reason, void *user);
} sio_eio_handlers;

/* allowRequest, decided asynchronously (Node's `allowRequest: (req, callback) => ...`): fn is
 * asked about each handshake request (a request without a sid, polling or WebSocket, after the
 * transport and method checks and before the protocol version's, as Node's engine.io orders
 * them; the requests of an established session, its upgrade included, are not asked). It
 * decides now or later from the loop thread, exactly once, with sio_allow_accept or
 * sio_allow_refuse. A refused polling handshake gets 403 {"code":4,"message":M}, M being the
 * refusal's message or "Forbidden"; a refused WebSocket handshake gets Node's abortUpgrade
 * answer: 400 Bad Request, text/html, the message as its body, and the connection closed.
 * `req` is valid during the call; later, sio_allow_req(allow) gives it, or NULL once the client
 * went away (a decision then goes nowhere, and still must be made: it frees the sio_allow).
 * The synchronous handler allow_request, when set, is asked first. */
typedef struct sio_allow sio_allow;
typedef void (*sio_allow_fn)(sio_req *req, sio_allow *allow, void *user);
SIO_EXTERN void sio_allow_accept(sio_allow *allow);
/* message: NULL for "Forbidden" (copied). */
SIO_EXTERN void sio_allow_refuse(sio_allow *allow, const char *message);
SIO_EXTERN sio_req *sio_allow_req(const sio_allow *allow);

/* Serves Engine.IO at opts->path on the app (opts may be NULL). On the app's graceful shutdown
 * every session is closed ("server shutting down"). NULL on failure. */
SIO_EXTERN sio_eio *sio_eio_attach(sio_app *app, const sio_eio_opts *opts,
                                   const sio_eio_handlers *h, void *user);
/* Sets (or with fn NULL, removes) the asynchronous allowRequest: see sio_allow_fn. 0 or
 * -EINVAL. */
SIO_EXTERN int sio_eio_allow_request(sio_eio *eio, sio_allow_fn fn, void *user);
/* Closes every session and stops serving; the server is freed once they are gone. */
SIO_EXTERN void sio_eio_close(sio_eio *eio);
SIO_EXTERN size_t sio_eio_clients_count(const sio_eio *eio);
/* Frees the server: every session ends ("server shutting down") and its path stops being
 * served. Optional: sio_app_free frees the servers attached to the app. Safe before or after
 * sio_app_free and twice (a free that comes second does nothing), until the loop has run past
 * sio_app_free (see sio/http.h): the handle stays valid memory while the app's does. */
SIO_EXTERN void sio_eio_free(sio_eio *eio);

/* Sends one message (copied). 0, SIO_ECLOSED once the session is closing, SIO_ETOOLARGE when
 * the session's send buffer is past send_buffer_limit (the message is dropped: close the
 * session if a slow client must not miss anything), or another negative code. */
SIO_EXTERN int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary);
/* Closes the session ("forced close"); what was queued is still delivered. */
SIO_EXTERN void sio_eio_socket_close(sio_eio_socket *s);
SIO_EXTERN const char *sio_eio_socket_id(const sio_eio_socket *s);
/* The session's Engine.IO protocol revision: 4, or 3 for a client allow_eio3 let in. */
SIO_EXTERN int sio_eio_socket_protocol(const sio_eio_socket *s);
/* "polling" or "websocket" (the current transport). */
SIO_EXTERN const char *sio_eio_socket_transport(const sio_eio_socket *s);
/* Bytes queued for this session and not yet sent. */
SIO_EXTERN size_t sio_eio_socket_buffered(const sio_eio_socket *s);
SIO_EXTERN void sio_eio_socket_set_data(sio_eio_socket *s, void *data);
SIO_EXTERN void *sio_eio_socket_data(const sio_eio_socket *s);
/* The handshake request: a header (case-insensitive), a query parameter (decoded), the peer
 * address, the URL. NULL when absent. */
SIO_EXTERN const char *sio_eio_socket_header(const sio_eio_socket *s, const char *name);
SIO_EXTERN const char *sio_eio_socket_query(const sio_eio_socket *s, const char *name);
SIO_EXTERN const char *sio_eio_socket_remote_address(const sio_eio_socket *s);
SIO_EXTERN const char *sio_eio_socket_url(const sio_eio_socket *s);

#ifdef __cplusplus
}
#endif
#endif
