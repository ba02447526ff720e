/* Internal hooks of the HTTP layer for the layers above it (WebSocket, Engine.IO, Socket.IO).
 *
 * These names are stable: src/ws, src/engine and src/socketio code against them.
 *
 * - Upgrade hooks: a GET request carrying an `Upgrade` header whose path starts with a
 *   registered prefix (the longest matching prefix wins) is handed to the hook instead of the
 *   router. The hook either takes the connection over (returns 1: it has written its own 101
 *   response with sio__conn_write*, set conn->handler and conn->ctx, and from then on owns the
 *   connection; the HTTP layer frees its own per-connection state right after the call and never
 *   touches conn again), or answers through `res` like any handler (returns 0: e.g. 400, 403,
 *   426) and HTTP processing continues normally. `rest` holds the bytes received after the head
 *   (already the start of the new protocol); they are valid only during the call. `req` and
 *   `res` are valid only during the call when the hook returns 1 (copy what you keep).
 *   Without a matching hook, an upgrade request is an ordinary request.
 *   A hook that decides later (an asynchronous check of the request, as Engine.IO's
 *   allowRequest) returns SIO__UPGRADE_LATER: the request stays in progress (bytes that arrive
 *   wait), and the hook then answers through `res` (the connection closes after the answer) or
 *   calls sio__upgrade_resume. A hook that waits registers sio_res_on_close to hear of the
 *   client leaving first (req and res are gone after that callback).
 *
 * - Intercepts (the public sio_app_intercept of sio/http.h): handlers that run before the app's
 *   middleware and router for requests whose path starts with the prefix (as Node's engine.io
 *   answers before express). The handler answers (possibly later: held long-polls) or calls
 *   sio_next(req, res) to fall through to the app. The longest matching prefix wins; at most
 *   one intercept runs per request.
 *
 * - Shutdown hooks: called once when graceful shutdown begins (sio_app_close or a signal), after
 *   the listener stopped accepting: close WebSockets with 1001, release held polls. In-flight
 *   HTTP responses then have until the deadline to finish.
 *
 * All of them run on the loop thread. Prefixes are matched on the raw path (before
 * percent-decoding), on whole bytes: "/socket.io/" matches "/socket.io/?EIO=4". */
#ifndef SIO_HTTP_SERVER_H
#define SIO_HTTP_SERVER_H

#include <stddef.h>

#include "core/buf.h"
#include "core/codec.h"
#include "net/net.h"
#include "sio/http.h"

typedef int (*sio__upgrade_fn)(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                               size_t rest_len, void *user);
int sio__app_on_upgrade(sio_app *app, const char *path_prefix, sio__upgrade_fn fn, void *user);
#define SIO__UPGRADE_LATER 2
/* Runs fn as the upgrade hook of a request whose hook returned SIO__UPGRADE_LATER, with the
 * bytes that arrived after its head, and does what a hook's return asks (1: the connection is
 * fn's; 0: answered, 400 if fn did not). Returns what fn returned, or SIO_ECLOSED when the
 * request can no longer be upgraded (the client left, or it was answered). */
int sio__upgrade_resume(sio_req *req, sio__upgrade_fn fn, void *user);

/* Owner hooks (workers): for a request whose path starts with the prefix, fn names the worker
 * whose state the request belongs to (an Engine.IO sid names its worker), or returns -1 for
 * "any". When the app is a worker (sio_app_opts.worker) and fn names another worker, the
 * connection is passed to that worker with the bytes read so far (the request head, and what
 * followed it), before any answer: the request never reaches this process's handlers. The
 * handoff waits for the connection's earlier responses to leave; TLS connections stay (their
 * encryption state cannot move), as do requests whose head and read bytes exceed what a pass
 * carries. */
typedef int (*sio__owner_fn)(sio_req *req, void *user);
int sio__app_on_owner(sio_app *app, const char *path_prefix, sio__owner_fn fn, void *user);
/* The app's worker (sio_app_opts.worker), or NULL. */
sio_worker *sio__app_worker(const sio_app *app);

typedef void (*sio__shutdown_fn)(sio_app *app, void *user);
int sio__app_on_shutdown(sio_app *app, sio__shutdown_fn fn, void *user);

/* Attachments: ownership runs from the app down (attach.c). A layer's server object registers
 * when it attaches to the app: obj must be one block from sio__malloc. sio_app_free calls
 * release(obj) for every object not released yet (last attached first, after the app's HTTP
 * connections were dropped and before its hooks go), and the app frees every registered block
 * (sio__free) when its own memory goes, so that a handle stays valid memory until then and a
 * free that comes second sees it released and returns. NULL: no memory (fail the attach). */
typedef struct sio__attachment sio__attachment;
sio__attachment *sio__app_attach(sio_app *app, void (*release)(void *obj), void *obj);
/* The object's owner released it first (its free function, called by the user while the app
 * lives, or by release above): the app removes every hook registered with obj as its user,
 * will not call release, and frees the block at its end. Safe twice, and with NULL. */
void sio__app_detach(sio__attachment *a);
/* Removes every hook registered with `user` as its user (upgrades, intercepts, shutdown). */
void sio__app_unhook(sio_app *app, const void *user);
/* 1 once the object was released (by sio__app_detach or by the app), or for NULL. */
int sio__attachment_released(const sio__attachment *a);

/* The network glue the app serves on (shared by every layer on this loop). */
sio__net *sio__app_net(sio_app *app);
/* 1 once graceful shutdown has begun. */
int sio__app_closing(const sio_app *app);

/* The request's connection (NULL once the client went away) and the peer's address as
 * received from the socket (not X-Forwarded-For; see sio_req_ip for that). */
sio__conn *sio__req_conn(const sio_req *req);
int sio__req_peer(const sio_req *req, char *ip, size_t iplen, int *port);
/* 1 when the request's connection was accepted past the app's connection cap (every live
 * connection of the app counts, upgraded ones included): an upgrade hook must then refuse it,
 * a WebSocket with a completed handshake and close code 1013 (sio__ws_accept does that). Plain
 * requests on such a connection never reach the router: the HTTP layer answers 503. */
int sio__req_over_capacity(const sio_req *req);
/* The raw query string after '?' (not decoded), "" when none. */
const char *sio__req_query_string(const sio_req *req);
/* The request head as kept by the request: one block of head_len + 1 bytes in which the method,
 * the URL (query included), every header name and value are NUL-terminated pieces, so that a
 * layer keeping them copies the block at once and moves the pointers by the same offset.
 * *names and *values get the header arrays (sio_req_header_at's order); returns their count. */
size_t sio__req_head_block(const sio_req *req, const char **head, size_t *head_len,
                           const char *const **names, const char *const **values);

/* Percent-decoding: sio__pct_decode, in core/codec.h. */

/* Finishes the response with a shared buffer as body (zero-copy: takes a reference to b), for
 * payloads encoded once and sent to many (Engine.IO polling). Content-Type as set, else
 * text/plain. */
int sio__res_send_buf(sio_res *res, sio__buf *b, size_t off, size_t len);

#endif
