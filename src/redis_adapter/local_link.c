/* The Redis adapters' link between the workers of one machine (sio_workers_adapter_new): the
 * same publishes and subscriptions as over Redis, carried by the workers' Unix sockets
 * (net/worker.h) instead, so that the adapters above run unchanged and speak the same
 * messages (the sharded adapter's: socket.io-adapter 2.5's ClusterAdapter types).
 *
 * Each worker tells the others what it subscribes to ('S' and 'U', for the first and the last
 * entry of a name), so that a publish goes only to the workers that listen ('P': the channel
 * and the payload, framed once and sent to each) and NUMSUB is answered here, as Redis would:
 * the workers subscribed to the channel, this one included. A link says hello ('H') when it
 * starts: the others forget what a former process of that worker had announced and tell it
 * their own subscriptions. */
#include "redis_adapter/redis_link_internal.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "net/worker.h"

/* Redis glob patterns as the adapters use them ("socket.io#/#*"): '*' and '?'. */
static int glob_match(const char *p, size_t plen, const char *s, size_t slen) {
  size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
  while (si < slen) {
    if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
      pi++, si++;
    } else if (pi < plen && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != (size_t)-1) {
      pi = star + 1, si = ++mark;
    } else {
      return 0;
    }
  }
  while (pi < plen && p[pi] == '*') pi++;
  return pi == plen;
}

static void forget_peer(sio__rlink_peer *p) {
  sio__map_free(&p->chans);
  sio__map_free(&p->pats);
  p->chans = (sio__map)SIO__MAP_INIT;
  p->pats = (sio__map)SIO__MAP_INIT;
}

static int send_sub(sio__rlink *l, int to, char op, sio__redis_sub_kind kind, const char *name,
                    size_t len) {
  sio__sbuf m = SIO__SBUF_INIT;
  sio__sbuf_appendc(&m, op);
  sio__sbuf_appendc(&m, (char)kind);
  sio__sbuf_append(&m, name, len);
  int rc = m.oom ? -ENOMEM : sio__worker_send(l->worker, to, m.data, m.len);
  sio__sbuf_free(&m);
  return rc;
}

int sio__rlink_local_announce(sio__rlink *l, char op, sio__redis_sub_kind kind, const char *name,
                              size_t len) {
  int n = sio_worker_count(l->worker), self = sio_worker_index(l->worker), rc = 0;
  for (int i = 0; i < n; i++)
    if (i != self && send_sub(l, i, op, kind, name, len) == -ENOMEM) rc = -ENOMEM;
  return rc;
}

/* A hello from worker `from`: its former announcements go, ours go to it. */
static void on_hello(sio__rlink *l, int from) {
  forget_peer(&l->peers[from]);
  const sio__list *it;
  sio__list_foreach(it, &l->subs) {
    const sio__rlink_sub *s = sio__container_of(it, sio__rlink_sub, link);
    int first = 1; /* a name announced once, as sio__rlink_subscribe does */
    for (const sio__list *o = l->subs.next; o != it; o = o->next) {
      const sio__rlink_sub *e = sio__container_of(o, sio__rlink_sub, link);
      if (e->kind == s->kind && e->len == s->len && !memcmp(e->name, s->name, s->len)) first = 0;
    }
    if (first) send_sub(l, from, 'S', s->kind, s->name, s->len);
  }
}

static void on_sub(sio__rlink *l, int from, char op, const char *d, size_t n) {
  if (n < 1) return;
  sio__redis_sub_kind kind = (sio__redis_sub_kind)(unsigned char)d[0];
  sio__map *m = kind == SIO__REDIS_PATTERN ? &l->peers[from].pats : &l->peers[from].chans;
  if (op == 'S')
    sio__map_put(m, d + 1, n - 1, (void *)1);
  else
    sio__map_del(m, d + 1, n - 1);
}

/* A publish from another worker: to the first entry of ours it matches, as Redis delivers. */
static void on_publish(sio__rlink *l, const char *d, size_t n) {
  uint32_t clen;
  if (n < sizeof clen) return;
  memcpy(&clen, d, sizeof clen);
  if (clen > n - sizeof clen) return;
  sio__redis_message m = {0};
  m.channel = d + sizeof clen;
  m.channel_len = clen;
  m.payload = m.channel + clen;
  m.len = n - sizeof clen - clen;
  sio__list *it, *tmp;
  sio__list_foreach_safe(it, tmp, &l->subs) {
    sio__rlink_sub *s = sio__container_of(it, sio__rlink_sub, link);
    if (s->kind == SIO__REDIS_PATTERN) {
      if (!glob_match(s->name, s->len, m.channel, clen)) continue;
      m.kind = SIO__REDIS_PMESSAGE, m.pattern = s->name, m.pattern_len = s->len;
    } else {
      if (s->len != clen || memcmp(s->name, m.channel, clen) != 0) continue;
      m.kind = s->kind == SIO__REDIS_SHARD ? SIO__REDIS_SMESSAGE : SIO__REDIS_MESSAGE;
    }
    s->fn(&m, s->user);
    return;
  }
}

static void on_data(int from, const char *data, size_t len, void *user) {
  sio__rlink *l = user;
  if (len < 1 || from < 0 || from >= sio_worker_count(l->worker)) return;
  switch (data[0]) {
  case 'H':
    on_hello(l, from);
    break;
  case 'S':
  case 'U':
    on_sub(l, from, data[0], data + 1, len - 1);
    break;
  case 'P':
    on_publish(l, data + 1, len - 1);
    break;
  default:
    break; /* a later version's message: ignored */
  }
}

/* Whether worker i listens on the channel. */
static int peer_listens(const sio__rlink_peer *p, const char *channel, size_t clen) {
  if (sio__map_get(&p->chans, channel, clen)) return 1;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&p->pats, &i)))
    if (glob_match(e->key, e->klen & ~SIO__MAP_BORROWED, channel, clen)) return 1;
  return 0;
}

int sio__rlink_local_publish(sio__rlink *l, const char *channel, size_t clen, const void *payload,
                             size_t len) {
  int n = sio_worker_count(l->worker), self = sio_worker_index(l->worker);
  sio__sbuf m = SIO__SBUF_INIT;
  uint32_t cl = (uint32_t)clen;
  for (int i = 0; i < n; i++) {
    if (i == self || !peer_listens(&l->peers[i], channel, clen)) continue;
    if (!m.len) { /* framed once, for the first worker that listens */
      sio__sbuf_appendc(&m, 'P');
      sio__sbuf_append(&m, &cl, sizeof cl);
      sio__sbuf_append(&m, channel, clen);
      sio__sbuf_append(&m, payload, len);
      if (m.oom) return -ENOMEM;
    }
    sio__worker_send(l->worker, i, m.data, m.len); /* a worker not reading loses it, as Redis */
  }
  sio__sbuf_free(&m);
  return 0;
}

/* NUMSUB, answered from the announcements on the next loop turn (callers expect a reply
 * later, as from Redis). */
typedef struct numsub_wait {
  uv_timer_t timer;
  sio__redis_count_cb cb;
  void *user;
  long long count;
} numsub_wait;

static void on_numsub_closed(uv_handle_t *h) {
  sio__free(h->data);
}

static void on_numsub_due(uv_timer_t *t) {
  numsub_wait *q = t->data;
  q->cb(NULL, 0, q->count, q->user);
  uv_close((uv_handle_t *)t, on_numsub_closed);
}

int sio__rlink_local_numsub(sio__rlink *l, const char *channel, size_t clen, sio__redis_count_cb cb,
                            void *user) {
  numsub_wait *q = sio__calloc(1, sizeof *q);
  if (!q) return -ENOMEM;
  int n = sio_worker_count(l->worker), self = sio_worker_index(l->worker);
  const sio__list *it;
  sio__list_foreach(it, &l->subs) {
    const sio__rlink_sub *s = sio__container_of(it, sio__rlink_sub, link);
    if (s->kind != SIO__REDIS_PATTERN && s->len == clen && !memcmp(s->name, channel, clen)) {
      q->count = 1;
      break;
    }
  }
  for (int i = 0; i < n; i++)
    if (i != self && sio__map_get(&l->peers[i].chans, channel, clen)) q->count++;
  q->cb = cb;
  q->user = user;
  uv_timer_init(l->loop, &q->timer);
  q->timer.data = q;
  uv_timer_start(&q->timer, on_numsub_due, 0, 0);
  return 0;
}

int sio__rlink_new_local(uv_loop_t *loop, sio_worker *w, sio__rlink **out) {
  *out = NULL;
  sio__rlink *l = sio__calloc(1, sizeof *l);
  if (!l) return -ENOMEM;
  l->loop = loop;
  l->worker = w;
  l->up = 1;
  sio__list_init(&l->subs);
  sio__list_init(&l->watches);
  int n = sio_worker_count(w), self = sio_worker_index(w);
  l->peers = sio__calloc((size_t)n, sizeof *l->peers);
  int rc = l->peers ? sio__worker_on_data(w, loop, on_data, l) : -ENOMEM;
  if (rc) {
    sio__free(l->peers);
    sio__free(l);
    return rc;
  }
  for (int i = 0; i < n; i++)
    if (i != self) sio__worker_send(w, i, "H", 1);
  *out = l;
  return 0;
}

void sio__rlink_local_free(sio__rlink *l) {
  sio__worker_on_data(l->worker, NULL, NULL, NULL);
  for (int i = 0; i < sio_worker_count(l->worker); i++) forget_peer(&l->peers[i]);
  sio__free(l->peers);
  sio__free(l);
}
