/* Unit tests for src/cluster/mp_json and jsstr: JSON text <-> notepack msgpack as Node converts
 * (the checked Redis adapter payload of CLUSTER-PROTOCOLS.md section 1, binary attachments,
 * numbers, strings with bad UTF-8 or lone surrogates, JS object key order, Dates, undefined),
 * and the EVENT packet conversion both ways. Expected JSON was produced by Node 20's
 * JSON.stringify and Buffer#toString on the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cluster/mp_json.h"
#include "core/alloc.h"
#include "unit_hex.h"

/* The payload CLUSTER-PROTOCOLS.md section 1 checked against notepack: [uid, packet, opts]. */
static const char checked_json[] = "[\"abc123\",{\"type\":2,\"data\":[\"hello\",\"world\"],\"nsp\":"
                                   "\"/\"},{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}}]";
static const char checked_hex[] =
    "93 a6616263313233 83 a474797065 02 a464617461 92 a568656c6c6f a5776f726c64 a36e7370 a12f"
    " 83 a5726f6f6d73 91 a5726f6f6d31 a6657863657074 90 a5666c616773 80";

static void expect_mp(const char *json, const char *hex) {
  sio__sbuf b = SIO__SBUF_INIT;
  int rc = sio__mp_from_json(&b, json, strlen(json), NULL, 0);
  if (rc) fail_msg("from_json(%s) = %d", json, rc);
  expect_hex(&b, hex);
  sio__sbuf_free(&b);
}

static void expect_json_bins(const char *hex, const char *json, sio__mp_bins *bins) {
  uint8_t raw[512];
  size_t n = unhex(hex, raw);
  sio__sbuf b = SIO__SBUF_INIT;
  int rc = sio__mp_to_json(&b, raw, n, bins, 0);
  if (rc) fail_msg("to_json(%s) = %d", hex, rc);
  if (strcmp(b.data, json)) fail_msg("to_json(%s) = %s, want %s", hex, b.data, json);
  sio__sbuf_free(&b);
}
static void expect_json(const char *hex, const char *json) {
  expect_json_bins(hex, json, NULL);
}

static void test_checked_payload(void **state) {
  expect_mp(checked_json, checked_hex);
  expect_json(checked_hex, checked_json);
  /* the packet alone, as sio__mp_put_event writes it */
  sio__sbuf b = SIO__SBUF_INIT;
  const char *data = "[\"hello\",\"world\"]";
  assert_int_equal(sio__mp_put_event(&b, data, strlen(data), NULL, 0, "/", 1), 0);
  expect_hex(&b, "83 a474797065 02 a464617461 92 a568656c6c6f a5776f726c64 a36e7370 a12f");
  sio__sbuf_reset(&b);
  assert_int_equal(sio__mp_put_event(&b, data, strlen(data), NULL, 0, NULL, 0), 0);
  expect_hex(&b, "82 a474797065 02 a464617461 92 a568656c6c6f a5776f726c64");
  sio__sbuf_free(&b);
}

static void test_event_with_binary(void **state) {
  const char *data = "[\"file\",{\"name\":\"a\",\"body\":{\"_placeholder\":true,\"num\":1}},"
                     "{\"_placeholder\":true,\"num\":0}]";
  sio__mp_bin bins[2] = {{"\x01\x02\x03", 3}, {"", 0}};
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_put_event(&b, data, strlen(data), bins, 2, "/chat", 5), 0);
  const char *hex = "83 a474797065 02 a464617461 93 a466696c65 82 a46e616d65 a161 a4626f6479 c400"
                    " c403010203 a36e7370 a52f63686174";
  expect_hex(&b, hex);
  /* back: Node's deconstructPacket numbers the binaries depth first */
  sio__mp_reader r;
  sio__mp_packet p;
  assert_int_equal(sio__mp_validate(b.data, b.len, 0), 0);
  sio__mp_reader_init(&r, b.data, b.len);
  assert_int_equal(sio__mp_get_packet(&r, &p), 0);
  assert_int_equal(p.type, 2);
  assert_int_equal(p.id, -1);
  assert_string_equal(p.nsp.data, "/chat");
  assert_string_equal(p.data.data, "[\"file\",{\"name\":\"a\",\"body\":{\"_placeholder\":true,"
                                   "\"num\":0}},{\"_placeholder\":true,\"num\":1}]");
  assert_int_equal(p.bins.n, 2);
  assert_int_equal(p.bins.v[0].len, 0);
  assert_int_equal(p.bins.v[1].len, 3);
  assert_memory_equal(p.bins.v[1].data, "\x01\x02\x03", 3);
  sio__mp_packet_free(&p);
  /* a placeholder naming no attachment is refused; without bins it is a plain object */
  sio__sbuf_reset(&b);
  const char *bad = "[{\"_placeholder\":true,\"num\":2}]";
  assert_int_equal(sio__mp_put_event(&b, bad, strlen(bad), bins, 2, "/", 1), -EINVAL);
  const char *frac = "[{\"_placeholder\":true,\"num\":0.5}]";
  assert_int_equal(sio__mp_from_json(&b, frac, strlen(frac), bins, 2), -EINVAL);
  sio__sbuf_free(&b);
  expect_mp("[{\"_placeholder\":true,\"num\":0}]",
            "91 82 ac5f706c616365686f6c646572 c3 a36e756d 00");
}

static void test_packet_fields(void **state) {
  const struct {
    const char *hex;
    int rc;
    const char *nsp;
  } cases[] = {
      {"82 a474797065 02 a464617461 90", 0, "/"}, /* no nsp: "/" */
      {"83 a474797065 02 a464617461 90 a26964 07", 0, "/"},
      {"81 a474797065 02", -EBADMSG, NULL},               /* no data */
      {"82 a464617461 90 a36e7370 a12f", -EBADMSG, NULL}, /* no type */
      {"82 a474797065 a132 a464617461 90", -EBADMSG, NULL},
      {"83 a474797065 02 a464617461 90 a36e7370 01", -EBADMSG, NULL},
      {"82 a474797065 cb3ff8000000000000 a464617461 90", -EBADMSG, NULL},
      {"91 02", -EBADMSG, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t raw[64];
    size_t n = unhex(cases[i].hex, raw);
    sio__mp_reader r;
    sio__mp_packet p;
    sio__mp_reader_init(&r, raw, n);
    int rc = sio__mp_get_packet(&r, &p);
    if (rc != cases[i].rc) fail_msg("case %zu: %d", i, rc);
    if (!rc) {
      assert_string_equal(p.nsp.data, cases[i].nsp);
      assert_int_equal(p.id, i == 1 ? 7 : -1);
      sio__mp_packet_free(&p);
    }
  }
}

static void test_numbers(void **state) {
  expect_mp("[1.0,-0,1e2,0.1,1e400,-1e400,12345678901234567890]",
            "97 01 00 64 cb3fb999999999999a cb7ff0000000000000 cbfff0000000000000"
            " cfab54a98ceb1f0800");
  expect_json("94 cfffffffffffffffff d38000000000000000 cb444b1ae4d6e2ef50 ca3dcccccd",
              "[18446744073709552000,-9223372036854776000,1e+21,0.10000000149011612]");
  expect_json("93 cb7ff8000000000000 cb8000000000000000 d0ff", "[null,0,-1]");
  /* 1e21 is an integer to JS: notepack writes its words modulo 2^32, and Node reads back
   * 3875820019684212700 (it does the same) */
  expect_mp("1e21", "cf35c9adc5dea00000");
  expect_json("cf35c9adc5dea00000", "3875820019684212700");
}

static void test_strings(void **state) {
  /* bad UTF-8 as Node's decoder replaces it (one U+FFFD per maximal subpart) */
  expect_json("a2 e282", "\"\xef\xbf\xbd\"");
  expect_json("a3 e28241", "\"\xef\xbf\xbd"
                           "A\"");
  expect_json("a2 c080", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
  expect_json("a3 f09f98", "\"\xef\xbf\xbd\"");
  expect_json("a3 eda080", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
  expect_json("a3 e08041", "\"\xef\xbf\xbd\xef\xbf\xbd"
                           "A\"");
  expect_json("a5 011f225c7f", "\"\\u0001\\u001f\\\"\\\\\x7f\"");
  /* escapes read as JS reads them, then notepack's string writer */
  expect_mp("\"\\u00e9\\n\\/\"", "a4 c3a90a2f");
  expect_mp("\"\\ud83d\\udc26\"", "a4 f09f90a6");
  /* lone surrogates in short strings: notepack's utf8Write pairs them with the next unit */
  expect_mp("\"\\ud800\"", "a4 f0908080");
  expect_mp("\"\\ud800a\"", "a4 f09081a1");
  expect_mp("\"\\udc00\\ud800\"", "a4 f0908080");
  /* above 32 units Buffer's writer takes over: U+FFFD */
  expect_mp("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\ud800\"",
            "d923 6161616161616161616161616161616161616161616161616161616161616161 efbfbd");
}

static void test_object_order(void **state) {
  /* JSON.parse: index keys first, last value in the first place, __proto__ kept */
  expect_mp("{\"b\":1,\"1\":2,\"__proto__\":3,\"0\":4,\"b\":5}",
            "84 a130 04 a131 02 a162 05 a95f5f70726f746f5f5f 03");
  /* notepack's decoder assigns: __proto__ is no own key, 4294967295 is no index */
  expect_json("89 a162 01 a131 02 a161 03 a130 04 a162 05 a95f5f70726f746f5f5f 06"
              " aa34323934393637323935 07 aa34323934393637323934 08 a23031 09",
              "{\"0\":4,\"1\":2,\"4294967294\":8,\"b\":5,\"a\":3,\"4294967295\":7,\"01\":9}");
  /* keys of other types become JS property keys */
  expect_json("84 01 02 c0 03 c3 04 cb3ff8000000000000 05",
              "{\"1\":2,\"null\":3,\"true\":4,\"1.5\":5}");
  uint8_t raw[8];
  size_t n = unhex("81 90 01", raw);
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_to_json(&b, raw, n, NULL, 0), -EBADMSG);
  sio__sbuf_free(&b);
}

static void test_binaries_and_extensions(void **state) {
  sio__mp_bins bins = {0};
  expect_json("c403010203", "{\"type\":\"Buffer\",\"data\":[1,2,3]}");
  expect_json_bins("92 c403010203 c400",
                   "[{\"_placeholder\":true,\"num\":0},"
                   "{\"_placeholder\":true,\"num\":1}]",
                   &bins);
  assert_int_equal(bins.n, 2);
  sio__mp_bins_free(&bins);
  expect_json("c7057f68656c6c6f", "[127,{\"type\":\"Buffer\",\"data\":[104,101,108,108,111]}]");
  expect_json("c70300010203", "{}"); /* notepack 2's ArrayBuffer */
  expect_json_bins("c70300010203", "{\"_placeholder\":true,\"num\":0}", &bins);
  sio__mp_bins_free(&bins);
  /* notepack 2's undefined: null in arrays, left out of objects, "null" alone */
  expect_json("d40000", "null");
  expect_json("92 d40000 01", "[null,1]");
  expect_json("82 a161 d40000 a162 01", "{\"b\":1}");
  expect_json("82 a161 01 a162 d40000", "{\"a\":1}");
  expect_json("81 a161 d40000", "{}");
  /* Dates, as JSON.stringify writes them */
  expect_json("d6ff39457980", "\"2000-06-13T00:00:00.000Z\"");
  expect_json("d700ffffff9c80e28800", "\"1956-06-17T00:00:00.000Z\"");
  expect_json("d700000004e111a31efe", "\"2140-01-01T13:14:15.678Z\"");
  const double ms[] = {-62198755200000.0, 253402300800000.0, 8.64e15, 8.64e15 + 1, -1};
  const char *iso[] = {"\"-000001-01-01T00:00:00.000Z\"", "\"+010000-01-01T00:00:00.000Z\"",
                       "\"+275760-09-13T00:00:00.000Z\"", "null", "\"1969-12-31T23:59:59.999Z\""};
  for (int i = 0; i < 5; i++) {
    sio__sbuf b = SIO__SBUF_INIT;
    assert_int_equal(sio__mp_json_date(&b, ms[i]), 0);
    assert_string_equal(b.data, iso[i]);
    sio__sbuf_free(&b);
  }
}

/* The classic adapter's JSON messages: a Buffer as Buffer#toJSON; the seam's arrays. */
static void test_json_buffers(void **state) {
  const unsigned char a[] = {0, 255}, b[] = {7};
  sio__mp_bin bins[] = {{a, 2}, {b, 1}};
  const char *in = "[\"ev\",{\"_placeholder\":true,\"num\":1},{\"k\":{\"_placeholder\":true,"
                   "\"num\":0},\"n\":1.50}]";
  sio__sbuf out = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_json_buffers(&out, in, strlen(in), bins, 2), 0);
  sio__sbuf_appendc(&out, '\0');
  assert_string_equal(out.data, "[\"ev\",{\"type\":\"Buffer\",\"data\":[7]},{\"k\":{\"type\":"
                                "\"Buffer\",\"data\":[0,255]},\"n\":1.5}]");
  sio__sbuf_reset(&out);
  const char *missing = "[{\"_placeholder\":true,\"num\":2}]";
  assert_int_equal(sio__mp_json_buffers(&out, missing, strlen(missing), bins, 2), -EINVAL);
  assert_int_equal(sio__mp_json_buffers(&out, "[1,", 3, bins, 2), -EINVAL);
  sio__sbuf_free(&out);
  sio__mp_bins list = {0};
  const void *att[] = {a, b};
  const size_t att_len[] = {2, 1};
  assert_int_equal(sio__mp_bins_push_all(&list, att, att_len, 2), 0);
  const void **v;
  size_t *len;
  assert_int_equal(sio__mp_bins_arrays(&list, &v, &len), 0);
  assert_ptr_equal(v[1], b);
  assert_int_equal(len[0], 2);
  sio__free(v), sio__free(len);
  sio__mp_bins_free(&list);
  assert_int_equal(sio__mp_bins_arrays(&list, &v, &len), 0);
  assert_null(v);
  assert_null(len);
}

static void test_round_trips(void **state) {
  const char *texts[] = {
      "[\"ev\",1,{\"a\":[true]}]",
      "{\"x\":[null,false,-1.5,\"\\u0000\\\"\"],\"y\":{},\"z\":[[[]]]}",
      "[0.1,1.5e-300,-9007199254740991,\"\xe2\x82\xac\xf0\x9f\x98\x80\"]",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    sio__sbuf mp = SIO__SBUF_INIT, js = SIO__SBUF_INIT;
    assert_int_equal(sio__mp_from_json(&mp, texts[i], strlen(texts[i]), NULL, 0), 0);
    assert_int_equal(sio__mp_to_json(&js, mp.data, mp.len, NULL, 0), 0);
    assert_string_equal(js.data, texts[i]);
    sio__sbuf_free(&mp);
    sio__sbuf_free(&js);
  }
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_from_json(&b, "[1,]", 4, NULL, 0), -EINVAL);
  sio__sbuf_free(&b);
}

static void test_alloc_failures(void **state) {
  const char *data =
      "[\"ev\",{\"b\":1,\"a\":[\"x\",{\"_placeholder\":true,\"num\":0}]},\"\\ud800\"]";
  sio__mp_bin bin = {"\x01", 1};
  for (long k = 0; k < 60; k++) {
    sio__sbuf mp = SIO__SBUF_INIT;
    sio__alloc_fail_after(k);
    int rc = sio__mp_put_event(&mp, data, strlen(data), &bin, 1, "/", 1);
    sio__alloc_fail_reset();
    assert_true(rc == 0 || rc == -ENOMEM);
    if (!rc) {
      sio__mp_reader r;
      sio__mp_packet p;
      sio__mp_reader_init(&r, mp.data, mp.len);
      sio__alloc_fail_after(k);
      rc = sio__mp_get_packet(&r, &p);
      sio__alloc_fail_reset();
      assert_true(rc == 0 || rc == -ENOMEM);
      if (!rc) sio__mp_packet_free(&p);
    }
    sio__sbuf_free(&mp);
    if (sio__alloc_live()) fail_msg("leak after failing allocation %ld", k);
  }
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checked_payload),
      cmocka_unit_test(test_event_with_binary),
      cmocka_unit_test(test_packet_fields),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_object_order),
      cmocka_unit_test(test_binaries_and_extensions),
      cmocka_unit_test(test_json_buffers),
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
