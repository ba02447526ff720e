/* sio Redis adapter: several sio servers (and Node socket.io servers running
 * @socket.io/redis-adapter 8.3) share their namespaces through one Redis, as Node's
 * `io.adapter(createAdapter(pubClient, subClient, opts))` does: a broadcast on one server
 * reaches the clients of all, and fetchSockets, socketsJoin/Leave, disconnectSockets,
 * serverSideEmit, serverCount and allRooms see the whole cluster (sio/cluster.h).
 *
 *   sio_redis_adapter *ra;
 *   sio_redis_adapter_opts ro = sio_redis_adapter_opts_default();
 *   if (sio_redis_adapter_new(loop, "redis://127.0.0.1:6379", &ro, &ra)) ...;
 *   sio_io_opts o = sio_io_opts_default();
 *   o.adapter = sio_redis_adapter_factory;
 *   o.adapter_arg = ra;
 *   sio_io *io = sio_io_attach(app, &o);
 *   ...
 *   (free the io, then) sio_redis_adapter_free(ra);
 *
 * One sio_redis_adapter is the two Redis connections of one server (a publisher and a
 * subscriber, as Node's pubClient and subClient); each namespace gets its own adapter from the
 * factory, with its own channels (`<key>#<nsp>#...`, `<key>-request#<nsp>#`, ...), subscribed
 * when the namespace is made and unsubscribed when it goes (dynamic namespaces included).
 *
 * Sharded (opts.sharded, as Node's createShardedAdapter; Redis >= 7.0): SSUBSCRIBE/SPUBLISH
 * on <key>#<nsp># and <key>#<nsp>#<uid># (and, subscription_mode "dynamic" or
 * "dynamic-private", one channel per room that exists here), the ClusterAdapter messages of
 * socket.io-adapter 2.5, serverCount by PUBSUB SHARDNUMSUB; bad subscription_mode: -EINVAL.
 * A Redis older than 7.0 is refused when it is met (logged: the namespaces work locally). allRooms
 * is this server's rooms (the ClusterAdapter has none), requests_timeout_ms applies.
 *
 * Faults: the server starts and serves its own clients while Redis is down (logged once,
 * retried with backoff); after a reconnect every channel is subscribed again. A cluster
 * request pending when Redis drops, or made while it is down, gets SIO_ECLOSED (its callback
 * runs once, with this server's part when there is one); one that outlives requests_timeout_ms
 * gets SIO_ETIMEDOUT with what came in time. Broadcasts made while Redis is down reach local
 * clients only (Redis pub/sub keeps nothing for later, in Node as here).
 *
 * Redis Streams (sio_redis_streams_adapter_new, as Node's createAdapter of
 * @socket.io/redis-streams-adapter 0.3; Redis >= 5): the same factory, ready, uid and free.
 * Broadcasts without acks, socketsJoin/Leave and disconnectSockets are entries of the stream
 * `<stream_name>` (or `<stream_name>-<hashCode(nsp) % stream_count>`), `uid nsp type data`,
 * XADD MAXLEN ~ max_len; every server reads them with XREAD BLOCK on a connection per stream,
 * so what a server misses while Redis is unreachable for it is read when it comes back (as long
 * as the stream still holds it). The rest (broadcasts with acks, fetchSockets, serverSideEmit,
 * the responses) goes by PUBLISH on <channel_prefix>#<nsp># and <channel_prefix>#<nsp>#<uid>#
 * as msgpack; serverCount is PUBSUB NUMSUB of the first. allRooms is this server's rooms.
 * Connection state recovery (sio/recovery.h) works over it as over Node's: offsets are entry
 * ids, sessions `SET <session_key_prefix><pid> base64(msgpack) PX <window>`, so a client
 * recovers on any server of the cluster, sio or Node (docs/recovery.md, "Across servers"). */
#ifndef SIO_REDIS_H
#define SIO_REDIS_H

#include <stdint.h>
#include <uv.h>

#include "sio/core.h"
#include "sio/io.h"
#include "sio/workers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_redis_adapter sio_redis_adapter; /* the Redis connections of one server */

typedef struct sio_redis_adapter_opts {
  const char *key;                          /* channel prefix [socket.io] */
  uint32_t requests_timeout_ms;             /* cluster requests [5000] */
  int publish_on_specific_response_channel; /* answer on <key>-response#<nsp>#<uid># [0] */
  int sharded;                              /* createShardedAdapter (needs Redis >= 7) [0] */
  const char *subscription_mode; /* sharded: "dynamic" [default], "static", "dynamic-private" */
} sio_redis_adapter_opts;

SIO_EXTERN sio_redis_adapter_opts sio_redis_adapter_opts_default(void);

typedef struct sio_redis_streams_opts {
  const char *stream_name;        /* [socket.io] */
  unsigned stream_count;          /* streams the namespaces are spread over [1] */
  const char *channel_prefix;     /* pub/sub channels [socket.io] */
  uint32_t max_len;               /* XADD MAXLEN ~ [10000] */
  uint32_t read_count;            /* XREAD COUNT [100] */
  uint32_t block_time_ms;         /* XREAD BLOCK [5000] */
  const char *session_key_prefix; /* recovery sessions [sio:session:] */
  uint32_t requests_timeout_ms;   /* cluster requests [5000] */
} sio_redis_streams_opts;

SIO_EXTERN sio_redis_streams_opts sio_redis_streams_opts_default(void);
/* As sio_redis_adapter_new, for the Redis Streams adapter: 1 + stream_count connections (a
 * publisher, a subscriber, a reader per stream). opts NULL: the defaults. */
SIO_EXTERN int sio_redis_streams_adapter_new(uv_loop_t *loop, const char *url,
                                             const sio_redis_streams_opts *opts,
                                             sio_redis_adapter **out);

/* Connects in the background (the server starts even when Redis is down). opts NULL: the
 * defaults. 0, or a negative code for a bad or refused URL (rediss://, Sentinel, Cluster),
 * bad options (-EINVAL) or -ENOMEM: sio_redis_strerror says why. The URL is
 * redis://[[user]:password@]host[:port][/db]. */
SIO_EXTERN int sio_redis_adapter_new(uv_loop_t *loop, const char *url,
                                     const sio_redis_adapter_opts *opts, sio_redis_adapter **out);
/* The workers' adapter (sio/workers.h): the sharded adapter (ClusterAdapter messages of
 * socket.io-adapter 2.5; opts->sharded is implied, subscription_mode, key and
 * requests_timeout_ms apply) with the workers' Unix sockets in place of Redis, so that rooms,
 * broadcasts, acks, fetchSockets, socketsJoin/Leave, disconnectSockets, serverSideEmit and
 * serverCount work across the workers of one machine. Call it in each worker, on its loop;
 * used and freed as a Redis adapter (sio_redis_adapter_factory, sio_redis_adapter_free).
 * Always ready. 0, -EINVAL (no loop or worker) or -ENOMEM. */
SIO_EXTERN int sio_workers_adapter_new(uv_loop_t *loop, sio_worker *w,
                                       const sio_redis_adapter_opts *opts, sio_redis_adapter **out);
/* The factory for sio_io_opts: o.adapter = sio_redis_adapter_factory; o.adapter_arg = ra. */
SIO_EXTERN sio_adapter *sio_redis_adapter_factory(sio_nsp *nsp, void *arg);
/* 1 while both connections are up and subscribed (and, for streams, every reader reads),
 * else 0. */
SIO_EXTERN int sio_redis_adapter_ready(const sio_redis_adapter *ra);
/* The uid of nsp's adapter (the sender id in its messages, as Node's: 6 characters, sharded
 * 16 hex digits), or NULL
 * when ra made no adapter for nsp. */
SIO_EXTERN const char *sio_redis_adapter_uid(const sio_redis_adapter *ra, const sio_nsp *nsp);
/* Closes the connections; after the io it serves (a namespace still attached then keeps
 * working locally, as with the in-memory adapter). NULL is a no-op. Once the app shuts down
 * (sio_app_close, SIGTERM/SIGINT with handle_signals) or sio_io_close, the connections no
 * longer keep the loop running (they still serve until freed), so uv_run returns: free the
 * app, then ra, and run the loop once more for their handles to close. */
SIO_EXTERN void sio_redis_adapter_free(sio_redis_adapter *ra);
/* A readable message for the codes above (and any sio or errno code). Never NULL. */
SIO_EXTERN const char *sio_redis_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
