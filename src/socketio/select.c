/* Server-side operations on a selection of sockets: fetchSockets, socketsJoin, socketsLeave
 * and disconnectSockets, on this node and, through the adapter, on the others; and the same
 * operations when another node asks for them (sio_adapter_apply_*).
 *
 * The local part selects first (the adapter's select, each socket referenced) and acts after,
 * so that a socket that disconnects or changes rooms meanwhile disturbs nothing. The remote
 * part is the adapter's (add_sockets, del_sockets, disconnect_sockets, fetch_sockets), unless
 * the operator is local (sio_local) or one socket's (sio_socket_self_op). On a dynamic parent
 * both parts run for every child. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

typedef struct gather {
  sio_socket **v;
  size_t n, cap;
  int oom;
} gather;

static void gather_one(sio_member *mem, void *ctxp) {
  gather *g = ctxp;
  sio_socket *s = (sio_socket *)mem;
  if (s->state != SIO__S_CONNECTED) return;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 16;
    sio_socket **p = sio__realloc(g->v, cap * sizeof(*p));
    if (!p) {
      g->oom = 1;
      return;
    }
    g->v = p;
    g->cap = cap;
  }
  sio_socket_ref(s);
  g->v[g->n++] = s;
}

static int select_in(sio_nsp *nsp, const sio_bcast_opts *o, gather *g) {
  long n = nsp->adapter->ops->select(nsp->adapter, o, gather_one, g);
  if (n < 0) return (int)n;
  return g->oom ? -ENOMEM : 0;
}

/* The namespaces an operator works on: itself, or a dynamic parent's children. */
static sio_nsp *next_nsp(sio_op *op, size_t *i) {
  if (op->nsp->kind != SIO__NSP_PARENT) return (*i)++ == 0 ? op->nsp : NULL;
  sio__map_entry *e;
  while ((e = sio__map_next(&op->nsp->io->nsps, i))) {
    sio_nsp *child = e->value;
    if (child->parent == op->nsp) return child;
  }
  return NULL;
}

static int select_sockets(sio_op *op, gather *g) {
  memset(g, 0, sizeof(*g));
  if (!op) return -ENOMEM;
  if (op->failed) return op->failed;
  if (op->self) { /* the socket alone */
    gather_one(&op->self->member, g);
    return g->oom ? -ENOMEM : 0;
  }
  sio_bcast_opts o = sio__op_opts(op);
  size_t i = 0;
  sio_nsp *nsp;
  while ((nsp = next_nsp(op, &i))) {
    int rc = select_in(nsp, &o, g);
    if (rc) return rc;
  }
  return 0;
}

static void gather_free(gather *g) {
  for (size_t i = 0; i < g->n; i++) sio_socket_unref(g->v[i]);
  sio__free(g->v);
}

enum { JOIN, LEAVE, DISCONNECT };

/* The other nodes' part of an operation (none for a local or one-socket operator). */
static int forward(sio_op *op, int what, const char *room, int close) {
  if (op->self || op->flags & SIO_BC_LOCAL) return 0;
  sio_bcast_opts o = sio__op_opts(op);
  const char *rooms[] = {room};
  int rc = 0;
  size_t i = 0;
  sio_nsp *nsp;
  while ((nsp = next_nsp(op, &i))) {
    sio_adapter *a = nsp->adapter;
    int r = what == JOIN    ? a->ops->add_sockets(a, &o, rooms, 1)
            : what == LEAVE ? a->ops->del_sockets(a, &o, rooms, 1)
                            : a->ops->disconnect_sockets(a, &o, close);
    if (r && !rc) rc = r;
  }
  return rc;
}

static void apply(sio_socket *const *v, size_t n, int what, const char *const *rooms, size_t nrooms,
                  int close, int *rc) {
  for (size_t i = 0; i < n && !*rc; i++) {
    if (what == DISCONNECT) {
      sio_disconnect(v[i], close);
      continue;
    }
    for (size_t r = 0; r < nrooms && !*rc; r++) {
      if (what == JOIN)
        *rc = sio_join(v[i], rooms[r]);
      else
        sio_leave(v[i], rooms[r]);
    }
  }
}

/* An operator's operation: here, then on the other nodes. Consumes op. */
static int run(sio_op *op, int what, const char *room, int close) {
  gather g;
  int rc = select_sockets(op, &g);
  const char *rooms[] = {room};
  apply(g.v, g.n, what, rooms, 1, close, &rc);
  gather_free(&g);
  if (!rc) rc = forward(op, what, room, close);
  sio_op_free(op);
  return rc;
}

int sio_fetch_sockets(sio_op *op, sio_sockets_fn fn, void *user) {
  gather g;
  int rc = select_sockets(op, &g);
  if (!rc) fn(g.v, g.n, user);
  gather_free(&g);
  sio_op_free(op);
  return rc;
}

int sio_sockets_join(sio_op *op, const char *room) {
  if (op && !room) op->failed = -EINVAL;
  return run(op, JOIN, room, 0);
}

int sio_sockets_leave(sio_op *op, const char *room) {
  if (op && !room) op->failed = -EINVAL;
  return run(op, LEAVE, room, 0);
}

int sio_disconnect_sockets(sio_op *op, int close) {
  return run(op, DISCONNECT, NULL, close);
}

int sio_fetch_remote_sockets(sio_op *op, sio_remote_sockets_fn fn, void *user) {
  int rc = !op ? -ENOMEM : op->failed ? op->failed : !fn ? -EINVAL : 0;
  if (!rc && (op->self || op->flags & SIO_BC_LOCAL || op->nsp->kind == SIO__NSP_PARENT)) {
    fn(0, NULL, 0, user); /* nothing remote to ask (a parent has no adapter of its own) */
  } else if (!rc) {
    sio_bcast_opts o = sio__op_opts(op);
    rc = op->nsp->adapter->ops->fetch_sockets(op->nsp->adapter, &o, fn, user);
  }
  sio_op_free(op);
  return rc;
}

/* --- asked by another node ----------------------------------------------------------------- */

static int apply_here(sio_nsp *nsp, const sio_bcast_opts *o, int what, const char *const *rooms,
                      size_t n, int close) {
  if (!nsp || !o || (what != DISCONNECT && n && !rooms)) return -EINVAL;
  gather g;
  memset(&g, 0, sizeof(g));
  int rc = select_in(nsp, o, &g);
  apply(g.v, g.n, what, rooms, n, close, &rc);
  gather_free(&g);
  return rc;
}

int sio_adapter_apply_join(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                           size_t n) {
  return apply_here(nsp, o, JOIN, rooms, n, 0);
}

int sio_adapter_apply_leave(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                            size_t n) {
  return apply_here(nsp, o, LEAVE, rooms, n, 0);
}

int sio_adapter_apply_disconnect(sio_nsp *nsp, const sio_bcast_opts *o, int close) {
  return apply_here(nsp, o, DISCONNECT, NULL, 0, close);
}

int sio__select_local(sio_nsp *nsp, const sio_bcast_opts *o, sio_socket ***v, size_t *n) {
  gather g;
  memset(&g, 0, sizeof(g));
  int rc = select_in(nsp, o, &g);
  if (rc) {
    gather_free(&g);
    return rc;
  }
  *v = g.v;
  *n = g.n;
  return 0;
}

void sio__select_free(sio_socket **v, size_t n) {
  gather g = {v, n, n, 0};
  gather_free(&g);
}
