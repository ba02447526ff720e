/* The entries of the Redis Streams adapter (@socket.io/redis-streams-adapter 0.3), read and
 * named as Node's RedisStreamsAdapter does.
 *
 * An entry is [id, [field, value, ...]] with the fields uid, nsp, type (the message type in
 * decimal) and data: JSON.stringify(message.data), or, when it holds binaries, the base64 of
 * its msgpack (Node tells them apart by a leading `{`). The parser takes the reply of XREAD
 * or XRANGE as hiredis gives it and turns an entry into the ClusterAdapter message it carries
 * (cluster/message.h), as RedisStreamsAdapter.decode does: parseInt of type, JSON.parse or
 * msgpack decode of data. Entries are Redis's to judge: a malformed one is an error here, never
 * a crash. Stream names: `<name>` for one stream, `<name>-<hashCode(nsp) % count>` for more
 * (Java's String.hashCode over UTF-16 code units, in 32-bit signed arithmetic, as util.ts). */
#ifndef SIO_REDIS_ADAPTER_STREAMS_ENTRY_H
#define SIO_REDIS_ADAPTER_STREAMS_ENTRY_H
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#include "cluster/message.h"
#include "core/buf.h"

/* The fields of one entry, pointing into the reply (NULL and 0 when absent). */
typedef struct sio__stream_entry {
  const char *id, *uid, *nsp, *type, *data;
  size_t id_len, uid_len, nsp_len, type_len, data_len;
} sio__stream_entry;

/* One entry of an XRANGE reply (or of an XREAD reply's stream). 0, or -EPROTO when r is not
 * [id, [field, value, ...]] of strings. Unknown fields are ignored, a repeated one wins last. */
int sio__stream_entry_parse(const redisReply *r, sio__stream_entry *e);
/* The entries array of an XREAD reply on one stream ([[name, [entry, ...]]]): 0 and *entries
 * (NULL for a nil reply: the block timed out), or -EPROTO. */
int sio__stream_xread_entries(const redisReply *r, const redisReply **entries);
/* The message an entry carries: built in buf (which must outlive m) and decoded in m, as
 * sio__cluster_decode would (free m with sio__cluster_msg_free, also after an error). 0,
 * SIO__CLUSTER_EFOREIGN (no nsp, a type that is no number, a message of no known shape),
 * SIO__CLUSTER_EFORMAT (data neither JSON nor base64 msgpack), -ENOMEM. */
int sio__stream_entry_message(const sio__stream_entry *e, sio__sbuf *buf, sio__cluster_msg *m);

/* hashCode(str) of util.ts over the UTF-8 string s (bad UTF-8 counts as U+FFFD, as Node's
 * decoder reads it). */
int32_t sio__stream_hash(const char *s, size_t n);
/* The stream a namespace writes to: name, or name-<i> with i = hashCode(nsp) % count (a
 * negative hash gives a negative i, as in Node). 0 or -ENOMEM. */
int sio__stream_name(sio__sbuf *out, const char *name, unsigned count, const char *nsp);
/* 1 if s is an entry id as Node accepts one for restoreSession (^[0-9]+-[0-9]+$). */
int sio__stream_id_valid(const char *s, size_t n);

/* An entry id as numbers, to order ids (Redis orders them by ms, then seq). */
typedef struct sio__stream_id {
  uint64_t ms, seq;
} sio__stream_id;
/* 0 and *id, or -EINVAL when s is no valid id (or a number past 2^64). */
int sio__stream_id_parse(const char *s, size_t n, sio__stream_id *id);
/* <0, 0, >0 as a is before, equal to, after b. */
int sio__stream_id_cmp(sio__stream_id a, sio__stream_id b);
/* The id right after id (RedisStreamsAdapter.nextOffset: ms-(seq+1)), as text in out. */
int sio__stream_id_next(sio__sbuf *out, sio__stream_id id);

#endif
