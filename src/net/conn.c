/* Connections: reading into the loop-wide buffer, batched writes, and closing cleanly.
 *
 * Writes are queued as (buffer, offset, length) references and flushed once per loop
 * iteration with one sendmsg per connection; what the kernel does not take stays queued until
 * the socket's writable edge. Reads follow the edge-triggered set (poll.c): an event marks the
 * connection readable and it is read until a short read says the socket is drained. A close
 * waits for the queue to drain, half-closes (FIN), and keeps reading (discarding) until the
 * peer closes or SIO__LINGER_MS passes, so that a response followed by close is not cut off by
 * a reset. A released connection's descriptor is closed at once; its memory and on_close wait
 * for the loop's next prepare step, so callers may still touch it after closing it. */
#include "net/net_internal.h"
#include "net/tls.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Full 64 KiB reads of one connection per event before the others get a turn. */
#define READS_PER_TURN 4

/* Small writes queued one after another are copied together into one buffer (from the
 * second one on): the kernel then copies one iovec segment instead of one per message, and
 * each message's own buffer goes back to malloc at once, while it is still in the cache,
 * rather than at the flush. An echo's 32 replies of 50 bytes are one 1.6 KB segment.
 * Writes up to COALESCE_MAX bytes are copied; the buffer made for them starts at GATHER_FIRST
 * bytes (in malloc's per-thread cache, which takes up to 1 KiB) and doubles as it fills, up
 * to GATHER_LIMIT. */
#define COALESCE_MAX 512
#define GATHER_FIRST 992
#define GATHER_LIMIT (64 * 1024)

static void conn_release(sio__conn *c);
static void flush(sio__conn *c);
static void drop_queue(sio__conn *c);
static void maybe_free_queue(sio__conn *c);

static void free_conn(sio__conn *c) {
  sio__net *net = c->net;
  net->nconns--;
  sio__free(c->linger);
  if (c->handler && c->handler->on_close) c->handler->on_close(c);
  sio__tls_free(c);
  sio__free(c);
}

/* Frees the connections released since the last call (from the prepare step). */
void sio__net_reap(sio__net *net) {
  if (sio__list_empty(&net->dead_list)) return;
  while (!sio__list_empty(&net->dead_list)) {
    sio__conn *c = sio__container_of(net->dead_list.next, sio__conn, flush_link);
    sio__list_remove(&c->flush_link);
    free_conn(c);
  }
  sio__poll_update_ref(net);
  sio__net_conn_gone(net);
}

static void drop_queue(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (!wq) return;
  for (size_t i = wq->head; i < wq->n; i++) sio__buf_unref(wq->items[i].buf);
  wq->head = wq->n = 0;
  wq->queued = 0;
}

/* Returns an empty queue to the net's cache (or frees it). */
static void maybe_free_queue(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (!wq || wq->head != wq->n) return;
  c->wq = NULL;
  sio__net *net = c->net;
  if (net->n_free_wqs < SIO__WQ_CACHE && wq->cap <= SIO__WQ_CACHE_ITEMS && !net->freeing) {
    wq->head = wq->n = wq->queued = 0;
    wq->free_next = net->free_wqs;
    net->free_wqs = wq;
    net->n_free_wqs++;
    return;
  }
  sio__free(wq->items);
  sio__free(wq);
}

/* A queue from the net's cache, or a new one. */
static struct sio__wq *take_queue(sio__net *net) {
  struct sio__wq *wq = net->free_wqs;
  if (wq) {
    net->free_wqs = wq->free_next;
    net->n_free_wqs--;
    wq->free_next = NULL;
    return wq;
  }
  return sio__calloc(1, sizeof(*wq));
}

static void conn_release(sio__conn *c) {
  if (c->closed) return;
  c->closed = 1;
  c->closing = 1;
  if (c->linger) sio__timer_stop(&c->linger->timer);
  if (sio__list_linked(&c->flush_link)) sio__list_remove(&c->flush_link);
  if (sio__list_linked(&c->read_link)) sio__list_remove(&c->read_link);
  drop_queue(c);
  maybe_free_queue(c);
  if (c->fd >= 0) {
    sio__poll_forget(c);
    close(c->fd); /* also leaves the epoll set: no epoll_ctl */
    c->fd = -1;
  }
  sio__list_insert_tail(&c->net->dead_list, &c->flush_link);
}

void sio__conn_abort(sio__conn *c) {
  conn_release(c);
}

int sio__conn_take_fd(sio__conn *c) {
  int fd = c->fd;
  if (fd < 0 || c->closed) return -1;
  /* Explicitly out of the set: the descriptor lives on in another process, and the set would
   * keep watching the socket until the last reference to it closes. */
  epoll_ctl(c->net->epfd, EPOLL_CTL_DEL, fd, NULL);
  sio__poll_forget(c);
  c->fd = -1;
  conn_release(c);
  return fd;
}

/* Consumes `n` written bytes from the front of the queue. */
void sio__conn_consume(sio__conn *c, size_t n) {
  struct sio__wq *wq = c->wq;
  wq->queued -= n;
  while (n > 0 && wq->head < wq->n) {
    struct sio__wq_item *it = &wq->items[wq->head];
    if (n < it->len) {
      it->off += n;
      it->len -= n;
      return;
    }
    n -= it->len;
    sio__buf_unref(it->buf);
    wq->head++;
  }
  if (wq->head == wq->n) wq->head = wq->n = 0;
}

static void on_linger_timeout(sio__timer *t) {
  struct sio__linger *l = sio__container_of(t, struct sio__linger, timer);
  conn_release(l->c);
}

/* Reads this connection from the read_idle step rather than waiting for an event. */
static void want_read(sio__conn *c) {
  if (c->closed || sio__list_linked(&c->read_link)) return;
  sio__list_insert_tail(&c->net->read_list, &c->read_link);
  sio__poll_schedule_reads(c->net);
}

/* Half-closes at once with shutdown(2), then reads (discarding) until the peer's FIN or the
 * linger time. */
static void start_shutdown(sio__conn *c) {
  if (c->shut || c->closed) return;
  c->shut = 1;
  if (shutdown(c->fd, SHUT_WR) != 0 || c->eof) {
    conn_release(c);
    return;
  }
  struct sio__linger *l = sio__calloc(1, sizeof(*l));
  if (!l) {
    conn_release(c);
    return;
  }
  l->c = c;
  sio__timer_init(&l->timer);
  c->linger = l; /* freed with the connection */
  sio__timer_start(c->net, &l->timer, SIO__LINGER_MS, on_linger_timeout);
  if (c->paused) { /* the FIN must be read even if the protocol had stopped reading */
    c->paused = 0;
    if (c->readable) want_read(c);
  }
}

static void after_drain(sio__conn *c) {
  if (c->shutdown_after_flush) {
    if (c->eof || c->peer_done)
      conn_release(c);
    else
      start_shutdown(c);
    return;
  }
  if (c->want_drain && sio__conn_buffered(c) == 0) {
    c->want_drain = 0;
    if (c->handler && c->handler->on_drain) c->handler->on_drain(c);
  }
}

static size_t fill_iov(struct sio__wq *wq, struct iovec *iov, size_t *bytes) {
  size_t k = 0;
  *bytes = 0;
  for (size_t i = wq->head; i < wq->n && k < SIO__IOV_MAX; i++, k++) {
    iov[k].iov_base = wq->items[i].buf->data + wq->items[i].off;
    iov[k].iov_len = wq->items[i].len;
    *bytes += wq->items[i].len;
  }
  return k;
}

/* Sends what is queued. The last bytes before a close or half-close go with MSG_MORE, so that
 * they wait in the kernel for the close(2) or shutdown(2) that follows at once, which tacks its
 * FIN onto them: one segment instead of two. A short write is retried: only EAGAIN proves the
 * buffer full, which is what arms the writable edge. */
static void flush(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (sio__list_linked(&c->flush_link)) sio__list_remove(&c->flush_link);
  if (c->closed || c->write_blocked) return;
  if (c->tls) {
    sio__tls_flush(c);
    return;
  }
  if (!wq) return;
  struct iovec iov[SIO__IOV_MAX];
  while (wq->head < wq->n) {
    size_t bytes;
    size_t k = fill_iov(wq, iov, &bytes);
    int last = c->shutdown_after_flush && k == wq->n - wq->head;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = k};
    ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT | (last ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->write_blocked = 1;
        if (sio__poll_want_writable(c) != 0) conn_release(c);
        return;
      }
      conn_release(c);
      return;
    }
    sio__conn_consume(c, (size_t)n);
  }
  sio__conn_flushed(c);
}

void sio__conn_flushed(sio__conn *c) {
  maybe_free_queue(c);
  after_drain(c);
}

void sio__conn_schedule_flush(sio__conn *c) {
  if (!c->closed && !sio__list_linked(&c->flush_link))
    sio__list_insert_tail(&c->net->flush_list, &c->flush_link);
}

size_t sio__conn_buffered(const sio__conn *c) {
  return (c->wq ? c->wq->queued : 0) + (c->tls ? sio__tls_buffered(c) : 0);
}

void sio__net_flush_all(sio__net *net) {
  while (!sio__list_empty(&net->flush_list)) {
    sio__conn *c = sio__container_of(net->flush_list.next, sio__conn, flush_link);
    flush(c);
  }
}

static int ensure_capacity(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (!wq) {
    wq = take_queue(c->net);
    if (!wq) return -ENOMEM;
    c->wq = wq;
  }
  if (wq->n < wq->cap) return 0;
  if (wq->head > 0) { /* reuse the consumed front */
    memmove(wq->items, wq->items + wq->head, (wq->n - wq->head) * sizeof(wq->items[0]));
    wq->n -= wq->head;
    wq->head = 0;
    if (wq->n < wq->cap) return 0;
  }
  size_t cap = wq->cap ? wq->cap * 2 : 8;
  struct sio__wq_item *items = sio__realloc(wq->items, cap * sizeof(items[0]));
  if (!items) return -ENOMEM;
  wq->items = items;
  wq->cap = cap;
  return 0;
}

/* Appends len bytes to the queue's last item when both are small and only their writer holds
 * them (shared: the bytes are a buffer others hold too, such as a broadcast's frame: copying
 * that for every recipient would cost more than the references): 1 if done, 0 if the bytes
 * must be queued as their own item, or -ENOMEM. TLS connections stage small writes into
 * records themselves (tls_conn.c). */
static int coalesce(sio__conn *c, const char *data, size_t len, int shared) {
  struct sio__wq *wq = c->wq;
  if (c->tls || len > COALESCE_MAX || shared || !wq || wq->n == wq->head) return 0;
  struct sio__wq_item *last = &wq->items[wq->n - 1];
  sio__buf *g = last->buf;
  int ours = g->refs == 1 && last->off + last->len == g->len; /* nobody else sees its tail */
  if (ours && g->cap - g->len >= len) {
    memcpy(g->data + g->len, data, len);
  } else if (ours && g->len + len <= GATHER_LIMIT && g->cap >= GATHER_FIRST) {
    size_t cap = g->cap * 2;
    while (cap < g->len + len) cap *= 2;
    sio__buf *ng = sio__realloc(g, sizeof(*ng) + cap + 1);
    if (!ng) return -ENOMEM;
    ng->cap = cap;
    last->buf = g = ng;
    memcpy(g->data + g->len, data, len);
  } else if (g->refs == 1 && last->len <= COALESCE_MAX) { /* the second: both in a new one */
    size_t cap = GATHER_FIRST;
    while (cap < last->len + len) cap *= 2;
    sio__buf *ng = sio__buf_new(cap);
    if (!ng) return -ENOMEM;
    memcpy(ng->data, g->data + last->off, last->len);
    memcpy(ng->data + last->len, data, len);
    ng->len = last->len;
    sio__buf_unref(g);
    *last = (struct sio__wq_item){ng, 0, last->len};
    g = ng;
  } else {
    return 0;
  }
  g->len += len;
  g->data[g->len] = '\0';
  last->len += len;
  wq->queued += len;
  return 1;
}

/* Queues b's bytes as an item of their own (a reference to b). */
static int enqueue(sio__conn *c, sio__buf *b, size_t off, size_t len) {
  int r = ensure_capacity(c);
  if (r != 0) return r;
  c->wq->items[c->wq->n++] = (struct sio__wq_item){sio__buf_ref(b), off, len};
  c->wq->queued += len;
  sio__conn_schedule_flush(c);
  return 0;
}

int sio__conn_write(sio__conn *c, sio__buf *b, size_t off, size_t len) {
  if (c->closing || c->closed) return SIO_ECLOSED;
  if (len == 0) return 0;
  int r = coalesce(c, b->data + off, len, b->refs != 1);
  if (r > 0) sio__conn_schedule_flush(c);
  return r != 0 ? (r < 0 ? r : 0) : enqueue(c, b, off, len);
}

int sio__conn_write_copy(sio__conn *c, const void *data, size_t len) {
  if (c->closing || c->closed) return SIO_ECLOSED;
  if (len == 0) return 0;
  int r = coalesce(c, data, len, 0); /* straight into the queue's buffer, not a copy first */
  if (r > 0) sio__conn_schedule_flush(c);
  if (r != 0) return r < 0 ? r : 0;
  sio__buf *b = sio__buf_from(data, len);
  if (!b) return -ENOMEM;
  r = enqueue(c, b, 0, len);
  sio__buf_unref(b);
  return r;
}

void sio__conn_close(sio__conn *c) {
  if (c->closing || c->closed) return;
  c->closing = 1;
  if (sio__conn_buffered(c) > 0 || sio__tls_wants_notify(c)) {
    c->shutdown_after_flush = 1;
    sio__conn_schedule_flush(c); /* close_notify goes with that flush */
    return;
  }
  if (c->eof || c->peer_done) { /* the peer has finished sending: nothing to linger for */
    conn_release(c);
    return;
  }
  start_shutdown(c);
}

void sio__conn_end(sio__conn *c) {
  c->peer_done = 1;
  sio__conn_close(c);
}

/* The peer closed its side (err == UV_EOF) or the socket failed. */
void sio__conn_end_of_input(sio__conn *c, int err) {
  c->eof = 1;
  c->readable = 0;
  if (c->closing) {
    if (c->shut || err != UV_EOF) conn_release(c);
    return;
  }
  if (c->handler->on_eof) {
    c->handler->on_eof(c, err);
    if (err == UV_EOF) return;
  }
  conn_release(c);
}

/* Reads while the socket may hold bytes: until a short read (edge-triggered: more bytes bring
 * a new event), the end of input, or READS_PER_TURN full buffers (then the connection waits
 * its turn on the read list). After the peer's FIN (rdhup) a short read is not the end: the
 * read that returns 0 is. */
static void read_turn(sio__conn *c) {
  if (c->tls && sio__tls_has_input(c)) { /* what came while paused goes first */
    if (c->closed || c->paused || c->eof) return;
    sio__tls_input_kept(c);
  }
  for (int turn = 0; turn < READS_PER_TURN; turn++) {
    if (c->closed || c->paused || c->eof || !c->readable) return;
    ssize_t n = read(c->fd, c->net->read_buf, SIO__READ_BUF_SIZE);
    if (n > 0) {
      if ((size_t)n < SIO__READ_BUF_SIZE && !c->rdhup) c->readable = 0;
      if (c->closing) continue; /* lingering: discard */
      if (c->tls)
        sio__tls_input(c, c->net->read_buf, (size_t)n);
      else
        c->handler->on_data(c, c->net->read_buf, (size_t)n);
      continue;
    }
    if (n == 0) {
      sio__conn_end_of_input(c, UV_EOF);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->readable = 0;
      return;
    }
    sio__conn_end_of_input(c, -errno);
    return;
  }
  if (!c->closed && !c->paused && !c->eof && c->readable) want_read(c);
}

/* What the reads answered (an echo, a pong, pipelined responses) leaves as soon as they are
 * handled rather than at the end of the loop turn: the answer's buffers are still hot in the
 * cache and are freed before the next connection's answers are made, so that the same blocks
 * serve them all (made for a hundred connections first and freed together, they left glibc's
 * heap top free past its trim threshold each turn: a brk and page faults to grow it again).
 * Writes to other connections (a broadcast) still wait for the turn's end, as one flush. */
void sio__conn_read(sio__conn *c) {
  read_turn(c);
  if (!c->closed && sio__list_linked(&c->flush_link)) flush(c);
}

void sio__conn_on_events(sio__conn *c, uint32_t events) {
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->write_blocked) {
    c->write_blocked = 0;
    flush(c);
    if (c->closed) return;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rdhup = 1;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    c->readable = 1;
    sio__conn_read(c);
  }
}

/* Reads the connections on the read list (resumed ones, and those cut short for fairness);
 * the ones that still have bytes after their turn go back on the list. */
void sio__net_read_pending(sio__net *net) {
  sio__list batch;
  sio__list_move_all(&batch, &net->read_list); /* reads may add to the list again */
  while (!sio__list_empty(&batch)) {
    sio__conn *c = sio__container_of(batch.next, sio__conn, read_link);
    sio__list_remove(&c->read_link);
    sio__conn_read(c);
  }
  if (sio__list_empty(&net->read_list)) uv_idle_stop(&net->read_idle);
}

void sio__conn_pause(sio__conn *c) {
  c->paused = 1; /* edge-triggered: nothing to tell the kernel, the bytes just wait */
}

void sio__conn_resume(sio__conn *c) {
  c->paused = 0;
  if ((c->readable || (c->tls && sio__tls_has_input(c))) && !c->eof && !c->closed) want_read(c);
}

/* a.b.c.d after a prefix, as inet_ntop writes it (it goes through printf: slow for a per
 * connection call). 0, or UV_ENOSPC when it does not fit. */
static int ip4_text(char *ip, size_t iplen, const char *prefix, const unsigned char *b) {
  char tmp[32];
  size_t n = strlen(prefix);
  memcpy(tmp, prefix, n);
  for (int i = 0; i < 4; i++) {
    unsigned v = b[i];
    if (v >= 100) tmp[n++] = (char)('0' + v / 100);
    if (v >= 10) tmp[n++] = (char)('0' + v / 10 % 10);
    tmp[n++] = (char)('0' + v % 10);
    if (i < 3) tmp[n++] = '.';
  }
  if (n + 1 > iplen) return UV_ENOSPC;
  memcpy(ip, tmp, n);
  ip[n] = '\0';
  return 0;
}

int sio__conn_peer(const sio__conn *c, char *ip, size_t iplen, int *port) {
  if (c->peer_family == AF_INET6) {
    /* Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; show them as Node does. */
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    memcpy(&a6.sin6_addr, c->peer_addr, 16);
    int r = IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr) ? ip4_text(ip, iplen, "::ffff:", c->peer_addr + 12)
                                                : uv_ip6_name(&a6, ip, iplen);
    if (port) *port = ntohs(c->peer_port);
    return r;
  }
  if (c->peer_family == AF_INET) {
    if (port) *port = ntohs(c->peer_port);
    return ip4_text(ip, iplen, "", c->peer_addr);
  }
  return UV_ENOTCONN;
}

void sio__conn_set_peer(sio__conn *c, const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    c->peer_family = AF_INET6;
    c->peer_port = a6->sin6_port;
    memcpy(c->peer_addr, &a6->sin6_addr, 16);
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
    c->peer_family = AF_INET;
    c->peer_port = a4->sin_port;
    memcpy(c->peer_addr, &a4->sin_addr, 4);
  }
}

/* Called by the listener for each accepted socket. */
sio__conn *sio__conn_new(sio__net *net, int fd) {
  sio__conn *c = sio__calloc(1, sizeof(*c));
  if (!c) {
    close(fd);
    return NULL;
  }
  c->net = net;
  c->fd = fd;
  sio__list_init(&c->flush_link);
  sio__list_init(&c->read_link);
  net->nconns++;
  sio__poll_update_ref(net);
  return c;
}

void sio__conn_start(sio__conn *c) {
  if (!c->handler || !c->handler->on_data || sio__poll_add(c) != 0) conn_release(c);
  /* The first event (the socket is writable, maybe readable) comes from the set itself. */
}
