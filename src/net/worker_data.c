/* Data messages between workers (net/worker.h): what the workers' cluster adapter sends,
 * fragmented to fit SEQPACKET messages, reassembled in order on the other side, and queued
 * while the receiving worker's socket is full.
 *
 * A worker that stops reading (it is stuck, or dead and not yet restarted: the primary holds
 * its end, so nothing fails) fills its socket, then this worker's queue for it. Past
 * TXQ_LIMIT the queue is dropped with a warning, rather than grow without bound; a restarted
 * worker reads what its socket kept. */
#include "net/worker_internal.h"

#include "core/alloc.h"
#include "core/log.h"
#include "sio/core.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define TXQ_LIMIT  (64u << 20) /* bytes queued for one worker */
#define RX_MSG_MAX (64u << 20) /* the largest message reassembled */

int sio__worker_on_data(sio_worker *w, uv_loop_t *loop, sio__worker_data_fn fn, void *user) {
  if (fn && !w->data_fn) {
    int r = sio__worker_watch(w, loop);
    if (r != 0) return r;
  } else if (!fn && w->data_fn) {
    sio__worker_unwatch(w);
  }
  w->data_fn = fn;
  w->data_user = user;
  return 0;
}

void sio__worker_peers_free(sio_worker *w) {
  for (int i = 0; i < w->count; i++) {
    sio__sbuf_free(&w->peers[i].txq);
    sio__sbuf_free(&w->peers[i].rx_partial);
  }
}

/* --- receiving ----------------------------------------------------------------------------- */
void sio__worker_data_fragment(sio_worker *w, int from, const char *msg, size_t n) {
  data_head h;
  worker_peer *p = &w->peers[from];
  if (n < sizeof h) return;
  memcpy(&h, msg, sizeof h);
  if (h.len != n - sizeof h) {
    sio__warn("workers: worker %d: a malformed data message from worker %d: dropped", w->index,
              from);
    sio__sbuf_reset(&p->rx_partial);
    p->rx_started = 0;
    return;
  }
  const char *bytes = msg + sizeof h;
  if (h.flags & DATA_FIRST) {
    sio__sbuf_reset(&p->rx_partial);
    p->rx_started = 1;
  }
  if (!p->rx_started) return; /* the tail of a message whose start this process never saw */
  if ((h.flags & DATA_LAST) && p->rx_partial.len == 0) { /* usual: one fragment, no copy */
    p->rx_started = 0;
    if (w->data_fn) w->data_fn(from, bytes, h.len, w->data_user);
    return;
  }
  if (p->rx_partial.len + h.len > RX_MSG_MAX ||
      sio__sbuf_append(&p->rx_partial, bytes, h.len) < 0) {
    sio__warn("workers: worker %d: a data message from worker %d too large: dropped", w->index,
              from);
    sio__sbuf_free(&p->rx_partial);
    p->rx_started = 0;
    return;
  }
  if (!(h.flags & DATA_LAST)) return;
  p->rx_started = 0;
  sio__sbuf whole = p->rx_partial;
  p->rx_partial = (sio__sbuf)SIO__SBUF_INIT;
  if (w->data_fn) w->data_fn(from, whole.data, whole.len, w->data_user);
  sio__sbuf_free(&whole);
}

/* --- sending ------------------------------------------------------------------------------- */
/* One fragment: 1 sent, 0 the socket is full, negative on an error. */
static int send_fragment(int sock, const data_head *h, const void *bytes) {
  struct iovec iov[2] = {{(void *)h, sizeof *h}, {(void *)bytes, h->len}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = h->len ? 2 : 1};
  for (;;) {
    if (sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 1;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  }
}

static int queue_fragment(worker_peer *p, const data_head *h, const void *bytes) {
  uint32_t n = (uint32_t)(sizeof *h + h->len);
  if (sio__sbuf_append(&p->txq, &n, sizeof n) < 0 || sio__sbuf_append(&p->txq, h, sizeof *h) < 0 ||
      sio__sbuf_append(&p->txq, bytes, h->len) < 0)
    return -ENOMEM;
  return 0;
}

static void want_writable(sio_worker *w, int to, int on) {
  if (w->peers[to].want_write == on) return;
  w->peers[to].want_write = on;
  sio__worker_poll_events(w, to);
}

void sio__worker_flush(sio_worker *w, int to) {
  worker_peer *p = &w->peers[to];
  while (p->txq_off < p->txq.len) {
    uint32_t n;
    memcpy(&n, p->txq.data + p->txq_off, sizeof n);
    data_head h;
    memcpy(&h, p->txq.data + p->txq_off + sizeof n, sizeof h);
    int r = send_fragment(w->peer_fds[to], &h, p->txq.data + p->txq_off + sizeof n + sizeof h);
    if (r == 0) return; /* still full: the writable edge comes back */
    p->txq_off += sizeof n + n;
    if (r < 0) break; /* the socket failed: what is queued cannot go */
  }
  sio__sbuf_free(&p->txq);
  p->txq_off = 0;
  want_writable(w, to, 0);
}

int sio__worker_send(sio_worker *w, int to, const void *data, size_t len) {
  if (to < 0 || to >= w->count || to == w->index || w->peer_fds[to] < 0) return -EINVAL;
  worker_peer *p = &w->peers[to];
  if (p->txq.len - p->txq_off + len > TXQ_LIMIT) {
    sio__warn("workers: worker %d has not read its messages for a while (%zu bytes queued): "
              "dropping them",
              to, p->txq.len - p->txq_off);
    sio__sbuf_free(&p->txq);
    p->txq_off = 0;
    return SIO_ETOOLARGE;
  }
  const char *bytes = data;
  size_t off = 0;
  do {
    size_t chunk = len - off > SIO__WORKER_FRAGMENT ? SIO__WORKER_FRAGMENT : len - off;
    data_head h = {WORKER_DATA_MAGIC, (uint32_t)chunk,
                   (off == 0 ? DATA_FIRST : 0) | (off + chunk == len ? DATA_LAST : 0)};
    int r = p->txq.len > p->txq_off ? 0 : send_fragment(w->peer_fds[to], &h, bytes + off);
    if (r < 0) return r;
    if (r == 0) {
      if (queue_fragment(p, &h, bytes + off) < 0) return -ENOMEM;
      want_writable(w, to, 1);
    }
    off += chunk;
  } while (off < len);
  return 0;
}
