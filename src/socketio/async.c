/* Emitting from other threads: sio_emit_async_raw and sio_call_async copy their request into a
 * queue (under a mutex) and wake the loop with uv_async_send; the loop thread drains the queue in
 * order and emits. Other threads never touch the loop's handles or the server's state.
 *
 * The queue is its own allocation: sio_io_close detaches it from the server (later requests get
 * SIO_ECLOSED); sio_io_free closes its handle and it frees itself once libuv is done with it.
 * Other threads must have stopped calling before sio_io_free. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

typedef struct sio__asyncq {
  uv_async_t h;
  uv_mutex_t mu;
  sio__list queue;
  sio_io *io; /* NULL once detached */
} sio__asyncq;

typedef struct qitem {
  sio__list link;
  sio_loop_fn fn; /* call, or emit when NULL */
  void *user;
  char *nsp, *room, *event, *args;
} qitem;

static void qitem_free(qitem *q) {
  sio__free(q->nsp);
  sio__free(q->room);
  sio__free(q->event);
  sio__free(q->args);
  sio__free(q);
}

static void run_item(sio_io *io, qitem *q) {
  if (q->fn) {
    q->fn(io, q->user);
    return;
  }
  sio_nsp *nsp = q->nsp ? sio__map_get(&io->nsps, q->nsp, strlen(q->nsp)) : io->main;
  if (!nsp) return; /* no such namespace yet: nobody to receive it */
  sio_op *op = sio_nsp_op(nsp);
  if (q->room) op = sio_op_to(op, q->room);
  sio_op_emit_raw(op, q->event, q->args);
}

static void drain(sio__asyncq *aq, int run) {
  sio__list items;
  sio__list_init(&items);
  uv_mutex_lock(&aq->mu);
  if (!sio__list_empty(&aq->queue)) { /* move the whole queue out */
    items.next = aq->queue.next;
    items.prev = aq->queue.prev;
    items.next->prev = &items;
    items.prev->next = &items;
    sio__list_init(&aq->queue);
  }
  uv_mutex_unlock(&aq->mu);
  while (!sio__list_empty(&items)) {
    qitem *q = sio__container_of(items.next, qitem, link);
    sio__list_remove(&q->link);
    if (run && aq->io && !aq->io->closing) run_item(aq->io, q);
    qitem_free(q);
  }
}

static void on_async(uv_async_t *h) {
  drain(h->data, 1);
}

int sio__async_init(sio_io *io) {
  sio__asyncq *aq = sio__calloc(1, sizeof(*aq));
  if (!aq) return -ENOMEM;
  if (uv_mutex_init(&aq->mu)) {
    sio__free(aq);
    return -ENOMEM;
  }
  int rc = uv_async_init(io->loop, &aq->h, on_async);
  if (rc) {
    uv_mutex_destroy(&aq->mu);
    sio__free(aq);
    return rc;
  }
  sio__list_init(&aq->queue);
  aq->h.data = aq;
  aq->io = io;
  io->aq = aq;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  sio__asyncq *aq = h->data;
  drain(aq, 0);
  uv_mutex_destroy(&aq->mu);
  sio__free(aq);
}

void sio__async_close(sio_io *io) {
  sio__asyncq *aq = io->aq;
  if (!aq) return;
  uv_mutex_lock(&aq->mu);
  aq->io = NULL; /* later requests get SIO_ECLOSED */
  uv_mutex_unlock(&aq->mu);
}

void sio__async_free(sio_io *io) {
  sio__asyncq *aq = io->aq;
  if (!aq) return;
  sio__async_close(io);
  io->aq = NULL;
  uv_close((uv_handle_t *)&aq->h, on_closed);
}

void sio__async_unref(sio_io *io) {
  if (io->aq) uv_unref((uv_handle_t *)&io->aq->h);
}

static int enqueue(sio_io *io, qitem *q) {
  sio__asyncq *aq = io->aq;
  if (!aq) {
    qitem_free(q);
    return SIO_ECLOSED;
  }
  uv_mutex_lock(&aq->mu);
  if (!aq->io) {
    uv_mutex_unlock(&aq->mu);
    qitem_free(q);
    return SIO_ECLOSED;
  }
  sio__list_insert_tail(&aq->queue, &q->link);
  uv_async_send(&aq->h);
  uv_mutex_unlock(&aq->mu);
  return 0;
}

static int dup_opt(char **out, const char *s) {
  if (!s) return 0;
  *out = sio__strdup(s);
  return *out ? 0 : -ENOMEM;
}

int sio_emit_async_raw(sio_io *io, const char *nsp, const char *room, const char *event,
                       const char *args_json) {
  if (!io || !event) return -EINVAL;
  if (args_json) {
    size_t count;
    sio__json_slice one;
    if (sio__json_split_array(args_json, strlen(args_json), SIO__JSON_MAX_DEPTH, &one, 1, &count))
      return -EINVAL;
  }
  qitem *q = sio__calloc(1, sizeof(*q));
  if (!q) return -ENOMEM;
  if (dup_opt(&q->nsp, nsp) || dup_opt(&q->room, room) || dup_opt(&q->event, event) ||
      dup_opt(&q->args, args_json)) {
    qitem_free(q);
    return -ENOMEM;
  }
  return enqueue(io, q);
}

int sio_call_async(sio_io *io, sio_loop_fn fn, void *user) {
  if (!io || !fn) return -EINVAL;
  qitem *q = sio__calloc(1, sizeof(*q));
  if (!q) return -ENOMEM;
  q->fn = fn;
  q->user = user;
  return enqueue(io, q);
}
