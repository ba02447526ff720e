/* sio compatibility with older clients: a Socket.IO server that also serves socket.io-client
 * 2.x (Engine.IO v3 and Socket.IO protocol v4, still in many mobile and embedded apps), as
 * Node's socket.io with `allowEIO3: true`.
 *
 *   sio_io *io = sio_io_attach(app, NULL);
 *   sio_io_allow_eio3(io, 1);
 *
 * Off by default, as in Node: a 2.x client's handshake is then answered 400
 * {"code":5,"message":"Unsupported protocol version"} and it never connects.
 *
 * What such a client sees, as from Node (docs/engine.md, "Engine.IO v3"):
 * - the main namespace "/" is connected as soon as the Engine.IO session opens (a 2.x client
 *   sends no CONNECT for it), so its connection handlers and middlewares run then;
 * - the CONNECT answer carries no {"sid"}; a socket of "/" has the Engine.IO session id as its
 *   id, as the 2.x client assumes (other namespaces keep sio's own ids, which are at most 23
 *   characters, where Node's would be "<nsp>#<session id>");
 * - the auth payload (sio_handshake_auth) is the namespace's query string as a JSON object of
 *   strings ({"token":"abc"} for io("/admin", {query: {token: "abc"}})), "{}" without one;
 * - a middleware refusal (sio_mw_fail) sends its data_json, or its message as a JSON string
 *   when there is none (Node's err.data || err.message), which the client emits as "error".
 * Everything else (events, acks, binary, rooms, broadcasts) is the same. */
#ifndef SIO_COMPAT_H
#define SIO_COMPAT_H

#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* allowEIO3: accept (1) or refuse (0) Engine.IO v3 clients from the next handshake on (call it
 * before the app listens). 0, or -EINVAL without a server. */
SIO_EXTERN int sio_io_allow_eio3(sio_io *io, int allow);

#ifdef __cplusplus
}
#endif
#endif
