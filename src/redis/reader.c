/* hiredis's reply reader with a bound on the element count of an array reply.
 *
 * Why: hiredis 0.14 allocates an array reply's element pointers as soon as it reads the
 * header ("*611111111\r\n" is 4.9 GB of calloc before any element arrives), so a broken or
 * hostile Redis could exhaust our memory with a dozen bytes (found by fuzz_stream_entry).
 * The largest array we ask for is an XRANGE over a stream trimmed to ~10,000 entries, so a
 * bound of 2^20 elements refuses nothing real; a larger header fails the reader with its OOM
 * error, which the client turns into a protocol error and a dropped link (then a reconnect).
 * Everything else is hiredis's own reply construction, taken from its default table. */
#include <hiredis/read.h>

#include "redis/redis.h"

static redisReplyObjectFunctions bounded;
static void *(*default_create_array)(const redisReadTask *, int);

static void *create_bounded_array(const redisReadTask *task, int elements) {
  /* negative: a count past INT_MAX truncated into an int, should a hiredis build lack the
   * range check that Debian's 0.14.1 has */
  if (elements < 0 || elements > SIO__REDIS_MAX_ELEMENTS) return NULL; /* "Out of memory" */
  return default_create_array(task, elements);
}

redisReader *sio__redis_reader_new(void) {
  redisReader *r = redisReaderCreate();
  if (!r) return NULL;
  /* Everything runs on one loop thread per process, but several loops may start at once;
   * the table written is the same each time, so a race writes identical bytes. */
  if (!default_create_array) {
    bounded = *r->fn;
    bounded.createArray = create_bounded_array;
    default_create_array = r->fn->createArray;
  }
  r->fn = &bounded;
  return r;
}
