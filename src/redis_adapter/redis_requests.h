/* Pending cluster requests of one namespace adapter, the machinery both Redis adapters need
 * (classic: @socket.io/redis-adapter's `requests` and `ackRequests` maps; sharded: the
 * ClusterAdapter's): a request id (6 characters of [A-Za-z0-9], as uid2(6)), a deadline, and
 * one end, exactly once: complete (0), SIO_ETIMEDOUT, or an error such as SIO_ECLOSED when
 * Redis drops or the adapter goes. Nothing here knows a message format.
 *
 * A request is the first member of its kind's struct (size given to add). References: the
 * table holds one until the request ends and its timer is closed; whoever waits for an
 * asynchronous answer about it (a PUBSUB NUMSUB) holds another and checks `ended`. */
#ifndef SIO_REDIS_ADAPTER_REDIS_REQUESTS_H
#define SIO_REDIS_ADAPTER_REDIS_REQUESTS_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/list.h"
#include "sio/cluster.h"

#define SIO__RREQ_ID_LEN 6

typedef struct sio__rreq sio__rreq;
typedef struct sio__rreqs {
  uv_loop_t *loop;
  sio__list live; /* not ended */
} sio__rreqs;

struct sio__rreq {
  sio__list link;
  sio__rreqs *table;
  char id[SIO__RREQ_ID_LEN + 1];
  int type; /* the kind's own tag */
  int ended;
  int refs;
  uv_timer_t timer;
  /* Once, when it ends (status 0, SIO_ETIMEDOUT, SIO_ECLOSED...); then the kind frees what
   * it owns. The request's memory goes with the last reference. */
  void (*end)(sio__rreq *r, int status);
};

void sio__rreqs_init(sio__rreqs *t, uv_loop_t *loop);
/* Ends every live request with status (the adapter is going: SIO_ECLOSED). */
void sio__rreqs_fail_all(sio__rreqs *t, int status);

/* A new request of `size` bytes (zeroed, the sio__rreq first), its id fresh, live in t, its
 * deadline timeout_ms away (0: none). NULL on -ENOMEM. */
sio__rreq *sio__rreq_new(sio__rreqs *t, size_t size, int type, uint32_t timeout_ms,
                         void (*end)(sio__rreq *r, int status));
sio__rreq *sio__rreq_find(const sio__rreqs *t, const char *id, size_t len);
/* Ends it now with status (no-op when it has ended). */
void sio__rreq_end(sio__rreq *r, int status);
void sio__rreq_ref(sio__rreq *r);
void sio__rreq_unref(sio__rreq *r);

/* A fresh id of SIO__RREQ_ID_LEN characters of [A-Za-z0-9], NUL-terminated. */
void sio__rreq_make_id(char *out);

/* Appends local sockets as the JSON array a fetchSockets answer carries, for both adapters:
 * [{"id","handshake","rooms","data"},...]. 0 or -ENOMEM (the buffer's oom flag is set too). */
int sio__radapter_put_sockets(sio__sbuf *j, const sio_remote_socket *v, size_t n);

#endif
