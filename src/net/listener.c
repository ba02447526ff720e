/* Listening sockets. The default host listens on "::" (IPv6 and, through the dual-stack
 * socket, IPv4) as Node's listen(port) does, falling back to 0.0.0.0 where IPv6 is missing.
 *
 * Running out of file descriptors (EMFILE/ENFILE) must neither spin nor crash: libuv keeps a
 * reserve descriptor to accept-and-close the excess connection; we log the episode once and
 * log again only after an accept has succeeded. A connection cap below RLIMIT_NOFILE keeps a
 * margin for files and the server's own descriptors. */
#include "net/net_internal.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

struct sio__listener {
  uv_tcp_t tcp;
  sio__net *net;
  sio__accept_cb cb;
  void *user;
  int port;
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

static void on_rejected_closed(uv_handle_t *h) { sio__free(h); }

/* Past the cap: accept and close at once so the backlog does not fill with dead peers. */
static void reject_one(sio__listener *l) {
  uv_tcp_t *t = sio__malloc(sizeof(*t));
  if (!t) return;
  uv_tcp_init(l->net->loop, t);
  if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)t) != 0) {
    uv_close((uv_handle_t *)t, on_rejected_closed);
    return;
  }
  uv_close((uv_handle_t *)t, on_rejected_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  sio__listener *l = server->data;
  if (status < 0) {
    if (!l->in_fd_exhaustion)
      sio__warn("accept failed: %s (out of file descriptors?); serving existing connections",
                uv_strerror(status));
    l->in_fd_exhaustion = 1;
    return;
  }
  if (l->net->nconns >= l->max_conns) {
    if (!l->in_cap_exhaustion)
      sio__warn("connection cap %zu reached; closing new connections", l->max_conns);
    l->in_cap_exhaustion = 1;
    reject_one(l);
    return;
  }
  l->in_cap_exhaustion = 0;
  sio__conn *c = sio__conn_new(l->net);
  if (!c) {
    reject_one(l);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    sio__conn_start(c); /* no handler yet: closes */
    return;
  }
  l->in_fd_exhaustion = 0;
  uv_tcp_nodelay(&c->tcp, 1);
  l->cb(l, c, l->user);
  sio__conn_start(c);
}

static int bind_addr(sio__listener *l, const char *host, int port) {
  struct sockaddr_storage ss;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0 &&
      uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0)
    return UV_EINVAL;
  return uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
}

static void on_listener_closed(uv_handle_t *h) { sio__free(h->data); }

static int try_listen(sio__listener *l, const char *host, int port, int backlog) {
  uv_tcp_init(l->net->loop, &l->tcp);
  l->tcp.data = l;
  int r = bind_addr(l, host, port);
  if (r == 0) r = uv_listen((uv_stream_t *)&l->tcp, backlog, on_connection);
  return r;
}

int sio__listen(sio__net *net, const sio__listen_opts *opts, sio__accept_cb cb, void *user,
                sio__listener **out) {
  sio__listener *l = sio__calloc(1, sizeof(*l));
  if (!l) return -ENOMEM;
  l->net = net;
  l->cb = cb;
  l->user = user;
  l->max_conns = opts->max_conns > 0 ? (size_t)opts->max_conns : default_max_conns();
  int backlog = opts->backlog > 0 ? opts->backlog : 511;
  const char *host = opts->host && *opts->host ? opts->host : NULL;
  int r = try_listen(l, host ? host : "::", opts->port, backlog);
  if (r != 0 && !host && r != UV_EADDRINUSE) {
    /* No IPv6 here: close the failed handle, then listen on IPv4 only. */
    sio__listener *l4 = sio__calloc(1, sizeof(*l4));
    if (!l4) r = -ENOMEM;
    else {
      *l4 = *l;
      l->tcp.data = l;
      uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
      l = l4;
      r = try_listen(l, "0.0.0.0", opts->port, backlog);
    }
  }
  if (r != 0) {
    l->tcp.data = l;
    uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    return r;
  }
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
  l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  *out = l;
  return 0;
}

int sio__listener_port(const sio__listener *l) { return l->port; }

void sio__listener_close(sio__listener *l) {
  l->tcp.data = l;
  uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}
