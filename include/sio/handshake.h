/* sio Socket.IO: the handshake. io's allowRequest option, and socket.handshake as one object.
 *
 *   static void allow(sio_req *req, sio_allow *allow, void *user) {    allowRequest: (req, cb)
 *     const char *token = sio_req_query(req, "token");
 *     if (token && strcmp(token, "s3cret") == 0) sio_allow_accept(allow);   cb(null, true)
 *     else sio_allow_refuse(allow, "bad token");                   cb("bad token", false)
 *   }
 *   sio_io_allow_request(io, allow, NULL);
 *
 *   static void on_whoami(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
 *     if (ack) sio_ack_sendf(ack, "o", sio_handshake_value(s));    cb(socket.handshake)
 *   }
 *
 * The verdict may come later (after a database lookup, say), from the loop thread; see
 * sio_allow_fn in sio/engine.h for what a refused client gets. The single fields of
 * socket.handshake have their own accessors in sio/io.h (sio_handshake_header, _query, _auth,
 * _url, _address, _secure, _issued). */
#ifndef SIO_HANDSHAKE_H
#define SIO_HANDSHAKE_H

#include <jansson.h>
#include <stddef.h>

#include "sio/engine.h"
#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* io's allowRequest: fn decides on each Engine.IO handshake request (fn NULL: every request is
 * allowed, the default). 0 or -EINVAL. */
SIO_EXTERN int sio_io_allow_request(sio_io *io, sio_allow_fn fn, void *user);

/* socket.handshake as JSON.stringify(socket.handshake) writes it in Node:
 * {"headers":{..},"time":"..","address":"..","xdomain":false,"secure":false,"issued":N,
 *  "url":"..","query":{..},"auth":{..}}, headers and query as Node parses them (repeated
 * headers joined, a repeated query parameter an array, ...: docs/socketio.md). Writes at most
 * size - 1 bytes and a NUL into buf (snprintf-like) and returns the text's whole length: call
 * with size 0 to learn it. 0 when out of memory. */
SIO_EXTERN size_t sio_handshake_json(const sio_socket *s, char *buf, size_t size);
/* The same object as a jansson value (new reference); NULL when out of memory. */
SIO_EXTERN json_t *sio_handshake_value(const sio_socket *s);
/* handshake.time: new Date(issued).toString() in local time, snprintf-like as above. */
SIO_EXTERN size_t sio_handshake_time(const sio_socket *s, char *buf, size_t size);
/* handshake.xdomain: 1 when the handshake request had an Origin header. */
SIO_EXTERN int sio_handshake_xdomain(const sio_socket *s);

#ifdef __cplusplus
}
#endif
#endif
