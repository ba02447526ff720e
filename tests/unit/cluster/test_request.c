/* Unit tests for src/cluster/request: the classic Redis adapter's broadcast payload (the bytes
 * CLUSTER-PROTOCOLS.md section 1 checked against notepack), every request and response type
 * encoded as @socket.io/redis-adapter 8.3's index.ts writes it (JSON vectors printed by Node's
 * JSON.stringify on the objects index.ts builds, msgpack ones reasoned from notepack's rules)
 * and decoded back, and the messages Node would ignore refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cluster/message.h"
#include "cluster/request.h"
#include "core/alloc.h"
#include "unit_hex.h"

static const char *const room1[] = {"room1"}, *const r1[] = {"r1"}, *const s1[] = {"s1"};
static const char *const ab[] = {"a", "b"}, *const a[] = {"a"}, *const r1sid[] = {"r1", "sid"};

static const char checked_hex[] =
    "93 a6616263313233 83 a474797065 02 a464617461 92 a568656c6c6f a5776f726c64 a36e7370 a12f"
    " 83 a5726f6f6d73 91 a5726f6f6d31 a6657863657074 90 a5666c616773 80";

static void slice_is(const sio__wire *w, sio__json_slice s, const char *want) {
  if (!want) {
    assert_int_equal(s.type, SIO__JSON_INVALID);
    return;
  }
  if (s.len != strlen(want) || memcmp(w->text + s.off, want, s.len))
    fail_msg("slice %.*s, want %s", (int)s.len, w->text + s.off, want);
}

static void expect_text(const sio__sbuf *b, const char *want) {
  if (b->len != strlen(want) || memcmp(b->data, want, b->len))
    fail_msg("got %.*s\nwant %s", (int)b->len, b->data, want);
}

static void test_broadcast_payload(void **state) {
  sio__redis_out o = {.uid = "abc123", .nsp = "/", .rooms = room1, .nrooms = 1, .flags = "{}"};
  o.json = "[\"hello\",\"world\"]", o.json_len = strlen(o.json);
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__redis_encode_broadcast(&b, &o), 0);
  expect_hex(&b, checked_hex);
  sio__redis_bcast m;
  assert_int_equal(sio__redis_decode_broadcast(&m, b.data, b.len), 0);
  slice_is(&m.wire, m.uid, "\"abc123\"");
  slice_is(&m.wire, m.packet_data, "[\"hello\",\"world\"]");
  slice_is(&m.wire, m.nsp, "\"/\"");
  slice_is(&m.wire, m.rooms, "[\"room1\"]");
  slice_is(&m.wire, m.except, "[]");
  slice_is(&m.wire, m.flags, "{}");
  sio__redis_bcast_free(&m);
  sio__sbuf_free(&b);
  /* an emitter's: uid "emitter", opts {rooms, flags, except}, a packet without nsp */
  uint8_t raw[128];
  size_t n = unhex("93 a7656d6974746572 82 a474797065 02 a464617461 91 a26576"
                   " 83 a5726f6f6d73 90 a5666c616773 81 a8766f6c6174696c65 c3 a6657863657074 90",
                   raw);
  assert_int_equal(sio__redis_decode_broadcast(&m, raw, n), 0);
  slice_is(&m.wire, m.uid, "\"emitter\"");
  slice_is(&m.wire, m.nsp, NULL);
  slice_is(&m.wire, m.flags, "{\"volatile\":true}");
  sio__redis_bcast_free(&m);
}

static void test_broadcast_binary(void **state) {
  sio__mp_bin bin = {"\x01\x02\x03", 3};
  sio__redis_out o = {.uid = "u", .nsp = "/", .bins = &bin, .nbins = 1};
  o.json = "[\"file\",{\"_placeholder\":true,\"num\":0}]", o.json_len = strlen(o.json);
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__redis_encode_broadcast(&b, &o), 0);
  expect_hex(&b, "93 a175 83 a474797065 02 a464617461 92 a466696c65 c403010203 a36e7370 a12f"
                 " 82 a5726f6f6d73 90 a6657863657074 90");
  sio__redis_bcast m;
  assert_int_equal(sio__redis_decode_broadcast(&m, b.data, b.len), 0);
  slice_is(&m.wire, m.packet_data, o.json);
  slice_is(&m.wire, m.flags, NULL);
  assert_int_equal(m.wire.bins.n, 1);
  assert_memory_equal(m.wire.bins.v[0].data, "\x01\x02\x03", 3);
  sio__redis_bcast_free(&m);
  sio__sbuf_free(&b);
  /* refused: JSON on the broadcast channel, a short array, a packet without data */
  const char *bad[] = {"{\"a\":1}", "\x92\xa1u\x80", "\x93\xa1u\x80\x80",
                       "\x93\x01\x81\xa4\x64\x61\x74\x61\x90\x80"};
  const size_t lens[] = {7, 4, 5, 10};
  const int rcs[] = {SIO__CLUSTER_EFORMAT, SIO__CLUSTER_EFOREIGN, SIO__CLUSTER_EFOREIGN,
                     SIO__CLUSTER_EFOREIGN};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(sio__redis_decode_broadcast(&m, bad[i], lens[i]), rcs[i]);
    sio__redis_bcast_free(&m);
  }
}

static void encode_request_is(const sio__redis_out *o, const char *want) {
  sio__sbuf b = SIO__SBUF_INIT;
  int rc = sio__redis_encode_request(&b, o);
  if (rc) fail_msg("type %d: %d", o->type, rc);
  expect_text(&b, want);
  sio__redis_req r;
  assert_int_equal(sio__redis_decode_request(&r, b.data, b.len), 0);
  assert_int_equal(r.type, o->type);
  sio__redis_req_free(&r);
  sio__sbuf_free(&b);
}

static void test_requests(void **state) {
  sio__redis_out o = {
      .type = SIO__RR_ALL_ROOMS, .uid = "Ab3dE6", .request_id = "Xy9zW1", .close = -1};
  encode_request_is(&o, "{\"uid\":\"Ab3dE6\",\"requestId\":\"Xy9zW1\",\"type\":1}");
  o.type = SIO__RR_REMOTE_FETCH, o.rooms = r1, o.nrooms = 1, o.except = s1, o.nexcept = 1;
  encode_request_is(&o,
                    "{\"uid\":\"Ab3dE6\",\"requestId\":\"Xy9zW1\",\"type\":5,\"opts\":{\"rooms\":"
                    "[\"r1\"],\"except\":[\"s1\"]}}");
  o = (sio__redis_out){.type = SIO__RR_REMOTE_JOIN, .uid = "Ab3dE6", .join = ab, .njoin = 2};
  encode_request_is(&o, "{\"uid\":\"Ab3dE6\",\"type\":2,\"opts\":{\"rooms\":[],\"except\":[]},"
                        "\"rooms\":[\"a\",\"b\"]}");
  o = (sio__redis_out){
      .type = SIO__RR_REMOTE_LEAVE, .rooms = r1, .nrooms = 1, .join = a, .njoin = 1};
  encode_request_is(&o,
                    "{\"type\":3,\"opts\":{\"rooms\":[\"r1\"],\"except\":[]},\"rooms\":[\"a\"]}");
  o = (sio__redis_out){
      .type = SIO__RR_REMOTE_DISCONNECT, .uid = "Ab3dE6", .rooms = r1, .nrooms = 1};
  o.close = 1;
  encode_request_is(&o,
                    "{\"uid\":\"Ab3dE6\",\"type\":4,\"opts\":{\"rooms\":[\"r1\"],\"except\":[]},"
                    "\"close\":true}");
  o.close = -1, o.nrooms = 0;
  encode_request_is(&o, "{\"uid\":\"Ab3dE6\",\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]}}");
  o = (sio__redis_out){.type = SIO__RR_SERVER_SIDE_EMIT, .uid = "Ab3dE6"};
  o.json = "[\"hello\",{\"a\":1}]", o.json_len = strlen(o.json);
  encode_request_is(&o, "{\"uid\":\"Ab3dE6\",\"type\":6,\"data\":[\"hello\",{\"a\":1}]}");
  o.request_id = "Xy9zW1", o.json = "[\"hello\"]", o.json_len = 9;
  encode_request_is(
      &o, "{\"uid\":\"Ab3dE6\",\"requestId\":\"Xy9zW1\",\"type\":6,\"data\":[\"hello\"]}");
}

static void test_broadcast_with_ack_request(void **state) {
  sio__redis_out o = {.type = SIO__RR_BROADCAST,
                      .uid = "Ab3dE6",
                      .request_id = "Xy9zW1",
                      .nsp = "/",
                      .flags = "{\"timeout\":5000}"};
  o.json = "[\"ask\"]", o.json_len = 7;
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__redis_encode_request(&b, &o), 0);
  /* notepack.encode({uid, requestId, type: 7, packet: {type: 2, data: ["ask"], nsp: "/"},
   * opts: {rooms: [], except: [], flags: {timeout: 5000}}}) */
  expect_hex(&b, "85 a3756964 a6416233644536 a9726571756573744964 a65879397a5731 a474797065 07"
                 " a67061636b6574 83 a474797065 02 a464617461 91 a361736b a36e7370 a12f"
                 " a46f707473 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773 81"
                 " a774696d656f7574 cd1388");
  sio__redis_req r;
  assert_int_equal(sio__redis_decode_request(&r, b.data, b.len), 0);
  assert_int_equal(r.type, SIO__RR_BROADCAST);
  slice_is(&r.wire, r.request_id, "\"Xy9zW1\"");
  slice_is(&r.wire, r.packet_data, "[\"ask\"]");
  slice_is(&r.wire, r.flags, "{\"timeout\":5000}");
  sio__redis_req_free(&r);
  sio__sbuf_free(&b);
}

static void test_request_forms(void **state) {
  const struct {
    const char *text;
    int rc;
  } cases[] = {
      {"{\"requestId\":\"q\",\"rooms\":[\"a\"],\"type\":0}", 0},
      {"{\"requestId\":\"q\",\"sid\":\"s\",\"room\":\"r\",\"type\":2}", 0}, /* legacy join */
      {"{\"requestId\":\"q\",\"sid\":\"s\",\"close\":false,\"type\":4}", 0},
      {"{\"type\":2,\"opts\":{\"rooms\":[\"r1\"]},\"rooms\":[\"a\"]}", 0}, /* an emitter's */
      {"{\"type\":0}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":2,\"sid\":\"s\",\"room\":\"r\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":2,\"opts\":{},\"rooms\":\"a\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":4,\"opts\":{},\"close\":\"yes\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":5,\"requestId\":\"q\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":6,\"data\":{}}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":7,\"requestId\":\"q\",\"opts\":{},\"packet\":{}}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":8,\"requestId\":\"q\",\"clientCount\":1}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":10}", SIO__CLUSTER_EFOREIGN},
      {"{\"uid\":1,\"type\":1,\"requestId\":\"q\"}", SIO__CLUSTER_EFOREIGN},
      {"{\"type\":1,", SIO__CLUSTER_EFORMAT},
      {"\xc1", SIO__CLUSTER_EFORMAT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    sio__redis_req r;
    int rc = sio__redis_decode_request(&r, cases[i].text, strlen(cases[i].text));
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, rc, cases[i].rc);
    if (i == 1) slice_is(&r.wire, r.room, "\"r\"");
    if (i == 2) assert_int_equal(r.close, 0);
    if (i == 3) assert_int_equal(r.has_opts, 1);
    sio__redis_req_free(&r);
  }
}

static void encode_response_is(const sio__redis_out *o, const char *want) {
  sio__sbuf b = SIO__SBUF_INIT;
  int rc = sio__redis_encode_response(&b, o);
  if (rc) fail_msg("type %d: %d", o->type, rc);
  expect_text(&b, want);
  sio__sbuf_free(&b);
}

static void test_responses(void **state) {
  sio__redis_out o = {.type = SIO__RR_ALL_ROOMS, .request_id = "Xy9zW1", .join = r1sid, .njoin = 2};
  encode_response_is(&o, "{\"requestId\":\"Xy9zW1\",\"rooms\":[\"r1\",\"sid\"]}");
  o = (sio__redis_out){.type = SIO__RR_REMOTE_FETCH, .request_id = "Xy9zW1"};
  o.json = "[{\"id\":\"s\",\"handshake\":{},\"rooms\":[\"s\"],\"data\":{}}]",
  o.json_len = strlen(o.json);
  const char *fetch =
      "{\"requestId\":\"Xy9zW1\",\"sockets\":[{\"id\":\"s\",\"handshake\":{},\"rooms\""
      ":[\"s\"],\"data\":{}}]}";
  encode_response_is(&o, fetch);
  o = (sio__redis_out){.type = SIO__RR_REMOTE_JOIN, .request_id = "Xy9zW1"};
  encode_response_is(&o, "{\"requestId\":\"Xy9zW1\"}");
  o = (sio__redis_out){.type = SIO__RR_SERVER_SIDE_EMIT, .request_id = "Xy9zW1"};
  o.json = "\"pong\"", o.json_len = 6;
  const char *pong = "{\"type\":6,\"requestId\":\"Xy9zW1\",\"data\":\"pong\"}";
  encode_response_is(&o, pong);
  o.json = NULL;
  encode_response_is(&o, "{\"type\":6,\"requestId\":\"Xy9zW1\"}");
  o = (sio__redis_out){.type = SIO__RR_BROADCAST_CLIENT_COUNT, .request_id = "Xy9zW1"};
  o.client_count = 2;
  const char *count = "{\"type\":8,\"requestId\":\"Xy9zW1\",\"clientCount\":2}";
  encode_response_is(&o, count);
  /* BROADCAST_ACK goes through parser.encode: msgpack, undefined packet left out */
  o = (sio__redis_out){.type = SIO__RR_BROADCAST_ACK, .request_id = "Xy9zW1"};
  o.json = "[\"ok\"]", o.json_len = 6;
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__redis_encode_response(&b, &o), 0);
  expect_hex(&b, "83 a474797065 09 a9726571756573744964 a65879397a5731 a67061636b6574 91 a26f6b");
  sio__redis_res r;
  assert_int_equal(sio__redis_decode_response(&r, b.data, b.len), 0);
  assert_int_equal(r.type, SIO__RR_BROADCAST_ACK);
  slice_is(&r.wire, r.value, "[\"ok\"]");
  sio__redis_res_free(&r);
  sio__sbuf_reset(&b);
  o.json = NULL;
  assert_int_equal(sio__redis_encode_response(&b, &o), 0);
  expect_hex(&b, "82 a474797065 09 a9726571756573744964 a65879397a5731");
  sio__sbuf_free(&b);
  /* decoding the JSON ones */
  assert_int_equal(sio__redis_decode_response(&r, fetch, strlen(fetch)), 0);
  assert_int_equal(r.type, -1);
  assert_int_equal(r.sockets.type, SIO__JSON_ARRAY);
  sio__redis_res_free(&r);
  assert_int_equal(sio__redis_decode_response(&r, pong, strlen(pong)), 0);
  slice_is(&r.wire, r.value, "\"pong\"");
  sio__redis_res_free(&r);
  assert_int_equal(sio__redis_decode_response(&r, count, strlen(count)), 0);
  assert_int_equal(r.client_count, 2);
  sio__redis_res_free(&r);
  const char *bad[] = {"{\"rooms\":[]}", "{\"type\":8,\"requestId\":\"q\"}", "{\"requestId\":1}",
                       "{\"type\":\"6\",\"requestId\":\"q\"}"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(sio__redis_decode_response(&r, bad[i], strlen(bad[i])), SIO__CLUSTER_EFOREIGN);
    sio__redis_res_free(&r);
  }
}

static void test_encoder_refusals(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  sio__redis_out o = {.type = SIO__RR_SOCKETS};
  assert_int_equal(sio__redis_encode_request(&b, &o), -EINVAL); /* receive-only */
  o.type = SIO__RR_ALL_ROOMS;
  assert_int_equal(sio__redis_encode_request(&b, &o), -EINVAL); /* no requestId */
  o = (sio__redis_out){.type = SIO__RR_SERVER_SIDE_EMIT, .json = "{}", .json_len = 2};
  assert_int_equal(sio__redis_encode_request(&b, &o), SIO__CLUSTER_EFORMAT);
  o = (sio__redis_out){.type = SIO__RR_BROADCAST, .request_id = "q"};
  assert_int_equal(sio__redis_encode_response(&b, &o), -EINVAL);
  o = (sio__redis_out){.uid = "u", .nsp = "/", .json = "[1,", .json_len = 3};
  assert_int_equal(sio__redis_encode_broadcast(&b, &o), SIO__CLUSTER_EFORMAT);
  assert_int_equal(b.len, 0);
  sio__sbuf_free(&b);
}

/* Every allocation of the codecs failing in turn: -ENOMEM or success, never a leak. */
static void test_alloc_failures(void **state) {
  sio__mp_bin bin = {"\x01\x02\x03", 3};
  const char *data = "[\"file\",{\"b\":{\"_placeholder\":true,\"num\":0}},\"\\ud800\"]";
  sio__redis_out ro = {.type = SIO__RR_BROADCAST,
                       .uid = "u",
                       .request_id = "q",
                       .nsp = "/",
                       .flags = "{\"timeout\":5}",
                       .rooms = room1,
                       .nrooms = 1,
                       .bins = &bin,
                       .nbins = 1,
                       .json = data,
                       .json_len = strlen(data)};
  sio__cluster_out co = {.type = SIO__CM_BROADCAST,
                         .uid = "u",
                         .nsp = "/",
                         .close = -1,
                         .json = data,
                         .json_len = strlen(data),
                         .bins = &bin,
                         .nbins = 1};
  long base = sio__alloc_live();
  for (long k = 0; k < 80; k++) {
    sio__sbuf b = SIO__SBUF_INIT, c = SIO__SBUF_INIT, d = SIO__SBUF_INIT;
    sio__alloc_fail_after(k);
    int rc1 = sio__redis_encode_broadcast(&b, &ro);
    int rc2 = sio__redis_encode_request(&c, &ro);
    int rc3 = sio__cluster_encode(&d, &co);
    sio__alloc_fail_reset();
    assert_true((rc1 == 0 || rc1 == -ENOMEM) && (rc2 == 0 || rc2 == -ENOMEM));
    assert_true(rc3 == 0 || rc3 == -ENOMEM);
    sio__redis_bcast bc;
    sio__redis_req rq;
    sio__cluster_msg cm;
    sio__alloc_fail_after(k);
    if (!rc1) rc1 = sio__redis_decode_broadcast(&bc, b.data, b.len), sio__redis_bcast_free(&bc);
    if (!rc2) rc2 = sio__redis_decode_request(&rq, c.data, c.len), sio__redis_req_free(&rq);
    if (!rc3) rc3 = sio__cluster_decode(&cm, d.data, d.len), sio__cluster_msg_free(&cm);
    sio__alloc_fail_reset();
    assert_true((rc1 == 0 || rc1 == -ENOMEM) && (rc2 == 0 || rc2 == -ENOMEM));
    assert_true(rc3 == 0 || rc3 == -ENOMEM);
    sio__sbuf_free(&b), sio__sbuf_free(&c), sio__sbuf_free(&d);
    if (sio__alloc_live() != base) fail_msg("leak after failing allocation %ld", k);
  }
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broadcast_payload), cmocka_unit_test(test_broadcast_binary),
      cmocka_unit_test(test_requests),          cmocka_unit_test(test_broadcast_with_ack_request),
      cmocka_unit_test(test_request_forms),     cmocka_unit_test(test_responses),
      cmocka_unit_test(test_encoder_refusals),  cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
