/* sio stats: counters of a Socket.IO server's traffic since it was attached, for metrics
 * (sio-server's /metrics reads them; docs/server.md).
 *
 *   sio_io_stats st;
 *   sio_io_get_stats(io, &st);
 *   printf("%llu packets out\n", (unsigned long long)st.packets_out);
 *
 * The counters only grow; they are plain integers updated on the loop thread (read them
 * there). Connections and disconnections by reason are the application's to count (its
 * connection and disconnect handlers see them); the clients connected now are
 * sio_io_clients_count. */
#ifndef SIO_STATS_H
#define SIO_STATS_H

#include <stdint.h>

#include "sio/core.h"
#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_io_stats {
  uint64_t messages_in;          /* Engine.IO messages from clients (packets and attachments) */
  uint64_t bytes_in;             /* their bytes (the Engine.IO packets, without framing) */
  uint64_t packets_out;          /* Socket.IO packets queued to clients, one per recipient */
  uint64_t bytes_out;            /* their bytes, attachments included (before framing) */
  uint64_t broadcasts;           /* broadcasts delivered here (one per namespace), this
                                    server's and, with a cluster adapter, the others' */
  uint64_t broadcast_recipients; /* local clients those broadcasts were queued to (fan-out) */
  uint64_t volatile_dropped;     /* volatile packets not sent: the client was not writable */
  uint64_t send_buffer_full;     /* packets refused past send_buffer_limit (with the default
                                    policy each is a client disconnected "send buffer full") */
} sio_io_stats;

/* Copies the server's counters into *out (zeros for a NULL io). */
SIO_EXTERN void sio_io_get_stats(const sio_io *io, sio_io_stats *out);

#ifdef __cplusplus
}
#endif
#endif
