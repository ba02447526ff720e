/* Unit tests for the HTTP layer's one percent-decoder (sio__pct_decode, http/server.h), which
 * paths, route parameters, queries, forms, cookies, static file names and the Engine.IO
 * handshake query all go through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/server.h"

/* Decodes s; checks the output, its length and the bad flag. */
static void check(const char *s, int plus, const char *want, size_t want_len, int want_bad) {
  char out[64];
  int bad = -1;
  size_t n = sio__pct_decode(s, strlen(s), out, plus, &bad);
  assert_int_equal(n, want_len);
  assert_memory_equal(out, want, want_len);
  assert_int_equal(out[n], 0);
  assert_int_equal(bad, want_bad);
}

static void test_plain_and_escapes(void **state) {
  check("", 0, "", 0, 0);
  check("abc", 0, "abc", 3, 0);
  check("%41%62c", 0, "Abc", 3, 0);
  check("%c3%A9", 0, "\xc3\xa9", 2, 0); /* either case */
  check("a%2Fb", 0, "a/b", 3, 0);       /* an encoded slash decodes: callers decide */
  check("x%00y", 0, "x\0y", 3, 0);      /* NUL counts in the length, not in strlen */
  check("%25", 0, "%", 1, 0);           /* a literal percent sign */
  check("%2525", 0, "%25", 3, 0);       /* decoded once only */
}

static void test_plus(void **state) {
  check("a+b", 0, "a+b", 3, 0); /* paths keep '+' */
  check("a+b", 1, "a b", 3, 0); /* queries and forms make it a space */
  check("%2B", 1, "+", 1, 0);   /* an encoded '+' stays a plus */
}

static void test_bad_escapes(void **state) {
  check("%", 0, "%", 1, 1);
  check("%4", 0, "%4", 2, 1);
  check("a%zzb", 0, "a%zzb", 5, 1);
  check("%4g%41", 0, "%4gA", 4, 1); /* the good ones around it still decode */
  check("100%", 1, "100%", 4, 1);
}

static void test_bad_may_be_null(void **state) {
  char out[8];
  assert_int_equal(sio__pct_decode("%zz%41", 6, out, 0, NULL), 4);
  assert_string_equal(out, "%zzA");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_and_escapes),
      cmocka_unit_test(test_plus),
      cmocka_unit_test(test_bad_escapes),
      cmocka_unit_test(test_bad_may_be_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
