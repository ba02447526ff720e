/* Engine.IO messages sized by the layer above: a shared message (sio__eio_msg, see engine.h)
 * whose caller knows how long it will be gets one allocation of that size, headroom for the
 * WebSocket frame header included, so that the Socket.IO layer never sizes WebSocket framing
 * itself (small packets recycle fastest in malloc when they are allocated exactly). */
#include <errno.h>

#include "engine/engine.h"
#include "ws/codec.h"

int sio__eio_msg_begin_sized(sio__sbuf *s, int binary, size_t len) {
  size_t need = SIO__WS_HEADROOM + (binary ? 0 : 1) + len;
  if (need < SIO__WS_HEADROOM + 64) need = SIO__WS_HEADROOM + 64; /* what msg_begin reserves */
  if (sio__sbuf_reserve_exact(s, need)) return -ENOMEM;
  return sio__eio_msg_begin(s, binary);
}
