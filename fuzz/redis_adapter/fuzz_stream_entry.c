/* libFuzzer target for the Redis Streams adapter's entry path (streams_entry.h): arbitrary
 * bytes from "Redis" go through hiredis's reader as an XREAD reply, then each entry through
 * the field parser and the ClusterAdapter message it carries (JSON or base64 msgpack data),
 * and the first entry's id through the offset check. Also the stream-name hash over the raw
 * bytes as a namespace name (bad UTF-8 included). On any input: no crash, no leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"
#include "redis_adapter/streams_entry.h"

static void entries(const redisReply *list) {
  for (size_t i = 0; i < list->elements; i++) {
    sio__stream_entry e;
    if (sio__stream_entry_parse(list->element[i], &e)) continue;
    (void)sio__stream_id_valid(e.id, e.id_len);
    sio__sbuf buf = SIO__SBUF_INIT;
    sio__cluster_msg m;
    (void)sio__stream_entry_message(&e, &buf, &m);
    sio__cluster_msg_free(&m);
    sio__sbuf_free(&buf);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  redisReader *rd = sio__redis_reader_new();
  void *reply = NULL;
  redisReaderFeed(rd, (const char *)data, size);
  if (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
    const redisReply *list = NULL;
    if (!sio__stream_xread_entries(reply, &list) && list) entries(list);
    /* an XRANGE reply is the entries array itself */
    if (((redisReply *)reply)->type == REDIS_REPLY_ARRAY) entries(reply);
    freeReplyObject(reply);
  }
  redisReaderFree(rd);
  sio__sbuf name = SIO__SBUF_INIT;
  char *nsp = malloc(size + 1);
  if (nsp) {
    memcpy(nsp, data, size);
    nsp[size] = '\0';
    (void)sio__stream_name(&name, "socket.io", 7, nsp);
    free(nsp);
  }
  sio__sbuf_free(&name);
  return 0;
}
