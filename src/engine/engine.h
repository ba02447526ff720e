/* Engine.IO v4 server: the internal API the Socket.IO layer uses.
 *
 * The server is the public sio_eio (include/sio/engine.h): the same handle, options and
 * callbacks, so sio_eio_attach / sio_eio_send / sio_eio_socket_* are usable here as they are.
 * This header adds what an internal caller needs on top:
 *
 * - messages encoded once for many sessions (sio__eio_msg): a refcounted buffer holding the
 *   Engine.IO packet ('4' + text, or raw binary bytes) after SIO__WS_HEADROOM bytes of headroom,
 *   with its WebSocket frame header written once. Every WebSocket session queues a reference
 *   to the same bytes; polling sessions append the packet to their pending payload.
 * - the handshake request in full (header iteration, raw query string, issue time), for the
 *   Socket.IO handshake object.
 *
 * Lifetime: a session exists from the `connection` callback until its `close` callback
 * returns. Sends after the session started closing return SIO_ECLOSED. */
#ifndef SIO_ENGINE_ENGINE_H
#define SIO_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "sio/engine.h"
#include "sio/http.h"

typedef sio_eio sio__eio;
typedef sio_eio_socket sio__eio_session;
typedef sio_eio_opts sio__eio_opts;
typedef sio_eio_handlers sio__eio_handlers;

/* Close reasons, as Node's engine.io names them. */
#define SIO__EIO_REASON_TRANSPORT_CLOSE "transport close"
#define SIO__EIO_REASON_PING_TIMEOUT    "ping timeout"
#define SIO__EIO_REASON_TRANSPORT_ERROR "transport error"
#define SIO__EIO_REASON_PARSE_ERROR     "parse error"
#define SIO__EIO_REASON_FORCED_CLOSE    "forced close"
#define SIO__EIO_REASON_SHUTDOWN        "server shutting down"

/* --- messages encoded once -------------------------------------------------------------- */

typedef struct sio__eio_msg {
  sio__buf *b;      /* headroom, then the packet up to b->len */
  size_t frame_off; /* the WebSocket frame: b->data[frame_off .. b->len) */
  size_t data_off;  /* the packet: b->data[data_off .. b->len) */
  uint8_t binary;
  /* May be compressed (socket.compress(on); 1 after sealing, Node's default): over WebSocket
   * with permessage-deflate the frame is deflated when the packet is at least
   * compression_threshold bytes; over polling the response is gzipped (http_compression, same
   * threshold) when at least one packet in it may be. Per message, not per session: one
   * encoding serves every recipient, and each write decides for its own connection. */
  uint8_t compress;
} sio__eio_msg;

/* Starts building a message in s (reset first): reserves the headroom and, for text, writes the
 * Engine.IO message type '4'. Append the message bytes to s afterwards (e.g. with the Socket.IO
 * encoder, without its SIO__SIO_ENC_EIO flag). 0 or -ENOMEM. */
int sio__eio_msg_begin(sio__sbuf *s, int binary);
/* The same with room for exactly len bytes after the message type, when the caller knows the
 * size (one allocation of the size the message needs). 0 or -ENOMEM. (msg.c) */
int sio__eio_msg_begin_sized(sio__sbuf *s, int binary, size_t len);
/* Turns s into a sealed shared message (s is emptied). 0 or -ENOMEM (s freed). */
int sio__eio_msg_seal(sio__sbuf *s, int binary, sio__eio_msg *out);
/* One message from bytes (copied). 0 or -ENOMEM. */
int sio__eio_msg_new(const void *data, size_t len, int binary, sio__eio_msg *out);
void sio__eio_msg_release(sio__eio_msg *m);
/* Queues the message on a session (takes its own reference). 0, SIO_ECLOSED, SIO_ETOOLARGE
 * (past the send-buffer limit: dropped) or negative. */
int sio__eio_send_msg(sio__eio_session *s, const sio__eio_msg *m);

/* --- sessions ----------------------------------------------------------------------------- */

static inline int sio__eio_send(sio__eio_session *s, const void *data, size_t len, int binary) {
  return sio_eio_send(s, data, len, binary);
}
static inline void sio__eio_session_close(sio__eio_session *s) {
  sio_eio_socket_close(s);
}
static inline const char *sio__eio_sid(const sio__eio_session *s) {
  return sio_eio_socket_id(s);
}
static inline size_t sio__eio_buffered(const sio__eio_session *s) {
  return sio_eio_socket_buffered(s);
}
static inline void sio__eio_set_user(sio__eio_session *s, void *u) {
  sio_eio_socket_set_data(s, u);
}
static inline void *sio__eio_user(const sio__eio_session *s) {
  return sio_eio_socket_data(s);
}
sio__eio *sio__eio_of(const sio__eio_session *s);
/* SIO_EIO_POLLING or SIO_EIO_WEBSOCKET. */
int sio__eio_transport(const sio__eio_session *s);
/* Whether the transport can take more now (WebSocket buffer under the limit, or polling), for
 * volatile packets. */
int sio__eio_writable(const sio__eio_session *s);

/* The handshake request, kept for the session's life (until sio__eio_drop_handshake). */
size_t sio__eio_header_count(const sio__eio_session *s);
int sio__eio_header_at(const sio__eio_session *s, size_t i, const char **name, const char **value);
const char *sio__eio_query_string(const sio__eio_session *s); /* raw, "" if none */
uint64_t sio__eio_issued(const sio__eio_session *s);          /* ms since the epoch */
int sio__eio_secure(const sio__eio_session *s);               /* TLS connection */
/* Frees the kept handshake once the layer above copied what it needs (saves memory per idle
 * session); the accessors then return NULL. */
void sio__eio_drop_handshake(sio__eio_session *s);

/* Turns allow_eio3 on or off for the handshakes that come next (sio_io_allow_eio3). */
void sio__eio_set_allow_eio3(sio__eio *e, int allow);
/* The server's options after defaults were applied. */
const sio__eio_opts *sio__eio_options(const sio__eio *e);
sio_app *sio__eio_app(const sio__eio *e);

#endif
