/* weather: the demo server (for now a placeholder page served by the real HTTP server).
 *
 *   weather [--port N] [--host ADDR]
 *
 * Serves public/ (next to this source, or SIO_EXAMPLE_DIR/public when that variable is set,
 * or public/ beside the executable) at "/", prints its URL at once, and shuts down gracefully
 * on SIGINT/SIGTERM (in-flight responses finish, then exit status 0). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "sio/http.h"

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Finds public/: $SIO_EXAMPLE_DIR/public, then the source folder, then beside the binary. */
static int find_public(char *out, size_t n) {
  const char *env = getenv("SIO_EXAMPLE_DIR");
  if (env && *env) {
    snprintf(out, n, "%s/public", env);
    if (is_dir(out)) return 0;
  }
#ifdef SIO_EXAMPLE_DIR
  snprintf(out, n, "%s/public", SIO_EXAMPLE_DIR);
  if (is_dir(out)) return 0;
#endif
  char exe[PATH_MAX - 64];
  size_t len = sizeof(exe);
  if (uv_exepath(exe, &len) == 0) {
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(out, n, "%s/public", exe);
    if (is_dir(out)) return 0;
    snprintf(out, n, "%s/../share/sio/weather/public", exe);
    if (is_dir(out)) return 0;
  }
  return -1;
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", argv0);
}

int main(int argc, char **argv) {
  sio_app_opts opts = sio_app_opts_default();
  opts.handle_signals = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      char *end;
      long p = strtol(argv[++i], &end, 10);
      if (*end || p < 0 || p > 65535) {
        usage(argv[0]);
        return 2;
      }
      opts.port = (int)p;
      opts.port_any = p == 0;
    } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
      opts.host = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(argv[0]);
      return 0;
    } else {
      usage(argv[0]);
      return 2;
    }
  }
  char pub[PATH_MAX];
  if (find_public(pub, sizeof(pub)) < 0) {
    fprintf(stderr, "weather: cannot find the public/ folder (set SIO_EXAMPLE_DIR)\n");
    return 1;
  }
  uv_loop_t *loop = uv_default_loop();
  sio_app *app = sio_app_new(loop, &opts);
  if (!app) {
    fprintf(stderr, "weather: out of memory\n");
    return 1;
  }
  int r = sio_app_static(app, "/", pub, NULL);
  if (r == 0) r = sio_app_listen(app);
  if (r < 0) {
    fprintf(stderr, "weather: cannot listen on %s:%d: %s\n", opts.host ? opts.host : "*", opts.port,
            sio_strerror(r));
    sio_app_free(app);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  const char *host =
      opts.host && *opts.host && strcmp(opts.host, "::") != 0 && strcmp(opts.host, "0.0.0.0") != 0
          ? opts.host
          : "localhost";
  int v6 = strchr(host, ':') != NULL;
  printf("weather: listening on http://%s%s%s:%d/\n", v6 ? "[" : "", host, v6 ? "]" : "",
         sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT); /* returns once a signal's graceful shutdown has finished */
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  printf("weather: stopped\n");
  return 0;
}
