/* Unit tests for src/cluster/msgpack: every encoding notepack.io 3.0.1 chooses, as byte vectors
 * (notepack's own test vectors where 3.0 kept them, its 3.0.0 release notes for Date and
 * undefined, the JS rules for numbers past 2^53), and the strict, bounded reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/msgpack.h"
#include "core/alloc.h"
#include "unit_hex.h"

static void expect_number(double v, const char *hex) {
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_put_number(&b, v), 0);
  expect_hex(&b, hex);
  /* and it reads back as the same JS number (all but the wrapped 64-bit ones) */
  sio__mp_reader r;
  sio__mp_item it;
  sio__mp_reader_init(&r, b.data, b.len);
  assert_int_equal(sio__mp_next(&r, &it), 0);
  assert_int_equal(sio__mp_left(&r), 0);
  double back = sio__mp_number(&it);
  if (fabs(v) < 9.2e18 && !isnan(v)) assert_true(back == v);
  sio__sbuf_free(&b);
}

static void test_integers(void **state) {
  expect_number(0, "00");
  expect_number(-0.0, "00");
  expect_number(0x44, "44");
  expect_number(0x7f, "7f");
  expect_number(-1, "ff");
  expect_number(-0x10, "f0");
  expect_number(-0x20, "e0");
  expect_number(128, "cc80");
  expect_number(255, "ccff");
  expect_number(256, "cd0100");
  expect_number(65535, "cdffff");
  expect_number(65536, "ce00010000");
  expect_number(4294967295.0, "ceffffffff");
  expect_number(4294967296.0, "cf0000000100000000");
  expect_number(9007199254740991.0, "cf001fffffffffffff");
  expect_number(9223372036854775808.0, "cf8000000000000000");
  expect_number(18446744073709551616.0, "cf0000000000000000"); /* 2^64: `>> 0` wraps */
  expect_number(-33, "d0df");
  expect_number(-128, "d080");
  expect_number(-129, "d1ff7f");
  expect_number(-32768, "d18000");
  expect_number(-32769, "d2ffff7fff");
  expect_number(-2147483648.0, "d280000000");
  expect_number(-2147483649.0, "d3ffffffff7fffffff");
  expect_number(-4294967297.0, "d3fffffffeffffffff");
  expect_number(-65437650001231.0, "d3ffffc47c1c1de2b1");
  expect_number(-1111111111111111.0, "d3fffc0d7348ea8e39");
  expect_number(-1532678092380345.0, "d3fffa8e0992bfa747");
  expect_number(-4503599627370496.0, "d3fff0000000000000");
  expect_number(-9007199254740991.0, "d3ffe0000000000001");
  expect_number(-9223372036854775808.0, "d38000000000000000");
}

static void test_floats(void **state) {
  expect_number(1.1, "cb3ff199999999999a");
  expect_number(1234567891234567.5, "cb43118b54f26ebc1e");
  expect_number(0.5, "cb3fe0000000000000"); /* never float 32 */
  expect_number(INFINITY, "cb7ff0000000000000");
  expect_number(-INFINITY, "cbfff0000000000000");
  expect_number(NAN, "cb7ff8000000000000");
  expect_number(-NAN, "cb7ff8000000000000");
}

static void test_large_integral_doubles(void **state) {
  /* 1e20 is integral: notepack writes uint 64 of its words modulo 2^32, not a float. */
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_put_number(&b, 1e20), 0);
  /* 1e20 = 0x56bc75e2d63100000: hi = 0x56bc75e2d (mod 2^32 = 0x6bc75e2d), lo = 0x63100000 */
  expect_hex(&b, "cf6bc75e2d63100000");
  sio__sbuf_free(&b);
}

static void put_str_n(sio__sbuf *b, char c, size_t n) {
  char *s = malloc(n);
  memset(s, c, n);
  assert_int_equal(sio__mp_put_str(b, s, n), 0);
  free(s);
}

static void test_strings_and_bins(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  sio__mp_put_str(&b, "", 0);
  sio__mp_put_str(&b, "hello", 5);
  sio__mp_put_str(&b, "\xce\xb1", 2);
  sio__mp_put_str(&b, "\xe4\xba\x9c", 3);
  sio__mp_put_str(&b, "\xf0\x9f\x90\xa6", 4);
  expect_hex(&b, "a0a568656c6c6fa2ceb1a3e4ba9ca4f09f90a6");
  const size_t lens[] = {31, 32, 255, 256, 65535, 65536};
  const char *heads[] = {"bf", "d920", "d9ff", "da0100", "daffff", "db00010000"};
  for (int i = 0; i < 6; i++) {
    sio__sbuf_reset(&b);
    put_str_n(&b, 'a', lens[i]);
    expect_hex_prefix(&b, heads[i], lens[i]);
  }
  sio__sbuf_reset(&b);
  sio__mp_put_bin(&b, "", 0);
  sio__mp_put_bin(&b, "\0", 1);
  sio__mp_put_bin(&b, "hello", 5);
  expect_hex(&b, "c400c40100c40568656c6c6f");
  char *big = calloc(1, 65536);
  const size_t blens[] = {255, 256, 65535, 65536};
  const char *bheads[] = {"c4ff", "c50100", "c5ffff", "c600010000"};
  for (int i = 0; i < 4; i++) {
    sio__sbuf_reset(&b);
    sio__mp_put_bin(&b, big, blens[i]);
    expect_hex_prefix(&b, bheads[i], blens[i]);
  }
  free(big);
  sio__sbuf_free(&b);
}

static void test_containers_and_constants(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  sio__mp_put_array(&b, 0);
  sio__mp_put_array(&b, 15);
  sio__mp_put_array(&b, 16);
  sio__mp_put_array(&b, 65535);
  sio__mp_put_array(&b, 65536);
  expect_hex(&b, "909fdc0010dcffffdd00010000");
  sio__sbuf_reset(&b);
  sio__mp_put_map(&b, 0);
  sio__mp_put_map(&b, 3);
  sio__mp_put_map(&b, 16);
  sio__mp_put_map(&b, 65536);
  expect_hex(&b, "8083de0010df00010000");
  sio__sbuf_reset(&b);
  sio__mp_put_nil(&b);
  sio__mp_put_bool(&b, 0);
  sio__mp_put_bool(&b, 1);
  expect_hex(&b, "c0c2c3");
  sio__sbuf_free(&b);
}

static void test_dates(void **state) {
  /* the bytes notepack.io 3.0.1 writes for these Dates (node_modules, Node 20) */
  const double ms[] = {960854400000.0,    1,      1.5, -1, 17179869183999.0, 17179869184000.0,
                       -62198755200000.0, 8.64e15};
  const char *hex[] = {"d6ff39457980",
                       "d7ff003d090000000000",
                       "d7ff003d090000000000", /* a Date's time is whole milliseconds */
                       "c70cff3b8b87c0ffffffffffffffff",
                       "d7ffee2e1f03ffffffff",
                       "c70cff000000000000000400000000",
                       "c70cff00000000fffffff184aa5080",
                       "c70cff00000000000007dba8218000"};
  for (int i = 0; i < 8; i++) {
    sio__sbuf b = SIO__SBUF_INIT;
    assert_int_equal(sio__mp_put_date(&b, ms[i]), 0);
    expect_hex(&b, hex[i]);
    sio__sbuf_free(&b);
  }
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_put_date(&b, NAN), -EINVAL);
  sio__sbuf_free(&b);
  /* reading: those, and notepack 2's fixext 8 type 0 */
  const char *vectors[] = {
      "d6ff39457980",         "d7ff003d090000000000", "c70cff3b8b87c0ffffffffffffffff",
      "d700ffffff9c80e28800", "d700000004e111a31efe", "c70cff00000000fffffff184aa5080"};
  const double want[] = {960854400000.0,   1, -1, -427334400000.0, 5364710055678.0,
                         -62198755200000.0};
  for (int i = 0; i < 6; i++) {
    uint8_t raw[32];
    double got;
    size_t n = unhex(vectors[i], raw);
    sio__mp_reader r;
    sio__mp_item it;
    sio__mp_reader_init(&r, raw, n);
    assert_int_equal(sio__mp_next(&r, &it), 0);
    assert_int_equal(sio__mp_ext_date(&it, &got), 0);
    assert_true(fabs(got - want[i]) < 1e-6);
  }
  /* notepack reads 12 bytes after c7 .. ff whatever the length byte says; fixext 16 type -1 and
   * ext 16 type -1 are no Dates */
  uint8_t raw[32];
  double got;
  sio__mp_reader r;
  sio__mp_item it;
  size_t n = unhex("c705ff000000000000000000000001", raw);
  assert_int_equal(sio__mp_validate(raw, n, 0), 0);
  sio__mp_reader_init(&r, raw, n);
  assert_int_equal(sio__mp_next(&r, &it), 0);
  assert_int_equal(sio__mp_ext_date(&it, &got), 0);
  assert_true(got == 1000);
  n = unhex("c8000cff000000000000000000000001", raw);
  sio__mp_reader_init(&r, raw, n);
  assert_int_equal(sio__mp_next(&r, &it), 0);
  assert_int_equal(sio__mp_ext_date(&it, &got), -EINVAL);
}

static void expect_read(const char *hex, sio__mp_type type, double num) {
  uint8_t raw[64];
  size_t n = unhex(hex, raw);
  sio__mp_reader r;
  sio__mp_item it;
  sio__mp_reader_init(&r, raw, n);
  assert_int_equal(sio__mp_next(&r, &it), 0);
  assert_int_equal(it.type, type);
  if (type == SIO__MP_UINT || type == SIO__MP_INT || type == SIO__MP_FLOAT)
    assert_true(sio__mp_number(&it) == num);
}

static void test_reader_forms(void **state) {
  /* notepack's decode-only vectors: positive values in signed forms, float 32 */
  expect_read("d07f", SIO__MP_INT, 127);
  expect_read("d0ff", SIO__MP_INT, -1);
  expect_read("d10080", SIO__MP_INT, 128);
  expect_read("d1ffff", SIO__MP_INT, -1);
  expect_read("d27fffffff", SIO__MP_INT, 2147483647);
  expect_read("d30020000000000000", SIO__MP_INT, 9007199254740992.0);
  expect_read("d3ffffffffffffffff", SIO__MP_INT, -1);
  expect_read("ca3f000000", SIO__MP_FLOAT, 0.5);
  expect_read("cfffffffffffffffff", SIO__MP_UINT, 18446744073709551616.0);
  expect_read("c0", SIO__MP_NIL, 0);
  expect_read("d47f61", SIO__MP_EXT, 0);
  expect_read("d880"
              "00000000000000000000000000000000",
              SIO__MP_EXT, 0);
}

static int validate_hex(const char *hex, int depth) {
  uint8_t raw[256];
  size_t n = unhex(hex, raw);
  return sio__mp_validate(raw, n, depth);
}

static void test_strict_and_bounded(void **state) {
  assert_int_equal(validate_hex("93a6616263313233c0c3", 0), 0);
  assert_int_equal(validate_hex("", 0), -EBADMSG);
  assert_int_equal(validate_hex("c1", 0), -EBADMSG);           /* never used */
  assert_int_equal(validate_hex("c0c0", 0), -EBADMSG);         /* trailing byte */
  assert_int_equal(validate_hex("a568656c6c", 0), -EBADMSG);   /* str past the end */
  assert_int_equal(validate_hex("c4ff00", 0), -EBADMSG);       /* bin past the end */
  assert_int_equal(validate_hex("ddffffffff", 0), -EBADMSG);   /* 4G elements in 0 bytes */
  assert_int_equal(validate_hex("df7fffffff00", 0), -EBADMSG); /* map counts pairs twice */
  assert_int_equal(validate_hex("8100", 0), -EBADMSG);         /* a key without its value */
  assert_int_equal(validate_hex("cd01", 0), -EBADMSG);         /* truncated uint 16 */
  assert_int_equal(validate_hex("d6ff0000", 0), -EBADMSG);     /* truncated fixext 4 */
  assert_int_equal(validate_hex("c7", 0), -EBADMSG);
  assert_int_equal(validate_hex("9191919190", 5), 0);
  assert_int_equal(validate_hex("919191919190", 5), -EBADMSG); /* 6 deep */
  assert_int_equal(validate_hex("9190", 1), -EBADMSG);
  /* depth is not spent by siblings */
  assert_int_equal(validate_hex("94909090819090", 3), 0);
  /* a million nested arrays are refused without recursion, at the default depth */
  size_t n = 1000000;
  uint8_t *deep = malloc(n);
  memset(deep, 0x91, n - 1);
  deep[n - 1] = 0x90;
  assert_int_equal(sio__mp_validate(deep, n, 0), -EBADMSG);
  sio__mp_reader r;
  sio__mp_reader_init(&r, deep, n);
  assert_int_equal(sio__mp_skip(&r), 0); /* skip walks it with a counter */
  assert_int_equal(sio__mp_left(&r), 0);
  free(deep);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_large_integral_doubles),
      cmocka_unit_test(test_strings_and_bins),
      cmocka_unit_test(test_containers_and_constants),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_reader_forms),
      cmocka_unit_test(test_strict_and_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
