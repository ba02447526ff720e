/* Broadcast operators (sio_op: rooms, except, flags, timeout) and the calls that end a chain:
 * the sio_op_emit* front doors and the server-side operations on a selection (fetchSockets,
 * socketsJoin/Leave, disconnectSockets).
 *
 * A broadcast is encoded once (one sio__buf for the packet text, the attachments shared) and
 * the adapter selects the recipients; each recipient's session gets a reference to the same
 * buffers. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"

/* --- broadcast operators ------------------------------------------------------------------ */

struct sio_op {
  sio_nsp *nsp;
  sio_socket *self; /* socket.volatile / .timeout / .compress: that socket only (a reference) */
  char **rooms;
  size_t nrooms, caprooms;
  char **except;
  size_t nexcept, capexcept;
  unsigned flags;
  uint32_t timeout_ms;
  int failed;
};

static sio_op *op_new(sio_nsp *nsp) {
  if (!nsp) return NULL;
  sio_op *op = sio__calloc(1, sizeof(*op));
  if (!op) return NULL;
  op->nsp = nsp;
  sio__nsp_ref(nsp);            /* a dynamic child may be removed meanwhile: keep its memory */
  op->flags = SIO__BC_COMPRESS; /* Node's default: compress unless .compress(false) */
  return op;
}

sio_op *sio_nsp_op(sio_nsp *nsp) {
  return op_new(nsp);
}
sio_op *sio_io_op(sio_io *io) {
  return io ? op_new(io->main) : NULL;
}

void sio_op_free(sio_op *op) {
  if (!op) return;
  if (op->self) sio_socket_unref(op->self);
  sio__nsp_unref(op->nsp);
  for (size_t i = 0; i < op->nrooms; i++) sio__free(op->rooms[i]);
  for (size_t i = 0; i < op->nexcept; i++) sio__free(op->except[i]);
  sio__free(op->rooms);
  sio__free(op->except);
  sio__free(op);
}

static int push_str(char ***arr, size_t *n, size_t *cap, const char *s) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*arr)[i], s) == 0) return 0;
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 2;
    char **p = sio__realloc(*arr, c * sizeof(*p));
    if (!p) return -ENOMEM;
    *arr = p;
    *cap = c;
  }
  char *d = sio__strdup(s);
  if (!d) return -ENOMEM;
  (*arr)[(*n)++] = d;
  return 0;
}

sio_op *sio_socket_op(sio_socket *s) {
  if (!s) return NULL;
  sio_op *op = op_new(s->nsp);
  if (op && push_str(&op->except, &op->nexcept, &op->capexcept, s->id)) op->failed = -ENOMEM;
  return op;
}

sio_op *sio_socket_self_op(sio_socket *s) {
  if (!s) return NULL;
  sio_op *op = op_new(s->nsp);
  if (op) {
    op->self = s;
    sio_socket_ref(s);
  }
  return op;
}

/* socket.volatile.to(room): from then on a broadcast from that socket (everyone but it). */
static void self_to_broadcast(sio_op *op) {
  if (!op->self) return;
  if (push_str(&op->except, &op->nexcept, &op->capexcept, op->self->id)) op->failed = -ENOMEM;
  sio_socket_unref(op->self);
  op->self = NULL;
}

sio_op *sio_op_to(sio_op *op, const char *room) {
  if (op) self_to_broadcast(op);
  if (op && room && push_str(&op->rooms, &op->nrooms, &op->caprooms, room)) op->failed = -ENOMEM;
  return op;
}

sio_op *sio_op_except(sio_op *op, const char *room) {
  if (op) self_to_broadcast(op);
  if (op && room && push_str(&op->except, &op->nexcept, &op->capexcept, room)) op->failed = -ENOMEM;
  return op;
}

sio_op *sio_op_volatile(sio_op *op) {
  if (op) op->flags |= SIO__BC_VOLATILE;
  return op;
}

sio_op *sio_op_compress(sio_op *op, int on) {
  if (op) op->flags = on ? op->flags | SIO__BC_COMPRESS : op->flags & ~(unsigned)SIO__BC_COMPRESS;
  return op;
}

sio_op *sio_op_local(sio_op *op) {
  if (op) op->flags |= SIO__BC_LOCAL;
  return op;
}

sio_op *sio_op_timeout(sio_op *op, uint32_t ms) {
  if (op) op->timeout_ms = ms;
  return op;
}

static sio__bcast_opts op_opts(const sio_op *op) {
  sio__bcast_opts o = {(const char *const *)op->rooms,
                       op->nrooms,
                       (const char *const *)op->except,
                       op->nexcept,
                       op->flags,
                       NULL};
  return o;
}

typedef struct bcast_ctx {
  const sio_msg *m;
  sio__out out;
  uint64_t id;
  sio__collector *col;
  int vol;
  sio_args *view;
  sio__buf *vtext;
  size_t sent;
} bcast_ctx;

static void bcast_one(sio__member *mem, void *ctxp) {
  bcast_ctx *ctx = ctxp;
  sio_socket *s = (sio_socket *)mem;
  if (s->state != SIO__S_CONNECTED) return;
  if (ctx->vol && !sio__client_writable(s->client)) return;
  sio_socket_ref(s);
  if (ctx->col) sio__ack_wait_collect(s, ctx->id, ctx->col);
  sio__emit_out_listeners(s, ctx->m, &ctx->view, &ctx->vtext);
  if (sio__socket_send_packet(s, &ctx->out, ctx->vol) == 0) ctx->sent++;
  sio_socket_unref(s);
}

/* One namespace's share of a broadcast; with a collector each recipient's answer goes to it
 * (the ack id is this namespace's: ids are per namespace, as in Node). Nothing is sent when
 * this fails. */
static int emit_in_nsp(sio_op *op, sio_nsp *nsp, sio_msg *m, sio__collector *col) {
  bcast_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.m = m;
  ctx.col = col;
  ctx.id = col ? nsp->next_ack_id++ : SIO__SIO_NO_ID;
  ctx.vol = (op->flags & SIO__BC_VOLATILE) != 0;
  int rc = sio__out_build(&ctx.out, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, ctx.id);
  if (rc) return rc;
  /* encoded once; each recipient's write compresses (or not) for its own connection */
  sio__out_set_compress(&ctx.out, (op->flags & SIO__BC_COMPRESS) != 0);
  sio__bcast_opts o = op_opts(op);
  o.packet = m;
  if (col) o.flags |= SIO__BC_ACK;
  long n = nsp->adapter->ops->broadcast(nsp->adapter, &o, bcast_one, &ctx);
  if (n < 0) rc = (int)n;
  sio__out_release(&ctx.out);
  sio__view_free(ctx.view, ctx.vtext);
  return rc;
}

/* A dynamic parent: every child, each with its rooms; one collector gathers every child's
 * answers. A child that fails (out of memory) is skipped: the others still count. */
static int emit_in_children(sio_op *op, sio_msg *m, sio__collector *col) {
  int rc = 0;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&op->nsp->io->nsps, &i))) {
    sio_nsp *child = e->value;
    if (child->parent != op->nsp) continue;
    sio__nsp_ref(child); /* a send that disconnects its client may empty it */
    int r = emit_in_nsp(op, child, m, col);
    sio__nsp_unref(child);
    if (r && !rc) rc = r;
  }
  return rc;
}

/* The broadcast itself, once the operator and the message are known to be valid. */
static int op_broadcast(sio_op *op, sio_msg *m) {
  sio__collector *col = NULL;
  if (m->acks_fn && !(col = sio__collector_new(m))) return -ENOMEM;
  int parent = op->nsp->kind == SIO__NSP_PARENT;
  int rc = parent ? emit_in_children(op, m, col) : emit_in_nsp(op, op->nsp, m, col);
  if (!col) return rc;
  if (rc && !parent) { /* nothing went out: the callback will not run */
    sio__collector_unref(col);
    return rc;
  }
  sio__collector_selected(col, op->nsp->io, op->timeout_ms ? op->timeout_ms : m->timeout_ms);
  return 0; /* the callback runs (with the children that could be reached) */
}

int sio_op_emit_msg(sio_op *op, sio_msg *m) {
  int rc = 0;
  if (op && m && !op->failed && op->self) { /* one socket, with the operator's flags */
    if (op->timeout_ms) m->timeout_ms = op->timeout_ms;
    rc = sio__emit_to_socket(op->self, m, op->flags);
    sio_op_free(op);
    return rc;
  }
  if (!op || !m)
    rc = -ENOMEM;
  else if (op->failed)
    rc = op->failed;
  else if (m->failed)
    rc = m->failed;
  else if (m->ack_fn)
    rc = -EINVAL; /* a broadcast takes sio_msg_acks */
  else
    rc = op_broadcast(op, m);
  sio_op_free(op);
  sio_msg_free(m);
  return rc;
}

int sio_op_emit_raw(sio_op *op, const char *event, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  if (!m) {
    sio_op_free(op);
    return rc;
  }
  return sio_op_emit_msg(op, m);
}

int sio_op_emit_value(sio_op *op, const char *event, const json_t *arr) {
  int rc;
  sio_msg *m = sio__msg_from_value(event, arr, &rc);
  if (!m) {
    sio_op_free(op);
    return rc;
  }
  return sio_op_emit_msg(op, m);
}

int sio_op_vemitf(sio_op *op, const char *event, const char *fmt, va_list ap) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_vpackf(m, fmt, ap);
  return sio_op_emit_msg(op, m);
}

int sio_op_emitf(sio_op *op, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_op_vemitf(op, event, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_op_emit_args(sio_op *op, const char *event, const sio_args *args) {
  sio_msg m;
  sio__msg_init_view(&m, event, args);
  return sio_op_emit_msg(op, &m);
}

int sio_op_emit_bin(sio_op *op, const char *event, const void *data, size_t len) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_bin(m, data, len);
  return sio_op_emit_msg(op, m);
}

/* --- server-side operations on a selection ------------------------------------------------ */

typedef struct gather {
  sio_socket **v;
  size_t n, cap;
  int oom;
} gather;

static void gather_one(sio__member *mem, void *ctxp) {
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

static int select_sockets(sio_op *op, gather *g) {
  memset(g, 0, sizeof(*g));
  if (!op) return -ENOMEM;
  if (op->failed) return op->failed;
  if (op->self) { /* the socket alone */
    gather_one(&op->self->member, g);
    return g->oom ? -ENOMEM : 0;
  }
  sio__bcast_opts o = op_opts(op);
  if (op->nsp->kind == SIO__NSP_PARENT) {
    size_t i = 0;
    sio__map_entry *e;
    while ((e = sio__map_next(&op->nsp->io->nsps, &i))) {
      sio_nsp *child = e->value;
      if (child->parent != op->nsp) continue;
      long n = child->adapter->ops->select(child->adapter, &o, gather_one, g);
      if (n < 0) return (int)n;
    }
    return g->oom ? -ENOMEM : 0;
  }
  long n = op->nsp->adapter->ops->select(op->nsp->adapter, &o, gather_one, g);
  if (n < 0) return (int)n;
  return g->oom ? -ENOMEM : 0;
}

static void gather_free(gather *g) {
  for (size_t i = 0; i < g->n; i++) sio_socket_unref(g->v[i]);
  sio__free(g->v);
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
  gather g;
  int rc = select_sockets(op, &g);
  for (size_t i = 0; !rc && i < g.n; i++) rc = sio_join(g.v[i], room);
  gather_free(&g);
  sio_op_free(op);
  return rc;
}

int sio_sockets_leave(sio_op *op, const char *room) {
  gather g;
  int rc = select_sockets(op, &g);
  for (size_t i = 0; !rc && i < g.n; i++) sio_leave(g.v[i], room);
  gather_free(&g);
  sio_op_free(op);
  return rc;
}

int sio_disconnect_sockets(sio_op *op, int close) {
  gather g;
  int rc = select_sockets(op, &g);
  for (size_t i = 0; !rc && i < g.n; i++) sio_disconnect(g.v[i], close);
  gather_free(&g);
  sio_op_free(op);
  return rc;
}
