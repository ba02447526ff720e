/* sio-server: a standalone Socket.IO server that any backend pushes to (docs/server.md).
 * It holds the browsers' connections (the official socket.io-client, unchanged) and takes
 * events from backends over HTTP (POST /api/emit, api.c) or Redis (@socket.io/redis-emitter,
 * when --redis joins it to a cluster). This file starts it: configuration, the app and its
 * Socket.IO server, the Redis adapter, signals (SIGINT/SIGTERM: graceful shutdown; SIGHUP:
 * the configuration file and the TLS certificate read again). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* --- reload ----------------------------------------------------------------------------------- */

#define KEEP(field) /* what a reload cannot change: the running value stays */                     \
  do {                                                                                             \
    __typeof__(n.field) t_ = n.field;                                                              \
    n.field = s->cfg.field;                                                                        \
    s->cfg.field = t_;                                                                             \
  } while (0)

/* Keeps the fields that need a restart (warning when the file changed them). */
static void keep_static(srv *s, srv_config *nc) {
  srv_config n = *nc;
  KEEP(host);
  KEEP(port);
  KEEP(tls_cert);
  KEEP(tls_key);
  KEEP(tls_key_passphrase_file);
  KEEP(tls_ca);
  KEEP(static_dir);
  KEEP(path);
  KEEP(ping_interval);
  KEEP(ping_timeout);
  KEEP(connect_timeout);
  KEEP(max_payload);
  KEEP(namespaces);
  KEEP(recovery);
  KEEP(recovery_duration);
  KEEP(workers);
  KEEP(redis);
  KEEP(redis_sharded);
  KEEP(redis_key);
  KEEP(webhook);
  KEEP(config_file);
  *nc = n;
}

static void on_sighup(uv_signal_t *sig, int signum) {
  (void)signum;
  srv *s = sig->data;
  srv_config n = {0};
  int action;
  char err[512];
  if (srv_config_load(&n, s->argc, s->argv, &action, err, sizeof err)) {
    srv_log(SIO_LOG_ERROR, "SIGHUP: configuration not reloaded (the old one stays): %s", err);
    srv_config_free(&n);
  } else {
    keep_static(s, &n); /* n: the new reloadable fields with the live static ones */
    srv_config old = s->cfg;
    s->cfg = n;
    srv_config_free(&old);
    srv_log_setup(&s->cfg);
    int rc = srv_api_reload(s);
    if (!rc) rc = srv_jwt_reload(s);
    srv_log(rc ? SIO_LOG_ERROR : SIO_LOG_INFO, "SIGHUP: configuration reloaded%s (%zu tokens)",
            rc ? " with errors" : "", s->cfg.tokens.n);
  }
  if (s->cfg.tls_cert && *s->cfg.tls_cert) {
    int rc = sio_app_tls_reload(s->app);
    srv_log(rc ? SIO_LOG_ERROR : SIO_LOG_INFO, "SIGHUP: TLS certificate %s%s",
            rc ? "not reloaded: " : "reloaded", rc ? sio_strerror(rc) : "");
  }
}

/* --- start and stop
 * ------------------------------------------------------------------------------- */

static uv_signal_t sigint_h, sigterm_h;

static void on_closed(sio_app *app, void *user) {
  (void)app;
  (void)user;
  srv_log(SIO_LOG_INFO, "stopped");
}

static void on_stop(uv_signal_t *sig, int signum) {
  srv *s = sig->data;
  srv_log(SIO_LOG_INFO, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  uv_close((uv_handle_t *)&sigint_h, NULL);
  uv_close((uv_handle_t *)&sigterm_h, NULL);
  uv_close((uv_handle_t *)&s->sighup, NULL);
  srv_metrics_close(s);
  srv_webhook_free(s);
  sio_app_close(s->app, on_closed, s);
}

static char *join_origins(const srv_list *l) {
  size_t len = 1;
  for (size_t i = 0; i < l->n; i++) len += strlen(l->v[i]) + 1;
  char *o = calloc(1, len);
  for (size_t i = 0; o && i < l->n; i++) {
    if (i) strcat(o, ",");
    strcat(o, l->v[i]);
  }
  return o;
}

/* The first line of a passphrase file (tls_key_passphrase_file), without its line end. */
static int read_passphrase(const char *file, char *out, size_t cap) {
  FILE *f = fopen(file, "r");
  if (!f || !fgets(out, (int)cap, f)) {
    int e = f ? EIO : errno;
    srv_log(SIO_LOG_ERROR, "tls_key_passphrase_file %s: %s", file,
            f ? "empty or unreadable" : strerror(e));
    if (f) fclose(f);
    return -e;
  }
  fclose(f);
  out[strcspn(out, "\r\n")] = '\0';
  return 0;
}

static int make_app(srv *s) {
  const srv_config *c = &s->cfg;
  sio_app_opts ao = sio_app_opts_default();
  ao.host = *c->host ? c->host : NULL;
  ao.port = (int)c->port;
  ao.port_any = c->port == 0;
  ao.worker = s->worker;
  size_t body = (size_t)(c->api_max_body > c->max_payload ? c->api_max_body : c->max_payload);
  ao.max_body_size = body + 1024;
  sio_tls_opts tls = sio_tls_opts_default();
  char pass[1024] = "";
  if (*c->tls_cert) {
    tls.cert_file = c->tls_cert;
    tls.key_file = c->tls_key;
    tls.ca_file = *c->tls_ca ? c->tls_ca : NULL;
    if (*c->tls_key_passphrase_file) {
      int rc = read_passphrase(c->tls_key_passphrase_file, pass, sizeof pass);
      if (rc) return rc;
      tls.key_passphrase = pass;
    }
    ao.tls = &tls;
  }
  s->app = sio_app_new(s->loop, &ao); /* takes its own copy of the passphrase */
  memset(pass, 0, sizeof pass);
  return s->app ? 0 : -ENOMEM;
}

static int make_io(srv *s) {
  const srv_config *c = &s->cfg;
  sio_io_opts o = sio_io_opts_default();
  o.path = c->path;
  o.ping_interval_ms = (uint32_t)c->ping_interval;
  o.ping_timeout_ms = (uint32_t)c->ping_timeout;
  o.connect_timeout_ms = (uint32_t)c->connect_timeout;
  o.max_http_buffer_size = (size_t)c->max_payload;
  char *origins = join_origins(&c->cors_origins);
  if (!origins) return -ENOMEM;
  o.cors_origin = *origins ? origins : NULL;
  if (*c->redis) {
    sio_redis_adapter_opts ro = sio_redis_adapter_opts_default();
    ro.key = c->redis_key;
    ro.sharded = c->redis_sharded;
    int rc = sio_redis_adapter_new(s->loop, c->redis, &ro, &s->redis);
    if (rc) {
      srv_log(SIO_LOG_ERROR, "redis %s: %s", c->redis, sio_redis_strerror(rc));
      free(origins);
      return rc;
    }
    o.adapter = sio_redis_adapter_factory;
    o.adapter_arg = s->redis;
  } else if (s->worker) { /* no Redis: the workers are one cluster through their sockets */
    int rc = sio_workers_adapter_new(s->loop, s->worker, NULL, &s->workers_adapter);
    if (rc) {
      srv_log(SIO_LOG_ERROR, "the workers' adapter: %s", sio_strerror(rc));
      free(origins);
      return rc;
    }
    o.adapter = sio_redis_adapter_factory;
    o.adapter_arg = s->workers_adapter;
  }
  s->io = sio_io_attach(s->app, &o);
  free(origins);
  if (!s->io) return -ENOMEM;
  if (c->recovery) {
    sio_recovery_opts r = sio_recovery_opts_default();
    r.max_disconnection_duration_ms = (uint32_t)c->recovery_duration;
    return sio_io_set_recovery(s->io, &r);
  }
  return 0;
}

static void print_url(srv *s) {
  const char *h = s->cfg.host;
  int all = !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
  int v6 = !all && strchr(h, ':');
  printf("sio-server listening on %s://%s%s%s:%d/\n", *s->cfg.tls_cert ? "https" : "http",
         v6 ? "[" : "", all ? "localhost" : h, v6 ? "]" : "", sio_app_port(s->app));
  fflush(stdout);
}

static int start(srv *s) {
  int rc = make_app(s);
  if (!rc) rc = make_io(s);
  if (!rc) rc = srv_clients_init(s);
  if (!rc) rc = srv_metrics_init(s);
  if (!rc) rc = srv_api_init(s);
  if (!rc) rc = srv_webhook_new(s);
  if (!rc && *s->cfg.static_dir) rc = sio_app_static(s->app, "/", s->cfg.static_dir, NULL);
  if (!rc) rc = sio_app_listen(s->app);
  if (rc) return rc;
  uv_signal_init(s->loop, &sigint_h);
  uv_signal_init(s->loop, &sigterm_h);
  uv_signal_init(s->loop, &s->sighup);
  sigint_h.data = sigterm_h.data = s->sighup.data = s;
  uv_signal_start(&sigint_h, on_stop, SIGINT);
  uv_signal_start(&sigterm_h, on_stop, SIGTERM);
  uv_signal_start(&s->sighup, on_sighup, SIGHUP);
  print_url(s);
  srv_log(SIO_LOG_INFO, "sio-server %s on port %d: namespaces %s%s, %zu API tokens, auth %s%s",
          sio_version(), sio_app_port(s->app), s->cfg.namespaces.v[0],
          s->cfg.namespaces.n > 1 ? " ..." : "", s->cfg.tokens.n,
          s->jwt_alg != JWT_ALG_NONE ? s->cfg.jwt_alg : "none", *s->cfg.auth_hook ? " + hook" : "");
  return 0;
}

/* The server's life in this process: alone (w NULL), or as one of the workers. */
static int serve(sio_worker *w, void *user) {
  srv *s = user;
  s->worker = w;
  s->loop = uv_default_loop();
  int rc = start(s);
  if (rc) {
    srv_log(SIO_LOG_ERROR, "cannot start: %s", sio_strerror(rc));
  } else {
    uv_run(s->loop, UV_RUN_DEFAULT);
  }
  sio_app_free(s->app);
  sio_redis_adapter_free(s->redis);
  sio_redis_adapter_free(s->workers_adapter);
  uv_run(s->loop, UV_RUN_DEFAULT);
  srv_api_free(s);
  free(s->jwt_key);
  srv_config_free(&s->cfg);
  uv_loop_close(s->loop);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  static srv s;
  char err[1024];
  int action;
  signal(SIGPIPE, SIG_IGN);
  if (srv_config_load(&s.cfg, argc, argv, &action, err, sizeof err)) {
    fprintf(stderr, "sio-server: %s\n", err);
    srv_config_free(&s.cfg);
    return 2;
  }
  if (action == 1) {
    srv_config_help(argv[0]);
    return 0;
  }
  if (action == 3) {
    printf("sio-server %s\n", sio_version());
    return 0;
  }
  if (action == 2) {
    printf("configuration OK\n");
    srv_config_free(&s.cfg);
    return 0;
  }
  s.argc = argc, s.argv = argv;
  s.started_ms = srv_now_ms();
  srv_log_setup(&s.cfg);
  if (s.cfg.workers == 1) return serve(NULL, &s);
  sio_workers_opts wo = sio_workers_opts_default();
  wo.count = (int)s.cfg.workers;
  int rc = sio_workers_run(&wo, serve, &s);
  if (rc < 0) srv_log(SIO_LOG_ERROR, "workers: %s", sio_strerror(rc));
  srv_config_free(&s.cfg);
  return rc == 0 ? 0 : 1;
}
