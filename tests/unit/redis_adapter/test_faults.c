/* The classic Redis adapter when Redis misbehaves: down when the servers start (they serve
 * their own clients, log once, and join the cluster when Redis comes), restarted mid-run
 * (requests pending then fail with SIO_ECLOSED, broadcasts flow again within 2 s), and
 * malformed or foreign messages on its channels (logged once per server, dropped, nothing
 * else disturbed). */
#include "redis/redis.h"
#include "redis_adapter/cluster_fixture.h"

typedef struct world {
  uv_loop_t loop;
  test_redis redis;
  node a, b;
  client ca, cb;
  int calls, status, drops, warnings, acks_status;
  size_t acks_n;
  size_t n;
} world;

static world W;

static void log_sink(sio_log_level level, const char *line, void *user) {
  if (strstr(line, "redis adapter: dropped a message")) W.drops++;
  int ours = strstr(line, "redis adapter pub:") || strstr(line, "redis adapter sub:");
  if (level >= SIO_LOG_WARN && ours) W.warnings++; /* its two connections' own lines */
}

static int setup(void **state) {
  memset(&W, 0, sizeof W);
  uv_loop_init(&W.loop);
  sio_log_set_sink(log_sink, NULL);
  return 0;
}

static int teardown(void **state) {
  world_stop(&W.loop, &W.redis, &W.a, &W.b, &W.ca, &W.cb);
  sio_log_set_sink(NULL, NULL);
  return 0;
}

static void start_both(void) {
  node_start(&W.a, &W.loop, W.redis.port, NULL);
  node_start(&W.b, &W.loop, W.redis.port, NULL);
}

/* Runs the loop until a broadcast from a reaches cb; returns the milliseconds it took, or -1. */
static long broadcast_flows(const char *tag, unsigned ms) {
  uint64_t start = uv_now(&W.loop), end = start + ms;
  char want[64];
  snprintf(want, sizeof want, "42[\"%s\"]", tag);
  while (uv_now(&W.loop) < end) {
    assert_int_equal(sio_op_emit_raw(sio_io_op(W.a.io), tag, NULL), 0);
    if (client_wait(&W.cb, &W.loop, want, 20)) return (long)(uv_now(&W.loop) - start);
  }
  return -1;
}

static void test_down_at_start(void **state) {
  W.redis.port = test_free_port(); /* nothing listens there yet */
  start_both();
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  /* local clients are served */
  assert_int_equal(sio_op_emit_raw(sio_io_op(W.a.io), "local", "[1]"), 0);
  assert_true(client_wait(&W.ca, &W.loop, "42[\"local\",1]", 1000));
  assert_false(sio_redis_adapter_ready(W.a.ra));
  test_run_for(&W.loop, 1000); /* retries: logged once per connection, not per attempt */
  print_message("%d warnings while Redis is down\n", W.warnings);
  assert_int_equal(W.warnings, 4); /* 2 servers x 2 connections, each once */
  assert_int_equal(test_redis_start(&W.redis), 0);
  long ms = broadcast_flows("late", 5000);
  print_message("broadcasts flow %ld ms after Redis came\n", ms);
  assert_true(ms >= 0 && ms < 3000); /* the backoff is at most 2 s */
}

static void on_sse(int status, const char *const *answers, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
}
static void on_count(int status, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
}
static void on_acks(int status, const sio_acks *acks, void *user) {
  W.acks_status = status, W.acks_n = sio_acks_count(acks), W.calls++;
}
static void silent(sio_nsp *nsp, const sio_args *a, sio_server_ack *ack, void *user) {
  /* never answers */
}

static void test_restart(void **state) {
  assert_int_equal(test_redis_start(&W.redis), 0);
  start_both();
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 5000));
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  assert_true(broadcast_flows("before", 2000) >= 0);
  /* a request pending when Redis goes: it fails at once, not at its timeout */
  sio_nsp *b = sio_of(W.b.io, "/");
  assert_int_equal(sio_nsp_on_server_side(b, "wait", silent, NULL), 0);
  assert_int_equal(
      sio_server_side_emit_ack_raw(sio_of(W.a.io, "/"), "wait", NULL, 60000, on_sse, NULL), 0);
  test_run_for(&W.loop, 100);
  assert_int_equal(W.calls, 0);
  /* and a broadcast with acks whose remote client does not answer */
  W.cb.auto_ack = 0, W.ca.auto_ack = 1;
  sio_msg *m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 60000), 0);
  assert_int_equal(sio_op_emit_msg(sio_io_op(W.a.io), m), 0);
  test_run_for(&W.loop, 100);
  assert_int_equal(W.calls, 0);
  test_redis_stop(&W.redis);
  uint64_t end = uv_now(&W.loop) + 2000;
  while (W.calls < 2 && uv_now(&W.loop) < end) test_run_for(&W.loop, 5);
  assert_int_equal(W.calls, 2);
  assert_int_equal(W.status, SIO_ECLOSED);
  assert_int_equal(W.acks_status, SIO_ECLOSED);
  assert_int_equal(W.acks_n, 1); /* ca's answer came */
  W.calls = 0;
  /* asked while Redis is down: the error at once, and the server still serves its clients */
  assert_int_equal(sio_server_count(sio_of(W.a.io, "/"), on_count, NULL), 0);
  test_run_for(&W.loop, 20);
  assert_int_equal(W.calls, 1);
  assert_int_equal(W.status, SIO_ECLOSED);
  /* a broadcast with acks while Redis is down: the local clients decide */
  m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 60000), 0);
  assert_int_equal(sio_op_emit_msg(sio_io_op(W.a.io), m), 0);
  end = uv_now(&W.loop) + 2000;
  while (W.calls < 2 && uv_now(&W.loop) < end) test_run_for(&W.loop, 5);
  assert_int_equal(W.calls, 2);
  assert_int_equal(W.acks_status, 0);
  assert_int_equal(W.acks_n, 1);
  assert_int_equal(sio_op_emit_raw(sio_io_op(W.a.io), "alone", NULL), 0);
  assert_true(client_wait(&W.ca, &W.loop, "42[\"alone\"]", 1000));
  test_run_for(&W.loop, 500);
  assert_int_equal(test_redis_start(&W.redis), 0); /* the same port */
  long ms = broadcast_flows("after", 5000);
  print_message("broadcasts flow again %ld ms after Redis restarted\n", ms);
  assert_true(ms >= 0 && ms <= 2000);
}

static void published(sio__redis *c, int status, const redisReply *r, void *user) {
  (*(int *)user)++;
}

static void test_malformed(void **state) {
  assert_int_equal(test_redis_start(&W.redis), 0);
  start_both();
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 5000));
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", W.redis.port);
  sio__redis *raw;
  assert_int_equal(sio__redis_new(&W.loop, url, NULL, &raw), 0);
  int done = 0;
  static const struct {
    const char *channel, *payload;
    size_t len;
  } junk[] = {
      {"socket.io#/#", "\xc1", 1},                   /* not msgpack */
      {"socket.io#/#", "\x93\xa1x\x01\x80", 5},      /* [uid, 1, {}]: no packet */
      {"socket.io#/#", "{\"a\":1}", 7},              /* JSON on a broadcast channel */
      {"socket.io-request#/#", "{\"type\":", 8},     /* broken JSON */
      {"socket.io-request#/#", "{\"type\":42}", 11}, /* unknown type */
      {"socket.io-request#/#", "\x91\x01", 2},       /* msgpack, not an object */
      {"socket.io-response#/#", "[1,2]", 5},         /* a foreign response */
      {"socket.io#/#x", "\x90", 1},                  /* a foreign channel name */
  };
  size_t n = sizeof junk / sizeof *junk;
  while (!sio__redis_is_ready(raw)) test_run_for(&W.loop, 5);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(sio__redis_publish(raw, 0, junk[i].channel, strlen(junk[i].channel),
                                        junk[i].payload, junk[i].len, published, &done),
                     0);
  while (done < (int)n) test_run_for(&W.loop, 5);
  test_run_for(&W.loop, 100);
  assert_int_equal(W.drops, 2); /* once per server */
  assert_true(broadcast_flows("still", 2000) >= 0);
  assert_int_equal(W.ca.nmsgs + W.cb.nmsgs > 0, 1);
  sio__redis_free(raw);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_down_at_start, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
