/* Unit tests for src/engine/codec: Engine.IO v4 packets and polling payloads, byte-exact vectors
 * from the protocol description, and every malformed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "engine/codec.h"

static void test_decode_text(void **state) {
  sio__eio_packet p;
  assert_int_equal(sio__eio_decode_text("4hello", 6, &p), 0);
  assert_int_equal(p.type, SIO__EIO_MESSAGE);
  assert_int_equal(p.binary, 0);
  assert_int_equal(p.len, 5);
  assert_memory_equal(p.data, "hello", 5);
  assert_int_equal(sio__eio_decode_text("2probe", 6, &p), 0);
  assert_int_equal(p.type, SIO__EIO_PING);
  assert_int_equal(sio__eio_decode_text("3", 1, &p), 0);
  assert_int_equal(p.type, SIO__EIO_PONG);
  assert_int_equal(p.len, 0);
  assert_int_equal(sio__eio_decode_text("6", 1, &p), 0);
  assert_int_equal(p.type, SIO__EIO_NOOP);
  assert_int_equal(sio__eio_decode_text("", 0, &p), -EINVAL);
  assert_int_equal(sio__eio_decode_text("7", 1, &p), -EINVAL);
  assert_int_equal(sio__eio_decode_text("abc", 3, &p), -EINVAL);
  assert_int_equal(sio__eio_decode_text("/", 1, &p), -EINVAL);
}

typedef struct expect {
  int type, binary;
  const char *data;
  size_t len;
} expect;

static void check_payload(const char *s, size_t n, const expect *want, size_t nwant) {
  sio__eio_payload_iter it;
  sio__eio_packet p;
  size_t k = 0;
  int rc;
  sio__eio_payload_init(&it, s, n);
  while ((rc = sio__eio_payload_next(&it, &p)) == 1) {
    assert_true(k < nwant);
    assert_int_equal(p.type, want[k].type);
    assert_int_equal(p.binary, want[k].binary);
    assert_int_equal(p.len, want[k].len);
    if (p.len) assert_memory_equal(p.data, want[k].data, p.len);
    k++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(k, nwant);
  assert_int_equal(sio__eio_payload_next(&it, &p), 0);
  sio__eio_payload_free(&it);
  assert_int_equal(sio__eio_payload_count(s, n), (long)nwant);
}

static void test_payload_decode(void **state) {
  const expect one[] = {{4, 0, "hello", 5}};
  check_payload("4hello", 6, one, 1);
  const expect three[] = {{4, 0, "test1", 5}, {4, 0, "test2", 5}, {4, 0, "test3", 5}};
  check_payload("4test1\x1e"
                "4test2\x1e"
                "4test3",
                20, three, 3);
  const expect mixed[] = {{4, 0, "hello", 5}, {4, 1, "\x01\x02\x03\x04", 4}};
  check_payload("4hello\x1e"
                "bAQIDBA==",
                15, mixed, 2);
  const expect ctl[] = {{2, 0, "probe", 5}, {3, 0, "", 0}, {1, 0, "", 0}, {6, 0, "", 0}};
  check_payload("2probe\x1e"
                "3\x1e"
                "1\x1e"
                "6",
                12, ctl, 4);
  const expect empty_bin[] = {{4, 1, "", 0}, {4, 0, "", 0}};
  check_payload("b\x1e"
                "4",
                3, empty_bin, 2);
  const expect nopad[] = {{4, 1, "\x01\x02\x03\x04", 4}};
  check_payload("bAQIDBA", 7, nopad, 1);
  const expect utf8[] = {{4, 0, "\xe2\x82\xac", 3}};
  check_payload("4\xe2\x82\xac", 4, utf8, 1);
}

static void check_bad_payload(const char *s, size_t n, int good_before) {
  sio__eio_payload_iter it;
  sio__eio_packet p;
  int rc, k = 0;
  sio__eio_payload_init(&it, s, n);
  while ((rc = sio__eio_payload_next(&it, &p)) == 1) k++;
  assert_int_equal(rc, -EINVAL);
  assert_int_equal(k, good_before);
  assert_int_equal(sio__eio_payload_next(&it, &p), -EINVAL); /* stays failed */
  sio__eio_payload_free(&it);
  assert_int_equal(sio__eio_payload_count(s, n), -EINVAL);
}

static void test_payload_malformed(void **state) {
  check_bad_payload("", 0, 0);
  check_bad_payload("abc", 3, 0);
  check_bad_payload("\x1e", 1, 0);
  check_bad_payload("4a\x1e", 3, 1); /* trailing separator: empty packet */
  check_bad_payload("4a\x1e\x1e"
                    "4b",
                    6, 1); /* empty packet in the middle */
  check_bad_payload("9x", 2, 0);
  check_bad_payload("4ok\x1e"
                    "bA!==",
                    9, 1); /* bad base64 */
  check_bad_payload("b====A", 6, 0);
  check_bad_payload("bA", 2, 0); /* 1 leftover char is not base64 */
  check_bad_payload("4ok\x1e"
                    "x",
                    5, 1);
}

static void check_encoded(sio__sbuf *b, const char *want, size_t n) {
  assert_int_equal(b->len, n);
  assert_memory_equal(b->data, want, n);
}

static void test_encode(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  sio__eio_packet p = {SIO__EIO_MESSAGE, 0, "hello", 5};
  assert_int_equal(sio__eio_encode_packet(&b, &p, 0), 0);
  sio__eio_packet q = {SIO__EIO_MESSAGE, 1, "\x01\x02\x03\x04", 4};
  assert_int_equal(sio__eio_encode_packet(&b, &q, 1), 0);
  sio__eio_packet ping = {SIO__EIO_PING, 0, "", 0};
  assert_int_equal(sio__eio_encode_packet(&b, &ping, 1), 0);
  assert_int_equal(sio__eio_encode_message(&b, "x", 1, 0, 1), 0);
  assert_int_equal(sio__eio_encode_message(&b, "", 0, 1, 1), 0);
  check_encoded(&b,
                "4hello\x1e"
                "bAQIDBA==\x1e"
                "2\x1e"
                "4x\x1e"
                "b",
                23);
  /* what we encode decodes to the same packets */
  assert_int_equal(sio__eio_payload_count(b.data, b.len), 5);
  sio__sbuf_free(&b);
}

static void test_open(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  const char *up[] = {"websocket"};
  assert_int_equal(sio__eio_encode_open(&b, "lv_VI97HAXpY6yYWAAAC", up, 1, 25000, 20000, 1000000),
                   0);
  const char *want = "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                     "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
  check_encoded(&b, want, strlen(want));
  sio__sbuf_reset(&b);
  assert_int_equal(sio__eio_encode_open(&b, "abc", NULL, 0, 300, 200, 1000000), 0);
  want = "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":300,\"pingTimeout\":200,"
         "\"maxPayload\":1000000}";
  check_encoded(&b, want, strlen(want));
  sio__sbuf_free(&b);
}

static void test_errors(void **state) {
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_UNKNOWN_TRANSPORT),
                      "{\"code\":0,\"message\":\"Transport unknown\"}");
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_UNKNOWN_SID),
                      "{\"code\":1,\"message\":\"Session ID unknown\"}");
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_BAD_HANDSHAKE_METHOD),
                      "{\"code\":2,\"message\":\"Bad handshake method\"}");
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_BAD_REQUEST),
                      "{\"code\":3,\"message\":\"Bad request\"}");
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_FORBIDDEN),
                      "{\"code\":4,\"message\":\"Forbidden\"}");
  assert_string_equal(sio__eio_error_json(SIO__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION),
                      "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
}

static void test_alloc_failures(void **state) {
  for (long k = 0; k < 6; k++) {
    sio__eio_payload_iter it;
    sio__eio_packet p;
    sio__alloc_fail_after(k);
    sio__eio_payload_init(&it,
                          "bAQID\x1e"
                          "bBA==",
                          11);
    while (sio__eio_payload_next(&it, &p) == 1) {
    }
    sio__eio_payload_free(&it);
    sio__alloc_fail_reset();
  }
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_text),
      cmocka_unit_test(test_payload_decode),
      cmocka_unit_test(test_payload_malformed),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_open),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
