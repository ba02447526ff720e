/* Unit tests for src/core/json: strict validation (every RFC 8259 rule, UTF-8, depth), array
 * splitting with byte-exact slices, accessors, key lookup, the JSON.stringify-style escaper and
 * the jansson conversions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"

static int valid(const char *s) {
  return sio__json_validate(s, strlen(s), 0, NULL) == 0;
}

static void test_valid_texts(void **state) {
  const char *ok[] = {
      "0",
      "-0",
      "1",
      "-1",
      "0.1",
      "1e20",
      "1E+2",
      "1e-7",
      "-0.0e0",
      "12345678901234567890",
      "true",
      "false",
      "null",
      "\"\"",
      "\"a\"",
      "\"\\u0000\"",
      "\"\\ud800\"",
      "\"\\udc00x\"",
      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
      "\"\\uABCD\\uabcd\"",
      "[]",
      "{}",
      " [ 1 , 2 ] ",
      "{\"a\":1,\"a\":2}",
      "[[[[]]]]",
      "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
      "{\"\":{\"x\":[null,true,{}]}}",
      "\t\r\n1\t\r\n",
      "\"\x7f\"",
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    if (!valid(ok[i])) fail_msg("should be valid: %s", ok[i]);
  }
  assert_int_equal(sio__json_validate("\"\\u0000\"", 8, 0, NULL), 0);
  assert_int_equal(sio__json_validate("\"a\0b\"", 5, 0, NULL), -EINVAL); /* raw NUL */
}

static void test_invalid_texts(void **state) {
  const char *bad[] = {
      "",
      " ",
      "01",
      "-",
      "+1",
      "1.",
      ".1",
      "1e",
      "1e+",
      "0x1",
      "NaN",
      "Infinity",
      "-Infinity",
      "tru",
      "truex",
      "nul",
      "[",
      "]",
      "[1,]",
      "[,1]",
      "[1 2]",
      "{",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{a:1}",
      "{'a':1}",
      "'a'",
      "\"abc",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u12G4\"",
      "\"\t\"",
      "\"\n\"",
      "1 2",
      "[1]]",
      "{}x",
      "\"\x80\"",
      "\"\xc0\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xe2\x82\"",
      "\"\xff\"",
      "[1,,2]",
      "{\"a\"::1}",
      "\"\\\"",
      "-01",
      "00",
      "1.e5",
      "- 1",
      "[-]",
      "\xef\xbb\xbf"
      "1",
      "{\"a\":1 \"b\":2}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (valid(bad[i])) fail_msg("should be invalid: %s", bad[i]);
  }
}

static void test_depth_limit(void **state) {
  char buf[2100];
  for (int d = 1; d <= 1000; d++) {
    buf[d - 1] = '[';
    buf[2000 - d] = ']';
  }
  /* depth 1000 */
  assert_int_equal(sio__json_validate(buf, 2000, 1000, NULL), 0);
  assert_int_equal(sio__json_validate(buf, 2000, 999, NULL), -EINVAL);
  assert_int_equal(sio__json_validate(buf, 2000, 0, NULL), -EINVAL); /* default 128 */
  assert_int_equal(sio__json_validate(buf + 872, 256, 0, NULL), 0);  /* 128 deep */
  assert_int_equal(sio__json_validate(buf + 871, 258, 0, NULL), -EINVAL);
  /* objects count too */
  assert_int_equal(sio__json_validate("{\"a\":{\"b\":[1]}}", 15, 3, NULL), 0);
  assert_int_equal(sio__json_validate("{\"a\":{\"b\":[1]}}", 15, 2, NULL), -EINVAL);
}

static void test_split_passthrough(void **state) {
  const char *t =
      "[\"message\",12345678901234567890,1e20,0.1,\"\\u0000\",\"\\ud800\", {\"3\":[true]} ,null]";
  sio__json_slice sl[16];
  size_t count;
  assert_int_equal(sio__json_split_array(t, strlen(t), 0, sl, 16, &count), 0);
  assert_int_equal(count, 8);
  const char *want[] = {"\"message\"", "12345678901234567890", "1e20",           "0.1",
                        "\"\\u0000\"", "\"\\ud800\"",          "{\"3\":[true]}", "null"};
  sio__json_type types[] = {SIO__JSON_STRING, SIO__JSON_NUMBER, SIO__JSON_NUMBER, SIO__JSON_NUMBER,
                            SIO__JSON_STRING, SIO__JSON_STRING, SIO__JSON_OBJECT, SIO__JSON_NULL};
  for (size_t i = 0; i < count; i++) {
    assert_int_equal(sl[i].len, strlen(want[i]));
    assert_memory_equal(t + sl[i].off, want[i], sl[i].len);
    assert_int_equal(sl[i].type, types[i]);
  }
  /* max smaller than count */
  assert_int_equal(sio__json_split_array(t, strlen(t), 0, sl, 2, &count), 0);
  assert_int_equal(count, 8);
  assert_int_equal(sio__json_split_array("[]", 2, 0, sl, 16, &count), 0);
  assert_int_equal(count, 0);
  assert_int_equal(sio__json_split_array("{}", 2, 0, sl, 16, &count), -EINVAL);
  assert_int_equal(sio__json_split_array("[1,]", 4, 0, sl, 16, &count), -EINVAL);
  assert_int_equal(sio__json_split_array("[1] x", 5, 0, sl, 16, &count), -EINVAL);
  assert_int_equal(sio__json_split_array("[[1]]", 5, 1, sl, 16, &count), -EINVAL);
  assert_int_equal(sio__json_split_array("[[1]]", 5, 2, sl, 16, &count), 0);
}

static void test_iter_and_lookup(void **state) {
  const char *o = "{ \"a\" : [1, \"x]\"] , \"b\\u0022\":\"v\",\"c\":{\"d\":2},\"a\":true }";
  sio__json_slice v;
  assert_int_equal(sio__json_validate(o, strlen(o), 0, NULL), 0);
  assert_int_equal(sio__json_object_get(o, strlen(o), "a", 1, &v), 1);
  assert_int_equal(v.type, SIO__JSON_TRUE); /* last duplicate wins */
  assert_int_equal(sio__json_object_get(o, strlen(o), "b\"", 2, &v), 1);
  assert_memory_equal(o + v.off, "\"v\"", 3);
  assert_int_equal(sio__json_object_get(o, strlen(o), "c", 1, &v), 1);
  assert_int_equal(v.type, SIO__JSON_OBJECT);
  assert_int_equal(v.len, 7);
  assert_int_equal(sio__json_object_get(o, strlen(o), "d", 1, &v), 0);
  assert_int_equal(sio__json_object_get(o, strlen(o), "", 0, &v), 0);

  sio__json_iter it;
  sio__json_slice k, e;
  int n = 0;
  sio__json_iter_init(&it, o, strlen(o));
  while (sio__json_iter_next_member(&it, &k, &e)) n++;
  assert_int_equal(n, 4);

  const char *a = "[ \"[\\\"]\" , [ ] , -1.5e3 ]";
  sio__json_iter_init(&it, a, strlen(a));
  assert_int_equal(sio__json_iter_next(&it, &e), 1);
  assert_int_equal(e.len, 6);
  assert_int_equal(sio__json_iter_next(&it, &e), 1);
  assert_int_equal(e.type, SIO__JSON_ARRAY);
  assert_int_equal(e.len, 3);
  assert_int_equal(sio__json_iter_next(&it, &e), 1);
  assert_memory_equal(a + e.off, "-1.5e3", 6);
  assert_int_equal(e.len, 6);
  assert_int_equal(sio__json_iter_next(&it, &e), 0);
  sio__json_iter_init(&it, "[]", 2);
  assert_int_equal(sio__json_iter_next(&it, &e), 0);
}

static void check_unescape(const char *json, const char *want, size_t wlen) {
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__json_string(json, strlen(json), &b), 0);
  assert_int_equal(b.len, wlen);
  if (wlen) assert_memory_equal(b.data, want, wlen);
  assert_int_equal(sio__json_string_eq(json, strlen(json), want, wlen), 1);
  sio__sbuf_free(&b);
}

static void test_unescape(void **state) {
  check_unescape("\"\"", "", 0);
  check_unescape("\"abc\"", "abc", 3);
  check_unescape("\"a\\u0000b\"", "a\0b", 3);
  check_unescape("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
  check_unescape("\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5);
  check_unescape("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
  check_unescape("\"\\ud800\"", "\xef\xbf\xbd", 3);
  check_unescape("\"\\udc00\\ud800x\"", "\xef\xbf\xbd\xef\xbf\xbdx", 7);
  check_unescape("\"\\ud800\\u0041\"",
                 "\xef\xbf\xbd"
                 "A",
                 4);
  assert_int_equal(sio__json_string_eq("\"ab\"", 4, "abc", 3), 0);
  assert_int_equal(sio__json_string_eq("\"abc\"", 5, "ab", 2), 0);
}

static void test_numbers(void **state) {
  double d;
  int64_t i;
  assert_int_equal(sio__json_number("0.1", 3, &d), 0);
  assert_true(d == 0.1);
  assert_int_equal(sio__json_number("1e20", 4, &d), 0);
  assert_true(d == 1e20);
  assert_int_equal(sio__json_number("-2.5E-3", 7, &d), 0);
  assert_true(d == -2.5e-3);
  assert_int_equal(sio__json_int64("9223372036854775807", 19, &i), 0);
  assert_true(i == INT64_MAX);
  assert_int_equal(sio__json_int64("-9223372036854775808", 20, &i), 0);
  assert_true(i == INT64_MIN);
  assert_int_equal(sio__json_int64("9223372036854775808", 19, &i), -ERANGE);
  assert_int_equal(sio__json_int64("12345678901234567890", 20, &i), -ERANGE);
  assert_int_equal(sio__json_int64("1.0", 3, &i), -ERANGE);
  assert_int_equal(sio__json_int64("1e2", 3, &i), -ERANGE);
  char longnum[200];
  memset(longnum, '9', sizeof longnum);
  assert_int_equal(sio__json_number(longnum, sizeof longnum, &d), 0);
  assert_true(d > 1e199);
}

static void check_escape(const char *in, size_t n, const char *want) {
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__json_escape(&b, in, n), 0);
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  assert_int_equal(sio__json_validate(b.data, b.len, 0, NULL), 0);
  sio__sbuf_free(&b);
}

static void test_escape(void **state) {
  check_escape("", 0, "\"\"");
  check_escape("hello", 5, "\"hello\"");
  check_escape("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
  check_escape("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
  check_escape("\x01\x1f\0", 3, "\"\\u0001\\u001f\\u0000\"");
  check_escape("\x7f\xc3\xa9\xf0\x9f\x98\x80", 7, "\"\x7f\xc3\xa9\xf0\x9f\x98\x80\"");
  check_escape("a\xffz\xc3", 4, "\"a\xef\xbf\xbdz\xef\xbf\xbd\"");
  check_escape("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void check_roundtrip(const char *in, const char *want) {
  json_t *v = sio__json_to_jansson(in, strlen(in));
  assert_non_null(v);
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__json_dump_jansson(&b, v), 0);
  if (b.len != strlen(want) || memcmp(b.data, want, b.len))
    fail_msg("%s -> %.*s, want %s", in, (int)b.len, b.data, want);
  sio__sbuf_free(&b);
  json_decref(v);
}

static void test_jansson(void **state) {
  check_roundtrip("{\"z\":1,\"a\":[true,false,null],\"m\":\"x\\u0000y\"}",
                  "{\"z\":1,\"a\":[true,false,null],\"m\":\"x\\u0000y\"}");
  check_roundtrip(
      "[0.1, 1e20, 1e21, 1.5e-7, 0.000001, -2.5, 12345678901234567890, 100]",
      "[0.1,100000000000000000000,1e+21,1.5e-7,0.000001,-2.5,12345678901234567000,100]");
  check_roundtrip("[1.0, -0.0, 123.456, 5e-324]", "[1,0,123.456,5e-324]");
  check_roundtrip("\"\\ud800\"", "\"\xef\xbf\xbd\"");
  check_roundtrip("{\"a\":1,\"a\":2}", "{\"a\":2}");
  json_t *v = sio__json_to_jansson("\"a\\u0000b\"", 10);
  assert_int_equal(json_string_length(v), 3);
  json_decref(v);
}

static void test_alloc_failures(void **state) {
  const char *in = "{\"a\":[1,\"xyz\",{\"b\":null}],\"c\":\"d\"}";
  for (long k = 0; k < 40; k++) {
    sio__alloc_fail_after(k);
    json_t *v = sio__json_to_jansson(in, strlen(in));
    sio__alloc_fail_reset();
    if (v) json_decref(v);
  }
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_texts),     cmocka_unit_test(test_invalid_texts),
      cmocka_unit_test(test_depth_limit),     cmocka_unit_test(test_split_passthrough),
      cmocka_unit_test(test_iter_and_lookup), cmocka_unit_test(test_unescape),
      cmocka_unit_test(test_numbers),         cmocka_unit_test(test_escape),
      cmocka_unit_test(test_jansson),         cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
