/* The Redis Streams adapter's entries (redis_adapter/streams_entry.h): stream names as Node's
 * computeStreamName (hashCode of util.ts, values taken from Node 0.3.1), the offset check of
 * restoreSession, and XREAD / XRANGE replies (built by hiredis's reader from RESP bytes) turned
 * into entries and the ClusterAdapter messages they carry, with malformed ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "redis_adapter/streams_entry.h"

static redisReply *reply_of(const char *resp) {
  redisReader *rd = redisReaderCreate();
  void *r = NULL;
  redisReaderFeed(rd, resp, strlen(resp));
  assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
  assert_non_null(r);
  redisReaderFree(rd);
  return r;
}

static void name_is(const char *nsp, unsigned count, const char *want) {
  sio__sbuf b = SIO__SBUF_INIT;
  assert_int_equal(sio__stream_name(&b, "socket.io", count, nsp), 0);
  assert_string_equal(b.data, want);
  sio__sbuf_free(&b);
}

static void test_hash_and_names(void **state) {
  (void)state;
  assert_int_equal(sio__stream_hash("/", 1), 47);
  assert_int_equal(sio__stream_hash("/chat", 5), 46457863);
  assert_int_equal(sio__stream_hash("/dyn-\xc3\xa9", 7), 1441634246);
  assert_int_equal(sio__stream_hash("/\xf0\x9f\x98\x80x", 6), 56360166); /* a surrogate pair */
  assert_int_equal(sio__stream_hash("/abcdefgh", 9), -2086307405);
  name_is("/", 1, "socket.io");
  name_is("/", 7, "socket.io-5");
  name_is("/chat", 7, "socket.io-4");
  name_is("/abcdefgh", 7, "socket.io-0");   /* -0 in Node prints as 0 */
  name_is("/abcdefghi", 7, "socket.io--3"); /* a negative hash: as Node */
}

static void test_offsets(void **state) {
  (void)state;
  assert_true(sio__stream_id_valid("1700000000000-0", 15));
  assert_true(sio__stream_id_valid("0-12", 4));
  assert_false(sio__stream_id_valid("", 0));
  assert_false(sio__stream_id_valid("12", 2));
  assert_false(sio__stream_id_valid("12-", 3));
  assert_false(sio__stream_id_valid("-1", 2));
  assert_false(sio__stream_id_valid("1-2-3", 5));
  assert_false(sio__stream_id_valid("1-2 ", 4));
}

#define ENTRY_JSON                                                                                 \
  "*2\r\n$3\r\n5-1\r\n*8\r\n$3\r\nuid\r\n$6\r\nabcdef\r\n$3\r\nnsp\r\n$1\r\n/\r\n"                 \
  "$4\r\ntype\r\n$1\r\n3\r\n$4\r\ndata\r\n$67\r\n"                                                 \
  "{\"packet\":{\"type\":2,\"data\":[\"hi\",1],\"nsp\":\"/\"},\"opts\":{\"rooms\":[]}}\r\n"

static void test_xread_entry(void **state) {
  (void)state;
  redisReply *r = reply_of("*1\r\n*2\r\n$9\r\nsocket.io\r\n*1\r\n" ENTRY_JSON);
  const redisReply *list;
  sio__stream_entry e;
  assert_int_equal(sio__stream_xread_entries(r, &list), 0);
  assert_int_equal(list->elements, 1);
  assert_int_equal(sio__stream_entry_parse(list->element[0], &e), 0);
  assert_int_equal(e.id_len, 3);
  assert_memory_equal(e.id, "5-1", 3);
  assert_memory_equal(e.uid, "abcdef", 6);
  sio__sbuf buf = SIO__SBUF_INIT;
  sio__cluster_msg m;
  assert_int_equal(sio__stream_entry_message(&e, &buf, &m), 0);
  assert_int_equal(m.type, 3);
  assert_int_not_equal(m.packet_data.type, SIO__JSON_INVALID);
  assert_memory_equal(m.wire.text + m.packet_data.off, "[\"hi\",1]", m.packet_data.len);
  sio__cluster_msg_free(&m), sio__sbuf_free(&buf);
  freeReplyObject(r);
  r = reply_of("$-1\r\n"); /* the block timed out */
  assert_int_equal(sio__stream_xread_entries(r, &list), 0);
  assert_null(list);
  freeReplyObject(r);
}

static void test_bad_entries(void **state) {
  (void)state;
  const redisReply *list;
  sio__stream_entry e;
  sio__sbuf buf = SIO__SBUF_INIT;
  sio__cluster_msg m;
  redisReply *r = reply_of(":1\r\n");
  assert_int_equal(sio__stream_xread_entries(r, &list), -EPROTO);
  assert_int_equal(sio__stream_entry_parse(r, &e), -EPROTO);
  freeReplyObject(r);
  r = reply_of("*2\r\n$3\r\n1-1\r\n*3\r\n$3\r\nuid\r\n$1\r\na\r\n$3\r\nnsp\r\n"); /* odd */
  assert_int_equal(sio__stream_entry_parse(r, &e), -EPROTO);
  freeReplyObject(r);
  /* no nsp: Node skips it (if (message.nsp)) */
  r = reply_of("*2\r\n$3\r\n1-1\r\n*2\r\n$4\r\ntype\r\n$1\r\n3\r\n");
  assert_int_equal(sio__stream_entry_parse(r, &e), 0);
  assert_int_equal(sio__stream_entry_message(&e, &buf, &m), SIO__CLUSTER_EFOREIGN);
  sio__cluster_msg_free(&m), sio__sbuf_free(&buf);
  freeReplyObject(r);
  /* data neither JSON nor base64 msgpack */
  r = reply_of("*2\r\n$3\r\n1-1\r\n*6\r\n$3\r\nnsp\r\n$1\r\n/\r\n$4\r\ntype\r\n$1\r\n3\r\n"
               "$4\r\ndata\r\n$4\r\n!!!!\r\n");
  assert_int_equal(sio__stream_entry_parse(r, &e), 0);
  assert_int_equal(sio__stream_entry_message(&e, &buf, &m), SIO__CLUSTER_EFORMAT);
  sio__cluster_msg_free(&m), sio__sbuf_free(&buf);
  freeReplyObject(r);
  r = reply_of("*2\r\n$3\r\n1-1\r\n*6\r\n$3\r\nnsp\r\n$1\r\n/\r\n$4\r\ntype\r\n$1\r\n3\r\n"
               "$4\r\ndata\r\n$5\r\n{\"a\":\r\n");
  assert_int_equal(sio__stream_entry_parse(r, &e), 0);
  assert_int_equal(sio__stream_entry_message(&e, &buf, &m), SIO__CLUSTER_EFORMAT);
  sio__cluster_msg_free(&m), sio__sbuf_free(&buf);
  freeReplyObject(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_and_names),
      cmocka_unit_test(test_offsets),
      cmocka_unit_test(test_xread_entry),
      cmocka_unit_test(test_bad_entries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
