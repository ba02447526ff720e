/* Connections: reading into the loop-wide buffer, batched writes, and closing cleanly.
 *
 * Writes are queued as (buffer, offset, length) references and flushed once per loop
 * iteration: first uv_try_write with every queued piece in one writev, then a uv_write for
 * what the kernel did not take. A close waits for the queue to drain, half-closes (FIN), and
 * keeps reading (discarding) until the peer closes or SIO__LINGER_MS passes, so that a
 * response followed by close is not cut off by a reset. */
#include "net/net_internal.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static void conn_release(sio__conn *c);
static void flush(sio__conn *c);
static void drop_queue(sio__conn *c);
static void maybe_free_queue(sio__conn *c);

static void on_handle_closed(uv_handle_t *h) {
  sio__conn *c = h->data;
  sio__net *net = c->net;
  net->nconns--;
  if (c->wq) { /* write callbacks have run (libuv cancels them before this) */
    c->wq->inflight = 0;
    drop_queue(c);
    maybe_free_queue(c);
  }
  sio__free(c->linger);
  if (c->handler && c->handler->on_close) c->handler->on_close(c);
  sio__free(c);
  sio__net_conn_gone(net);
}

static void drop_queue(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (!wq) return;
  for (size_t i = wq->head; i < wq->n; i++) sio__buf_unref(wq->items[i].buf);
  wq->head = wq->n = 0;
  wq->queued = 0;
}

/* Frees the queue unless a uv_write still references it (its callback frees it then). */
static void maybe_free_queue(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (!wq || wq->inflight != 0 || wq->head != wq->n) return;
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
  if (c->wq && c->wq->inflight == 0) {
    drop_queue(c);
    maybe_free_queue(c);
  }
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void sio__conn_abort(sio__conn *c) {
  conn_release(c);
}

/* Consumes `n` written bytes from the front of the queue. */
static void consume(sio__conn *c, size_t n) {
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

/* Half-closes at once with shutdown(2) (uv_shutdown would wait for another loop iteration
 * and re-arm epoll for it), then reads until the peer's FIN or the linger time. */
static void start_shutdown(sio__conn *c) {
  if (c->shut || c->closed) return;
  c->shut = 1;
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || shutdown(fd, SHUT_WR) != 0 || c->eof) {
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

static void on_write(uv_write_t *req, int status) {
  sio__conn *c = req->data;
  struct sio__wq *wq = c->wq;
  size_t done = wq->inflight;
  wq->inflight = 0;
  if (c->closed) {
    drop_queue(c);
    maybe_free_queue(c);
    return;
  }
  if (status < 0) {
    drop_queue(c);
    maybe_free_queue(c);
    conn_release(c);
    return;
  }
  consume(c, done);
  if (wq->head < wq->n) {
    flush(c);
    return;
  }
  maybe_free_queue(c);
  after_drain(c);
}

static size_t fill_iov(struct sio__wq *wq, uv_buf_t *iov, size_t *bytes) {
  size_t k = 0;
  *bytes = 0;
  for (size_t i = wq->head; i < wq->n && k < SIO__IOV_MAX; i++, k++) {
    iov[k] = uv_buf_init(wq->items[i].buf->data + wq->items[i].off, (unsigned)wq->items[i].len);
    *bytes += wq->items[i].len;
  }
  return k;
}

/* The last bytes before a close or half-close: sent with MSG_MORE so that they wait in the
 * kernel for the close(2) or shutdown(2) that follows at once, which tacks its FIN onto them:
 * one segment instead of two. Same contract as uv_try_write. */
static int try_write_last(sio__conn *c, uv_buf_t *iov, size_t k) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) return UV_EBADF;
  struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = k}; /* same layout */
  ssize_t n;
  do n = sendmsg(fd, &mh, MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
}

static void flush(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  if (sio__list_linked(&c->flush_link)) sio__list_remove(&c->flush_link);
  if (c->closed || !wq || wq->inflight) return;
  uv_buf_t iov[SIO__IOV_MAX];
  while (wq->head < wq->n) {
    size_t bytes;
    size_t k = fill_iov(wq, iov, &bytes);
    int last = c->shutdown_after_flush && k == wq->n - wq->head;
    int n =
        last ? try_write_last(c, iov, k) : uv_try_write((uv_stream_t *)&c->tcp, iov, (unsigned)k);
    if (n == UV_EAGAIN || (n >= 0 && (size_t)n < bytes)) {
      if (n > 0) consume(c, (size_t)n);
      k = fill_iov(wq, iov, &bytes);
      wq->inflight = bytes;
      wq->req.data = c;
      if (uv_write(&wq->req, (uv_stream_t *)&c->tcp, iov, (unsigned)k, on_write) != 0) {
        wq->inflight = 0;
        conn_release(c);
      }
      return;
    }
    if (n < 0) {
      conn_release(c);
      return;
    }
    consume(c, (size_t)n);
  }
  maybe_free_queue(c);
  after_drain(c);
}

void sio__conn_flush(sio__conn *c) {
  flush(c);
}

size_t sio__conn_buffered(const sio__conn *c) {
  return c->wq ? c->wq->queued : 0;
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
  if (wq->head > 0) { /* reuse the consumed front (uv_write copied its iovecs) */
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

int sio__conn_write(sio__conn *c, sio__buf *b, size_t off, size_t len) {
  if (c->closing || c->closed) return SIO_ECLOSED;
  if (len == 0) return 0;
  int r = ensure_capacity(c);
  if (r != 0) return r;
  c->wq->items[c->wq->n++] = (struct sio__wq_item){sio__buf_ref(b), off, len};
  c->wq->queued += len;
  if (!sio__list_linked(&c->flush_link)) sio__list_insert_tail(&c->net->flush_list, &c->flush_link);
  return 0;
}

int sio__conn_write_copy(sio__conn *c, const void *data, size_t len) {
  if (c->closing || c->closed) return SIO_ECLOSED;
  sio__buf *b = sio__buf_from(data, len);
  if (!b) return -ENOMEM;
  int r = sio__conn_write(c, b, 0, len);
  sio__buf_unref(b);
  return r;
}

void sio__conn_close(sio__conn *c) {
  if (c->closing || c->closed) return;
  c->closing = 1;
  if (sio__conn_buffered(c) > 0) {
    c->shutdown_after_flush = 1;
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  sio__conn *c = h->data;
  *buf = uv_buf_init(c->net->read_buf, SIO__READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  sio__conn *c = s->data;
  if (c->closed) return;
  if (nread > 0) {
    if (c->closing) return; /* lingering: discard */
    c->handler->on_data(c, buf->base, (size_t)nread);
    return;
  }
  if (nread == 0) return;
  c->eof = 1;
  uv_read_stop(s);
  c->reading = 0;
  if (c->closing) {
    if (c->shut || nread != UV_EOF) conn_release(c);
    return;
  }
  if (nread == UV_EOF && c->handler->on_eof) {
    c->handler->on_eof(c, (int)nread);
    return;
  }
  if (nread != UV_EOF && c->handler->on_eof) c->handler->on_eof(c, (int)nread);
  conn_release(c);
}

void sio__conn_pause(sio__conn *c) {
  c->paused = 1;
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

void sio__conn_resume(sio__conn *c) {
  c->paused = 0;
  if (!c->reading && !c->eof && !c->closed) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
  }
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
sio__conn *sio__conn_new(sio__net *net) {
  sio__conn *c = sio__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->net = net;
  uv_tcp_init(net->loop, &c->tcp);
  c->tcp.data = c;
  sio__list_init(&c->flush_link);
  net->nconns++;
  return c;
}

void sio__conn_start(sio__conn *c) {
  if (!c->handler || !c->handler->on_data) {
    conn_release(c);
    return;
  }
  sio__conn_resume(c);
}
