/* The HTTP/1.1 server: the app object, connections, the request cycle and shutdown.
 *
 * Each accepted connection gets a sio__hconn (its parser, a head accumulation buffer used only
 * when a head spans reads, a pipelining buffer, one wheel timer). Bytes are parsed straight
 * from the loop-wide read buffer; a complete head is copied once into the request (handlers may
 * answer later, so the request must own its strings).
 *
 * Requests on a connection are served strictly in order: while a response is in progress,
 * later bytes wait in `pending` (reading pauses past a bound); when the response finishes
 * asynchronously, the connection is put on the app's ready list and resumed from a uv_idle
 * callback, so that a handler never re-enters the parser from inside sio_res_send.
 *
 * Timers (one per connection): from the first byte of a request until its head is complete
 * (header timeout: 408 and close, against slowloris), and between requests (keep-alive idle:
 * close). Graceful shutdown stops the listener, tells the upper layers, closes idle
 * connections, lets in-flight responses finish until the deadline, then aborts the rest. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/app_internal.h"

static void on_data(sio__conn *c, const char *data, size_t len);
static void on_eof(sio__conn *c, int err);
static void on_drain(sio__conn *c);
static void on_close(sio__conn *c);
static const sio__conn_handler http_handler = {on_data, on_eof, on_drain, on_close};

static void orphan_data(sio__conn *c, const char *d, size_t n) {}
static const sio__conn_handler orphan_handler = {orphan_data, NULL, NULL, NULL};

enum { T_NONE = 0, T_HEADER = 1, T_IDLE = 2, T_BODY = 3 };

/* A connection past the cap waits this long at most for its request head (to tell a WebSocket
 * upgrade, refused with 1013, from a plain request, refused with 503). */
#define OVER_CAP_HEAD_MS 2000

sio_app_opts sio_app_opts_default(void) {
  sio_app_opts o;
  memset(&o, 0, sizeof(o));
  o.port = 3000;
  o.max_header_size = 16384;
  o.max_request_line = 8192;
  o.max_body_size = 1u << 20;
  o.header_timeout_ms = 10000;
  o.keepalive_timeout_ms = 5000;
  o.shutdown_timeout_ms = 5000;
  return o;
}

static void fill_defaults(sio_app_opts *o) {
  sio_app_opts d = sio_app_opts_default();
  if (!o->port && !o->port_any) o->port = d.port;
  if (o->port_any) o->port = 0;
  if (!o->max_header_size) o->max_header_size = d.max_header_size;
  if (!o->max_request_line) o->max_request_line = d.max_request_line;
  if (!o->max_body_size) o->max_body_size = d.max_body_size;
  if (!o->header_timeout_ms) o->header_timeout_ms = d.header_timeout_ms;
  if (!o->keepalive_timeout_ms) o->keepalive_timeout_ms = d.keepalive_timeout_ms;
  if (!o->shutdown_timeout_ms) o->shutdown_timeout_ms = d.shutdown_timeout_ms;
}

static void on_signal(uv_signal_t *s, int signum);
static void on_idle(uv_idle_t *h);

sio_app *sio_app_new(uv_loop_t *loop, const sio_app_opts *opts) {
  sio__alloc_hook_libraries();
  /* A peer that resets while we write must cost an EPIPE, not the process (as Node does). */
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  sio_app *app = sio__calloc(1, sizeof(*app));
  if (!app) return NULL;
  app->loop = loop;
  app->opts = opts ? *opts : sio_app_opts_default();
  fill_defaults(&app->opts);
  app->net = sio__net_new(loop);
  app->root = sio_router_new();
  if (!app->net || !app->root) {
    if (app->net) sio__net_free(app->net);
    sio_router_free(app->root);
    sio__free(app);
    return NULL;
  }
  sio__objcache_init(&app->hconn_cache, sizeof(sio__hconn), 64);
  sio__objcache_init(&app->req_cache, sizeof(sio_req), 64);
  sio__list_init(&app->conns);
  sio__list_init(&app->ready);
  sio__list_init(&app->orphans);
  uv_idle_init(loop, &app->idle);
  app->idle.data = app;
  uv_timer_init(loop, &app->close_timer);
  app->close_timer.data = app;
  app->open_handles = 2;
  if (app->opts.handle_signals) {
    uv_signal_init(loop, &app->sigint);
    uv_signal_init(loop, &app->sigterm);
    app->sigint.data = app->sigterm.data = app;
    app->open_handles += 2;
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
  }
  return app;
}

uv_loop_t *sio_app_loop(const sio_app *app) {
  return app->loop;
}
void sio_app_set_data(sio_app *app, void *data) {
  app->data = data;
}
void *sio_app_data(const sio_app *app) {
  return app->data;
}
sio__net *sio__app_net(sio_app *app) {
  return app->net;
}
int sio__app_closing(const sio_app *app) {
  return app->closing;
}
int sio_app_port(const sio_app *app) {
  return app->port;
}
sio_router *sio_app_router(sio_app *app) {
  return app->root;
}

void sio_app_on_error(sio_app *app, sio_error_fn fn, void *user) {
  app->on_error = fn;
  app->error_user = user;
}

/* --- hooks ------------------------------------------------------------------------------- */
static int add_hook(sio__hooks *h, const char *prefix, void *fn, void *user) {
  if (!fn) return -EINVAL;
  sio__hook *n = sio__realloc(h->items, (h->n + 1) * sizeof(*n));
  if (!n) return -ENOMEM;
  h->items = n;
  char *p = sio__strdup(prefix ? prefix : "");
  if (!p) return -ENOMEM;
  n[h->n].prefix = p;
  n[h->n].prefix_len = strlen(p);
  n[h->n].fn = fn;
  n[h->n].user = user;
  h->n++;
  return 0;
}

static void free_hooks(sio__hooks *h) {
  for (size_t i = 0; i < h->n; i++) sio__free(h->items[i].prefix);
  sio__free(h->items);
  h->items = NULL;
  h->n = 0;
}

/* The longest prefix of path among the hooks, or NULL. */
static const sio__hook *find_hook(const sio__hooks *h, const char *path) {
  const sio__hook *best = NULL;
  for (size_t i = 0; i < h->n; i++)
    if (strncmp(path, h->items[i].prefix, h->items[i].prefix_len) == 0 &&
        (!best || h->items[i].prefix_len > best->prefix_len))
      best = &h->items[i];
  return best;
}

int sio__app_on_upgrade(sio_app *app, const char *prefix, sio__upgrade_fn fn, void *user) {
  return add_hook(&app->upgrades, prefix, (void *)fn, user);
}
int sio_app_intercept(sio_app *app, const char *prefix, sio_handler_fn fn, void *user) {
  return add_hook(&app->intercepts, prefix, (void *)fn, user);
}
int sio__app_on_shutdown(sio_app *app, sio__shutdown_fn fn, void *user) {
  return add_hook(&app->shutdowns, NULL, (void *)fn, user);
}

/* Returns the intercept for a request path, used by router.c through sio__dispatch. */
const sio__hook *sio__app_find_intercept(sio_app *app, const char *path) {
  return find_hook(&app->intercepts, path);
}

/* --- Date, cached per second ---------------------------------------------------------------- */
const char *sio__app_date(sio_app *app) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  if ((uint64_t)now != app->date_sec || !app->date[0]) {
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(app->date, sizeof(app->date), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    app->date_sec = (uint64_t)now;
  }
  return app->date;
}

/* --- connections ---------------------------------------------------------------------------- */
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

/* The connection cap counts every live connection of the app: HTTP ones and those handed over
 * to upper layers (WebSockets), as the net sees them (including the one just accepted). An
 * episode is logged once, when it starts; it ends (a debug line) when the count is back 5 %
 * under the cap (hysteresis, so that a server hovering at the cap does not log per connection). */
static int over_capacity(sio_app *app) {
  if (app->opts.max_connections <= 0) return 0;
  size_t cap = (size_t)app->opts.max_connections;
  size_t live = sio__net_conn_count(app->net);
  if (live > cap) {
    if (!app->over_cap) {
      app->over_cap = 1;
      app->over_cap_refused = 0;
      sio__warn("http: connection cap reached (%zu live connections, cap %zu): new connections "
                "get 503, WebSocket upgrades close 1013",
                live - 1, cap);
    }
    return 1;
  }
  if (app->over_cap && live <= cap - cap / 20) {
    app->over_cap = 0;
    sio__log(SIO_LOG_DEBUG, /* the episode was logged once, when it began */
             "http: back under the connection cap (%zu live connections); %zu refused meanwhile",
             live, app->over_cap_refused);
  }
  return 0;
}

/* on_accept clears a connection around its parser in two pieces. */
_Static_assert(offsetof(sio__hconn, acc) == offsetof(sio__hconn, p) + sizeof(sio__http_parser),
               "sio__hconn: acc must follow the parser");

static void on_accept(sio__listener *l, sio__conn *c, void *user) {
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
  if (over_capacity(app)) {
    /* answered once its head is in: 503, or 101 then close 1013 for a WebSocket */
    hc->over_cap = 1;
    app->over_cap_refused++;
  }
  set_timer(hc, T_HEADER);
}

/* Room between the app's cap and the net's: a connection accepted past the app's cap holds a
 * descriptor until its 503 or 1013 is out and the peer has closed; past the net's cap
 * connections get a bare close, which is what the room is for avoiding. */
static size_t cap_room(size_t cap) {
  /* 64 clients reconnecting at once (the soak) hold up to twice that many descriptors past the
   * cap: theirs, and those they closed whose end the loop has not yet seen */
  size_t g = cap / 6;
  return g < 128 ? 128 : g > 400 ? 400 : g;
}

/* The connection cap when none is configured: below the net's own cap (derived the same way
 * from RLIMIT_NOFILE, keeping a margin for files and the server's descriptors), so that the
 * excess connections between the two get a 503 or a 1013 rather than a bare close. */
static int default_max_connections(size_t *limit_out) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  size_t limit = (size_t)rl.rlim_cur;
  *limit_out = limit;
  size_t margin = limit / 20 > 64 ? limit / 20 : 64;
  if (margin > 500) margin = 500;
  size_t net_cap = limit > margin ? limit - margin : limit / 2;
  size_t room = cap_room(net_cap);
  return net_cap > 2 * room ? (int)(net_cap - room) : (int)(net_cap / 3 ? net_cap / 3 : 1);
}

int sio_app_listen(sio_app *app) {
  if (app->listener) return -EALREADY;
  if (app->opts.max_connections <= 0) {
    size_t limit = 0;
    app->opts.max_connections = default_max_connections(&limit);
    if (app->opts.max_connections > 0)
      sio__info("http: serving at most %d connections (open-file limit %zu); past that, new "
                "connections get 503 (WebSocket: close 1013)",
                app->opts.max_connections, limit);
  }
  sio__listen_opts lo;
  memset(&lo, 0, sizeof(lo));
  lo.host = app->opts.host;
  lo.port = app->opts.port;
  /* leave room above the app's cap so that excess connections get a 503, not a reset */
  struct rlimit rl;
  int fd_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (int)(rl.rlim_cur > 16 ? rl.rlim_cur - 16 : rl.rlim_cur)
                   : 0;
  lo.max_conns = app->opts.max_connections > 0
                     ? app->opts.max_connections + (int)cap_room((size_t)app->opts.max_connections)
                     : 0;
  if (fd_cap > 0 && lo.max_conns > fd_cap) lo.max_conns = 0; /* the net's own default */
  int r = sio__listen(app->net, &lo, on_accept, app, &app->listener);
  if (r < 0) {
    app->listener = NULL;
    return r;
  }
  app->port = sio__listener_port(app->listener);
  return 0;
}

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

/* Copies the head and makes the request object; head spans are offsets into buf. The header
 * pointer arrays, the head's copy and the raw and decoded paths share one allocation
 * (req->hnames owns it): the path is part of the head, so the head's length bounds it. */
static sio_req *new_request(sio__hconn *hc, const char *buf, size_t head_len) {
  sio__http_parser *p = &hc->p;
  sio_req *req = sio__objcache_get(&hc->app->req_cache);
  if (!req) return NULL;
  req->app = hc->app;
  req->hc = hc;
  size_t ptrs = (p->n_headers + 1) * sizeof(char *) * 2;
  req->hnames = sio__malloc(ptrs + 3 * (head_len + 1));
  if (!req->hnames) {
    sio__objcache_put(&hc->app->req_cache, req);
    return NULL;
  }
  req->hvalues = req->hnames + p->n_headers + 1;
  req->head = (char *)req->hnames + ptrs;
  memcpy(req->head, buf, head_len);
  req->head[head_len] = 0;
  req->head_len = head_len;
  char *h = req->head;
  /* Every piece is followed by a delimiter (SP, ':', CR, LF) that can become its NUL. */
  h[p->method.off + p->method.len] = 0;
  h[p->target.off + p->target.len] = 0;
  req->method = h + p->method.off;
  req->url = h + p->target.off;
  req->minor = p->minor;
  req->n_headers = p->n_headers;
  /* A value's terminator may be the CR/LF itself or trailing OWS: either may be overwritten,
   * but a name's ':' must be cut before its value is (the value never starts before it). */
  for (uint16_t i = 0; i < p->n_headers; i++) {
    const sio__http_header *hd = &p->headers[i];
    h[hd->name.off + hd->name.len] = 0;
    req->hnames[i] = h + hd->name.off;
  }
  for (uint16_t i = 0; i < p->n_headers; i++) {
    const sio__http_header *hd = &p->headers[i];
    h[hd->value.off + hd->value.len] = 0;
    req->hvalues[i] = h + hd->value.off;
  }
  /* path and query */
  const char *q = strchr(req->url, '?');
  size_t plen = q ? (size_t)(q - req->url) : strlen(req->url);
  req->query_raw = q ? q + 1 : "";
  req->path_raw = req->head + head_len + 1;
  memcpy(req->path_raw, req->url, plen);
  req->path_raw[plen] = 0;
  req->path_dec = req->path_raw + plen + 1;
  if (sio__pct_decode(req->path_raw, plen, req->path_dec, 0) < 0) req->path_dec[0] = 0;
  req->body_done = p->body_done;
  req->res.req = req;
  req->res.status = 200;
  req->res.keep_alive = p->keep_alive && !hc->app->closing;
  req->res.head_only = strcmp(req->method, "HEAD") == 0;
  return req;
}

static int end_request(sio__hconn *hc);

/* Handles a complete head: 100-continue, upgrade hooks, dispatch. Returns 1 if the
 * connection was handed over (hc is freed), 0 to go on. */
static int start_request(sio__hconn *hc, const char *head, size_t head_len, const char *rest,
                         size_t rest_len) {
  sio_app *app = hc->app;
  set_timer(hc, T_NONE);
  sio_req *req = new_request(hc, head, head_len);
  if (!req) {
    respond_and_close(hc, 503, "Out of memory");
    return 0;
  }
  hc->req = req;
  if (hc->over_cap && !(hc->p.upgrade && strcmp(req->method, "GET") == 0 &&
                        find_hook(&app->upgrades, req->path_raw))) {
    /* past the cap, only an upgrade hook gets to see the request (to refuse it its way) */
    hc->req = NULL;
    sio__req_free(req);
    respond_and_close(hc, 503, "Too many connections");
    return 0;
  }
  if (hc->p.expect_continue && !req->body_done && req->minor == 1)
    sio__conn_write_copy(hc->conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  if (hc->p.upgrade && strcmp(req->method, "GET") == 0 && app->upgrades.n) {
    const sio__hook *hk = find_hook(&app->upgrades, req->path_raw);
    if (hk) {
      req->res.keep_alive = 0; /* if the hook refuses, the connection ends after the answer */
      sio__conn *conn = hc->conn;
      hc->in_dispatch = 1;
      int took = ((sio__upgrade_fn)hk->fn)(req, &req->res, conn, rest, rest_len, hk->user);
      hc->in_dispatch = 0;
      if (took == 1) {
        /* The hook owns conn now: drop our state without touching it. */
        hc->req = NULL;
        req->hc = NULL;
        sio__req_free(req);
        free_hconn(hc);
        return 1;
      }
      if (!req->res.finished && !req->res.headers_sent) sio_res_send_status(&req->res, 400);
      return 0;
    }
  }
  hc->in_dispatch = 1;
  sio__dispatch(req, &req->res);
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

/* Parses and serves what arrived, in order. */
static void feed(sio__hconn *hc, const char *data, size_t len) {
  for (;;) {
    if (hc->closing) return;
    sio_req *req = hc->req;
    if (!req) {
      if (len == 0) return;
      if (hc->timer_kind != T_HEADER) set_timer(hc, T_HEADER);
      long h;
      size_t before = hc->acc.len;
      if (before == 0) {
        h = sio__http_parse_head(&hc->p, data, len);
        if (h == 0) {
          if (sio__sbuf_append(&hc->acc, data, len) < 0) {
            respond_and_close(hc, 503, "Out of memory");
            return;
          }
          return;
        }
        if (h > 0 && start_request(hc, data, (size_t)h, data + h, len - (size_t)h)) return;
      } else {
        size_t room = hc->app->opts.max_header_size + 2 - before;
        size_t take = len < room ? len : room;
        if (sio__sbuf_append(&hc->acc, data, take) < 0) {
          respond_and_close(hc, 503, "Out of memory");
          return;
        }
        h = sio__http_parse_head(&hc->p, hc->acc.data, hc->acc.len);
        if (h == 0) {
          if (take < len) {
            respond_and_close(hc, 431, "Request header fields too large");
            return;
          }
          return;
        }
        if (h > 0) {
          size_t used = (size_t)h - before;
          sio__sbuf head = hc->acc;
          hc->acc = (sio__sbuf)SIO__SBUF_INIT;
          int gone = start_request(hc, head.data, (size_t)h, data + used, len - used);
          sio__sbuf_free(&head);
          if (gone) return;
          h = (long)used;
        }
      }
      if (h < 0) {
        respond_and_close(hc, hc->p.status, hc->p.reason);
        return;
      }
      sio__sbuf_reset(&hc->acc);
      data += h;
      len -= (size_t)h;
      continue;
    }
    if (!req->body_done) {
      if (len == 0) return;
      const char *o;
      size_t ol;
      long r = sio__http_body(&hc->p, data, len, &o, &ol);
      if (r < 0) {
        req->body_error = hc->p.status;
        req->body_reason = hc->p.reason;
        if (!req->res.headers_sent) {
          sio_res *res = &req->res;
          res->keep_alive = 0;
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
        return;
      }
      if (ol && !req->res.finished && sio__sbuf_append(&req->body, o, ol) < 0) {
        hc->closing = 1;
        sio__conn_abort(hc->conn);
        return;
      }
      data += r;
      len -= (size_t)r;
      if (hc->p.body_done) {
        if (hc->timer_kind == T_BODY) set_timer(hc, T_NONE);
        req->body_done = 1;
        hc->in_dispatch = 1;
        sio__req_body_done(req);
        hc->in_dispatch = 0;
        continue;
      }
      if (r == 0) return;
      if (hc->timer_kind == T_BODY) set_timer(hc, T_BODY);
      continue;
    }
    if (!req->res.finished) {
      stash(hc, data, len);
      return;
    }
    if (end_request(hc) < 0) return;
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

static void check_closed(sio_app *app);

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
  if (app->closing) check_closed(app);
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

/* --- shutdown ---------------------------------------------------------------------------- */
static void finish_close(sio_app *app) {
  if (app->closed_called) return;
  app->closed_called = 1;
  uv_timer_stop(&app->close_timer);
  if (app->opts.handle_signals) {
    uv_signal_stop(&app->sigint);
    uv_signal_stop(&app->sigterm);
  }
  if (app->closed_cb) app->closed_cb(app, app->closed_user);
}

static void check_closed(sio_app *app) {
  if (app->closed_called) return;
  uint64_t now = uv_now(app->loop);
  if (now >= app->close_deadline) {
    sio__list *l, *tmp;
    sio__list_foreach_safe(l, tmp, &app->conns) {
      sio__hconn *hc = sio__container_of(l, sio__hconn, link);
      if (!hc->gone) {
        hc->gone = 1;
        request_gone(hc);
        hc->closing = 1;
        sio__conn_abort(hc->conn);
      }
    }
  }
  /* connections owned by upper layers get the deadline plus a moment to close */
  if (app->nconns == 0 && (sio__net_conn_count(app->net) == 0 || now >= app->close_deadline + 200))
    finish_close(app);
}

static void on_close_tick(uv_timer_t *t) {
  check_closed(t->data);
}

void sio_app_close(sio_app *app, sio_app_closed_fn cb, void *user) {
  if (cb) {
    app->closed_cb = cb;
    app->closed_user = user;
  }
  if (app->closing) return;
  app->closing = 1;
  app->close_deadline = uv_now(app->loop) + app->opts.shutdown_timeout_ms;
  if (app->listener) {
    sio__listener_close(app->listener);
    app->listener = NULL;
  }
  for (size_t i = 0; i < app->shutdowns.n; i++)
    ((sio__shutdown_fn)app->shutdowns.items[i].fn)(app, app->shutdowns.items[i].user);
  sio__list *l, *tmp;
  sio__list_foreach_safe(l, tmp, &app->conns) {
    sio__hconn *hc = sio__container_of(l, sio__hconn, link);
    if (!hc->req && !hc->closing) {
      hc->closing = 1;
      set_timer(hc, T_NONE);
      sio__conn_close(hc->conn);
    } else if (hc->req) {
      hc->req->res.keep_alive = 0;
    }
  }
  uv_timer_start(&app->close_timer, on_close_tick, 0, 10);
}

static void on_signal(uv_signal_t *s, int signum) {
  sio_app *app = s->data;
  if (app->closing) { /* a second signal: do not wait for the deadline */
    app->close_deadline = uv_now(app->loop);
    return;
  }
  sio__info("signal %d: shutting down (deadline %u ms)", signum, app->opts.shutdown_timeout_ms);
  sio_app_close(app, NULL, NULL);
}

static void on_app_handle_closed(uv_handle_t *h) {
  sio_app *app = h->data;
  if (--app->open_handles == 0) {
    sio__objcache_drain(&app->hconn_cache);
    sio__objcache_drain(&app->req_cache);
    sio__free(app);
  }
}

void sio__views_release(sio_app *app);
static void on_reap(uv_idle_t *h);

void sio_app_free(sio_app *app) {
  if (!app || app->freeing) return;
  app->freeing = 1;
  if (app->listener) sio__listener_close(app->listener);
  app->listener = NULL;
  sio__list *l, *tmp;
  sio__list_foreach_safe(l, tmp, &app->conns) {
    sio__hconn *hc = sio__container_of(l, sio__hconn, link);
    release_request(hc);
    sio__conn *c = hc->conn;
    c->handler = &orphan_handler;
    c->ctx = NULL;
    free_hconn(hc);
    sio__conn_abort(c);
  }
  while (!sio__list_empty(&app->orphans)) {
    sio__list *o = app->orphans.next;
    sio__list_remove(o);
    sio__req_free(sio__container_of(o, sio_req, orphan_link));
  }
  free_hooks(&app->upgrades);
  free_hooks(&app->intercepts);
  free_hooks(&app->shutdowns);
  sio__router_free_layers(app->root);
  sio__free(app->root);
  sio__views_release(app);
  /* The net may be freed only after every connection's close callback has run (they use it):
   * wait for that from the idle handle, then close the app's own handles. */
  uv_timer_stop(&app->close_timer);
  uv_idle_start(&app->idle, on_reap);
}

static void on_reap(uv_idle_t *h) {
  sio_app *app = h->data;
  if (sio__net_conn_count(app->net) > 0) return;
  uv_idle_stop(h);
  sio__net_free(app->net);
  app->net = NULL;
  uv_close((uv_handle_t *)&app->idle, on_app_handle_closed);
  uv_close((uv_handle_t *)&app->close_timer, on_app_handle_closed);
  if (app->opts.handle_signals) {
    uv_close((uv_handle_t *)&app->sigint, on_app_handle_closed);
    uv_close((uv_handle_t *)&app->sigterm, on_app_handle_closed);
  }
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
