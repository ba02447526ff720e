/* Moving a connection between processes: giving one's socket away (sio__conn_handoff) and
 * taking one in (sio__net_adopt). The workers' fd passing (net/worker.c) rides on these.
 *
 * Giving away waits for the connection's queued writes: the response to a request that came
 * before on the same keep-alive connection must reach the client before the next process
 * writes its own. Meanwhile the connection is paused, so the bytes the client sends next stay
 * in the kernel's buffer and travel with the socket. Only the copy of the bytes already read
 * (the request head that named the other process) lives here, for that short wait. A TLS
 * connection cannot move: it is relayed through a socketpair instead (tunnel.c). */
#include "net/net_internal.h"
#include "net/tls.h"

#include "core/alloc.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct handoff {
  sio__handoff_cb cb;
  void *user;
  int tag;
  size_t len;
  char bytes[];
} handoff;

static void handoff_data(sio__conn *c, const char *d, size_t n) {} /* paused: never called */

static void handoff_close(sio__conn *c) {
  sio__free(c->ctx);
}

static void give_away(sio__conn *c) {
  handoff *h = c->ctx;
  sio__peer peer = {.family = c->peer_family, .port = c->peer_port, .tls = c->relayed_tls};
  memcpy(peer.addr, c->peer_addr, sizeof peer.addr);
  int fd = sio__conn_take_fd(c); /* handoff_close frees h later in the loop */
  if (fd >= 0) h->cb(fd, &peer, h->bytes, h->len, h->user, h->tag);
}

static void handoff_drain(sio__conn *c) {
  if (sio__conn_buffered(c) == 0) give_away(c);
}

/* The peer left (or the socket failed) before the queue drained: nothing to give. */
static void handoff_eof(sio__conn *c, int err) {
  sio__conn_abort(c);
}

static const sio__conn_handler handoff_handler = {handoff_data, handoff_eof, handoff_drain,
                                                  handoff_close};

int sio__conn_handoff(sio__conn *c, const char *a, size_t alen, const char *b, size_t blen,
                      sio__handoff_cb cb, void *user, int tag) {
  if (c->tls) return sio__conn_tunnel(c, a, alen, b, blen, cb, user, tag);
  if (c->closing || c->closed) return -ENOTSUP;
  handoff *h = sio__malloc(sizeof *h + alen + blen + 1);
  if (!h) return -ENOMEM;
  h->cb = cb;
  h->user = user;
  h->tag = tag;
  h->len = alen + blen;
  if (alen) memcpy(h->bytes, a, alen);
  if (blen) memcpy(h->bytes + alen, b, blen);
  c->handler = &handoff_handler;
  c->ctx = h;
  sio__conn_pause(c);
  if (sio__conn_buffered(c) == 0)
    give_away(c);
  else
    sio__conn_want_drain(c);
  return 0;
}

void sio__net_adopt(sio__net *net, int fd, const sio__peer *peer, char *bytes, size_t len,
                    sio__accept_cb cb, void *user) {
  sio__conn *c = sio__conn_new(net, fd); /* closes fd on failure */
  if (!c) return;
  c->relayed_tls = peer->tls != 0;
  c->peer_family = peer->family;
  c->peer_port = peer->port;
  memcpy(c->peer_addr, peer->addr, sizeof c->peer_addr);
  cb(NULL, c, user);
  sio__conn_start(c); /* the set reports what the socket holds already */
  if (!c->closed && !c->closing && len) c->handler->on_data(c, bytes, len);
}
