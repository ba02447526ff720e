/* sio_admin_ui: Node's instrument(io, opts) of @socket.io/admin-ui 0.5. Checks and copies the
 * options, makes the admin namespace (its middleware, its connection handler: the
 * operations, "config", then "all_sockets" in development mode), starts server_stats and
 * becomes the server's observer. The state lives until the server is freed and the last
 * password check in flight returns. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_internal.h"
#include "core/alloc.h"
#include "core/log.h"

sio_admin_opts sio_admin_opts_default(void) {
  sio_admin_opts o;
  memset(&o, 0, sizeof o);
  o.nsp = "/admin";
  o.mode = SIO_ADMIN_DEVELOPMENT;
  return o;
}

/* --- lifetime ----------------------------------------------------------------------------- */

static void admin_free(sio__admin *a) {
  sio__admin_left_flush(a, 0);
  sio__free(a->left);
  sio__admin_counts_free(a);
  sio__free(a->sessions);
  sio__free(a->username);
  sio__free(a->hash);
  sio__free(a->server_id);
  sio__free(a);
}

void sio__admin_unref(sio__admin *a) {
  if (--a->refs == 0 && a->handles == 0) admin_free(a);
}

static void on_timer_closed(uv_handle_t *h) {
  sio__admin *a = h->data;
  if (--a->handles == 0 && a->refs == 0) admin_free(a);
}

/* The server is being freed (the observer's io_free): no more emits, timers closed. */
void sio__admin_gone(sio__admin *a) {
  a->gone = 1;
  a->nsp = NULL;
  sio__admin_left_flush(a, 0);
  uv_close((uv_handle_t *)&a->stats, on_timer_closed);
  uv_close((uv_handle_t *)&a->defer, on_timer_closed);
  sio__admin_unref(a);
}

/* --- emitting ----------------------------------------------------------------------------- */

int sio__admin_listening(const sio__admin *a) {
  return !a->gone && a->nsp && sio_nsp_sockets_count(a->nsp) > 0;
}

void sio__admin_emit(sio__admin *a, const char *ev, json_t *arr) {
  if (!arr) return;
  if (sio__admin_listening(a)) sio_op_emit_value(sio_nsp_op(a->nsp), ev, arr);
  json_decref(arr);
}

void sio__admin_date(char *buf, size_t size) {
  struct timeval tv;
  struct tm tm;
  gettimeofday(&tv, NULL);
  time_t t = tv.tv_sec;
  gmtime_r(&t, &tm);
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

/* --- the admin namespace ------------------------------------------------------------------ */

/* {supportedFeatures}: the operations unless readonly, AGGREGATED_EVENTS, and ALL_EVENTS in
 * development mode (sio__admin_features is in that order). */
static json_t *config_of(const sio__admin *a) {
  json_t *f = json_array();
  for (size_t i = a->readonly ? 7 : 0; sio__admin_features[i]; i++) {
    if (i == 8 && !a->dev) break;
    json_array_append_new(f, json_string(sio__admin_features[i]));
  }
  return f ? json_pack("[{s:o}]", "supportedFeatures", f) : NULL;
}

static void on_admin_connection(sio_socket *s, void *user) {
  sio__admin *a = user;
  if (a->gone) return;
  sio__admin_ops_register(a, s);
  json_t *cfg = config_of(a);
  if (cfg) sio_socket_emit_value(s, "config", cfg);
  json_decref(cfg);
  if (!a->dev || !sio_connected(s)) return;
  json_t *all = sio__admin_all_sockets(a);
  json_t *arr = all ? json_pack("[o]", all) : NULL;
  if (arr) sio_socket_emit_value(s, "all_sockets", arr);
  json_decref(arr);
}

/* --- instrument --------------------------------------------------------------------------- */

static int check_opts(const sio_admin_opts *o) {
  if (!o->no_auth && (!o->username || !o->password_hash)) {
    sio__error("admin: the auth option must be given (username and password_hash) or "
               "explicitly disabled (no_auth)");
    return -EINVAL;
  }
  if (!o->no_auth && !sio__admin_hash_valid(o->password_hash)) {
    sio__error("admin: password_hash must be a valid bcrypt hash ($2b$, cost, 53 characters)");
    return -EINVAL;
  }
  if (o->nsp && o->nsp[0] != '/') {
    sio__error("admin: the namespace name must start with '/' (got \"%s\")", o->nsp);
    return -EINVAL;
  }
  if (o->mode != SIO_ADMIN_DEVELOPMENT && o->mode != SIO_ADMIN_PRODUCTION) {
    sio__error("admin: mode must be SIO_ADMIN_DEVELOPMENT or SIO_ADMIN_PRODUCTION");
    return -EINVAL;
  }
  return 0;
}

static sio__admin *admin_new(sio_io *io, const sio_admin_opts *o) {
  sio__admin *a = sio__calloc(1, sizeof *a);
  if (!a) return NULL;
  a->io = io;
  a->refs = 1;
  a->no_auth = o->no_auth;
  a->readonly = o->readonly;
  a->dev = o->mode == SIO_ADMIN_DEVELOPMENT;
  if (gethostname(a->hostname, sizeof a->hostname - 1)) strcpy(a->hostname, "localhost");
  a->server_id = sio__strdup(o->server_id ? o->server_id : a->hostname);
  if (!o->no_auth) {
    a->username = sio__strdup(o->username);
    a->hash = sio__strdup(o->password_hash);
  }
  if (!a->server_id || (!o->no_auth && (!a->username || !a->hash))) {
    admin_free(a);
    return NULL;
  }
  return a;
}

int sio_admin_ui(sio_io *io, const sio_admin_opts *opts) {
  if (!io || !opts) return -EINVAL;
  int rc = check_opts(opts);
  if (rc) return rc;
  if (io->obs) {
    sio__error("admin: this server is already instrumented");
    return -EBUSY;
  }
  sio__admin *a = admin_new(io, opts);
  sio_nsp *nsp = a ? sio_of(io, opts->nsp ? opts->nsp : "/admin") : NULL;
  if (!nsp) {
    if (a) admin_free(a);
    return -ENOMEM;
  }
  /* handlers cannot be taken back: after a failure here the state stays, inert (gone), for
   * the observer's io_free to release */
  int failed = (!a->no_auth && sio_nsp_use(nsp, sio__admin_auth_mw, a)) ||
               sio_nsp_on_connection(nsp, on_admin_connection, a);
  uv_timer_init(io->loop, &a->stats);
  uv_timer_init(io->loop, &a->defer);
  a->stats.data = a->defer.data = a;
  a->handles = 2;
  sio__io_observe(io, &sio__admin_observer, a);
  if (failed) {
    a->gone = 1;
    return -ENOMEM;
  }
  if (a->no_auth) sio__warn("admin: authentication is disabled, please use with caution");
  a->nsp = nsp;
  sio__admin_stats_start(a);
  return 0;
}
