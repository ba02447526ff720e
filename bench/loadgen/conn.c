/* sio-loadgen connections: non-blocking TCP connect (optionally from a rotating 127.0.0.x
 * source address, so that tens of thousands of connections and connect loops do not run out
 * of ephemeral ports), the HTTP/1.1 WebSocket upgrade, and RFC 6455 client framing (every
 * frame masked with a fresh key, as a client must). Complete messages go to modes.c.
 *
 * With --tls, every connection first completes a TLS handshake (tls.c) and then reads and
 * writes through it; tls-connect sends one GET and reads the answer until the server closes.
 * A sio-publish publisher stays plain HTTP (ST_PUB): its answers go to publish.c.
 *
 * Reads land in one loop-wide buffer and are parsed in place; only a partial frame is copied
 * into the connection. Writes are appended to the connection's queue and flushed once per
 * read event, so that a burst of replies becomes one send(). In sio-idle mode a connection
 * keeps no buffer between events (bench/scale holds a million of them: ~120 B each). */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME   (16u << 20)
#define MAX_HEADERS 16384

void lg_conn_error(lg_ctx *x, lg_conn *c, const char *why) {
  if (c->action == ACT_FAIL) return;
  snprintf(x->last_error, sizeof x->last_error, "%s", why);
  x->errors++;
  c->action = ACT_FAIL;
}

static void conn_error_errno(lg_ctx *x, lg_conn *c, const char *what, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  lg_conn_error(x, c, msg);
}

static void bind_source(lg_ctx *x, int fd) {
  if (x->o.src_count <= 0) return;
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET};
  uint32_t host = (uint32_t)(x->o.src_base + (int)(x->src_rr++ % (uint64_t)x->o.src_count));
  src.sin_addr.s_addr = htonl(0x7f000000u | (host & 0xffffff));
  bind(fd, (struct sockaddr *)&src, sizeof src); /* on failure the kernel picks one */
}

void lg_conn_start(lg_ctx *x, lg_conn *c) {
  c->action = ACT_NONE;
  c->in.len = c->out.len = c->frag.len = 0;
  c->in.off = c->out.off = c->frag.off = 0;
  c->t_start = lg_now_ns();
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    conn_error_errno(x, c, "socket", errno);
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bind_source(x, c->fd);
  struct sockaddr_in dst = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)lg_conn_port(&x->o, c->id))};
  inet_pton(AF_INET, x->o.host, &dst.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
    conn_error_errno(x, c, "connect", errno);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(x->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) lg_fatal("epoll_ctl: %s", strerror(errno));
  c->want_out = true;
  c->state = ST_CONNECTING;
  x->connects_total++;
}

void lg_conn_close(lg_ctx *x, lg_conn *c) {
  (void)x;
  if (c->ssl) lg_tls_free(c);
  if (c->fd >= 0) close(c->fd); /* closing drops the epoll registration too */
  c->fd = -1;
  c->state = ST_IDLE;
  c->want_out = false;
}

/* EPOLLOUT on or off (level-triggered: only while there is something to write). */
static void want_out(lg_ctx *x, lg_conn *c, bool want) {
  if (want == c->want_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(x->ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

static void tls_flush(lg_ctx *x, lg_conn *c) {
  bool blocked = false;
  while (c->out.len) {
    long w = lg_tls_send(x, c, lg_buf_head(&c->out), c->out.len, &blocked);
    if (w > 0)
      lg_buf_consume(&c->out, (size_t)w);
    else if (w == -1)
      break;
    else
      return;
  }
  want_out(x, c, blocked);
}

void lg_conn_flush(lg_ctx *x, lg_conn *c) {
  if (c->ssl) {
    if (c->state != ST_TLS) tls_flush(x, c);
    return;
  }
  while (c->out.len) {
    ssize_t w = send(c->fd, lg_buf_head(&c->out), c->out.len, MSG_NOSIGNAL);
    if (w > 0) {
      lg_buf_consume(&c->out, (size_t)w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      conn_error_errno(x, c, "send", errno);
      return;
    }
  }
  bool want = c->out.len > 0;
  if (!want && x->o.mode == LG_SIO_IDLE) lg_buf_free(&c->out); /* idle: keep no buffer */
  want_out(x, c, want);
}

void lg_send_frame(lg_conn *c, int opcode, const void *payload, size_t len) {
  uint8_t *h = lg_buf_tail(&c->out, 2 + (len >= 126 ? (len > 65535 ? 8 : 2) : 0) + 4 + len);
  *h++ = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    *h++ = (uint8_t)(0x80 | len);
  } else if (len <= 65535) {
    *h++ = 0x80 | 126;
    *h++ = (uint8_t)(len >> 8);
    *h++ = (uint8_t)len;
  } else {
    *h++ = 0x80 | 127;
    for (int i = 7; i >= 0; i--) *h++ = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint32_t key32 = (uint32_t)lg_rand();
  uint8_t key[4];
  memcpy(key, &key32, 4);
  memcpy(h, key, 4);
  h += 4;
  const uint8_t *p = payload;
  uint64_t key64 = (uint64_t)key32 << 32 | key32, w;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) { /* 8 bytes at a time: the key repeats every 4 */
    memcpy(&w, p + i, 8);
    w ^= key64;
    memcpy(h + i, &w, 8);
  }
  for (; i < len; i++) h[i] = p[i] ^ key[i & 3];
}

static void base64_16(const uint8_t in[16], char out[25]) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int o = 0;
  for (int i = 0; i < 16; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < 16) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < 16) v |= in[i + 2];
    out[o++] = tbl[(v >> 18) & 63];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < 16 ? tbl[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < 16 ? tbl[v & 63] : '=';
  }
  out[o] = 0;
}

static void send_upgrade(lg_ctx *x, lg_conn *c) {
  uint8_t nonce[16];
  uint64_t a = lg_rand(), b = lg_rand();
  memcpy(nonce, &a, 8);
  memcpy(nonce + 8, &b, 8);
  char key[25];
  base64_16(nonce, key);
  const char *path =
      lg_mode_is_sio(x->o.mode) ? "/socket.io/?EIO=4&transport=websocket" : x->o.path;
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path, x->o.host, lg_conn_port(&x->o, c->id), key);
  lg_buf_append(&c->out, req, (size_t)n);
  c->state = ST_UPGRADING;
}

/* Returns the bytes used by the HTTP response head, 0 while it is incomplete. */
static size_t parse_upgrade_response(lg_ctx *x, lg_conn *c, const uint8_t *p, size_t n) {
  const uint8_t *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) {
    if (n > MAX_HEADERS) lg_conn_error(x, c, "upgrade response too large");
    return 0;
  }
  if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
    char msg[96];
    int line = (int)(memchr(p, '\r', n) ? (const uint8_t *)memchr(p, '\r', n) - p : 40);
    snprintf(msg, sizeof msg, "upgrade refused: %.*s", line > 60 ? 60 : line, (const char *)p);
    lg_conn_error(x, c, msg);
    return 0;
  }
  lg_mode_on_upgraded(x, c);
  return (size_t)(end + 4 - p);
}

static void on_control_frame(lg_ctx *x, lg_conn *c, int opcode, uint8_t *data, size_t len) {
  if (opcode == 0x9)
    lg_send_frame(c, 0xA, data, len); /* ping -> pong */
  else if (opcode == 0x8 && c->state == ST_CLOSING)
    c->action = ACT_RECYCLE; /* the closing handshake is complete */
  else if (opcode == 0x8) {
    char msg[128];
    int code = len >= 2 ? data[0] << 8 | data[1] : 1005;
    int rlen = len > 2 ? (int)(len - 2 > 80 ? 80 : len - 2) : 0;
    snprintf(msg, sizeof msg, "server sent close %d %.*s", code, rlen,
             len > 2 ? (char *)data + 2 : "");
    lg_conn_error(x, c, msg);
  }
}

static void on_data_frame(lg_ctx *x, lg_conn *c, bool fin, int opcode, uint8_t *data, size_t len) {
  if (opcode != 0 && fin && c->frag_op == 0) {
    lg_mode_on_message(x, c, opcode, data, len);
    return;
  }
  if (opcode != 0) {
    if (c->frag_op) {
      lg_conn_error(x, c, "new message inside a fragmented one");
      return;
    }
    c->frag_op = (uint8_t)opcode;
    c->frag.len = c->frag.off = 0;
  } else if (!c->frag_op) {
    lg_conn_error(x, c, "continuation without a message");
    return;
  }
  lg_buf_append(&c->frag, data, len);
  if (!fin) return;
  int op = c->frag_op;
  c->frag_op = 0;
  lg_mode_on_message(x, c, op, lg_buf_head(&c->frag), c->frag.len);
  c->frag.len = c->frag.off = 0;
}

/* Handles every complete frame in p[0, n); returns the bytes consumed. */
static size_t parse_frames(lg_ctx *x, lg_conn *c, uint8_t *p, size_t n) {
  size_t off = 0;
  while (n - off >= 2 && c->action == ACT_NONE) {
    uint8_t *f = p + off;
    bool fin = f[0] & 0x80, masked = f[1] & 0x80;
    int opcode = f[0] & 0x0f;
    uint64_t len = f[1] & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
      if (n - off < 4) break;
      len = (uint64_t)f[2] << 8 | f[3];
      hdr = 4;
    } else if (len == 127) {
      if (n - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i];
      hdr = 10;
    }
    if (len > MAX_FRAME) {
      lg_conn_error(x, c, "frame too large");
      break;
    }
    size_t key_at = hdr;
    if (masked) hdr += 4;
    if (n - off < hdr + len) break;
    uint8_t *data = f + hdr;
    if (masked) /* servers must not mask, but tolerate it */
      for (size_t i = 0; i < len; i++) data[i] ^= f[key_at + (i & 3)];
    if (opcode & 0x8)
      on_control_frame(x, c, opcode, data, (size_t)len);
    else
      on_data_frame(x, c, fin, opcode, data, (size_t)len);
    off += hdr + (size_t)len;
  }
  return off;
}

/* tls-connect: the server closed after its answer to the GET: one cycle done. */
static void http_done(lg_ctx *x, lg_conn *c) {
  if (c->in.len < 12 || memcmp(lg_buf_head(&c->in), "HTTP/1.1 200", 12) != 0) {
    lg_conn_error(x, c, c->in.len ? "GET answered other than 200" : "closed before the answer");
    return;
  }
  if (x->phase == PH_MEASURE) {
    x->msgs++;
    lg_hist_add(&x->hist, lg_now_ns() - c->t_start);
  }
  c->action = ACT_RECYCLE;
}

static void on_bytes(lg_ctx *x, lg_conn *c, long r);

static void on_readable(lg_ctx *x, lg_conn *c) {
  if (!c->ssl) {
    on_bytes(x, c, recv(c->fd, x->rbuf, x->rbuf_size, 0));
    return;
  }
  /* Records until dry. Past 16 only while read-ahead bytes wait inside OpenSSL: the socket
   * may be empty then, and epoll would not report them again. */
  for (int i = 0; (i < 16 || lg_tls_pending(c)) && c->action == ACT_NONE && c->fd >= 0; i++) {
    long r = lg_tls_recv(x, c, x->rbuf, x->rbuf_size);
    if (r == -2) return;
    if (r < 0 && errno == EAGAIN) {
      if (c->out.len) lg_conn_flush(x, c); /* a write that waited on a read */
      return;
    }
    on_bytes(x, c, r);
    if (r <= 0) return;
  }
}

/* What one read brought: r bytes in x->rbuf, 0 at the end, < 0 on error (errno). */
static void on_bytes(lg_ctx *x, lg_conn *c, long r) {
  if (r == 0 && c->state == ST_HTTP) {
    http_done(x, c);
    return;
  }
  if (r > 0 && c->state == ST_HTTP) {
    lg_buf_append(&c->in, x->rbuf, (size_t)r);
    return;
  }
  if (r == 0 && c->state == ST_CLOSING) {
    c->action = ACT_RECYCLE;
    return;
  }
  if (r == 0) {
    lg_conn_error(x, c, "server closed the connection");
    return;
  }
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      conn_error_errno(x, c, "recv", errno);
    return;
  }
  x->now = lg_now_ns();
  bool buffered = c->in.len > 0;
  if (buffered) lg_buf_append(&c->in, x->rbuf, (size_t)r);
  uint8_t *p = buffered ? lg_buf_head(&c->in) : x->rbuf;
  size_t n = buffered ? c->in.len : (size_t)r, used = 0;
  if (c->state == ST_PUB) {
    used = lg_pub_on_bytes(x, c, p, n);
  } else {
    if (c->state == ST_UPGRADING) used = parse_upgrade_response(x, c, p, n);
    if (c->state != ST_UPGRADING && c->action == ACT_NONE)
      used += parse_frames(x, c, p + used, n - used);
  }
  if (c->action != ACT_NONE) return;
  if (buffered)
    lg_buf_consume(&c->in, used);
  else
    lg_buf_append(&c->in, p + used, n - used);
  if (x->o.mode == LG_SIO_IDLE && c->in.len == 0 && c->in.cap) lg_buf_free(&c->in);
  if (x->o.mode == LG_SIO_IDLE && c->frag_op == 0 && c->frag.cap) lg_buf_free(&c->frag);
}

/* The handshake goes on; once done, the GET (tls-connect) or the WebSocket upgrade. */
static void tls_step(lg_ctx *x, lg_conn *c) {
  bool out = false;
  int r = lg_tls_handshake(x, c, &out);
  if (r < 0) return;
  if (r == 0) {
    want_out(x, c, out);
    return;
  }
  if (x->o.mode == LG_TLS_CONNECT) {
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
                     x->o.http_path, x->o.host, lg_conn_port(&x->o, c->id));
    lg_buf_append(&c->out, req, (size_t)n);
    c->state = ST_HTTP;
  } else {
    send_upgrade(x, c);
  }
  lg_conn_flush(x, c);
}

void lg_conn_on_event(lg_ctx *x, lg_conn *c, uint32_t events) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      conn_error_errno(x, c, "connect", err);
      return;
    }
    if (!(events & (EPOLLOUT | EPOLLIN))) return;
    if (lg_pub_is_publisher(x, c)) { /* sio-publish: plain HTTP, nothing to send yet */
      lg_conn_became_ready(x, c);
      c->state = ST_PUB;
      x->pub_ready++;
      want_out(x, c, false);
      return;
    }
    if (x->o.tls) {
      lg_tls_start(x, c);
      tls_step(x, c);
      return;
    }
    send_upgrade(x, c);
    lg_conn_flush(x, c);
    return;
  }
  if (c->state == ST_TLS) {
    tls_step(x, c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(x, c);
  if (c->action == ACT_NONE) lg_conn_flush(x, c);
}
