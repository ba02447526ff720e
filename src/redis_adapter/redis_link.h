/* The Redis plumbing of one server's Redis adapters (classic now, sharded later): a publisher
 * and a subscriber connection (Node's pubClient and subClient), a registry of subscriptions
 * each with its handler, and the watchers told when Redis goes down or comes back.
 *
 * Messages reach the handler of the subscription they came through: a pmessage the entries of
 * its pattern, a message (or smessage) the entries of its channel. Several entries may share a
 * name (Redis is asked once; the last one's removal unsubscribes). Malformed or foreign
 * messages are the handlers' to judge; sio__rlink_drop logs the first one of the link and
 * counts the rest. Nothing here knows channel schemes or message formats. */
#ifndef SIO_REDIS_ADAPTER_REDIS_LINK_H
#define SIO_REDIS_ADAPTER_REDIS_LINK_H
#include <stddef.h>
#include <uv.h>

#include "core/list.h"
#include "redis/redis.h"

typedef struct sio__rlink sio__rlink;

typedef void (*sio__rlink_msg_fn)(const sio__redis_message *m, void *user);

/* A subscription: embedded in its owner, filled before sio__rlink_subscribe. */
typedef struct sio__rlink_sub {
  sio__list link;
  sio__redis_sub_kind kind;
  char *name; /* owned by the entry once subscribed */
  size_t len;
  sio__rlink_msg_fn fn;
  void *user;
} sio__rlink_sub;

/* Told of every change: up is 1 when both connections are ready, 0 when one dropped. */
typedef struct sio__rlink_watch {
  sio__list link;
  void (*fn)(struct sio__rlink_watch *w, int up);
} sio__rlink_watch;

int sio__rlink_new(uv_loop_t *loop, const char *url, sio__rlink **out);
/* The same link between the workers of one machine (local_link.c): no Redis; always up. */
struct sio_worker;
int sio__rlink_new_local(uv_loop_t *loop, struct sio_worker *w, sio__rlink **out);
/* Frees once no entry or watcher remains registered (they are their owners' to remove);
 * pending commands fail with SIO_ECLOSED. */
void sio__rlink_free(sio__rlink *l);
int sio__rlink_ready(const sio__rlink *l);
/* The server shuts down: both connections stop holding the loop (sio__redis_unref). */
void sio__rlink_unref(sio__rlink *l);
uv_loop_t *sio__rlink_loop(const sio__rlink *l);

/* 0 or -ENOMEM. The subscription holds across reconnects until removed. */
int sio__rlink_subscribe(sio__rlink *l, sio__rlink_sub *s, const char *name, size_t len);
void sio__rlink_unsubscribe(sio__rlink *l, sio__rlink_sub *s);
void sio__rlink_watch_add(sio__rlink *l, sio__rlink_watch *w);
void sio__rlink_watch_remove(sio__rlink_watch *w);

/* PUBLISH (shard 0) or SPUBLISH; dropped (-SIO_ECLOSED from the client, logged by it) while
 * Redis is down. */
int sio__rlink_publish(sio__rlink *l, int shard, const char *channel, size_t clen,
                       const void *payload, size_t len);
/* Any command through the publisher (sio__redis_command's rules). */
int sio__rlink_command(sio__rlink *l, int argc, const char **argv, const size_t *argvlen,
                       sio__redis_reply_cb cb, void *user);
/* The Redis server's version ("" before the first connect) and whether it has sharded pub/sub
 * (1, 0, or -1 while unknown), as the publisher connection last saw them. */
const char *sio__rlink_server_version(const sio__rlink *l);
int sio__rlink_has_sharded(const sio__rlink *l);
/* PUBSUB NUMSUB / SHARDNUMSUB through the publisher. */
int sio__rlink_numsub(sio__rlink *l, int shard, const char *channel, size_t clen,
                      sio__redis_count_cb cb, void *user);

/* serverCount: fn gets the subscriber count of channel (NUMSUB, or SHARDNUMSUB when shard), at
 * least 1 (this server), or a negative status and 1. 0, or -ENOMEM (fn not called). */
typedef void (*sio__rlink_count_fn)(int status, size_t n, void *user);
int sio__rlink_server_count(sio__rlink *l, int shard, const char *channel, size_t clen,
                            sio__rlink_count_fn fn, void *user);

/* A message judged malformed or foreign: logged (warn) the first time on this link, then
 * counted. what says why. */
void sio__rlink_drop(sio__rlink *l, const sio__redis_message *m, const char *what);
size_t sio__rlink_dropped(const sio__rlink *l);

#endif
