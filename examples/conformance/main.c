/* conformance: the server that the strict protocol suites and the interop tests run against
 * (see ../shared/CONFORMANCE.md).
 *
 *   conformance [--port N] [--tls-cert F --tls-key F [--tls-ca F [--tls-accept-unverified]]
 *               [--tls-sni NAME:CERT:KEY]...
 *               [--tls-plain-port N|any [--tls-redirect]] [--hsts SECONDS]]
 *
 * - Engine.IO echo at /engine.io/: EIO=4, polling and websocket, upgrades, pingInterval 300 ms,
 *   pingTimeout 200 ms, maxPayload 1000000; every message goes back unchanged on its session.
 * - Socket.IO at /socket.io/: added by setup_socketio() (see the hook below) with the same
 *   Engine.IO options and connectTimeout 1000 ms.
 * - CORS: any origin.
 * - With --tls-cert and --tls-key: HTTPS and wss on the same port (client certificates
 *   required with --tls-ca), SNI certificates, a plain listener beside (its port printed as
 *   "plain port N"), redirected to https with --tls-redirect, HSTS; SIGHUP reloads the files.
 *   GET /tls answers with what sio_req_tls_peer and sio_req_tls_info say (tls_part.c).
 *   Prints an https:// URL then.
 *
 * Each protocol part is a setup function that attaches to the one app, so that adding one is a
 * new function and one call in main. Prints its URL on start (flushed, for test harnesses). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/engine.h"
#include "sio/http.h"
#include "sio/tls.h"

#define PING_INTERVAL_MS 300
#define PING_TIMEOUT_MS  200
#define MAX_PAYLOAD      1000000

/* The Engine.IO options every part of this server uses. */
static sio_eio_opts engine_opts(const char *path) {
  sio_eio_opts o = sio_eio_opts_default();
  o.path = path;
  o.ping_interval_ms = PING_INTERVAL_MS;
  o.ping_timeout_ms = PING_TIMEOUT_MS;
  o.max_http_buffer_size = MAX_PAYLOAD;
  o.cors_origin = "*";
  o.http_compression = 1;
  return o;
}

/* --- Engine.IO echo at /engine.io/ ---------------------------------------------------------- */

static void echo_message(sio_eio_socket *s, const char *data, size_t len, int binary, void *user) {
  sio_eio_send(s, data, len, binary);
}

static sio_eio *setup_engine_echo(sio_app *app) {
  sio_eio_opts o = engine_opts("/engine.io/");
  static const sio_eio_handlers h = {.message = echo_message};
  return sio_eio_attach(app, &o, &h, NULL);
}

/* --- Socket.IO at /socket.io/ --------------------------------------------------------------
 * setup_socketio (socketio_part.c): the same Engine.IO options, connectTimeout 1000 ms,
 * namespaces "/" and "/custom" (CONFORMANCE.md). */
#include "sio/io.h"
sio_io *setup_socketio(sio_app *app);
void setup_tls_routes(sio_app *app); /* tls_part.c: GET /tls */

/* NAME:CERT:KEY, split in place. */
static int parse_sni(char *arg, sio_tls_sni *e) {
  char *c1 = strchr(arg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2) return -1;
  *c1 = *c2 = '\0';
  *e = (sio_tls_sni){arg, c1 + 1, c2 + 1};
  return 0;
}

static void on_sighup(uv_signal_t *sig, int signum) {
  int rc = sio_app_tls_reload(sig->data);
  fprintf(stderr, "conformance: TLS reload: %s\n", sio_strerror(rc));
}

static void usage(void) {
  fprintf(stderr, "usage: conformance [--port N] [--tls-cert F --tls-key F [--tls-ca F "
                  "[--tls-accept-unverified]] "
                  "[--tls-sni NAME:CERT:KEY]... [--tls-plain-port N|any [--tls-redirect]] "
                  "[--hsts SECONDS]]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int port = 3000;
  sio_tls_opts tls = sio_tls_opts_default();
  sio_tls_sni sni[8];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--tls-redirect")) {
      tls.redirect_plain = 1;
      continue;
    }
    if (!strcmp(a, "--tls-accept-unverified")) { /* the handler reads sio_tls_peer.authorized */
      tls.accept_unverified_client_certs = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--port"))
      port = atoi(v);
    else if (!strcmp(a, "--tls-cert"))
      tls.cert_file = v;
    else if (!strcmp(a, "--tls-key"))
      tls.key_file = v;
    else if (!strcmp(a, "--tls-ca"))
      tls.ca_file = v;
    else if (!strcmp(a, "--tls-sni") && tls.sni_count < 8 &&
             !parse_sni(argv[i], &sni[tls.sni_count]))
      tls.sni_count++;
    else if (!strcmp(a, "--tls-plain-port"))
      tls.plain_port = !strcmp(v, "any") ? SIO_TLS_PLAIN_ANY : atoi(v);
    else if (!strcmp(a, "--hsts"))
      tls.hsts_max_age = (uint32_t)atoi(v);
    else
      usage();
  }
  tls.sni = sni;
  if (!tls.cert_file != !tls.key_file) usage();
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.handle_signals = 1;
  ao.max_body_size = 2 * MAX_PAYLOAD; /* Engine.IO enforces maxPayload itself (413 + close) */
  if (tls.cert_file) ao.tls = &tls;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app) {
    fprintf(stderr, "conformance: cannot create the app\n");
    return 1;
  }
  setup_tls_routes(app);
  sio_eio *engine = setup_engine_echo(app);
  sio_io *io = engine ? setup_socketio(app) : NULL;
  int rc = io ? sio_app_listen(app) : -1;
  if (rc != 0) {
    fprintf(stderr, "conformance: %s\n",
            io ? sio_strerror(rc) : "cannot attach Engine.IO/Socket.IO");
    return 1;
  }
  printf("%s://localhost:%d/ (Engine.IO echo at /engine.io/, Socket.IO at /socket.io/)\n",
         tls.cert_file ? "https" : "http", sio_app_port(app));
  fflush(stdout);
  uv_signal_t sighup;
  uv_signal_init(loop, &sighup);
  sighup.data = app;
  if (tls.cert_file) {
    uv_signal_start(&sighup, on_sighup, SIGHUP);
    uv_unref((uv_handle_t *)&sighup);
    if (tls.plain_port) printf("plain port %d\n", sio_app_plain_port(app));
    fflush(stdout);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&sighup, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  sio_app_free(app);
  sio_eio_free(engine);
  sio_io_free(io);
  return 0;
}
