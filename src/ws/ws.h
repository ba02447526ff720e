/* WebSocket connections for the layers above (Engine.IO's websocket transport, sio_app_ws).
 *
 * A sio__ws is the public sio_ws: the same handle, the same handlers and options (see
 * include/sio/ws.h), plus what an internal caller needs: taking over a connection from an
 * upgrade hook, and sending a buffer framed once for many recipients.
 *
 * Lifetime: h->close is called exactly once, when the TCP connection is gone; the sio__ws is
 * freed right after it returns. Before that every call below is safe (sends return
 * SIO_ECLOSED once a close frame was sent or received).
 *
 * Receive path: bytes are read into the net's loop-wide buffer and unmasked there; a message
 * that arrives whole is handed to h->message from that buffer (no copy). Several messages in
 * one read are all delivered, in order. Send path: frames are queued on the connection and
 * leave in one writev per loop iteration. */
#ifndef SIO_WS_WS_H
#define SIO_WS_WS_H

#include <stddef.h>

#include "core/buf.h"
#include "net/net.h"
#include "sio/http.h"
#include "sio/ws.h"
#include "ws/codec.h"

typedef sio_ws sio__ws;
typedef sio_ws_opts sio__ws_opts;
typedef sio_ws_handlers sio__ws_handler;

/* For an upgrade hook (http/server.h's sio__upgrade_fn): checks the handshake (method, headers,
 * version 13 else 426, 16-byte key else 400, origin hook else 403), then either answers the
 * error through res and returns 0, or writes the 101 response itself, takes the connection
 * over (conn->handler/ctx), sets *out, calls h->open, processes `rest` (bytes that followed the
 * request head; h->message may run before this returns) and returns 1.
 * opts NULL: defaults. user is passed to every handler.
 * Past the app's connection cap (sio__req_over_capacity), a valid handshake is completed and
 * the socket closed at once with 1013 (Try Again Later): it returns 1 with *out NULL, and h is
 * never called (neither open nor close). */
int sio__ws_accept(sio_req *req, sio_res *res, sio__conn *conn, const char *rest, size_t rest_len,
                   const sio__ws_opts *opts, const sio__ws_handler *h, void *user, sio__ws **out);

/* Sends a message (copied). 0, SIO_ECLOSED, SIO_ETOOLARGE (dropped, see drop_when_full) or
 * negative. */
int sio__ws_send(sio__ws *ws, const void *data, size_t len, int binary);
/* Sends a frame prepared once for many recipients: b holds SIO__WS_HEADROOM bytes, then the
 * payload; call sio__ws_frame_prepare(b, opcode) once (it returns frame_off), then this for
 * each recipient (takes its own reference to b). With `compress` on a connection that
 * negotiated permessage-deflate, the payload is compressed for that connection instead (RSV1
 * set); otherwise the shared frame goes out as it is (RSV1 clear, valid with or without the
 * extension), so one encoding serves compressing and non-compressing recipients alike. */
int sio__ws_send_prepared(sio__ws *ws, sio__buf *b, size_t frame_off, int compress);
int sio__ws_ping(sio__ws *ws, const void *data, size_t len);
/* Starts the close handshake (code 0: no status code). */
int sio__ws_close(sio__ws *ws, int code, const char *reason, size_t reason_len);
/* Closes TCP at once (no close frame); h->close follows with 1006. */
void sio__ws_abort(sio__ws *ws);
void sio__ws_pause(sio__ws *ws);
void sio__ws_resume(sio__ws *ws);
size_t sio__ws_buffered(const sio__ws *ws);
void sio__ws_set_user(sio__ws *ws, void *user); /* the `user` handlers receive */
void *sio__ws_user(const sio__ws *ws);
sio__conn *sio__ws_conn(const sio__ws *ws);

/* Bookkeeping of an owner of many sockets (sio_app_ws keeps one per route), in its own block so
 * that other sockets (Engine.IO's) do not carry it. The owner allocates it (sio__malloc) and
 * hands it over with sio__ws_set_owner; the socket unlinks it when its TCP is gone, calls
 * release (after h->close, just before the socket is freed) and frees it. */
typedef struct sio__ws_owner {
  sio__list link; /* in the owner's list (or unlinked: sio__list_init) */
  void (*release)(sio__ws *ws, void *ctx);
  void *ctx;
  sio__ws *ws; /* set by sio__ws_set_owner */
} sio__ws_owner;
void sio__ws_set_owner(sio__ws *ws, sio__ws_owner *o);
sio__ws *sio__ws_from_link(sio__list *link); /* the socket of an owner block's link */

#endif
