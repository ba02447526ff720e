/* The classic Redis adapter's broadcasts between two sio servers through a real Redis: to
 * all, to a room (the one-room channel), except, binary arguments, local (not forwarded),
 * volatile, a dynamic namespace's own channels, and 10,000 sequenced broadcasts that arrive
 * with none missing, none duplicated, in order. */
#include "redis_adapter/cluster_fixture.h"

typedef struct world {
  uv_loop_t loop;
  test_redis redis;
  node a, b;
  client ca, cb;
} world;

static world W;

static void on_b_conn(sio_socket *s, void *u) {
  sio_join(s, "room1");
}

static int setup(void **state) {
  memset(&W, 0, sizeof W);
  assert_int_equal(test_redis_start(&W.redis), 0);
  uv_loop_init(&W.loop);
  node_start(&W.a, &W.loop, W.redis.port, NULL);
  node_start(&W.b, &W.loop, W.redis.port, NULL);
  assert_int_equal(sio_io_on_connection(W.b.io, on_b_conn, NULL), 0);
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 5000));
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  return 0;
}

static int teardown(void **state) {
  world_stop(&W.loop, &W.redis, &W.a, &W.b, &W.ca, &W.cb);
  return 0;
}

static void test_to_all(void **state) {
  assert_int_equal(sio_op_emit_raw(sio_io_op(W.a.io), "hello", "[1,\"x\"]"), 0);
  assert_true(client_wait(&W.cb, &W.loop, "42[\"hello\",1,\"x\"]", 2000));
  assert_true(client_wait(&W.ca, &W.loop, "42[\"hello\",1,\"x\"]", 2000));
  test_run_for(&W.loop, 100);
  assert_int_equal(W.ca.nmsgs, 1); /* once: a server drops its own broadcasts */
  assert_int_equal(W.cb.nmsgs, 1);
}

static void test_rooms(void **state) {
  assert_int_equal(sio_op_emit_raw(sio_op_to(sio_io_op(W.a.io), "room1"), "r", "[1]"), 0);
  assert_true(client_wait(&W.cb, &W.loop, "42[\"r\",1]", 2000));
  /* except room1: only ca */
  assert_int_equal(sio_op_emit_raw(sio_op_except(sio_io_op(W.a.io), "room1"), "e", "[2]"), 0);
  assert_true(client_wait(&W.ca, &W.loop, "42[\"e\",2]", 2000));
  /* to a socket's own room on the other server (a RemoteSocket's emit) */
  assert_int_equal(sio_op_emit_raw(sio_op_to(sio_io_op(W.a.io), W.cb.sid), "own", "[3]"), 0);
  assert_true(client_wait(&W.cb, &W.loop, "42[\"own\",3]", 2000));
  /* to a room nobody has */
  assert_int_equal(sio_op_emit_raw(sio_op_to(sio_io_op(W.b.io), "nobody"), "n", "[4]"), 0);
  /* local: not forwarded */
  assert_int_equal(sio_op_emit_raw(sio_op_local(sio_io_op(W.a.io)), "loc", "[5]"), 0);
  /* volatile: delivered to writable clients */
  assert_int_equal(sio_op_emit_raw(sio_op_volatile(sio_io_op(W.b.io)), "vol", "[6]"), 0);
  assert_true(client_wait(&W.ca, &W.loop, "42[\"vol\",6]", 2000));
  assert_true(client_wait(&W.ca, &W.loop, "42[\"loc\",5]", 2000));
  test_run_for(&W.loop, 100);
  assert_true(client_find(&W.ca, 0, "\"r\"") < 0);
  assert_true(client_find(&W.cb, 0, "\"e\"") < 0);
  assert_true(client_find(&W.ca, 0, "\"own\"") < 0);
  assert_true(client_find(&W.cb, 0, "\"loc\"") < 0);
  assert_true(client_find(&W.ca, 0, "\"n\"") < 0);
}

static void test_binary(void **state) {
  const char bytes[4] = {1, 2, 0, 3};
  assert_int_equal(sio_op_emit_bin(sio_io_op(W.a.io), "bin", bytes, 4), 0);
  assert_true(client_wait(&W.cb, &W.loop, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]", 2000));
  test_run_for(&W.loop, 50);
  assert_int_equal(W.cb.binaries, 1);
}

static void on_dyn_conn(sio_socket *s, void *u) {
  (*(int *)u)++;
}

static void test_dynamic_namespace(void **state) {
  int conns = 0;
  sio_nsp *pa = sio_of_pattern(W.a.io, "/dyn-*");
  sio_nsp *pb = sio_of_pattern(W.b.io, "/dyn-*");
  assert_non_null(pa);
  assert_non_null(pb);
  assert_int_equal(sio_nsp_on_connection(pb, on_dyn_conn, &conns), 0);
  client c1, c2;
  client_connect(&c1, &W.a, "/dyn-one");
  client_connect(&c2, &W.b, "/dyn-one");
  test_run_for(&W.loop, 100); /* the child's channels subscribed */
  sio_nsp *child = sio_nsp_find(W.a.io, "/dyn-one");
  assert_non_null(child);
  assert_int_equal(sio_op_emit_raw(sio_nsp_op(child), "d", "[1]"), 0);
  assert_true(client_wait(&c2, &W.loop, "42/dyn-one,[\"d\",1]", 2000));
  /* "/" clients got nothing of it */
  test_run_for(&W.loop, 50);
  assert_true(client_find(&W.cb, 0, "\"d\"") < 0);
  client_free(&c1);
  client_free(&c2);
  test_run_for(&W.loop, 100);
}

/* 10,000 broadcasts from a, numbered: cb gets each once, in order. */
static void test_sequenced(void **state) {
  enum { N = 10000 };
  for (int i = 0; i < N; i++) {
    char args[32];
    snprintf(args, sizeof args, "[%d]", i);
    assert_int_equal(sio_op_emit_raw(sio_io_op(W.a.io), "s", args), 0);
    if (i % 500 == 499) test_run_for(&W.loop, 1);
  }
  uint64_t end = uv_now(&W.loop) + 20000;
  while (W.cb.nmsgs < N && uv_now(&W.loop) < end) test_run_for(&W.loop, 10);
  test_run_for(&W.loop, 200);
  size_t missing = 0, dup = 0, disorder = 0;
  long last = -1;
  static unsigned char seen[N];
  memset(seen, 0, sizeof seen);
  for (size_t i = 0; i < W.cb.nmsgs; i++) {
    long v;
    if (sscanf(W.cb.msgs[i], "42[\"s\",%ld]", &v) != 1 || v < 0 || v >= N) continue;
    if (seen[v]++) dup++;
    if (v < last) disorder++;
    last = v;
  }
  for (int i = 0; i < N; i++) missing += !seen[i];
  print_message("sequenced: %zu received, %zu missing, %zu duplicated, %zu out of order\n",
                W.cb.nmsgs, missing, dup, disorder);
  assert_int_equal(missing, 0);
  assert_int_equal(dup, 0);
  assert_int_equal(disorder, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_to_all, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rooms, setup, teardown),
      cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dynamic_namespace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sequenced, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
