/* The app object: options and their defaults, the app's handles, the hooks the upper layers
 * register (upgrades, intercepts, shutdown), the cached Date header, the connection cap and
 * the listener, and freeing.
 *
 * The connections an app serves live in connection.c, graceful shutdown in shutdown.c. An app
 * holds one uv_idle handle (resuming pipelined requests, then reaping once freed), one uv_timer
 * (the shutdown tick) and, with handle_signals, two uv_signal handles; its memory goes when the
 * last of them has closed. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/app_internal.h"

/* --- options and the app's handles --------------------------------------------------------- */
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
  if (sio__https_copy(app, app->opts.tls) != 0) {
    sio__https_free(app);
    sio__free(app);
    return NULL;
  }
  app->opts.tls = NULL; /* the copy is app->https */
  app->net = sio__net_new(loop);
  app->root = sio_router_new();
  if (!app->net || !app->root) {
    sio__https_free(app);
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
  sio__list_init(&app->attachments);
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
    uv_signal_start(&app->sigint, sio__app_on_signal, SIGINT);
    uv_signal_start(&app->sigterm, sio__app_on_signal, SIGTERM);
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

/* Unhooked entries keep their place (fn NULL), so that a hook may unhook while the hooks are
 * being walked (a shutdown hook that frees its server). */
static void unhook(sio__hooks *h, const void *user) {
  for (size_t i = 0; i < h->n; i++)
    if (h->items[i].user == user) h->items[i].fn = NULL;
}

void sio__app_unhook(sio_app *app, const void *user) {
  unhook(&app->upgrades, user);
  unhook(&app->intercepts, user);
  unhook(&app->shutdowns, user);
  unhook(&app->owners, user);
}

/* The longest prefix of path among the hooks, or NULL. */
static const sio__hook *find_hook(const sio__hooks *h, const char *path) {
  const sio__hook *best = NULL;
  for (size_t i = 0; i < h->n; i++)
    if (h->items[i].fn && strncmp(path, h->items[i].prefix, h->items[i].prefix_len) == 0 &&
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
int sio__app_on_owner(sio_app *app, const char *prefix, sio__owner_fn fn, void *user) {
  return add_hook(&app->owners, prefix, (void *)fn, user);
}
const sio__hook *sio__app_find_owner(sio_app *app, const char *path) {
  return find_hook(&app->owners, path);
}
int sio__app_on_shutdown(sio_app *app, sio__shutdown_fn fn, void *user) {
  return add_hook(&app->shutdowns, NULL, (void *)fn, user);
}

/* The intercept for a request path (router.c, through sio__dispatch). */
const sio__hook *sio__app_find_intercept(sio_app *app, const char *path) {
  return find_hook(&app->intercepts, path);
}
/* The upgrade hook for a request path (connection.c). */
const sio__hook *sio__app_find_upgrade(sio_app *app, const char *path) {
  return find_hook(&app->upgrades, path);
}

/* --- Date, cached per second ---------------------------------------------------------------- */
const char *sio__app_date(sio_app *app) {
  time_t now = time(NULL);
  if ((uint64_t)now != app->date_sec || !app->date[0]) {
    char d[40];
    sio__http_date(now, d, sizeof(d));
    snprintf(app->date, sizeof(app->date), "Date: %s\r\n", d);
    app->date_sec = (uint64_t)now;
  }
  return app->date;
}

/* --- the connection cap ------------------------------------------------------------------- */
/* The connection cap counts every live connection of the app: HTTP ones and those handed over
 * to upper layers (WebSockets), as the net sees them (including the one just accepted). An
 * episode is logged once, when it starts; it ends (a debug line) when the count is back 5 %
 * under the cap (hysteresis, so that a server hovering at the cap does not log per connection). */
int sio__app_over_capacity(sio_app *app) {
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
  if (app->opts.worker && app->opts.port == 0) return -EINVAL; /* each would bind its own */
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
  lo.reuseport = app->opts.worker != NULL;
  /* leave room above the app's cap so that excess connections get a 503, not a reset */
  struct rlimit rl;
  int fd_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (int)(rl.rlim_cur > 16 ? rl.rlim_cur - 16 : rl.rlim_cur)
                   : 0;
  lo.max_conns = app->opts.max_connections > 0
                     ? app->opts.max_connections + (int)cap_room((size_t)app->opts.max_connections)
                     : 0;
  if (fd_cap > 0 && lo.max_conns > fd_cap) lo.max_conns = 0; /* the net's own default */
  int r = sio__https_listen(app, &lo);
  if (r < 0) return r;
  r = sio__listen(app->net, &lo, sio__hconn_on_accept, app, &app->listener);
  if (r < 0) {
    app->listener = NULL;
    sio__https_close_listeners(app);
    return r;
  }
  app->port = sio__listener_port(app->listener);
  r = sio__app_worker_listen(app);
  if (r < 0) {
    sio__listener_close(app->listener);
    app->listener = NULL;
    sio__https_close_listeners(app);
    return r;
  }
  return 0;
}

/* --- freeing ------------------------------------------------------------------------------- */
static void on_app_handle_closed(uv_handle_t *h) {
  sio_app *app = h->data;
  if (--app->open_handles == 0) {
    sio__objcache_drain(&app->hconn_cache);
    sio__objcache_drain(&app->req_cache);
    sio__app_free_attachments(app);
    sio__https_free(app);
    sio__free(app);
  }
}

static void on_reap(uv_idle_t *h);

void sio_app_free(sio_app *app) {
  if (!app || app->freeing) return;
  app->freeing = 1;
  if (app->listener) sio__listener_close(app->listener);
  app->listener = NULL;
  sio__https_close_listeners(app);
  sio__list *l, *tmp;
  sio__list_foreach_safe(l, tmp, &app->conns)
      sio__hconn_drop(sio__container_of(l, sio__hconn, link));
  while (!sio__list_empty(&app->orphans)) {
    sio__list *o = app->orphans.next;
    sio__list_remove(o);
    sio__req_free(sio__container_of(o, sio_req, orphan_link));
  }
  /* what is attached (Socket.IO, Engine.IO, WebSocket routes) goes as if freed now by its
   * owner: after the HTTP requests that may still call into it, before the hooks */
  sio__app_release_attachments(app);
  free_hooks(&app->upgrades);
  free_hooks(&app->intercepts);
  free_hooks(&app->shutdowns);
  free_hooks(&app->owners);
  sio__app_worker_leave(app);
  sio__router_free_layers(app->root);
  sio__free(app->root);
  sio__views_release(app);
  /* The net may be freed only after every connection's close callback has run (they use it):
   * wait for that from the idle handle, then close the app's own handles. */
  uv_timer_stop(&app->close_timer);
  uv_idle_stop(&app->idle); /* it may be on for on_idle (a response just finished): restarting
                               an active handle would keep that callback */
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
