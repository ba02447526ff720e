/* Unit tests for src/cluster/message: every ClusterAdapter message type encoded to the exact
 * bytes Node writes and decoded back. The JSON vectors were produced by socket.io-adapter 2.5.8's
 * ClusterAdapter itself (node_modules), subclassed with a doPublish that returns
 * JSON.stringify(message) as ShardedRedisAdapter#encode does for messages without binaries;
 * the msgpack vectors are notepack's encoding of the same objects with a Buffer inside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cluster/message.h"
#include "core/alloc.h"
#include "unit_hex.h"

#define UID  "a1b2c3d4e5f60718"
#define TAIL ",\"uid\":\"" UID "\",\"nsp\":\"/chat\"}"

static const char *const r1[] = {"r1"}, *const r2r3[] = {"r2", "r3"}, *const xs[] = {"x"};
static const char *const room1[] = {"room1"}, *const rr[] = {"r"}, *const r2[] = {"r2"};

static sio__cluster_out base(int type) {
  return (sio__cluster_out){.type = type, .uid = UID, .nsp = "/chat", .close = -1};
}

static void expect_encoded(const sio__cluster_out *m, const char *want) {
  sio__sbuf b = SIO__SBUF_INIT;
  int rc = sio__cluster_encode(&b, m);
  if (rc) fail_msg("type %d: encode %d", m->type, rc);
  if (b.len != strlen(want) || memcmp(b.data, want, b.len))
    fail_msg("type %d:\n got %.*s\nwant %s", m->type, (int)b.len, b.data, want);
  sio__sbuf_free(&b);
}

static void slice_is(const sio__cluster_msg *m, sio__json_slice s, const char *want) {
  if (!want) {
    assert_int_equal(s.type, SIO__JSON_INVALID);
    return;
  }
  if (s.len != strlen(want) || memcmp(m->wire.text + s.off, want, s.len))
    fail_msg("slice %.*s, want %s", (int)s.len, m->wire.text + s.off, want);
}

static void test_heartbeats_and_close(void **state) {
  const int types[] = {SIO__CM_INITIAL_HEARTBEAT, SIO__CM_HEARTBEAT, SIO__CM_ADAPTER_CLOSE};
  const char *want[] = {"{\"type\":1" TAIL, "{\"type\":2" TAIL, "{\"type\":13" TAIL};
  for (int i = 0; i < 3; i++) {
    sio__cluster_out o = base(types[i]);
    expect_encoded(&o, want[i]);
    sio__cluster_msg m;
    assert_int_equal(sio__cluster_decode(&m, want[i], strlen(want[i])), 0);
    assert_int_equal(m.type, types[i]);
    slice_is(&m, m.uid, "\"" UID "\"");
    slice_is(&m, m.nsp, "\"/chat\"");
    sio__cluster_msg_free(&m);
  }
}

static void test_broadcast(void **state) {
  const char *data = "[\"hello\",1,{\"a\":[true]}]";
  sio__cluster_out o = base(SIO__CM_BROADCAST);
  o.json = data, o.json_len = strlen(data);
  o.rooms = room1, o.nrooms = 1, o.except = xs, o.nexcept = 1, o.flags = "{}";
  const char *w1 =
      "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"hello\",1,{\"a\":[true]}]},"
      "\"opts\":{\"rooms\":[\"room1\"],\"except\":[\"x\"],\"flags\":{}}}" TAIL;
  expect_encoded(&o, w1);
  o = base(SIO__CM_BROADCAST);
  o.json = "[\"ask\"]", o.json_len = 7, o.rooms = rr, o.nrooms = 1;
  o.request_id = "29a357990389274c", o.flags = "{\"timeout\":1000}";
  const char *w2 = "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"ask\"]},\"requestId\":"
                   "\"29a357990389274c\",\"opts\":{\"rooms\":[\"r\"],\"except\":[],\"flags\":{"
                   "\"timeout\":1000}}}" TAIL;
  expect_encoded(&o, w2);
  sio__cluster_msg m;
  assert_int_equal(sio__cluster_decode(&m, w1, strlen(w1)), 0);
  assert_int_equal(m.type, SIO__CM_BROADCAST);
  slice_is(&m, m.packet_data, data);
  slice_is(&m, m.rooms, "[\"room1\"]");
  slice_is(&m, m.except, "[\"x\"]");
  slice_is(&m, m.flags, "{}");
  slice_is(&m, m.request_id, NULL);
  assert_int_equal(m.wire.msgpack, 0);
  sio__cluster_msg_free(&m);
  assert_int_equal(sio__cluster_decode(&m, w2, strlen(w2)), 0);
  slice_is(&m, m.request_id, "\"29a357990389274c\"");
  slice_is(&m, m.flags, "{\"timeout\":1000}");
  sio__cluster_msg_free(&m);
}

static void test_broadcast_with_binary(void **state) {
  sio__mp_bin bin = {"\x01\x02\x03", 3};
  sio__cluster_out o = base(SIO__CM_BROADCAST);
  const char *data = "[\"file\",{\"_placeholder\":true,\"num\":0}]";
  o.json = data, o.json_len = strlen(data), o.bins = &bin, o.nbins = 1, o.flags = "{}";
  /* notepack.encode({type: 3, data: {packet: {type: 2, data: ["file", <Buffer 01 02 03>]},
   * opts: {rooms: [], except: [], flags: {}}}, uid, nsp}) */
  const char *hex = "84 a474797065 03 a464617461 82 a67061636b6574 82 a474797065 02 a464617461"
                    " 92 a466696c65 c403010203 a46f707473 83 a5726f6f6d73 90 a6657863657074 90"
                    " a5666c616773 80 a3756964 b0"
                    "61316232633364346535663630373138"
                    " a36e7370 a52f63686174";
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__cluster_encode(&b, &o), 0);
  expect_hex(&b, hex);
  sio__cluster_msg m;
  assert_int_equal(sio__cluster_decode(&m, b.data, b.len), 0);
  assert_int_equal(m.wire.msgpack, 1);
  slice_is(&m, m.packet_data, data);
  assert_int_equal(m.wire.bins.n, 1);
  assert_memory_equal(m.wire.bins.v[0].data, "\x01\x02\x03", 3);
  sio__cluster_msg_free(&m);
  sio__sbuf_free(&b);
  /* types that never carry binary stay JSON */
  o = base(SIO__CM_FETCH_SOCKETS);
  o.request_id = "q", o.bins = &bin, o.nbins = 1;
  assert_int_equal(sio__cluster_encode(&b, &o), 0);
  assert_int_equal(b.data[0], '{');
  sio__sbuf_free(&b);
}

static void test_sockets_ops(void **state) {
  sio__cluster_out o = base(SIO__CM_SOCKETS_JOIN);
  o.rooms = r1, o.nrooms = 1, o.flags = "{}", o.join = r2r3, o.njoin = 2;
  const char *join =
      "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}},"
      "\"rooms\":[\"r2\",\"r3\"]}" TAIL;
  expect_encoded(&o, join);
  o = base(SIO__CM_SOCKETS_LEAVE);
  o.except = r1, o.nexcept = 1, o.flags = "{}", o.join = r2, o.njoin = 1;
  expect_encoded(&o,
                 "{\"type\":5,\"data\":{\"opts\":{\"rooms\":[],\"except\":[\"r1\"],\"flags\":{}},"
                 "\"rooms\":[\"r2\"]}" TAIL);
  o = base(SIO__CM_DISCONNECT_SOCKETS);
  o.rooms = r1, o.nrooms = 1, o.flags = "{}", o.close = 1;
  const char *disc =
      "{\"type\":6,\"data\":{\"opts\":{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}},"
      "\"close\":true}" TAIL;
  expect_encoded(&o, disc);
  o.close = -1;
  expect_encoded(
      &o, "{\"type\":6,\"data\":{\"opts\":{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}}}" TAIL);
  o = base(SIO__CM_FETCH_SOCKETS);
  o.rooms = r1, o.nrooms = 1, o.flags = "{}", o.request_id = "31f37d4934d7f06a";
  expect_encoded(&o,
                 "{\"type\":7,\"data\":{\"opts\":{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}},"
                 "\"requestId\":\"31f37d4934d7f06a\"}" TAIL);
  sio__cluster_msg m;
  assert_int_equal(sio__cluster_decode(&m, join, strlen(join)), 0);
  slice_is(&m, m.join, "[\"r2\",\"r3\"]");
  slice_is(&m, m.rooms, "[\"r1\"]");
  assert_int_equal(m.close, -1);
  sio__cluster_msg_free(&m);
  assert_int_equal(sio__cluster_decode(&m, disc, strlen(disc)), 0);
  assert_int_equal(m.close, 1);
  sio__cluster_msg_free(&m);
}

static void test_server_side_emit_and_responses(void **state) {
  sio__cluster_out o = base(SIO__CM_SERVER_SIDE_EMIT);
  o.json = "[\"hello\",\"world\"]", o.json_len = strlen(o.json);
  expect_encoded(&o, "{\"type\":9,\"data\":{\"packet\":[\"hello\",\"world\"]}" TAIL);
  o.json = "[\"hello\"]", o.json_len = 9, o.request_id = "f679e6be6ffc7144";
  expect_encoded(&o, "{\"type\":9,\"data\":{\"requestId\":\"f679e6be6ffc7144\",\"packet\":"
                     "[\"hello\"]}" TAIL);
  o = base(SIO__CM_FETCH_SOCKETS_RESPONSE);
  o.request_id = "q1";
  o.json = "[{\"id\":\"sid1\",\"handshake\":{\"headers\":{},\"time\":\"x\",\"address\":\"::1\","
           "\"xdomain\":false,\"secure\":false,\"issued\":1,\"url\":\"/\",\"query\":{},\"auth\""
           ":{}},\"rooms\":[\"sid1\"],\"data\":{}}]";
  o.json_len = strlen(o.json);
  const char *fetch = "{\"type\":8,\"data\":{\"requestId\":\"q1\",\"sockets\":[{\"id\":\"sid1\","
                      "\"handshake\":{\"headers\":{},\"time\":\"x\",\"address\":\"::1\",\"xdomain\""
                      ":false,\"secure\":false,\"issued\":1,\"url\":\"/\",\"query\":{},\"auth\":{}}"
                      ",\"rooms\":[\"sid1\"],\"data\":{}}]}" TAIL;
  expect_encoded(&o, fetch);
  o = base(SIO__CM_SERVER_SIDE_EMIT_RESPONSE);
  o.request_id = "q2", o.json = "\"pong\"", o.json_len = 6;
  expect_encoded(&o, "{\"type\":10,\"data\":{\"requestId\":\"q2\",\"packet\":\"pong\"}" TAIL);
  o.json = NULL, o.json_len = 0;
  const char *undef = "{\"type\":10,\"data\":{\"requestId\":\"q2\"}" TAIL;
  expect_encoded(&o, undef);
  o = base(SIO__CM_BROADCAST_CLIENT_COUNT);
  o.request_id = "q3", o.client_count = 3;
  const char *count = "{\"type\":11,\"data\":{\"requestId\":\"q3\",\"clientCount\":3}" TAIL;
  expect_encoded(&o, count);
  o = base(SIO__CM_BROADCAST_ACK);
  o.request_id = "q3", o.json = "[\"ok\",1]", o.json_len = 8;
  expect_encoded(&o, "{\"type\":12,\"data\":{\"requestId\":\"q3\",\"packet\":[\"ok\",1]}" TAIL);
  sio__cluster_msg m;
  assert_int_equal(sio__cluster_decode(&m, fetch, strlen(fetch)), 0);
  slice_is(&m, m.request_id, "\"q1\"");
  assert_int_equal(m.sockets.type, SIO__JSON_ARRAY);
  sio__cluster_msg_free(&m);
  assert_int_equal(sio__cluster_decode(&m, undef, strlen(undef)), 0);
  slice_is(&m, m.packet, NULL);
  sio__cluster_msg_free(&m);
  assert_int_equal(sio__cluster_decode(&m, count, strlen(count)), 0);
  assert_int_equal(m.client_count, 3);
  sio__cluster_msg_free(&m);
}

static void test_foreign_and_malformed(void **state) {
  const struct {
    const char *text;
    int rc;
  } cases[] = {
      {"{\"type\":1,\"uid\":\"u\",\"nsp\":\"/\"", SIO__CLUSTER_EFORMAT},
      {"{\"type\":0,\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":14,\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":\"1\",\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":1.5,\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":1,\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":1,\"uid\":7,\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":3,\"data\":{\"opts\":{}},\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":3,\"data\":{\"packet\":{\"data\":{}},\"opts\":{}},\"uid\":\"u\",\"nsp\":\"/\"}",
       SIO__CLUSTER_EFOREIGN},
      {"{\"type\":4,\"data\":{\"opts\":{\"rooms\":[{}]},\"rooms\":[]},\"uid\":\"u\",\"nsp\":\"/\"}",
       SIO__CLUSTER_EFOREIGN},
      {"{\"type\":6,\"data\":{\"opts\":{},\"close\":1},\"uid\":\"u\",\"nsp\":\"/\"}",
       SIO__CLUSTER_EFOREIGN},
      {"{\"type\":7,\"data\":{\"opts\":{}},\"uid\":\"u\",\"nsp\":\"/\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":11,\"data\":{\"requestId\":\"q\",\"clientCount\":-1},\"uid\":\"u\",\"nsp\":\"/"
       "\"}",
       SIO__CLUSTER_EFOREIGN},
      {"{\"type\":6,\"data\":{\"opts\":{\"rooms\":[1,\"a\"]}},\"uid\":\"u\",\"nsp\":\"/\"}", 0},
      {"[1,2]", SIO__CLUSTER_EFORMAT}, /* not '{': read as msgpack, fixint 0x5b then more */
      {"", SIO__CLUSTER_EFORMAT},
      {"\xc1", SIO__CLUSTER_EFORMAT},
      {"\x92\x01\x02", SIO__CLUSTER_EFOREIGN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    sio__cluster_msg m;
    int rc = sio__cluster_decode(&m, cases[i].text, strlen(cases[i].text));
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, rc, cases[i].rc);
    sio__cluster_msg_free(&m);
  }
  /* the encoder refuses what Node would not write */
  sio__sbuf b = SIO__SBUF_INIT;
  sio__cluster_out o = base(0);
  assert_int_equal(sio__cluster_encode(&b, &o), -EINVAL);
  o = base(SIO__CM_FETCH_SOCKETS); /* no requestId */
  assert_int_equal(sio__cluster_encode(&b, &o), -EINVAL);
  o = base(SIO__CM_BROADCAST);
  o.json = "{}", o.json_len = 2; /* data must be an array */
  assert_int_equal(sio__cluster_encode(&b, &o), SIO__CLUSTER_EFORMAT);
  o.json = "[1]", o.json_len = 3, o.flags = "[]";
  assert_int_equal(sio__cluster_encode(&b, &o), -EINVAL);
  assert_int_equal(b.len, 0);
  sio__sbuf_free(&b);
}

/* sio__wire_strings: rooms as C strings, numbers as their text, a NUL kept inside its string. */
static void test_room_strings(void **state) {
  const char *text = "[\"a\",12,\"b\\u0000c\",\"\"]";
  sio__json_slice arr;
  sio__sbuf store = SIO__SBUF_INIT, ptrs = SIO__SBUF_INIT;
  assert_int_equal(sio__json_validate(text, strlen(text), 0, &arr), 0);
  assert_int_equal(sio__wire_strings(text, arr, &store, &ptrs), 0);
  const char *const *v = (const char *const *)ptrs.data;
  assert_int_equal(ptrs.len / sizeof(char *), 4);
  assert_string_equal(v[0], "a");
  assert_string_equal(v[1], "12");
  assert_memory_equal(v[2], "b\0c", 4);
  assert_string_equal(v[3], "");
  sio__sbuf_free(&store), sio__sbuf_free(&ptrs);
  const char *bad = "[\"a\",{}]";
  assert_int_equal(sio__json_validate(bad, strlen(bad), 0, &arr), 0);
  assert_int_equal(sio__wire_strings(bad, arr, &store, &ptrs), -EINVAL);
  sio__sbuf_free(&store), sio__sbuf_free(&ptrs);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heartbeats_and_close),
      cmocka_unit_test(test_broadcast),
      cmocka_unit_test(test_broadcast_with_binary),
      cmocka_unit_test(test_sockets_ops),
      cmocka_unit_test(test_server_side_emit_and_responses),
      cmocka_unit_test(test_foreign_and_malformed),
      cmocka_unit_test(test_room_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
