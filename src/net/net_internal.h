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
  uv_prepare_t prepare; /* flushes queued writes and frees released connections before polling */
  uv_timer_t tick;      /* drives the timer wheel while timers are active */
  uv_poll_t io_poll;    /* the connections' epoll set, readable when any of them has events */
  uv_idle_t read_idle;  /* keeps the loop from blocking while read_list has connections */
  int epfd;
  int io_poll_ref; /* io_poll keeps the loop alive: there are connections */
  size_t nconns;   /* open connections, until freed (counted, not listed) */
  uint32_t next_gen;
  /* Connections by descriptor, for the events (which carry fd and generation, not a pointer:
   * an event can outlive its connection if a forked child still holds the socket). */
  sio__conn **by_fd;
  size_t by_fd_cap;
  sio__list flush_list;
  sio__list read_list; /* to read without waiting for an edge: resumed, or cut short */
  sio__list dead_list; /* released, to be freed (and their on_close called) by the prepare */
  sio__list relays;    /* the TLS connections relayed to another process (tunnel.c) */
  sio__list wheel[SIO__WHEEL_SLOTS];
  uint64_t fired_to; /* every timer due at or before this loop time has fired */
  uint64_t wake_at;  /* when the tick timer is armed for (UINT64_MAX: not armed) */
  uint8_t in_wake;   /* on_tick is running its timers */
  size_t active_timers;
  int open_handles;
  int freeing; /* sio__net_free called; handles close once the last connection has */
  /* Write queues of connections whose writes drained, kept for the next connection that
   * writes (most writes drain within the loop turn that queued them): a queue and its items
   * array cost two allocations and two frees per write otherwise. Linked through `free_next`. */
  struct sio__wq *free_wqs;
  size_t n_free_wqs;
  /* TLS (tls_conn.c), made with the first TLS connection: the plaintext of a decrypted read,
   * the staging of small writes into records, the ciphertext an OpenSSL call just produced
   * (moved out before the next), and the BIO method of the connections' memory BIOs. */
  char *tls_plain, *tls_stage;
  sio__sbuf tls_out;
  void *tls_bio_method;
};

struct sio__wq_item {
  sio__buf *buf;
  size_t off, len;
};

/* A connection's pending writes; exists only while there are some. Items [head, n) are
 * queued in order. */
struct sio__wq {
  size_t head, n, cap;
  size_t queued; /* bytes of items [head, n): not yet taken by the kernel */
  struct sio__wq_item *items;
  struct sio__wq *free_next; /* in the net's cache of unused queues */
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
/* tunnel.c: closes the relays still open (at sio__net_free). */
void sio__net_close_relays(sio__net *net);
/* A connection for an accepted, non-blocking descriptor (closed on failure). */
sio__conn *sio__conn_new(sio__net *net, int fd);
/* Releases c without closing its descriptor, which leaves the epoll set and is returned (-1
 * when c is already closed): handoff.c gives it to another process. */
int sio__conn_take_fd(sio__conn *c);
/* Registers it with the epoll set once the accept callback has set its handler. */
void sio__conn_start(sio__conn *c);

/* poll.c: the connections' epoll set. */
#define SIO__EVENTS_PER_WAIT 256
int sio__poll_init(sio__net *net);
int sio__poll_add(sio__conn *c);              /* 0 or negative errno */
int sio__poll_want_writable(sio__conn *c);    /* 0 or negative errno */
void sio__poll_forget(sio__conn *c);          /* before its descriptor closes */
void sio__poll_update_ref(sio__net *net);     /* io_poll keeps the loop alive iff connections */
void sio__poll_free(sio__net *net);           /* once its handles have closed */
void sio__poll_schedule_reads(sio__net *net); /* read_list is not empty: don't block */
/* conn.c, for poll.c: an event's readiness, and reading a connection without one. */
void sio__conn_on_events(sio__conn *c, uint32_t events);
void sio__conn_read(sio__conn *c);
void sio__net_read_pending(sio__net *net);
void sio__net_reap(sio__net *net); /* frees released connections */
/* conn.c, for tls_conn.c: the flush's steps around the TLS encryption. */
void sio__conn_consume(sio__conn *c, size_t n); /* n bytes of the write queue are done */
void sio__conn_flushed(sio__conn *c);           /* the queue drained: free it, then after_drain */
void sio__conn_schedule_flush(sio__conn *c);    /* flush in this loop turn's prepare step */
void sio__conn_end_of_input(sio__conn *c, int err); /* as a read of 0 (UV_EOF) or an error */
void sio__tls_net_free(sio__net *net);              /* tls_conn.c: the net's TLS buffers */
/* Records the peer's address (from accept4) for sio__conn_peer. */
void sio__conn_set_peer(sio__conn *c, const struct sockaddr *sa);

#endif
