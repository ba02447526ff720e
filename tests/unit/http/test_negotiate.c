/* Unit tests for src/http/negotiate.c's Accept-Encoding reading (RFC 9110 12.5.3): gzip is
 * used when gzip (or x-gzip), else "*", has a q above 0 and no lower than an explicit
 * identity's; q=0 refuses; a coding is matched whole and without case. The CORS policy is
 * tested over a real app in test_app.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/negotiate.h"

static void test_gzip_listed(void **s) {
  assert_false(sio__accepts_gzip(NULL));
  assert_false(sio__accepts_gzip(""));
  assert_true(sio__accepts_gzip("gzip"));
  assert_true(sio__accepts_gzip("GZIP"));
  assert_true(sio__accepts_gzip("x-gzip"));
  assert_true(sio__accepts_gzip("gzip, deflate, br"));
  assert_true(sio__accepts_gzip("deflate,gzip"));
  assert_true(sio__accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
  assert_true(sio__accepts_gzip("gzip;q=0.001"));
  assert_true(sio__accepts_gzip("gzip ; q=1"));
  assert_false(sio__accepts_gzip("deflate, br"));
  assert_false(sio__accepts_gzip("gzipx, xgzip")); /* whole names only */
  assert_false(sio__accepts_gzip("identity"));
}

static void test_q_zero_refuses(void **s) {
  assert_false(sio__accepts_gzip("gzip;q=0"));
  assert_false(sio__accepts_gzip("gzip; q=0.0"));
  assert_false(sio__accepts_gzip("gzip;q=0.000, deflate"));
  assert_false(sio__accepts_gzip("deflate, gzip;Q=0"));
  assert_true(sio__accepts_gzip("gzip;q=0.01"));
  assert_true(sio__accepts_gzip("gzip;q=0, x-gzip")); /* the better of the two names */
}

static void test_star(void **s) {
  assert_true(sio__accepts_gzip("*"));
  assert_true(sio__accepts_gzip("deflate, *;q=0.5"));
  assert_false(sio__accepts_gzip("*;q=0"));
  assert_false(sio__accepts_gzip("deflate, *;q=0"));
  assert_true(sio__accepts_gzip("gzip, *;q=0"));  /* named: its own q */
  assert_false(sio__accepts_gzip("gzip;q=0, *")); /* named: refused despite "*" */
}

static void test_identity(void **s) {
  assert_true(sio__accepts_gzip("gzip, identity")); /* a tie: gzip */
  assert_true(sio__accepts_gzip("gzip;q=0.5, identity;q=0.2"));
  assert_false(sio__accepts_gzip("gzip;q=0.5, identity")); /* identity ranked higher */
  assert_true(sio__accepts_gzip("gzip;q=0.5"));            /* implicit identity: least */
  assert_true(sio__accepts_gzip("gzip, identity;q=0"));
  assert_false(sio__accepts_gzip("gzip;q=0.3, *;q=0.9")); /* "*" stands for identity */
}

static void test_odd_weights(void **s) {
  assert_true(sio__accepts_gzip("gzip;q=x"));     /* an unreadable weight counts as 1 */
  assert_true(sio__accepts_gzip("gzip;level=9")); /* not a weight */
  assert_true(sio__accepts_gzip("gzip;q=1.5"));   /* capped at 1 */
  assert_true(sio__accepts_gzip(" , ,gzip,,"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gzip_listed), cmocka_unit_test(test_q_zero_refuses),
      cmocka_unit_test(test_star),        cmocka_unit_test(test_identity),
      cmocka_unit_test(test_odd_weights),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
