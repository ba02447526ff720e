/* Internal structures of the HTTP layer shared by its files (app.c: the app object;
 * connection.c: connections and the request cycle; shutdown.c: graceful shutdown; router.c:
 * routing and middleware; request.c: the request object, its accessors and body parsers;
 * response.c: the response writer; static.c: files). Not for other layers: they use
 * http/server.h. */
#ifndef SIO_HTTP_APP_INTERNAL_H
#define SIO_HTTP_APP_INTERNAL_H

#include <stdio.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/list.h"
#include "http/parser.h"
#include "http/server.h"
#include "net/net.h"
#include "sio/http.h"

#define SIO__MAX_PARAMS      16
#define SIO__MAX_MOUNT_DEPTH 16

typedef struct sio__hook {
  char *prefix;
  size_t prefix_len;
  void *fn;
  void *user;
} sio__hook;

typedef struct sio__hooks {
  sio__hook *items;
  size_t n;
} sio__hooks;

enum { LAYER_USE = 0, LAYER_ROUTE = 1, LAYER_MOUNT = 2 };

typedef struct sio__layer {
  int kind;
  char *method;  /* LAYER_ROUTE: NULL for any */
  char *pattern; /* route pattern, or prefix without trailing '/' ("" for all) */
  sio_handler_fn fn;
  void *user;
  sio_router *child;
  void (*free_user)(void *); /* built-in middleware state */
} sio__layer;

struct sio_router {
  sio__layer *layers;
  size_t n, cap;
};

typedef struct sio__hconn sio__hconn;
typedef struct sio__https sio__https;

struct sio_app {
  uv_loop_t *loop;
  sio__net *net;
  sio__objcache hconn_cache, req_cache; /* freed connection and request structs, for reuse */
  sio_app_opts opts;
  sio__listener *listener;
  int port;
  sio_router *root;
  sio_error_fn on_error;
  void *error_user;
  sio__hooks upgrades, intercepts, shutdowns, owners;
  int worker_registered; /* adopts connections passed by the other workers (workers.c) */
  sio__list attachments; /* sio__attachment: the servers of the layers above (attach.c) */
  sio__list conns;       /* sio__hconn */
  size_t nconns;
  sio__list ready;   /* connections whose next pipelined request waits to be processed */
  sio__list orphans; /* requests whose client left before their (async) answer: sio_req */
  uv_idle_t idle;
  uv_timer_t close_timer;
  uv_signal_t sigint, sigterm;
  int open_handles;
  int freeing;
  uint64_t date_sec;
  char date[64];           /* "Date: ...\r\n" */
  uint64_t expiry_slot;    /* timer-driven closes: the time slot being filled, and how many */
  unsigned expiry_n;       /* are in it (see expiry_delay in connection.c) */
  int over_cap;            /* a connection-cap episode is on (logged once when it starts) */
  size_t over_cap_refused; /* connections refused during the current episode */
  int closing, closed_called;
  uint64_t close_deadline;
  sio_app_closed_fn closed_cb;
  void *closed_user;
  void *views; /* sio__views */
  char *views_dir;
  void *data;        /* sio_app_data */
  sio__https *https; /* sio_app_opts.tls (https.c), or NULL */
};

typedef struct sio__kv {
  char *name;
  char *value;
} sio__kv;

typedef struct sio__frame {
  sio_router *r;
  size_t idx;
  size_t base; /* bytes of the path consumed by mount prefixes */
} sio__frame;

struct sio_res {
  sio_req *req;
  int status;
  sio__sbuf head; /* header lines as "Name: value\r\n" */
  unsigned headers_sent : 1, finished : 1, chunked : 1, head_only : 1, keep_alive : 1, has_type : 1,
      has_length : 1, close_called : 1, no_body : 1;
  uint64_t declared_length; /* with has_length */
  sio_res_close_fn close_fn;
  void *close_user;
  void (*drain_fn)(sio_res *res); /* file streaming: the connection drained */
  void (*abort_fn)(sio_res *res); /* the connection is going away: stop background work */
  void *stream;                   /* file stream state (static.c) */
};

struct sio_req {
  sio_app *app;
  sio__hconn *hc;
  char *head; /* copy of the request head, NUL-terminated pieces in place */
  size_t head_len;
  const char *method, *url, *version;
  char *path_raw; /* target without query (raw) */
  char *path_dec; /* percent-decoded path */
  const char *query_raw;
  int minor;
  uint16_t n_headers;
  const char **hnames, **hvalues;
  /* routing */
  int stage; /* 0: intercept, 1: router, 2: done */
  sio__frame frames[SIO__MAX_MOUNT_DEPTH];
  int nframes;
  const char *rel_path; /* path relative to the current mount */
  sio__kv params[SIO__MAX_PARAMS];
  int nparams;
  char allow[64]; /* methods of routes matching the path, for 405 */
  /* lazily parsed */
  sio__kv *query, *cookies, *form;
  int nquery, ncookies, nform;
  int query_parsed, cookies_parsed;
  char ip[64];
  /* body */
  sio__sbuf body;
  int body_done, body_error;
  const char *body_reason; /* the parser's reason with body_error (static text) */
  size_t body_limit;
  sio_body_fn body_cb;
  void *body_user;
  int body_cb_pending;
  json_t *json;
  void *data;
  sio__list orphan_link;
  int orphan, orphan_done;
  sio_res res;
};

struct sio__hconn {
  sio__conn *conn;
  sio_app *app;
  sio__list link;
  sio__list ready_link;
  sio__http_parser p;
  sio__sbuf acc;     /* head bytes when the head spans reads */
  sio__sbuf pending; /* bytes that arrived while a response was in progress */
  sio_req *req;
  sio__timer timer;
  int timer_kind; /* 0 none, 1 header, 2 idle */
  /* over_cap: accepted past the app's connection cap; its request is answered 503 (or, for a
   * WebSocket upgrade, a handshake closed at once with 1013), then the connection closes */
  /* expiry_deferred: the timer fired, and was put back a few ms to spread a wave of expiries */
  unsigned in_dispatch : 1, eof : 1, closing : 1, gone : 1, over_cap : 1, expiry_deferred : 1;
};

/* app.c */
const char *sio__app_date(sio_app *app);
const sio__hook *sio__app_find_intercept(sio_app *app, const char *path);
const sio__hook *sio__app_find_upgrade(sio_app *app, const char *path);
const sio__hook *sio__app_find_owner(sio_app *app, const char *path);
/* 1 when the live connections exceed the cap (logs the start and end of an episode). */
int sio__app_over_capacity(sio_app *app);

/* workers.c */
int sio__app_worker_listen(sio_app *app); /* after the listener is bound */
void sio__app_worker_leave(sio_app *app); /* at sio_app_free */
/* The worker owning the request when it is another one (to pass it to), else -1. */
int sio__app_request_owner(sio_app *app, sio_req *req);
/* Passes hc's connection to worker `to` with the bytes read (a then b); 0 when it went (hc is
 * then the caller's to free without touching the connection), negative to serve it here. */
int sio__app_pass(sio_app *app, sio__conn *conn, int to, const char *a, size_t alen, const char *b,
                  size_t blen);

/* connection.c */
void sio__hconn_on_accept(sio__listener *l, sio__conn *c, void *user);
void sio__res_finished(sio_res *res); /* called once by response.c when the response ends */
/* Shutdown began: an idle connection closes, a busy one loses keep-alive. */
void sio__hconn_begin_shutdown(sio__hconn *hc);
/* The shutdown deadline passed: the request is told it is gone, the connection aborted. */
void sio__hconn_abort(sio__hconn *hc);
/* The app is freed: the request is released, the connection aborted with no handler left, and
 * hc freed at once. */
void sio__hconn_drop(sio__hconn *hc);

/* attach.c */
/* sio_app_free: releases what was not released yet, last attached first. */
void sio__app_release_attachments(sio_app *app);
/* The app's memory goes: every attached block with it. */
void sio__app_free_attachments(sio_app *app);

/* https.c */
struct sio_tls_opts;
int sio__https_copy(sio_app *app, const struct sio_tls_opts *o); /* at sio_app_new */
int sio__https_listen(sio_app *app, sio__listen_opts *lo);       /* sets lo->tls */
void sio__https_close_listeners(sio_app *app);                   /* the plain one */
void sio__https_free(sio_app *app);
const char *sio__https_hsts(const sio_req *req);     /* the HSTS header line, or NULL */
int sio__https_redirect(sio_req *req, sio_res *res); /* 1: answered with a redirect */

/* shutdown.c */
void sio__app_check_closed(sio_app *app);
void sio__app_on_signal(uv_signal_t *s, int signum);

/* router.c */
void sio__dispatch(sio_req *req, sio_res *res);
int sio__path_prefix_match(const char *path, const char *prefix, size_t plen);
void sio__error_page(sio_req *req, sio_res *res, int status, const char *message);
void sio__router_free_layers(sio_router *r);

/* request.c */
sio_req *sio__req_new(sio__hconn *hc, const char *head, size_t head_len); /* NULL: no memory */
void sio__req_free(sio_req *req);
void sio__req_body_done(sio_req *req);
int sio__accepts(const sio_req *req, const char *header, const char *token);
int sio__req_is_head(const sio_req *req);

/* response.c */
int sio__res_write_raw(sio_res *res, const void *data, size_t len); /* body bytes, framed */
int sio__res_send_headers(sio_res *res, int64_t length);            /* -1: stream */
const char *sio__res_get_header(sio_res *res, const char *name, char *buf, size_t buflen);
void sio__res_remove_header(sio_res *res, const char *name);
int sio__hconn_writable(sio_res *res);
void sio__views_release(sio_app *app); /* the app's views, at sio_app_free */

/* conditional.c */
/* t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), for Last-Modified and Date. */
void sio__http_date(time_t t, char *out, size_t n);

/* static.c */

#endif
