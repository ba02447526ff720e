/* sio cluster: what the application sees of the other servers that share its namespaces
 * through a multi-node adapter (sio/adapter.h), as Node's socket.io 4.8 has it:
 * serverSideEmit (with acks) and its handlers, serverCount, allRooms and the remote half of
 * fetchSockets.
 *
 * With the in-memory adapter (the default) this server is the whole cluster: the server count
 * is 1, a server-side emit reaches no other server (with an ack, fn gets 0 answers), there is
 * no remote socket and every room is local. Callbacks run once, perhaps before the call
 * returns; with SIO_ETIMEDOUT they get what came in time. A dynamic parent namespace has no
 * servers of its own: these calls refuse it (-EINVAL); ask a child. */
#ifndef SIO_CLUSTER_H
#define SIO_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "sio/core.h"
#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*sio_count_fn)(int status, size_t n, void *user);
typedef void (*sio_names_fn)(int status, const char *const *names, size_t n, void *user);
/* answers: one per other server, each its first ack argument as JSON text (a binary in it as
 * Buffer#toJSON writes it). */
typedef void (*sio_server_acks_fn)(int status, const char *const *answers, size_t n, void *user);
/* nsp.serverSideEmit(event, ...args): to the other servers' sio_nsp_on_server_side handlers
 * (not to clients, not to this server). args_json: the arguments as a JSON array text (NULL:
 * none). -EINVAL for a reserved event name (connect, disconnect, ...). */
SIO_EXTERN int sio_server_side_emit_raw(sio_nsp *nsp, const char *event, const char *args_json);
/* serverSideEmitWithAck: fn gets every other server's answer, or SIO_ETIMEDOUT and the
 * answers so far after timeout_ms (0: the adapter's default, 5000 ms as Node's). */
SIO_EXTERN int sio_server_side_emit_ack_raw(sio_nsp *nsp, const char *event, const char *args_json,
                                            uint32_t timeout_ms, sio_server_acks_fn fn, void *user);
/* The same with the event and its arguments built as a sio_msg (sio_msg_new(event), binary
 * arguments at any depth; consumed, also on error). Binaries go as Node's adapters send them:
 * msgpack bin (sharded), Buffer#toJSON's {"type":"Buffer","data":[...]} (classic: JSON). */
SIO_EXTERN int sio_server_side_emit_msg(sio_nsp *nsp, sio_msg *m);
SIO_EXTERN int sio_server_side_emit_ack_msg(sio_nsp *nsp, sio_msg *m, uint32_t timeout_ms,
                                            sio_server_acks_fn fn, void *user);
/* nsp.on(event) for server-side emits from other servers. ack is NULL unless the sender
 * wants an answer; answer it during the handler (sio_server_ack_send_raw), later it is gone.
 * A binary argument sent as msgpack bin (the sharded adapter) is binary in args. */
typedef struct sio_server_ack sio_server_ack;
typedef void (*sio_server_event_fn)(sio_nsp *nsp, const sio_args *args, sio_server_ack *ack,
                                    void *user);
SIO_EXTERN int sio_nsp_on_server_side(sio_nsp *nsp, const char *event, sio_server_event_fn fn,
                                      void *user);
/* Answers with one JSON value (NULL: null). Once; later calls return -EALREADY. */
SIO_EXTERN int sio_server_ack_send_raw(sio_server_ack *ack, const char *json);
/* io.of(nsp).adapter.serverCount(): the servers of the namespace, this one included. */
SIO_EXTERN int sio_server_count(sio_nsp *nsp, sio_count_fn fn, void *user);
/* adapter.allRooms(): every room of every server (sockets' own rooms included), once each. */
SIO_EXTERN int sio_nsp_all_rooms(sio_nsp *nsp, sio_names_fn fn, void *user);

/* A socket of another node (fetchSockets' RemoteSocket): JSON texts as Node sends them. */
typedef struct sio_remote_socket {
  const char *id;
  const char *handshake_json; /* {"headers","time","address","xdomain","secure","issued",
                                 "url","query","auth"} */
  const char *const *rooms;
  size_t nrooms;
  const char *data_json; /* socket.data (a sio socket: sio_socket_set_data_json, else "{}") */
} sio_remote_socket;

/* socket.data as other servers' fetchSockets see it: sio keeps the application's data as a
 * pointer (sio_socket_set_data), so a socket's JSON data is set apart, here (copied; validated:
 * -EINVAL for text that is not JSON; NULL: back to "{}"). 0 or -ENOMEM. */
SIO_EXTERN int sio_socket_set_data_json(sio_socket *s, const char *json);
/* The JSON set above, or "{}". */
SIO_EXTERN const char *sio_socket_data_json(const sio_socket *s);
typedef void (*sio_remote_sockets_fn)(int status, const sio_remote_socket *sockets, size_t n,
                                      void *user);

/* fetchSockets() of the sockets on other servers that match the operator (sio_fetch_sockets
 * gives this server's). Consumes op; fn once (with the in-memory adapter: at once, none; on a
 * dynamic parent: none). */
SIO_EXTERN int sio_fetch_remote_sockets(sio_op *op, sio_remote_sockets_fn fn, void *user);
/* io.fetchSockets() as Node has it: every matching socket of the cluster, this server's and
 * the others', each described alike (this server's first). Act on any of them through its id
 * room, as Node's RemoteSocket does: sio_to(io, id) + emit, sio_sockets_join/leave,
 * sio_disconnect_sockets. Consumes op; fn once; -EINVAL on a dynamic parent (ask a child). */
SIO_EXTERN int sio_fetch_all_sockets(sio_op *op, sio_remote_sockets_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif
