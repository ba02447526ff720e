/* The Redis Streams adapter's entries (see streams_entry.h): the XREAD / XRANGE reply shapes,
 * an entry's fields, the ClusterAdapter message it carries, and the stream a namespace uses.
 *
 * An entry's message is rebuilt as one msgpack map {type, data, uid, nsp} for the cluster
 * decoder: JSON data goes through JSON.parse's semantics (sio__mp_from_json), msgpack data
 * (base64) is put in as it is. So the ClusterAdapter checks of cluster/message.c apply to
 * entries as to pub/sub messages. */
#include "redis_adapter/streams_entry.h"

#include <errno.h>
#include <string.h>

#include "cluster/msgpack.h"
#include "cluster/mp_json.h"
#include "core/alloc.h"
#include "core/codec.h"

static int is_str(const redisReply *r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static int field_is(const redisReply *k, const char *name) {
  size_t n = strlen(name);
  return k->len == n && memcmp(k->str, name, n) == 0;
}

static void set_field(const redisReply *v, const char **p, size_t *len) {
  *p = v->str, *len = v->len;
}

int sio__stream_entry_parse(const redisReply *r, sio__stream_entry *e) {
  memset(e, 0, sizeof(*e));
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_str(r->element[0]))
    return -EPROTO;
  const redisReply *f = r->element[1];
  if (!f || f->type != REDIS_REPLY_ARRAY || f->elements % 2) return -EPROTO;
  set_field(r->element[0], &e->id, &e->id_len);
  for (size_t i = 0; i < f->elements; i += 2) {
    const redisReply *k = f->element[i], *v = f->element[i + 1];
    if (!is_str(k) || !is_str(v)) return -EPROTO;
    if (field_is(k, "uid")) set_field(v, &e->uid, &e->uid_len);
    if (field_is(k, "nsp")) set_field(v, &e->nsp, &e->nsp_len);
    if (field_is(k, "type")) set_field(v, &e->type, &e->type_len);
    if (field_is(k, "data")) set_field(v, &e->data, &e->data_len);
  }
  return 0;
}

int sio__stream_xread_entries(const redisReply *r, const redisReply **entries) {
  *entries = NULL;
  if (r && r->type == REDIS_REPLY_NIL) return 0;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return -EPROTO;
  const redisReply *s = r->element[0];
  if (!s || s->type != REDIS_REPLY_ARRAY || s->elements != 2 || !is_str(s->element[0]) ||
      !s->element[1] || s->element[1]->type != REDIS_REPLY_ARRAY)
    return -EPROTO;
  *entries = s->element[1];
  return 0;
}

/* parseInt(type, 10): optional spaces and sign, then the leading digits. */
static int parse_type(const char *s, size_t n, int *out) {
  size_t i = 0;
  int neg = 0;
  long v = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  size_t start = i;
  for (; i < n && s[i] >= '0' && s[i] <= '9' && v < 1000000; i++) v = v * 10 + (s[i] - '0');
  if (i == start) return SIO__CLUSTER_EFOREIGN;
  *out = (int)(neg ? -v : v);
  return 0;
}

static int put_data(sio__sbuf *buf, const sio__stream_entry *e) {
  if (e->data[0] == '{') {
    int rc = sio__mp_from_json(buf, e->data, e->data_len, NULL, 0);
    return rc == -EINVAL ? SIO__CLUSTER_EFORMAT : rc;
  }
  char *raw = sio__malloc(e->data_len * 3 / 4 + 3);
  if (!raw) return -ENOMEM;
  long n = sio__base64_decode(raw, e->data, e->data_len);
  int rc = n < 0 || sio__mp_validate(raw, (size_t)n, 0) ? SIO__CLUSTER_EFORMAT : 0;
  if (!rc && sio__sbuf_append(buf, raw, (size_t)n)) rc = -ENOMEM;
  sio__free(raw);
  return rc;
}

int sio__stream_entry_message(const sio__stream_entry *e, sio__sbuf *buf, sio__cluster_msg *m) {
  int type = 0, rc;
  memset(m, 0, sizeof(*m));
  if (!e->nsp || !e->nsp_len || !e->type) return SIO__CLUSTER_EFOREIGN; /* Node: if (message.nsp) */
  if ((rc = parse_type(e->type, e->type_len, &type))) return rc;
  int with_data = e->data && e->data_len;
  sio__mp_put_map(buf, 3 + (with_data != 0));
  sio__mp_put_str(buf, "type", 4);
  sio__mp_put_number(buf, type);
  if (with_data) {
    sio__mp_put_str(buf, "data", 4);
    if ((rc = put_data(buf, e))) return rc;
  }
  sio__mp_put_str(buf, "uid", 3);
  if (e->uid)
    sio__mp_put_str(buf, e->uid, e->uid_len);
  else
    sio__mp_put_nil(buf); /* undefined: never our uid */
  sio__mp_put_str(buf, "nsp", 3);
  sio__mp_put_str(buf, e->nsp, e->nsp_len);
  if (buf->oom) return -ENOMEM;
  return sio__cluster_decode(m, buf->data, buf->len);
}

/* One code point of UTF-8 at s (n > 0 bytes left): *cp, and the bytes it took; a bad
 * sequence is U+FFFD for its first byte. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len = s[0] < 0x80                   ? 1
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
               : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                             : 0;
  uint32_t v = len == 1 ? s[0] : len == 2 ? s[0] & 0x1f : len == 3 ? s[0] & 0x0f : s[0] & 0x07;
  if (!len || len > n) goto bad;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) goto bad;
    v = v << 6 | (s[i] & 0x3f);
  }
  if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v < 0xe000))) ||
      (len == 4 && (v < 0x10000 || v > 0x10ffff)))
    goto bad;
  *cp = v;
  return len;
bad:
  *cp = 0xfffd;
  return 1;
}

int32_t sio__stream_hash(const char *s, size_t n) {
  uint32_t h = 0, cp;
  for (size_t i = 0; i < n;) {
    i += utf8_next((const unsigned char *)s + i, n - i, &cp);
    if (cp < 0x10000) {
      h = h * 31 + cp;
    } else {
      cp -= 0x10000;
      h = h * 31 + (0xd800 + (cp >> 10));
      h = h * 31 + (0xdc00 + (cp & 0x3ff));
    }
  }
  return (int32_t)h;
}

int sio__stream_name(sio__sbuf *out, const char *name, unsigned count, const char *nsp) {
  if (count <= 1) return sio__sbuf_appends(out, name) ? -ENOMEM : 0;
  int32_t i = sio__stream_hash(nsp, strlen(nsp)) % (int32_t)count;
  return sio__sbuf_printf(out, "%s-%d", name, (int)i) ? -ENOMEM : 0;
}

int sio__stream_id_valid(const char *s, size_t n) {
  size_t i = 0, a, b;
  for (a = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
  }
  if (i == a || i >= n || s[i++] != '-') return 0;
  for (b = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
  }
  return i > b && i == n;
}

static int parse_u64(const char *s, size_t n, uint64_t *v) {
  *v = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t d = (uint64_t)(s[i] - '0');
    if (*v > (UINT64_MAX - d) / 10) return -EINVAL;
    *v = *v * 10 + d;
  }
  return 0;
}

int sio__stream_id_parse(const char *s, size_t n, sio__stream_id *id) {
  if (!sio__stream_id_valid(s, n)) return -EINVAL;
  const char *dash = memchr(s, '-', n);
  size_t a = (size_t)(dash - s);
  if (parse_u64(s, a, &id->ms) || parse_u64(dash + 1, n - a - 1, &id->seq)) return -EINVAL;
  return 0;
}

int sio__stream_id_cmp(sio__stream_id a, sio__stream_id b) {
  if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
  return a.seq < b.seq ? -1 : a.seq > b.seq;
}

int sio__stream_id_next(sio__sbuf *out, sio__stream_id id) {
  if (id.seq == UINT64_MAX)
    id.ms++, id.seq = 0; /* what comes after, in Redis's order */
  else
    id.seq++;
  return sio__sbuf_printf(out, "%llu-%llu", (unsigned long long)id.ms, (unsigned long long)id.seq)
             ? -ENOMEM
             : 0;
}
