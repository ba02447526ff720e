/* The Redis Streams adapter's session value (redis_adapter/stream_session.h) and entry ids
 * (streams_entry.h): the value is byte for byte what Node's persistSession writes for the same
 * session (fixtures from @msgpack/msgpack 2 under Node 20), a value written by Node decodes
 * (rooms with numbers, data with floats and big integers), our own round-trips with its
 * position, and malformed values are refused. Entry ids parse, order and step as Redis's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "redis_adapter/stream_session.h"
#include "redis_adapter/streams_entry.h"

/* msgpack.encode({sid: "s1", pid: "p1", rooms: ["s1"], data: {}}) in base64 */
#define NODE_SMALL "hKNzaWSiczGjcGlkonAxpXJvb21zkaJzMaRkYXRhgA=="
/* {sid: "AbCdEfGhIjKlMnOpQrSt", pid: "pid-123", rooms: [sid, "news", 7],
 *  data: {a: 1, b: [true, null, "x"], c: 2.5, big: 123456789012}} */
#define NODE_FULL                                                                                  \
  "hKNzaWS0QWJDZEVmR2hJaktsTW5PcFFyU3SjcGlkp3BpZC0xMjOlcm9vbXOTtEFiQ2RFZkdoSWpLbE1uT3BRclN0pG5l"   \
  "d3MHpGRhdGGEoWEBoWKTw8CheKFjy0AEAAAAAAAAo2JpZ88AAAAcvpkaFA=="

static void test_encode_as_node(void **state) {
  (void)state;
  sio__sbuf b = SIO__SBUF_INIT;
  sio_session ss = {"p1", "s1", NULL, 0, "{}", NULL};
  assert_int_equal(sio__stream_session_encode(&b, &ss), 0);
  assert_string_equal(b.data, NODE_SMALL);
  sio__sbuf_free(&b);
}

static void test_decode_node(void **state) {
  (void)state;
  sio__stream_session s;
  memset(&s, 0, sizeof s);
  assert_int_equal(sio__stream_session_decode(&s, NODE_FULL, strlen(NODE_FULL)), 0);
  assert_string_equal(s.sid.data, "AbCdEfGhIjKlMnOpQrSt");
  assert_string_equal(s.pid.data, "pid-123");
  assert_string_equal(s.pos.data, "");
  assert_string_equal(s.data.data,
                      "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":2.5,\"big\":123456789012}");
  size_t n;
  const char *const *rooms = sio__stream_session_rooms(&s, &n);
  assert_int_equal(n, 3);
  assert_string_equal(rooms[0], "AbCdEfGhIjKlMnOpQrSt");
  assert_string_equal(rooms[1], "news");
  assert_string_equal(rooms[2], "7");
  sio__stream_session_free(&s);
}

static void test_roundtrip(void **state) {
  (void)state;
  const char *rooms[] = {"news", "caf\xc3\xa9"};
  sio_session ss = {"the-pid", "the-sid", rooms, 2, "[1,{\"k\":\"v\"}]", "1733300000000-4"};
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__stream_session_encode(&b, &ss), 0);
  sio__stream_session s;
  memset(&s, 0, sizeof s);
  assert_int_equal(sio__stream_session_decode(&s, b.data, b.len), 0);
  assert_string_equal(s.sid.data, "the-sid");
  assert_string_equal(s.pid.data, "the-pid");
  assert_string_equal(s.pos.data, "1733300000000-4");
  assert_string_equal(s.data.data, "[1,{\"k\":\"v\"}]");
  size_t n;
  const char *const *r = sio__stream_session_rooms(&s, &n);
  assert_int_equal(n, 3);
  assert_string_equal(r[0], "the-sid");
  assert_string_equal(r[1], "news");
  assert_string_equal(r[2], "caf\xc3\xa9");
  sio__stream_session_free(&s);
  sio__sbuf_free(&b);
  sio_session bad = {"p", "s", NULL, 0, "{not json", NULL};
  assert_int_equal(sio__stream_session_encode(&b, &bad), -EINVAL);
  sio__sbuf_free(&b);
}

static void refused(const char *b64, int want) {
  sio__stream_session s;
  memset(&s, 0, sizeof s);
  assert_int_equal(sio__stream_session_decode(&s, b64, strlen(b64)), want);
  sio__stream_session_free(&s);
}

static void test_refused(void **state) {
  (void)state;
  refused("", SIO__CLUSTER_EFORMAT);
  refused("!!!!", SIO__CLUSTER_EFORMAT);
  refused("gA==", SIO__CLUSTER_EFOREIGN);                     /* {} : no sid */
  refused("gaNzaWQB", SIO__CLUSTER_EFOREIGN);                 /* {sid: 1} */
  refused("e30=", SIO__CLUSTER_EFOREIGN);                     /* "{}" as JSON text: not msgpack */
  refused("gqNzaWSiczGlcm9vbXMB", SIO__CLUSTER_EFOREIGN);     /* {sid: "s1", rooms: 1} */
  refused("gqNzaWSiczGlcm9vbXORgA==", SIO__CLUSTER_EFOREIGN); /* rooms: [{}] */
  refused("gaNzaWSiAHM=", SIO__CLUSTER_EFOREIGN);             /* sid "\0s" */
  refused("haNzaWSiczE=", SIO__CLUSTER_EFORMAT);              /* a map cut short */
}

static void test_ids(void **state) {
  (void)state;
  sio__stream_id a, b;
  assert_int_equal(sio__stream_id_parse("1733300000000-4", 15, &a), 0);
  assert_true(a.ms == 1733300000000ull && a.seq == 4);
  assert_int_equal(sio__stream_id_parse("1733300000000-10", 16, &b), 0);
  assert_true(sio__stream_id_cmp(a, b) < 0 && sio__stream_id_cmp(b, a) > 0);
  assert_int_equal(sio__stream_id_cmp(a, a), 0);
  assert_int_equal(sio__stream_id_parse("2-0", 3, &b), 0);
  assert_true(sio__stream_id_cmp(a, b) > 0);
  assert_int_equal(sio__stream_id_parse("18446744073709551616-0", 22, &b), -EINVAL);
  assert_int_equal(sio__stream_id_parse("1-", 2, &b), -EINVAL);
  assert_int_equal(sio__stream_id_parse("$", 1, &b), -EINVAL);
  sio__sbuf t = SIO__SBUF_INIT;
  assert_int_equal(sio__stream_id_next(&t, a), 0);
  assert_string_equal(t.data, "1733300000000-5");
  sio__sbuf_reset(&t);
  assert_int_equal(sio__stream_id_parse("7-18446744073709551615", 22, &b), 0);
  assert_int_equal(sio__stream_id_next(&t, b), 0);
  assert_string_equal(t.data, "8-0");
  sio__sbuf_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_as_node),
      cmocka_unit_test(test_decode_node),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
