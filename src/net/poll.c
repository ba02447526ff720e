/* The connections' epoll set: one per net, watched by the libuv loop through one uv_poll_t.
 *
 * Why not a uv_tcp_t per connection: libuv's stream handle costs about 250 bytes per
 * connection, an ioctl when it adopts an accepted descriptor, and an epoll_ctl(DEL) at every
 * close (libuv cannot know whether another process shares the socket). Here a connection is a
 * bare descriptor added once, edge-triggered, for reading; the writable edge is added the first
 * time a write finds the socket buffer full (most connections never do). Pausing is a flag, a
 * write stall waits for the writable edge, and close(2) takes the descriptor out of the set by
 * itself.
 *
 * An event carries the descriptor and the connection's generation rather than a pointer. If
 * a forked child still holds a socket we closed, the kernel keeps it in the set and may report
 * it after the connection was freed (or its number reused): such an event finds no connection
 * of that generation and is ignored; edge triggering keeps it from repeating. */
#include "net/net_internal.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Rounds of epoll_wait per wake-up when a round fills the event array. */
#define ROUNDS_PER_WAKEUP 4

static uint64_t event_key(const sio__conn *c) {
  return (uint64_t)c->gen << 32 | (uint32_t)c->fd;
}

static void dispatch(sio__net *net, const struct epoll_event *ev) {
  uint32_t fd = (uint32_t)ev->data.u64;
  if (fd >= net->by_fd_cap) return;
  sio__conn *c = net->by_fd[fd];
  if (!c || c->gen != (uint32_t)(ev->data.u64 >> 32)) return;
  sio__conn_on_events(c, ev->events);
}

static void on_io(uv_poll_t *h, int status, int events) {
  (void)events;
  sio__net *net = h->data;
  if (status < 0) return;
  struct epoll_event ev[SIO__EVENTS_PER_WAIT];
  for (int round = 0; round < ROUNDS_PER_WAKEUP; round++) {
    int n = epoll_wait(net->epfd, ev, SIO__EVENTS_PER_WAIT, 0);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) dispatch(net, &ev[i]);
    if (n < SIO__EVENTS_PER_WAIT) break;
  }
}

static void on_read_idle(uv_idle_t *h) {
  sio__net_read_pending(h->data);
}

void sio__poll_schedule_reads(sio__net *net) {
  uv_idle_start(&net->read_idle, on_read_idle); /* a no-op while it runs */
}

int sio__poll_init(sio__net *net) {
  net->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (net->epfd < 0) return -errno;
  int r = uv_poll_init(net->loop, &net->io_poll, net->epfd);
  if (r != 0) {
    close(net->epfd);
    net->epfd = -1;
    return r;
  }
  net->io_poll.data = net;
  uv_poll_start(&net->io_poll, UV_READABLE, on_io);
  uv_unref((uv_handle_t *)&net->io_poll); /* ref'd while there are connections */
  uv_idle_init(net->loop, &net->read_idle);
  net->read_idle.data = net;
  return 0;
}

void sio__poll_update_ref(sio__net *net) {
  int want = net->nconns > 0;
  if (want == net->io_poll_ref) return;
  net->io_poll_ref = want;
  if (want)
    uv_ref((uv_handle_t *)&net->io_poll);
  else
    uv_unref((uv_handle_t *)&net->io_poll);
}

static int grow_by_fd(sio__net *net, size_t fd) {
  size_t cap = net->by_fd_cap ? net->by_fd_cap : 1024;
  while (cap <= fd) cap *= 2;
  sio__conn **t = sio__realloc(net->by_fd, cap * sizeof(*t));
  if (!t) return -ENOMEM;
  memset(t + net->by_fd_cap, 0, (cap - net->by_fd_cap) * sizeof(*t));
  net->by_fd = t;
  net->by_fd_cap = cap;
  return 0;
}

/* Reading only, at first: a new socket is writable at once, and asking for that edge would cost
 * every connection an event that says nothing. sio__poll_want_writable adds it the first time a
 * write finds the socket buffer full. */
int sio__poll_add(sio__conn *c) {
  sio__net *net = c->net;
  if ((size_t)c->fd >= net->by_fd_cap && grow_by_fd(net, (size_t)c->fd) != 0) return -ENOMEM;
  c->gen = ++net->next_gen;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET};
  ev.data.u64 = event_key(c);
  if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) return -errno;
  net->by_fd[c->fd] = c;
  return 0;
}

/* The socket's buffer was full: from now on its writable edge is wanted too (kept for the
 * connection's life, so a slow reader costs one epoll_ctl, not one per stall). If the buffer
 * drained meanwhile, the kernel reports the edge at once. */
int sio__poll_want_writable(sio__conn *c) {
  if (c->out_armed) return 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
  ev.data.u64 = event_key(c);
  if (epoll_ctl(c->net->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) return -errno;
  c->out_armed = 1;
  return 0;
}

void sio__poll_forget(sio__conn *c) {
  sio__net *net = c->net;
  if (c->fd >= 0 && (size_t)c->fd < net->by_fd_cap && net->by_fd[c->fd] == c)
    net->by_fd[c->fd] = NULL;
}

/* Called by net.c when the net's handles close. */
void sio__poll_free(sio__net *net) {
  if (net->epfd >= 0) close(net->epfd);
  net->epfd = -1;
  sio__free(net->by_fd);
  net->by_fd = NULL;
  net->by_fd_cap = 0;
}
