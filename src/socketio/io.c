/* The Socket.IO server object: options and their defaults, attaching to an app (the
 * Engine.IO server below, the adapter factory, the main namespace, the client bundle, the
 * thread queue), closing and freeing, and its accessors. The clients it serves are in client.c. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "http/server.h"
#include "socketio/io_internal.h"

#define DEFAULT_SEND_LIMIT (1u << 20)

sio_io_opts sio_io_opts_default(void) {
  sio_io_opts o;
  memset(&o, 0, sizeof(o));
  o.path = "/socket.io/";
  o.ping_interval_ms = 25000;
  o.ping_timeout_ms = 20000;
  o.upgrade_timeout_ms = 10000;
  o.connect_timeout_ms = 45000;
  o.max_http_buffer_size = 1000000;
  o.transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
  o.send_buffer_limit = DEFAULT_SEND_LIMIT;
  o.max_json_depth = SIO__JSON_DEFAULT_DEPTH;
  o.max_attachments = SIO__SIO_DEFAULT_MAX_ATTACHMENTS;
  return o;
}

/* --- the server --------------------------------------------------------------------------- */

static char *dup_or_null(const char *s) {
  return s ? sio__strdup(s) : NULL;
}

/* What the server holds; its block is freed by io_free_now or, once attached, by the app. */
static void io_free_contents(sio_io *io) {
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&io->nsps, &i))) sio__nsp_release(e->value);
  sio__map_free(&io->nsps);
  while (!sio__list_empty(&io->parents)) {
    sio_nsp *p = sio__container_of(io->parents.next, sio_nsp, parent_link);
    sio__nsp_release(p);
  }
  while (!sio__list_empty(&io->detached)) {
    sio_nsp *p = sio__container_of(io->detached.next, sio_nsp, parent_link);
    sio__nsp_release(p);
  }
  sio__serve_client_free(io);
  sio__free(io->path);
  sio__free(io->cors_origin);
  io->path = io->cors_origin = NULL;
}

static void io_free_now(sio_io *io) {
  io_free_contents(io);
  sio__free(io);
}

static void release_io(void *io) {
  sio_io_free(io);
}

/* The server shuts down: the namespaces' adapters must not keep the loop alive (the Redis
 * adapter's connections reconnect forever). */
static void shutdown_adapters(sio_io *io) {
  size_t i = 0;
  sio__map_entry *e;
  io->adapters_shut = 1;
  while ((e = sio__map_next(&io->nsps, &i))) {
    sio_nsp *nsp = e->value;
    if (nsp->adapter && nsp->adapter->ops->shutdown) nsp->adapter->ops->shutdown(nsp->adapter);
  }
}

/* The app is shutting down: the engine closes the sessions ("server shutting down"); neither
 * the thread queue nor the adapters may keep the loop alive. */
static void on_app_shutdown(sio_app *app, void *user) {
  (void)app;
  sio__async_unref(user);
  shutdown_adapters(user);
}

sio_io *sio_io_attach(sio_app *app, const sio_io_opts *user_opts) {
  if (!app) return NULL;
  sio_io *io = sio__calloc(1, sizeof(*io));
  if (!io) return NULL;
  sio_io_opts d = sio_io_opts_default();
  sio_io_opts o = user_opts ? *user_opts : d;
#define DEF(field)                                                                                 \
  if (!o.field) o.field = d.field
  DEF(path);
  DEF(ping_interval_ms);
  DEF(ping_timeout_ms);
  DEF(upgrade_timeout_ms);
  DEF(connect_timeout_ms);
  DEF(max_http_buffer_size);
  DEF(transports);
  DEF(send_buffer_limit);
  DEF(max_json_depth);
  DEF(max_attachments);
#undef DEF
  io->app = app;
  io->net = sio__app_net(app);
  io->loop = sio_app_loop(app);
  io->adapter_new = o.adapter ? o.adapter : sio_memory_adapter_new; /* the default */
  io->adapter_arg = o.adapter_arg;
  sio__list_init(&io->parents);
  sio__list_init(&io->detached);
  sio__list_init(&io->clients);
  { /* "/socket.io" and "/socket.io/" alike (Engine.IO wants the trailing slash) */
    size_t pl = strlen(o.path);
    io->path = sio__malloc(pl + 2);
    if (io->path) {
      memcpy(io->path, o.path, pl + 1);
      if (!pl || o.path[pl - 1] != '/') memcpy(io->path + pl, "/", 2);
    }
  }
  io->cors_origin = dup_or_null(o.cors_origin);
  if (!io->path || (o.cors_origin && !io->cors_origin)) goto fail;
  o.path = io->path;
  o.cors_origin = io->cors_origin;
  io->opts = o;
  io->limits.max_depth = o.max_json_depth;
  io->limits.max_attachments = (unsigned)o.max_attachments;
  io->main = sio__nsp_new(io, "/", 1, SIO__NSP_STATIC);
  if (!io->main) goto fail;

  sio__eio_opts eo = sio_eio_opts_default();
  eo.path = io->path;
  eo.ping_interval_ms = o.ping_interval_ms;
  eo.ping_timeout_ms = o.ping_timeout_ms;
  eo.upgrade_timeout_ms = o.upgrade_timeout_ms;
  eo.max_http_buffer_size = o.max_http_buffer_size;
  eo.transports = (o.transports & SIO_TRANSPORT_POLLING ? SIO_EIO_POLLING : 0) |
                  (o.transports & SIO_TRANSPORT_WEBSOCKET ? SIO_EIO_WEBSOCKET : 0);
  eo.no_upgrades = o.no_upgrades;
  eo.http_compression = o.http_compression;
  eo.per_message_deflate = o.per_message_deflate;
  eo.cors_origin = io->cors_origin;
  eo.cors_credentials = o.cors_credentials;
  /* the Socket.IO layer applies its own policy first; the session limit is a backstop */
  eo.send_buffer_limit = o.send_buffer_limit * 2 + 65536;
  if (sio__async_init(io)) goto fail;
  if (!o.no_serve_client && sio__serve_client_init(io)) goto fail_async;
  io->eio = sio_eio_attach(app, &eo, &sio__client_eio_handlers, io);
  if (!io->eio) goto fail_async;
  /* after the Engine.IO server: sio_app_free releases io first, which frees its eio */
  io->attachment = sio__app_attach(app, release_io, io);
  if (!io->attachment) goto fail_eio;
  sio__app_on_shutdown(app, on_app_shutdown, io);
  return io;
fail_eio:
  sio_eio_free(io->eio); /* its block is the app's */
fail_async:
  sio__app_unhook(app, io); /* the bundle's intercept, if it was registered */
  sio__async_free(io);
  io_free_now(io);
  return NULL;
fail:
  io_free_now(io);
  return NULL;
}

void sio_io_close(sio_io *io) {
  if (!io || io->closing) return;
  io->closing = 1;
  sio__list *it, *tmp;
  sio__list_foreach_safe(it, tmp, &io->clients) {
    sio__client *c = sio__container_of(it, sio__client, link);
    sio__client_close(c, "server shutting down");
  }
  if (io->eio) sio_eio_close(io->eio);
  sio__async_close(io);
  shutdown_adapters(io);
}

/* Disconnects every client and frees what the server holds; its block stays until the app's
 * memory goes (the app owns it, see http/server.h), so that a second free, or one after
 * sio_app_free, sees it released and returns. */
void sio_io_free(sio_io *io) {
  if (!io || sio__attachment_released(io->attachment)) return;
  sio__app_detach(io->attachment); /* the app's hooks to io go */
  sio_io_close(io);
  if (io->eio) sio_eio_free(io->eio); /* sessions still open end now ("server shutting down") */
  io->eio = NULL;
  sio__async_free(io);
  if (io->obs && io->obs->io_free) io->obs->io_free(io, io->obs_user);
  io->obs = NULL;
  io_free_contents(io);
}

int sio__io_observe(sio_io *io, const sio__observer *obs, void *user) {
  if (obs && io->obs) return -EBUSY;
  io->obs = obs;
  io->obs_user = user;
  return 0;
}

sio_app *sio_io_app(const sio_io *io) {
  return io ? io->app : NULL;
}
uv_loop_t *sio_io_loop(const sio_io *io) {
  return io ? io->loop : NULL;
}
void sio_io_set_data(sio_io *io, void *data) {
  if (io) io->data = data;
}
void *sio_io_data(const sio_io *io) {
  return io ? io->data : NULL;
}
size_t sio_io_clients_count(const sio_io *io) {
  return io ? io->nclients : 0;
}

void sio_io_get_stats(const sio_io *io, sio_io_stats *out) {
  if (!out) return;
  if (io)
    *out = io->stats;
  else
    memset(out, 0, sizeof(*out));
}
