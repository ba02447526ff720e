/* sio connection state recovery: Socket.IO 4.6+'s `connectionStateRecovery`.
 *
 * A client whose connection drops (network lost, TCP cut, ping timeout: not a deliberate
 * disconnect) and that comes back within max_disconnection_duration_ms gets its socket back:
 * the same id, its rooms and its data (sio_socket_data_json), and every event it missed, in
 * order, before the CONNECT reply; sio_socket_recovered(s) is then true in the connection
 * handlers. The wire format is Node's, so the official socket.io-client (4.6+) recovers
 * without any option:
 *   - the CONNECT reply carries the session id: 40{"sid":"…","pid":"…"};
 *   - every stored event (an EVENT without ack, not volatile: broadcasts and direct emits)
 *     carries its offset as its last argument: 42["news",{…},"<offset>"] (the official
 *     client strips nothing: a listener sees the offset as an extra last argument);
 *   - the client reconnects with {"pid":"…","offset":"<last offset seen>"} merged into its
 *     CONNECT auth.
 * A session is kept only for the disconnect reasons Node keeps it for: "transport error",
 * "transport close", "forced close", "ping timeout", "server shutting down" and "forced server
 * close"; a deliberate disconnect (either side) forgets it.
 *
 * Where sio differs from Node, on purpose (docs/recovery.md):
 *   - a client that never received an event (no offset: socket.io #5538) is recovered: its
 *     position is where its socket first connected;
 *   - a long silence does not break recovery (#5282): offsets are sequence numbers, so an
 *     offset whose packet was swept still says "nothing after it was missed";
 *   - memory is bounded: at most max_packets packets and max_sessions sessions per namespace
 *     (the oldest go, logged once); a session that missed a packet no longer kept is refused
 *     (a fresh connection), never restored with a gap;
 *   - a session is restored once (a second CONNECT with the same pid gets a fresh socket);
 *   - the missed packets go out after the middlewares accepted the socket (when they run:
 *     skip_middlewares off), so a refused client never sees them; broadcasts made while the
 *     middlewares run are queued for it, not lost.
 * socket.data as a C pointer (sio_socket_set_data) is not restored: only the JSON data.
 *
 * The storage is the namespace's adapter (sio/adapter.h: persist_session, restore_session,
 * last_offset, SIO_BC_STORE): the in-memory adapter keeps it in this process, the Redis Streams
 * adapter in Redis (sessions and packets shared by every server of the cluster, sio or Node);
 * an adapter that does not implement those operations (the Redis pub/sub adapters, classic
 * and sharded, as Node's) leaves recovery off for its namespaces (logged once). */
#ifndef SIO_RECOVERY_H
#define SIO_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "sio/core.h"
#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Zero in a numeric field means its default (in brackets; Node's names where it has one).
 * Start from sio_recovery_opts_default(): it sets enabled and skip_middlewares as Node does. */
typedef struct sio_recovery_opts {
  int enabled;                            /* connectionStateRecovery given [off] */
  uint32_t max_disconnection_duration_ms; /* maxDisconnectionDuration [120000] */
  int skip_middlewares;                   /* skipMiddlewares [1 in the default options] */
  uint32_t max_packets;  /* packets kept per namespace for replay [10000]; past it the oldest
                            are dropped and one warning is logged */
  uint32_t max_sessions; /* disconnected sessions kept per namespace [10000]; past it the
                            oldest is dropped and one warning is logged */
} sio_recovery_opts;

/* {enabled 1, 120000 ms, skip_middlewares 1, 10000 packets, 10000 sessions}. */
SIO_EXTERN sio_recovery_opts sio_recovery_opts_default(void);
/* Turns recovery on (opts->enabled) or off (opts NULL or not enabled) for every namespace of
 * the server; call it before clients connect (sockets connected before it get no session).
 * The options are copied, their zeros replaced by the defaults. 0 or -EINVAL. */
SIO_EXTERN int sio_io_set_recovery(sio_io *io, const sio_recovery_opts *opts);
/* The server's options (defaults filled in), or NULL when recovery is off. */
SIO_EXTERN const sio_recovery_opts *sio_io_recovery(const sio_io *io);
/* socket.recovered: the socket is a recovered session (same id, rooms, data, missed events
 * replayed). 0 for a fresh socket, with recovery off, or for NULL. */
SIO_EXTERN int sio_socket_recovered(const sio_socket *s);

#ifdef __cplusplus
}
#endif

#endif
