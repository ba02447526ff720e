/* Engine.IO sending: packets queued on a session's current transport, and messages encoded once
 * for many sessions (sio__eio_msg).
 *
 * - polling: packets wait in `out`, already encoded as a payload (\x1e-separated, binary as
 *   'b'+base64); a held GET takes them all at once. While a POST payload is dispatched the
 *   flush is deferred so that answers to a batch leave in one response.
 * - websocket: each packet is one frame, queued on the connection (flushed once per loop
 *   iteration by the net layer); a shared message's frame header is written once, in its
 *   headroom.
 * - Engine.IO v3 sessions: `out` holds v3 records (sio__eio_out_append); over WebSocket a binary
 *   message is a frame of its own, led by its type byte (or "b4"+base64 text for a b64 client),
 *   so a shared binary message is framed again for them. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>

#include "core/codec.h"

/* One packet as a frame of its own on ws, deflated when `compress` and at least
 * compression_threshold bytes long. A v3 binary packet takes its type byte first, or goes as
 * "b<type><base64>" text to a client that asked for base64. */
static int ws_send_framed(const sio__eio_session *s, sio__ws *ws, sio__eio_type type,
                          const void *data, size_t len, int binary, int compress) {
  sio__eio_msg m;
  sio__sbuf b = SIO__SBUF_INIT;
  int b64 = binary && s->v3 && s->b64;
  size_t room = b64 ? sio__base64_len(len) + 3 : len + 1;
  if (sio__sbuf_reserve(&b, SIO__WS_HEADROOM + room)) return -ENOMEM;
  b.len = SIO__WS_HEADROOM;
  if (!binary) {
    sio__sbuf_appendc(&b, (char)('0' + type));
  } else if (b64) {
    sio__sbuf_appendc(&b, 'b');
    sio__sbuf_appendc(&b, (char)('0' + type));
    b.len += sio__base64_encode(b.data + b.len, data, len, 0);
    binary = 0;
    len = 0;
  } else if (s->v3) {
    sio__sbuf_appendc(&b, (char)type);
  }
  sio__sbuf_append(&b, data, len);
  int rc = sio__eio_msg_seal(&b, binary, &m);
  if (rc) return rc;
  size_t n = m.b->len - m.data_off;
  rc = sio__ws_send_prepared(ws, m.b, m.frame_off,
                             compress && n >= s->eio->opts.compression_threshold);
  sio__eio_msg_release(&m);
  return rc;
}

/* Heartbeat, probe answers and packets moved over at an upgrade are compressed by size alone,
 * as engine.io's packets default to compress: true. */
int sio__eio_ws_send_packet(const sio__eio_session *s, sio__ws *ws, sio__eio_type type,
                            const void *data, size_t len, int binary) {
  return ws_send_framed(s, ws, type, data, len, binary, 1);
}

int sio__eio_out_append(sio__eio_session *s, const sio__eio_packet *p) {
  int rc;
  if (!s->v3) {
    rc = sio__eio_encode_packet(&s->out, p, s->out.len > 0);
  } else {
    rc = sio__eio3_encode_record(&s->out, p, !s->b64);
    if (!rc && p->binary) s->out_binary = 1;
  }
  return rc ? rc : s->out.oom ? -ENOMEM : 0;
}

/* The polling side's share of the send-buffer limit (as the WebSocket layer's): past it a
 * packet is refused with SIO_ETOOLARGE and the layer above applies its policy. One packet is
 * always taken when nothing waits, whatever its size. */
static int poll_full(const sio__eio_session *s, size_t extra) {
  size_t limit = s->eio->opts.send_buffer_limit;
  return s->out.len > 0 && s->out.len + extra > limit;
}

int sio__eio_send_packet(sio__eio_session *s, sio__eio_type type, const void *data, size_t len,
                         int binary) {
  if (s->state != ST_OPEN) return SIO_ECLOSED;
  if (s->transport == SIO_EIO_WEBSOCKET) {
    if (!s->ws) return SIO_ECLOSED;
    return sio__eio_ws_send_packet(s, s->ws, type, data, len, binary);
  }
  if (poll_full(s, len)) return SIO_ETOOLARGE;
  sio__eio_packet p = {type, binary, data, len};
  int rc = sio__eio_out_append(s, &p);
  if (rc) return rc;
  s->out_compress = 1; /* engine.io's packets default to compress: true */
  if (s->get_res && !s->in_batch) sio__eio_poll_flush(s);
  return 0;
}

int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary) {
  return sio__eio_send_packet(s, SIO__EIO_MESSAGE, data, len, binary);
}

int sio__eio_msg_begin(sio__sbuf *s, int binary) {
  sio__sbuf_reset(s);
  if (sio__sbuf_reserve(s, SIO__WS_HEADROOM + 64)) return -ENOMEM;
  memset(s->data, 0, SIO__WS_HEADROOM);
  s->len = SIO__WS_HEADROOM;
  if (!binary) sio__sbuf_appendc(s, '4');
  return s->oom ? -ENOMEM : 0;
}

int sio__eio_msg_seal(sio__sbuf *s, int binary, sio__eio_msg *out) {
  if (s->oom || s->len < SIO__WS_HEADROOM) {
    sio__sbuf_free(s);
    return -ENOMEM;
  }
  sio__buf *b = sio__sbuf_to_buf(s);
  if (!b) return -ENOMEM;
  out->b = b;
  out->binary = (uint8_t)binary;
  out->compress = 1;
  out->data_off = SIO__WS_HEADROOM;
  out->frame_off = sio__ws_frame_prepare(b, binary ? SIO__WS_OP_BINARY : SIO__WS_OP_TEXT);
  return 0;
}

int sio__eio_msg_new(const void *data, size_t len, int binary, sio__eio_msg *out) {
  sio__sbuf s = SIO__SBUF_INIT;
  if (sio__eio_msg_begin(&s, binary) || sio__sbuf_append(&s, data, len)) {
    sio__sbuf_free(&s);
    return -ENOMEM;
  }
  return sio__eio_msg_seal(&s, binary, out);
}

void sio__eio_msg_release(sio__eio_msg *m) {
  if (m->b) sio__buf_unref(m->b);
  m->b = NULL;
}

int sio__eio_send_msg(sio__eio_session *s, const sio__eio_msg *m) {
  if (s->state != ST_OPEN) return SIO_ECLOSED;
  if (s->transport == SIO_EIO_WEBSOCKET) {
    if (!s->ws) return SIO_ECLOSED;
    size_t n = m->b->len - m->data_off;
    if (s->v3 && m->binary) /* its own frame: the type byte first (or base64) */
      return ws_send_framed(s, s->ws, SIO__EIO_MESSAGE, m->b->data + m->data_off, n, 1,
                            m->compress);
    int z = m->compress && n >= s->eio->opts.compression_threshold;
    return sio__ws_send_prepared(s->ws, m->b, m->frame_off, z);
  }
  const char *d = m->b->data + m->data_off;
  size_t n = m->b->len - m->data_off;
  int rc;
  if (poll_full(s, n)) return SIO_ETOOLARGE;
  if (s->v3) {
    sio__eio_packet p = {SIO__EIO_MESSAGE, m->binary, d, n};
    if (!m->binary) p = (sio__eio_packet){(sio__eio_type)(d[0] - '0'), 0, d + 1, n - 1};
    rc = sio__eio_out_append(s, &p);
  } else if (m->binary) {
    rc = sio__eio_encode_message(&s->out, d, n, 1, s->out.len > 0);
  } else {
    if (s->out.len) sio__sbuf_appendc(&s->out, SIO__EIO_SEP);
    rc = sio__sbuf_append(&s->out, d, n);
  }
  if (rc || s->out.oom) return -ENOMEM;
  if (m->compress) s->out_compress = 1;
  if (s->get_res && !s->in_batch) sio__eio_poll_flush(s);
  return 0;
}
