/* Acks in both directions: answering a client's ack request (sio_ack: deferrable, answered
 * once), and the acks the server waits for, one socket's (sio__pending_ack, with its timeout)
 * or a broadcast's: one ack id for every recipient (as Node does: ids are per namespace) and
 * a collector that gathers each client's answer until all answered or the timeout fires; on a
 * dynamic parent one collector spans every child. */
#include <errno.h>
#include <stdio.h>
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

int sio_ack_send_msg(sio_ack *a, sio_msg *m) {
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
  return sio_ack_send_msg(a, sio_msg_new(NULL));
}

int sio_ack_send_raw(sio_ack *a, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(NULL, args_json, &rc);
  if (!m) {
    if (a && !a->answered) sio_ack_drop(a);
    return rc;
  }
  return sio_ack_send_msg(a, m);
}

int sio_ack_vsendf(sio_ack *a, const char *fmt, va_list ap) {
  sio_msg *m = sio_msg_new(NULL);
  if (m) sio_msg_vpackf(m, fmt, ap);
  return sio_ack_send_msg(a, m);
}

int sio_ack_sendf(sio_ack *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_ack_vsendf(a, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_ack_send_value(sio_ack *a, const json_t *arr) {
  int rc;
  sio_msg *m = sio__msg_from_value(NULL, arr, &rc);
  if (!m) {
    if (a && !a->answered) sio_ack_drop(a);
    return rc;
  }
  return sio_ack_send_msg(a, m);
}

int sio_ack_send_args(sio_ack *a, const sio_args *args) {
  sio_msg *m = sio_msg_new(NULL);
  if (m) sio_msg_args(m, args);
  return sio_ack_send_msg(a, m);
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
  size_t servers; /* other servers whose client count has not come yet (a multi-node adapter) */
  sio__timer timer;
  sio_remote_acks fwd; /* a broadcast from another node: answers go back there, not kept */
  int selecting;       /* recipients are still being selected */
  int done;
  int refs;
};

void sio__collector_unref(sio__collector *c) {
  if (--c->refs) return;
  /* a forwarding collector (a broadcast from another node) counts answers it does not keep */
  for (size_t i = 0; c->answers && i < c->received; i++) sio__args_destroy(c->answers[i]);
  sio__free(c->answers);
  sio__free(c->ids);
  sio__free(c);
}

static void collector_finish(sio__collector *c, int status) {
  if (c->done) return;
  c->done = 1;
  sio__timer_stop(&c->timer);
  if (c->fn) c->fn(status, c, c->user);
  sio__collector_unref(c);
}

static void collector_check(sio__collector *c) {
  if (!c->done && !c->selecting && !c->servers && c->received >= c->expected)
    collector_finish(c, 0);
}

static void collector_timeout(sio__timer *t) {
  sio__collector *c = sio__container_of(t, sio__collector, timer);
  collector_finish(c, SIO_ETIMEDOUT);
}

/* An answer passed on to the node that asked, its attachments with it. */
static void collector_pass_on(sio__collector *c, const sio_args *args) {
  enum { ON_STACK = 8 };
  const void *stack_att[ON_STACK];
  size_t stack_len[ON_STACK];
  unsigned n = args->binary ? args->natt : 0;
  const void **att = n > ON_STACK ? sio__calloc(n, sizeof(*att)) : stack_att;
  size_t *att_len = n > ON_STACK ? sio__calloc(n, sizeof(*att_len)) : stack_len;
  if (att && att_len) {
    for (unsigned i = 0; i < n; i++) att[i] = args->att[i]->data, att_len[i] = args->att[i]->len;
    c->fwd.answer(args->json, args->json_len, att, att_len, n, c->fwd.user);
  } /* else out of memory: the answer is lost, as a client that left */
  if (att != stack_att) sio__free(att);
  if (att_len != stack_len) sio__free(att_len);
}

/* One answer; id: the socket's ("" for another node's). */
static void collector_add(sio__collector *c, const char *id, const sio_args *args) {
  if (c->done) return;
  if (c->fwd.answer) {
    c->received++;
    collector_pass_on(c, args);
    return;
  }
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
  snprintf(c->ids[c->received], sizeof(c->ids[0]), "%s", id);
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

void sio__pending_free(sio__pending_ack *p) {
  sio__timer_stop(&p->timer);
  sio__list_remove(&p->link);
  if (p->col) sio__collector_unref(p->col);
  sio_socket_unref(p->s);
  sio__free(p);
}

static void pending_timeout(sio__timer *t) {
  sio__pending_ack *p = sio__container_of(t, sio__pending_ack, timer);
  sio_socket *s = p->s;
  sio_socket_ref(s);
  sio_ack_fn fn = p->fn;
  void *user = p->user;
  sio__pending_free(p);
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

sio__pending_ack *sio__ack_wait(sio_socket *s, uint64_t id, sio_ack_fn fn, void *user,
                                uint32_t timeout_ms) {
  sio__pending_ack *p = pending_add(s, id);
  if (!p) return NULL;
  p->fn = fn;
  p->user = user;
  if (timeout_ms) sio__timer_start(s->nsp->io->net, &p->timer, timeout_ms, pending_timeout);
  return p;
}

void sio__ack_wait_collect(sio_socket *s, uint64_t id, sio__collector *c) {
  sio__pending_ack *p = pending_add(s, id);
  if (!p) return; /* out of memory: the client is not counted */
  p->col = c;
  c->refs++;
  c->expected++;
}

int sio__ack_deliver(sio_socket *s, uint64_t id, const sio_args *args) {
  sio__list *it;
  sio__list_foreach(it, &s->acks) {
    sio__pending_ack *p = sio__container_of(it, sio__pending_ack, link);
    if (p->id != id) continue;
    if (p->col) {
      sio__collector *c = p->col;
      c->refs++;
      collector_add(c, s->id, args);
      sio__pending_free(p);
      collector_check(c);
      sio__collector_unref(c);
    } else if (sio__timer_active(&p->timer) &&
               sio__net_past(s->nsp->io->net, p->timer.due)) { /* the tick is late */
      pending_timeout(&p->timer);
      return SIO_ENOTFOUND;
    } else {
      sio_ack_fn fn = p->fn;
      void *user = p->user;
      sio_socket_ref(s);
      sio__pending_free(p);
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
      sio__pending_free(p);
      collector_check(c);
      sio__collector_unref(c);
    } else {
      sio_ack_fn fn = p->fn;
      void *user = p->user;
      sio__pending_free(p);
      fn(s, status, NULL, user);
    }
  }
}

/* A collector for a broadcast with acks, selecting (it cannot finish until selection ends). */
sio__collector *sio__collector_new(const sio_msg *m) {
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
void sio__collector_selected(sio__collector *c, sio_io *io, uint32_t timeout_ms) {
  c->selecting = 0;
  if (c->fwd.client_count) c->fwd.client_count(c->expected, c->fwd.user);
  if (!c->done && timeout_ms && (c->servers || c->received < c->expected))
    sio__timer_start(io->net, &c->timer, timeout_ms, collector_timeout);
  collector_check(c);
}

void sio__collector_forward(sio__collector *c, const sio_remote_acks *to) {
  c->fwd = *to;
}

/* --- the adapter's side of a broadcast with acks (sio/adapter.h) --------------------------- */

sio_bcast_acks *sio__collector_acks(sio__collector *c) {
  return (sio_bcast_acks *)c; /* the same object, under the name the adapter sees */
}
static sio__collector *of_acks(sio_bcast_acks *a) {
  return (sio__collector *)a;
}

void sio_bcast_acks_ref(sio_bcast_acks *a) {
  if (a) of_acks(a)->refs++;
}

void sio_bcast_acks_release(sio_bcast_acks *a) {
  if (a) sio__collector_unref(of_acks(a));
}

void sio_bcast_acks_expect_servers(sio_bcast_acks *a, size_t servers) {
  if (a && !of_acks(a)->done) of_acks(a)->servers += servers;
}

void sio_bcast_acks_client_count(sio_bcast_acks *a, size_t clients) {
  sio__collector *c = a ? of_acks(a) : NULL;
  if (!c || c->done || !c->servers) return;
  c->servers--;
  c->expected += clients;
  c->refs++;
  collector_check(c);
  sio__collector_unref(c);
}

void sio_bcast_acks_fail(sio_bcast_acks *a, int status) {
  sio__collector *c = a ? of_acks(a) : NULL;
  if (!c || c->done || c->selecting) return;
  c->refs++;
  collector_finish(c, status);
  sio__collector_unref(c);
}

int sio_bcast_acks_answer(sio_bcast_acks *a, const char *args_json, size_t len,
                          const void *const *att, const size_t *att_len, unsigned natt) {
  sio__collector *c = a ? of_acks(a) : NULL;
  if (!c || !args_json || (natt && (!att || !att_len))) return -EINVAL;
  sio__json_slice arr;
  if (sio__json_validate(args_json, len, SIO__JSON_MAX_DEPTH, &arr) || arr.type != SIO__JSON_ARRAY)
    return -EINVAL;
  if (c->done) return 0; /* late: ignored, as Node does */
  sio__buf **bufs = natt ? sio__calloc(natt, sizeof(*bufs)) : NULL;
  int rc = natt && !bufs ? -ENOMEM : 0;
  for (unsigned i = 0; !rc && i < natt; i++)
    if (!(bufs[i] = sio__buf_from(att[i], att_len[i]))) rc = -ENOMEM;
  sio_args args;
  if (!rc) rc = sio__args_init(&args, args_json, len, 0, bufs, natt, natt > 0, SIO__JSON_MAX_DEPTH);
  if (!rc) {
    c->refs++;
    collector_add(c, "", &args); /* a kept answer takes its own references to the buffers */
    sio__args_free(&args);
    collector_check(c);
    sio__collector_unref(c);
  }
  for (unsigned i = 0; i < natt; i++)
    if (bufs[i]) sio__buf_unref(bufs[i]);
  sio__free(bufs);
  return rc;
}
