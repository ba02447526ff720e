/* sio emitter: emit to the Socket.IO servers of a Redis cluster from a program that has no
 * sockets (a C daemon, a cron job), as npm @socket.io/redis-emitter 5.1 does. What it
 * publishes is byte for byte what Node's emitter publishes, so sio servers and Node servers on
 * @socket.io/redis-adapter (classic mode) both deliver it.
 *
 *   sio_emitter *e;
 *   sio_emitter_new(loop, "redis://127.0.0.1:6379", NULL, &e);   // new Emitter(redisClient)
 *   sio_emitter_emitf(e, "time", "s", "12:00");                   // emitter.emit("time", "12:00")
 *   sio_emitter_op_emit_raw(sio_emitter_op_except(sio_emitter_to(e, "room1"), "room2"),
 *                           "news", "[{\"id\":1}]");   // emitter.to("room1").except("room2")...
 *   sio_emitter *chat = sio_emitter_of(e, "/chat");               // emitter.of("/chat")
 *   sio_emitter_sockets_join(chat, "lobby");                      // .socketsJoin("lobby")
 *   sio_emitter_server_side_emit_raw(e, "[\"ping\"]");            // .serverSideEmit("ping")
 *   sio_emitter_free(chat); sio_emitter_free(e);
 *   uv_run(loop, UV_RUN_DEFAULT);  // sends everything, then the loop ends
 *
 * Operators (sio_emitter_op) are built by chaining, as in sio/io.h, and consumed by the call
 * that ends the chain (an emit, sockets_join/leave, disconnect_sockets) or by
 * sio_emitter_op_free. A NULL operator (allocation failure) is accepted by every call, which
 * then fails with -ENOMEM. The emit suffixes are io.h's: _raw (the arguments as a JSON array
 * text, NULL for none), f (a jansson json_pack format of the arguments, as if wrapped in
 * [ ]), _value (a jansson array), _bin (one binary argument, sent as msgpack bin);
 * _raw_bins takes a JSON text whose {"_placeholder":true,"num":N} objects stand for bins[N].
 *
 * Delivery. Each call encodes at once and returns 0 (the message will be published, and the
 * operator's done callback, if any, is called exactly once) or a negative code (nothing is
 * published, done is not called): -EINVAL (bad JSON, a reserved event name such as "connect",
 * as Node throws), -ENOTSUP (serverSideEmit with an ack), -ENOBUFS (the offline queue is
 * full), -ENOMEM. Publishes made while Redis is not connected (before the first connect, or
 * while it reconnects with backoff) wait in an offline queue of at most opts.max_queued
 * messages, as node-redis's offline queue holds commands, and go out in order once it is up.
 * done gets 0 and the number of subscribers that received the message (what PUBLISH answers)
 * once Redis has taken it, or SIO_ECLOSED when the connection dropped while it was on its way
 * (it is not sent again: it may have arrived). Messages are never lost silently.
 *
 * Everything runs on the loop's thread. */
#ifndef SIO_EMITTER_H
#define SIO_EMITTER_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <uv.h>

#include "sio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_emitter sio_emitter;       /* one namespace's emitter */
typedef struct sio_emitter_op sio_emitter_op; /* rooms, except, flags of the next call */

typedef struct sio_emitter_opts {
  const char *key;   /* channel prefix, the adapters' `key` ["socket.io"] */
  const char *nsp;   /* namespace ["/"]; "chat" is taken as "/chat" */
  size_t max_queued; /* offline queue bound [10000] (0: the default) */
} sio_emitter_opts;
SIO_EXTERN sio_emitter_opts sio_emitter_opts_default(void);

/* Starts connecting to redis://[user:password@]host[:port][/db] (in the background: no
 * callback runs before this returns; Redis may be down, the emitter reconnects with backoff).
 * opts may be NULL. 0 with *out set, or a negative code: a refused URL (rediss://, Sentinel,
 * several hosts) or a malformed one (sio_emitter_strerror says which), -ENOMEM. */
SIO_EXTERN int sio_emitter_new(uv_loop_t *loop, const char *redis_url, const sio_emitter_opts *opts,
                               sio_emitter **out);
/* emitter.of(nsp): an emitter for another namespace on the same Redis connection (freed with
 * sio_emitter_free, in any order with the first). NULL on allocation failure. */
SIO_EXTERN sio_emitter *sio_emitter_of(sio_emitter *e, const char *nsp);
/* Frees the emitter; its operators must be gone. The connection closes when the last emitter
 * sharing it is freed and every message published before has been answered: queued ones are
 * still sent if Redis comes up, or fail with SIO_ECLOSED when the connection attempt under way
 * fails. Running the loop after it sends everything, then the loop ends. NULL is a no-op. */
SIO_EXTERN void sio_emitter_free(sio_emitter *e);
/* A readable message for an error code of these calls (Redis URL errors included). */
SIO_EXTERN const char *sio_emitter_strerror(int err);
/* 1 while connected to Redis. */
SIO_EXTERN int sio_emitter_is_ready(const sio_emitter *e);
/* Called with the number of subscribers that received a message (status 0), or a negative
 * status (SIO_ECLOSED) and 0. */
typedef void (*sio_emitter_done_fn)(int status, long long receivers, void *user);
/* fn is called once every message published before this call (by any emitter on the same
 * connection) has been answered or has failed: status 0 once Redis answered, SIO_ECLOSED when
 * the connection dropped first. 0, or -ENOBUFS / -ENOMEM (fn not called). */
SIO_EXTERN int sio_emitter_flush(sio_emitter *e, sio_emitter_done_fn fn, void *user);

/* --- operators ----------------------------------------------------------------------------- */
SIO_EXTERN sio_emitter_op *sio_emitter_op_new(sio_emitter *e); /* every socket of the nsp */
SIO_EXTERN sio_emitter_op *sio_emitter_to(sio_emitter *e, const char *room);
SIO_EXTERN sio_emitter_op *sio_emitter_in(sio_emitter *e, const char *room);
SIO_EXTERN sio_emitter_op *sio_emitter_except(sio_emitter *e, const char *room);
SIO_EXTERN sio_emitter_op *sio_emitter_volatile(sio_emitter *e);
SIO_EXTERN sio_emitter_op *sio_emitter_compress(sio_emitter *e, int on);
SIO_EXTERN sio_emitter_op *sio_emitter_op_to(sio_emitter_op *op, const char *room); /* a set */
SIO_EXTERN sio_emitter_op *sio_emitter_op_in(sio_emitter_op *op, const char *room);
SIO_EXTERN sio_emitter_op *sio_emitter_op_except(sio_emitter_op *op, const char *room);
SIO_EXTERN sio_emitter_op *sio_emitter_op_volatile(sio_emitter_op *op);
SIO_EXTERN sio_emitter_op *sio_emitter_op_compress(sio_emitter_op *op, int on);
/* The completion of the call that ends the chain (see Delivery above). */
SIO_EXTERN sio_emitter_op *sio_emitter_op_done(sio_emitter_op *op, sio_emitter_done_fn fn,
                                               void *user);
SIO_EXTERN void sio_emitter_op_free(sio_emitter_op *op);

/* Terminal calls (consume the operator). */
typedef struct sio_emitter_bin {
  const void *data;
  size_t len;
} sio_emitter_bin;
SIO_EXTERN int sio_emitter_op_emit_raw(sio_emitter_op *op, const char *event,
                                       const char *args_json);
SIO_EXTERN int sio_emitter_op_emitf(sio_emitter_op *op, const char *event, const char *fmt, ...);
SIO_EXTERN int sio_emitter_op_vemitf(sio_emitter_op *op, const char *event, const char *fmt,
                                     va_list ap);
SIO_EXTERN int sio_emitter_op_emit_value(sio_emitter_op *op, const char *event,
                                         const json_t *args_array);
SIO_EXTERN int sio_emitter_op_emit_bin(sio_emitter_op *op, const char *event, const void *data,
                                       size_t len);
SIO_EXTERN int sio_emitter_op_emit_raw_bins(sio_emitter_op *op, const char *event,
                                            const char *args_json, const sio_emitter_bin *bins,
                                            size_t nbins);
/* socketsJoin(rooms) / socketsLeave(rooms): the matching sockets of every server join or
 * leave the rooms (n of them; the one-room forms are socketsJoin("room")). */
SIO_EXTERN int sio_emitter_op_sockets_join(sio_emitter_op *op, const char *room);
SIO_EXTERN int sio_emitter_op_sockets_joinv(sio_emitter_op *op, const char *const *rooms, size_t n);
SIO_EXTERN int sio_emitter_op_sockets_leave(sio_emitter_op *op, const char *room);
SIO_EXTERN int sio_emitter_op_sockets_leavev(sio_emitter_op *op, const char *const *rooms,
                                             size_t n);
/* disconnectSockets(close): close 1 also closes the underlying connection. */
SIO_EXTERN int sio_emitter_op_disconnect_sockets(sio_emitter_op *op, int close);

/* The same on the whole namespace (emitter.emit(...), emitter.socketsJoin(...), ...). */
SIO_EXTERN int sio_emitter_emit_raw(sio_emitter *e, const char *event, const char *args_json);
SIO_EXTERN int sio_emitter_emitf(sio_emitter *e, const char *event, const char *fmt, ...);
SIO_EXTERN int sio_emitter_emit_value(sio_emitter *e, const char *event, const json_t *args_array);
SIO_EXTERN int sio_emitter_emit_bin(sio_emitter *e, const char *event, const void *data,
                                    size_t len);
SIO_EXTERN int sio_emitter_sockets_join(sio_emitter *e, const char *room);
SIO_EXTERN int sio_emitter_sockets_leave(sio_emitter *e, const char *room);
SIO_EXTERN int sio_emitter_disconnect_sockets(sio_emitter *e, int close);

/* serverSideEmit(...args): the servers' serverSideEmit listeners get the arguments (a JSON
 * array text whose first element is the event name, a json_pack format, or a jansson array). */
SIO_EXTERN int sio_emitter_server_side_emit_raw(sio_emitter *e, const char *args_json);
SIO_EXTERN int sio_emitter_server_side_emitf(sio_emitter *e, const char *fmt, ...);
SIO_EXTERN int sio_emitter_server_side_emit_value(sio_emitter *e, const json_t *args_array);
/* serverSideEmit with an acknowledgement: refused, as Node's emitter throws "Acknowledgements
 * are not supported" (an emitter subscribes to no response channel). Always -ENOTSUP, logged;
 * fn is never called. */
typedef void (*sio_emitter_ack_fn)(int status, const char *answers_json, void *user);
SIO_EXTERN int sio_emitter_server_side_emit_ack(sio_emitter *e, const char *args_json,
                                                sio_emitter_ack_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
