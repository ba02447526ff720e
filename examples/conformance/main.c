/* conformance: the server that the strict protocol suites and the interop tests run against
 * (see ../shared/CONFORMANCE.md).
 *
 *   conformance [--port N] [--tls-cert F --tls-key F [--tls-ca F]]
 *
 * - Engine.IO echo at /engine.io/: EIO=4, polling and websocket, upgrades, pingInterval 300 ms,
 *   pingTimeout 200 ms, maxPayload 1000000; every message goes back unchanged on its session.
 * - Socket.IO at /socket.io/: added by setup_socketio() (see the hook below) with the same
 *   Engine.IO options and connectTimeout 1000 ms.
 * - CORS: any origin.
 * - With --tls-cert and --tls-key: HTTPS and wss on the same port (client certificates
 *   required with --tls-ca). Prints an https:// URL then.
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

static void usage(void) {
  fprintf(stderr, "usage: conformance [--port N] [--tls-cert F --tls-key F [--tls-ca F]]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int port = 3000;
  sio_tls_opts tls = sio_tls_opts_default();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc)
      tls.cert_file = argv[++i];
    else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc)
      tls.key_file = argv[++i];
    else if (!strcmp(argv[i], "--tls-ca") && i + 1 < argc)
      tls.ca_file = argv[++i];
    else
      usage();
  }
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
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  sio_eio_free(engine);
  sio_io_free(io);
  return 0;
}
