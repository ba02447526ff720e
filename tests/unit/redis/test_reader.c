/* Unit tests for src/redis/reader.c: the bounded reply reader parses what hiredis's own
 * does (nested arrays, the empty array, nil) and refuses an array header past
 * SIO__REDIS_MAX_ELEMENTS before allocating for it (a 4.9 GB calloc from 14 bytes, found by
 * fuzz_stream_entry), as it refuses a count that does not fit an int. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "redis/redis.h"

static int read_one(const char *bytes, redisReply **out) {
  redisReader *r = sio__redis_reader_new();
  assert_non_null(r);
  assert_int_equal(redisReaderFeed(r, bytes, strlen(bytes)), REDIS_OK);
  void *reply = NULL;
  int rc = redisReaderGetReply(r, &reply);
  if (rc != REDIS_OK) assert_true(r->errstr[0]); /* "Out of memory", or hiredis's own */
  redisReaderFree(r);
  *out = reply;
  return rc;
}

static void test_parses_as_hiredis(void **state) {
  redisReply *rep = NULL;
  assert_int_equal(read_one("*2\r\n*1\r\n$3\r\nabc\r\n:7\r\n", &rep), REDIS_OK);
  assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
  assert_int_equal(rep->elements, 2);
  assert_int_equal(rep->element[0]->type, REDIS_REPLY_ARRAY);
  assert_string_equal(rep->element[0]->element[0]->str, "abc");
  assert_int_equal(rep->element[1]->integer, 7);
  freeReplyObject(rep);
  assert_int_equal(read_one("*0\r\n", &rep), REDIS_OK);
  assert_int_equal(rep->elements, 0);
  freeReplyObject(rep);
  assert_int_equal(read_one("*-1\r\n", &rep), REDIS_OK);
  assert_int_equal(rep->type, REDIS_REPLY_NIL);
  freeReplyObject(rep);
}

static void test_bound(void **state) {
  char header[32];
  redisReply *rep = NULL;
  /* at the bound: accepted, and waits for its elements */
  snprintf(header, sizeof header, "*%d\r\n", SIO__REDIS_MAX_ELEMENTS);
  assert_int_equal(read_one(header, &rep), REDIS_OK);
  assert_null(rep);
  snprintf(header, sizeof header, "*%d\r\n", SIO__REDIS_MAX_ELEMENTS + 1);
  assert_int_equal(read_one(header, &rep), REDIS_ERR);
  assert_int_equal(read_one("*611111111\r\n", &rep), REDIS_ERR);
  /* nested: the inner header is refused as well */
  assert_int_equal(read_one("*1\r\n*2\r\n$3\r\n2-1\r\n*611111111\r\n", &rep), REDIS_ERR);
  /* past INT_MAX (0.14 keeps the count in an int; Debian's patch refuses it itself) */
  assert_int_equal(read_one("*3000000000\r\n", &rep), REDIS_ERR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parses_as_hiredis),
      cmocka_unit_test(test_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
