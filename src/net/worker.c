/* The worker's Unix sockets to the other workers: passing a connection (sendmsg with its
 * descriptor in SCM_RIGHTS) and receiving one (recvmsg, then the app on its port adopts it).
 * See net/worker.h for who makes the sockets and why they survive restarts. */
#include "net/worker_internal.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

sio_worker *sio__worker_new(int index, int count, const int *peer_fds) {
  sio_worker *w = sio__calloc(1, sizeof *w);
  if (!w) return NULL;
  w->index = index;
  w->count = count;
  w->peer_fds = sio__malloc((size_t)count * sizeof(int));
  w->polls = sio__calloc((size_t)count, sizeof(uv_poll_t));
  w->peers = sio__calloc((size_t)count, sizeof(worker_peer));
  if (!w->peer_fds || !w->polls || !w->peers) {
    sio__free(w->peer_fds);
    sio__free(w->polls);
    sio__free(w->peers);
    sio__free(w);
    return NULL;
  }
  memcpy(w->peer_fds, peer_fds, (size_t)count * sizeof(int));
  return w;
}

void sio__worker_free(sio_worker *w) {
  if (!w) return;
  for (int i = 0; i < w->count; i++)
    if (w->peer_fds[i] >= 0) close(w->peer_fds[i]);
  sio__worker_peers_free(w);
  sio__free(w->peer_fds);
  sio__free(w->polls);
  sio__free(w->peers);
  sio__free(w->rx);
  sio__free(w);
}

int sio_worker_index(const sio_worker *w) {
  return w ? w->index : 0;
}
int sio_worker_count(const sio_worker *w) {
  return w ? w->count : 1;
}

/* --- receiving ----------------------------------------------------------------------------- */
static const worker_app *app_on_port(const sio_worker *w, int port) {
  for (int i = 0; i < w->napps; i++)
    if (w->apps[i].port == port) return &w->apps[i];
  return w->napps == 1 ? &w->apps[0] : NULL;
}

/* One message: 1 handled, 0 none left, -1 the socket failed (stop watching it). */
static int receive_one(sio_worker *w, int from) {
  int sock = w->peer_fds[from];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = {w->rx, sizeof(pass_head) + SIO__WORKER_MAX_BYTES};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (n == 0) return -1; /* the other end is gone for good (only at the primary's end) */
  int fd = -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  uint32_t magic = 0;
  if ((size_t)n >= sizeof magic) memcpy(&magic, w->rx, sizeof magic);
  if (magic == WORKER_DATA_MAGIC && fd < 0 && !(mh.msg_flags & MSG_TRUNC)) {
    sio__worker_data_fragment(w, from, w->rx, (size_t)n);
    return 1;
  }
  pass_head head;
  if ((size_t)n < sizeof head || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    sio__warn("workers: worker %d: a malformed connection message (%zd bytes): dropped", w->index,
              n);
    if (fd >= 0) close(fd);
    return 1;
  }
  memcpy(&head, w->rx, sizeof head);
  if (head.magic != WORKER_MSG_MAGIC || head.len != (size_t)n - sizeof head || fd < 0) {
    sio__warn("workers: worker %d: a connection message without its socket: dropped", w->index);
    if (fd >= 0) close(fd);
    return 1;
  }
  const worker_app *app = app_on_port(w, head.port);
  if (!app) {
    close(fd); /* the app that would serve it is gone (shutting down) */
    return 1;
  }
  app->fn(fd, &head.peer, w->rx + sizeof head, head.len, app->user);
  return 1;
}

static void on_events(uv_poll_t *h, int status, int events) {
  sio_worker *w = h->data;
  int from = (int)(h - w->polls);
  if (status >= 0 && (events & UV_WRITABLE)) sio__worker_flush(w, from);
  if (status >= 0 && !(events & UV_READABLE)) return;
  for (int i = 0; i < MSGS_PER_WAKEUP && w->watching; i++) {
    int r = status < 0 ? -1 : receive_one(w, from);
    if (r == 0) return;
    if (r < 0) {
      uv_poll_stop(h);
      return;
    }
  }
}

void sio__worker_poll_events(sio_worker *w, int i) {
  if (!w->watching) return;
  uv_poll_start(&w->polls[i], UV_READABLE | (w->peers[i].want_write ? UV_WRITABLE : 0), on_events);
}

static int start_watching(sio_worker *w, uv_loop_t *loop) {
  if (!w->rx && !(w->rx = sio__malloc(sizeof(pass_head) + SIO__WORKER_MAX_BYTES))) return -ENOMEM;
  for (int i = 0; i < w->count; i++) {
    if (w->peer_fds[i] < 0) continue;
    int r = uv_poll_init(loop, &w->polls[i], w->peer_fds[i]);
    if (r != 0) return r;
    w->polls[i].data = w;
    uv_unref((uv_handle_t *)&w->polls[i]); /* the apps keep the loop alive, not these */
  }
  w->watching = 1;
  for (int i = 0; i < w->count; i++)
    if (w->peer_fds[i] >= 0) sio__worker_poll_events(w, i);
  return 0;
}

static void on_poll_closed(uv_handle_t *h) {
  sio_worker *w = h->data;
  w->closing--;
}

static void stop_watching(sio_worker *w) {
  w->watching = 0;
  for (int i = 0; i < w->count; i++) {
    if (w->peer_fds[i] < 0) continue;
    w->closing++;
    uv_close((uv_handle_t *)&w->polls[i], on_poll_closed);
  }
}

int sio__worker_watch(sio_worker *w, uv_loop_t *loop) {
  if (!w->watching) {
    if (w->closing) return -EBUSY;
    int r = start_watching(w, loop);
    if (r != 0) return r;
  }
  w->users++;
  return 0;
}

void sio__worker_unwatch(sio_worker *w) {
  if (--w->users == 0 && w->watching) stop_watching(w);
}

int sio__worker_add_app(sio_worker *w, uv_loop_t *loop, int port, sio__adopt_fn fn, void *user) {
  if (w->napps == MAX_APPS) return -ENOSPC;
  int r = sio__worker_watch(w, loop);
  if (r != 0) return r;
  w->apps[w->napps++] = (worker_app){port, fn, user};
  return 0;
}

void sio__worker_remove_app(sio_worker *w, void *user) {
  for (int i = 0; i < w->napps; i++) {
    if (w->apps[i].user != user) continue;
    w->apps[i] = w->apps[--w->napps];
    sio__worker_unwatch(w);
    return;
  }
}

/* --- sending ------------------------------------------------------------------------------- */
int sio__worker_pass(sio_worker *w, int to, int fd, int port, const sio__peer *peer,
                     const char *bytes, size_t len) {
  if (to < 0 || to >= w->count || to == w->index || w->peer_fds[to] < 0) return -EINVAL;
  if (len > SIO__WORKER_MAX_BYTES) return -EMSGSIZE;
  pass_head head;
  memset(&head, 0, sizeof head); /* padding too: it crosses to the other process */
  head.magic = WORKER_MSG_MAGIC;
  head.len = (uint32_t)len;
  head.port = (uint16_t)port;
  head.peer = *peer;
  struct iovec iov[2] = {{&head, sizeof head}, {(void *)bytes, len}};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr mh = {.msg_iov = iov,
                      .msg_iovlen = len ? 2 : 1,
                      .msg_control = ctl.buf,
                      .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  for (;;) {
    ssize_t n = sendmsg(w->peer_fds[to], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}
