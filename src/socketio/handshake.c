/* socket.handshake as one object, as Node's socket.io builds it (Socket.buildHandshake) and
 * JSON.stringify writes it: {"headers","time","address","xdomain","secure","issued","url",
 * "query","auth"}; and io's allowRequest option (the Engine.IO server's, engine/allow.c).
 *
 * The values are Node's, not a plain dump of the request:
 * - headers: IncomingMessage.headers. Names lowercased; values as Node decodes header bytes
 *   (latin1, so UTF-8 bytes become one character each); repeated headers joined with ", "
 *   (cookie with "; "), set-cookie an array, and for the fields Node keeps once (host,
 *   user-agent, authorization, content-type, ...) the first value only.
 * - query: querystring.parse of the URL's query, as engine.io's prepare() makes req._query:
 *   '+' is a space, escapes decoded (bytes that are not UTF-8 become U+FFFD), a repeated
 *   parameter an array of its values, a parameter without '=' the empty string, at most the
 *   first 1000 '&'-separated pieces.
 * - both objects list integer-like keys ("0", "42") first in ascending order, as JavaScript
 *   objects do, then the others in the order they first came.
 * - time: new Date(issued).toString() in the server's local time zone ("Thu Dec 03 2026
 *   23:02:20 GMT+0000 (Coordinated Universal Time)"); where Node prints the ICU long name of
 *   the zone, a zone other than UTC and GMT shows its abbreviation ("CET").
 * - issued: when the socket was created (its namespace CONNECT), in ms since the epoch.
 * - auth: the CONNECT payload, "{}" without one.
 * A handshake released by drop_handshake has empty headers and query and no URL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "sio/handshake.h"
#include "socketio/io_internal.h"

int sio_io_allow_request(sio_io *io, sio_allow_fn fn, void *user) {
  if (!io) return -EINVAL;
  return sio_eio_allow_request(io->eio, fn, user);
}

/* --- objects as JavaScript orders them ---------------------------------------------------- */

enum { JOIN_COMMA = 0, JOIN_SEMI, KEEP_FIRST, ARRAY_ALWAYS, ARRAY_REPEATED };

/* One key of an object being built: its value as raw text (joined values) or as the JSON
 * items of an array. */
typedef struct entry {
  char *key;
  size_t klen;
  uint8_t mode;
  size_t nvals;
  sio__sbuf val; /* JOIN_*, KEEP_FIRST: the raw text; ARRAY_*: escaped items, comma-joined */
} entry;

typedef struct object {
  entry *v;
  size_t n, cap;
  int oom;
} object;

static void object_free(object *o) {
  for (size_t i = 0; i < o->n; i++) {
    sio__free(o->v[i].key);
    sio__sbuf_free(&o->v[i].val);
  }
  sio__free(o->v);
}

/* The entry for key (created on first use), or NULL when out of memory. */
static entry *object_get(object *o, const char *key, size_t klen, int mode) {
  for (size_t i = 0; i < o->n; i++)
    if (o->v[i].klen == klen && memcmp(o->v[i].key, key, klen) == 0) return &o->v[i];
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 16;
    entry *v = sio__realloc(o->v, cap * sizeof *v);
    if (!v) return NULL;
    o->v = v;
    o->cap = cap;
  }
  entry *e = &o->v[o->n];
  *e = (entry){.key = sio__malloc(klen + 1), .klen = klen, .mode = (uint8_t)mode};
  if (!e->key) return NULL;
  memcpy(e->key, key, klen);
  e->key[klen] = '\0';
  o->n++;
  return e;
}

/* Bytes read as latin1 (as Node decodes header and request-line bytes), in UTF-8. */
static void append_latin1(sio__sbuf *to, const char *val, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)val[i];
    if (c < 0x80) {
      sio__sbuf_appendc(to, (char)c);
    } else { /* U+0080..U+00FF */
      sio__sbuf_appendc(to, (char)(0xC0 | (c >> 6)));
      sio__sbuf_appendc(to, (char)(0x80 | (c & 0x3F)));
    }
  }
}

/* Appends one value (raw bytes, latin1 when latin1 is set) to key's entry. */
static void object_add(object *o, const char *key, size_t klen, int mode, const char *val,
                       size_t vlen, int latin1) {
  entry *e = object_get(o, key, klen, mode);
  if (!e) {
    o->oom = 1;
    return;
  }
  if (e->nvals && e->mode == KEEP_FIRST) return;
  sio__sbuf raw = SIO__SBUF_INIT, *to = e->mode <= KEEP_FIRST ? &e->val : &raw;
  if (e->nvals && e->mode <= JOIN_SEMI) sio__sbuf_appends(to, e->mode == JOIN_SEMI ? "; " : ", ");
  if (latin1)
    append_latin1(to, val, vlen);
  else
    sio__sbuf_append(to, val, vlen);
  if (e->mode > KEEP_FIRST) {
    if (e->nvals) sio__sbuf_appendc(&e->val, ',');
    sio__json_escape(&e->val, raw.data ? raw.data : "", raw.len);
    if (raw.oom) e->val.oom = 1;
    sio__sbuf_free(&raw);
  }
  if (e->val.oom) o->oom = 1;
  e->nvals++;
}

/* A canonical array index ("0", "7", "42"; not "007" nor "-1"): such keys come first in a
 * JavaScript object, ascending. Its value in *out. */
static int array_index(const entry *e, unsigned long long *out) {
  if (!e->klen || e->klen > 10 || (e->klen > 1 && e->key[0] == '0')) return 0;
  unsigned long long v = 0;
  for (size_t i = 0; i < e->klen; i++) {
    if (e->key[i] < '0' || e->key[i] > '9') return 0;
    v = v * 10 + (unsigned)(e->key[i] - '0');
  }
  *out = v;
  return v < 4294967295ULL;
}

static void put_entry(sio__sbuf *sb, const entry *e, int *first) {
  if (!*first) sio__sbuf_appendc(sb, ',');
  *first = 0;
  sio__json_escape(sb, e->key, e->klen);
  sio__sbuf_appendc(sb, ':');
  if (e->mode <= KEEP_FIRST) {
    sio__json_escape(sb, e->val.data ? e->val.data : "", e->val.len);
  } else if (e->mode == ARRAY_REPEATED && e->nvals == 1) {
    sio__sbuf_append(sb, e->val.data, e->val.len);
  } else {
    sio__sbuf_appendc(sb, '[');
    sio__sbuf_append(sb, e->val.data, e->val.len);
    sio__sbuf_appendc(sb, ']');
  }
}

static int by_index(const void *a, const void *b) {
  unsigned long long x = 0, y = 0; /* array_index sets them for every entry sorted here */
  array_index(*(const entry *const *)a, &x);
  array_index(*(const entry *const *)b, &y);
  return x < y ? -1 : x > y;
}

static void object_write(sio__sbuf *sb, object *o) {
  sio__sbuf_appendc(sb, '{');
  int first = 1;
  size_t nidx = 0;
  unsigned long long ix;
  for (size_t i = 0; i < o->n; i++) nidx += array_index(&o->v[i], &ix);
  if (nidx) {
    const entry **idx = sio__malloc(nidx * sizeof *idx);
    if (!idx) {
      sb->oom = 1;
      return;
    }
    for (size_t i = 0, k = 0; i < o->n; i++)
      if (array_index(&o->v[i], &ix)) idx[k++] = &o->v[i];
    qsort(idx, nidx, sizeof *idx, by_index);
    for (size_t k = 0; k < nidx; k++) put_entry(sb, idx[k], &first);
    sio__free(idx);
  }
  for (size_t i = 0; i < o->n; i++)
    if (!array_index(&o->v[i], &ix)) put_entry(sb, &o->v[i], &first);
  sio__sbuf_appendc(sb, '}');
  if (o->oom) sb->oom = 1;
}

/* --- headers (Node's IncomingMessage._addHeaderLine) -------------------------------------- */

static int header_mode(const char *low) {
  static const char *const first_only[] = {"age",
                                           "authorization",
                                           "content-length",
                                           "content-type",
                                           "etag",
                                           "expires",
                                           "from",
                                           "host",
                                           "if-modified-since",
                                           "if-unmodified-since",
                                           "last-modified",
                                           "location",
                                           "max-forwards",
                                           "proxy-authorization",
                                           "referer",
                                           "retry-after",
                                           "server",
                                           "user-agent"};
  if (strcmp(low, "set-cookie") == 0) return ARRAY_ALWAYS;
  if (strcmp(low, "cookie") == 0) return JOIN_SEMI;
  for (size_t i = 0; i < sizeof first_only / sizeof *first_only; i++)
    if (strcmp(low, first_only[i]) == 0) return KEEP_FIRST;
  return JOIN_COMMA;
}

static void put_headers(sio__sbuf *sb, const sio__eio_session *es) {
  object o = {0};
  size_t n = es ? sio__eio_header_count(es) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (!sio__eio_header_at(es, i, &name, &value)) continue;
    char low[256];
    size_t l = strlen(name);
    if (l >= sizeof low) continue; /* the parser's header limits keep names far shorter */
    for (size_t k = 0; k <= l; k++)
      low[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
    object_add(&o, low, l, header_mode(low), value, strlen(value), 1);
  }
  object_write(sb, &o);
  object_free(&o);
}

/* --- query (Node's querystring.parse) ------------------------------------------------------ */

#define QS_MAX_KEYS 1000

static void put_query(sio__sbuf *sb, const char *q) {
  object o = {0};
  size_t qlen = q ? strcspn(q, "#") : 0, pieces = 0;
  char *buf = qlen ? sio__malloc(qlen + 1) : NULL;
  if (qlen && !buf) o.oom = 1;
  for (const char *p = q, *end = q ? q + qlen : NULL; buf && p < end && pieces < QS_MAX_KEYS;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    pieces++;
    if (stop > p) {
      const char *eq = memchr(p, '=', (size_t)(stop - p));
      const char *kend = eq ? eq : stop;
      size_t kl = sio__pct_decode(p, (size_t)(kend - p), buf, 1, NULL);
      char *key = sio__malloc(kl + 1);
      if (!key) {
        o.oom = 1;
        break;
      }
      memcpy(key, buf, kl);
      size_t vl = eq ? sio__pct_decode(eq + 1, (size_t)(stop - eq - 1), buf, 1, NULL) : 0;
      object_add(&o, key, kl, ARRAY_REPEATED, buf, vl, 0);
      sio__free(key);
    }
    p = amp ? amp + 1 : end;
  }
  sio__free(buf);
  object_write(sb, &o);
  object_free(&o);
}

/* --- the object ----------------------------------------------------------------------------- */

/* new Date(ms).toString(), local time. */
static size_t format_time(uint64_t ms, char *out, size_t size) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char day[40], zone[48];
  localtime_r(&t, &tm);
  strftime(day, sizeof day, "%a %b %d %Y %H:%M:%S", &tm);
  long off = tm.tm_gmtoff / 60;
  const char *abbr = tm.tm_zone ? tm.tm_zone : "";
  const char *name = strcmp(abbr, "UTC") == 0 || strcmp(abbr, "UCT") == 0
                         ? "Coordinated Universal Time"
                     : strcmp(abbr, "GMT") == 0 ? "Greenwich Mean Time"
                                                : abbr;
  snprintf(zone, sizeof zone, "%s", name);
  int n = snprintf(out, size, "%s GMT%c%02ld%02ld (%s)", day, off < 0 ? '-' : '+', labs(off) / 60,
                   labs(off) % 60, zone);
  return n < 0 ? 0 : (size_t)n;
}

static void json_str(sio__sbuf *sb, const char *s) {
  sio__json_escape(sb, s ? s : "", s ? strlen(s) : 0);
}

int sio__handshake_write(sio__sbuf *sb, const sio_socket *s) {
  const sio__eio_session *es = s->client ? s->client->es : NULL;
  char time[128];
  format_time(s->issued, time, sizeof time);
  sio__sbuf_appends(sb, "{\"headers\":");
  put_headers(sb, es);
  sio__sbuf_appends(sb, ",\"time\":");
  json_str(sb, time);
  sio__sbuf_appends(sb, ",\"address\":");
  json_str(sb, sio_handshake_address(s));
  sio__sbuf_appends(sb, ",\"xdomain\":");
  sio__sbuf_appends(sb, sio_handshake_xdomain(s) ? "true" : "false");
  sio__sbuf_appends(sb, ",\"secure\":");
  sio__sbuf_appends(sb, sio_handshake_secure(s) ? "true" : "false");
  sio__sbuf_appends(sb, ",\"issued\":");
  sio__sbuf_append_u64(sb, s->issued);
  const char *url = sio_handshake_url(s);
  if (url) { /* undefined in Node without a request: JSON.stringify leaves the key out */
    sio__sbuf_appends(sb, ",\"url\":");
    sio__sbuf u = SIO__SBUF_INIT;
    append_latin1(&u, url, strlen(url));
    sio__json_escape(sb, u.data ? u.data : "", u.len);
    if (u.oom) sb->oom = 1;
    sio__sbuf_free(&u);
  }
  sio__sbuf_appends(sb, ",\"query\":");
  put_query(sb, es ? sio__eio_query_string(es) : NULL);
  sio__sbuf_appends(sb, ",\"auth\":");
  sio__json_canon(sb, s->auth, strlen(s->auth));
  sio__sbuf_appendc(sb, '}');
  return sb->oom ? -ENOMEM : 0;
}

size_t sio_handshake_json(const sio_socket *s, char *buf, size_t size) {
  if (!s) return 0;
  sio__sbuf sb = SIO__SBUF_INIT;
  size_t n = 0;
  if (sio__handshake_write(&sb, s) == 0) {
    n = sb.len;
    if (size) {
      size_t k = n < size - 1 ? n : size - 1;
      memcpy(buf, sb.data, k);
      buf[k] = '\0';
    }
  }
  sio__sbuf_free(&sb);
  return n;
}

json_t *sio_handshake_value(const sio_socket *s) {
  if (!s) return NULL;
  sio__sbuf sb = SIO__SBUF_INIT;
  json_t *v = sio__handshake_write(&sb, s) == 0 ? sio__json_to_jansson(sb.data, sb.len) : NULL;
  sio__sbuf_free(&sb);
  return v;
}

size_t sio_handshake_time(const sio_socket *s, char *buf, size_t size) {
  if (!s) return 0;
  char t[128];
  size_t n = format_time(s->issued, t, sizeof t);
  if (size) snprintf(buf, size, "%s", t);
  return n;
}

int sio_handshake_xdomain(const sio_socket *s) {
  return sio_handshake_header(s, "origin") != NULL;
}
