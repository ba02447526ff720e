/* The Redis client's state, shared by its files: client.c (connecting, reconnecting, the TCP
 * link, the handshake, freeing), command.c (the pipeline: output buffer, FIFO of pending
 * answers, reply dispatch) and subscribe.c (the subscription set, renewal, classification).
 *
 * A link is one TCP connection; it is given up (link->c = NULL, uv_close) when it fails and
 * frees itself when libuv has closed it, so a new link can start while the old one closes.
 * The client itself is freed when its own handles (timer, prepare, a pending getaddrinfo)
 * have closed, which is why sio__redis_free is safe from inside any callback: the dispatch
 * loops check `c->link != link` or `c->state == SIO__RS_FREED` after each callback. */
#ifndef SIO_REDIS_CLIENT_INTERNAL_H
#define SIO_REDIS_CLIENT_INTERNAL_H
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/map.h"
#include "redis/redis.h"

typedef enum sio__redis_state {
  SIO__RS_IDLE = 0,   /* waiting for the backoff timer */
  SIO__RS_CONNECTING, /* resolving the host or connecting TCP */
  SIO__RS_HANDSHAKE,  /* TCP up: AUTH, SELECT, INFO, subscriptions being renewed */
  SIO__RS_READY,
  SIO__RS_FREED
} sio__redis_state;

/* What a pending answer goes to. */
typedef enum sio__redis_pend_type {
  SIO__PEND_REPLY = 0, /* fn.reply(c, status, reply, user) */
  SIO__PEND_DONE,      /* fn.done(c, status, user) */
  SIO__PEND_COUNT      /* fn.count(c, status, count, user): a PUBSUB (SHARD)NUMSUB answer */
} sio__redis_pend_type;

typedef struct sio__redis_pending {
  union {
    sio__redis_reply_cb reply;
    sio__redis_done_cb done;
    sio__redis_count_cb count;
  } fn;
  void *user;
  uint8_t type;   /* sio__redis_pend_type */
  uint8_t expect; /* subscriber clients: the confirmation's sio__redis_sub_kind, or 0 */
  uint8_t unsub;  /* the confirmation expected is an unsubscribe */
  uint8_t gate;   /* its answer counts down resub_left (READY waits for it) */
} sio__redis_pending;

typedef struct sio__redis_link {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  struct sio__redis *c; /* NULL once given up */
  sio__sbuf inflight;   /* the bytes of the write in flight */
  int writing;
  char rbuf[64 * 1024];
} sio__redis_link;

struct sio__redis {
  uv_loop_t *loop;
  sio__redis_url url;
  sio__redis_opts opts;
  char *name;
  sio__redis_state state;
  sio__redis_link *link;
  uv_timer_t timer;      /* backoff while IDLE; connect timeout while CONNECTING/HANDSHAKE */
  uv_idle_t flusher;     /* writes `out` once per loop iteration (an idle handle: one started
                          * during the prepare phase still keeps poll from blocking) */
  uv_getaddrinfo_t *gai; /* the pending resolution, or NULL */
  int handles;           /* open handles and requests holding the client's memory */
  redisReader *reader;
  sio__sbuf out;         /* formatted commands not yet written */
  sio__redis_pending *q; /* ring of pending answers, in command order */
  size_t qcap, qhead, qlen;
  unsigned attempt; /* failed attempts since the last READY */
  int failing;      /* a failure was logged: log the recovery */
  uint64_t rng;     /* backoff jitter */
  char version[32];
  int sharded; /* 1, 0, -1 unknown */
  int unref;   /* sio__redis_unref: handles do not hold the loop */
  char last_error[200];
  sio__map subs;     /* remembered subscriptions: key = kind byte + channel */
  size_t resub_left; /* gated answers READY still waits for */
};

/* client.c */
void sio__redis_drop(sio__redis *c, int err, const char *why);
void sio__redis_became_ready(sio__redis *c);
void sio__redis_on_handshake_reply(sio__redis *c, int status, const redisReply *r, void *u);

/* command.c */
int sio__redis_link_up(const sio__redis *c); /* HANDSHAKE or READY */
/* Appends a command and its pending answer (no state check). 0 or -ENOMEM / -EINVAL. */
int sio__redis_enqueue(sio__redis *c, int argc, const char **argv, const size_t *argvlen,
                       const sio__redis_pending *p);
/* Answers p with status and no reply (SIO_ECLOSED when failing). */
void sio__redis_answer(sio__redis *c, const sio__redis_pending *p, int status, const redisReply *r);
/* Takes every pending answer out of the ring and answers each with `status`. */
void sio__redis_fail_pending(sio__redis *c, int status);
/* Feeds bytes read to the reader and dispatches every complete reply. */
void sio__redis_on_bytes(sio__redis *c, sio__redis_link *link, const char *data, size_t n);
void sio__redis_on_flush(uv_idle_t *h);

/* subscribe.c */
/* Sends every remembered subscription (gated) on a fresh connection; returns how many. */
size_t sio__redis_resubscribe(sio__redis *c);
/* A subscriber connection's reply; returns 1 when it was a message or an unsolicited push
 * (nothing popped), 0 when the head of the ring answers it. */
int sio__redis_dispatch_push(sio__redis *c, const redisReply *r);
void sio__redis_subs_free(sio__redis *c);

#endif
