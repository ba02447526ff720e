/* Redis URLs, as node-redis and ioredis take them: redis://[[user]:password@]host[:port][/db].
 * User and password are percent-decoded (a password may hold '@', ':' or '/' escaped); an
 * IPv6 host is written in brackets. What this layer cannot do is refused by its own code, so
 * that a log line says why: rediss:// (no TLS in Debian's hiredis 0.14 build, and our
 * connection has none), Sentinel URLs, Redis Cluster URLs (several hosts), anything else.
 * Also the error messages of the whole layer (sio__redis_strerror). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "sio/core.h"
#include "redis/redis.h"

const char *sio__redis_strerror(int err) {
  switch (err) {
  case SIO__REDIS_EREPLY:
    return "Redis answered with an error";
  case SIO__REDIS_EAUTH:
    return "Redis refused AUTH or SELECT";
  case SIO__REDIS_EPROTO:
    return "Redis protocol error";
  case SIO__REDIS_ENOSHARD:
    return "sharded pub/sub needs Redis 7.0 or later";
  case SIO__REDIS_ESUBSCRIBER:
    return "not a command for this Redis client's mode";
  case SIO__REDIS_EURL:
    return "malformed Redis URL (expected redis://[[user]:password@]host[:port][/db])";
  case SIO__REDIS_ESCHEME:
    return "not a redis:// URL";
  case SIO__REDIS_ETLS:
    return "rediss:// (TLS) is not supported; use redis://";
  case SIO__REDIS_ESENTINEL:
    return "Redis Sentinel URLs are not supported";
  case SIO__REDIS_ECLUSTER:
    return "Redis Cluster (several hosts) is not supported";
  default:
    return sio_strerror(err);
  }
}

/* The error for the scheme `s` (n bytes, before "://"), 0 for redis. */
static int scheme_error(const char *s, size_t n) {
  static const struct {
    const char *name;
    int err;
  } schemes[] = {{"redis", 0},
                 {"rediss", SIO__REDIS_ETLS},
                 {"redis+tls", SIO__REDIS_ETLS},
                 {"redis-sentinel", SIO__REDIS_ESENTINEL},
                 {"redis+sentinel", SIO__REDIS_ESENTINEL},
                 {"rediss+sentinel", SIO__REDIS_ESENTINEL},
                 {"sentinel", SIO__REDIS_ESENTINEL},
                 {"redis-cluster", SIO__REDIS_ECLUSTER},
                 {"redis+cluster", SIO__REDIS_ECLUSTER},
                 {"rediss+cluster", SIO__REDIS_ECLUSTER}};
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strlen(schemes[i].name) == n && strncasecmp(schemes[i].name, s, n) == 0)
      return schemes[i].err;
  return SIO__REDIS_ESCHEME;
}

/* A NUL-terminated, percent-decoded copy of s[0..n), or NULL (*err set). */
static char *decode_part(const char *s, size_t n, int *err) {
  char *out = sio__malloc(n + 1);
  if (!out) {
    *err = -ENOMEM;
    return NULL;
  }
  int bad;
  size_t len = sio__pct_decode(s, n, out, 0, &bad);
  if (bad || memchr(out, 0, len)) { /* a NUL byte cannot go through AUTH's C strings */
    sio__free(out);
    *err = SIO__REDIS_EURL;
    return NULL;
  }
  return out;
}

/* Decimal digits s[0..n) into *v, within [min, max]. */
static int parse_decimal(const char *s, size_t n, long min, long max, int *v) {
  if (n == 0 || n > 10) return -1;
  long x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (s[i] - '0');
  }
  if (x < min || x > max) return -1;
  *v = (int)x;
  return 0;
}

/* user:password before '@' (either part may be empty; a user needs a password). */
static int parse_userinfo(const char *s, size_t n, sio__redis_url *u) {
  const char *colon = memchr(s, ':', n);
  if (!colon) return SIO__REDIS_EURL;
  size_t ulen = (size_t)(colon - s), plen = n - ulen - 1;
  int err = 0;
  if (ulen && !(u->user = decode_part(s, ulen, &err))) return err;
  if (plen && !(u->password = decode_part(colon + 1, plen, &err))) return err;
  if (u->user && !u->password) return SIO__REDIS_EURL;
  return 0;
}

/* host[:port], host possibly [IPv6]. */
static int parse_hostport(const char *s, size_t n, sio__redis_url *u) {
  if (memchr(s, ',', n)) return SIO__REDIS_ECLUSTER;
  const char *host = s, *rest;
  size_t hlen;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) return SIO__REDIS_EURL;
    host = s + 1;
    hlen = (size_t)(close - host);
    rest = close + 1;
  } else {
    const char *colon = memchr(s, ':', n);
    hlen = colon ? (size_t)(colon - s) : n;
    rest = s + hlen;
  }
  size_t rlen = n - (size_t)(rest - s);
  if (hlen == 0 || memchr(host, '%', hlen) || memchr(host, '@', hlen)) return SIO__REDIS_EURL;
  if (rlen && (rest[0] != ':' || parse_decimal(rest + 1, rlen - 1, 1, 65535, &u->port)))
    return SIO__REDIS_EURL;
  if (!(u->host = sio__strndup(host, hlen))) return -ENOMEM;
  return 0;
}

/* "", "/" or "/<db>". */
static int parse_path(const char *s, size_t n, sio__redis_url *u) {
  if (memchr(s, '?', n) || memchr(s, '#', n)) return SIO__REDIS_EURL;
  if (n <= 1) return 0;
  return parse_decimal(s + 1, n - 1, 0, INT_MAX, &u->db) ? SIO__REDIS_EURL : 0;
}

int sio__redis_url_parse(const char *url, sio__redis_url *out) {
  memset(out, 0, sizeof *out);
  if (!url) return SIO__REDIS_EURL;
  const char *sep = strstr(url, "://");
  if (!sep) return SIO__REDIS_ESCHEME;
  int err = scheme_error(url, (size_t)(sep - url));
  if (err) return err;
  out->port = 6379;
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (auth[i] == '@') at = auth + i; /* the last one: a password may hold an unescaped '@' */
  if (at) err = parse_userinfo(auth, (size_t)(at - auth), out);
  const char *hp = at ? at + 1 : auth;
  if (!err) err = parse_hostport(hp, (size_t)(auth + alen - hp), out);
  if (!err) err = parse_path(auth + alen, strlen(auth + alen), out);
  if (err) sio__redis_url_free(out);
  return err;
}

void sio__redis_url_free(sio__redis_url *u) {
  sio__free(u->host);
  sio__free(u->user);
  sio__free(u->password);
  memset(u, 0, sizeof *u);
}
