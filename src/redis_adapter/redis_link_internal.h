/* The link's structure, shared by redis_link.c (Redis) and local_link.c (the same link between
 * the workers of one machine, sio_workers_adapter_new). */
#ifndef SIO_REDIS_ADAPTER_REDIS_LINK_INTERNAL_H
#define SIO_REDIS_ADAPTER_REDIS_LINK_INTERNAL_H
#include "core/map.h"
#include "redis_adapter/redis_link.h"
#include "sio/workers.h"

/* What one other worker subscribes to, as it announced it: channels (and shard channels) by
 * name, patterns by pattern (few: one per namespace of the classic adapter). */
typedef struct sio__rlink_peer {
  sio__map chans, pats;
} sio__rlink_peer;

struct sio__rlink {
  uv_loop_t *loop;
  sio__redis *pub, *sub; /* NULL on a worker's link */
  sio__list subs;        /* sio__rlink_sub */
  sio__list watches;     /* sio__rlink_watch */
  int up;
  size_t dropped;
  sio_worker *worker;     /* a link between workers (local_link.c), or NULL */
  sio__rlink_peer *peers; /* [worker count] */
};

/* redis_link.c: a message, to the entries of the channel or pattern it came through. */
void sio__rlink_dispatch(sio__rlink *l, const sio__redis_message *m);

/* local_link.c */
/* Tells the other workers of a first subscription ('S') or a last unsubscription ('U'). */
int sio__rlink_local_announce(sio__rlink *l, char op, sio__redis_sub_kind kind, const char *name,
                              size_t len);
/* To every worker subscribed to the channel (or to a pattern matching it): one message, the
 * same bytes for each. */
int sio__rlink_local_publish(sio__rlink *l, const char *channel, size_t clen, const void *payload,
                             size_t len);
/* This worker (if subscribed) and the others subscribed to the channel, later in the loop. */
int sio__rlink_local_numsub(sio__rlink *l, const char *channel, size_t clen, sio__redis_count_cb cb,
                            void *user);
void sio__rlink_local_free(sio__rlink *l);

#endif
