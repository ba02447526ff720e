/* Reading cluster messages (JSON or notepack msgpack) into one JSON text, and the JSON.stringify
 * style writers the codecs build messages with (see wire.h). */
#include "cluster/wire.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int sio__wire_read(sio__wire *w, const void *data, size_t n) {
  memset(w, 0, sizeof *w);
  if (n && *(const char *)data == '{') {
    w->text = data, w->len = n;
    return sio__json_validate(w->text, n, SIO__WIRE_JSON_DEPTH, &w->top) ? SIO__CLUSTER_EFORMAT : 0;
  }
  w->msgpack = 1;
  int rc = sio__mp_to_json(&w->own, data, n, &w->bins, SIO__MP_MESSAGE_DEPTH);
  if (rc) return rc == -ENOMEM ? rc : SIO__CLUSTER_EFORMAT;
  w->text = w->own.data, w->len = w->own.len;
  return sio__json_validate(w->text, w->len, SIO__WIRE_JSON_DEPTH, &w->top) ? SIO__CLUSTER_EFORMAT
                                                                            : 0;
}

int sio__wire_read_typed(sio__wire *w, const void *data, size_t n, int64_t min, int64_t max,
                         int required, int *type) {
  int64_t v = -1;
  int rc = sio__wire_read(w, data, n);
  if (rc) return rc;
  if (w->top.type != SIO__JSON_OBJECT) return SIO__CLUSTER_EFOREIGN;
  int found = sio__wire_get_int(w->text, w->top, "type", min, max, &v);
  if (found < 0 || (!found && required)) return SIO__CLUSTER_EFOREIGN;
  *type = (int)v;
  return 0;
}

void sio__wire_free(sio__wire *w) {
  sio__sbuf_free(&w->own);
  sio__mp_bins_free(&w->bins);
  w->text = NULL, w->len = 0;
}

int sio__wire_get(const char *text, sio__json_slice obj, const char *key, sio__json_slice *val) {
  if (obj.type != SIO__JSON_OBJECT) return 0;
  if (!sio__json_object_get(text + obj.off, obj.len, key, strlen(key), val)) return 0;
  val->off += obj.off;
  return 1;
}

int sio__wire_get_typed(const char *text, sio__json_slice obj, const char *key, sio__json_type type,
                        sio__json_slice *val) {
  if (!sio__wire_get(text, obj, key, val)) return 0;
  return val->type == type ? 1 : -1;
}

int sio__wire_get_int(const char *text, sio__json_slice obj, const char *key, int64_t min,
                      int64_t max, int64_t *v) {
  sio__json_slice s;
  double d;
  int rc = sio__wire_get_typed(text, obj, key, SIO__JSON_NUMBER, &s);
  if (rc <= 0) return rc;
  if (sio__json_number(text + s.off, s.len, &d) || floor(d) != d || d < (double)min ||
      d > (double)max)
    return -1;
  *v = (int64_t)d;
  return 1;
}

int sio__wire_rooms_ok(const char *text, sio__json_slice arr) {
  sio__json_iter it;
  sio__json_slice e;
  if (arr.type != SIO__JSON_ARRAY) return 0;
  sio__json_iter_init(&it, text + arr.off, arr.len);
  while (sio__json_iter_next(&it, &e))
    if (e.type != SIO__JSON_STRING && e.type != SIO__JSON_NUMBER) return 0;
  return 1;
}

int sio__wire_string(const char *text, sio__json_slice s, sio__sbuf *out) {
  if (s.type == SIO__JSON_STRING) return sio__json_string(text + s.off, s.len, out);
  if (s.type == SIO__JSON_NUMBER) return sio__sbuf_append(out, text + s.off, s.len) ? -ENOMEM : 0;
  return -EINVAL;
}

int sio__wire_strings(const char *text, sio__json_slice arr, sio__sbuf *store, sio__sbuf *ptrs) {
  _Static_assert(sizeof(size_t) == sizeof(char *), "offsets become pointers in place");
  sio__json_iter it;
  sio__json_slice e;
  size_t first = ptrs->len;
  if (arr.type != SIO__JSON_ARRAY) return -EINVAL;
  sio__json_iter_init(&it, text + arr.off, arr.len);
  while (sio__json_iter_next(&it, &e)) {
    size_t off = store->len;
    e.off += arr.off;
    int rc = sio__wire_string(text, e, store);
    if (rc) return rc;
    if (sio__sbuf_appendc(store, 0) || sio__sbuf_append(ptrs, &off, sizeof off)) return -ENOMEM;
  }
  /* offsets become pointers once store has stopped moving (a string may hold a NUL) */
  for (size_t at = first; at < ptrs->len; at += sizeof(char *)) {
    size_t off;
    memcpy(&off, ptrs->data + at, sizeof off);
    const char *p = store->data + off;
    memcpy(ptrs->data + at, &p, sizeof p);
  }
  return 0;
}

int sio__wire_put_str(sio__sbuf *out, const char *s) {
  return sio__json_escape(out, s, strlen(s));
}

int sio__wire_put_strs(sio__sbuf *out, const char *const *v, size_t n) {
  sio__sbuf_appendc(out, '[');
  for (size_t i = 0; i < n; i++) {
    if (i) sio__sbuf_appendc(out, ',');
    sio__wire_put_str(out, v[i]);
  }
  return sio__sbuf_appendc(out, ']') ? -ENOMEM : 0;
}

void sio__wire_put_key(sio__sbuf *out, const char *key, int first) {
  if (!first) sio__sbuf_appendc(out, ',');
  sio__wire_put_str(out, key);
  sio__sbuf_appendc(out, ':');
}

int sio__wire_finish(sio__sbuf *out, const sio__sbuf *json, const sio__mp_bin *bins, size_t nbins,
                     int msgpack) {
  if (json->oom) return -ENOMEM;
  if (!nbins && !msgpack) return sio__sbuf_append(out, json->data, json->len) ? -ENOMEM : 0;
  int rc = sio__mp_from_json(out, json->data, json->len, nbins ? bins : NULL, nbins);
  return rc == -EINVAL ? SIO__CLUSTER_EFORMAT : rc;
}
