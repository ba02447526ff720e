/* The broadcast-ack collector of both Redis adapters (see redis_ackwait.h). */
#include "redis_adapter/redis_ackwait.h"

#include <errno.h>

#include "core/alloc.h"
#include "core/buf.h"

static void ackwait_end(sio__rreq *q, int status) {
  sio__rackwait *k = (sio__rackwait *)q;
  if (status == SIO_ECLOSED) /* Redis dropped (or the adapter went): no more answers */
    sio_bcast_acks_fail(k->acks, status);
  /* without a timeout of its own the collector would wait forever: end it with what came */
  while (k->no_timeout && k->outstanding) sio_bcast_acks_client_count(k->acks, 0), k->outstanding--;
  sio_bcast_acks_release(k->acks);
}

sio__rackwait *sio__rackwait_new(sio__rreqs *t, int type, const sio_bcast_opts *o,
                                 uint32_t fallback_ms, sio_bcast_acks *acks) {
  uint32_t deadline = o->timeout_ms ? o->timeout_ms + SIO__RACKWAIT_GRACE_MS : fallback_ms;
  sio__rackwait *k =
      (sio__rackwait *)sio__rreq_new(t, sizeof(sio__rackwait), type, deadline, ackwait_end);
  if (!k) return NULL;
  k->acks = acks, k->no_timeout = !o->timeout_ms;
  sio_bcast_acks_ref(acks);
  sio_bcast_acks_expect_servers(acks, 1); /* the placeholder, until the count answers */
  k->outstanding = 1;
  return k;
}

static void counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  sio__rackwait *k = user;
  if (!k->req.ended && status) { /* Redis is down: the local clients decide */
    sio_bcast_acks_client_count(k->acks, 0);
    k->outstanding = 0;
  } else if (!k->req.ended) {
    size_t others = count > 1 ? (size_t)count - 1 : 0;
    sio_bcast_acks_expect_servers(k->acks, others);
    k->outstanding += others;
    k->known = 1;
    for (size_t i = 0; i < k->early && k->outstanding > 1; i++, k->outstanding--)
      sio_bcast_acks_client_count(k->acks, i ? 0 : k->early_clients);
    sio_bcast_acks_client_count(k->acks, 0); /* the placeholder */
    k->outstanding--;
  }
  sio__rreq_unref(&k->req);
}

int sio__rackwait_start(sio__rackwait *k, int rc, sio__rlink *l, int shard, const char *channel,
                        size_t len) {
  if (!rc) {
    sio__rreq_ref(&k->req);
    if (sio__rlink_numsub(l, shard, channel, len, counted, k))
      sio__rreq_unref(&k->req), rc = -ENOMEM;
  }
  if (rc) { /* nobody else will answer: the local clients decide */
    sio_bcast_acks_client_count(k->acks, 0);
    k->outstanding = 0;
    sio__rreq_end(&k->req, rc);
  }
  return rc;
}

void sio__rackwait_client_count(sio__rackwait *k, int64_t n) {
  if (!k->known) {
    k->early++, k->early_clients += (size_t)n;
  } else if (k->outstanding) {
    k->outstanding--;
    sio_bcast_acks_client_count(k->acks, (size_t)n);
  }
}

void sio__rackwait_answer(sio__rackwait *k, const char *text, sio__json_slice value,
                          const sio__mp_bins *bins) {
  sio__sbuf args = SIO__SBUF_INIT; /* the client's first argument, as an argument list */
  const void **att = NULL;
  size_t *att_len = NULL;
  sio__sbuf_appendc(&args, '[');
  if (value.type) sio__sbuf_append(&args, text + value.off, value.len);
  sio__sbuf_appendc(&args, ']');
  /* its binaries (msgpack bin, placeholders in text) are the answer's attachments */
  if (!args.oom && !sio__mp_bins_arrays(bins, &att, &att_len))
    sio_bcast_acks_answer(k->acks, args.data, args.len, att, att_len, (unsigned)bins->n);
  sio__free(att), sio__free(att_len);
  sio__sbuf_free(&args);
}
