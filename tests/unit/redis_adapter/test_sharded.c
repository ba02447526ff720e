/* The sharded Redis adapter (opts.sharded, as createShardedAdapter) between two sio servers
 * through a real Redis 7, in each subscription mode (dynamic, static, dynamic-private):
 * broadcasts to all, to a room, except, a socket's own room, local, volatile, binary, a
 * dynamic namespace; the channels subscribed (PUBSUB SHARDCHANNELS: a public room's channel
 * while it exists here, in the dynamic modes only; a socket id's in dynamic-private); and
 * every cluster operation asked from one server and answered by the other: serverCount
 * (SHARDNUMSUB), fetchSockets, socketsJoin/Leave, local not forwarded, disconnectSockets,
 * serverSideEmit with and without acks and its timeout, broadcast with acks; and Redis
 * restarted (a pending request fails at once, every shard channel renewed). */
#include "redis_adapter/cluster_fixture.h"

typedef struct world {
  uv_loop_t loop;
  test_redis redis;
  node a, b;
  client ca, cb;
  int calls, status;
  size_t n;
  char text[512];
} world;

static world W;
static const char *MODE; /* the group's subscription mode */

static void on_b_conn(sio_socket *s, void *u) {
  sio_join(s, "room1");
  assert_int_equal(sio_socket_set_data_json(s, "{\"user\":7}"), 0);
}

static int setup(void **state) {
  memset(&W, 0, sizeof W);
  assert_int_equal(test_redis_start(&W.redis), 0);
  uv_loop_init(&W.loop);
  sio_redis_adapter_opts o = sio_redis_adapter_opts_default();
  o.sharded = 1;
  o.subscription_mode = MODE;
  o.requests_timeout_ms = 1000;
  node_start(&W.a, &W.loop, W.redis.port, &o);
  node_start(&W.b, &W.loop, W.redis.port, &o);
  assert_int_equal(sio_io_on_connection(W.b.io, on_b_conn, NULL), 0);
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 5000));
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  W.ca.auto_ack = W.cb.auto_ack = 1;
  test_run_for(&W.loop, 50); /* room channels subscribed */
  return 0;
}

static int teardown(void **state) {
  world_stop(&W.loop, &W.redis, &W.a, &W.b, &W.ca, &W.cb);
  return 0;
}

static sio_nsp *main_a(void) {
  return sio_of(W.a.io, "/");
}
static sio_nsp *main_b(void) {
  return sio_of(W.b.io, "/");
}

static void wait_calls(int n, unsigned ms) {
  uint64_t end = uv_now(&W.loop) + ms;
  while (W.calls < n && uv_now(&W.loop) < end) test_run_for(&W.loop, 5);
  assert_int_equal(W.calls, n);
}

/* --- broadcasts ----------------------------------------------------------------------------- */

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
  assert_int_equal(sio_op_emit_raw(sio_op_except(sio_io_op(W.a.io), "room1"), "e", "[2]"), 0);
  assert_true(client_wait(&W.ca, &W.loop, "42[\"e\",2]", 2000));
  /* a socket's own room on the other server (a RemoteSocket's emit) */
  assert_int_equal(sio_op_emit_raw(sio_op_to(sio_io_op(W.a.io), W.cb.sid), "own", "[3]"), 0);
  assert_true(client_wait(&W.cb, &W.loop, "42[\"own\",3]", 2000));
  /* two rooms: the main channel */
  sio_op *two = sio_op_to(sio_op_to(sio_io_op(W.a.io), "room1"), W.ca.sid);
  assert_int_equal(sio_op_emit_raw(two, "two", "[7]"), 0);
  assert_true(client_wait(&W.cb, &W.loop, "42[\"two\",7]", 2000));
  assert_true(client_wait(&W.ca, &W.loop, "42[\"two\",7]", 2000));
  assert_int_equal(sio_op_emit_raw(sio_op_to(sio_io_op(W.b.io), "nobody"), "n", "[4]"), 0);
  assert_int_equal(sio_op_emit_raw(sio_op_local(sio_io_op(W.a.io)), "loc", "[5]"), 0);
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

static void test_dynamic_namespace(void **state) {
  sio_nsp *pa = sio_of_pattern(W.a.io, "/dyn-*");
  sio_nsp *pb = sio_of_pattern(W.b.io, "/dyn-*");
  assert_non_null(pa);
  assert_non_null(pb);
  client c1, c2;
  client_connect(&c1, &W.a, "/dyn-one");
  client_connect(&c2, &W.b, "/dyn-one");
  test_run_for(&W.loop, 100); /* the child's channels subscribed */
  sio_nsp *child = sio_nsp_find(W.a.io, "/dyn-one");
  assert_non_null(child);
  assert_int_equal(sio_op_emit_raw(sio_nsp_op(child), "d", "[1]"), 0);
  assert_true(client_wait(&c2, &W.loop, "42/dyn-one,[\"d\",1]", 2000));
  test_run_for(&W.loop, 50);
  assert_true(client_find(&W.cb, 0, "\"d\"") < 0);
  client_free(&c1);
  client_free(&c2);
  test_run_for(&W.loop, 100);
}

/* --- channels ------------------------------------------------------------------------------- */

/* 1 when Redis lists the shard channel socket.io#/#<name># ("": socket.io#/#; NULL: the
 * count of all). */
static int shard_channel(const char *name) {
  char cmd[256], line[256];
  snprintf(cmd, sizeof cmd, "redis-cli -p %d PUBSUB SHARDCHANNELS", W.redis.port);
  FILE *f = popen(cmd, "r");
  int found = 0, n = 0;
  char want[200];
  if (name && *name)
    snprintf(want, sizeof want, "socket.io#/#%s#", name);
  else
    snprintf(want, sizeof want, "socket.io#/#");
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    n++;
    if (name && !strcmp(line, want)) found = 1;
  }
  if (f) pclose(f);
  return name ? found : n;
}

static void test_channels(void **state) {
  int dynamic = strcmp(MODE, "static") != 0, private = strcmp(MODE, "dynamic-private") == 0;
  assert_int_equal(shard_channel(""), 1); /* the main channel */
  assert_int_equal(shard_channel(sio_redis_adapter_uid(W.a.ra, main_a())), 1);
  assert_int_equal(strlen(sio_redis_adapter_uid(W.a.ra, main_a())), 16);
  assert_int_equal(shard_channel("room1"), dynamic);
  assert_int_equal(shard_channel(W.cb.sid), private);
  /* 1 main + 2 response channels (+ room1, + 2 socket ids) */
  assert_int_equal(shard_channel(NULL), 3 + dynamic + 2 * private);
  sio_leave(W.b.last, "room1");
  test_run_for(&W.loop, 100);
  assert_int_equal(shard_channel("room1"), 0); /* gone with its last member here */
  sio_join(W.b.last, "room2");
  test_run_for(&W.loop, 100);
  assert_int_equal(shard_channel("room2"), dynamic);
  client_free(&W.cb);                               /* its rooms go with it */
  W.cb.msgs = NULL, W.cb.nmsgs = 0, W.cb.in = NULL; /* teardown frees it again */
  test_run_for(&W.loop, 200);
  assert_int_equal(shard_channel("room2"), 0);
  assert_int_equal(shard_channel(NULL), 3 + private);
}

/* --- cluster operations --------------------------------------------------------------------- */

static void on_count(int status, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
}

static void test_server_count(void **state) {
  assert_int_equal(sio_server_count(main_a(), on_count, NULL), 0);
  wait_calls(1, 2000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 2);
}

static void on_remote(int status, const sio_remote_socket *v, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
  if (n) {
    assert_string_equal(v[0].id, W.cb.sid);
    assert_int_equal(v[0].nrooms, 2);
    assert_string_equal(v[0].rooms[1], "room1");
    assert_non_null(
        strstr(v[0].handshake_json, "\"url\":\"/socket.io/?EIO=4&transport=websocket\""));
    assert_string_equal(v[0].data_json, "{\"user\":7}");
  }
}

static void test_fetch_sockets(void **state) {
  assert_int_equal(sio_fetch_remote_sockets(sio_io_op(W.a.io), on_remote, NULL), 0);
  wait_calls(1, 2000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 1);
  assert_int_equal(sio_fetch_remote_sockets(sio_op_to(sio_io_op(W.a.io), "nope"), on_remote, NULL),
                   0);
  wait_calls(2, 2000);
  assert_int_equal(W.n, 0);
  assert_int_equal(sio_fetch_remote_sockets(sio_op_to(sio_io_op(W.a.io), "room1"), on_remote, NULL),
                   0);
  wait_calls(3, 2000);
  assert_int_equal(W.n, 1);
}

static int room_sizes_are(size_t a, size_t b, const char *room) {
  uint64_t end = uv_now(&W.loop) + 2000;
  while (uv_now(&W.loop) < end) {
    if (sio_nsp_room_size(main_a(), room) == a && sio_nsp_room_size(main_b(), room) == b) return 1;
    test_run_for(&W.loop, 5);
  }
  return 0;
}

static void test_join_leave_disconnect(void **state) {
  assert_int_equal(sio_sockets_join(sio_io_op(W.a.io), "all"), 0);
  assert_true(room_sizes_are(1, 1, "all"));
  assert_int_equal(sio_sockets_leave(sio_op_to(sio_io_op(W.a.io), "room1"), "all"), 0);
  assert_true(room_sizes_are(1, 0, "all"));
  assert_int_equal(sio_sockets_join(sio_op_to(sio_io_op(W.a.io), W.cb.sid), "solo"), 0);
  assert_true(room_sizes_are(0, 1, "solo"));
  assert_int_equal(sio_sockets_join(sio_op_local(sio_io_op(W.a.io)), "here"), 0);
  test_run_for(&W.loop, 100);
  assert_true(room_sizes_are(1, 0, "here"));
  assert_int_equal(sio_disconnect_sockets(sio_op_to(sio_io_op(W.a.io), "room1"), 0), 0);
  assert_true(client_wait(&W.cb, &W.loop, "41", 2000));
  assert_int_equal(sio_nsp_sockets_count(main_b()), 0);
  assert_int_equal(sio_nsp_sockets_count(main_a()), 1);
}

static void on_note(sio_nsp *nsp, const sio_args *a, sio_server_ack *ack, void *user) {
  int64_t v = 0;
  sio_args_int(a, 0, &v);
  snprintf(W.text, sizeof W.text, "%s:%lld", (const char *)user, (long long)v);
  if (ack && v == 2) sio_server_ack_send_raw(ack, "\"pong\"");
  W.calls++;
}

static void on_sse_acks(int status, const char *const *answers, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
  snprintf(W.text, sizeof W.text, "%s", n ? answers[0] : "");
}

static void test_server_side_emit(void **state) {
  assert_int_equal(sio_nsp_on_server_side(main_a(), "note", on_note, "a"), 0);
  assert_int_equal(sio_nsp_on_server_side(main_b(), "note", on_note, "b"), 0);
  assert_int_equal(sio_server_side_emit_raw(main_a(), "note", "[1]"), 0);
  wait_calls(1, 2000);
  assert_string_equal(W.text, "b:1");
  assert_int_equal(sio_server_side_emit_ack_raw(main_a(), "note", "[2]", 0, on_sse_acks, NULL), 0);
  wait_calls(3, 2000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 1);
  assert_string_equal(W.text, "\"pong\"");
  assert_int_equal(sio_server_side_emit_ack_raw(main_a(), "note", "[3]", 300, on_sse_acks, NULL),
                   0);
  wait_calls(5, 2000);
  assert_int_equal(W.status, SIO_ETIMEDOUT);
  assert_int_equal(W.n, 0);
}

static void on_acks(int status, const sio_acks *acks, void *user) {
  W.status = status, W.n = sio_acks_count(acks), W.calls++;
  W.text[0] = 0;
  for (size_t i = 0; i < W.n; i++) {
    size_t len;
    const char *j = sio_args_json_all(sio_acks_args(acks, i), &len);
    strncat(W.text, j, len);
  }
}

static void test_broadcast_acks(void **state) {
  sio_msg *m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 2000), 0);
  assert_int_equal(sio_op_emit_msg(sio_io_op(W.a.io), m), 0);
  wait_calls(1, 3000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 2);
  char want[64];
  snprintf(want, sizeof want, "[\"ack-%s\"]", W.cb.sid);
  assert_non_null(strstr(W.text, want));
  m = sio_msg_new("ask"); /* one room: the main channel still, as Node (a requestId) */
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 2000), 0);
  assert_int_equal(sio_op_emit_msg(sio_op_to(sio_io_op(W.a.io), "room1"), m), 0);
  wait_calls(2, 3000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 1);
  W.cb.auto_ack = 0;
  m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 300), 0);
  assert_int_equal(sio_op_emit_msg(sio_io_op(W.a.io), m), 0);
  wait_calls(3, 3000);
  assert_int_equal(W.status, SIO_ETIMEDOUT);
  assert_int_equal(W.n, 1);
}

static void silent(sio_nsp *nsp, const sio_args *a, sio_server_ack *ack, void *user) {}

/* Redis restarted: a pending request fails at once, the shard channels (the room's too) are
 * subscribed again and broadcasts flow within 2 s. */
static void test_restart(void **state) {
  assert_int_equal(sio_nsp_on_server_side(main_b(), "wait", silent, NULL), 0);
  assert_int_equal(sio_server_side_emit_ack_raw(main_a(), "wait", NULL, 60000, on_sse_acks, NULL),
                   0);
  test_run_for(&W.loop, 100);
  assert_int_equal(W.calls, 0);
  test_redis_stop(&W.redis);
  wait_calls(1, 2000);
  assert_int_equal(W.status, SIO_ECLOSED);
  test_run_for(&W.loop, 200);
  assert_int_equal(test_redis_start(&W.redis), 0); /* the same port */
  uint64_t start = uv_now(&W.loop), end = start + 5000;
  int got = 0;
  for (int i = 0; !got && uv_now(&W.loop) < end; i++) {
    char args[16];
    snprintf(args, sizeof args, "[%d]", i);
    sio_op_emit_raw(sio_op_to(sio_io_op(W.a.io), "room1"), "again", args);
    test_run_for(&W.loop, 20);
    got = client_find(&W.cb, 0, "\"again\"") >= 0;
  }
  print_message("room broadcasts flow again %ld ms after Redis restarted\n",
                (long)(uv_now(&W.loop) - start));
  assert_true(got && uv_now(&W.loop) - start <= 2000);
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 2000)); /* a's subscriber may come last */
  assert_int_equal(shard_channel("room1"), strcmp(MODE, "static") != 0);
  assert_int_equal(sio_server_count(main_a(), on_count, NULL), 0);
  wait_calls(2, 2000);
  assert_int_equal(W.n, 2);
}

static void test_bad_mode(void **state) {
  sio_redis_adapter *ra = NULL;
  sio_redis_adapter_opts o = sio_redis_adapter_opts_default();
  o.sharded = 1;
  o.subscription_mode = "sometimes";
  assert_int_equal(sio_redis_adapter_new(&W.loop, "redis://127.0.0.1:1", &o, &ra), -EINVAL);
  assert_null(ra);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_to_all),           T(test_rooms),
      T(test_binary),           T(test_dynamic_namespace),
      T(test_channels),         T(test_server_count),
      T(test_fetch_sockets),    T(test_join_leave_disconnect),
      T(test_server_side_emit), T(test_broadcast_acks),
      T(test_restart),          T(test_bad_mode),
  };
  static const char *modes[] = {"dynamic", "static", "dynamic-private"};
  int failed = 0;
  for (size_t i = 0; i < 3; i++) {
    MODE = modes[i];
    print_message("subscription mode %s\n", MODE);
    failed += _cmocka_run_group_tests(MODE, tests, sizeof tests / sizeof *tests, NULL, NULL);
  }
  return failed;
}
