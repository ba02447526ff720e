/* The session value of the Redis Streams adapter (see stream_session.h): msgpack through the
 * cluster codecs (cluster/msgpack.h to write, cluster/wire.h to read it back as JSON), base64
 * around it. */
#include "redis_adapter/stream_session.h"

#include <errno.h>
#include <string.h>

#include "cluster/msgpack.h"
#include "cluster/mp_json.h"
#include "core/codec.h"

int sio__stream_session_encode(sio__sbuf *b64, const sio_session *ss) {
  if (!ss || !ss->sid || !ss->pid) return -EINVAL;
  const char *data = ss->data_json && *ss->data_json ? ss->data_json : "{}";
  int with_offset = ss->offset && *ss->offset;
  sio__sbuf mp = SIO__SBUF_INIT;
  sio__mp_put_map(&mp, 4 + (with_offset != 0));
  sio__mp_put_str(&mp, "sid", 3);
  sio__mp_put_str(&mp, ss->sid, strlen(ss->sid));
  sio__mp_put_str(&mp, "pid", 3);
  sio__mp_put_str(&mp, ss->pid, strlen(ss->pid));
  sio__mp_put_str(&mp, "rooms", 5);
  sio__mp_put_array(&mp, ss->nrooms + 1);
  sio__mp_put_str(&mp, ss->sid, strlen(ss->sid)); /* Node's socket.rooms has its own id first */
  for (size_t i = 0; i < ss->nrooms; i++) sio__mp_put_str(&mp, ss->rooms[i], strlen(ss->rooms[i]));
  sio__mp_put_str(&mp, "data", 4);
  int rc = sio__mp_from_json(&mp, data, strlen(data), NULL, 0);
  if (!rc && with_offset) {
    sio__mp_put_str(&mp, "offset", 6);
    sio__mp_put_str(&mp, ss->offset, strlen(ss->offset));
  }
  if (!rc && mp.oom) rc = -ENOMEM;
  if (!rc && sio__sbuf_reserve(b64, sio__base64_len(mp.len) + 1)) rc = -ENOMEM;
  if (!rc) {
    b64->len += sio__base64_encode(b64->data + b64->len, mp.data, mp.len, 0);
    b64->data[b64->len] = '\0';
  }
  sio__sbuf_free(&mp);
  return rc;
}

/* The string member key into out, NUL-terminated ("" when absent or not a string). */
static void member_str(sio__stream_session *s, const char *key, sio__sbuf *out) {
  sio__json_slice v;
  if (sio__wire_get_typed(s->w.text, s->w.top, key, SIO__JSON_STRING, &v) == 1)
    sio__wire_string(s->w.text, v, out);
  sio__sbuf_appendc(out, '\0');
}

int sio__stream_session_decode(sio__stream_session *s, const char *b64, size_t n) {
  sio__json_slice v;
  if (sio__sbuf_reserve(&s->raw, n * 3 / 4 + 3)) return -ENOMEM;
  long len = sio__base64_decode(s->raw.data, b64, n);
  if (len <= 0) return SIO__CLUSTER_EFORMAT;
  s->raw.len = (size_t)len;
  int rc = sio__wire_read(&s->w, s->raw.data, s->raw.len);
  if (rc) return rc;
  if (!s->w.msgpack || s->w.top.type != SIO__JSON_OBJECT ||
      sio__wire_get_typed(s->w.text, s->w.top, "sid", SIO__JSON_STRING, &v) != 1)
    return SIO__CLUSTER_EFOREIGN;
  member_str(s, "sid", &s->sid);
  member_str(s, "pid", &s->pid);
  member_str(s, "offset", &s->pos);
  if (sio__wire_get(s->w.text, s->w.top, "data", &v))
    sio__sbuf_append(&s->data, s->w.text + v.off, v.len);
  else
    sio__sbuf_appends(&s->data, "{}");
  sio__sbuf_appendc(&s->data, '\0');
  int found = sio__wire_get_typed(s->w.text, s->w.top, "rooms", SIO__JSON_ARRAY, &v);
  if (found < 0) return SIO__CLUSTER_EFOREIGN;
  if (found && (rc = sio__wire_strings(s->w.text, v, &s->rstore, &s->rptrs)))
    return rc == -EINVAL ? SIO__CLUSTER_EFOREIGN : rc;
  if (s->sid.oom || s->pid.oom || s->pos.oom || s->data.oom) return -ENOMEM;
  if (strlen(s->sid.data) + 1 != s->sid.len) return SIO__CLUSTER_EFOREIGN; /* a NUL inside */
  return 0;
}

const char *const *sio__stream_session_rooms(const sio__stream_session *s, size_t *n) {
  *n = s->rptrs.len / sizeof(char *);
  return *n ? (const char *const *)(const void *)s->rptrs.data : NULL;
}

void sio__stream_session_free(sio__stream_session *s) {
  sio__wire_free(&s->w);
  sio__sbuf_free(&s->raw), sio__sbuf_free(&s->sid), sio__sbuf_free(&s->pid);
  sio__sbuf_free(&s->data), sio__sbuf_free(&s->pos), sio__sbuf_free(&s->rstore);
  sio__sbuf_free(&s->rptrs);
}
