/* The emitter's operator: rooms and except rooms as insertion-ordered sets (the JS Sets of
 * @socket.io/redis-emitter's BroadcastOperator) and the flags, in the order they were first set
 * (Object.assign({}, flags, {compress}) keeps a key's place and takes its new value). A failed
 * allocation (or a NULL room) marks the operator, and the call that ends the chain fails with
 * that error (-ENOMEM, -EINVAL). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "emitter/emitter_internal.h"

static int rooms_has(const sio__emitter_rooms *r, const char *room) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->v[i], room)) return 1;
  return 0;
}

static int rooms_add(sio__emitter_rooms *r, const char *room) {
  if (!room) return -EINVAL;
  if (rooms_has(r, room)) return 0;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 4;
    char **v = sio__realloc(r->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    r->v = v, r->cap = cap;
  }
  if (!(r->v[r->n] = sio__strdup(room))) return -ENOMEM;
  r->n++;
  return 0;
}

static void rooms_free(sio__emitter_rooms *r) {
  for (size_t i = 0; i < r->n; i++) sio__free(r->v[i]);
  sio__free(r->v);
}

sio_emitter_op *sio_emitter_op_new(sio_emitter *e) {
  if (!e) return NULL;
  sio_emitter_op *op = sio__calloc(1, sizeof *op);
  if (op) op->e = e;
  return op;
}

void sio_emitter_op_free(sio_emitter_op *op) {
  if (!op) return;
  rooms_free(&op->rooms);
  rooms_free(&op->except);
  sio__free(op);
}

sio_emitter_op *sio_emitter_op_to(sio_emitter_op *op, const char *room) {
  int rc = op ? rooms_add(&op->rooms, room) : 0;
  if (rc && !op->err) op->err = rc;
  return op;
}

sio_emitter_op *sio_emitter_op_in(sio_emitter_op *op, const char *room) {
  return sio_emitter_op_to(op, room);
}

sio_emitter_op *sio_emitter_op_except(sio_emitter_op *op, const char *room) {
  int rc = op ? rooms_add(&op->except, room) : 0;
  if (rc && !op->err) op->err = rc;
  return op;
}

static void set_flag(sio_emitter_op *op, char flag) {
  for (int i = 0; i < op->nflags; i++)
    if (op->flag_order[i] == flag) return;
  op->flag_order[op->nflags++] = flag;
}

sio_emitter_op *sio_emitter_op_volatile(sio_emitter_op *op) {
  if (op) set_flag(op, 'v');
  return op;
}

sio_emitter_op *sio_emitter_op_compress(sio_emitter_op *op, int on) {
  if (!op) return op;
  set_flag(op, 'c');
  op->compress = !!on;
  return op;
}

sio_emitter_op *sio_emitter_op_done(sio_emitter_op *op, sio_emitter_done_fn fn, void *user) {
  if (op) op->done = fn, op->user = user;
  return op;
}

sio_emitter_op *sio_emitter_to(sio_emitter *e, const char *room) {
  return sio_emitter_op_to(sio_emitter_op_new(e), room);
}

sio_emitter_op *sio_emitter_in(sio_emitter *e, const char *room) {
  return sio_emitter_op_to(sio_emitter_op_new(e), room);
}

sio_emitter_op *sio_emitter_except(sio_emitter *e, const char *room) {
  return sio_emitter_op_except(sio_emitter_op_new(e), room);
}

sio_emitter_op *sio_emitter_volatile(sio_emitter *e) {
  return sio_emitter_op_volatile(sio_emitter_op_new(e));
}

sio_emitter_op *sio_emitter_compress(sio_emitter *e, int on) {
  return sio_emitter_op_compress(sio_emitter_op_new(e), on);
}
