/* Local sockets described for another node's fetchSockets (sio_adapter_describe_sockets): the
 * id, the handshake as Node's socket.handshake serialises ({"headers","time","address",
 * "xdomain","secure","issued","url","query","auth"}), the rooms and socket.data: the JSON the
 * application set with sio_socket_set_data_json, else "{}" (Node's default). A socket whose
 * handshake was dropped (drop_handshake) has empty headers and query. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

static void json_str(sio__sbuf *sb, const char *s) {
  sio__json_escape(sb, s ? s : "", s ? strlen(s) : 0);
}

static void put_headers(sio__sbuf *sb, const sio__eio_session *es) {
  sio__sbuf_appendc(sb, '{');
  size_t n = es ? sio__eio_header_count(es) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (!sio__eio_header_at(es, i, &name, &value)) continue; /* 1: found */
    char low[128];                                           /* Node lowercases header names */
    size_t l = strnlen(name, sizeof low - 1);
    for (size_t k = 0; k < l; k++) low[k] = (char)tolower((unsigned char)name[k]);
    low[l] = '\0';
    if (i) sio__sbuf_appendc(sb, ',');
    json_str(sb, low);
    sio__sbuf_appendc(sb, ':');
    json_str(sb, value);
  }
  sio__sbuf_appendc(sb, '}');
}

/* Each parameter once, with its (decoded, first) value. */
static void put_query(sio__sbuf *sb, const sio__eio_session *es) {
  sio__sbuf_appendc(sb, '{');
  const char *q = es ? sio__eio_query_string(es) : NULL;
  int first = 1;
  for (const char *p = q; p && *p;) {
    const char *end = strchr(p, '&');
    size_t plen = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', plen);
    size_t klen = eq ? (size_t)(eq - p) : plen;
    char key[128];
    if (klen && klen < sizeof key) {
      memcpy(key, p, klen);
      key[klen] = '\0';
      const char *seen = strstr(q, key); /* an earlier parameter of that name was written */
      int dup = 0;
      for (; seen && seen < p; seen = strstr(seen + 1, key))
        if ((seen == q || seen[-1] == '&') &&
            (seen[klen] == '=' || seen[klen] == '&' || seen[klen] == '\0'))
          dup = 1;
      const char *v = sio_eio_socket_query(es, key);
      if (!dup && v) {
        if (!first) sio__sbuf_appendc(sb, ',');
        first = 0;
        json_str(sb, key);
        sio__sbuf_appendc(sb, ':');
        json_str(sb, v);
      }
    }
    p = end ? end + 1 : p + plen;
  }
  sio__sbuf_appendc(sb, '}');
}

/* new Date(issued).toString(), in UTC. */
static void put_time(sio__sbuf *sb, uint64_t issued_ms) {
  time_t t = (time_t)(issued_ms / 1000);
  struct tm tm;
  char buf[96];
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
  json_str(sb, buf);
}

static void put_handshake(sio__sbuf *sb, const sio_socket *s) {
  const sio__eio_session *es = s->client ? s->client->es : NULL;
  sio__sbuf_appends(sb, "{\"headers\":");
  put_headers(sb, es);
  uint64_t issued = sio_handshake_issued(s);
  sio__sbuf_appends(sb, ",\"time\":");
  put_time(sb, issued);
  sio__sbuf_appends(sb, ",\"address\":");
  json_str(sb, sio_handshake_address(s));
  sio__sbuf_appends(sb, ",\"xdomain\":");
  sio__sbuf_appends(sb, sio_handshake_header(s, "origin") ? "true" : "false");
  sio__sbuf_appends(sb, ",\"secure\":");
  sio__sbuf_appends(sb, sio_handshake_secure(s) ? "true" : "false");
  sio__sbuf_appends(sb, ",\"issued\":");
  sio__sbuf_append_u64(sb, issued);
  sio__sbuf_appends(sb, ",\"url\":");
  json_str(sb, sio_handshake_url(s));
  sio__sbuf_appends(sb, ",\"query\":");
  put_query(sb, es);
  sio__sbuf_appends(sb, ",\"auth\":");
  sio__sbuf_appends(sb, s->auth);
  sio__sbuf_appendc(sb, '}');
}

typedef struct names {
  const char **v;
  size_t n, cap;
  int oom;
} names;

static int add_room(const char *room, size_t len, void *ctx) {
  names *r = ctx;
  (void)len;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    const char **p = sio__realloc(r->v, cap * sizeof(*p));
    if (!p) {
      r->oom = 1;
      return 1;
    }
    r->v = p;
    r->cap = cap;
  }
  r->v[r->n++] = room;
  return 0;
}

/* d (and the texts in hs, the rooms in r) for one socket. */
static int describe(sio_remote_socket *d, sio__sbuf *hs, names *r, const sio_socket *s) {
  put_handshake(hs, s);
  s->nsp->adapter->ops->rooms_of(s->nsp->adapter, &s->member, add_room, r);
  if (hs->oom || r->oom) return -ENOMEM;
  d->id = s->id;
  d->handshake_json = hs->data;
  d->rooms = r->v;
  d->nrooms = r->n;
  d->data_json = sio_socket_data_json(s);
  return 0;
}

int sio_adapter_describe_sockets(sio_nsp *nsp, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                 void *user) {
  if (!nsp || !o || !fn || nsp->kind == SIO__NSP_PARENT) return -EINVAL;
  sio_socket **v = NULL;
  size_t n = 0;
  int rc = sio__select_local(nsp, o, &v, &n);
  if (rc) return rc;
  sio_remote_socket *d = n ? sio__calloc(n, sizeof(*d)) : NULL;
  sio__sbuf *hs = n ? sio__calloc(n, sizeof(*hs)) : NULL;
  names *r = n ? sio__calloc(n, sizeof(*r)) : NULL;
  if (n && (!d || !hs || !r)) rc = -ENOMEM;
  for (size_t i = 0; !rc && i < n; i++) rc = describe(&d[i], &hs[i], &r[i], v[i]);
  if (!rc) fn(0, d, n, user);
  for (size_t i = 0; hs && r && i < n; i++) {
    sio__sbuf_free(&hs[i]);
    sio__free(r[i].v);
  }
  sio__free(d);
  sio__free(hs);
  sio__free(r);
  sio__select_free(v, n);
  return rc;
}
