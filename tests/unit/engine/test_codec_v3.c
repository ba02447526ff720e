/* Unit tests for src/engine/codec_v3: Engine.IO v3 text and XHR2 binary payloads and WebSocket
 * binary frames. The vectors were produced by Node's engine.io/build/parser-v3 (encodePayload,
 * encodePayloadAsBinary), so lengths in UTF-16 units and the binary framing are byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "engine/codec_v3.h"

typedef struct expect {
  int type, binary;
  const char *data;
  size_t len;
} expect;

/* "5:4h€😀10:b4AQIDBA==6:2probe": '€' is 1 UTF-16 unit (3 bytes), '😀' 2 units (4 bytes) */
static const char text_vec[] = "5:4h\xe2\x82\xac\xf0\x9f\x98\x80"
                               "10:b4AQIDBA==6:2probe";
static const expect text_want[] = {
    {4, 0, "h\xe2\x82\xac\xf0\x9f\x98\x80", 8}, {4, 1, "\x01\x02\x03\x04", 4}, {2, 0, "probe", 5}};
/* encodePayloadAsBinary([{message "h€"}, {message <01 02 03>}]) */
static const char bin_vec[] = {0, 5, (char)255, '4', 'h', (char)0xe2, (char)0x82, (char)0xac,
                               1, 4, (char)255, 4,   1,   2,          3};
static const expect bin_want[] = {{4, 0, "h\xe2\x82\xac", 4}, {4, 1, "\x01\x02\x03", 3}};

static void check_payload(const char *s, size_t n, int binary, const expect *want, size_t nwant) {
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  size_t k = 0;
  int rc;
  sio__eio3_payload_init(&it, s, n, binary);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1) {
    assert_true(k < nwant);
    assert_int_equal(p.type, want[k].type);
    assert_int_equal(p.binary, want[k].binary);
    assert_int_equal(p.len, want[k].len);
    if (p.len) assert_memory_equal(p.data, want[k].data, p.len);
    k++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(k, nwant);
  assert_int_equal(sio__eio3_payload_next(&it, &p), 0);
  sio__eio3_payload_free(&it);
  assert_int_equal(sio__eio3_payload_count(s, n, binary), (long)nwant);
}

static void test_text_payload(void **state) {
  check_payload(text_vec, sizeof text_vec - 1, 0, text_want, 3);
  check_payload(SIO__EIO3_EMPTY_PAYLOAD, 2, 0, NULL, 0);
  const expect ctl[] = {{2, 0, "", 0}, {1, 0, "", 0}};
  check_payload("1:20:1:1", 8, 0, ctl, 2);
  const expect b64_nopad[] = {{4, 1, "\x01\x02\x03\x04", 4}};
  check_payload("8:b4AQIDBA", 10, 0, b64_nopad, 1);
  const expect empty_bin[] = {{4, 1, "", 0}};
  check_payload("2:b4", 4, 0, empty_bin, 1);
  /* a record whose data holds ':' and digits: the length, not a separator search, delimits */
  const expect colon[] = {{4, 0, "3:42", 4}, {4, 0, "x", 1}};
  check_payload("5:43:422:4x", 11, 0, colon, 2);
}

static void test_binary_payload(void **state) {
  check_payload(bin_vec, sizeof bin_vec, 1, bin_want, 2);
  /* a length of 12 written as the digit bytes 1, 2 */
  char big[4 + 12] = {1, 1, 2, (char)255, 4};
  memcpy(big + 5, "ABCDEFGHIJK", 11);
  const expect one[] = {{4, 1, "ABCDEFGHIJK", 11}};
  check_payload(big, sizeof big, 1, one, 1);
}

static void check_bad(const char *s, size_t n, int binary, int good_before) {
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  int k = 0, rc;
  sio__eio3_payload_init(&it, s, n, binary);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1) k++;
  assert_int_equal(rc, -EINVAL);
  assert_int_equal(k, good_before);
  assert_int_equal(sio__eio3_payload_next(&it, &p), -EINVAL); /* stays failed */
  sio__eio3_payload_free(&it);
  assert_int_equal(sio__eio3_payload_count(s, n, binary), -EINVAL);
}

static void test_malformed(void **state) {
  check_bad("", 0, 0, 0);
  check_bad("", 0, 1, 0);
  check_bad(":4hi", 4, 0, 0);                /* no length */
  check_bad("3", 1, 0, 0);                   /* no colon */
  check_bad("4:4hi", 5, 0, 0);               /* runs past the end */
  check_bad("3:4hi2", 6, 0, 1);              /* trailing length without record */
  check_bad("2:7x", 4, 0, 0);                /* bad type */
  check_bad("2:b9", 4, 0, 0);                /* bad base64 packet type */
  check_bad("5:b4A!==", 8, 0, 0);            /* bad base64 */
  check_bad("x3:4hi", 6, 0, 0);              /* not decimal */
  check_bad("1e1:4hi", 7, 0, 0);             /* Node's Number() would take it; we do not */
  check_bad("99999999999:4", 13, 0, 0);      /* too many digits */
  check_bad("2:4\xf0\x9f\x98\x80", 7, 0, 0); /* length ends inside a surrogate pair */
  check_bad("2:4\xff", 4, 0, 0);             /* invalid UTF-8 */
  check_bad("2:4\xc0\x80", 5, 0, 0);         /* overlong */
  check_bad("2:4\xed\xa0\x80", 6, 0, 0);     /* a surrogate encoded in UTF-8 */
  check_bad("\x02\x01\xff"
            "4",
            4, 1, 0); /* flag neither 0 nor 1 */
  check_bad("\x00\xff"
            "4",
            3, 1, 0); /* no length digits */
  check_bad("\x00\x05\xff"
            "4h",
            5, 1, 0);                     /* runs past the end */
  check_bad("\x00\x00\xff", 3, 1, 0);     /* zero-length record */
  check_bad("\x00\x01", 2, 1, 0);         /* no 0xff */
  check_bad("\x01\x01\xff\x09", 4, 1, 0); /* bad binary type byte */
  check_bad("\x00\x02\xff"
            "4\xff",
            5, 1, 0); /* text record that is not UTF-8 */
  check_bad("\x00\x02\xff"
            "4a"
            "\x00\x0a",
            7, 1, 1);
}

static void check_encode(const expect *pk, size_t npk, int binary, const char *want, size_t n) {
  sio__sbuf out = SIO__SBUF_INIT;
  for (size_t i = 0; i < npk; i++) {
    sio__eio_packet p = {(sio__eio_type)pk[i].type, pk[i].binary, pk[i].data, pk[i].len};
    assert_int_equal(sio__eio3_encode_record(&out, &p, binary), 0);
  }
  assert_int_equal(out.len, n);
  assert_memory_equal(out.data, want, n);
  sio__sbuf_free(&out);
}

static void test_encode(void **state) {
  check_encode(text_want, 3, 0, text_vec, sizeof text_vec - 1);
  check_encode(bin_want, 2, 1, bin_vec, sizeof bin_vec);
  sio__sbuf out = SIO__SBUF_INIT;
  sio__eio_packet bad = {SIO__EIO_MESSAGE, 0, "\xff", 1};
  assert_int_equal(sio__eio3_encode_record(&out, &bad, 0), -EINVAL);
  assert_int_equal(sio__eio3_encode_record(&out, &bad, 1), -EINVAL);
  sio__eio_packet bin = {SIO__EIO_MESSAGE, 1, "\x01\x02", 2};
  assert_int_equal(sio__eio3_encode_ws(&out, &bin), 0);
  assert_int_equal(out.len, 3);
  assert_memory_equal(out.data, "\x04\x01\x02", 3);
  sio__sbuf_reset(&out);
  sio__eio_packet txt = {SIO__EIO_PONG, 0, "probe", 5};
  assert_int_equal(sio__eio3_encode_ws(&out, &txt), 0);
  assert_string_equal(out.data, "3probe");
  sio__sbuf_free(&out);
}

static void test_ws_binary(void **state) {
  sio__eio_packet p;
  assert_int_equal(sio__eio3_decode_ws_binary("\x04\x01\x02", 3, &p), 0);
  assert_int_equal(p.type, SIO__EIO_MESSAGE);
  assert_int_equal(p.binary, 1);
  assert_int_equal(p.len, 2);
  assert_memory_equal(p.data, "\x01\x02", 2);
  assert_int_equal(sio__eio3_decode_ws_binary("\x04", 1, &p), 0);
  assert_int_equal(p.len, 0);
  assert_int_equal(sio__eio3_decode_ws_binary("", 0, &p), -EINVAL);
  assert_int_equal(sio__eio3_decode_ws_binary("\x07", 1, &p), -EINVAL);
  assert_int_equal(sio__eio3_decode_ws_binary("4", 1, &p), -EINVAL); /* a digit, not a byte */
}

static void test_utf16_len(void **state) {
  assert_int_equal(sio__eio3_utf16_len("", 0), 0);
  assert_int_equal(sio__eio3_utf16_len("abc", 3), 3);
  assert_int_equal(sio__eio3_utf16_len("\xc3\xa9", 2), 1);
  assert_int_equal(sio__eio3_utf16_len("\xe2\x82\xac", 3), 1);
  assert_int_equal(sio__eio3_utf16_len("\xf0\x9f\x98\x80", 4), 2);
  assert_int_equal(sio__eio3_utf16_len("\xf4\x90\x80\x80", 4), -EINVAL); /* > U+10FFFF */
  assert_int_equal(sio__eio3_utf16_len("\xe2\x82", 2), -EINVAL);         /* truncated */
  assert_int_equal(sio__eio3_utf16_len("\x80", 1), -EINVAL);
}

/* A WebSocket text frame: a plain packet, or "b<type><base64>" from a client that asked for
 * base64 (engine.io-client 3.x with b64=1). */
static void test_ws_text(void **state) {
  sio__sbuf scratch = SIO__SBUF_INIT;
  sio__eio_packet p;
  assert_int_equal(sio__eio3_decode_text("2probe", 6, &scratch, &p), 0);
  assert_int_equal(p.type, 2);
  assert_int_equal(p.binary, 0);
  assert_int_equal(p.len, 5);
  assert_int_equal(sio__eio3_decode_text("b4AQID", 6, &scratch, &p), 0);
  assert_int_equal(p.type, 4);
  assert_int_equal(p.binary, 1);
  assert_int_equal(p.len, 3);
  assert_memory_equal(p.data, "\x01\x02\x03", 3);
  assert_int_equal(sio__eio3_decode_text("b4", 2, &scratch, &p), 0); /* empty binary */
  assert_int_equal(p.len, 0);
  assert_int_equal(sio__eio3_decode_text("b4A!==", 6, &scratch, &p), -EINVAL);
  assert_int_equal(sio__eio3_decode_text("b9AA==", 6, &scratch, &p), -EINVAL);
  assert_int_equal(sio__eio3_decode_text("b", 1, &scratch, &p), -EINVAL);
  assert_int_equal(sio__eio3_decode_text("", 0, &scratch, &p), -EINVAL);
  sio__sbuf_free(&scratch);
}

/* What a server queued as XHR2 records goes out as Node's text payload when nothing in it is
 * binary: encodePayload([{message "h€"}, {pong}]) is "3:4h€1:3". */
static void test_binary_to_text(void **state) {
  static const char recs[] = {0,          5,          (char)255, '4', 'h',       (char)0xe2,
                              (char)0x82, (char)0xac, 0,         1,   (char)255, '3'};
  sio__sbuf out = SIO__SBUF_INIT;
  assert_int_equal(sio__eio3_binary_to_text(recs, sizeof recs, &out), 0);
  assert_int_equal(out.len, 10);
  assert_memory_equal(out.data,
                      "3:4h\xe2\x82\xac"
                      "1:3",
                      10);
  sio__sbuf_reset(&out);
  assert_int_equal(sio__eio3_binary_to_text(bin_vec, sizeof bin_vec, &out), 0); /* with binary */
  assert_int_equal(sio__eio3_payload_count(out.data, out.len, 0), 2);
  sio__sbuf_reset(&out);
  assert_int_equal(sio__eio3_binary_to_text(recs, 5, &out), -EINVAL); /* cut short */
  sio__sbuf_free(&out);
}

static void test_alloc_failures(void **state) {
  for (int k = 0; k < 4; k++) {
    sio__eio3_payload_iter it;
    sio__eio_packet p;
    sio__alloc_fail_after(k);
    sio__eio3_payload_init(&it, "6:b4AQID6:b4BA==", 16, 0);
    while (sio__eio3_payload_next(&it, &p) == 1) {
    }
    sio__eio3_payload_free(&it);
    sio__sbuf out = SIO__SBUF_INIT;
    sio__eio_packet bin = {SIO__EIO_MESSAGE, 1, "\x01\x02", 2};
    sio__eio3_encode_record(&out, &bin, 0);
    sio__eio3_encode_record(&out, &bin, 1);
    sio__sbuf_free(&out);
    sio__alloc_fail_reset();
  }
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_payload),   cmocka_unit_test(test_binary_payload),
      cmocka_unit_test(test_malformed),      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_ws_binary),      cmocka_unit_test(test_utf16_len),
      cmocka_unit_test(test_ws_text),        cmocka_unit_test(test_binary_to_text),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
