/* The loop-wide network object: read buffer, write flushing and the timer wheel (net.h).
 * Connections and listeners live in conn.c and listener.c. */
#include "net/net_internal.h"

#include "core/alloc.h"
#include "core/log.h"

#include <stdlib.h>

/* Last step before the loop polls: send what this iteration queued, then free what it
 * released (a failed send releases too). The on_close handlers that freeing runs may write to
 * other connections (a departure announced to the rest): those bytes go out now too, not after
 * the next event wakes the loop. */
static void on_prepare(uv_prepare_t *h) {
  sio__net *net = h->data;
  do {
    sio__net_flush_all(net);
    sio__net_reap(net);
  } while (!sio__list_empty(&net->flush_list));
}

static void on_tick(uv_timer_t *h);

sio__net *sio__net_new(uv_loop_t *loop) {
  sio__alloc_hook_libraries();
  sio__net *net = sio__calloc(1, sizeof(*net));
  if (!net) return NULL;
  net->read_buf = sio__malloc(SIO__READ_BUF_SIZE);
  if (!net->read_buf) {
    sio__free(net);
    return NULL;
  }
  net->loop = loop;
  sio__list_init(&net->flush_list);
  sio__list_init(&net->read_list);
  sio__list_init(&net->dead_list);
  if (sio__poll_init(net) != 0) {
    sio__free(net->read_buf);
    sio__free(net);
    return NULL;
  }
  for (size_t i = 0; i < SIO__WHEEL_SLOTS; i++) sio__list_init(&net->wheel[i]);
  uv_prepare_init(loop, &net->prepare);
  net->prepare.data = net;
  uv_prepare_start(&net->prepare, on_prepare);
  uv_unref((uv_handle_t *)&net->prepare);
  uv_timer_init(loop, &net->tick);
  net->tick.data = net;
  net->cur_tick = uv_now(loop) / SIO__TICK_MS;
  return net;
}

uv_loop_t *sio__net_loop(sio__net *net) {
  return net->loop;
}
uint64_t sio__net_now(sio__net *net) {
  return uv_now(net->loop);
}
size_t sio__net_conn_count(sio__net *net) {
  return net->nconns;
}

void sio__net_free_wq_cache(sio__net *net) {
  while (net->free_wqs) {
    struct sio__wq *wq = net->free_wqs;
    net->free_wqs = wq->free_next;
    sio__free(wq->items);
    sio__free(wq);
  }
  net->n_free_wqs = 0;
}

static void on_net_handle_closed(uv_handle_t *h) {
  sio__net *net = h->data;
  if (--net->open_handles == 0) {
    sio__poll_free(net);
    sio__net_free_wq_cache(net);
    sio__free(net->read_buf);
    sio__free(net);
  }
}

static void close_handles(sio__net *net) {
  net->open_handles = 4;
  uv_close((uv_handle_t *)&net->prepare, on_net_handle_closed);
  uv_close((uv_handle_t *)&net->tick, on_net_handle_closed);
  uv_close((uv_handle_t *)&net->io_poll, on_net_handle_closed);
  uv_close((uv_handle_t *)&net->read_idle, on_net_handle_closed);
}

void sio__net_free(sio__net *net) {
  if (!net || net->freeing) return;
  net->freeing = 1;
  if (net->nconns == 0) close_handles(net);
}

/* Called by conn.c after a connection was freed: completes a deferred sio__net_free. */
void sio__net_conn_gone(sio__net *net) {
  if (net->freeing && net->nconns == 0 && net->open_handles == 0) close_handles(net);
}

/* --- timer wheel ---------------------------------------------------------------------------
 * Slot = tick % SLOTS where tick = due / TICK_MS, the tick during which the timer is due. The
 * wheel's uv timer is armed for tick boundaries (loop times that are multiples of TICK_MS),
 * and a tick fires every timer due before the next boundary: a timer fires at the tick at or
 * before its due millisecond, at most a tick early and never late, unless the loop itself is
 * (a deadline that must hold then is also checked where the protocol acts, see
 * sio__net_past). Entries due in a later round stay in their slot. A timer started for
 * less than what is left of the current tick fires at the next boundary. */

static uint64_t tick_of(uint64_t due_ms) {
  return due_ms / SIO__TICK_MS;
}

static void arm_tick(sio__net *net, uint64_t now) {
  uint64_t next = (now / SIO__TICK_MS + 1) * SIO__TICK_MS;
  uv_timer_start(&net->tick, on_tick, next - now, 0);
}

static void wheel_insert(sio__net *net, sio__timer *t) {
  uint64_t tick = tick_of(t->due);
  if (tick <= net->cur_tick) tick = net->cur_tick + 1;
  sio__list_insert_tail(&net->wheel[tick % SIO__WHEEL_SLOTS], &t->link);
}

/* Puts t in the wheel, due at `due`. A restart (a timer stays on the net it first ran on)
 * only moves it: it is counted once, and the wheel's own uv timer is left alone. */
static inline void timer_arm(sio__net *net, sio__timer *t, uint64_t now, uint64_t due,
                             sio__timer_cb cb) {
  if (sio__timer_active(t)) {
    sio__list_remove(&t->link);
  } else if (net->active_timers++ == 0) {
    net->cur_tick = now / SIO__TICK_MS;
    arm_tick(net, now);
  }
  t->due = due;
  t->cb = cb;
  t->net = net;
  wheel_insert(net, t);
}

void sio__timer_start_at(sio__net *net, sio__timer *t, uint64_t due, sio__timer_cb cb) {
  timer_arm(net, t, uv_now(net->loop), due, cb);
}

void sio__timer_start(sio__net *net, sio__timer *t, uint64_t ms, sio__timer_cb cb) {
  uint64_t now = uv_now(net->loop);
  timer_arm(net, t, now, now + ms, cb);
}

void sio__timer_stop(sio__timer *t) {
  if (!sio__timer_active(t)) return;
  sio__list_remove(&t->link);
  t->link.next = t->link.prev = NULL;
  sio__net *net = t->net;
  if (--net->active_timers == 0) uv_timer_stop(&net->tick);
}

void sio__net_refresh(sio__net *net) {
  uv_update_time(net->loop);
}

int sio__net_past(sio__net *net, uint64_t deadline) {
  return uv_now(net->loop) + 1 >= deadline;
}

/* Fires the timers of `tick`'s slot that are due in that tick (those of later rounds stay). */
static void run_slot(sio__net *net, uint64_t tick) {
  sio__list *slot = &net->wheel[tick % SIO__WHEEL_SLOTS];
  if (sio__list_empty(slot)) return;
  /* Detach the slot so that callbacks may start and stop any timer safely. */
  sio__list pending;
  sio__list_move_all(&pending, slot);
  while (!sio__list_empty(&pending)) {
    sio__timer *t = sio__container_of(pending.next, sio__timer, link);
    sio__list_remove(&t->link);
    if (tick_of(t->due) <= tick) {
      t->link.next = t->link.prev = NULL;
      if (--net->active_timers == 0) uv_timer_stop(&net->tick);
      t->cb(t);
    } else {
      sio__list_insert_tail(slot, &t->link);
    }
  }
}

static void on_tick(uv_timer_t *h) {
  sio__net *net = h->data;
  uint64_t now = uv_now(net->loop);
  uint64_t target = now / SIO__TICK_MS;
  uint64_t from = net->cur_tick + 1;
  if (target >= from + SIO__WHEEL_SLOTS)
    from = target - SIO__WHEEL_SLOTS + 1; /* scan each slot once */
  for (uint64_t tick = from; tick <= target; tick++) {
    net->cur_tick = tick;
    run_slot(net, tick);
  }
  if (net->cur_tick < target) net->cur_tick = target;
  if (net->active_timers) arm_tick(net, now);
}
