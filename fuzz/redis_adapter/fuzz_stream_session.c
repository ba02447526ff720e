/* libFuzzer target for the Redis Streams adapter's session value (stream_session.h), which
 * comes back from Redis: the input is decoded as the stored value (base64 text) and, base64
 * encoded first, as raw msgpack bytes. A value that decodes is written again from what was read
 * and must decode to the same sid, pid and position. On any input: no crash, no leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "redis_adapter/stream_session.h"

static void roundtrip(const sio__stream_session *s) {
  size_t n, k = 0;
  const char *const *all = sio__stream_session_rooms(s, &n);
  const char **rooms = malloc((n + 1) * sizeof(*rooms));
  if (!rooms) return;
  for (size_t i = 0; i < n; i++)
    if (strcmp(all[i], s->sid.data) != 0) rooms[k++] = all[i];
  sio_session ss = {s->pid.data, s->sid.data, rooms, k, s->data.data, s->pos.data};
  sio__sbuf b = SIO__SBUF_INIT;
  if (sio__stream_session_encode(&b, &ss) == 0) {
    sio__stream_session again;
    memset(&again, 0, sizeof again);
    if (sio__stream_session_decode(&again, b.data, b.len) != 0 ||
        strcmp(again.sid.data, s->sid.data) || strcmp(again.pid.data, s->pid.data) ||
        strcmp(again.pos.data, s->pos.data))
      abort();
    sio__stream_session_free(&again);
  }
  sio__sbuf_free(&b);
  free(rooms);
}

static void one(const char *b64, size_t n) {
  sio__stream_session s;
  memset(&s, 0, sizeof s);
  if (sio__stream_session_decode(&s, b64, n) == 0) roundtrip(&s);
  sio__stream_session_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one((const char *)data, size);
  char *b64 = malloc(sio__base64_len(size) + 1);
  if (b64) {
    one(b64, sio__base64_encode(b64, data, size, 0));
    free(b64);
  }
  return 0;
}
