/* sio-server's HTTP client (httpc.h): resolve, connect, write the request, read to the end,
 * parse the status line and the body; a timer bounds the whole exchange. */
#include "httpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESPONSE (1u << 20)

typedef struct req {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  uv_connect_t conn;
  uv_write_t wr;
  uv_tcp_t tcp;
  uv_timer_t timer;
  int open_handles;
  int done;
  char host[256], port[8];
  char *out; /* the request */
  size_t out_len;
  char *in; /* the response so far */
  size_t in_len, in_cap;
  srv_http_cb cb;
  void *user;
} req;

static void on_closed(uv_handle_t *h) {
  req *r = h->data;
  if (--r->open_handles) return;
  free(r->out);
  free(r->in);
  free(r);
}

/* Calls the callback once, then closes the handles (the request goes with the last). */
static void finish(req *r, int status, const char *body, size_t len) {
  if (r->done) return;
  r->done = 1;
  r->cb(status, body ? body : "", body ? len : 0, r->user);
  uv_close((uv_handle_t *)&r->timer, on_closed);
  if (!uv_is_closing((uv_handle_t *)&r->tcp)) uv_close((uv_handle_t *)&r->tcp, on_closed);
}

/* Decodes a chunked body in place; its new length, or -1. */
static long dechunk(char *b, size_t len) {
  size_t in = 0, out = 0;
  for (;;) {
    char *end;
    unsigned long n = strtoul(b + in, &end, 16);
    if (end == b + in) return -1;
    char *crlf = strstr(end, "\r\n");
    if (!crlf) return -1;
    in = (size_t)(crlf - b) + 2;
    if (n == 0) return (long)out;
    if (n > len - in) return -1;
    memmove(b + out, b + in, n);
    out += n;
    in += n + 2;
    if (in > len) return -1;
  }
}

/* Parses the whole response (read to the close). */
static void parse(req *r) {
  if (!r->in) {
    finish(r, -EPROTO, NULL, 0);
    return;
  }
  r->in[r->in_len] = 0;
  int status = 0;
  char *hdr_end = strstr(r->in, "\r\n\r\n");
  if (sscanf(r->in, "HTTP/1.%*d %d", &status) != 1 || !hdr_end || status < 100) {
    finish(r, -EPROTO, NULL, 0);
    return;
  }
  *hdr_end = 0;
  char *body = hdr_end + 4;
  size_t blen = r->in_len - (size_t)(body - r->in);
  for (char *h = strstr(r->in, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
    if (!strncasecmp(h + 2, "Content-Length:", 15)) {
      size_t cl = strtoul(h + 17, NULL, 10);
      if (cl < blen) blen = cl;
    } else if (!strncasecmp(h + 2, "Transfer-Encoding:", 18) && strstr(h + 18, "chunked")) {
      long n = dechunk(body, blen);
      if (n < 0) {
        finish(r, -EPROTO, NULL, 0);
        return;
      }
      blen = (size_t)n;
    }
  }
  body[blen] = 0;
  finish(r, status, body, blen);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  req *r = h->data;
  if (r->in_cap - r->in_len < 4097) {
    size_t cap = r->in_cap ? r->in_cap * 2 : 8192;
    char *n = cap <= MAX_RESPONSE + 8192 ? realloc(r->in, cap) : NULL;
    if (!n) {
      buf->base = NULL, buf->len = 0;
      return;
    }
    r->in = n, r->in_cap = cap;
  }
  buf->base = r->in + r->in_len;
  buf->len = r->in_cap - r->in_len - 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  req *r = s->data;
  if (n > 0) {
    r->in_len += (size_t)n;
    if (r->in_len > MAX_RESPONSE) finish(r, -E2BIG, NULL, 0);
  } else if (n == UV_EOF) {
    parse(r);
  } else if (n < 0) {
    finish(r, (int)n, NULL, 0);
  } else if (!buf->base) {
    finish(r, -ENOMEM, NULL, 0);
  }
}

static void on_written(uv_write_t *w, int status) {
  req *r = w->data;
  if (status) finish(r, status, NULL, 0);
}

static void on_connect(uv_connect_t *c, int status) {
  req *r = c->data;
  if (r->done) return;
  if (status) {
    finish(r, status, NULL, 0);
    return;
  }
  uv_buf_t b = uv_buf_init(r->out, (unsigned)r->out_len);
  int rc = uv_write(&r->wr, (uv_stream_t *)&r->tcp, &b, 1, on_written);
  if (!rc) rc = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
  if (rc) finish(r, rc, NULL, 0);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai) {
  req *r = g->data;
  if (!r->done && status) finish(r, status, NULL, 0);
  if (!r->done && !status) {
    int rc = uv_tcp_connect(&r->conn, &r->tcp, ai->ai_addr, on_connect);
    if (rc) finish(r, rc, NULL, 0);
  }
  if (ai) uv_freeaddrinfo(ai);
  on_closed((uv_handle_t *)&r->timer); /* the resolver's share */
}

static void on_timeout(uv_timer_t *t) {
  finish(t->data, -ETIMEDOUT, NULL, 0);
}

/* http://host[:port][/path] into r->host, r->port and *path. */
static int parse_url(req *r, const char *url, const char **path) {
  if (strncmp(url, "http://", 7)) return -EINVAL;
  const char *h = url + 7;
  size_t hl = strcspn(h, ":/");
  if (!hl || hl >= sizeof r->host) return -EINVAL;
  memcpy(r->host, h, hl);
  r->host[hl] = 0;
  const char *p = h + hl;
  strcpy(r->port, "80");
  if (*p == ':') {
    size_t pl = strcspn(p + 1, "/");
    if (!pl || pl >= sizeof r->port) return -EINVAL;
    memcpy(r->port, p + 1, pl);
    r->port[pl] = 0;
    p += 1 + pl;
  }
  *path = *p ? p : "/";
  return 0;
}

static int build(req *r, const char *path, const char *extra, const char *body, size_t len) {
  const char *fmt = "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: sio-server\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n%s\r\n";
  int n = snprintf(NULL, 0, fmt, path, r->host, r->port, len, extra ? extra : "");
  if (n < 0 || !(r->out = malloc((size_t)n + len + 1))) return -ENOMEM;
  snprintf(r->out, (size_t)n + 1, fmt, path, r->host, r->port, len, extra ? extra : "");
  memcpy(r->out + n, body, len);
  r->out_len = (size_t)n + len;
  return 0;
}

int srv_http_post(uv_loop_t *loop, const char *url, const char *extra, const char *body, size_t len,
                  uint32_t timeout_ms, srv_http_cb cb, void *user) {
  req *r = calloc(1, sizeof(*r));
  if (!r) return -ENOMEM;
  const char *path;
  int rc = parse_url(r, url, &path);
  if (!rc) rc = build(r, path, extra, body, len);
  if (rc) {
    free(r->out);
    free(r);
    return rc;
  }
  r->loop = loop, r->cb = cb, r->user = user;
  r->tcp.data = r->timer.data = r->gai.data = r->conn.data = r->wr.data = r;
  uv_tcp_init(loop, &r->tcp);
  uv_timer_init(loop, &r->timer);
  r->open_handles = 3; /* tcp, timer, and the resolver until it answers */
  uv_timer_start(&r->timer, on_timeout, timeout_ms, 0);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  rc = uv_getaddrinfo(loop, &r->gai, on_resolved, r->host, r->port, &hints);
  if (rc) {
    r->done = 1; /* no callback: the caller gets rc */
    r->open_handles = 2;
    uv_close((uv_handle_t *)&r->timer, on_closed);
    uv_close((uv_handle_t *)&r->tcp, on_closed);
  }
  return rc;
}
