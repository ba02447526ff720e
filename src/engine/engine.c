/* Engine.IO v4 server: the server object (options, attach, close, free).
 *
 * Requests under the configured path are taken before the app's router (an HTTP intercept,
 * handshake.c) and WebSocket upgrades through an upgrade hook (websocket.c). The server keeps
 * its sessions in a map by sid; closing or freeing it closes each of them. How the server is
 * split into files, and the session's lifetime, are told in engine_internal.h. */
#include "engine/engine_internal.h"

#include <string.h>

#include "core/alloc.h"

/* --- options ------------------------------------------------------------------------------ */

sio_eio_opts sio_eio_opts_default(void) {
  sio_eio_opts o;
  memset(&o, 0, sizeof o);
  o.path = "/engine.io/";
  o.ping_interval_ms = 25000;
  o.ping_timeout_ms = 20000;
  o.upgrade_timeout_ms = 10000;
  o.max_http_buffer_size = 1000000;
  o.transports = SIO_EIO_POLLING | SIO_EIO_WEBSOCKET;
  o.compression_threshold = 1024;
  o.send_buffer_limit = 1u << 20;
  return o;
}

static void apply_defaults(sio_eio_opts *o) {
  sio_eio_opts d = sio_eio_opts_default();
  if (!o->path) o->path = d.path;
  if (!o->ping_interval_ms) o->ping_interval_ms = d.ping_interval_ms;
  if (!o->ping_timeout_ms) o->ping_timeout_ms = d.ping_timeout_ms;
  if (!o->upgrade_timeout_ms) o->upgrade_timeout_ms = d.upgrade_timeout_ms;
  if (!o->max_http_buffer_size) o->max_http_buffer_size = d.max_http_buffer_size;
  if (!o->transports) o->transports = d.transports;
  if (!o->compression_threshold) o->compression_threshold = d.compression_threshold;
  if (!o->send_buffer_limit) o->send_buffer_limit = d.send_buffer_limit;
}
/* CORS as Node's engine.io applies the cors middleware: every OPTIONS is a preflight. */
static void set_cors(sio_eio *e) {
  const sio_eio_opts *o = &e->opts;
  e->cors_on = o->cors_origin || o->cors_origin_fn;
  e->cors = (sio__cors){.origin = o->cors_origin_fn ? NULL : o->cors_origin,
                        .origin_fn = o->cors_origin_fn,
                        .origin_user = o->cors_user,
                        .credentials = o->cors_credentials,
                        .every_options_is_preflight = 1};
}

/* --- server ------------------------------------------------------------------------------- */

/* Every session is in the map until it closes; closing deletes its entry (a tombstone: the
 * walk goes on undisturbed, whatever other sessions the callbacks close meanwhile). */
static void release_eio(void *e);

static void close_all(sio_eio *e, const char *reason) {
  size_t i = 0;
  sio__map_entry *en;
  while ((en = sio__map_next(&e->sessions, &i))) sio__eio_close_session(en->value, reason);
}

static void on_shutdown(sio_app *app, void *user) {
  sio_eio *e = user;
  close_all(e, SIO__EIO_REASON_SHUTDOWN);
}

sio_eio *sio_eio_attach(sio_app *app, const sio_eio_opts *opts, const sio_eio_handlers *h,
                        void *user) {
  if (!app) return NULL;
  sio__alloc_hook_libraries();
  sio_eio *e = sio__calloc(1, sizeof *e);
  if (!e) return NULL;
  e->attachment = sio__app_attach(app, release_eio, e); /* from now on the app frees e */
  if (!e->attachment) {
    sio__free(e);
    return NULL;
  }
  e->app = app;
  e->net = sio__app_net(app);
  e->opts = opts ? *opts : sio_eio_opts_default();
  apply_defaults(&e->opts);
  if (h) e->h = *h;
  e->user = user;
  e->path = sio__strdup(e->opts.path);
  e->opts.path = e->path;
  e->sessions = (sio__map)SIO__MAP_INIT;
  e->ws_opts = sio_ws_opts_default();
  e->ws_opts.max_message_size = e->opts.max_http_buffer_size;
  e->ws_opts.max_buffered = e->opts.send_buffer_limit;
  e->ws_opts.drop_when_full = 1;           /* SIO_ETOOLARGE: the layer above decides */
  e->ws_opts.idle_timeout_ms = UINT32_MAX; /* the Engine.IO heartbeat does this job */
  e->ws_opts.deflate = e->opts.per_message_deflate;
  set_cors(e);
  if (!e->path || sio__eio_encode_open_tails(e) ||
      sio_app_intercept(app, e->path, sio__eio_on_http, e) ||
      sio__app_on_upgrade(app, e->path, sio__eio_on_upgrade, e) ||
      (sio__app_worker(app) && sio__app_on_owner(app, e->path, sio__eio_sid_owner, e)) ||
      sio__app_on_shutdown(app, on_shutdown, e)) {
    sio_eio_free(e); /* the hooks already registered go with it */
    return NULL;
  }
  return e;
}

void sio_eio_close(sio_eio *e) {
  if (!e || e->closed) return;
  close_all(e, SIO__EIO_REASON_FORCED_CLOSE);
  e->closed = 1;
}

/* Ends every session and frees what the server holds; its block stays until the app's memory
 * goes (the app owns it, see http/server.h), so that a second free, or one after sio_app_free,
 * sees it released and returns. */
void sio_eio_free(sio_eio *e) {
  if (!e || sio__attachment_released(e->attachment)) return;
  sio__app_detach(e->attachment);
  e->closed = 1;
  close_all(e, SIO__EIO_REASON_SHUTDOWN);
  sio__map_free(&e->sessions);
  sio__free(e->path);
  e->path = NULL;
  sio__sbuf_free(&e->open_tail[0]);
  sio__sbuf_free(&e->open_tail[1]);
}

static void release_eio(void *e) {
  sio_eio_free(e);
}

size_t sio_eio_clients_count(const sio_eio *e) {
  return e->count;
}
void sio__eio_set_allow_eio3(sio__eio *e, int allow) {
  e->opts.allow_eio3 = allow != 0;
}
const sio__eio_opts *sio__eio_options(const sio__eio *e) {
  return &e->opts;
}
sio_app *sio__eio_app(const sio__eio *e) {
  return e->app;
}
