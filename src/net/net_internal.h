/* Internals shared by net.c, conn.c and listener.c. */
#ifndef SIO_NET_INTERNAL_H
#define SIO_NET_INTERNAL_H
#include "net/net.h"

#define SIO__READ_BUF_SIZE (64 * 1024)
#define SIO__TICK_MS       8
#define SIO__WHEEL_SLOTS   256
#define SIO__IOV_MAX       256
#define SIO__LINGER_MS     2000

struct sio__net {
  uv_loop_t *loop;
  char *read_buf;
  uv_prepare_t prepare; /* flushes queued writes before the loop polls */
  uv_timer_t tick;      /* drives the timer wheel while timers are active */
  size_t nconns;        /* open connections (counted, not listed: nothing walks them) */
  sio__list flush_list;
  sio__list wheel[SIO__WHEEL_SLOTS];
  uint64_t cur_tick;
  size_t active_timers;
  int open_handles;
  int freeing; /* sio__net_free called; handles close once the last connection has */
  /* Write queues of connections whose writes drained, kept for the next connection that
   * writes (most writes drain within the loop turn that queued them): a queue and its items
   * array cost two allocations and two frees per write otherwise. Linked through `free_next`. */
  struct sio__wq *free_wqs;
  size_t n_free_wqs;
};

struct sio__wq_item {
  sio__buf *buf;
  size_t off, len;
};

/* A connection's pending writes; exists only while there are some. Items [head, n) are
 * queued in order; the first `inflight` bytes are being written by `req`. */
struct sio__wq {
  uv_write_t req;
  size_t head, n, cap;
  size_t inflight;
  size_t queued; /* bytes of items [head, n): not yet handed to the kernel or in flight */
  struct sio__wq_item *items; /* separate, so growing it never moves req */
  struct sio__wq *free_next;  /* in the net's cache of unused queues */
};

/* The cache keeps at most this many queues, each with an items array of at most
 * SIO__WQ_CACHE_ITEMS entries (bigger ones, grown by a burst, are freed). */
#define SIO__WQ_CACHE       256
#define SIO__WQ_CACHE_ITEMS 64
void sio__net_free_wq_cache(sio__net *net);

/* A closing connection's half-close (FIN) and the bound on the wait for the peer's FIN that
 * follows; allocated when the close starts, freed with the connection (an idle connection
 * carries none of it). */
struct sio__linger {
  sio__timer timer;
  sio__conn *c;
};

void sio__net_flush_all(sio__net *net);
void sio__net_conn_gone(sio__net *net);
sio__conn *sio__conn_new(sio__net *net);
void sio__conn_start(sio__conn *c);
/* Records the peer's address (from accept4) for sio__conn_peer. */
void sio__conn_set_peer(sio__conn *c, const struct sockaddr *sa);

#endif
