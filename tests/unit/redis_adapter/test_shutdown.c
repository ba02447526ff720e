/* A server with the Redis adapter and handle_signals ends on SIGTERM: the app's graceful
 * shutdown tells the adapters, whose Redis connections (which reconnect forever) then no
 * longer keep the loop running, so uv_run returns within a bound, with Redis up (classic and
 * sharded) and with Redis down (the adapter retrying). A watchdog that does not hold the loop
 * stops it when the shutdown hangs, and the test fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "redis/redis_server.h"
#include "sio/io.h"
#include "sio/redis.h"

enum { SHUTDOWN_BOUND_MS = 4000 };

typedef struct world {
  uv_loop_t loop;
  test_redis redis;
  sio_redis_adapter *ra;
  sio_app *app;
  sio_io *io;
  uv_timer_t term, watchdog;
  int hung;
} world;

static world W;

static void on_term(uv_timer_t *t) {
  (void)t;
  raise(SIGTERM); /* the app's own handler (handle_signals) starts the graceful shutdown */
}

static void on_watchdog(uv_timer_t *t) {
  W.hung = 1;
  uv_stop(t->loop);
}

static int setup(void **state) {
  (void)state;
  memset(&W, 0, sizeof W);
  uv_loop_init(&W.loop);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sio_app_free(W.app); /* and the io */
  sio_redis_adapter_free(W.ra);
  if (W.watchdog.loop) uv_close((uv_handle_t *)&W.watchdog, NULL);
  if (W.term.loop) uv_close((uv_handle_t *)&W.term, NULL);
  for (int i = 0; i < 100 && uv_loop_alive(&W.loop); i++) uv_run(&W.loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&W.loop), 0);
  test_redis_stop(&W.redis);
  return 0;
}

/* Starts the server (a dynamic namespace too: each namespace has its own adapter), waits
 * until the adapter is up when want_ready, then sends SIGTERM; returns how long uv_run took
 * to return after it, in ms (W.hung when the watchdog had to stop it). */
static double serve_then_term(int sharded, int want_ready) {
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", W.redis.port);
  sio_redis_adapter_opts ro = sio_redis_adapter_opts_default();
  ro.sharded = sharded;
  assert_int_equal(sio_redis_adapter_new(&W.loop, url, &ro, &W.ra), 0);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  ao.handle_signals = 1;
  ao.shutdown_timeout_ms = 500;
  assert_non_null(W.app = sio_app_new(&W.loop, &ao));
  sio_io_opts o = sio_io_opts_default();
  o.adapter = sio_redis_adapter_factory;
  o.adapter_arg = W.ra;
  assert_non_null(W.io = sio_io_attach(W.app, &o));
  assert_non_null(sio_of(W.io, "/chat"));
  assert_int_equal(sio_app_listen(W.app), 0);
  for (int i = 0; want_ready && i < 400 && !sio_redis_adapter_ready(W.ra); i++)
    test_run_for(&W.loop, 10);
  if (want_ready)
    assert_true(sio_redis_adapter_ready(W.ra));
  else
    test_run_for(&W.loop, 300); /* a failed attempt or two: the retry timer is armed */
  uv_timer_init(&W.loop, &W.term);
  uv_timer_start(&W.term, on_term, 10, 0);
  uv_timer_init(&W.loop, &W.watchdog);
  uv_timer_start(&W.watchdog, on_watchdog, SHUTDOWN_BOUND_MS, 0);
  uv_unref((uv_handle_t *)&W.watchdog); /* it must not be what keeps the loop running */
  double start = test_ms();
  uv_run(&W.loop, UV_RUN_DEFAULT);
  double ms = test_ms() - start;
  print_message("uv_run returned %.0f ms after SIGTERM%s\n", ms, W.hung ? " (hung)" : "");
  return ms;
}

static void test_classic_redis_up(void **state) {
  (void)state;
  assert_int_equal(test_redis_start(&W.redis), 0);
  serve_then_term(0, 1);
  assert_false(W.hung);
}

static void test_sharded_redis_up(void **state) {
  (void)state;
  assert_int_equal(test_redis_start(&W.redis), 0);
  serve_then_term(1, 1);
  assert_false(W.hung);
}

static void test_redis_down(void **state) {
  (void)state;
  W.redis.port = test_free_port(); /* nothing listens there: the adapter keeps retrying */
  serve_then_term(0, 0);
  assert_false(W.hung);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      T(test_classic_redis_up),
      T(test_sharded_redis_up),
      T(test_redis_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
