/* The emitter against a real redis-server (started by each test on a free port, stopped by its
 * PID also on failure, see tests/unit/redis/redis_server.h): a PSUBSCRIBE/SUBSCRIBE client
 * receives exactly what the emitter publishes (the bytes its test tap sees, which
 * test_emitter_diff compares with Node's); publishes made before the connection is up wait in
 * the offline queue, bounded; a program that emits, frees and runs its loop sends everything
 * and its loop ends; with Redis down the freed emitter's messages fail with SIO_ECLOSED once
 * the attempt fails; Redis restarted: what was queued meanwhile goes out. No leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emitter/emitter_internal.h"
#include "redis/client_fixture.h"

#define MAX_MSGS 16

typedef struct seen {
  int n;
  volatile int flag; /* set once `want` messages arrived */
  int want;
  char *channel[MAX_MSGS], *payload[MAX_MSGS];
  size_t len[MAX_MSGS];
} seen;

static char *dup_bytes(const void *p, size_t n) {
  char *d = malloc(n + 1);
  memcpy(d, p, n);
  d[n] = 0;
  return d;
}

static void record(seen *s, const char *ch, size_t chlen, const void *payload, size_t len) {
  assert_true(s->n < MAX_MSGS);
  s->channel[s->n] = dup_bytes(ch, chlen);
  s->payload[s->n] = dup_bytes(payload, len);
  s->len[s->n++] = len;
  if (s->n >= s->want) s->flag = 1;
}

static void on_message(sio__redis *c, const sio__redis_message *m, void *user) {
  record(user, m->channel, m->channel_len, m->payload, m->len);
}

static void tap(const char *ch, size_t chlen, const void *payload, size_t len, void *user) {
  record(user, ch, chlen, payload, len);
}

static void seen_free(seen *s) {
  for (int i = 0; i < s->n; i++) free(s->channel[i]), free(s->payload[i]);
}

typedef struct dones {
  int n, ok, closed;
  long long receivers;
  volatile int flag;
  int want;
} dones;

static void on_done(int status, long long receivers, void *user) {
  dones *d = user;
  d->n++;
  if (!status) d->ok++, d->receivers += receivers;
  if (status == SIO_ECLOSED) d->closed++;
  if (d->n >= d->want) d->flag = 1;
}

/* The messages of the test, on emitter e (done counted in d). */
static void emit_all(sio_emitter *e, dones *d) {
  static const unsigned char bin[] = {0, 1, 0xff};
  sio_emitter *chat = sio_emitter_of(e, "chat");
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_op_done(sio_emitter_to(e, "r1"), on_done, d),
                                           "ev", "[1,\"two\",{\"three\":[3]}]"),
                   0);
  assert_int_equal(
      sio_emitter_op_emit_bin(sio_emitter_op_done(sio_emitter_volatile(chat), on_done, d), "bin",
                              bin, sizeof bin),
      0);
  assert_int_equal(
      sio_emitter_op_sockets_join(sio_emitter_op_done(sio_emitter_except(e, "x"), on_done, d), "s"),
      0);
  assert_int_equal(sio_emitter_op_disconnect_sockets(
                       sio_emitter_op_done(sio_emitter_op_new(chat), on_done, d), 1),
                   0);
  assert_int_equal(sio_emitter_server_side_emit_raw(e, "[\"hello\",1]"), 0);
  sio_emitter_free(chat);
}

static volatile int sub_ready;
static void on_sub_event(sio__redis *c, sio__redis_event ev, int err, void *user) {
  if (ev == SIO__REDIS_READY) sub_ready = 1;
}

/* Emits before the connection is up, frees at once; a subscriber receives the very bytes the
 * tap records for the same calls, each done reports 1 receiver, and the loop ends. */
static void test_subscribers_receive_what_is_published(void **state) {
  fx *f = *state;
  seen got = {.want = 5}, want = {.want = 5};
  dones d = {.want = 4}, tapped = {.want = 4};
  sio__redis_opts o = {
      .name = "sub", .on_event = on_sub_event, .on_message = on_message, .user = &got};
  sio__redis *sub = NULL;
  sub_ready = 0;
  assert_int_equal(sio__redis_new(&f->loop, f->url, &o, &sub), 0);
  sio__redis_subscribe(sub, SIO__REDIS_PATTERN, "socket.io#*", 11, NULL, NULL);
  sio__redis_subscribe(sub, SIO__REDIS_CHANNEL, "socket.io-request#/#", 20, NULL, NULL);
  sio__redis_subscribe(sub, SIO__REDIS_CHANNEL, "socket.io-request#/chat#", 24, NULL, NULL);
  assert_true(test_run_until(&f->loop, &sub_ready, 3000));

  sio_emitter *t; /* the same calls through the tap, for the expected bytes */
  assert_int_equal(sio_emitter_new(&f->loop, f->url, NULL, &t), 0);
  sio__emitter_set_tap(t, tap, &want);
  emit_all(t, &tapped);
  sio_emitter_free(t);
  assert_int_equal(want.n, 5);

  sio_emitter *e;
  assert_int_equal(sio_emitter_new(&f->loop, f->url, NULL, &e), 0);
  assert_false(sio_emitter_is_ready(e));
  emit_all(e, &d); /* queued: no connection yet */
  sio_emitter_free(e);
  assert_true(test_run_until(&f->loop, &got.flag, 3000));
  assert_true(test_run_until(&f->loop, &d.flag, 3000));
  assert_int_equal(d.ok, 4);
  assert_int_equal(d.receivers, 4);
  for (int i = 0; i < 5; i++) {
    assert_string_equal(got.channel[i], want.channel[i]);
    assert_int_equal(got.len[i], want.len[i]);
    assert_memory_equal(got.payload[i], want.payload[i], want.len[i]);
  }
  assert_string_equal(got.channel[0], "socket.io#/#r1#");
  assert_string_equal(got.channel[1], "socket.io#/chat#");
  assert_string_equal(got.channel[2], "socket.io-request#/#");
  assert_string_equal(got.payload[2], "{\"type\":2,\"opts\":{\"rooms\":[],\"except\":[\"x\"]},"
                                      "\"rooms\":[\"s\"]}");
  assert_string_equal(got.channel[3], "socket.io-request#/chat#");
  assert_string_equal(got.payload[3], "{\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]},"
                                      "\"close\":true}");
  assert_string_equal(got.payload[4], "{\"uid\":\"emitter\",\"type\":6,\"data\":[\"hello\",1]}");
  sio__redis_free(sub);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0); /* nothing left: the emitter closed */
  seen_free(&got), seen_free(&want);
}

/* Redis down: queued publishes of a freed emitter fail with SIO_ECLOSED once the connection
 * attempt fails, and the loop ends; the queue is bounded. */
static void test_down_fails_and_bounds(void **state) {
  fx *f = *state;
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", test_free_port());
  sio_emitter_opts o = sio_emitter_opts_default();
  o.max_queued = 3;
  sio_emitter *e;
  dones d = {.want = 3};
  assert_int_equal(sio_emitter_new(&f->loop, url, &o, &e), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(sio_emitter_op_emit_raw(
                         sio_emitter_op_done(sio_emitter_op_new(e), on_done, &d), "ev", NULL),
                     0);
  assert_int_equal(sio_emitter_flush(e, on_done, &d), 0);
  assert_int_equal(sio_emitter_emit_raw(e, "ev", NULL), -ENOBUFS);
  assert_int_equal(sio_emitter_sockets_join(e, "r"), -ENOBUFS);
  sio_emitter_free(e);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(d.n, 3);
  assert_int_equal(d.closed, 3);
}

/* Redis restarted: messages queued while it is down go out once it is back, in order, and a
 * flush behind them reports them answered. */
static void test_restart_sends_the_queue(void **state) {
  fx *f = *state;
  sio_emitter *e;
  dones d = {.want = 1}, later = {.want = 4};
  assert_int_equal(sio_emitter_new(&f->loop, f->url, NULL, &e), 0);
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_op_done(sio_emitter_op_new(e), on_done, &d),
                                           "before", NULL),
                   0);
  assert_true(test_run_until(&f->loop, &d.flag, 3000));
  assert_int_equal(d.ok, 1);
  assert_int_equal(d.receivers, 0); /* nobody subscribed */
  test_redis_stop(&f->redis);
  test_run_for(&f->loop, 100); /* the client sees the drop */
  assert_false(sio_emitter_is_ready(e));
  for (int i = 0; i < 3; i++)
    assert_int_equal(sio_emitter_op_emit_raw(
                         sio_emitter_op_done(sio_emitter_to(e, "r"), on_done, &later), "q", "[1]"),
                     0);
  assert_int_equal(sio_emitter_flush(e, on_done, &later), 0);
  assert_int_equal(test_redis_start(&f->redis), 0); /* same port */
  assert_true(test_run_until(&f->loop, &later.flag, 5000));
  assert_int_equal(later.ok, 4);
  assert_true(sio_emitter_is_ready(e));
  sio_emitter_free(e);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

/* The last emitter freed from a done callback: the messages behind are still answered, and
 * the connection closes after them. */
typedef struct freer {
  sio_emitter *e;
  dones d;
} freer;

static void free_on_done(int status, long long receivers, void *user) {
  freer *f = user;
  on_done(status, receivers, &f->d);
  sio_emitter_free(f->e);
  f->e = NULL;
}

static void test_free_from_done(void **state) {
  fx *f = *state;
  freer fr = {.d = {.want = 3}};
  assert_int_equal(sio_emitter_new(&f->loop, f->url, NULL, &fr.e), 0);
  assert_int_equal(
      sio_emitter_op_emit_raw(sio_emitter_op_done(sio_emitter_op_new(fr.e), free_on_done, &fr),
                              "first", NULL),
      0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        sio_emitter_op_emit_raw(sio_emitter_op_done(sio_emitter_op_new(fr.e), on_done, &fr.d),
                                "next", NULL),
        0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  assert_null(fr.e);
  assert_int_equal(fr.d.ok, 3);
}

/* No sio__alloc_hook_libraries: the fixture counts sio allocations around a loop that libuv
 * would then allocate in. */
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_subscribers_receive_what_is_published, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_down_fails_and_bounds, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_restart_sends_the_queue, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_free_from_done, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
