/* A Redis client's connection life: resolve, connect (uv_tcp_t), handshake (AUTH, SELECT,
 * INFO server), READY; on any failure the link is given up, every pending answer fails with
 * SIO_ECLOSED, DOWN is reported and the backoff timer (50 ms doubling to 2 s, jittered, so
 * that the servers of a cluster do not all come back in the same millisecond) schedules the
 * next attempt. A failure is logged once, when it starts, and the recovery once; the retries
 * in between are silent. The design (why not hiredis's async API) is in redis.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "redis/client_internal.h"

static void start_attempt(sio__redis *c);

/* ---- Freeing ---------------------------------------------------------------------------- */

static void release(sio__redis *c) {
  if (c->reader) redisReaderFree(c->reader);
  sio__sbuf_free(&c->out);
  sio__free(c->q);
  sio__redis_subs_free(c);
  sio__redis_url_free(&c->url);
  sio__free(c->name);
  sio__free(c);
}

static void handle_closed(uv_handle_t *h) {
  sio__redis *c = h->data;
  if (--c->handles == 0) release(c);
}

static void link_closed(uv_handle_t *h) {
  sio__redis_link *link = h->data;
  sio__sbuf_free(&link->inflight);
  sio__free(link);
}

/* Gives the current link up; it frees itself once closed. */
static void give_up_link(sio__redis *c) {
  sio__redis_link *link = c->link;
  if (!link) return;
  c->link = NULL;
  link->c = NULL;
  uv_close((uv_handle_t *)&link->tcp, link_closed);
}

void sio__redis_free(sio__redis *c) {
  if (!c || c->state == SIO__RS_FREED) return;
  c->state = SIO__RS_FREED;
  give_up_link(c);
  if (c->gai) uv_cancel((uv_req_t *)c->gai); /* its callback sees FREED and drops it */
  c->gai = NULL;
  sio__redis_fail_pending(c, SIO_ECLOSED);
  uv_close((uv_handle_t *)&c->timer, handle_closed);
  uv_close((uv_handle_t *)&c->flusher, handle_closed);
}

void sio__redis_unref(sio__redis *c) {
  if (!c || c->state == SIO__RS_FREED || c->unref) return;
  c->unref = 1;
  uv_unref((uv_handle_t *)&c->timer);
  uv_unref((uv_handle_t *)&c->flusher);
  if (c->link) uv_unref((uv_handle_t *)&c->link->tcp);
}

/* ---- Events and logs -------------------------------------------------------------------- */

static void report(sio__redis *c, sio__redis_event ev, int err) {
  if (c->opts.on_event && c->state != SIO__RS_FREED) c->opts.on_event(c, ev, err, c->opts.user);
}

static unsigned backoff_ms(sio__redis *c) {
  unsigned shift = c->attempt < 16 ? c->attempt : 16;
  uint64_t d = (uint64_t)c->opts.backoff_min_ms << shift;
  if (d > c->opts.backoff_max_ms) d = c->opts.backoff_max_ms;
  c->rng ^= c->rng << 13; /* xorshift64 */
  c->rng ^= c->rng >> 7;
  c->rng ^= c->rng << 17;
  return (unsigned)(d / 2 + c->rng % (d / 2 + 1)); /* in [d/2, d] */
}

static void on_timer(uv_timer_t *t) {
  sio__redis *c = t->data;
  if (c->state == SIO__RS_IDLE)
    start_attempt(c);
  else if (c->state == SIO__RS_CONNECTING || c->state == SIO__RS_HANDSHAKE)
    sio__redis_drop(c, SIO_ETIMEDOUT, "connect timeout");
}

void sio__redis_drop(sio__redis *c, int err, const char *why) {
  if (c->state == SIO__RS_FREED) return;
  int was_ready = c->state == SIO__RS_READY;
  give_up_link(c);
  if (c->gai) uv_cancel((uv_req_t *)c->gai);
  c->gai = NULL;
  c->state = SIO__RS_IDLE;
  sio__sbuf_reset(&c->out);
  uv_idle_stop(&c->flusher);
  c->resub_left = 0;
  snprintf(c->last_error, sizeof c->last_error, "%s", why ? why : sio__redis_strerror(err));
  if (!c->failing) {
    c->failing = 1;
    sio__warn("redis %s: %s %s:%d: %s; retrying with backoff", c->name,
              was_ready ? "lost the connection to" : "cannot connect to", c->url.host, c->url.port,
              c->last_error);
  }
  uv_timer_start(&c->timer, on_timer, backoff_ms(c), 0);
  c->attempt++;
  sio__redis_fail_pending(c, SIO_ECLOSED);
  report(c, SIO__REDIS_DOWN, err);
}

void sio__redis_became_ready(sio__redis *c) {
  uv_timer_stop(&c->timer);
  c->state = SIO__RS_READY;
  c->attempt = 0;
  if (c->failing)
    sio__info("redis %s: connected to %s:%d again (Redis %s)", c->name, c->url.host, c->url.port,
              c->version);
  else
    sio__debug("redis %s: connected to %s:%d (Redis %s)", c->name, c->url.host, c->url.port,
               c->version);
  c->failing = 0;
  report(c, SIO__REDIS_READY, 0);
}

/* ---- The handshake ---------------------------------------------------------------------- */

/* "redis_version:7.0.15\r\n" in INFO server's text. */
static void read_version(sio__redis *c, const redisReply *r) {
  c->version[0] = 0;
  c->sharded = 0;
  if (r->type != REDIS_REPLY_STRING) return;
  static const char key[] = "redis_version:";
  const char *p = r->str, *end = r->str + r->len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    size_t n = (size_t)(line_end - p);
    if (n > sizeof key - 1 && memcmp(p, key, sizeof key - 1) == 0) {
      size_t vlen = n - (sizeof key - 1);
      if (vlen && p[n - 1] == '\r') vlen--;
      if (vlen >= sizeof c->version) vlen = sizeof c->version - 1;
      memcpy(c->version, p + sizeof key - 1, vlen);
      c->version[vlen] = 0;
      c->sharded = atoi(c->version) >= 7;
      return;
    }
    p = line_end + 1;
  }
}

/* The answer of AUTH (user = (void *)1), SELECT (2) or INFO (3). */
void sio__redis_on_handshake_reply(sio__redis *c, int status, const redisReply *r, void *u) {
  if (status == SIO_ECLOSED || c->state != SIO__RS_HANDSHAKE) return;
  if (status != 0 && u == (void *)3 && r && strncmp(r->str, "NOPERM", 6) == 0) {
    /* an ACL user without +info (NOPERM): the version stays unknown, SSUBSCRIBE is tried */
    sio__debug("redis %s: INFO refused (%.*s)", c->name, (int)r->len, r->str);
    c->version[0] = 0;
    c->sharded = -1;
    status = 0;
    r = NULL;
  }
  if (status != 0) {
    const char *what = u == (void *)1 ? "AUTH" : u == (void *)2 ? "SELECT" : "INFO";
    char why[sizeof c->last_error];
    snprintf(why, sizeof why, "%s refused: %.*s", what, r ? (int)r->len : 0, r ? r->str : "");
    sio__redis_drop(c, SIO__REDIS_EAUTH, why);
    return;
  }
  if (u != (void *)3) return;
  if (r) read_version(c, r);
  c->resub_left += sio__redis_resubscribe(c);
  if (c->state == SIO__RS_HANDSHAKE && c->resub_left == 0) sio__redis_became_ready(c);
}

static int handshake(sio__redis *c) {
  sio__redis_pending p = {.fn.reply = sio__redis_on_handshake_reply, .user = (void *)1};
  int rc = 0;
  if (c->url.password) {
    const char *argv[3] = {"AUTH", c->url.user ? c->url.user : c->url.password, c->url.password};
    rc = sio__redis_enqueue(c, c->url.user ? 3 : 2, argv, NULL, &p);
  }
  if (!rc && c->url.db) {
    char db[16];
    snprintf(db, sizeof db, "%d", c->url.db);
    const char *argv[2] = {"SELECT", db};
    p.user = (void *)2;
    rc = sio__redis_enqueue(c, 2, argv, NULL, &p);
  }
  if (!rc) {
    const char *argv[2] = {"INFO", "server"};
    p.user = (void *)3;
    rc = sio__redis_enqueue(c, 2, argv, NULL, &p);
  }
  return rc;
}

/* ---- The link --------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  sio__redis_link *link = h->data;
  *buf = uv_buf_init(link->rbuf, sizeof link->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sio__redis_link *link = s->data;
  sio__redis *c = link->c;
  if (!c || n == 0) return;
  if (n < 0) {
    sio__redis_drop(c, n == UV_EOF ? SIO_ECLOSED : (int)n,
                    n == UV_EOF ? "connection closed by the server" : uv_strerror((int)n));
    return;
  }
  sio__redis_on_bytes(c, link, buf->base, (size_t)n);
}

static void on_connect(uv_connect_t *req, int status) {
  sio__redis_link *link = req->data;
  sio__redis *c = link->c;
  if (!c) return;
  if (status < 0) {
    sio__redis_drop(c, status, uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&link->tcp, 1);
  uv_tcp_keepalive(&link->tcp, 1, 60);
  if (c->reader) redisReaderFree(c->reader);
  c->reader = sio__redis_reader_new();
  int rc = c->reader ? uv_read_start((uv_stream_t *)&link->tcp, on_alloc, on_read) : -ENOMEM;
  c->state = SIO__RS_HANDSHAKE;
  if (!rc) rc = handshake(c);
  if (rc) sio__redis_drop(c, rc, sio__redis_strerror(rc));
}

static void connect_to(sio__redis *c, const struct sockaddr *addr) {
  sio__redis_link *link = sio__calloc(1, sizeof *link);
  if (!link) {
    sio__redis_drop(c, -ENOMEM, "out of memory");
    return;
  }
  uv_tcp_init(c->loop, &link->tcp);
  if (c->unref) uv_unref((uv_handle_t *)&link->tcp);
  link->tcp.data = link->connect_req.data = link->write_req.data = link;
  link->c = c;
  c->link = link;
  int rc = uv_tcp_connect(&link->connect_req, &link->tcp, addr, on_connect);
  if (rc) sio__redis_drop(c, rc, uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  sio__redis *c = req->data;
  int mine = c->gai == req && c->state == SIO__RS_CONNECTING;
  if (mine) c->gai = NULL;
  if (mine && status == 0 && res)
    connect_to(c, res->ai_addr);
  else if (mine)
    sio__redis_drop(c, status ? status : -ENOENT, uv_strerror(status ? status : -ENOENT));
  uv_freeaddrinfo(res);
  sio__free(req);
  if (--c->handles == 0) release(c);
}

static void start_attempt(sio__redis *c) {
  c->state = SIO__RS_CONNECTING;
  uv_timer_start(&c->timer, on_timer, c->opts.connect_timeout_ms, 0);
  struct sockaddr_storage ss;
  if (uv_ip4_addr(c->url.host, c->url.port, (struct sockaddr_in *)&ss) == 0 ||
      uv_ip6_addr(c->url.host, c->url.port, (struct sockaddr_in6 *)&ss) == 0) {
    connect_to(c, (const struct sockaddr *)&ss);
    return;
  }
  uv_getaddrinfo_t *req = sio__calloc(1, sizeof *req);
  if (!req) {
    sio__redis_drop(c, -ENOMEM, "out of memory");
    return;
  }
  req->data = c;
  char port[8];
  snprintf(port, sizeof port, "%d", c->url.port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = uv_getaddrinfo(c->loop, req, on_resolved, c->url.host, port, &hints);
  if (rc) {
    sio__free(req);
    sio__redis_drop(c, rc, uv_strerror(rc));
    return;
  }
  c->gai = req;
  c->handles++;
}

/* ---- Creation and accessors ------------------------------------------------------------- */

int sio__redis_new(uv_loop_t *loop, const char *url, const sio__redis_opts *opts,
                   sio__redis **out) {
  *out = NULL;
  if (!loop) return -EINVAL;
  sio__redis *c = sio__calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  int rc = sio__redis_url_parse(url, &c->url);
  if (rc) {
    sio__free(c);
    return rc;
  }
  if (opts) c->opts = *opts;
  if (!c->opts.backoff_min_ms) c->opts.backoff_min_ms = 50;
  if (!c->opts.backoff_max_ms) c->opts.backoff_max_ms = 2000;
  if (c->opts.backoff_max_ms < c->opts.backoff_min_ms)
    c->opts.backoff_max_ms = c->opts.backoff_min_ms;
  if (!c->opts.connect_timeout_ms) c->opts.connect_timeout_ms = 5000;
  c->name = sio__strdup(c->opts.name ? c->opts.name : "client");
  c->opts.name = c->name;
  if (!c->name) {
    sio__redis_url_free(&c->url);
    sio__free(c);
    return -ENOMEM;
  }
  c->loop = loop;
  c->sharded = -1;
  c->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
  uv_timer_init(loop, &c->timer);
  uv_idle_init(loop, &c->flusher);
  c->timer.data = c->flusher.data = c;
  c->handles = 2;
  uv_timer_start(&c->timer, on_timer, 0, 0); /* the first attempt, so that no callback runs
                                                before sio__redis_new returns */
  *out = c;
  return 0;
}

int sio__redis_is_ready(const sio__redis *c) {
  return c->state == SIO__RS_READY;
}
const char *sio__redis_server_version(const sio__redis *c) {
  return c->version;
}
int sio__redis_has_sharded(const sio__redis *c) {
  return c->sharded;
}
const char *sio__redis_last_error(const sio__redis *c) {
  return c->last_error;
}
const sio__redis_url *sio__redis_get_url(const sio__redis *c) {
  return &c->url;
}
