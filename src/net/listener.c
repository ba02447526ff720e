/* Listening sockets, accepted by sio itself rather than by libuv.
 *
 * The default host listens on "::" with IPV6_V6ONLY off (IPv6 and, through the dual-stack
 * socket, IPv4) as Node's listen(port) does, falling back to 0.0.0.0 where IPv6 is missing.
 *
 * Why our own accept loop (a uv_poll_t on the listening socket, accept4 until EAGAIN): running
 * out of file descriptors must neither spin nor crash, and must be logged once per episode.
 * libuv handles EMFILE internally (its reserve-descriptor trick) without telling the caller,
 * so the episode could not be seen. Here the same trick is ours: a descriptor on /dev/null is
 * kept in reserve; on EMFILE/ENFILE it is closed, the pending connection accepted and closed
 * at once (the peer sees a clean close instead of hanging in the backlog), and the reserve is
 * taken again. A connection cap below RLIMIT_NOFILE keeps a margin for files and the server's
 * own descriptors; past it connections are accepted and closed (the HTTP layer answers 503
 * below its own, lower cap). */
#include "net/net_internal.h"
#include "net/tls.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKEUP 256

struct sio__listener {
  uv_poll_t poll;
  int fd;
  int reserve_fd; /* spare descriptor for the EMFILE trick; -1 when it could not be had */
  sio__net *net;
  sio__accept_cb cb;
  void *user;
  int port;
  sio__tls_ctx *tls; /* a TLS listener's configuration (a reference), or NULL */
  size_t max_conns;
  int in_fd_exhaustion;
  int in_cap_exhaustion;
};

static size_t default_max_conns(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1000000;
  size_t limit = (size_t)rl.rlim_cur;
  size_t margin = limit / 20 > 64 ? limit / 20 : 64;
  if (margin > 500) margin = 500;
  return limit > margin ? limit - margin : limit / 2;
}

static void take_reserve(sio__listener *l) {
  if (l->reserve_fd < 0) l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: use the reserve to accept and close one pending connection. */
static void shed_one(sio__listener *l) {
  if (l->reserve_fd < 0) return;
  close(l->reserve_fd);
  l->reserve_fd = -1;
  int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) close(fd);
  take_reserve(l);
}

static void note_fd_exhaustion(sio__listener *l, int err) {
  if (l->in_fd_exhaustion) return;
  l->in_fd_exhaustion = 1;
  sio__warn("accept: %s: out of file descriptors (%zu connections open); new connections are "
            "closed at once, existing ones keep being served",
            strerror(err), l->net->nconns);
}

static void accept_one(sio__listener *l, int fd, const struct sockaddr *peer) {
  if (l->in_fd_exhaustion) {
    l->in_fd_exhaustion = 0;
    sio__debug("accept: file descriptors available again");
  }
  if (l->net->nconns >= l->max_conns) {
    if (!l->in_cap_exhaustion)
      sio__warn("connection cap %zu reached; closing new connections", l->max_conns);
    l->in_cap_exhaustion = 1;
    close(fd);
    return;
  }
  if (l->in_cap_exhaustion) {
    l->in_cap_exhaustion = 0;
    sio__debug("connection cap: below %zu again", l->max_conns);
  }
  sio__conn *c = sio__conn_new(l->net, fd); /* closes fd on failure */
  if (!c) return;
  sio__conn_set_peer(c, peer);
  if (l->tls && sio__tls_attach(c, l->tls) != 0) {
    sio__conn_abort(c);
    return;
  }
  l->cb(l, c, l->user);
  sio__conn_start(c);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sio__listener *l = h->data;
  if (status < 0) return;
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(l, fd, (struct sockaddr *)&peer);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    if (err == EMFILE || err == ENFILE) {
      note_fd_exhaustion(l, err);
      shed_one(l);
      if (l->reserve_fd < 0) return; /* nothing to shed with: wait for descriptors to free */
      continue;
    }
    sio__warn("accept: %s", strerror(err));
    return;
  }
}

static int make_socket(const char *host, int port, int backlog, int reuseport, int *out_fd,
                       int *out_port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0)
    len = sizeof(struct sockaddr_in6);
  else if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0)
    len = sizeof(struct sockaddr_in);
  else
    return UV_EINVAL;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* before bind: the kernel groups the sockets bound with it to one port */
  if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  /* Accepted sockets inherit TCP_NODELAY from the listener on Linux: one setsockopt here
   * instead of one per connection. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  *out_fd = fd;
  return 0;
}

int sio__listen(sio__net *net, const sio__listen_opts *opts, sio__accept_cb cb, void *user,
                sio__listener **out) {
  int backlog = opts->backlog > 0 ? opts->backlog : 511;
  const char *host = opts->host && *opts->host ? opts->host : NULL;
  int fd = -1, port = 0;
  int r = make_socket(host ? host : "::", opts->port, backlog, opts->reuseport, &fd, &port);
  if (r != 0 && !host && r != UV_EADDRINUSE)
    r = make_socket("0.0.0.0", opts->port, backlog, opts->reuseport, &fd, &port);
  if (r != 0) return r;
  sio__listener *l = sio__calloc(1, sizeof(*l));
  if (!l) {
    close(fd);
    return -ENOMEM;
  }
  l->fd = fd;
  l->reserve_fd = -1;
  take_reserve(l);
  l->net = net;
  l->cb = cb;
  l->user = user;
  l->port = port;
  l->tls = opts->tls ? sio__tls_ctx_ref(opts->tls) : NULL;
  l->max_conns = opts->max_conns > 0 ? (size_t)opts->max_conns : default_max_conns();
  r = uv_poll_init(net->loop, &l->poll, fd);
  if (r == 0) {
    l->poll.data = l;
    r = uv_poll_start(&l->poll, UV_READABLE, on_readable);
  }
  if (r != 0) {
    close(fd);
    if (l->reserve_fd >= 0) close(l->reserve_fd);
    sio__tls_ctx_unref(l->tls);
    sio__free(l);
    return r;
  }
  *out = l;
  return 0;
}

int sio__listener_port(const sio__listener *l) {
  return l->port;
}

static void on_listener_closed(uv_handle_t *h) {
  sio__listener *l = h->data;
  close(l->fd);
  if (l->reserve_fd >= 0) close(l->reserve_fd);
  sio__tls_ctx_unref(l->tls);
  sio__free(l);
}

void sio__listener_close(sio__listener *l) {
  uv_poll_stop(&l->poll);
  uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}
