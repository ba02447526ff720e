/* A subscriber client's subscriptions. The client remembers each one (a map keyed by the kind
 * byte and the channel or pattern) and renews them all on each connect, once INFO has said
 * whether sharded pub/sub exists; READY waits for every renewal's confirmation. One channel
 * per command, so that each command gets exactly one confirmation, which answers the head of
 * the ring like any reply. Message pushes (message, pmessage, smessage) and confirmations
 * nothing asked for are told apart from answers by sio__redis_classify, the layer's own
 * parsing of reply trees beyond hiredis's reader (fuzzed: fuzz/redis/fuzz_reply). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "redis/client_internal.h"

static const char *const sub_cmds[2][4] = {{NULL, "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"},
                                           {NULL, "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}};

static int str_is(const redisReply *e, const char *s) {
  size_t n = strlen(s);
  return e->type == REDIS_REPLY_STRING && e->len == n && memcmp(e->str, s, n) == 0;
}

sio__redis_push sio__redis_classify(const redisReply *r, sio__redis_message *m,
                                    sio__redis_sub_kind *kind, int *unsub) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->elements > 4 || !r->element)
    return SIO__REDIS_PUSH_NONE;
  redisReply **e = r->element;
  for (size_t i = 0; i < r->elements; i++)
    if (!e[i]) return SIO__REDIS_PUSH_NONE;
  int strings = 1;
  for (size_t i = 1; i < r->elements; i++) strings &= e[i]->type == REDIS_REPLY_STRING;
  memset(m, 0, sizeof *m);
  if (r->elements == 3 && strings && (str_is(e[0], "message") || str_is(e[0], "smessage"))) {
    m->kind = e[0]->str[0] == 's' ? SIO__REDIS_SMESSAGE : SIO__REDIS_MESSAGE;
    m->channel = e[1]->str, m->channel_len = e[1]->len;
    m->payload = e[2]->str, m->len = e[2]->len;
    return SIO__REDIS_PUSH_MESSAGE;
  }
  if (r->elements == 4 && strings && str_is(e[0], "pmessage")) {
    m->kind = SIO__REDIS_PMESSAGE;
    m->pattern = e[1]->str, m->pattern_len = e[1]->len;
    m->channel = e[2]->str, m->channel_len = e[2]->len;
    m->payload = e[3]->str, m->len = e[3]->len;
    return SIO__REDIS_PUSH_MESSAGE;
  }
  if (r->elements != 3 || e[2]->type != REDIS_REPLY_INTEGER ||
      (e[1]->type != REDIS_REPLY_STRING && e[1]->type != REDIS_REPLY_NIL))
    return SIO__REDIS_PUSH_NONE;
  for (int u = 0; u < 2; u++)
    for (int k = SIO__REDIS_CHANNEL; k <= SIO__REDIS_SHARD; k++) {
      /* the confirmation is the command's name in lower case */
      const char *name = sub_cmds[u][k];
      size_t n = strlen(name);
      if (e[0]->type != REDIS_REPLY_STRING || e[0]->len != n) continue;
      size_t i = 0;
      while (i < n && e[0]->str[i] == name[i] + ('a' - 'A')) i++;
      if (i < n) continue;
      *kind = (sio__redis_sub_kind)k;
      *unsub = u;
      return SIO__REDIS_PUSH_CONFIRM;
    }
  return SIO__REDIS_PUSH_NONE;
}

int sio__redis_dispatch_push(sio__redis *c, const redisReply *r) {
  sio__redis_message m;
  sio__redis_sub_kind kind = 0;
  int unsub = 0;
  switch (sio__redis_classify(r, &m, &kind, &unsub)) {
  case SIO__REDIS_PUSH_MESSAGE:
    c->opts.on_message(c, &m, c->opts.user);
    return 1;
  case SIO__REDIS_PUSH_CONFIRM: {
    const sio__redis_pending *head = c->qlen ? &c->q[c->qhead] : NULL;
    if (head && head->expect == kind && head->unsub == unsub) return 0;
    /* e.g. Redis unsubscribing a shard channel itself (a slot moved): nothing to answer */
    sio__debug("redis %s: unsolicited %.*s", c->name, (int)r->element[0]->len, r->element[0]->str);
    return 1;
  }
  default:
    return 0;
  }
}

static int send_sub(sio__redis *c, int kind, int unsub, const char *channel, size_t len,
                    sio__redis_done_cb cb, void *user, int gate) {
  sio__redis_pending p = {.fn.done = cb,
                          .user = user,
                          .type = SIO__PEND_DONE,
                          .expect = (uint8_t)kind,
                          .unsub = (uint8_t)unsub,
                          .gate = (uint8_t)gate};
  const char *argv[2] = {sub_cmds[unsub][kind], channel};
  size_t lens[2] = {strlen(argv[0]), len};
  return sio__redis_enqueue(c, 2, argv, lens, &p);
}

size_t sio__redis_resubscribe(sio__redis *c) {
  size_t i = 0, sent = 0;
  sio__map_entry *e;
  int warned = 0;
  while ((e = sio__map_next(&c->subs, &i))) {
    size_t klen = e->klen & ~SIO__MAP_BORROWED;
    int kind = (unsigned char)e->key[0];
    if (kind == SIO__REDIS_SHARD && !c->sharded) {
      if (!warned++)
        sio__warn("redis %s: Redis %s has no sharded pub/sub: shard channels not renewed", c->name,
                  c->version);
      continue;
    }
    if (send_sub(c, kind, 0, e->key + 1, klen - 1, NULL, NULL, 1) == 0)
      sent++;
    else
      sio__error("redis %s: out of memory renewing a subscription", c->name);
  }
  return sent;
}

/* The map key of a subscription: the kind byte, then the channel. */
static char *sub_key(int kind, const char *channel, size_t len, char *small, size_t cap) {
  char *k = len + 1 <= cap ? small : sio__malloc(len + 1);
  if (!k) return NULL;
  k[0] = (char)kind;
  if (len) memcpy(k + 1, channel, len);
  return k;
}

static int check_args(const sio__redis *c, sio__redis_sub_kind kind, const char *channel,
                      size_t len) {
  if (!c->opts.on_message) return SIO__REDIS_ESUBSCRIBER;
  if (kind < SIO__REDIS_CHANNEL || kind > SIO__REDIS_SHARD || (!channel && len)) return -EINVAL;
  return 0;
}

int sio__redis_subscribe(sio__redis *c, sio__redis_sub_kind kind, const char *channel, size_t len,
                         sio__redis_done_cb cb, void *user) {
  int rc = check_args(c, kind, channel, len);
  if (rc) return rc;
  if (kind == SIO__REDIS_SHARD && c->sharded == 0) return SIO__REDIS_ENOSHARD;
  if (c->state == SIO__RS_FREED) {
    if (cb) cb(c, SIO_ECLOSED, user);
    return 0;
  }
  char small[256], *key = sub_key(kind, channel, len, small, sizeof small);
  if (!key) return -ENOMEM;
  int added = 0;
  if (!sio__map_get(&c->subs, key, len + 1)) {
    rc = sio__map_put(&c->subs, key, len + 1, c);
    added = rc == 0;
  }
  if (!rc && sio__redis_link_up(c)) {
    int gate = c->state == SIO__RS_HANDSHAKE;
    rc = send_sub(c, kind, 0, channel, len, cb, user, gate);
    if (!rc && gate) c->resub_left++;
    if (rc && added) sio__map_del(&c->subs, key, len + 1);
  } else if (!rc && cb) {
    cb(c, SIO_ECLOSED, user);
  }
  if (key != small) sio__free(key);
  return rc;
}

int sio__redis_unsubscribe(sio__redis *c, sio__redis_sub_kind kind, const char *channel, size_t len,
                           sio__redis_done_cb cb, void *user) {
  int rc = check_args(c, kind, channel, len);
  if (rc) return rc;
  char small[256], *key = sub_key(kind, channel, len, small, sizeof small);
  if (!key) return -ENOMEM;
  sio__map_del(&c->subs, key, len + 1);
  if (key != small) sio__free(key);
  if (sio__redis_link_up(c)) return send_sub(c, kind, 1, channel, len, cb, user, 0);
  if (cb) cb(c, c->state == SIO__RS_FREED ? SIO_ECLOSED : 0, user);
  return 0;
}

size_t sio__redis_subscription_count(const sio__redis *c) {
  return c->subs.count;
}

void sio__redis_subs_free(sio__redis *c) {
  sio__map_free(&c->subs);
}
