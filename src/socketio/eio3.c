/* Socket.IO for Engine.IO v3 clients (socket.io-client 2.x, Socket.IO protocol v4), which the
 * server accepts with sio_io_allow_eio3 (include/sio/compat.h), as Node's socket.io does when
 * `conn.protocol === 3`:
 * - the main namespace is connected when the session opens (client.c);
 * - a namespace in a packet may carry a query string ("/admin?token=abc"): the namespace is
 *   what precedes '?', and a CONNECT's auth payload is the query as an object (this file);
 * - the CONNECT answer has no payload, a socket of "/" takes the session id, a middleware's
 *   refusal carries `err.data || err.message` (nsp.c, socket.c, through sio__client_v3). */
#include "socketio/io_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "sio/compat.h"

int sio_io_allow_eio3(sio_io *io, int allow) {
  if (!io || !io->eio) return -EINVAL;
  sio__eio_set_allow_eio3(io->eio, allow);
  return 0;
}

size_t sio__v3_nsp_len(const char *nsp, size_t len, const char **query, size_t *query_len) {
  const char *q = memchr(nsp, '?', len);
  *query = q ? q + 1 : NULL;
  *query_len = q ? len - (size_t)(q + 1 - nsp) : 0;
  return q ? (size_t)(q - nsp) : len;
}

/* Adds key=value to obj as Node's querystring.parse does: a repeated key becomes an array of
 * its values in order. Pairs that are not UTF-8 once decoded are left out. */
static void put_pair(json_t *obj, const char *key, const char *value, size_t vlen) {
  json_t *v = json_stringn(value, vlen);
  if (!v) return;
  json_t *old = json_object_get(obj, key);
  if (!old) {
    json_object_set_new(obj, key, v);
  } else if (json_is_array(old)) {
    json_array_append_new(old, v);
  } else {
    json_t *arr = json_array();
    if (!arr || json_array_append(arr, old) || json_array_append_new(arr, v)) {
      json_decref(arr);
      return;
    }
    json_object_set_new(obj, key, arr);
  }
}

char *sio__v3_query_auth(const char *q, size_t n) {
  json_t *obj = json_object();
  char *buf = sio__malloc(n + 2); /* one decoded pair: key NUL value NUL (never longer) */
  sio__sbuf out = SIO__SBUF_INIT;
  char *auth = NULL;
  if (!obj || !buf) goto done;
  for (size_t i = 0; i < n;) {
    const char *pair = q + i, *end = memchr(pair, '&', n - i);
    size_t plen = end ? (size_t)(end - pair) : n - i;
    i += plen + 1;
    const char *eq = memchr(pair, '=', plen);
    size_t klen = eq ? (size_t)(eq - pair) : plen;
    if (!klen) continue;
    size_t kd = sio__pct_decode(pair, klen, buf, 1, NULL);
    buf[kd] = 0;
    if (strlen(buf) != kd) continue; /* a key with a NUL in it */
    size_t vd = eq ? sio__pct_decode(eq + 1, plen - klen - 1, buf + kd + 1, 1, NULL) : 0;
    put_pair(obj, buf, buf + kd + 1, vd);
  }
  if (sio__json_dump_jansson(&out, obj) == 0) auth = sio__strndup(out.data, out.len);
done:
  sio__sbuf_free(&out);
  sio__free(buf);
  json_decref(obj);
  return auth;
}
