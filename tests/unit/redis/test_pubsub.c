/* Tests of the Redis client's subscriber mode (src/redis/subscribe.c) against a real
 * redis-server: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE (sharded, Redis 7) with binary and large
 * payloads, PUBSUB NUMSUB / SHARDNUMSUB, unsubscribing, subscribing while Redis is down (made
 * on connect), Redis restarted mid-run (every subscription renewed, READY again and messages
 * of each kind flowing within 2 s), freeing from a message callback; and the classification
 * of reply trees (message pushes, confirmations, ordinary replies) on hand-written RESP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "client_fixture.h"

typedef struct inbox {
  events ev;
  int n, by_kind[4];
  sio__redis_message last;
  char channel[64], pattern[64];
  char *payload; /* a copy of the last one */
  int free_on_message;
} inbox;

static void on_message(sio__redis *c, const sio__redis_message *m, void *user) {
  inbox *in = user;
  in->n++;
  in->by_kind[m->kind]++;
  in->last = *m;
  snprintf(in->channel, sizeof in->channel, "%.*s", (int)m->channel_len, m->channel);
  snprintf(in->pattern, sizeof in->pattern, "%.*s", (int)m->pattern_len,
           m->pattern ? m->pattern : "");
  free(in->payload);
  in->payload = malloc(m->len + 1);
  memcpy(in->payload, m->payload, m->len);
  if (in->free_on_message) sio__redis_free(c);
}

static void on_sub_event(sio__redis *c, sio__redis_event ev, int err, void *user) {
  on_event(c, ev, err, &((inbox *)user)->ev);
}

static sio__redis *subscriber(fx *f, inbox *in) {
  sio__redis_opts o = {
      .name = "sub", .on_event = on_sub_event, .on_message = on_message, .user = in};
  sio__redis *c = NULL;
  assert_int_equal(sio__redis_new(&f->loop, f->url, &o, &c), 0);
  return c;
}

typedef struct done {
  int n, status;
} done;
static void on_done(sio__redis *c, int status, void *user) {
  done *d = user;
  d->n++;
  d->status = status;
}

typedef struct count {
  int n, status;
  long long value;
} count;
static void on_count(sio__redis *c, int status, long long v, void *user) {
  count *k = user;
  k->n++;
  k->status = status;
  k->value = v;
}

static long long numsub(fx *f, sio__redis *pub, int shard, const char *ch) {
  count k = {0};
  assert_int_equal(sio__redis_numsub(pub, shard, ch, strlen(ch), on_count, &k), 0);
  assert_true(test_run_until(&f->loop, &k.n, 3000));
  assert_int_equal(k.status, 0);
  return k.value;
}

static void publish(fx *f, sio__redis *pub, int shard, const char *ch, const void *p, size_t len) {
  answer a = {0};
  assert_int_equal(sio__redis_publish(pub, shard, ch, strlen(ch), p, len, on_answer, &a), 0);
  assert_true(test_run_until(&f->loop, &a.n, 3000));
  assert_int_equal(a.status, 0);
}

static void subscribe_all(fx *f, sio__redis *sub) {
  done d[3] = {{0}};
  assert_int_equal(sio__redis_subscribe(sub, SIO__REDIS_CHANNEL, "news", 4, on_done, &d[0]), 0);
  assert_int_equal(sio__redis_subscribe(sub, SIO__REDIS_PATTERN, "room#*", 6, on_done, &d[1]), 0);
  assert_int_equal(sio__redis_subscribe(sub, SIO__REDIS_SHARD, "shard#1", 7, on_done, &d[2]), 0);
  for (int i = 0; i < 3; i++) {
    assert_true(test_run_until(&f->loop, &d[i].n, 3000));
    assert_int_equal(d[i].status, 0);
  }
}

/* A subscriber on the three channels and a command client, both READY. */
static void subscribed_pair(fx *f, inbox *in, events *pev, sio__redis **sub, sio__redis **pub) {
  *sub = subscriber(f, in);
  *pub = fx_client(f, NULL, pev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &in->ev.flag, 3000));
  assert_true(test_run_until(&f->loop, &pev->flag, 3000));
  subscribe_all(f, *sub);
}

static void test_kinds(void **state) {
  fx *f = *state;
  inbox in = {0};
  events pev = {0};
  sio__redis *sub, *pub;
  subscribed_pair(f, &in, &pev, &sub, &pub);
  assert_int_equal(sio__redis_subscription_count(sub), 3);
  assert_int_equal(numsub(f, pub, 0, "news"), 1);
  assert_int_equal(numsub(f, pub, 1, "shard#1"), 1);
  assert_int_equal(numsub(f, pub, 1, "news"), 0);

  publish(f, pub, 0, "news", "hello", 5);
  assert_true(test_run_until(&f->loop, &in.by_kind[SIO__REDIS_MESSAGE], 3000));
  assert_string_equal(in.channel, "news");
  assert_null(in.last.pattern);
  assert_memory_equal(in.payload, "hello", 5);

  const char bin[] = {0, 1, '\r', '\n', (char)0xff, 0};
  publish(f, pub, 0, "room#42", bin, sizeof bin);
  assert_true(test_run_until(&f->loop, &in.by_kind[SIO__REDIS_PMESSAGE], 3000));
  assert_string_equal(in.channel, "room#42");
  assert_string_equal(in.pattern, "room#*");
  assert_int_equal(in.last.len, sizeof bin);
  assert_memory_equal(in.payload, bin, sizeof bin);

  publish(f, pub, 1, "shard#1", "s", 1);
  assert_true(test_run_until(&f->loop, &in.by_kind[SIO__REDIS_SMESSAGE], 3000));
  assert_string_equal(in.channel, "shard#1");

  /* a 1 MiB binary payload, read in many pieces */
  size_t big_len = 1 << 20;
  char *big = malloc(big_len);
  for (size_t i = 0; i < big_len; i++) big[i] = (char)(i * 31 + (i >> 9));
  in.n = 0;
  publish(f, pub, 0, "news", big, big_len);
  assert_true(test_run_until(&f->loop, &in.n, 3000));
  assert_int_equal(in.last.len, big_len);
  assert_memory_equal(in.payload, big, big_len);
  free(big);

  /* unsubscribing: confirmed, forgotten, no more messages */
  done d = {0};
  assert_int_equal(sio__redis_unsubscribe(sub, SIO__REDIS_CHANNEL, "news", 4, on_done, &d), 0);
  assert_true(test_run_until(&f->loop, &d.n, 3000));
  assert_int_equal(d.status, 0);
  assert_int_equal(sio__redis_subscription_count(sub), 2);
  assert_int_equal(numsub(f, pub, 0, "news"), 0);
  in.n = 0;
  publish(f, pub, 0, "news", "x", 1);
  test_run_for(&f->loop, 50);
  assert_int_equal(in.n, 0);

  /* a subscriber takes no command */
  assert_int_equal(sio__redis_commandl(sub, NULL, NULL, "PING", NULL), SIO__REDIS_ESUBSCRIBER);
  assert_int_equal(sio__redis_numsub(sub, 0, "x", 1, on_count, NULL), SIO__REDIS_ESUBSCRIBER);
  assert_int_equal(sio__redis_subscribe(sub, 9, "x", 1, NULL, NULL), -EINVAL);
  sio__redis_free(sub);
  sio__redis_free(pub);
  free(in.payload);
}

static void test_subscribe_while_down(void **state) {
  fx *f = *state;
  test_redis_stop(&f->redis);
  inbox in = {0};
  sio__redis *sub = subscriber(f, &in);
  test_run_for(&f->loop, 100);
  done d = {0};
  assert_int_equal(sio__redis_subscribe(sub, SIO__REDIS_CHANNEL, "later", 5, on_done, &d), 0);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.status, SIO_ECLOSED); /* not in force yet, but remembered */
  assert_int_equal(test_redis_start(&f->redis), 0);
  events pev = {0};
  sio__redis *pub = fx_client(f, NULL, &pev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &in.ev.flag, 3000));
  assert_true(test_run_until(&f->loop, &pev.flag, 3000));
  assert_int_equal(numsub(f, pub, 0, "later"), 1); /* READY came after the renewal */
  publish(f, pub, 0, "later", "m", 1);
  assert_true(test_run_until(&f->loop, &in.n, 3000));
  sio__redis_free(sub);
  sio__redis_free(pub);
  free(in.payload);
}

/* Publishes on the three channels every 20 ms while the publisher is ready. */
typedef struct pinger {
  sio__redis *pub;
  uv_timer_t t;
} pinger;
static void ping_all(uv_timer_t *t) {
  pinger *p = t->data;
  if (!sio__redis_is_ready(p->pub)) return;
  sio__redis_publish(p->pub, 0, "news", 4, "n", 1, NULL, NULL);
  sio__redis_publish(p->pub, 0, "room#1", 6, "r", 1, NULL, NULL);
  sio__redis_publish(p->pub, 1, "shard#1", 7, "s", 1, NULL, NULL);
}

static int all_kinds(const inbox *in) {
  return in->by_kind[1] && in->by_kind[2] && in->by_kind[3];
}

static void wait_all_kinds(fx *f, inbox *in, unsigned ms) {
  uint64_t end = uv_now(&f->loop) + ms;
  while (!all_kinds(in) && uv_now(&f->loop) < end) test_run_for(&f->loop, 10);
}

static void test_restart(void **state) {
  fx *f = *state;
  inbox in = {0};
  events pev = {0};
  sio__redis *sub, *pub;
  subscribed_pair(f, &in, &pev, &sub, &pub);
  pinger p = {.pub = pub};
  uv_timer_init(&f->loop, &p.t);
  p.t.data = &p;
  uv_timer_start(&p.t, ping_all, 20, 20);
  wait_all_kinds(f, &in, 2000);
  assert_true(all_kinds(&in));

  for (int round = 0; round < 2; round++) {
    test_redis_stop(&f->redis);
    in.ev.flag = 0;
    test_run_for(&f->loop, 300); /* down for a while: retries */
    assert_int_equal(in.ev.down > 0 && pev.down > 0, 1);
    memset(in.by_kind, 0, sizeof in.by_kind);
    assert_int_equal(test_redis_start(&f->redis), 0);
    double t0 = test_ms();
    wait_all_kinds(f, &in, 3000);
    double took = test_ms() - t0;
    print_message("round %d: messages of each kind again %.0f ms after the restart\n", round, took);
    assert_true(all_kinds(&in));
    assert_true(took < 2000);
    assert_int_equal(in.ev.ready, 2 + round);
  }
  assert_int_equal(log_failures, 4); /* once per client per outage */
  assert_int_equal(log_recoveries, 4);
  uv_close((uv_handle_t *)&p.t, NULL);
  test_run_for(&f->loop, 10); /* p is on this stack */
  sio__redis_free(sub);
  sio__redis_free(pub);
  free(in.payload);
}

static void test_free_from_message(void **state) {
  fx *f = *state;
  inbox in = {.free_on_message = 1};
  events pev = {0};
  sio__redis *sub, *pub;
  subscribed_pair(f, &in, &pev, &sub, &pub);
  done d = {0}; /* pending when freed */
  sio__redis_subscribe(sub, SIO__REDIS_CHANNEL, "other", 5, on_done, &d);
  for (int i = 0; i < 5; i++) sio__redis_publish(pub, 0, "news", 4, "x", 1, NULL, NULL);
  test_run_for(&f->loop, 200);
  assert_int_equal(in.n, 1); /* the others were not dispatched after the free */
  assert_int_equal(d.n, 1);
  sio__redis_free(pub);
  free(in.payload);
}

/* ---- Classification of reply trees ---------------------------------------------------- */

static redisReply *parse(const char *resp, size_t n) {
  redisReader *rd = redisReaderCreate();
  void *r = NULL;
  redisReaderFeed(rd, resp, n);
  assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
  redisReaderFree(rd);
  assert_non_null(r);
  return r;
}

static sio__redis_push classify(const char *resp, size_t n, sio__redis_message *m,
                                sio__redis_sub_kind *kind, int *unsub) {
  redisReply *r = parse(resp, n);
  sio__redis_push p = sio__redis_classify(r, m, kind, unsub);
  freeReplyObject(r); /* m points into r: only its lengths and kinds are checked */
  return p;
}

#define S(lit) lit, sizeof lit - 1
static void test_classify(void **state) {
  sio__redis_message m;
  sio__redis_sub_kind k = 0;
  int u = -1;
  assert_int_equal(classify(S("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\na\0b\r\n"), &m, &k, &u),
                   SIO__REDIS_PUSH_MESSAGE);
  assert_int_equal(m.kind, SIO__REDIS_MESSAGE);
  assert_int_equal(m.len, 3);
  assert_int_equal(
      classify(S("*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$0\r\n\r\n"), &m, &k, &u),
      SIO__REDIS_PUSH_MESSAGE);
  assert_int_equal(m.kind, SIO__REDIS_PMESSAGE);
  assert_int_equal(m.pattern_len, 2);
  assert_int_equal(m.len, 0);
  assert_int_equal(classify(S("*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n"), &m, &k, &u),
                   SIO__REDIS_PUSH_MESSAGE);
  assert_int_equal(m.kind, SIO__REDIS_SMESSAGE);
  assert_int_equal(classify(S("*3\r\n$10\r\nssubscribe\r\n$1\r\nx\r\n:1\r\n"), &m, &k, &u),
                   SIO__REDIS_PUSH_CONFIRM);
  assert_int_equal(k, SIO__REDIS_SHARD);
  assert_int_equal(u, 0);
  assert_int_equal(classify(S("*3\r\n$12\r\npunsubscribe\r\n$1\r\nx\r\n:0\r\n"), &m, &k, &u),
                   SIO__REDIS_PUSH_CONFIRM);
  assert_int_equal(k, SIO__REDIS_PATTERN);
  assert_int_equal(u, 1);
  assert_int_equal(classify(S("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"), &m, &k, &u),
                   SIO__REDIS_PUSH_CONFIRM);
  assert_int_equal(k, SIO__REDIS_CHANNEL);
  /* ordinary replies, and near misses */
  const char *none[] = {"+OK\r\n",
                        "-ERR unknown command 'SSUBSCRIBE'\r\n",
                        ":3\r\n",
                        "*0\r\n",
                        "*-1\r\n",
                        "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
                        "*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\nx\r\n",
                        "*3\r\n:7\r\n$2\r\nch\r\n$1\r\nx\r\n",
                        "*4\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n$1\r\nx\r\n",
                        "*3\r\n$8\r\npmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
                        "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n$1\r\n1\r\n",
                        "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\nx\r\n:1\r\n",
                        "*3\r\n$9\r\nsubscribf\r\n$1\r\nx\r\n:1\r\n",
                        "*3\r\n*1\r\n:1\r\n$1\r\nx\r\n:1\r\n"};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    assert_int_equal(classify(none[i], strlen(none[i]), &m, &k, &u), SIO__REDIS_PUSH_NONE);
  assert_int_equal(sio__redis_classify(NULL, &m, &k, &u), SIO__REDIS_PUSH_NONE);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
  const struct CMUnitTest tests[] = {
      T(test_kinds),
      T(test_subscribe_while_down),
      T(test_restart),
      T(test_free_from_message),
      cmocka_unit_test(test_classify),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
