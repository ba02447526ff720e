/* Unit tests for src/redis/url.c: the redis:// URLs the layer takes (defaults, ACL user,
 * password alone, percent-decoding, IPv6, db) and the ones it refuses, each with its own
 * error code and a message that names the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "redis/redis.h"

static void test_defaults(void **state) {
  sio__redis_url u;
  assert_int_equal(sio__redis_url_parse("redis://localhost", &u), 0);
  assert_string_equal(u.host, "localhost");
  assert_int_equal(u.port, 6379);
  assert_int_equal(u.db, 0);
  assert_null(u.user);
  assert_null(u.password);
  sio__redis_url_free(&u);
  assert_null(u.host);
  assert_int_equal(sio__redis_url_parse("REDIS://127.0.0.1:7000/", &u), 0);
  assert_string_equal(u.host, "127.0.0.1");
  assert_int_equal(u.port, 7000);
  sio__redis_url_free(&u);
  sio__redis_url_free(&u); /* twice: a no-op */
}

static void test_auth_and_db(void **state) {
  sio__redis_url u;
  assert_int_equal(sio__redis_url_parse("redis://alice:s3cret@10.0.0.1:6380/3", &u), 0);
  assert_string_equal(u.user, "alice");
  assert_string_equal(u.password, "s3cret");
  assert_string_equal(u.host, "10.0.0.1");
  assert_int_equal(u.port, 6380);
  assert_int_equal(u.db, 3);
  sio__redis_url_free(&u);
  /* the password alone (AUTH password) */
  assert_int_equal(sio__redis_url_parse("redis://:pw@h", &u), 0);
  assert_null(u.user);
  assert_string_equal(u.password, "pw");
  sio__redis_url_free(&u);
  /* percent-decoding, an unescaped '@' in the password (the last '@' ends the userinfo) */
  assert_int_equal(sio__redis_url_parse("redis://us%65r:p%40ss%3a%2F@h:1/15", &u), 0);
  assert_string_equal(u.user, "user");
  assert_string_equal(u.password, "p@ss:/");
  assert_int_equal(u.db, 15);
  sio__redis_url_free(&u);
  assert_int_equal(sio__redis_url_parse("redis://:a@b@h", &u), 0);
  assert_string_equal(u.password, "a@b");
  assert_string_equal(u.host, "h");
  sio__redis_url_free(&u);
}

static void test_ipv6(void **state) {
  sio__redis_url u;
  assert_int_equal(sio__redis_url_parse("redis://[::1]:6390/2", &u), 0);
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 6390);
  assert_int_equal(u.db, 2);
  sio__redis_url_free(&u);
  assert_int_equal(sio__redis_url_parse("redis://[::1]", &u), 0);
  assert_int_equal(u.port, 6379);
  sio__redis_url_free(&u);
}

static void expect_error(const char *url, int err) {
  sio__redis_url u;
  int rc = sio__redis_url_parse(url, &u);
  if (rc != err) fail_msg("%s: got %d (%s), want %d", url, rc, sio__redis_strerror(rc), err);
  assert_null(u.host);
  assert_null(u.user);
  assert_null(u.password);
}

static void test_refused(void **state) {
  expect_error("rediss://h:6380", SIO__REDIS_ETLS);
  expect_error("redis-sentinel://h:26379", SIO__REDIS_ESENTINEL);
  expect_error("redis+sentinel://h:26379/mymaster", SIO__REDIS_ESENTINEL);
  expect_error("redis://h1:7000,h2:7001", SIO__REDIS_ECLUSTER);
  expect_error("redis+cluster://h:7000", SIO__REDIS_ECLUSTER);
  expect_error("http://h:6379", SIO__REDIS_ESCHEME);
  expect_error("unix:///tmp/redis.sock", SIO__REDIS_ESCHEME);
  expect_error("localhost:6379", SIO__REDIS_ESCHEME);
  expect_error("redis://", SIO__REDIS_EURL);
  expect_error("redis://h:", SIO__REDIS_EURL);
  expect_error("redis://h:0", SIO__REDIS_EURL);
  expect_error("redis://h:65536", SIO__REDIS_EURL);
  expect_error("redis://h:12a", SIO__REDIS_EURL);
  expect_error("redis://h/x", SIO__REDIS_EURL);
  expect_error("redis://h/-1", SIO__REDIS_EURL);
  expect_error("redis://h/1?timeout=3", SIO__REDIS_EURL);
  expect_error("redis://user@h", SIO__REDIS_EURL); /* a user without a password */
  expect_error("redis://:p%zz@h", SIO__REDIS_EURL);
  expect_error("redis://:p%0@h", SIO__REDIS_EURL);
  expect_error("redis://:p%00@h", SIO__REDIS_EURL);
  expect_error("redis://[::1:6379", SIO__REDIS_EURL);
  expect_error("redis://[::1]x", SIO__REDIS_EURL);
  expect_error(NULL, SIO__REDIS_EURL);
}

static void test_messages(void **state) {
  assert_non_null(strstr(sio__redis_strerror(SIO__REDIS_ETLS), "TLS"));
  assert_non_null(strstr(sio__redis_strerror(SIO__REDIS_ESENTINEL), "Sentinel"));
  assert_non_null(strstr(sio__redis_strerror(SIO__REDIS_ECLUSTER), "Cluster"));
  assert_non_null(strstr(sio__redis_strerror(SIO__REDIS_EURL), "redis://"));
  assert_non_null(strstr(sio__redis_strerror(SIO__REDIS_ENOSHARD), "7.0"));
  assert_non_null(sio__redis_strerror(-ECONNREFUSED));
  assert_non_null(sio__redis_strerror(SIO_ECLOSED));
}

static void test_no_leak_on_oom(void **state) {
  for (long n = 0; n < 4; n++) {
    long live = sio__alloc_live();
    sio__redis_url u;
    sio__alloc_fail_after(n);
    int rc = sio__redis_url_parse("redis://alice:pw@h:1/2", &u);
    sio__alloc_fail_reset();
    if (rc == 0)
      sio__redis_url_free(&u);
    else
      assert_int_equal(rc, -ENOMEM);
    assert_int_equal(sio__alloc_live(), live);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults), cmocka_unit_test(test_auth_and_db),
      cmocka_unit_test(test_ipv6),     cmocka_unit_test(test_refused),
      cmocka_unit_test(test_messages), cmocka_unit_test(test_no_leak_on_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
