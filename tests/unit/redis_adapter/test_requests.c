/* The classic Redis adapter's cluster requests between two sio servers through a real Redis,
 * each asked from one server and answered by the other: serverCount (PUBSUB NUMSUB),
 * allRooms, fetchSockets of the remote sockets (and a RemoteSocket's join by its id room),
 * socketsJoin / socketsLeave, disconnectSockets, serverSideEmit with and without acks (and
 * its timeout), and a broadcast with acks collecting every client's answer across servers. */
#include "redis/redis.h"
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
  world_stop(&W.loop, &W.redis, &W.a, &W.b, &W.ca, &W.cb);
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

/* --- requests as other implementations write them (Node's older forms, the emitter's) ------ */

typedef struct raw {
  sio__redis *pub, *sub;
  char got[8][512];
  int n;
} raw;

static void raw_message(sio__redis *c, const sio__redis_message *m, void *user) {
  raw *r = user;
  if (r->n < 8) snprintf(r->got[r->n++], sizeof r->got[0], "%.*s", (int)m->len, m->payload);
}

static void raw_publish(raw *r, const char *channel, const char *json) {
  assert_int_equal(
      sio__redis_publish(r->pub, 0, channel, strlen(channel), json, strlen(json), NULL, NULL), 0);
}

static int raw_wait(raw *r, int n) {
  uint64_t end = uv_now(&W.loop) + 2000;
  while (r->n < n && uv_now(&W.loop) < end) test_run_for(&W.loop, 5);
  return r->n >= n;
}

static void counted_raw(sio__redis *c, int status, long long n, void *user) {
  W.n = (size_t)n, W.calls++;
}

static void test_foreign_requests(void **state) {
  char url[64], msg[256], want[128];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", W.redis.port);
  raw r = {0};
  sio__redis_opts so = {.on_message = raw_message, .user = &r};
  assert_int_equal(sio__redis_new(&W.loop, url, NULL, &r.pub), 0);
  assert_int_equal(sio__redis_new(&W.loop, url, &so, &r.sub), 0);
  const char *res = "socket.io-response#/#";
  assert_int_equal(sio__redis_subscribe(r.sub, SIO__REDIS_CHANNEL, res, strlen(res), NULL, NULL),
                   0);
  while (!sio__redis_is_ready(r.pub) || !sio__redis_is_ready(r.sub)) test_run_for(&W.loop, 5);
  test_run_for(&W.loop, 50);
  const char *req = "socket.io-request#/#";
  /* the emitter's socketsJoin: no uid */
  raw_publish(&r, req,
              "{\"type\":2,\"opts\":{\"rooms\":[\"room1\"],\"except\":[]},\"rooms\":[\"em\"]}");
  assert_true(room_sizes_are(0, 1, "em"));
  /* the legacy one-socket form, answered {requestId} */
  snprintf(msg, sizeof msg,
           "{\"requestId\":\"old1\",\"sid\":\"%s\",\"room\":\"legacy\",\"type\":2}", W.ca.sid);
  raw_publish(&r, req, msg);
  assert_true(raw_wait(&r, 1));
  assert_string_equal(r.got[0], "{\"requestId\":\"old1\"}");
  assert_int_equal(sio_nsp_room_size(main_a(), "legacy"), 1);
  /* SOCKETS (0), of old versions: each server's ids in the rooms (no uid: the shared channel) */
  raw_publish(&r, req, "{\"type\":0,\"requestId\":\"s0\",\"rooms\":[\"room1\"]}");
  assert_true(raw_wait(&r, 3));
  snprintf(want, sizeof want, "{\"requestId\":\"s0\",\"sockets\":[\"%s\"]}", W.cb.sid);
  assert_true(!strcmp(r.got[1], want) || !strcmp(r.got[2], want));
  assert_true(strstr(r.got[1], "\"sockets\":[]}") || strstr(r.got[2], "\"sockets\":[]}"));
  /* ALL_ROOMS from a Node server: a answers on the shared channel, b (which publishes on
   * specific response channels) on the asker's own */
  raw_publish(&r, req, "{\"uid\":\"nodeXY\",\"requestId\":\"ar\",\"type\":1}");
  assert_true(raw_wait(&r, 4));
  snprintf(want, sizeof want, "{\"requestId\":\"ar\",\"rooms\":[\"%s\"", W.ca.sid);
  assert_non_null(strstr(r.got[3], want));
  test_run_for(&W.loop, 50);
  assert_int_equal(r.n, 4);
  sio__redis_free(r.pub);
  sio__redis_free(r.sub);
  test_run_for(&W.loop, 20);
}

static size_t numsub(const char *channel) {
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", W.redis.port);
  sio__redis *c;
  assert_int_equal(sio__redis_new(&W.loop, url, NULL, &c), 0);
  while (!sio__redis_is_ready(c)) test_run_for(&W.loop, 5);
  W.calls = 0;
  assert_int_equal(sio__redis_numsub(c, 0, channel, strlen(channel), counted_raw, NULL), 0);
  while (!W.calls) test_run_for(&W.loop, 5);
  sio__redis_free(c);
  return W.n;
}

/* A namespace's channels are subscribed while it exists: a dynamic child removed when its
 * last socket goes unsubscribes them. */
static void test_namespace_channels(void **state) {
  assert_int_equal(numsub("socket.io-request#/#"), 2);
  assert_non_null(sio_of_pattern(W.b.io, "/dyn-*"));
  client c;
  client_connect(&c, &W.b, "/dyn-x");
  test_run_for(&W.loop, 50);
  assert_int_equal(numsub("socket.io-request#/dyn-x#"), 1);
  client_free(&c);
  uint64_t end = uv_now(&W.loop) + 2000;
  while (sio_nsp_find(W.b.io, "/dyn-x") && uv_now(&W.loop) < end) test_run_for(&W.loop, 10);
  if (sio_nsp_find(W.b.io, "/dyn-x")) skip(); /* children kept: nothing to check */
  test_run_for(&W.loop, 50);
  assert_int_equal(numsub("socket.io-request#/dyn-x#"), 0);
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
      cmocka_unit_test_setup_teardown(test_foreign_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_namespace_channels, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
