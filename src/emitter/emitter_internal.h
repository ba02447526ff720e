/* The emitter's internals (see sio/emitter.h): the Redis connection its namespaces share with
 * the offline queue, and the operator it encodes messages from.
 *
 * A connection (sio__emitter_conn) is one sio__redis command client and a FIFO of messages:
 * queued ones wait for READY; sent ones are in flight until Redis answers (in order). It lives
 * while an emitter refers to it, and after the last one is freed until the FIFO is empty, so
 * that a program which emits and frees at once still sends everything when it runs its loop. */
#ifndef SIO_EMITTER_INTERNAL_H
#define SIO_EMITTER_INTERNAL_H
#include <stddef.h>

#include "core/buf.h"
#include "redis/redis.h"
#include "sio/emitter.h"

#define SIO__EMITTER_DEFAULT_QUEUE 10000

typedef struct sio__emitter_conn sio__emitter_conn;

/* Tests: every publish goes to fn (bytes valid during the call) instead of Redis, and is
 * answered with status 0 and 1 receiver at once. */
typedef void (*sio__emitter_tap_fn)(const char *channel, size_t channel_len, const void *payload,
                                    size_t len, void *user);
void sio__emitter_set_tap(sio_emitter *e, sio__emitter_tap_fn fn, void *user);

struct sio_emitter {
  sio__emitter_conn *conn;
  char *key, *nsp;
};

/* Room sets in insertion order, as the JS Set the operator keeps. */
typedef struct sio__emitter_rooms {
  char **v;
  size_t n, cap;
} sio__emitter_rooms;

struct sio_emitter_op {
  sio_emitter *e;
  sio__emitter_rooms rooms, except;
  char flag_order[2]; /* 'v' volatile, 'c' compress, in the order first set (Object.assign) */
  int nflags, compress;
  sio_emitter_done_fn done;
  void *user;
  int err; /* the first error of the chain */
};

int sio__emitter_conn_new(uv_loop_t *loop, const char *url, size_t max_queued,
                          sio__emitter_conn **out);
void sio__emitter_conn_ref(sio__emitter_conn *c);
void sio__emitter_conn_unref(sio__emitter_conn *c); /* the last one closes once drained */
int sio__emitter_conn_ready(const sio__emitter_conn *c);
/* Publishes (queued while Redis is not up). 0: done (may be NULL) will be called once;
 * -ENOBUFS (queue full) or -ENOMEM: it will not. */
int sio__emitter_publish(sio__emitter_conn *c, const char *channel, size_t channel_len,
                         const void *payload, size_t len, sio_emitter_done_fn done, void *user);
/* done once everything before has been answered (a PING behind it). */
int sio__emitter_conn_flush(sio__emitter_conn *c, sio_emitter_done_fn done, void *user);
void sio__emitter_conn_tap(sio__emitter_conn *c, sio__emitter_tap_fn fn, void *user);
/* serverSideEmit of a JSON array text (emit.c). */
int sio__emitter_server_side_emit(sio_emitter *e, const char *args);

#endif
