/* The Redis plumbing of the Redis adapters (see redis_link.h): two clients of the redis layer,
 * the subscription registry with its dispatch, and the up/down watchers. The redis layer
 * renews subscriptions on each reconnect; this file asks Redis once per name and routes each
 * message to the entries of the pattern or channel it came through. A link made on a worker
 * instead of a Redis URL (sio__rlink_new_local) has no clients: each call goes to local_link.c,
 * which carries the same publishes and subscriptions between workers. */
#include "redis_adapter/redis_link_internal.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

static void notify(sio__rlink *l) {
  int up = sio__redis_is_ready(l->pub) && sio__redis_is_ready(l->sub);
  if (up == l->up) return;
  l->up = up;
  sio__list tmp, *it;
  sio__list_move_all(&tmp, &l->watches); /* a watcher may remove itself or others */
  while (!sio__list_empty(&tmp)) {
    it = tmp.next;
    sio__list_remove(it);
    sio__list_insert_tail(&l->watches, it);
    sio__rlink_watch *w = sio__container_of(it, sio__rlink_watch, link);
    w->fn(w, up);
  }
}

static void on_event(sio__redis *c, sio__redis_event ev, int err, void *user) {
  (void)c, (void)ev, (void)err;
  notify(user);
}

static int sub_matches(const sio__rlink_sub *s, const sio__redis_message *m) {
  if (m->kind == SIO__REDIS_PMESSAGE)
    return s->kind == SIO__REDIS_PATTERN && s->len == m->pattern_len &&
           memcmp(s->name, m->pattern, s->len) == 0;
  sio__redis_sub_kind k = m->kind == SIO__REDIS_SMESSAGE ? SIO__REDIS_SHARD : SIO__REDIS_CHANNEL;
  return s->kind == k && s->len == m->channel_len && memcmp(s->name, m->channel, s->len) == 0;
}

void sio__rlink_dispatch(sio__rlink *l, const sio__redis_message *m) {
  sio__list *it, *tmp;
  sio__list_foreach_safe(it, tmp, &l->subs) {
    sio__rlink_sub *s = sio__container_of(it, sio__rlink_sub, link);
    if (sub_matches(s, m)) {
      s->fn(m, s->user); /* handlers do not remove entries during dispatch */
      return;
    }
  }
}

static void on_message(sio__redis *c, const sio__redis_message *m, void *user) {
  (void)c;
  sio__rlink_dispatch(user, m);
}

int sio__rlink_new(uv_loop_t *loop, const char *url, sio__rlink **out) {
  *out = NULL;
  sio__rlink *l = sio__calloc(1, sizeof(*l));
  if (!l) return -ENOMEM;
  l->loop = loop;
  sio__list_init(&l->subs);
  sio__list_init(&l->watches);
  sio__redis_opts po = {.name = "adapter pub", .on_event = on_event, .user = l};
  sio__redis_opts so = {
      .name = "adapter sub", .on_event = on_event, .on_message = on_message, .user = l};
  int rc = sio__redis_new(loop, url, &po, &l->pub);
  if (!rc) rc = sio__redis_new(loop, url, &so, &l->sub);
  if (rc) {
    sio__redis_free(l->pub);
    sio__free(l);
    return rc;
  }
  *out = l;
  return 0;
}

void sio__rlink_free(sio__rlink *l) {
  if (!l) return;
  while (!sio__list_empty(&l->subs)) {
    sio__rlink_sub *s = sio__container_of(l->subs.next, sio__rlink_sub, link);
    sio__list_remove(&s->link);
    sio__free(s->name);
    s->name = NULL;
  }
  while (!sio__list_empty(&l->watches)) sio__list_remove(l->watches.next);
  if (l->worker) {
    sio__rlink_local_free(l);
    return;
  }
  sio__redis_free(l->sub);
  sio__redis_free(l->pub);
  sio__free(l);
}

int sio__rlink_ready(const sio__rlink *l) {
  return l && l->up;
}

void sio__rlink_unref(sio__rlink *l) {
  if (l->worker) return; /* the workers' sockets never hold the loop */
  sio__redis_unref(l->pub);
  sio__redis_unref(l->sub);
}

uv_loop_t *sio__rlink_loop(const sio__rlink *l) {
  return l->loop;
}

static int named_elsewhere(const sio__rlink *l, const sio__rlink_sub *s) {
  const sio__list *it;
  sio__list_foreach(it, &l->subs) {
    const sio__rlink_sub *o = sio__container_of(it, sio__rlink_sub, link);
    if (o != s && o->kind == s->kind && o->len == s->len && !memcmp(o->name, s->name, s->len))
      return 1;
  }
  return 0;
}

int sio__rlink_subscribe(sio__rlink *l, sio__rlink_sub *s, const char *name, size_t len) {
  if (!(s->name = sio__strndup(name, len))) return -ENOMEM;
  s->len = len;
  int first = !named_elsewhere(l, s);
  sio__list_insert_tail(&l->subs, &s->link);
  int rc = !first      ? 0
           : l->worker ? sio__rlink_local_announce(l, 'S', s->kind, name, len)
                       : sio__redis_subscribe(l->sub, s->kind, name, len, NULL, NULL);
  if (rc) {
    sio__list_remove(&s->link);
    sio__free(s->name);
    s->name = NULL;
  }
  return rc;
}

void sio__rlink_unsubscribe(sio__rlink *l, sio__rlink_sub *s) {
  if (!s->name) return; /* never subscribed, or the link went first */
  sio__list_remove(&s->link);
  if (l && !named_elsewhere(l, s)) {
    if (l->worker)
      sio__rlink_local_announce(l, 'U', s->kind, s->name, s->len);
    else
      sio__redis_unsubscribe(l->sub, s->kind, s->name, s->len, NULL, NULL);
  }
  sio__free(s->name);
  s->name = NULL;
}

void sio__rlink_watch_add(sio__rlink *l, sio__rlink_watch *w) {
  sio__list_insert_tail(&l->watches, &w->link);
}

void sio__rlink_watch_remove(sio__rlink_watch *w) {
  if (sio__list_linked(&w->link)) sio__list_remove(&w->link);
}

int sio__rlink_publish(sio__rlink *l, int shard, const char *channel, size_t clen,
                       const void *payload, size_t len) {
  if (l->worker) return sio__rlink_local_publish(l, channel, clen, payload, len);
  return sio__redis_publish(l->pub, shard, channel, clen, payload, len, NULL, NULL);
}

int sio__rlink_command(sio__rlink *l, int argc, const char **argv, const size_t *argvlen,
                       sio__redis_reply_cb cb, void *user) {
  if (l->worker) return -ENOTSUP; /* no Redis: the Streams adapter needs one */
  return sio__redis_command(l->pub, argc, argv, argvlen, cb, user);
}

int sio__rlink_numsub(sio__rlink *l, int shard, const char *channel, size_t clen,
                      sio__redis_count_cb cb, void *user) {
  if (l->worker) return sio__rlink_local_numsub(l, channel, clen, cb, user);
  return sio__redis_numsub(l->pub, shard, channel, clen, cb, user);
}

typedef struct count_ctx {
  sio__rlink_count_fn fn;
  void *user;
} count_ctx;

static void server_counted(sio__redis *c, int status, long long count, void *user) {
  (void)c;
  count_ctx cc = *(count_ctx *)user;
  sio__free(user);
  cc.fn(status, status || count < 1 ? 1 : (size_t)count, cc.user);
}

int sio__rlink_server_count(sio__rlink *l, int shard, const char *channel, size_t clen,
                            sio__rlink_count_fn fn, void *user) {
  count_ctx *cc = sio__malloc(sizeof(*cc));
  if (!cc) return -ENOMEM;
  cc->fn = fn, cc->user = user;
  int rc = sio__rlink_numsub(l, shard, channel, clen, server_counted, cc);
  if (rc) sio__free(cc);
  return rc;
}

void sio__rlink_drop(sio__rlink *l, const sio__redis_message *m, const char *what) {
  if (l->dropped++ == 0)
    sio__warn("redis adapter: dropped a message on %.*s (%s); later ones are dropped silently",
              (int)m->channel_len, m->channel, what);
}

size_t sio__rlink_dropped(const sio__rlink *l) {
  return l->dropped;
}

const char *sio__rlink_server_version(const sio__rlink *l) {
  if (l->worker) return "workers";
  return sio__redis_server_version(l->pub);
}

int sio__rlink_has_sharded(const sio__rlink *l) {
  if (l->worker) return 1;
  return sio__redis_has_sharded(l->pub);
}
