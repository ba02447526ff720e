/* The session value of the Redis Streams adapter (@socket.io/redis-streams-adapter 0.3,
 * persistSession): what is kept at <sessionKeyPrefix><pid> while a client is away.
 *
 * Node writes Buffer.from(msgpack.encode(session)).toString("base64") with session =
 * {sid, pid, rooms: [...socket.rooms] (its own id first), data: socket.data}. We write the same
 * map and one more member, `offset`: the socket's position (sio_session.offset), which Node's
 * restore ignores (socket.io reads sid, pid, rooms and data only). Decoding takes any msgpack
 * map with a string sid (what Node's restore needs): pid, offset and rooms are optional, data
 * defaults to {}; rooms may hold numbers (JS rooms may be), taken as their text. The value
 * comes from Redis, so it is input: a malformed one is an error, never a crash (fuzzed by
 * fuzz/redis_adapter/fuzz_stream_session.c). */
#ifndef SIO_REDIS_ADAPTER_STREAM_SESSION_H
#define SIO_REDIS_ADAPTER_STREAM_SESSION_H
#include <stddef.h>

#include "cluster/wire.h"
#include "core/buf.h"
#include "sio/adapter.h"

typedef struct sio__stream_session {
  sio__sbuf raw;                 /* the msgpack bytes */
  sio__wire w;                   /* ... as JSON */
  sio__sbuf sid, pid, data, pos; /* NUL-terminated ("" when absent; data "{}") */
  sio__sbuf rstore, rptrs;       /* the rooms as listed (see sio__stream_session_rooms) */
} sio__stream_session;

/* Appends the base64 value of ss (its rooms without its own id; the value lists it first).
 * 0, -EINVAL (data_json is no JSON, no sid or pid), -ENOMEM. */
int sio__stream_session_encode(sio__sbuf *b64, const sio_session *ss);
/* Decodes a value into s (zeroed by the caller; free it with sio__stream_session_free, also
 * after an error). 0, SIO__CLUSTER_EFORMAT (not base64 of one msgpack value),
 * SIO__CLUSTER_EFOREIGN (not a map with a string sid, rooms not strings), -ENOMEM. */
int sio__stream_session_decode(sio__stream_session *s, const char *b64, size_t n);
/* The rooms of a decoded session, as the value lists them (Node's: the own id included). */
const char *const *sio__stream_session_rooms(const sio__stream_session *s, size_t *n);
void sio__stream_session_free(sio__stream_session *s);

#endif
