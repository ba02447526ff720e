// Compiles the public headers as C++ and uses each layer's options-default function, so a
// header that is not C++-clean (designated initialisers, missing extern "C", C-only casts)
// fails the build, and a missing extern "C" fails the link.
#include "sio/sio.h"

#include <cstdio>
#include <cstring>

int main() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app_opts opts = sio_app_opts_default();
  opts.host = "127.0.0.1";
  opts.port_any = 1;
  sio_app *app = sio_app_new(&loop, &opts);
  if (!app) return 1;
  sio_io_opts io_opts = sio_io_opts_default();
  sio_io *io = sio_io_attach(app, &io_opts);
  if (!io) return 1;
  sio_ws_opts ws_opts = sio_ws_opts_default();
  (void)ws_opts;
  sio_eio_opts eio_opts = sio_eio_opts_default();
  (void)eio_opts;
  sio_tls_opts tls_opts = sio_tls_opts_default();
  if (tls_opts.min_version != 12) return 1;
  sio_redis_adapter_opts redis_opts = sio_redis_adapter_opts_default();
  if (std::strcmp(redis_opts.key, "socket.io") != 0) return 1;
  if (sio_app_listen(app) != 0) return 1;
  std::printf("C++ app listening on %d, sio %s\n", sio_app_port(app), sio_version());
  if (std::strcmp(sio_strerror(0), "success") != 0) return 1;
  // The documented teardown order: the app first, then what was attached to it.
  sio_app_free(app);
  sio_io_free(io);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
