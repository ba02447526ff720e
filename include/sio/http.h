/* sio HTTP: the Express half. An app listens on a libuv loop, runs middleware and routes,
 * and answers with text, JSON, files, redirects or rendered templates.
 *
 *   sio_app *app = sio_app_new(loop, &(sio_app_opts){ .port = 3000 });
 *   sio_app_static(app, "/", "public", NULL);
 *   sio_app_get(app, "/api/cities/:id", on_city, NULL);
 *   sio_app_listen(app);
 *
 *   static void on_city(sio_req *req, sio_res *res, void *user) {
 *     sio_res_jsonf(res, "{s:s}", "id", sio_req_param(req, "id"));
 *   }
 *
 * Conventions (as libuv): functions that can fail return 0 or a negative error code
 * (sio_strerror); callbacks receive the `user` pointer given at registration; everything runs
 * on the loop's thread; nothing blocks. A handler may answer later (from the loop thread): the
 * request and response stay valid until the response is finished. If the client goes away
 * first, a handler that registered sio_res_on_close is told and must not use them after that
 * callback; without it they stay valid (what is sent goes nowhere) until the response is
 * finished. */
#ifndef SIO_HTTP_H
#define SIO_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sio/core.h"
#include "sio/workers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_app sio_app;
typedef struct sio_router sio_router;
typedef struct sio_req sio_req;
typedef struct sio_res sio_res;

typedef struct sio_app_opts {
  const char *host;              /* NULL: all interfaces, IPv6 + IPv4 (as Node's listen) */
  int port;                      /* 0 with .port_any = 1: a free port; else default 3000 */
  int port_any;                  /* listen on a free port (see sio_app_port) */
  size_t max_header_size;        /* request line + headers; default 16384 (431 past it) */
  size_t max_request_line;       /* default 8192 (414 past it) */
  size_t max_body_size;          /* any request body; default 1 MiB (413 past it) */
  uint32_t header_timeout_ms;    /* whole header block must arrive within; default 10000 (408;
                                    timeouts due together are acted on at most 8 per ms) */
  uint32_t keepalive_timeout_ms; /* idle keep-alive connection closed after; default 5000 */
  uint32_t shutdown_timeout_ms;  /* graceful shutdown deadline; default 5000 */
  int trust_proxy;               /* use X-Forwarded-For / -Proto for sio_req_ip / protocol */
  int handle_signals;            /* SIGINT/SIGTERM start a graceful shutdown; default off */
  int max_connections;           /* 0: from RLIMIT_NOFILE; past it new connections get 503 */
  /* HTTPS (sio/tls.h): the listener speaks TLS; copied by sio_app_new. NULL: plain HTTP */
  const struct sio_tls_opts *tls;
  /* One of several worker processes on the same port (sio/workers.h): the listener sets
   * SO_REUSEPORT, Engine.IO sids name this worker, and a request for another worker's session
   * is passed to it (socket and bytes read). Needs a fixed port (not port_any). NULL: alone */
  sio_worker *worker;
} sio_app_opts;

/* C++ callers: start from the defaults and change fields. */
SIO_EXTERN sio_app_opts sio_app_opts_default(void);

SIO_EXTERN sio_app *sio_app_new(uv_loop_t *loop, const sio_app_opts *opts); /* NULL on failure */
SIO_EXTERN int sio_app_listen(sio_app *app);
SIO_EXTERN int sio_app_port(const sio_app *app); /* the bound port, after sio_app_listen */
SIO_EXTERN uv_loop_t *sio_app_loop(const sio_app *app);
/* One pointer for the application (app.locals), NULL at first; handlers reach it through
 * sio_req_app. */
SIO_EXTERN void sio_app_set_data(sio_app *app, void *data);
SIO_EXTERN void *sio_app_data(const sio_app *app);
/* Graceful shutdown: stop accepting, let in-flight responses finish (up to the deadline),
 * tell attached layers (WebSockets close with 1001, held polls are released), then close
 * every connection and call cb. The app can then be freed. */
typedef void (*sio_app_closed_fn)(sio_app *app, void *user);
SIO_EXTERN void sio_app_close(sio_app *app, sio_app_closed_fn cb, void *user);
/* Frees the app and everything attached to it: Socket.IO and Engine.IO servers (their clients
 * are disconnected, "server shutting down"), WebSocket routes (open sockets close with 1001).
 * Requests in progress end (their close callbacks run); the memory goes once the loop has run
 * the connections' and handles' closes, so run the loop after this (uv_run until it returns).
 * Ownership runs one way, from the app down, and every free is safe in any order until then:
 * the app's handle and those of its attached servers stay valid memory until the app's memory
 * goes, and a free that comes second does nothing. So sio_app_free twice, sio_io_free or
 * sio_eio_free after sio_app_free (the old order), before it (the server stops serving: its
 * paths fall through to the app's routes), or twice are all safe; only a handle used after the
 * loop has run past sio_app_free is not. */
SIO_EXTERN void sio_app_free(sio_app *app);

/* --- routing ------------------------------------------------------------------------------
 * Handlers and middleware share one signature. Middleware passes control on with sio_next()
 * (or sio_next_error()); a handler that answers does not call it. Patterns: literal segments,
 * ":name" parameters (one segment), ":name?" (optional: "/users/:id?" also matches "/users"),
 * and "*" (the rest of the path, read as param "*"). */
typedef void (*sio_handler_fn)(sio_req *req, sio_res *res, void *user);

SIO_EXTERN sio_router *sio_app_router(sio_app *app); /* the app's root router */
SIO_EXTERN sio_router *sio_router_new(void);
SIO_EXTERN void sio_router_free(sio_router *r); /* only for a router never mounted */

/* Middleware for every path under prefix (NULL or "/" for all). */
SIO_EXTERN int sio_use(sio_router *r, const char *prefix, sio_handler_fn fn, void *user);
/* method NULL: any method. */
SIO_EXTERN int sio_route(sio_router *r, const char *method, const char *pattern, sio_handler_fn fn,
                         void *user);
/* Mounts child under prefix (the app owns it afterwards); inside, paths are relative. */
SIO_EXTERN int sio_mount(sio_router *r, const char *prefix, sio_router *child);

SIO_EXTERN int sio_app_use(sio_app *app, const char *prefix, sio_handler_fn fn, void *user);
SIO_EXTERN int sio_app_get(sio_app *app, const char *pattern, sio_handler_fn fn, void *user);
SIO_EXTERN int sio_app_post(sio_app *app, const char *pattern, sio_handler_fn fn, void *user);
SIO_EXTERN int sio_app_put(sio_app *app, const char *pattern, sio_handler_fn fn, void *user);
SIO_EXTERN int sio_app_delete(sio_app *app, const char *pattern, sio_handler_fn fn, void *user);
SIO_EXTERN int sio_app_all(sio_app *app, const char *pattern, sio_handler_fn fn, void *user);

SIO_EXTERN void sio_next(sio_req *req, sio_res *res);
/* Skips to the error handler with an HTTP status and a message. */
SIO_EXTERN void sio_next_error(sio_req *req, sio_res *res, int status, const char *message);
/* The one error handler (default: a small HTML or JSON page by Accept, status + message). */
typedef void (*sio_error_fn)(sio_req *req, sio_res *res, int status, const char *message,
                             void *user);
SIO_EXTERN void sio_app_on_error(sio_app *app, sio_error_fn fn, void *user);
/* A handler that runs before the app's middleware and router for every request whose raw path
 * starts with prefix, as a `request` listener that Node's engine.io adds to the HTTP server
 * answers before Express sees the request. It answers (now or later) or calls sio_next(req,
 * res) to hand the request on to the app. The longest matching prefix wins; at most one runs
 * per request. Engine.IO and Socket.IO serve their paths this way. */
SIO_EXTERN int sio_app_intercept(sio_app *app, const char *prefix, sio_handler_fn fn, void *user);

/* --- built-in middleware ---------------------------------------------------------------- */
/* Body parsers: read bodies whose Content-Type matches, up to limit bytes (413 past it, 400
 * on malformed input). 0: 100 KiB, as Express. */
SIO_EXTERN int sio_app_use_json(sio_app *app, size_t limit);
SIO_EXTERN int sio_app_use_urlencoded(sio_app *app, size_t limit);

typedef struct sio_cors_opts {
  const char *origin;          /* "*" any; a single origin; or a comma-separated list */
  const char *methods;         /* default "GET,HEAD,PUT,PATCH,POST,DELETE" */
  const char *allowed_headers; /* default: echo Access-Control-Request-Headers */
  int credentials;             /* Access-Control-Allow-Credentials: true */
  int max_age;                 /* seconds, 0: not sent */
} sio_cors_opts;
SIO_EXTERN int sio_app_use_cors(sio_app *app, const char *prefix, const sio_cors_opts *opts);

typedef struct sio_static_opts {
  const char *index;  /* default "index.html"; "" for none */
  int max_age;        /* Cache-Control max-age seconds; default 0 */
  int no_gzip;        /* don't compress on the fly */
  int dotfiles_allow; /* default: dotfiles are 404 */
} sio_static_opts;
/* Serves files under root at prefix: MIME types, index.html, ETag/Last-Modified (304), Range
 * (206/416), HEAD, gzip when accepted, streaming; no escape from root (403/404). */
SIO_EXTERN int sio_app_static(sio_app *app, const char *prefix, const char *root,
                              const sio_static_opts *opts);

/* Templates: Mustache ({{x}} escaped, {{{x}}} raw, {{#list}}..{{/list}}, {{^x}}..{{/x}},
 * {{> partial}}) read from dir/<name>.mustache (or .html), compiled once and cached. */
SIO_EXTERN int sio_app_views(sio_app *app, const char *dir);

/* --- request ------------------------------------------------------------------------------
 * Strings returned are NUL-terminated, owned by the request, valid while it is. */
SIO_EXTERN const char *sio_req_method(const sio_req *req); /* "GET" */
SIO_EXTERN const char *sio_req_url(const sio_req *req);    /* as received: path + query */
SIO_EXTERN const char *
sio_req_path(const sio_req *req); /* path without query (relative inside a mount) */
SIO_EXTERN const char *sio_req_header(const sio_req *req, const char *name); /* case-insensitive */
/* Iterate headers: i from 0 until it returns 0. */
SIO_EXTERN int sio_req_header_at(const sio_req *req, size_t i, const char **name,
                                 const char **value);
SIO_EXTERN const char *sio_req_param(const sio_req *req, const char *name); /* percent-decoded */
SIO_EXTERN const char *sio_req_query(const sio_req *req,
                                     const char *name); /* percent-decoded, first */
SIO_EXTERN const char *sio_req_cookie(const sio_req *req, const char *name);
SIO_EXTERN const char *
sio_req_ip(const sio_req *req); /* peer, or X-Forwarded-For's client with trust_proxy */
SIO_EXTERN int sio_req_http_minor(const sio_req *req); /* 0 or 1 */
/* "http", or X-Forwarded-Proto's first value ("https") with trust_proxy. */
SIO_EXTERN const char *sio_req_protocol(const sio_req *req);
/* The raw body, when a body parser or sio_req_read_body read it. */
SIO_EXTERN const char *sio_req_body(const sio_req *req, size_t *len);
SIO_EXTERN json_t *sio_req_json(const sio_req *req); /* borrowed; NULL if none */
SIO_EXTERN const char *sio_req_form(const sio_req *req, const char *name); /* urlencoded field */
/* Reads the whole body (up to limit, 0: app max) then calls cb. For handlers that want the
 * body without a global parser. Once sio_req_read_body returned 0, cb is called exactly once,
 * whatever happens to the connection: status 0 with the whole body, or an error status: 413
 * (too large), 400 (malformed framing), 408 (the body stopped arriving), or
 * SIO_STATUS_CLIENT_GONE when the connection ended first (the client went away mid-body, or
 * the app was shut down or freed). After SIO_STATUS_CLIENT_GONE, what the callback sends goes
 * nowhere; it should still finish the response (or register sio_res_on_close, which is then
 * called right after it) and release whatever it holds for the request. */
#define SIO_STATUS_CLIENT_GONE 499 /* nginx's "client closed request"; never sent */
typedef void (*sio_body_fn)(sio_req *req, sio_res *res, int status, void *user);
SIO_EXTERN int sio_req_read_body(sio_req *req, sio_res *res, size_t limit, sio_body_fn cb,
                                 void *user);
/* Conditional GET (RFC 9110 13.1, Express's req.fresh): 1 when the client's cached copy is
 * current, so that the answer is 304 Not Modified (sio_res_status(res, 304), sio_res_end(res):
 * set ETag, Cache-Control and the like first, a 304 carries them). If the request has
 * If-None-Match, it decides: it lists etag (compared weakly: W/ prefixes are ignored on both
 * sides) or is "*". Otherwise If-Modified-Since decides when last_modified >= 0 (seconds since
 * the epoch): fresh when the resource is not newer than that date. 0 otherwise. etag may be
 * NULL (dates only). Static files and the Socket.IO client bundle answer 304 through this. */
SIO_EXTERN int sio_req_fresh(const sio_req *req, const char *etag, int64_t last_modified);
/* Whether the answer may be gzipped (Express's req.acceptsEncodings('gzip')): by the request's
 * Accept-Encoding as RFC 9110 12.5.3 reads it (gzip, else "*", with a q above 0 and no lower
 * than an explicit identity's; "gzip;q=0" and "*;q=0" refuse). Static files, Engine.IO's
 * polling responses and the Socket.IO client bundle negotiate through the same reading. */
SIO_EXTERN int sio_req_accepts_gzip(const sio_req *req);
/* Per-request slot for middleware to pass data on (like res.locals). */
SIO_EXTERN void sio_req_set_data(sio_req *req, void *data);
SIO_EXTERN void *sio_req_data(const sio_req *req);
SIO_EXTERN sio_app *sio_req_app(const sio_req *req);

/* --- response ------------------------------------------------------------------------------ */
SIO_EXTERN void sio_res_status(sio_res *res, int status);
/* Replaces a header of that name (Set-Cookie is appended). */
SIO_EXTERN int sio_res_set_header(sio_res *res, const char *name, const char *value);
SIO_EXTERN int sio_res_append_header(sio_res *res, const char *name, const char *value);
typedef struct sio_cookie_opts {
  int max_age;      /* seconds; 0: not set (a session cookie); < 0: expires now */
  const char *path; /* default "/" */
  const char *domain;
  const char *same_site; /* "Strict", "Lax", "None" */
  int http_only, secure;
} sio_cookie_opts;
SIO_EXTERN int sio_res_cookie(sio_res *res, const char *name, const char *value,
                              const sio_cookie_opts *o);
/* Each of these finishes the response. Content-Type defaults: send -> text/html; text ->
 * text/plain; json -> application/json (all charset=utf-8). */
SIO_EXTERN int sio_res_send(sio_res *res, const void *body, size_t len);
SIO_EXTERN int sio_res_text(sio_res *res, const char *text);
SIO_EXTERN int sio_res_json(sio_res *res, const json_t *value);
SIO_EXTERN int sio_res_json_raw(sio_res *res, const char *json, size_t len);
SIO_EXTERN int sio_res_jsonf(sio_res *res, const char *fmt, ...); /* jansson json_pack format */
SIO_EXTERN int sio_res_send_status(sio_res *res, int status); /* status and its reason as text */
SIO_EXTERN int sio_res_redirect(sio_res *res, int status, const char *location); /* 0: 302 */
SIO_EXTERN int sio_res_send_file(sio_res *res,
                                 const char *path); /* streamed, with static's headers */
SIO_EXTERN int sio_res_render(sio_res *res, const char *view, const json_t *data);
/* Streaming: headers go out with the first write; chunked for HTTP/1.1 without a length. */
SIO_EXTERN int sio_res_write(sio_res *res, const void *data, size_t len);
SIO_EXTERN int sio_res_end(sio_res *res);
SIO_EXTERN int sio_res_headers_sent(const sio_res *res);
SIO_EXTERN int sio_res_finished(const sio_res *res);
/* The request's slot (sio_req_data), reachable from the response too: one per exchange. */
SIO_EXTERN void sio_res_set_data(sio_res *res, void *data);
SIO_EXTERN void *sio_res_data(const sio_res *res);
/* Called once if the client goes away (or the app shuts down) before the response is done. */
typedef void (*sio_res_close_fn)(sio_res *res, void *user);
SIO_EXTERN void sio_res_on_close(sio_res *res, sio_res_close_fn fn, void *user);

/* Status reason phrase ("Not Found"), "" for unknown codes. */
SIO_EXTERN const char *sio_http_reason(int status);

#ifdef __cplusplus
}
#endif
#endif
