/* HTTP connections: accepting them, the per-connection parse/dispatch loop, timeouts, and the
 * end of a connection.
 *
 * Each accepted connection gets a sio__hconn (its parser, a head accumulation buffer used only
 * when a head spans reads, a pipelining buffer, one wheel timer). Bytes are parsed straight
 * from the loop-wide read buffer; a complete head is copied once into the request (handlers may
 * answer later, so the request must own its strings: sio__req_new in request.c).
 *
 * Requests on a connection are served strictly in order: while a response is in progress,
 * later bytes wait in `pending` (reading pauses past a bound); when the response finishes
 * asynchronously, the connection is put on the app's ready list and resumed from a uv_idle
 * callback, so that a handler never re-enters the parser from inside sio_res_send.
 *
 * Timers (one per connection): from the first byte of a request until its head is complete
 * (header timeout: 408 and close, against slowloris), while a body stops arriving, and between
 * requests (keep-alive idle: close). This file is the hot path: its helpers are static so that
 * the compiler inlines them into the loop. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "http/app_internal.h"

static void on_data(sio__conn *c, const char *data, size_t len);
static void on_eof(sio__conn *c, int err);
static void on_drain(sio__conn *c);
static void on_close(sio__conn *c);
static void on_idle(uv_idle_t *h);
static const sio__conn_handler http_handler = {on_data, on_eof, on_drain, on_close};

static void orphan_data(sio__conn *c, const char *d, size_t n) {}
static const sio__conn_handler orphan_handler = {orphan_data, NULL, NULL, NULL};

enum { T_NONE = 0, T_HEADER = 1, T_IDLE = 2, T_BODY = 3 };

/* A connection past the cap waits this long at most for its request head (to tell a WebSocket
 * upgrade, refused with 1013, from a plain request, refused with 503). */
#define OVER_CAP_HEAD_MS 2000

/* --- timers and direct answers --------------------------------------------------------------- */
static void on_timer(sio__timer *t);

static void set_timer(sio__hconn *hc, int kind) {
  hc->expiry_deferred = 0;
  if (kind == T_NONE) {
    sio__timer_stop(&hc->timer);
  } else {
    uint32_t ms =
        kind == T_IDLE ? hc->app->opts.keepalive_timeout_ms : hc->app->opts.header_timeout_ms;
    if (hc->over_cap && ms > OVER_CAP_HEAD_MS) ms = OVER_CAP_HEAD_MS;
    sio__timer_start(hc->app->net, &hc->timer, ms, on_timer);
  }
  hc->timer_kind = kind;
}

/* A response written straight to the connection (no request object), then close. */
static void respond_and_close(sio__hconn *hc, int status, const char *reason) {
  sio__sbuf s = SIO__SBUF_INIT;
  const char *body = reason && *reason ? reason : sio_http_reason(status);
  sio__sbuf_printf(&s,
                   "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                   status, sio_http_reason(status), sio__app_date(hc->app), strlen(body) + 1, body);
  sio__buf *b = sio__sbuf_to_buf(&s);
  if (b) {
    sio__conn_write(hc->conn, b, 0, b->len);
    sio__buf_unref(b);
  }
  hc->closing = 1;
  set_timer(hc, T_NONE);
  sio__conn_close(hc->conn);
}

/* --- accepting ------------------------------------------------------------------------------- */
/* on_accept clears a connection around its parser in two pieces. */
_Static_assert(offsetof(sio__hconn, acc) == offsetof(sio__hconn, p) + sizeof(sio__http_parser),
               "sio__hconn: acc must follow the parser");

void sio__hconn_on_accept(sio__listener *l, sio__conn *c, void *user) {
  sio_app *app = user;
  sio__hconn *hc = sio__objcache_get_uncleared(&app->hconn_cache);
  if (!hc) return; /* no handler: the connection is closed */
  /* Zeroed but for the parser, which sio__http_parser_init sets up: its header array, most of
   * the struct, is written as it fills and read only up to n_headers (clearing it cost more
   * than the rest of the accept). */
  memset(hc, 0, offsetof(sio__hconn, p));
  memset(&hc->acc, 0, sizeof(*hc) - offsetof(sio__hconn, acc));
  hc->conn = c;
  hc->app = app;
  sio__http_parser_init(&hc->p, (uint32_t)app->opts.max_header_size,
                        (uint32_t)app->opts.max_request_line, app->opts.max_body_size);
  sio__timer_init(&hc->timer);
  sio__list_init(&hc->ready_link);
  sio__list_insert_tail(&app->conns, &hc->link);
  app->nconns++;
  c->handler = &http_handler;
  c->ctx = hc;
  if (app->closing) {
    respond_and_close(hc, 503, "Server is shutting down");
    return;
  }
  if (sio__app_over_capacity(app)) {
    /* answered once its head is in: 503, or 101 then close 1013 for a WebSocket */
    hc->over_cap = 1;
    app->over_cap_refused++;
  }
  set_timer(hc, T_HEADER);
}

/* --- a connection's end and its request's ------------------------------------------------- */
static void free_hconn(sio__hconn *hc) {
  sio_app *app = hc->app;
  set_timer(hc, T_NONE);
  if (sio__list_linked(&hc->ready_link)) sio__list_remove(&hc->ready_link);
  sio__list_remove(&hc->link);
  app->nconns--;
  sio__sbuf_free(&hc->acc);
  sio__sbuf_free(&hc->pending);
  sio__objcache_put(&app->hconn_cache, hc);
}

/* The request ends without a finished response (client gone, shutdown, app freed): tell the
 * handler. A body read still pending ends here with its one callback (SIO_STATUS_CLIENT_GONE,
 * see sio_req_read_body), before sio_res_on_close's; what it sends goes nowhere (closing). */
static void request_gone(sio__hconn *hc) {
  sio_req *req = hc->req;
  if (!req) return;
  sio_res *res = &req->res;
  if (res->abort_fn) res->abort_fn(res);
  if (req->body_cb_pending) {
    if (!req->body_error) {
      req->body_error = SIO_STATUS_CLIENT_GONE;
      req->body_reason = "Client closed request";
    }
    hc->closing = 1;
    unsigned was = hc->in_dispatch;
    hc->in_dispatch = 1;
    sio__req_body_done(req);
    hc->in_dispatch = was;
  }
  if (!res->finished && !res->close_called) {
    res->close_called = 1;
    if (res->close_fn) res->close_fn(res, res->close_user);
  }
}

static int end_request(sio__hconn *hc);

/* --- starting a request ------------------------------------------------------------------ */
/* The hook took the connection over: drop our state without touching conn. */
static void handed_over(sio__hconn *hc, sio_req *req) {
  hc->closing = 1; /* the feed loop that called us may look once more before it returns */
  hc->req = NULL;
  req->hc = NULL;
  sio__req_free(req);
  free_hconn(hc);
}

/* An upgrade request whose path has a hook: the hook takes the connection over (returns 1: hc
 * is freed here), answers it like a handler (0; 400 if it did not), or decides later
 * (SIO__UPGRADE_LATER: the request stays in progress, and what arrives after its head waits in
 * hc->pending, as the feed loop leaves it, for sio__upgrade_resume). */
static int offer_upgrade(sio__hconn *hc, sio_req *req, const sio__hook *hk, const char *rest,
                         size_t rest_len) {
  req->res.keep_alive = 0; /* if the hook refuses, the connection ends after the answer */
  hc->in_dispatch = 1;
  int took = ((sio__upgrade_fn)hk->fn)(req, &req->res, hc->conn, rest, rest_len, hk->user);
  hc->in_dispatch = 0;
  if (took == 1) {
    handed_over(hc, req);
    return 1;
  }
  if (took == SIO__UPGRADE_LATER && !req->res.finished) return 0;
  if (!req->res.finished && !req->res.headers_sent) sio_res_send_status(&req->res, 400);
  return 0;
}

int sio__upgrade_resume(sio_req *req, sio__upgrade_fn fn, void *user) {
  sio__hconn *hc = req->hc;
  if (!hc || hc->closing || req->res.finished || req->res.headers_sent) return SIO_ECLOSED;
  sio__sbuf rest = hc->pending; /* the bytes after the head (a client rarely sends any) */
  hc->pending = (sio__sbuf)SIO__SBUF_INIT;
  int took = fn(req, &req->res, hc->conn, rest.data, rest.len, user);
  if (took == 1) {
    sio__conn *conn = hc->conn;
    handed_over(hc, req);
    sio__sbuf_free(&rest);
    if (conn->paused) sio__conn_resume(conn); /* paused while they waited */
    return 1;
  }
  hc->pending = rest; /* the connection ends after the answer: they stay unread */
  if (!req->res.finished && !req->res.headers_sent) sio_res_send_status(&req->res, 400);
  return 0;
}

/* The upgrade hook a request asks for: a GET with an Upgrade header on a hooked path. */
static inline const sio__hook *upgrade_hook(sio__hconn *hc, const sio_req *req) {
  if (!hc->p.upgrade || !hc->app->upgrades.n || strcmp(req->method, "GET") != 0) return NULL;
  return sio__app_find_upgrade(hc->app, req->path_raw);
}

/* Handles a complete head: the cap, 100-continue, upgrade hooks, dispatch. Returns 1 if the
 * connection was handed over (hc is freed), 0 to go on. */
static int start_request(sio__hconn *hc, const char *head, size_t head_len, const char *rest,
                         size_t rest_len) {
  set_timer(hc, T_NONE);
  sio_req *req = sio__req_new(hc, head, head_len);
  if (!req) {
    respond_and_close(hc, 503, "Out of memory");
    return 0;
  }
  hc->req = req;
  int owner = hc->app->owners.n ? sio__app_request_owner(hc->app, req) : -1;
  if (owner >= 0 && sio__app_pass(hc->app, hc->conn, owner, head, head_len, rest, rest_len) == 0) {
    handed_over(hc, req); /* another worker's session: it answers */
    return 1;
  }
  const sio__hook *hk = upgrade_hook(hc, req);
  if (hc->over_cap && !hk) {
    /* past the cap, only an upgrade hook gets to see the request (to refuse it its way) */
    hc->req = NULL;
    sio__req_free(req);
    respond_and_close(hc, 503, "Too many connections");
    return 0;
  }
  if (hc->p.expect_continue && !req->body_done && req->minor == 1)
    sio__conn_write_copy(hc->conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  if (hk) return offer_upgrade(hc, req, hk, rest, rest_len);
  hc->in_dispatch = 1;
  if (!hc->app->https || !sio__https_redirect(req, &req->res)) sio__dispatch(req, &req->res);
  hc->in_dispatch = 0;
  /* a body that stops arriving is timed like a head (slow-body attacks) */
  if (hc->req == req && !req->body_done && !hc->closing) set_timer(hc, T_BODY);
  return 0;
}

static void stash(sio__hconn *hc, const char *data, size_t len) {
  if (!len) return;
  if (sio__sbuf_append(&hc->pending, data, len) < 0) {
    hc->closing = 1;
    sio__conn_abort(hc->conn);
    return;
  }
  if (hc->pending.len > 65536 + hc->app->opts.max_header_size) sio__conn_pause(hc->conn);
}

/* --- the parse/dispatch loop --------------------------------------------------------------- */
/* What a feed step returns when the loop must stop (wait for more bytes, or the connection is
 * closing or was handed over); otherwise a step returns the bytes it consumed. */
#define FEED_STOP (-1)

/* A head that starts in this read is parsed in place, straight from the read buffer; an
 * incomplete one is kept in hc->acc for the next read. */
static inline long feed_head_in_place(sio__hconn *hc, const char *data, size_t len) {
  long h = sio__http_parse_head(&hc->p, data, len);
  if (h == 0) {
    if (sio__sbuf_append(&hc->acc, data, len) < 0) respond_and_close(hc, 503, "Out of memory");
    return FEED_STOP;
  }
  if (h < 0) {
    respond_and_close(hc, hc->p.status, hc->p.reason);
    return FEED_STOP;
  }
  if (start_request(hc, data, (size_t)h, data + h, len - (size_t)h)) return FEED_STOP;
  return h;
}

/* A head that spans reads: accumulated in hc->acc (at most the header limit, so that an
 * endless head gets 431) and parsed there. */
static long feed_head_spanning(sio__hconn *hc, const char *data, size_t len) {
  size_t before = hc->acc.len;
  size_t room = hc->app->opts.max_header_size + 2 - before;
  size_t take = len < room ? len : room;
  if (sio__sbuf_append(&hc->acc, data, take) < 0) {
    respond_and_close(hc, 503, "Out of memory");
    return FEED_STOP;
  }
  long h = sio__http_parse_head(&hc->p, hc->acc.data, hc->acc.len);
  if (h == 0) {
    if (take < len) respond_and_close(hc, 431, "Request header fields too large");
    return FEED_STOP;
  }
  if (h < 0) {
    respond_and_close(hc, hc->p.status, hc->p.reason);
    return FEED_STOP;
  }
  size_t used = (size_t)h - before;
  sio__sbuf head = hc->acc;
  hc->acc = (sio__sbuf)SIO__SBUF_INIT;
  int gone = start_request(hc, head.data, (size_t)h, data + used, len - used);
  sio__sbuf_free(&head);
  return gone ? FEED_STOP : (long)used;
}

/* No request in progress: the bytes are (the start of) the next request's head. */
static inline long feed_head(sio__hconn *hc, const char *data, size_t len) {
  if (len == 0) return FEED_STOP;
  if (hc->timer_kind != T_HEADER) set_timer(hc, T_HEADER);
  return hc->acc.len == 0 ? feed_head_in_place(hc, data, len) : feed_head_spanning(hc, data, len);
}

/* The body framing is broken (a bad chunk, too large): the reader or an error page answers,
 * if nothing was sent yet, and the connection closes. */
static void body_failed(sio__hconn *hc, sio_req *req) {
  req->body_error = hc->p.status;
  req->body_reason = hc->p.reason;
  if (!req->res.headers_sent) {
    req->res.keep_alive = 0;
    hc->in_dispatch = 1;
    if (req->body_cb_pending) {
      sio__req_body_done(req);
    } else {
      request_gone(hc);
      respond_and_close(hc, hc->p.status, hc->p.reason);
    }
    hc->in_dispatch = 0;
  }
  hc->closing = 1;
  sio__conn_close(hc->conn);
}

/* The whole body is in: the reader, if any, gets it. */
static inline void body_complete(sio__hconn *hc, sio_req *req) {
  if (hc->timer_kind == T_BODY) set_timer(hc, T_NONE);
  req->body_done = 1;
  hc->in_dispatch = 1;
  sio__req_body_done(req);
  hc->in_dispatch = 0;
}

/* A request whose body is still arriving: its bytes are unframed into req->body (or dropped
 * once the response finished without reading it). */
static inline long feed_body(sio__hconn *hc, sio_req *req, const char *data, size_t len) {
  if (len == 0) return FEED_STOP;
  const char *o;
  size_t ol;
  long r = sio__http_body(&hc->p, data, len, &o, &ol);
  if (r < 0) {
    body_failed(hc, req);
    return FEED_STOP;
  }
  if (ol && !req->res.finished && sio__sbuf_append(&req->body, o, ol) < 0) {
    hc->closing = 1;
    sio__conn_abort(hc->conn);
    return FEED_STOP;
  }
  if (hc->p.body_done) {
    body_complete(hc, req);
    return r;
  }
  if (r == 0) return FEED_STOP;
  if (hc->timer_kind == T_BODY) set_timer(hc, T_BODY);
  return r;
}

/* Parses and serves what arrived, in order: a head, its body, then (once the response is
 * finished) the next pipelined request; bytes that arrive while a response is in progress
 * wait in hc->pending. */
static void feed(sio__hconn *hc, const char *data, size_t len) {
  while (!hc->closing) {
    sio_req *req = hc->req;
    long used;
    if (!req) {
      used = feed_head(hc, data, len);
    } else if (!req->body_done) {
      used = feed_body(hc, req, data, len);
    } else if (!req->res.finished) {
      stash(hc, data, len);
      return;
    } else {
      if (end_request(hc) < 0) return;
      continue;
    }
    if (used == FEED_STOP) return;
    data += used;
    len -= (size_t)used;
  }
}

static int end_request(sio__hconn *hc) {
  sio_req *req = hc->req;
  sio_app *app = hc->app;
  int keep = req->res.keep_alive && !app->closing && !hc->eof;
  hc->req = NULL;
  req->hc = NULL;
  sio__req_free(req);
  sio__http_parser_reset(&hc->p);
  if (!keep) {
    hc->closing = 1;
    set_timer(hc, T_NONE);
    sio__conn_close(hc->conn);
    return -1;
  }
  set_timer(hc, T_IDLE);
  return 0;
}

/* A response finished (response.c). */
void sio__res_finished(sio_res *res) {
  sio_req *req = res->req;
  sio__hconn *hc = req->hc;
  if (!hc) {
    if (req->orphan) { /* free it from the idle callback, after the handler returned */
      req->orphan_done = 1;
      uv_idle_start(&req->app->idle, on_idle);
    }
    return;
  }
  if (hc->in_dispatch || !req->body_done) return; /* the parse loop goes on by itself */
  sio_app *app = hc->app;
  if (!sio__list_linked(&hc->ready_link)) sio__list_insert_tail(&app->ready, &hc->ready_link);
  uv_idle_start(&app->idle, on_idle);
}

static void resume(sio__hconn *hc) {
  if (hc->closing || !hc->req || !hc->req->res.finished || !hc->req->body_done) return;
  if (end_request(hc) < 0) return;
  if (hc->pending.len) {
    sio__sbuf pend = hc->pending;
    hc->pending = (sio__sbuf)SIO__SBUF_INIT;
    feed(hc, pend.data, pend.len);
    sio__sbuf_free(&pend);
  }
  if (!hc->closing && hc->conn->paused && hc->pending.len == 0) sio__conn_resume(hc->conn);
  if (!hc->closing && !hc->req && hc->eof) {
    hc->closing = 1;
    sio__conn_close(hc->conn);
  }
}

static void on_idle(uv_idle_t *h) {
  sio_app *app = h->data;
  sio__list *o, *otmp;
  sio__list_foreach_safe(o, otmp, &app->orphans) {
    sio_req *req = sio__container_of(o, sio_req, orphan_link);
    if (req->orphan_done) {
      sio__list_remove(o);
      sio__req_free(req);
    }
  }
  while (!sio__list_empty(&app->ready)) {
    sio__list *l = app->ready.next;
    sio__list_remove(l);
    resume(sio__container_of(l, sio__hconn, ready_link));
  }
  uv_idle_stop(&app->idle);
}

static void on_data(sio__conn *c, const char *data, size_t len) {
  sio__hconn *hc = c->ctx;
  if (hc->closing) return;
  if (hc->pending.len || (hc->req && hc->req->body_done && !hc->req->res.finished)) {
    stash(hc, data, len);
    return;
  }
  feed(hc, data, len);
}

static void on_eof(sio__conn *c, int err) {
  sio__hconn *hc = c->ctx;
  hc->eof = 1;
  if (hc->closing) return;
  sio_req *req = hc->req;
  if (err != UV_EOF || !req || !req->body_done || req->res.close_fn) {
    /* nothing in progress, a body cut short, or a handler that waits on the client: gone */
    if (req && !req->res.finished) {
      request_gone(hc);
      hc->closing = 1;
      sio__conn_abort(c);
      return;
    }
    hc->closing = 1;
    sio__conn_close(c);
  }
  /* else: a half-close after a complete request; answer, then close (end_request) */
}

static void on_drain(sio__conn *c) {
  sio__hconn *hc = c->ctx;
  if (hc->req && hc->req->res.drain_fn) hc->req->res.drain_fn(&hc->req->res);
}

/* The connection is going away with hc->req in progress. A handler that registered for it
 * (sio_res_on_close) or a file stream is told, and the request is freed. A handler that did
 * not (it may answer later, after an async lookup, as Express handlers do) keeps a detached
 * request: its answer then goes nowhere, and the request is freed once finished (from the
 * idle callback, never under the handler's feet) or with the app. */
static void release_request(sio__hconn *hc) {
  sio_req *req = hc->req;
  if (!req) return;
  sio_res *res = &req->res;
  request_gone(hc); /* ends a pending body read, which may finish the response */
  int keep = !res->finished && !res->close_fn && !res->abort_fn && !hc->app->freeing;
  hc->req = NULL;
  req->hc = NULL;
  if (keep) {
    sio__list_insert_tail(&hc->app->orphans, &req->orphan_link);
    req->orphan = 1;
  } else {
    sio__req_free(req);
  }
}

static void on_close(sio__conn *c) {
  sio__hconn *hc = c->ctx;
  sio_app *app = hc->app;
  release_request(hc);
  free_hconn(hc);
  if (app->closing) sio__app_check_closed(app);
}

/* --- what the app's shutdown and free do to a connection ----------------------------------- */
void sio__hconn_begin_shutdown(sio__hconn *hc) {
  if (!hc->req && !hc->closing) {
    hc->closing = 1;
    set_timer(hc, T_NONE);
    sio__conn_close(hc->conn);
  } else if (hc->req) {
    hc->req->res.keep_alive = 0;
  }
}

void sio__hconn_abort(sio__hconn *hc) {
  if (hc->gone) return;
  hc->gone = 1;
  request_gone(hc);
  hc->closing = 1;
  sio__conn_abort(hc->conn);
}

void sio__hconn_drop(sio__hconn *hc) {
  release_request(hc);
  sio__conn *c = hc->conn;
  c->handler = &orphan_handler;
  c->ctx = NULL;
  free_hconn(hc);
  sio__conn_abort(c);
}

/* Timer-driven closes (408s, idle keep-alives) are spread out: at most EXPIRY_BATCH of them
 * per EXPIRY_STEP_MS; the others are put back, in order, into the following steps. Slowloris
 * connections open together and time out together: 10,000 header timeouts acted on in one
 * loop iteration (each a 408 write, a shutdown, then the peer's close and its reconnection on
 * loopback: 50 to 100 us all told) stalled every other client (the soak: loop iterations of
 * 65 to 100 ms of CPU, echo p99 0.1 to 0.4 s). At 8 per ms they take about half of a CPU, the
 * loop keeps serving the others between ticks, and the last of 10,000 closes 1.25 s late. */
#define EXPIRY_BATCH   32
#define EXPIRY_STEP_MS 4

/* 0: act now; else the delay, in ms, of the step this expiry was given. */
static uint32_t expiry_delay(sio_app *app) {
  uint64_t now = uv_now(app->loop);
  if (app->expiry_slot < now) {
    app->expiry_slot = now;
    app->expiry_n = 0;
  }
  if (app->expiry_n >= EXPIRY_BATCH) {
    app->expiry_slot += EXPIRY_STEP_MS;
    app->expiry_n = 0;
  }
  app->expiry_n++;
  return (uint32_t)(app->expiry_slot - now);
}

static void on_timer(sio__timer *t) {
  sio__hconn *hc = sio__container_of(t, sio__hconn, timer);
  int kind = hc->timer_kind;
  hc->timer_kind = T_NONE;
  if (hc->closing) return;
  if (!hc->expiry_deferred) {
    uint32_t delay = expiry_delay(hc->app);
    if (delay) { /* same deadline, acted on a step later (set_timer clears the flag) */
      hc->expiry_deferred = 1;
      hc->timer_kind = kind;
      sio__timer_start(hc->app->net, &hc->timer, delay, on_timer);
      return;
    }
  }
  hc->expiry_deferred = 0;
  if (kind == T_HEADER && !hc->req && hc->over_cap) {
    respond_and_close(hc, 503, "Too many connections");
    return;
  }
  if (kind == T_HEADER && !hc->req && (hc->acc.len || hc->p.scan)) {
    respond_and_close(hc, 408, "Request headers took too long");
    return;
  }
  if (kind == T_BODY && hc->req && !hc->req->body_done) {
    sio_req *req = hc->req;
    req->body_error = 408;
    req->body_reason = "Request body took too long";
    if (req->res.headers_sent) {
      request_gone(hc);
      hc->closing = 1;
      sio__conn_abort(hc->conn);
      return;
    }
    req->res.keep_alive = 0;
    if (req->body_cb_pending) { /* the reader answers (its error page), then we close */
      hc->in_dispatch = 1;
      sio__req_body_done(req);
      hc->in_dispatch = 0;
      if (!req->res.finished) request_gone(hc);
      hc->closing = 1;
      sio__conn_close(hc->conn);
      return;
    }
    request_gone(hc);
    respond_and_close(hc, 408, req->body_reason);
    return;
  }
  hc->closing = 1;
  sio__conn_close(hc->conn);
}

/* --- access for the upper layers --------------------------------------------------------- */
sio__conn *sio__req_conn(const sio_req *req) {
  return req->hc ? req->hc->conn : NULL;
}

int sio__req_peer(const sio_req *req, char *ip, size_t iplen, int *port) {
  if (!req->hc) return SIO_ECLOSED;
  return sio__conn_peer(req->hc->conn, ip, iplen, port);
}

int sio__req_over_capacity(const sio_req *req) {
  return req->hc && req->hc->over_cap;
}

const char *sio__req_query_string(const sio_req *req) {
  return req->query_raw;
}

size_t sio__req_head_block(const sio_req *req, const char **head, size_t *head_len,
                           const char *const **names, const char *const **values) {
  *head = req->head;
  *head_len = req->head_len;
  *names = req->hnames;
  *values = req->hvalues;
  return req->n_headers;
}
