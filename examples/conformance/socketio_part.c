/* conformance: the Socket.IO part at /socket.io/ (see ../shared/CONFORMANCE.md, "Socket.IO v5").
 *
 * Same Engine.IO options as the echo part (pingInterval 300, pingTimeout 200, maxPayload 1e6,
 * CORS any origin), connectTimeout 1000 ms, namespaces "/" and "/custom" only:
 * - on connection to "/": emit "auth" with the CONNECT payload ({} when none); "message" ->
 *   emit "message-back" with the same arguments; "message-with-ack" -> answer the ack with the
 *   same arguments (binary included, byte for byte).
 * - on connection to "/custom": emit "auth" with the CONNECT payload.
 * - "tls-peer" on "/" -> the ack gets the handshake's client certificate (or null) and
 *   sio_handshake_tls_peer's result (tls_part.c).
 * main.c calls setup_socketio(app). */
#include <stdio.h>

#include "sio/io.h"
#include "sio/tls.h"

json_t *tls_peer_json(int rc, const sio_tls_peer *p);

sio_io *setup_socketio(sio_app *app);

static void on_message(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  (void)ack;
  (void)user;
  sio_emit_args(s, "message-back", args);
}

static void on_message_with_ack(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  (void)s;
  (void)user;
  if (ack) sio_ack_send_args(ack, args);
}

static void on_tls_peer(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  (void)args;
  (void)user;
  sio_tls_peer peer;
  int rc = sio_handshake_tls_peer(s, &peer);
  if (ack) sio_ack_sendf(ack, "oi", tls_peer_json(rc, &peer), rc);
}

/* emit("auth", <CONNECT payload>) */
static void emit_auth(sio_socket *s) {
  sio_msg *m = sio_msg_new("auth");
  sio_msg_raw(m, sio_handshake_auth(s), 0);
  sio_emit_msg(s, m);
}

static void on_main_connection(sio_socket *s, void *user) {
  (void)user;
  emit_auth(s);
  sio_on(s, "message", on_message, NULL);
  sio_on(s, "message-with-ack", on_message_with_ack, NULL);
  sio_on(s, "tls-peer", on_tls_peer, NULL);
}

static void on_custom_connection(sio_socket *s, void *user) {
  (void)user;
  emit_auth(s);
}

sio_io *setup_socketio(sio_app *app) {
  sio_io_opts o = sio_io_opts_default();
  o.path = "/socket.io/";
  o.ping_interval_ms = 300;
  o.ping_timeout_ms = 200;
  o.max_http_buffer_size = 1000000;
  o.connect_timeout_ms = 1000;
  o.cors_origin = "*";
  o.http_compression = 1;
  sio_io *io = sio_io_attach(app, &o);
  if (!io) return NULL;
  sio_on_connection(io, on_main_connection, NULL);
  sio_on_connection(sio_of(io, "/custom"), on_custom_connection, NULL);
  return io;
}
