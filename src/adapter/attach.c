/* sio_io_attach: the public entry point, here in the top layer because it wires the default
 * adapter (in-memory) into the Socket.IO server, which itself only knows the adapter interface
 * (src/socketio links below src/adapter). */
#include "adapter/adapter.h"
#include "sio/io.h"

sio_io *sio__io_attach(sio_app *app, const sio_io_opts *opts, sio__adapter_factory f, void *arg);

sio_io *sio_io_attach(sio_app *app, const sio_io_opts *opts) {
  return sio__io_attach(app, opts, sio__memory_adapter_new, NULL);
}
