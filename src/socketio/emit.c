/* Emitting: to one socket, to a broadcast operator's selection, and acks in both directions.
 *
 * A broadcast is encoded once (one sio__buf for the packet text, the attachments shared) and
 * the adapter selects the recipients; each recipient's session gets a reference to the same
 * buffers. Broadcast with acks uses one ack id for every recipient (as Node does: ids are per
 * namespace) and a collector that gathers each client's answer until all answered or the
 * timeout fires; on a dynamic parent one collector spans every child. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"

/* --- answering a client's ack ------------------------------------------------------------- */

struct sio_ack {
  sio_socket *s;
  uint64_t id;
  int deferred;
  int answered;
  int in_handler;
};

sio_ack *sio__ack_new(sio_socket *s, uint64_t id) {
  sio_ack *a = sio__calloc(1, sizeof(*a));
  if (!a) return NULL;
  a->s = s;
  sio_socket_ref(s);
  a->id = id;
  a->in_handler = 1;
  return a;
}

static void ack_free(sio_ack *a) {
  sio_socket_unref(a->s);
  sio__free(a);
}

/* Called by the dispatcher after the handlers returned. */
void sio__ack_after_handlers(sio_ack *a) {
  a->in_handler = 0;
  if (!a->deferred || a->answered) ack_free(a);
}

void sio_ack_defer(sio_ack *a) {
  if (a) a->deferred = 1;
}

void sio_ack_drop(sio_ack *a) {
  if (!a || a->answered) return;
  a->answered = 1;
  if (!a->in_handler) ack_free(a);
}

int sio_ack_msg(sio_ack *a, sio_msg *m) {
  if (!a) {
    sio_msg_free(m);
    return -EINVAL;
  }
  if (a->answered) {
    sio_msg_free(m);
    return -EALREADY;
  }
  a->answered = 1;
  int rc;
  if (!m) {
    rc = -ENOMEM;
  } else if (m->failed) {
    rc = m->failed;
  } else if (a->s->state != SIO__S_CONNECTED) {
    rc = SIO_ECLOSED;
  } else {
    sio__out o;
    rc = sio__out_build(&o, m, SIO__SIO_ACK, a->s->nsp->name, a->s->nsp->name_len, a->id);
    if (!rc) {
      rc = sio__socket_send_packet(a->s, &o, 0);
      sio__out_release(&o);
    }
  }
  sio_msg_free(m);
  if (!a->in_handler) ack_free(a);
  return rc;
}

int sio_ack_send(sio_ack *a) {
  return sio_ack_msg(a, sio_msg_new(NULL));
}

int sio_ack_raw(sio_ack *a, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(NULL, args_json, &rc);
  if (!m) {
    if (a && !a->answered) sio_ack_drop(a);
    return rc;
  }
  return sio_ack_msg(a, m);
}

int sio_ack_vsendf(sio_ack *a, const char *fmt, va_list ap) {
  sio_msg *m = sio_msg_new(NULL);
  if (m) sio_msg_vpackf(m, fmt, ap);
  return sio_ack_msg(a, m);
}

int sio_ack_sendf(sio_ack *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_ack_vsendf(a, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_ack_value(sio_ack *a, const json_t *arr) {
  int rc;
  sio_msg *m = sio__msg_from_value(NULL, arr, &rc);
  if (!m) {
    if (a && !a->answered) sio_ack_drop(a);
    return rc;
  }
  return sio_ack_msg(a, m);
}

int sio_ack_args(sio_ack *a, const sio_args *args) {
  sio_msg *m = sio_msg_new(NULL);
  if (m) sio_msg_args(m, args);
  return sio_ack_msg(a, m);
}

/* --- acks the server waits for ------------------------------------------------------------ */

struct sio_acks { /* the collector of a broadcast with acks */
  sio_acks_fn fn;
  void *user;
  size_t expected;
  size_t received;
  sio_args **answers;
  char (*ids)[24];
  size_t cap;
  sio__timer timer;
  int selecting; /* recipients are still being selected */
  int done;
  int refs;
};
typedef struct sio_acks sio__collector;

static void collector_unref(sio__collector *c) {
  if (--c->refs) return;
  for (size_t i = 0; i < c->received; i++) sio__args_destroy(c->answers[i]);
  sio__free(c->answers);
  sio__free(c->ids);
  sio__free(c);
}

static void collector_finish(sio__collector *c, int status) {
  if (c->done) return;
  c->done = 1;
  sio__timer_stop(&c->timer);
  c->fn(status, c, c->user);
  collector_unref(c);
}

static void collector_check(sio__collector *c) {
  if (!c->done && !c->selecting && c->received >= c->expected) collector_finish(c, 0);
}

static void collector_timeout(sio__timer *t) {
  sio__collector *c = sio__container_of(t, sio__collector, timer);
  collector_finish(c, SIO_ETIMEDOUT);
}

static void collector_add(sio__collector *c, sio_socket *s, const sio_args *args) {
  if (c->done) return;
  if (c->received == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    sio_args **a = sio__realloc(c->answers, cap * sizeof(*a));
    if (a) c->answers = a;
    char(*ids)[24] = sio__realloc(c->ids, cap * sizeof(*ids));
    if (ids) c->ids = ids;
    if (!a || !ids) { /* out of memory: count the client as gone */
      c->expected--;
      return;
    }
    c->cap = cap;
  }
  sio_args *copy = sio__args_clone(args);
  if (!copy) {
    c->expected--;
    return;
  }
  c->answers[c->received] = copy;
  memcpy(c->ids[c->received], s->id, sizeof(s->id));
  c->received++;
}

size_t sio_acks_count(const sio_acks *c) {
  return c ? c->received : 0;
}
size_t sio_acks_expected(const sio_acks *c) {
  return c ? c->expected : 0;
}
const sio_args *sio_acks_args(const sio_acks *c, size_t i) {
  return c && i < c->received ? c->answers[i] : NULL;
}
const char *sio_acks_socket_id(const sio_acks *c, size_t i) {
  return c && i < c->received ? c->ids[i] : NULL;
}

static void pending_free(sio__pending_ack *p) {
  sio__timer_stop(&p->timer);
  sio__list_remove(&p->link);
  if (p->col) collector_unref(p->col);
  sio_socket_unref(p->s);
  sio__free(p);
}

static void pending_timeout(sio__timer *t) {
  sio__pending_ack *p = sio__container_of(t, sio__pending_ack, timer);
  sio_socket *s = p->s;
  sio_socket_ref(s);
  sio_ack_fn fn = p->fn;
  void *user = p->user;
  pending_free(p);
  fn(s, SIO_ETIMEDOUT, NULL, user);
  sio_socket_unref(s);
}

static sio__pending_ack *pending_add(sio_socket *s, uint64_t id) {
  sio__pending_ack *p = sio__calloc(1, sizeof(*p));
  if (!p) return NULL;
  p->id = id;
  p->s = s;
  sio_socket_ref(s);
  sio__timer_init(&p->timer);
  sio__list_insert_tail(&s->acks, &p->link);
  return p;
}

int sio__ack_deliver(sio_socket *s, uint64_t id, const sio_args *args) {
  sio__list *it;
  sio__list_foreach(it, &s->acks) {
    sio__pending_ack *p = sio__container_of(it, sio__pending_ack, link);
    if (p->id != id) continue;
    if (p->col) {
      sio__collector *c = p->col;
      c->refs++;
      collector_add(c, s, args);
      pending_free(p);
      collector_check(c);
      collector_unref(c);
    } else {
      sio_ack_fn fn = p->fn;
      void *user = p->user;
      sio_socket_ref(s);
      pending_free(p);
      fn(s, 0, args, user);
      sio_socket_unref(s);
    }
    return 0;
  }
  return SIO_ENOTFOUND; /* unknown or already timed out: ignored, as Node does */
}

void sio__acks_fail_all(sio_socket *s, int status) {
  while (!sio__list_empty(&s->acks)) {
    sio__pending_ack *p = sio__container_of(s->acks.next, sio__pending_ack, link);
    if (p->col) {
      sio__collector *c = p->col;
      c->refs++;
      if (!c->done) c->expected--;
      pending_free(p);
      collector_check(c);
      collector_unref(c);
    } else {
      sio_ack_fn fn = p->fn;
      void *user = p->user;
      pending_free(p);
      fn(s, status, NULL, user);
    }
  }
}

/* --- to one socket ------------------------------------------------------------------------ */

/* onAnyOutgoing listeners get a view of what is sent. */
static void emit_out_listeners(sio_socket *s, const sio_msg *m, sio_args **view, sio__buf **text) {
  if (!(s->hkinds & 1u << SIO__H_ANY_OUT) || !m->event) return;
  if (m->view && !*view) { /* passed-on arguments: they are already a view */
    for (size_t i = 0; i < s->h.n; i++) {
      sio__cb cb = s->h.v[i];
      if (cb.kind == SIO__H_ANY_OUT) ((sio_any_fn)cb.fn)(s, m->event, m->view, cb.user);
    }
    return;
  }
  if (!*view) {
    sio__sbuf sb = SIO__SBUF_INIT;
    sio__sbuf_appendc(&sb, '[');
    sio__json_escape(&sb, m->event, strlen(m->event));
    if (m->nargs) {
      sio__sbuf_appendc(&sb, ',');
      sio__sbuf_append(&sb, m->args.data, m->args.len);
    }
    sio__sbuf_appendc(&sb, ']');
    sio__buf *b = sio__sbuf_to_buf(&sb);
    if (!b) return;
    sio_args *v = sio__calloc(1, sizeof(*v));
    if (!v ||
        sio__args_init(v, b->data, b->len, 1, m->att, m->natt, m->natt > 0, SIO__JSON_MAX_DEPTH)) {
      sio__free(v);
      sio__buf_unref(b);
      return;
    }
    *view = v;
    *text = b;
  }
  for (size_t i = 0; i < s->h.n; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == SIO__H_ANY_OUT) ((sio_any_fn)cb.fn)(s, m->event, *view, cb.user);
  }
}

static void view_free(sio_args *view, sio__buf *text) {
  if (view) {
    sio__args_free(view);
    sio__free(view);
  }
  if (text) sio__buf_unref(text);
}

static int emit_to_socket(sio_socket *s, sio_msg *m, unsigned flags);

int sio__emit_to_socket(sio_socket *s, sio_msg *m) {
  return emit_to_socket(s, m, SIO__BC_COMPRESS);
}

/* flags: SIO__BC_VOLATILE and SIO__BC_COMPRESS of the operator (socket.volatile/.compress). */
static int emit_to_socket(sio_socket *s, sio_msg *m, unsigned flags) {
  int vol = (flags & SIO__BC_VOLATILE) != 0;
  if (!m) return -ENOMEM;
  int rc = m->failed;
  if (!rc && !s) rc = -EINVAL;
  if (!rc && s->state != SIO__S_CONNECTED) rc = SIO_ECLOSED;
  if (!rc && m->acks_fn) rc = -EINVAL; /* use sio_msg_ack for one socket */
  if (!rc && vol && !sio__client_writable(s->client)) rc = SIO_ETOOLARGE; /* dropped */
  if (rc) {
    sio_msg_free(m);
    return rc;
  }
  sio_nsp *nsp = s->nsp;
  uint64_t id = SIO__SIO_NO_ID;
  sio__pending_ack *p = NULL;
  if (m->ack_fn) {
    id = nsp->next_ack_id++;
    p = pending_add(s, id);
    if (!p) {
      sio_msg_free(m);
      return -ENOMEM;
    }
    p->fn = m->ack_fn;
    p->user = m->ack_user;
    if (m->timeout_ms) sio__timer_start(nsp->io->net, &p->timer, m->timeout_ms, pending_timeout);
  }
  sio__out o;
  rc = sio__out_build(&o, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, id);
  if (rc) {
    if (p) pending_free(p);
    sio_msg_free(m);
    return rc;
  }
  sio__out_set_compress(&o, (flags & SIO__BC_COMPRESS) != 0);
  sio_args *view = NULL;
  sio__buf *vtext = NULL;
  emit_out_listeners(s, m, &view, &vtext);
  view_free(view, vtext);
  rc = sio__socket_send_packet(s, &o, vol);
  sio__out_release(&o);
  sio_msg_free(m);
  return rc;
}

int sio_socket_emit_msg(sio_socket *s, sio_msg *m) {
  return sio__emit_to_socket(s, m);
}

int sio_socket_emit_raw(sio_socket *s, const char *event, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  return m ? sio__emit_to_socket(s, m) : rc;
}

int sio_socket_emit_value(sio_socket *s, const char *event, const json_t *arr) {
  int rc;
  sio_msg *m = sio__msg_from_value(event, arr, &rc);
  return m ? sio__emit_to_socket(s, m) : rc;
}

int sio_socket_vemitf(sio_socket *s, const char *event, const char *fmt, va_list ap) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_vpackf(m, fmt, ap);
  return sio__emit_to_socket(s, m);
}

int sio_socket_emitf(sio_socket *s, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_socket_vemitf(s, event, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_socket_emit_args(sio_socket *s, const char *event, const sio_args *args) {
  sio_msg m;
  sio__msg_init_view(&m, event, args);
  return sio__emit_to_socket(s, &m);
}

int sio_socket_emit_bin(sio_socket *s, const char *event, const void *data, size_t len) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_bin(m, data, len);
  return sio__emit_to_socket(s, m);
}

int sio_emit_ack(sio_socket *s, const char *event, const char *args_json, uint32_t timeout_ms,
                 sio_ack_fn fn, void *user) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  if (!m) return rc;
  sio_msg_ack(m, fn, user, timeout_ms);
  return sio__emit_to_socket(s, m);
}

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
  if (ctx->col) {
    sio__pending_ack *p = pending_add(s, ctx->id);
    if (p) {
      p->col = ctx->col;
      ctx->col->refs++;
      ctx->col->expected++;
    }
  }
  emit_out_listeners(s, ctx->m, &ctx->view, &ctx->vtext);
  if (sio__socket_send_packet(s, &ctx->out, ctx->vol) == 0) ctx->sent++;
  sio_socket_unref(s);
}

/* A collector for a broadcast with acks, selecting (it cannot finish until selection ends). */
static sio__collector *collector_new(const sio_msg *m) {
  sio__collector *c = sio__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->fn = m->acks_fn;
  c->user = m->ack_user;
  c->refs = 1;
  c->selecting = 1;
  sio__timer_init(&c->timer);
  return c;
}

/* Every recipient is known: the timeout starts, or the callback runs now if nobody was
 * targeted or everyone answered already (c may be gone when this returns). */
static void collector_selected(sio__collector *c, sio_io *io, uint32_t timeout_ms) {
  c->selecting = 0;
  if (!c->done && timeout_ms && c->received < c->expected)
    sio__timer_start(io->net, &c->timer, timeout_ms, collector_timeout);
  collector_check(c);
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
  view_free(ctx.view, ctx.vtext);
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
  if (m->acks_fn && !(col = collector_new(m))) return -ENOMEM;
  int parent = op->nsp->kind == SIO__NSP_PARENT;
  int rc = parent ? emit_in_children(op, m, col) : emit_in_nsp(op, op->nsp, m, col);
  if (!col) return rc;
  if (rc && !parent) { /* nothing went out: the callback will not run */
    collector_unref(col);
    return rc;
  }
  collector_selected(col, op->nsp->io, op->timeout_ms ? op->timeout_ms : m->timeout_ms);
  return 0; /* the callback runs (with the children that could be reached) */
}

int sio_op_emit_msg(sio_op *op, sio_msg *m) {
  int rc = 0;
  if (op && m && !op->failed && op->self) { /* one socket, with the operator's flags */
    if (op->timeout_ms) m->timeout_ms = op->timeout_ms;
    rc = emit_to_socket(op->self, m, op->flags);
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

int sio_op_emit(sio_op *op, const char *event, const json_t *arr) {
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
