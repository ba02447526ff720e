/* The Redis connection layer (sio_redis): URL parsing and a client per Redis connection, on
 * which the Redis adapters (classic and sharded) and the emitter are built.
 *
 * Why our own connection and not hiredis's async API: Debian's hiredis is 0.14.1, whose
 * async API in subscribed mode knows only SUBSCRIBE/PSUBSCRIBE replies; an `smessage` push of
 * sharded pub/sub (Redis >= 7) would be matched to the wrong callback. So each client owns a
 * libuv uv_tcp_t (a handful per process: this is not the server's per-client net layer),
 * formats commands with hiredis's redisFormatCommandArgv and parses replies with hiredis's
 * redisReader (hiredis/read.h); the FIFO of pending commands, the subscriber mode and the
 * message dispatch are ours.
 *
 * A client connects at once and reconnects for as long as it lives, with exponential backoff
 * (50 ms doubling to 2 s, jittered). On each connect it sends AUTH (user + password, or the
 * password alone) and SELECT when the URL asks, then INFO server (the server's version, and
 * so whether sharded pub/sub exists), re-subscribes every remembered subscription (subscriber
 * clients), and then reports SIO__REDIS_READY. A connection lost reports SIO__REDIS_DOWN. A
 * failure is logged once, not per retry, and the recovery once.
 *
 * Commands are pipelined: each is appended to an output buffer written once per loop
 * iteration. Each command's callback gets exactly one answer: the reply (status 0), a Redis
 * error reply (SIO__REDIS_EREPLY, the reply holds its text), or SIO_ECLOSED when the
 * connection drops with the command pending, when the command is issued while no connection
 * is up (called before sio__redis_command returns), or when the client is freed.
 *
 * Subscriber clients (opts.on_message set) take subscribe / psubscribe / ssubscribe and their
 * unsubscribes only; every message (message, pmessage, smessage) reaches on_message with its
 * payload as bytes (binary-safe, not NUL-terminated). Other clients take any command.
 *
 * Everything runs on the loop's thread. Every callback may call sio__redis_free on its client;
 * the memory goes when libuv has closed the client's handles. hiredis's formatter and reader
 * allocate with malloc (0.14 has no allocator hooks), so sio__alloc_fail_after reaches only
 * this layer's own allocations. */
#ifndef SIO_REDIS_REDIS_H
#define SIO_REDIS_REDIS_H
#include <stddef.h>
#include <uv.h>
#include <hiredis/hiredis.h> /* redisReply, REDIS_REPLY_* */
#include "sio/core.h"        /* SIO_ECLOSED */

/* Errors of this layer (0 or negative, as everywhere; errno and SIO_E* codes also occur). */
enum {
  SIO__REDIS_EREPLY = -30101,      /* Redis answered with an error reply */
  SIO__REDIS_EAUTH = -30102,       /* AUTH or SELECT refused on connect (see last_error) */
  SIO__REDIS_EPROTO = -30103,      /* the server sent something that is not RESP2 */
  SIO__REDIS_ENOSHARD = -30104,    /* sharded pub/sub needs Redis >= 7.0 */
  SIO__REDIS_ESUBSCRIBER = -30105, /* not a command for this client's mode */
  SIO__REDIS_EURL = -30110,        /* malformed redis:// URL */
  SIO__REDIS_ESCHEME = -30111,     /* not a redis:// URL */
  SIO__REDIS_ETLS = -30112,        /* rediss:// (TLS) is not supported */
  SIO__REDIS_ESENTINEL = -30113,   /* Redis Sentinel is not supported */
  SIO__REDIS_ECLUSTER = -30114     /* Redis Cluster (several hosts) is not supported */
};

/* The largest array reply accepted (see reader.c); a larger one drops the link. */
#define SIO__REDIS_MAX_ELEMENTS (1 << 20)

/* hiredis's reply reader, bounded in the element count of an array reply (reader.c). Every
 * reader of replies from Redis is made here. NULL when out of memory. */
redisReader *sio__redis_reader_new(void);

/* A readable message for any error this layer returns (its own, SIO_E*, errno), for a log
 * line. Never NULL. */
const char *sio__redis_strerror(int err);

/* ---- URLs: redis://[[user]:password@]host[:port][/db] ---------------------------------- */

typedef struct sio__redis_url {
  char *host;     /* a name or an address; an IPv6 one without its brackets */
  int port;       /* default 6379 */
  int db;         /* default 0 */
  char *user;     /* percent-decoded; NULL when absent (password alone: AUTH password) */
  char *password; /* percent-decoded; NULL when absent */
} sio__redis_url;

/* Parses `url` into `out` (strings owned by out). Returns 0, -ENOMEM or one of
 * SIO__REDIS_EURL / ESCHEME / ETLS / ESENTINEL / ECLUSTER, with out zeroed. */
int sio__redis_url_parse(const char *url, sio__redis_url *out);
void sio__redis_url_free(sio__redis_url *u); /* zeroes it; safe on a zeroed one */

/* ---- Clients ---------------------------------------------------------------------------- */

typedef struct sio__redis sio__redis;

typedef enum sio__redis_event {
  SIO__REDIS_READY = 1, /* connected, authenticated, db selected, subscriptions renewed */
  SIO__REDIS_DOWN = 2   /* the connection or an attempt failed (each attempt reports it; the
                           log says it once); err says why; the client retries */
} sio__redis_event;

/* err: 0 for READY; for DOWN a negative code (errno-style -ECONNREFUSED, SIO_ECLOSED for a
 * connection closed by the server, SIO__REDIS_EAUTH...). */
typedef void (*sio__redis_event_cb)(sio__redis *c, sio__redis_event ev, int err, void *user);

/* status 0: reply is the answer. SIO__REDIS_EREPLY: reply is the error (reply->str).
 * SIO_ECLOSED (or another negative code): reply is NULL. The reply lives until the callback
 * returns. */
typedef void (*sio__redis_reply_cb)(sio__redis *c, int status, const redisReply *reply, void *user);

typedef enum sio__redis_msg_kind {
  SIO__REDIS_MESSAGE = 1,  /* of a SUBSCRIBE channel */
  SIO__REDIS_PMESSAGE = 2, /* of a PSUBSCRIBE pattern */
  SIO__REDIS_SMESSAGE = 3  /* of an SSUBSCRIBE (sharded) channel */
} sio__redis_msg_kind;

typedef struct sio__redis_message {
  sio__redis_msg_kind kind;
  const char *channel; /* none of these is NUL-terminated */
  size_t channel_len;
  const char *pattern; /* PMESSAGE only; NULL otherwise */
  size_t pattern_len;
  const char *payload;
  size_t len;
} sio__redis_message;

typedef void (*sio__redis_message_cb)(sio__redis *c, const sio__redis_message *m, void *user);

typedef struct sio__redis_opts {
  const char *name;             /* in log lines ("redis <name>: ..."); default "client" */
  sio__redis_event_cb on_event; /* optional */
  /* Set: a subscriber client (subscriptions only). NULL: a command client. */
  sio__redis_message_cb on_message;
  void *user;                  /* for on_event and on_message */
  unsigned backoff_min_ms;     /* first retry delay; default 50 */
  unsigned backoff_max_ms;     /* cap of the doubling; default 2000 */
  unsigned connect_timeout_ms; /* TCP connect + handshake; default 5000 */
} sio__redis_opts;

/* Parses `url` and starts connecting (the first attempt on the loop's next iteration: no
 * callback runs before this returns). Returns 0 with *out set, a URL error, -EINVAL, or
 * -ENOMEM. opts may be NULL (a command client, defaults). */
int sio__redis_new(uv_loop_t *loop, const char *url, const sio__redis_opts *opts, sio__redis **out);
/* Fails every pending command and subscription callback with SIO_ECLOSED (before
 * returning), closes the connection, and frees once libuv has closed the handles. No event is
 * reported after. Safe from any of the client's callbacks; NULL and a second call are no-ops. */
void sio__redis_free(sio__redis *c);
/* From now on the client's handles (its connection, reconnect timer and flusher, and those of
 * later reconnects) no longer keep the loop running: uv_run may return while it is connected
 * or retrying (the server shuts down). It keeps working until freed. Idempotent. */
void sio__redis_unref(sio__redis *c);

int sio__redis_is_ready(const sio__redis *c); /* 1 between READY and the next DOWN */
/* The server's redis_version of the current connection ("7.0.15"), "" before the first
 * INFO; and whether it has sharded pub/sub (>= 7.0): 1, 0, or -1 while unknown (also when an
 * ACL user may not run INFO: SSUBSCRIBE is then tried, and Redis < 7 answers an error). Both
 * keep the last connection's values while disconnected. */
const char *sio__redis_server_version(const sio__redis *c);
int sio__redis_has_sharded(const sio__redis *c);
/* The text of the last connect failure reported by DOWN (a Redis error reply or a system
 * error), "" when none. */
const char *sio__redis_last_error(const sio__redis *c);
const sio__redis_url *sio__redis_get_url(const sio__redis *c);

/* A command of argc binary-safe arguments (argvlen NULL: each is a C string). cb may be NULL
 * (the answer is dropped). Returns 0: cb will be called exactly once, maybe before this
 * returns (SIO_ECLOSED when disconnected). Returns SIO__REDIS_ESUBSCRIBER on a subscriber
 * client, -EINVAL for argc < 1, -ENOMEM: cb is not called. */
int sio__redis_command(sio__redis *c, int argc, const char **argv, const size_t *argvlen,
                       sio__redis_reply_cb cb, void *user);
/* The same with C-string arguments ending with NULL: sio__redis_commandl(c, cb, u, "GET",
 * "k", NULL). */
int sio__redis_commandl(sio__redis *c, sio__redis_reply_cb cb, void *user, ...)
    __attribute__((sentinel));

/* PUBLISH (shard 0) or SPUBLISH (shard 1) of a binary payload; cb may be NULL. SPUBLISH on a
 * server known to be < 7.0 returns SIO__REDIS_ENOSHARD. */
int sio__redis_publish(sio__redis *c, int shard, const char *channel, size_t channel_len,
                       const void *payload, size_t len, sio__redis_reply_cb cb, void *user);

/* PUBSUB NUMSUB (shard 0) or PUBSUB SHARDNUMSUB (shard 1) of one channel: cb gets the count
 * of subscribers (status 0), or a negative status and count 0. Same return rules. */
typedef void (*sio__redis_count_cb)(sio__redis *c, int status, long long count, void *user);
int sio__redis_numsub(sio__redis *c, int shard, const char *channel, size_t channel_len,
                      sio__redis_count_cb cb, void *user);

/* ---- Subscriptions (subscriber clients only) ----------------------------------------------
 * The client remembers its subscriptions and renews them all on each connect. Subscribing to
 * what is already remembered only asks Redis again. cb (optional) gets 0 when Redis confirms,
 * or SIO_ECLOSED when no connection is up now or it drops first (the subscription stays
 * remembered: READY says when it is in force), SIO__REDIS_EREPLY on an error reply. Return:
 * 0, SIO__REDIS_ESUBSCRIBER (a command client), SIO__REDIS_ENOSHARD (SHARD on a server known
 * to be < 7.0), -EINVAL, -ENOMEM (cb not called). */
typedef enum sio__redis_sub_kind {
  SIO__REDIS_CHANNEL = 1, /* SUBSCRIBE / UNSUBSCRIBE */
  SIO__REDIS_PATTERN = 2, /* PSUBSCRIBE / PUNSUBSCRIBE */
  SIO__REDIS_SHARD = 3    /* SSUBSCRIBE / SUNSUBSCRIBE (Redis >= 7.0) */
} sio__redis_sub_kind;

typedef void (*sio__redis_done_cb)(sio__redis *c, int status, void *user);
int sio__redis_subscribe(sio__redis *c, sio__redis_sub_kind kind, const char *channel, size_t len,
                         sio__redis_done_cb cb, void *user);
/* Forgets the subscription and, when connected, unsubscribes (cb: 0 when Redis confirms; 0 at
 * once when no connection is up, as nothing is subscribed then). Unsubscribing from what is
 * not subscribed is not an error. */
int sio__redis_unsubscribe(sio__redis *c, sio__redis_sub_kind kind, const char *channel, size_t len,
                           sio__redis_done_cb cb, void *user);
size_t sio__redis_subscription_count(const sio__redis *c);

/* ---- Reply classification (the dispatch's parsing beyond hiredis's reader) ---------------
 * What a reply on a subscriber connection is: a message push (m filled), a subscription
 * confirmation (["subscribe"|..., channel, count]: *kind and *unsub set), or anything else. */
typedef enum sio__redis_push {
  SIO__REDIS_PUSH_NONE = 0,    /* an ordinary reply */
  SIO__REDIS_PUSH_MESSAGE = 1, /* message / pmessage / smessage */
  SIO__REDIS_PUSH_CONFIRM = 2  /* (un)subscribe / p(un)subscribe / s(un)subscribe */
} sio__redis_push;
sio__redis_push sio__redis_classify(const redisReply *r, sio__redis_message *m,
                                    sio__redis_sub_kind *kind, int *unsub);

#endif
