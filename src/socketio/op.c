/* Broadcast operators (sio_op: rooms, except, flags, timeout) and the calls that end a chain:
 * the sio_op_emit* front doors. The server-side operations on a selection are in select.c.
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

static sio_op *op_new(sio_nsp *nsp) {
  if (!nsp) return NULL;
  sio_op *op = sio__calloc(1, sizeof(*op));
  if (!op) return NULL;
  op->nsp = nsp;
  sio__nsp_ref(nsp);           /* a dynamic child may be removed meanwhile: keep its memory */
  op->flags = SIO_BC_COMPRESS; /* Node's default: compress unless .compress(false) */
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
  if (op) op->flags |= SIO_BC_VOLATILE;
  return op;
}

sio_op *sio_op_compress(sio_op *op, int on) {
  if (op) op->flags = on ? op->flags | SIO_BC_COMPRESS : op->flags & ~(unsigned)SIO_BC_COMPRESS;
  return op;
}

sio_op *sio_op_local(sio_op *op) {
  if (op) op->flags |= SIO_BC_LOCAL;
  return op;
}

sio_op *sio_op_timeout(sio_op *op, uint32_t ms) {
  if (op) op->timeout_ms = ms;
  return op;
}

sio_bcast_opts sio__op_opts(const sio_op *op) {
  sio_bcast_opts o = {(const char *const *)op->rooms,
                      op->nrooms,
                      (const char *const *)op->except,
                      op->nexcept,
                      op->flags,
                      op->timeout_ms};
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
  int last_rc;      /* of the last send (what a direct emit returns) */
  sio__offset off;  /* SIO_BC_STORE: the offset the adapter gave (len 0: none) */
  int out_off_rc;   /* 1: offset not appended to out yet; 0: appended; < 0: failed (no send) */
  int off_deferred; /* stored, and the adapter called no fn: it delivers later */
} bcast_ctx;

/* The packet as every recipient gets it: with its offset last when the adapter stored it
 * (appended to out at the first recipient, in place: the packet stays encoded once). */
static const sio__out *bcast_out(bcast_ctx *ctx) {
  if (!ctx->off.len) return &ctx->out;
  if (ctx->out_off_rc == 1) ctx->out_off_rc = sio__out_add_offset(&ctx->out, &ctx->off);
  return ctx->out_off_rc ? NULL : &ctx->out;
}

static void bcast_one(sio_member *mem, void *ctxp) {
  bcast_ctx *ctx = ctxp;
  sio_socket *s = (sio_socket *)mem;
  if (s->state != SIO__S_CONNECTED) {
    const sio__out *o = s->rec && !ctx->vol ? bcast_out(ctx) : NULL;
    if (o) sio__rec_queue(s, o); /* a restored socket in its middlewares */
    return;
  }
  if (ctx->vol && !sio__client_writable(s->client)) {
    if (s->client) s->nsp->io->stats.volatile_dropped++;
    return;
  }
  const sio__out *o = bcast_out(ctx);
  if (!o) return;
  sio_socket_ref(s);
  if (ctx->col) sio__ack_wait_collect(s, ctx->id, ctx->col);
  sio__emit_out_listeners(s, ctx->m, &ctx->view, &ctx->vtext);
  ctx->last_rc = sio__socket_send_packet(s, o, ctx->vol);
  if (ctx->last_rc == 0) ctx->sent++;
  sio_socket_unref(s);
}

/* One namespace's share of a broadcast; with a collector each recipient's answer goes to it
 * (the ack id is this namespace's: ids are per namespace, as in Node). Through the adapter's
 * broadcast (which may forward it to other nodes), or, for a broadcast that came from another
 * node, its local selection only. Nothing is sent when this fails. */
static int emit_in_nsp(sio_nsp *nsp, const sio_bcast_opts *opts, sio_msg *m, sio__collector *col,
                       int from_remote, bcast_ctx *result) {
  bcast_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.out_off_rc = 1;
  ctx.m = m;
  ctx.col = col;
  ctx.id = col ? nsp->next_ack_id++ : SIO__SIO_NO_ID;
  ctx.vol = (opts->flags & SIO_BC_VOLATILE) != 0;
  sio_bcast_opts o = *opts;
  if (col) o.flags |= SIO_BC_ACK;
  /* kept for connection state recovery: an event without ack, not volatile (as Node) */
  int store = !col && !from_remote && !(o.flags & SIO_BC_VOLATILE) && sio__rec_stores(nsp);
  if (store) o.flags |= SIO_BC_STORE;
  int rc = sio__out_build_spare(&ctx.out, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, ctx.id,
                                store ? SIO__OUT_OFFSET_SPARE : 0);
  if (rc) return rc;
  /* encoded once; each recipient's write compresses (or not) for its own connection */
  sio__out_set_compress(&ctx.out, (opts->flags & SIO_BC_COMPRESS) != 0);
  sio_adapter *a = nsp->adapter;
  long n;
  if (from_remote) {
    n = a->ops->select(a, &o, bcast_one, &ctx);
  } else {
    sio_packet p;
    sio__packet_of_out(&p, nsp, &ctx.out);
    if (store) p.offset = &ctx.off;
    n = a->ops->broadcast(a, &p, &o, bcast_one, &ctx, col ? sio__collector_acks(col) : NULL);
  }
  if (n < 0) rc = (int)n;
  if (!rc && ctx.out_off_rc < 0) rc = ctx.out_off_rc;
  if (!rc && !result) nsp->io->stats.broadcasts++, nsp->io->stats.broadcast_recipients += ctx.sent;
  if (result) result->sent = ctx.sent, result->last_rc = ctx.last_rc;
  if (result) result->off_deferred = store && n == 0 && !ctx.off.len;
  sio__out_release(&ctx.out);
  sio__view_free(ctx.view, ctx.vtext);
  return rc;
}

int sio__bcast_local(sio_nsp *nsp, const sio_bcast_opts *o, sio_msg *m, sio__collector *col) {
  return emit_in_nsp(nsp, o, m, col, 1, NULL);
}

/* A synchronous adapter's store_emit: the packet is stored, then sent to s as an unstored
 * socket.emit is, with its offset appended in place. 1: not done (no such op, or the socket's
 * own room holds others): go through broadcast. */
static int emit_stored_direct(sio_socket *s, sio_msg *m, unsigned flags) {
  sio_nsp *nsp = s->nsp;
  sio_adapter *a = nsp->adapter;
  if (!a->ops->store_emit) return 1;
  sio__out out;
  int rc = sio__out_build_spare(&out, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, SIO__SIO_NO_ID,
                                SIO__OUT_OFFSET_SPARE);
  if (rc) return rc;
  sio__out_set_compress(&out, (flags & SIO_BC_COMPRESS) != 0);
  sio_packet p;
  sio__packet_of_out(&p, nsp, &out);
  sio__offset off;
  int n = a->ops->store_emit(a, &p, &s->member, flags | SIO_BC_STORE, off.text, sizeof off.text);
  if (n > 0) {
    off.len = (size_t)n;
    rc = sio__out_add_offset(&out, &off);
  } else {
    rc = n == 0 ? 1 : n;
  }
  if (!rc) rc = sio__emit_out_send(s, m, &out, 0);
  sio__out_release(&out);
  return rc;
}

/* socket.emit with recovery on (Node: adapter.broadcast to the socket's own room), so that
 * the packet is stored and carries its offset. Returns what the send to s returned. */
int sio__emit_stored(sio_socket *s, sio_msg *m, unsigned flags) {
  int rc = emit_stored_direct(s, m, flags);
  if (rc != 1) return rc;
  const char *rooms[] = {s->id};
  sio_bcast_opts o = {rooms, 1, NULL, 0, flags, 0};
  bcast_ctx res;
  memset(&res, 0, sizeof(res));
  rc = emit_in_nsp(s->nsp, &o, m, NULL, 0, &res);
  if (rc || res.sent) return rc;
  /* an asynchronous adapter (Redis Streams) delivers it once it has the offset */
  if (!res.last_rc && s->state == SIO__S_CONNECTED && res.off_deferred) return 0;
  return res.last_rc ? res.last_rc : SIO_ECLOSED;
}

/* A dynamic parent: every child, each with its rooms; one collector gathers every child's
 * answers. A child that fails (out of memory) is skipped: the others still count. */
static int emit_in_children(sio_op *op, const sio_bcast_opts *o, sio_msg *m, sio__collector *col) {
  int rc = 0;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&op->nsp->io->nsps, &i))) {
    sio_nsp *child = e->value;
    if (child->parent != op->nsp) continue;
    sio__nsp_ref(child); /* a send that disconnects its client may empty it */
    int r = emit_in_nsp(child, o, m, col, 0, NULL);
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
  sio_bcast_opts o = sio__op_opts(op);
  if (!o.timeout_ms) o.timeout_ms = m->timeout_ms;
  int rc = parent ? emit_in_children(op, &o, m, col) : emit_in_nsp(op->nsp, &o, m, col, 0, NULL);
  if (!col) return rc;
  if (rc && !parent) { /* nothing went out: the callback will not run */
    sio__collector_unref(col);
    return rc;
  }
  sio__collector_selected(col, op->nsp->io, o.timeout_ms);
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
