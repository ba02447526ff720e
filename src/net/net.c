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
  sio__list_init(&net->relays);
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
  net->fired_to = uv_now(loop);
  net->wake_at = UINT64_MAX;
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
    sio__tls_net_free(net);
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
  sio__net_close_relays(net); /* nothing above owns them: the net ends them */
  if (net->nconns == 0) close_handles(net);
}

/* Called by conn.c after a connection was freed: completes a deferred sio__net_free. */
void sio__net_conn_gone(sio__net *net) {
  if (net->freeing && net->nconns == 0 && net->open_handles == 0) close_handles(net);
}

/* --- timer wheel ---------------------------------------------------------------------------
 * Slot = tick % SLOTS where tick = due / TICK_MS: a slot holds the timers due in its tick, of
 * this round and of later ones. Deadlines, not ticks, decide when a timer fires: the wheel's
 * one uv timer is armed for the earliest due time among the current and the next tick's
 * timers (a millisecond early, so that a wheel timer never runs after a libuv timer due at
 * the same time), or, when those ticks are empty, for the end of the next one. A wake fires
 * every timer due by the next millisecond. So a timer fires at most 1 ms before its due
 * millisecond and never after it, unless the loop itself runs late (a deadline that must hold
 * then is also checked where the protocol acts, see sio__net_past). The wheel stays cheap: a
 * start or a restart is a list insert (and arms the uv timer only when it is due before the
 * next wake), and a wake walks two slots.
 *
 * fired_to: every timer due at or before it has fired; a timer started for a time at or before
 * it is put in the slot the next wake scans first. wake_at: the loop time the uv timer is armed
 * for (UINT64_MAX when it is not). */

static uint64_t tick_of(uint64_t due_ms) {
  return due_ms / SIO__TICK_MS;
}

/* Arms the uv timer for `at` unless it is armed earlier. Never for "now" from within a wake:
 * libuv 1.44 runs a timer re-armed with timeout 0 from a timer callback again in the same
 * pass, at the same loop time, and a callback that re-arms for the millisecond it was early by
 * would spin there; a millisecond later its due time has come. */
static void arm_wake(sio__net *net, uint64_t at, uint64_t now) {
  if (at >= net->wake_at) return;
  net->wake_at = at;
  uint64_t timeout = at > now ? at - now : net->in_wake;
  uv_timer_start(&net->tick, on_tick, timeout, 0);
}

/* When a timer due at `due` must be looked at: a millisecond early, or now if that passed. */
static uint64_t wake_for(uint64_t due, uint64_t now) {
  return due > now + 1 ? due - 1 : now;
}

static void wheel_insert(sio__net *net, sio__timer *t, uint64_t now) {
  uint64_t at = t->due > net->fired_to ? t->due : net->fired_to + 1;
  sio__list_insert_tail(&net->wheel[tick_of(at) % SIO__WHEEL_SLOTS], &t->link);
  arm_wake(net, wake_for(t->due, now), now);
}

/* Puts t in the wheel, due at `due`. A restart (a timer stays on the net it first ran on)
 * only moves it: it is counted once. */
static inline void timer_arm(sio__net *net, sio__timer *t, uint64_t now, uint64_t due,
                             sio__timer_cb cb) {
  if (sio__timer_active(t)) {
    sio__list_remove(&t->link);
  } else if (net->active_timers++ == 0) {
    net->fired_to = now; /* nothing was waiting: the slots before now are empty */
  }
  t->due = due;
  t->cb = cb;
  t->net = net;
  wheel_insert(net, t, now);
}

void sio__timer_start_at(sio__net *net, sio__timer *t, uint64_t due, sio__timer_cb cb) {
  timer_arm(net, t, uv_now(net->loop), due, cb);
}

void sio__timer_start(sio__net *net, sio__timer *t, uint64_t ms, sio__timer_cb cb) {
  uint64_t now = uv_now(net->loop);
  timer_arm(net, t, now, now + ms, cb);
}

static void wheel_idle(sio__net *net) {
  uv_timer_stop(&net->tick);
  net->wake_at = UINT64_MAX;
}

void sio__timer_stop(sio__timer *t) {
  if (!sio__timer_active(t)) return;
  sio__list_remove(&t->link);
  t->link.next = t->link.prev = NULL;
  sio__net *net = t->net;
  if (--net->active_timers == 0) wheel_idle(net);
}

void sio__net_refresh(sio__net *net) {
  uv_update_time(net->loop);
}

int sio__net_past(sio__net *net, uint64_t deadline) {
  return uv_now(net->loop) + 1 >= deadline;
}

/* Fires the timers of `tick`'s slot that are due by `limit` (the others stay). */
static void run_slot(sio__net *net, uint64_t tick, uint64_t limit) {
  sio__list *slot = &net->wheel[tick % SIO__WHEEL_SLOTS];
  if (sio__list_empty(slot)) return;
  /* Detach the slot so that callbacks may start and stop any timer safely. */
  sio__list pending;
  sio__list_move_all(&pending, slot);
  while (!sio__list_empty(&pending)) {
    sio__timer *t = sio__container_of(pending.next, sio__timer, link);
    sio__list_remove(&t->link);
    if (t->due <= limit) {
      t->link.next = t->link.prev = NULL;
      if (--net->active_timers == 0) wheel_idle(net);
      t->cb(t);
    } else {
      sio__list_insert_tail(slot, &t->link);
    }
  }
}

/* The earliest due time of `tick`'s own timers (not later rounds'), or UINT64_MAX. */
static uint64_t earliest_in(const sio__net *net, uint64_t tick) {
  const sio__list *slot = &net->wheel[tick % SIO__WHEEL_SLOTS];
  uint64_t min = UINT64_MAX;
  for (const sio__list *l = slot->next; l != slot; l = l->next) {
    const sio__timer *t = sio__container_of(l, sio__timer, link);
    if (tick_of(t->due) == tick && t->due < min) min = t->due;
  }
  return min;
}

static void on_tick(uv_timer_t *h) {
  sio__net *net = h->data;
  uint64_t now = uv_now(net->loop);
  uint64_t limit = now + 1;  /* fire what is due by the next millisecond */
  net->wake_at = UINT64_MAX; /* the uv timer ran (one-shot); callbacks may arm it again */
  uint64_t first = tick_of(net->fired_to + 1), last = tick_of(limit);
  if (last >= first + SIO__WHEEL_SLOTS) first = last - SIO__WHEEL_SLOTS + 1; /* each slot once */
  net->fired_to = limit;
  net->in_wake = 1;
  for (uint64_t tick = first; tick <= last; tick++) run_slot(net, tick, limit);
  if (!net->active_timers) {
    net->in_wake = 0;
    return;
  }
  uint64_t next = (last + 2) * SIO__TICK_MS - 1; /* nothing in this tick nor the next */
  uint64_t soon = earliest_in(net, last);
  uint64_t after = earliest_in(net, last + 1);
  if (after < soon) soon = after;
  if (soon != UINT64_MAX && wake_for(soon, now) < next) next = wake_for(soon, now);
  arm_wake(net, next, now);
  net->in_wake = 0;
}
