/* The collector of a broadcast with acks that both Redis adapters send (classic: the
 * BROADCAST request, sharded: a BROADCAST message with a requestId): the other servers'
 * client counts and their clients' answers fed into the broadcast's sio_bcast_acks.
 *
 * How many servers will report is known only when PUBSUB (SHARD)NUMSUB answers, after the
 * message went out: a placeholder server keeps the collector open until then, and counts that
 * come first wait. Redis down when the count is asked: the local clients decide. Redis
 * dropping before the answers came (or the adapter going) ends the broadcast at once with
 * SIO_ECLOSED and the answers so far. A broadcast without a timeout of its own ends with what
 * came when the collector's deadline passes. */
#ifndef SIO_REDIS_ADAPTER_REDIS_ACKWAIT_H
#define SIO_REDIS_ADAPTER_REDIS_ACKWAIT_H
#include "redis_adapter/redis_link.h"
#include "redis_adapter/redis_requests.h"
#include "cluster/mp_json.h"
#include "core/json.h"
#include "sio/adapter.h"

#define SIO__RACKWAIT_GRACE_MS 2000 /* past the broadcast's timeout, which ends it first */

typedef struct sio__rackwait {
  sio__rreq req;
  sio_bcast_acks *acks;
  int known;                   /* the server count answered */
  int no_timeout;              /* the broadcast has no timeout of its own */
  size_t outstanding;          /* servers (the placeholder included) whose count has not come */
  size_t early, early_clients; /* counts that came before the server count */
} sio__rackwait;

/* A collector live in t (request kind `type`), holding a reference to acks; its deadline is
 * the broadcast's timeout plus the grace, or fallback_ms. NULL on -ENOMEM. */
sio__rackwait *sio__rackwait_new(sio__rreqs *t, int type, const sio_bcast_opts *o,
                                 uint32_t fallback_ms, sio_bcast_acks *acks);
/* After the message was published (rc 0): ask the server count through numsub (shard 0 or 1,
 * of channel); else (rc < 0, nothing went out) the local clients decide. Returns rc, or
 * -ENOMEM when the count could not be asked. */
int sio__rackwait_start(sio__rackwait *k, int rc, sio__rlink *l, int shard, const char *channel,
                        size_t len);
/* What the other servers answer: a server's client count; a client's first argument (the slice
 * of a value in text; type SIO__JSON_INVALID: undefined), its binaries placeholders for bins
 * (the message's). */
void sio__rackwait_client_count(sio__rackwait *k, int64_t n);
void sio__rackwait_answer(sio__rackwait *k, const char *text, sio__json_slice value,
                          const sio__mp_bins *bins);

#endif
