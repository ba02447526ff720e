/* Unit tests for src/engine/jsonp.c: the script a JSONP poll is answered with and the payload of
 * a JSONP POST, as Node's engine.io (transports/polling-jsonp.js) writes and reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/alloc.h"
#include "engine/engine_internal.h"

static void test_index(void **state) {
  char *d = sio__eio_jsonp_index("a1b2;3");
  assert_string_equal(d, "123"); /* j.replace(/[^0-9]/g, "") */
  sio__free(d);
  d = sio__eio_jsonp_index("");
  assert_string_equal(d, "");
  sio__free(d);
}

/* JSON.stringify of the payload, with U+2028 and U+2029 escaped: valid JavaScript */
static void test_wrap(void **state) {
  static const char payload[] = "5:4a\"\\\n\xe2\x80\xa8\xe2\x80\xa9";
  sio__sbuf out = SIO__SBUF_INIT;
  assert_int_equal(sio__eio_jsonp_wrap("7", payload, sizeof payload - 1, &out), 0);
  static const char want[] = "___eio[7](\"5:4a\\\"\\\\\\n\\u2028\\u2029\");";
  assert_int_equal(out.len, sizeof want - 1);
  assert_memory_equal(out.data, want, out.len);
  sio__sbuf_free(&out);
}

/* d's value, form-decoded, then the client's escapes undone: \n is a newline, \\n is \n */
static void test_post_data(void **state) {
  sio__sbuf out = SIO__SBUF_INIT;
  const char *body = "x=1&d=3%3A4a%5Cn%5C%5Cnb+c&y=2";
  assert_int_equal(sio__eio_jsonp_post_data(body, strlen(body), &out), 1);
  assert_int_equal(out.len, 10);
  assert_memory_equal(out.data, "3:4a\n\\nb c", 10);
  sio__sbuf_reset(&out);
  assert_int_equal(sio__eio_jsonp_post_data("d=1&d=2", 7, &out), 0); /* not one string */
  assert_int_equal(sio__eio_jsonp_post_data("e=1", 3, &out), 0);
  assert_int_equal(sio__eio_jsonp_post_data("", 0, &out), 0);
  assert_int_equal(sio__eio_jsonp_post_data("d=", 2, &out), 1); /* empty: a malformed payload */
  assert_int_equal(out.len, 0);
  sio__sbuf_free(&out);
  for (int k = 0; k < 3; k++) { /* out of memory: an error, nothing leaks */
    sio__alloc_fail_after(k);
    sio__sbuf o = SIO__SBUF_INIT;
    sio__eio_jsonp_post_data(body, strlen(body), &o);
    sio__eio_jsonp_wrap("1", "1:6", 3, &o);
    sio__sbuf_free(&o);
    sio__alloc_fail_reset();
  }
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_wrap),
      cmocka_unit_test(test_post_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
