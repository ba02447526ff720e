/* The libuv glue: listeners, connections with batched writes, and coarse timers.
 *
 * A sio__net belongs to one loop and is shared by everything served on it. It owns:
 * - one epoll set for all its connections, edge-triggered, watched by the loop through a single
 *   uv_poll_t (poll.c): a connection is a bare descriptor, registered once (plus one change
 *   the first time its socket buffer fills), with no libuv handle, no epoll_ctl per pause or
 *   write stall and none at close;
 * - one 64 KiB read buffer: every connection reads into it, and on_data must consume (or copy)
 *   the bytes before returning, so an idle connection holds no read memory;
 * - the list of connections with queued writes: writes made during a loop iteration are
 *   flushed once per connection (one sendmsg) just before the loop polls again (uv_prepare);
 *   what the kernel does not take waits for the socket's writable edge;
 * - a timer wheel: sio__timer is embedded in its owner (no allocation, 40 bytes) and fires
 *   at its due millisecond or one before (never late, as protocol deadlines need), without a
 *   uv_timer_t per connection: one uv timer, armed for the earliest deadline near. */
#ifndef SIO_NET_NET_H
#define SIO_NET_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/list.h"

typedef struct sio__net sio__net;
typedef struct sio__conn sio__conn;
typedef struct sio__listener sio__listener;
typedef struct sio__timer sio__timer;

sio__net *sio__net_new(uv_loop_t *loop);
/* Frees the net once every connection and listener on it has closed (deferred otherwise). */
void sio__net_free(sio__net *net);
uv_loop_t *sio__net_loop(sio__net *net);
uint64_t sio__net_now(sio__net *net); /* uv_now, ms */
/* Whether loop time has reached `deadline` (ms; a millisecond early counts, as the wheel may be
 * a millisecond early but never late). The wheel's tick may run late on a busy machine: a deadline
 * that must hold anyway is also checked with this where the protocol acts on it (a request for an
 * expired session), after sio__net_refresh when the loop's cached time may lag. */
int sio__net_past(sio__net *net, uint64_t deadline);
void sio__net_refresh(sio__net *net); /* uv_update_time: loop time becomes the present */
size_t sio__net_conn_count(sio__net *net);

/* --- timers ------------------------------------------------------------------------------ */
typedef void (*sio__timer_cb)(sio__timer *t);
struct sio__timer {
  sio__list link; /* unlinked (next == NULL or self) when not running */
  uint64_t due;   /* loop time in ms */
  sio__timer_cb cb;
  sio__net *net;
};
static inline void sio__timer_init(sio__timer *t) {
  t->link.next = t->link.prev = NULL;
}
/* (Re)starts t to fire once after `ms`: at that millisecond or the one before (never late
 * unless the loop itself runs late). */
void sio__timer_start(sio__net *net, sio__timer *t, uint64_t ms, sio__timer_cb cb);
/* The same for a due time in loop time (ms, as sio__net_now): a deadline computed once from
 * its start (a wait chained after another keeps the first one's schedule). */
void sio__timer_start_at(sio__net *net, sio__timer *t, uint64_t due, sio__timer_cb cb);
void sio__timer_stop(sio__timer *t);
static inline int sio__timer_active(const sio__timer *t) {
  return t->link.next != NULL && t->link.next != &t->link;
}

/* --- connections ------------------------------------------------------------------------- */
typedef struct sio__conn_handler {
  /* Bytes arrived. They live in the loop-wide buffer: consume or copy them before returning.
   * The buffer is writable and the handler's own until it returns, so it may transform the
   * bytes in place (the WebSocket layer unmasks there). The handler may close the connection
   * or replace c->handler (protocol upgrade). */
  void (*on_data)(sio__conn *c, const char *data, size_t len);
  /* The peer closed its side or a read failed (err < 0, UV_EOF for a clean end). Optional:
   * without it the connection is closed. */
  void (*on_eof)(sio__conn *c, int err);
  /* The write queue, which was above the connection's low-water mark, drained below it. */
  void (*on_drain)(sio__conn *c);
  /* Last call: the connection is being freed, later in the loop than the close or abort that
   * released it (never from inside that call). Release c->ctx here. */
  void (*on_close)(sio__conn *c);
} sio__conn_handler;

struct sio__conn {
  int fd;
  uint32_t gen; /* tells this connection's epoll events from a former owner's of the same fd */
  sio__net *net;
  const sio__conn_handler *handler;
  void *ctx;                  /* the owning protocol's state */
  sio__list flush_link;       /* in the net's list of connections with queued writes, or, once
                                 released, in its list of connections to free */
  sio__list read_link;        /* in the net's list of connections to read without an event */
  struct sio__wq *wq;         /* pending writes (and their byte count), only while there are some */
  struct sio__linger *linger; /* the half-close and its time bound, only once closing */
  struct sio__tls *tls;       /* a TLS connection's state (net/tls.h), NULL for plain TCP */
  unsigned closing : 1, paused : 1, eof : 1, want_drain : 1, shutdown_after_flush : 1, shut : 1,
      closed : 1, peer_done : 1,
      /* Edge-triggered epoll state: bytes may be waiting (set by an event, cleared by a short
       * or empty read), the peer's FIN or an error was seen (read until the end), and a write
       * met a full socket buffer (wait for the writable edge). */
      readable : 1, rdhup : 1, write_blocked : 1,
      out_armed : 1, /* the set reports its writable edge (after the first full buffer) */
      /* the client's bytes come relayed by the process that holds its TLS connection
       * (sio__conn_tunnel): for the layers above, a connection over TLS */
      relayed_tls : 1;
  /* The peer's address as accept4 gave it (no getpeername per request): family, port in
   * network order, and the IPv4 or IPv6 bytes. */
  uint8_t peer_family; /* 0 (unknown), AF_INET or AF_INET6 */
  uint16_t peer_port;
  uint8_t peer_addr[16];
};

/* Queues `len` bytes of `b` from `off` (takes a reference). Returns 0 or negative (closed,
 * -ENOMEM). Bytes leave in order, in one writev per loop iteration. */
int sio__conn_write(sio__conn *c, sio__buf *b, size_t off, size_t len);
/* Copies and queues. */
int sio__conn_write_copy(sio__conn *c, const void *data, size_t len);
/* Bytes accepted by sio__conn_write* not yet taken by the kernel. */
size_t sio__conn_buffered(const sio__conn *c);
/* Ask for on_drain when the queue falls to 0 (one-shot). */
static inline void sio__conn_want_drain(sio__conn *c) {
  c->want_drain = 1;
}
/* Stops reading, sends what is queued, then closes (half-close first for a clean FIN). */
void sio__conn_close(sio__conn *c);
/* Like sio__conn_close, for when the peer's protocol has said it sends nothing more (a
 * WebSocket close frame came in): after the flush the socket is closed at once, with no
 * half-close and no waiting for the peer's FIN, since no late bytes can turn it into a reset. */
void sio__conn_end(sio__conn *c);
/* Closes at once, dropping queued writes (RST-free; the socket is just closed). */
void sio__conn_abort(sio__conn *c);
void sio__conn_pause(sio__conn *c);
void sio__conn_resume(sio__conn *c);
/* Peer address as text ("127.0.0.1", "::1"); 0 or negative. */
int sio__conn_peer(const sio__conn *c, char *ip, size_t iplen, int *port);

/* A new connection: set c->handler and c->ctx before returning (else it is closed). l is NULL
 * for a connection another process passed (sio__net_adopt). */
typedef void (*sio__accept_cb)(sio__listener *l, sio__conn *c, void *user);

/* --- passing a connection to another process (handoff.c) ---------------------------------- */
/* The peer's address as a connection keeps it (sio__conn's peer_* fields). */
typedef struct sio__peer {
  uint8_t family; /* 0, AF_INET or AF_INET6 */
  uint16_t port;  /* network order */
  uint8_t addr[16];
  uint8_t tls; /* the client's TLS stays with the giver, which relays (sio__conn_tunnel) */
} sio__peer;

/* The connection's socket is given away: fd (now the callee's to close), the bytes already read
 * that belong to what comes next (the callee's protocol reads them first), and the peer. */
typedef void (*sio__handoff_cb)(int fd, const sio__peer *peer, const char *bytes, size_t len,
                                void *user, int tag);
/* For a TLS connection, whose encryption state cannot move: a socketpair goes to cb in place
 * of the socket (the peer marked tls), and c's bytes are relayed through it both ways from now
 * on (net/tunnel.c). sio__conn_handoff does this for a TLS connection. 0 or negative, c
 * untouched then. */
int sio__conn_tunnel(sio__conn *c, const char *a, size_t alen, const char *b, size_t blen,
                     sio__handoff_cb cb, void *user, int tag);
/* Stops reading c, waits for its queued writes to leave (a response that came before), then
 * takes its descriptor out of the epoll set and calls cb with it and a copy of the two pieces
 * of bytes (a then b) and the caller's tag, from this call or from the drain. c is released either
 * way: its handler is replaced at once (the caller must not use c again, nor get its on_close).
 * A TLS connection is relayed instead (sio__conn_tunnel). Refused (returns a negative error, c
 * untouched) for a connection that is closing. */
int sio__conn_handoff(sio__conn *c, const char *a, size_t alen, const char *b, size_t blen,
                      sio__handoff_cb cb, void *user, int tag);
/* A socket handed over by another process becomes a connection of this net as if accepted:
 * cb sets its handler (c->handler, c->ctx), then the bytes are fed to on_data before anything
 * read from the socket. Closes fd on failure. The bytes buffer must be writable (on_data may
 * transform them in place). */
void sio__net_adopt(sio__net *net, int fd, const sio__peer *peer, char *bytes, size_t len,
                    sio__accept_cb cb, void *user);

/* --- listeners --------------------------------------------------------------------------- */

typedef struct sio__listen_opts {
  const char *host; /* NULL or "": all interfaces, IPv6 and IPv4 (dual stack) like Node */
  int port;         /* 0: any free port (see sio__listener_port) */
  int backlog;      /* 0: 511 */
  int max_conns;    /* 0: derived from RLIMIT_NOFILE (a margin below it) */
  /* TLS (net/tls.h): every accepted connection is a TLS one; the listener holds a reference */
  struct sio__tls_ctx *tls;
  /* SO_REUSEPORT, set before bind: several processes (workers) listen on the same port and the
   * kernel spreads the connections over them */
  int reuseport;
} sio__listen_opts;

int sio__listen(sio__net *net, const sio__listen_opts *opts, sio__accept_cb cb, void *user,
                sio__listener **out);
int sio__listener_port(const sio__listener *l);
/* Stops accepting and closes the listening socket. */
void sio__listener_close(sio__listener *l);

#endif
