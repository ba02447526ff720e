/* The classic Redis adapter's cluster requests between two sio servers through a real Redis,
 * each asked from one server and answered by the other: serverCount (PUBSUB NUMSUB),
 * allRooms, fetchSockets of the remote sockets (and a RemoteSocket's join by its id room),
 * socketsJoin / socketsLeave, disconnectSockets, serverSideEmit with and without acks (and
 * its timeout), and a broadcast with acks collecting every client's answer across servers. */
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

static void on_b_conn(sio_socket *s, void *u) {
  sio_join(s, "room1");
  assert_int_equal(sio_socket_set_data_json(s, "{\"user\" : 7}"), 0);
  assert_int_equal(sio_socket_set_data_json(s, "{bad"), -EINVAL);
}

static int setup(void **state) {
  memset(&W, 0, sizeof W);
  assert_int_equal(test_redis_start(&W.redis), 0);
  uv_loop_init(&W.loop);
  sio_redis_adapter_opts o = sio_redis_adapter_opts_default();
  o.requests_timeout_ms = 1000;
  node_start(&W.a, &W.loop, W.redis.port, &o);
  o.publish_on_specific_response_channel = 1; /* b answers on a's own channel */
  node_start(&W.b, &W.loop, W.redis.port, &o);
  assert_int_equal(sio_io_on_connection(W.b.io, on_b_conn, NULL), 0);
  assert_true(wait_ready(&W.loop, &W.a, &W.b, 5000));
  client_connect(&W.ca, &W.a, "/");
  client_connect(&W.cb, &W.b, "/");
  W.ca.auto_ack = W.cb.auto_ack = 1;
  return 0;
}

static int teardown(void **state) {
  client_free(&W.ca);
  client_free(&W.cb);
  node_stop(&W.a);
  node_stop(&W.b);
  test_redis_stop(&W.redis);
  for (int i = 0; i < 100 && uv_loop_alive(&W.loop); i++) uv_run(&W.loop, UV_RUN_NOWAIT);
  uv_loop_close(&W.loop);
  return 0;
}

static void wait_calls(int n, unsigned ms) {
  uint64_t end = uv_now(&W.loop) + ms;
  while (W.calls < n && uv_now(&W.loop) < end) test_run_for(&W.loop, 5);
  assert_int_equal(W.calls, n);
}

static sio_nsp *main_a(void) {
  return sio_of(W.a.io, "/");
}
static sio_nsp *main_b(void) {
  return sio_of(W.b.io, "/");
}

static void on_count(int status, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
}

static void test_server_count(void **state) {
  assert_int_equal(sio_server_count(main_a(), on_count, NULL), 0);
  wait_calls(1, 2000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 2);
}

static void on_rooms(int status, const char *const *names, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
  W.text[0] = 0;
  for (size_t i = 0; i < n; i++) {
    strcat(W.text, names[i]);
    strcat(W.text, ";");
  }
}

static void test_all_rooms(void **state) {
  assert_int_equal(sio_nsp_all_rooms(main_a(), on_rooms, NULL), 0);
  wait_calls(1, 2000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 3); /* ca's own room, cb's own room, room1 */
  assert_non_null(strstr(W.text, "room1;"));
  assert_non_null(strstr(W.text, W.ca.sid));
  assert_non_null(strstr(W.text, W.cb.sid));
}

static void on_remote(int status, const sio_remote_socket *v, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
  W.text[0] = 0;
  if (n) {
    assert_string_equal(v[0].id, W.cb.sid);
    assert_int_equal(v[0].nrooms, 2);
    assert_string_equal(v[0].rooms[1], "room1");
    assert_non_null(
        strstr(v[0].handshake_json, "\"url\":\"/socket.io/?EIO=4&transport=websocket\""));
    assert_string_equal(v[0].data_json, "{\"user\" : 7}"); /* as the application set it */
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

static void on_all(int status, const sio_remote_socket *v, size_t n, void *user) {
  W.status = status, W.n = n, W.calls++;
  assert_int_equal(n, 2);
  assert_string_equal(v[0].id, W.ca.sid); /* this server's first */
  assert_string_equal(v[1].id, W.cb.sid);
  assert_string_equal(v[1].rooms[1], "room1");
}

/* io.fetchSockets(): local and remote, described alike */
static void test_fetch_all_sockets(void **state) {
  assert_int_equal(sio_fetch_all_sockets(sio_io_op(W.a.io), on_all, NULL), 0);
  wait_calls(1, 2000);
  assert_int_equal(W.status, 0);
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
  /* a RemoteSocket's join: through its own room */
  assert_int_equal(sio_sockets_join(sio_op_to(sio_io_op(W.a.io), W.cb.sid), "solo"), 0);
  assert_true(room_sizes_are(0, 1, "solo"));
  /* local: not forwarded */
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
  assert_string_equal(W.text, "b:1"); /* never the sender's own handlers */
  assert_int_equal(sio_server_side_emit_ack_raw(main_a(), "note", "[2]", 0, on_sse_acks, NULL), 0);
  wait_calls(3, 2000); /* b's handler, then the answers */
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 1);
  assert_string_equal(W.text, "\"pong\"");
  /* b does not answer 3: a timeout naming how many answered (0) */
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
  snprintf(want, sizeof want, "[\"ack-%s\"]", W.ca.sid);
  assert_non_null(strstr(W.text, want));
  /* to a room of b only, asked from a */
  m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 2000), 0);
  assert_int_equal(sio_op_emit_msg(sio_op_to(sio_io_op(W.a.io), "room1"), m), 0);
  wait_calls(2, 3000);
  assert_int_equal(W.status, 0);
  assert_int_equal(W.n, 1);
  /* a client that does not answer: the timeout, with the answers that came */
  W.cb.auto_ack = 0;
  m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 300), 0);
  assert_int_equal(sio_op_emit_msg(sio_io_op(W.a.io), m), 0);
  wait_calls(3, 3000);
  assert_int_equal(W.status, SIO_ETIMEDOUT);
  assert_int_equal(W.n, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_server_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_rooms, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fetch_sockets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fetch_all_sockets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_join_leave_disconnect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_side_emit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broadcast_acks, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
