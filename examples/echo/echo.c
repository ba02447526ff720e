/* echo: a WebSocket echo server on every path (text as text, binary as binary), the program
 * that conformance suites and benchmarks run against.
 *
 *   echo [--port N] [--host H] [--deflate] [--max-message BYTES] [--idle-timeout MS]
 *        [--tls-cert F --tls-key F]      (wss://)
 *
 * Prints its URL on start (flushed at once, so a test harness can wait for it). The message
 * limit defaults to 16 MiB and there is no limit on the number of fragments. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/http.h"
#include "sio/tls.h"
#include "sio/ws.h"

static void on_message(sio_ws *ws, const char *data, size_t len, int binary, void *user) {
  sio_ws_send(ws, data, len, binary);
}

static void usage(void) {
  fprintf(stderr, "usage: echo [--port N] [--host H] [--deflate] [--max-message BYTES] "
                  "[--idle-timeout MS] [--tls-cert F --tls-key F]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int port = 3000, deflate = 0;
  const char *host = NULL;
  size_t max_message = 16u << 20;
  uint32_t idle_ms = 0;
  sio_tls_opts tls = sio_tls_opts_default();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--host") && i + 1 < argc)
      host = argv[++i];
    else if (!strcmp(argv[i], "--deflate"))
      deflate = 1;
    else if (!strcmp(argv[i], "--idle-timeout") && i + 1 < argc)
      idle_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--max-message") && i + 1 < argc)
      max_message = (size_t)strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc)
      tls.cert_file = argv[++i];
    else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc)
      tls.key_file = argv[++i];
    else
      usage();
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.host = host;
  ao.port = port;
  ao.port_any = port == 0;
  ao.handle_signals = 1;
  if (tls.cert_file || tls.key_file) ao.tls = &tls;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app) {
    fprintf(stderr, "echo: cannot create the app\n");
    return 1;
  }
  sio_ws_opts wo = sio_ws_opts_default();
  wo.max_message_size = max_message;
  wo.max_buffered = 4 * max_message + (64u << 20); /* an echo holds at most a few replies */
  wo.deflate = deflate;
  if (idle_ms) wo.idle_timeout_ms = idle_ms;
  static const sio_ws_handlers handlers = {.message = on_message};
  int rc = sio_app_ws(app, "/*", &handlers, &wo, NULL);
  if (rc == 0) rc = sio_app_listen(app);
  if (rc != 0) {
    fprintf(stderr, "echo: %s\n", sio_strerror(rc));
    return 1;
  }
  const char *shown = host ? host : "localhost";
  const char *s = ao.tls ? "s" : "";
  printf("http%s://%s:%d/ (WebSocket echo on ws%s://%s:%d/ and every other path)\n", s, shown,
         sio_app_port(app), s, shown, sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  return 0;
}
