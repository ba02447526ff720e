/* Tests of the Redis client (src/redis/client.c, command.c) against a real redis-server that
 * each test starts on a free port: commands and their reply types, an error reply, 10,000
 * pipelined commands answered in order, binary-safe arguments, AUTH with an ACL user, with a
 * password alone and with a wrong one (the error surfaced), SELECT, the server's version,
 * Redis down at start (retries, logged once, READY when it starts), pending commands failing
 * when the connection drops, commands while disconnected failing at once, and freeing with
 * commands pending (from outside and from inside a callback). The teardown checks that the
 * loop closes and that no sio allocation is left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "client_fixture.h"

static void test_commands(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_non_null(c);
  assert_int_equal(sio__redis_is_ready(c), 0);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  assert_int_equal(sio__redis_is_ready(c), 1);
  assert_int_equal(strncmp(sio__redis_server_version(c), "7.", 2), 0);
  assert_int_equal(sio__redis_has_sharded(c), 1);

  answer a = fx_call(f, c, 3, (const char *[]){"SET", "k", "v"}, NULL);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.type, REDIS_REPLY_STATUS);
  assert_string_equal(a.str, "OK");
  a = fx_call(f, c, 2, (const char *[]){"GET", "k"}, NULL);
  assert_int_equal(a.type, REDIS_REPLY_STRING);
  assert_string_equal(a.str, "v");
  a = fx_call(f, c, 2, (const char *[]){"GET", "nothing"}, NULL);
  assert_int_equal(a.type, REDIS_REPLY_NIL);
  a = fx_call(f, c, 2, (const char *[]){"INCR", "k"}, NULL); /* not an integer */
  assert_int_equal(a.status, SIO__REDIS_EREPLY);
  assert_int_equal(a.type, REDIS_REPLY_ERROR);
  assert_non_null(strstr(a.str, "not an integer"));
  a = fx_call(f, c, 1, (const char *[]){"NOSUCHCOMMAND"}, NULL);
  assert_int_equal(a.status, SIO__REDIS_EREPLY);

  answer b = {0};
  assert_int_equal(sio__redis_commandl(c, on_answer, &b, "INCRBY", "n", "41", NULL), 0);
  test_run_until(&f->loop, &b.n, 3000);
  assert_int_equal(b.type, REDIS_REPLY_INTEGER);
  assert_int_equal(b.integer, 41);
  /* NULL callback: the answer is dropped, the pipeline stays aligned */
  assert_int_equal(sio__redis_commandl(c, NULL, NULL, "INCR", "n", NULL), 0);
  a = fx_call(f, c, 2, (const char *[]){"GET", "n"}, NULL);
  assert_string_equal(a.str, "42");
  assert_int_equal(sio__redis_command(c, 0, NULL, NULL, NULL, NULL), -EINVAL);
  /* a command client takes no subscription */
  assert_int_equal(sio__redis_subscribe(c, SIO__REDIS_CHANNEL, "x", 1, NULL, NULL),
                   SIO__REDIS_ESUBSCRIBER);
  sio__redis_free(c);
  sio__redis_free(NULL);
}

typedef struct seq {
  int next, bad, done;
} seq;

static void on_incr(sio__redis *c, int status, const redisReply *r, void *user) {
  seq *s = user;
  s->next++;
  if (status || r->type != REDIS_REPLY_INTEGER || r->integer != s->next) s->bad++;
  if (s->next == 10000) s->done = 1;
}

static void test_pipeline_10000(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  seq s = {0};
  double t0 = test_ms();
  for (int i = 0; i < 10000; i++)
    assert_int_equal(sio__redis_commandl(c, on_incr, &s, "INCR", "seq", NULL), 0);
  assert_true(test_run_until(&f->loop, &s.done, 10000));
  print_message("10,000 pipelined INCR answered in %.1f ms\n", test_ms() - t0);
  assert_int_equal(s.bad, 0);
  assert_int_equal(s.next, 10000);
  sio__redis_free(c);
}

static void test_binary(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  char key[] = {'b', 0, 'k', '\r', '\n'};
  char val[200];
  for (int i = 0; i < 200; i++) val[i] = (char)(i * 7);
  answer a =
      fx_call(f, c, 3, (const char *[]){"SET", key, val}, (size_t[]){3, sizeof key, sizeof val});
  assert_int_equal(a.status, 0);
  a = fx_call(f, c, 2, (const char *[]){"GET", key}, (size_t[]){3, sizeof key});
  assert_int_equal(a.len, sizeof val);
  assert_memory_equal(a.str, val, sizeof val);
  sio__redis_free(c);
}

static void test_auth(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *admin = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  answer a =
      fx_call(f, admin, 7,
              (const char *[]){"ACL", "SETUSER", "al@ce", "on", ">s3:cr/t", "~*", "+@all"}, NULL);
  assert_int_equal(a.status, 0);

  char url[160];
  events ok = {0};
  snprintf(url, sizeof url, "redis://al%%40ce:s3%%3acr%%2Ft@127.0.0.1:%d", f->redis.port);
  sio__redis *alice = fx_client(f, url, &ok, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ok.flag, 3000));
  a = fx_call(f, alice, 2, (const char *[]){"ACL", "WHOAMI"}, NULL);
  assert_string_equal(a.str, "al@ce");

  /* a wrong password: DOWN with SIO__REDIS_EAUTH, Redis's text kept, logged once */
  events bad = {0};
  snprintf(url, sizeof url, "redis://al%%40ce:wrong@127.0.0.1:%d", f->redis.port);
  sio__redis *mallory = fx_client(f, url, &bad, NULL, NULL);
  test_run_for(&f->loop, 400);
  assert_int_equal(bad.ready, 0);
  assert_true(bad.down >= 2); /* it retries */
  assert_int_equal(bad.last_err, SIO__REDIS_EAUTH);
  assert_non_null(strstr(sio__redis_last_error(mallory), "WRONGPASS"));
  assert_int_equal(log_failures, 1);
  a = fx_call(f, mallory, 1, (const char *[]){"PING"}, NULL);
  assert_int_equal(a.status, SIO_ECLOSED);
  sio__redis_free(mallory);

  /* a user that may not run INFO: ready, the version unknown */
  a = fx_call(f, admin, 8,
              (const char *[]){"ACL", "SETUSER", "bob", "on", ">pw", "~*", "+@all", "-info"}, NULL);
  assert_int_equal(a.status, 0);
  events bev = {0};
  snprintf(url, sizeof url, "redis://bob:pw@127.0.0.1:%d", f->redis.port);
  sio__redis *bob = fx_client(f, url, &bev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &bev.flag, 3000));
  assert_string_equal(sio__redis_server_version(bob), "");
  assert_int_equal(sio__redis_has_sharded(bob), -1);
  sio__redis_free(bob);

  /* the password alone: AUTH <password> for the default user */
  a = fx_call(f, admin, 4, (const char *[]){"CONFIG", "SET", "requirepass", "pw"}, NULL);
  assert_int_equal(a.status, 0);
  events def = {0};
  snprintf(url, sizeof url, "redis://:pw@127.0.0.1:%d", f->redis.port);
  sio__redis *dflt = fx_client(f, url, &def, NULL, NULL);
  assert_true(test_run_until(&f->loop, &def.flag, 3000));
  a = fx_call(f, dflt, 2, (const char *[]){"ACL", "WHOAMI"}, NULL);
  assert_string_equal(a.str, "default");
  /* no password where one is needed: INFO's NOAUTH is a refusal */
  events none = {0};
  sio__redis *anon = fx_client(f, NULL, &none, NULL, NULL);
  test_run_for(&f->loop, 200);
  assert_int_equal(none.ready, 0);
  assert_int_equal(none.last_err, SIO__REDIS_EAUTH);
  assert_non_null(strstr(sio__redis_last_error(anon), "NOAUTH"));
  sio__redis_free(anon);
  sio__redis_free(dflt);
  sio__redis_free(alice);
  sio__redis_free(admin);
}

static void test_select(void **state) {
  fx *f = *state;
  events e0 = {0}, e5 = {0};
  char url[160];
  snprintf(url, sizeof url, "%s/5", f->url);
  sio__redis *db0 = fx_client(f, NULL, &e0, NULL, NULL);
  sio__redis *db5 = fx_client(f, url, &e5, NULL, NULL);
  assert_true(test_run_until(&f->loop, &e0.flag, 3000));
  assert_true(test_run_until(&f->loop, &e5.flag, 3000));
  assert_int_equal(sio__redis_get_url(db5)->db, 5);
  assert_int_equal(fx_call(f, db5, 3, (const char *[]){"SET", "where", "five"}, NULL).status, 0);
  assert_int_equal(fx_call(f, db0, 2, (const char *[]){"GET", "where"}, NULL).type,
                   REDIS_REPLY_NIL);
  assert_string_equal(fx_call(f, db5, 2, (const char *[]){"GET", "where"}, NULL).str, "five");
  /* a db the server does not have: SELECT refused, surfaced as EAUTH with Redis's text */
  events bad = {0};
  snprintf(url, sizeof url, "%s/99", f->url);
  sio__redis *c99 = fx_client(f, url, &bad, NULL, NULL);
  test_run_for(&f->loop, 200);
  assert_int_equal(bad.ready, 0);
  assert_int_equal(bad.last_err, SIO__REDIS_EAUTH);
  assert_non_null(strstr(sio__redis_last_error(c99), "SELECT"));
  sio__redis_free(c99);
  sio__redis_free(db5);
  sio__redis_free(db0);
}

static void test_down_at_start(void **state) {
  fx *f = *state;
  test_redis_stop(&f->redis);
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  test_run_for(&f->loop, 600);
  assert_int_equal(ev.ready, 0);
  assert_true(ev.down >= 3); /* 50, 100, 200 ms... (jittered) */
  assert_int_equal(ev.last_err, -ECONNREFUSED);
  assert_int_equal(log_failures, 1); /* once, not per retry */
  answer a = {0};
  assert_int_equal(sio__redis_commandl(c, on_answer, &a, "PING", NULL), 0);
  assert_int_equal(a.n, 1); /* failed at once */
  assert_int_equal(a.status, SIO_ECLOSED);
  assert_int_equal(test_redis_start(&f->redis), 0);
  double t0 = test_ms();
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  assert_true(test_ms() - t0 < 2100); /* the backoff is capped at 2 s */
  assert_int_equal(log_recoveries, 1);
  assert_string_equal(fx_call(f, c, 1, (const char *[]){"PING"}, NULL).str, "PONG");
  sio__redis_free(c);
}

static void test_pending_fail_on_drop(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  answer blocked = {0}, after[50] = {{0}};
  sio__redis_commandl(c, on_answer, &blocked, "BLPOP", "never", "0", NULL);
  for (int i = 0; i < 50; i++) sio__redis_commandl(c, on_answer, &after[i], "PING", NULL);
  test_run_for(&f->loop, 50);
  assert_int_equal(blocked.n, 0);
  test_redis_stop(&f->redis);
  assert_true(test_run_until(&f->loop, &blocked.n, 3000));
  assert_int_equal(blocked.status, SIO_ECLOSED);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(after[i].n, 1);
    assert_int_equal(after[i].status, SIO_ECLOSED);
  }
  assert_int_equal(sio__redis_is_ready(c), 0);
  assert_int_equal(ev.down, 1);
  assert_int_equal(log_failures, 1);
  sio__redis_free(c);
}

/* Frees the client from its callback: the rest fail with SIO_ECLOSED during that free. */
typedef struct freer {
  sio__redis *c;
  int calls, closed;
} freer;

static void free_in_callback(sio__redis *c, int status, const redisReply *r, void *user) {
  freer *fr = user;
  fr->calls++;
  if (status == SIO_ECLOSED) fr->closed++;
  if (fr->calls == 1) {
    sio__redis_free(c);
    sio__redis_free(c); /* twice: a no-op */
    answer a = {0};     /* a command on the freed client fails at once */
    assert_int_equal(sio__redis_commandl(c, on_answer, &a, "PING", NULL), 0);
    assert_int_equal(a.status, SIO_ECLOSED);
  }
}

static void test_free_with_pending(void **state) {
  fx *f = *state;
  events ev = {0};
  sio__redis *c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  answer blocked = {0}, pings[100] = {{0}};
  sio__redis_commandl(c, on_answer, &blocked, "BLPOP", "never", "0", NULL);
  for (int i = 0; i < 100; i++) sio__redis_commandl(c, on_answer, &pings[i], "PING", NULL);
  sio__redis_free(c); /* before anything was written */
  assert_int_equal(blocked.status, SIO_ECLOSED);
  for (int i = 0; i < 100; i++) assert_int_equal(pings[i].status, SIO_ECLOSED);
  assert_int_equal(ev.down, 0); /* no event after free */

  ev = (events){0};
  c = fx_client(f, NULL, &ev, NULL, NULL);
  assert_true(test_run_until(&f->loop, &ev.flag, 3000));
  freer fr = {.c = c};
  for (int i = 0; i < 20; i++) sio__redis_commandl(c, free_in_callback, &fr, "PING", NULL);
  sio__redis_commandl(c, free_in_callback, &fr, "BLPOP", "never", "0", NULL);
  test_run_until(&f->loop, &fr.calls, 3000);
  assert_int_equal(fr.calls, 21);
  assert_int_equal(fr.closed, 20);

  /* freed while connecting, and before the first attempt */
  ev = (events){0};
  c = fx_client(f, NULL, &ev, NULL, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  sio__redis_free(c);
  c = fx_client(f, "redis://localhost:1", &ev, NULL, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  sio__redis_free(c);
  c = fx_client(f, NULL, &ev, NULL, NULL);
  sio__redis_free(c);
}

/* Allocation failures at every step of creating, connecting and a first command: each is
 * refused or retried, nothing leaks, and the client recovers once memory is back. */
static void test_alloc_failures(void **state) {
  fx *f = *state;
  for (long n = 0; n < 40; n++) {
    events ev = {0};
    sio__redis *c = NULL;
    sio__alloc_fail_after(n);
    int rc = sio__redis_new(&f->loop, f->url, NULL, &c);
    if (rc) {
      sio__alloc_fail_reset();
      assert_int_equal(rc, -ENOMEM);
      continue;
    }
    sio__redis_free(c);
    sio__alloc_fail_reset();
    c = fx_client(f, NULL, &ev, NULL, NULL);
    assert_non_null(c);
    sio__alloc_fail_after(n);
    test_run_for(&f->loop, 20);
    answer a = {0};
    rc = sio__redis_commandl(c, on_answer, &a, "PING", NULL);
    assert_true(rc == 0 || rc == -ENOMEM);
    test_run_for(&f->loop, 10);
    sio__alloc_fail_reset();
    assert_true(test_run_until(&f->loop, &ev.flag, 3000));
    assert_string_equal(fx_call(f, c, 1, (const char *[]){"PING"}, NULL).str, "PONG");
    sio__redis_free(c);
  }
}

static void test_bad_url(void **state) {
  fx *f = *state;
  sio__redis *c = (sio__redis *)1;
  assert_int_equal(sio__redis_new(&f->loop, "rediss://h", NULL, &c), SIO__REDIS_ETLS);
  assert_null(c);
  assert_int_equal(sio__redis_new(NULL, f->url, NULL, &c), -EINVAL);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
  const struct CMUnitTest tests[] = {
      T(test_commands),
      T(test_pipeline_10000),
      T(test_binary),
      T(test_auth),
      T(test_select),
      T(test_down_at_start),
      T(test_pending_fail_on_drop),
      T(test_free_with_pending),
      T(test_alloc_failures),
      T(test_bad_url),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
