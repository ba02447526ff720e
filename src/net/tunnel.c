/* A TLS connection handed to another process: its encryption state cannot move with its socket
 * (OpenSSL has no way to carry a live session to another process), so the bytes move instead.
 * A socketpair stands in for the client's socket: one end goes to the other process as the
 * handoff's socket would (with the bytes already read, and the peer marked as TLS), the other
 * stays here as a plain connection, and this file relays between it and the client's TLS
 * connection: the client's plaintext into the pair, the other process's answers out through
 * TLS. The other process serves the pair's end as a connection it accepted; it may even pass
 * it on again (a plain socket can move).
 *
 * Order: what this process had queued for the client (an answer to an earlier request on the
 * same connection) is already in the TLS connection's write queue, ahead of anything relayed.
 * Back-pressure: a side whose queue passes RELAY_HIGH stops the other from reading until it
 * drains. Ends: the client's end of input reaches the owner as a half-close (its answer still
 * comes back); the owner's closes the client's connection after its queue has gone (with its
 * close_notify); the relay is freed when both are closed. The net
 * ends the relays still open when it is freed (sio__net_close_relays): no layer above owns them. */
#include "net/net_internal.h"
#include "net/tls.h"

#include "core/alloc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_HIGH (256 * 1024) /* bytes queued on one side before the other stops reading */

typedef struct relay {
  sio__conn *outer; /* the client's TLS connection; NULL once freed */
  sio__conn *inner; /* this process's end of the socketpair; NULL once freed */
  sio__list link;   /* in the net's relays */
  int client_done;  /* the client has sent all it will: the pair's write side is shut */
} relay;

/* The side that is not c, or NULL once it has gone. */
static sio__conn *other_side(sio__conn *c) {
  relay *r = c->ctx;
  return c == r->outer ? r->inner : r->outer;
}

static void relay_data(sio__conn *c, const char *data, size_t len) {
  sio__conn *to = other_side(c);
  if (!to || to->closing || to->closed) return; /* closing: nothing more goes that way */
  if (sio__conn_write_copy(to, data, len) != 0) {
    sio__conn_abort(c);
    sio__conn_abort(to);
    return;
  }
  if (sio__conn_buffered(to) > RELAY_HIGH) { /* read on once `to` has drained */
    sio__conn_pause(c);
    sio__conn_want_drain(to);
  }
}

/* The client has finished sending: so has the pair toward the owner, once what is queued for
 * it has gone (a half-close, as the client made: the owner may still answer). */
static void shut_inner(sio__conn *inner) {
  if (shutdown(inner->fd, SHUT_WR) != 0) sio__conn_abort(inner);
}

static void relay_drain(sio__conn *c) {
  relay *r = c->ctx;
  sio__conn *from = other_side(c);
  if (c == r->inner && r->client_done) shut_inner(c);
  if (from && !from->eof && !from->closing && !from->closed) sio__conn_resume(from);
}

/* One side has no more input (or failed). The client's end (its FIN or close_notify) is passed
 * on as a half-close, so that the owner's answer still comes back; the owner's end, or a
 * failure, ends both, each once its queue has left. */
static void relay_eof(sio__conn *c, int err) {
  relay *r = c->ctx;
  sio__conn *to = other_side(c);
  if (err < 0 && err != UV_EOF) {
    sio__conn_abort(c);
    if (to) sio__conn_close(to);
    return;
  }
  if (c == r->outer && to && !to->closing && !to->closed) {
    r->client_done = 1;
    if (sio__conn_buffered(to) == 0)
      shut_inner(to);
    else
      sio__conn_want_drain(to);
    return;
  }
  sio__conn_close(c);
  if (to) sio__conn_close(to);
}

static void relay_closed(sio__conn *c) {
  relay *r = c->ctx;
  sio__conn *to = other_side(c);
  if (c == r->outer)
    r->outer = NULL;
  else
    r->inner = NULL;
  if (to) {
    sio__conn_close(to);
  } else {
    sio__list_remove(&r->link);
    sio__free(r);
  }
}

void sio__net_close_relays(sio__net *net) {
  for (sio__list *n = net->relays.next; n != &net->relays; n = n->next) {
    relay *r = sio__container_of(n, relay, link);
    if (r->outer) sio__conn_close(r->outer); /* what is queued still goes, then close_notify */
    if (r->inner) sio__conn_close(r->inner);
  }
}

static const sio__conn_handler relay_handler = {relay_data, relay_eof, relay_drain, relay_closed};

int sio__conn_tunnel(sio__conn *c, const char *a, size_t alen, const char *b, size_t blen,
                     sio__handoff_cb cb, void *user, int tag) {
  if (!c->tls || c->closing || c->closed) return -ENOTSUP;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return -errno;
  relay *r = sio__calloc(1, sizeof *r);
  char *bytes = r ? sio__malloc(alen + blen + 1) : NULL;
  sio__conn *inner = bytes ? sio__conn_new(c->net, fds[0]) : NULL; /* closes fds[0] on failure */
  if (!inner) {
    if (!bytes) close(fds[0]);
    close(fds[1]);
    sio__free(bytes);
    sio__free(r);
    return -ENOMEM;
  }
  if (alen) memcpy(bytes, a, alen);
  if (blen) memcpy(bytes + alen, b, blen);
  r->outer = c;
  r->inner = inner;
  sio__list_insert_tail(&c->net->relays, &r->link);
  inner->handler = c->handler = &relay_handler;
  inner->ctx = c->ctx = r;
  sio__conn_start(inner);
  sio__peer peer = {.family = c->peer_family, .port = c->peer_port, .tls = 1};
  memcpy(peer.addr, c->peer_addr, sizeof peer.addr);
  cb(fds[1], &peer, bytes, alen + blen, user, tag); /* the pair's other end is cb's to close */
  sio__free(bytes);
  sio__conn_resume(c); /* the client's next bytes go through the relay */
  return 0;
}
