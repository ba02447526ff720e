/* Server-side operations on a selection of sockets: fetchSockets, socketsJoin, socketsLeave
 * and disconnectSockets, on this node and, through the adapter, on the others; and the same
 * operations when another node asks for them (sio_adapter_apply_*).
 *
 * The local part selects first (the adapter's select, each socket referenced) and acts after,
 * so that a socket that disconnects or changes rooms meanwhile disturbs nothing. The remote
 * part is the adapter's (add_sockets, del_sockets, disconnect_sockets, fetch_sockets), unless
 * the operator is local (sio_local) or one socket's (sio_socket_self_op). On a dynamic parent
 * both parts run for every child. sio_fetch_all_sockets is Node's io.fetchSockets(): both parts
 * at once, every socket described alike. */
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

/* --- io.fetchSockets(): this node's and the others', described alike ---------------------- */

typedef struct fetch_all {
  sio_nsp *nsp;
  sio_bcast_opts o; /* rooms and except point into names */
  char **names;
  size_t nnames;
  sio_remote_sockets_fn fn;
  void *user;
  const sio_remote_socket *remote;
  size_t nremote;
  int status;
} fetch_all;

static void fetch_all_free(fetch_all *f) {
  for (size_t i = 0; i < f->nnames; i++) sio__free(f->names[i]);
  sio__free(f->names);
  sio__nsp_unref(f->nsp);
  sio__free(f);
}

/* The local descriptions, valid now: with the remote ones, to the caller. */
static void fetch_all_local(int status, const sio_remote_socket *local, size_t n, void *user) {
  fetch_all *f = user;
  size_t total = n + f->nremote;
  sio_remote_socket *all = total ? sio__calloc(total, sizeof(*all)) : NULL;
  if (total && !all) {
    f->fn(-ENOMEM, NULL, 0, f->user);
    return;
  }
  if (n) memcpy(all, local, n * sizeof(*all));
  if (f->nremote) memcpy(all + n, f->remote, f->nremote * sizeof(*all));
  f->fn(f->status ? f->status : status, all, total, f->user);
  sio__free(all);
}

static void fetch_all_remote(int status, const sio_remote_socket *remote, size_t n, void *user) {
  fetch_all *f = user;
  f->remote = remote, f->nremote = n, f->status = status;
  int rc = sio_adapter_describe_sockets(f->nsp, &f->o, fetch_all_local, f);
  if (rc) f->fn(rc, remote, n, f->user);
  fetch_all_free(f);
}

/* The selection of op, its names copied (the remote answer comes after op is gone). */
static fetch_all *fetch_all_new(const sio_op *op, sio_remote_sockets_fn fn, void *user) {
  fetch_all *f = sio__calloc(1, sizeof(*f));
  if (!f) return NULL;
  f->nsp = op->nsp, f->fn = fn, f->user = user;
  sio__nsp_ref(f->nsp);
  sio_bcast_opts o = sio__op_opts(op);
  const char *self[1];
  if (op->self) self[0] = op->self->id, o.rooms = self, o.nrooms = 1; /* its own room */
  size_t n = o.nrooms + o.nexcept;
  int oom = !(f->names = sio__calloc(n ? n : 1, sizeof(char *)));
  for (size_t i = 0; !oom && i < n; i++, f->nnames++)
    oom = !(f->names[i] = sio__strdup(i < o.nrooms ? o.rooms[i] : o.except[i - o.nrooms]));
  if (oom) {
    fetch_all_free(f);
    return NULL;
  }
  f->o = o;
  f->o.rooms = (const char *const *)f->names;
  f->o.except = (const char *const *)f->names + o.nrooms;
  return f;
}

int sio_fetch_all_sockets(sio_op *op, sio_remote_sockets_fn fn, void *user) {
  int rc = !op ? -ENOMEM : op->failed ? op->failed : !fn ? -EINVAL : 0;
  if (!rc && op->nsp->kind == SIO__NSP_PARENT) rc = -EINVAL;
  fetch_all *f = rc ? NULL : fetch_all_new(op, fn, user);
  if (!rc && !f) rc = -ENOMEM;
  if (!rc && (op->self || op->flags & SIO_BC_LOCAL)) {
    fetch_all_remote(0, NULL, 0, f); /* this node only */
  } else if (!rc) {
    rc = op->nsp->adapter->ops->fetch_sockets(op->nsp->adapter, &f->o, fetch_all_remote, f);
    if (rc) fetch_all_free(f);
  }
  sio_op_free(op);
  return rc;
}
