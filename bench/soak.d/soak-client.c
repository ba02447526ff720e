/* soak-client: the many-socket side of `make soak` (bench/soak), one epoll loop per process.
 *
 * The soak needs tens of thousands of cheap client sockets (a Node client costs more memory
 * and CPU than the server it measures), clients that misbehave on purpose (stop reading, hang
 * up mid-frame or mid-request, dribble header bytes), and figures that several processes can
 * merge: every timestamp printed is CLOCK_MONOTONIC nanoseconds, shared by all processes.
 *
 * Modes (one per process; the orchestrator bench/soak.d/soak.mjs starts and merges them):
 *   hold     N Socket.IO websocket clients that connect and stay. Commands on stdin:
 *            "bcast" (the first client emits "bcast"), "report", "drain", "quit".
 *            With --slow the clients shrink their receive buffer and stop reading once
 *            connected ("drain" later reads what is left and counts server-side closes).
 *   echo     N clients emit "echo" every --interval ms and time the round trip.
 *   bcaster  one client emits "bcast" with --size bytes until --total bytes, --inflight at once.
 *   churn    --cycles connect/emit/disconnect cycles, --conns at once, mixing websocket and
 *            polling clients that leave cleanly or abruptly (mid-frame, mid-request, held poll).
 *   loris    N connections that each send one header byte every --interval seconds, and
 *            reconnect when the server hangs up.
 * Output: one line per event of interest, "WORD key=value ...", on stdout.
 *
 * Only 127.0.0.x is spoken to; every mode stops at --duration seconds at the latest. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG (4u << 20)

enum mode { M_HOLD, M_ECHO, M_BCASTER, M_CHURN, M_LORIS };
enum kind { K_WS, K_POLL, K_LORIS };
enum state {
  S_IDLE,
  S_CONNECTING,
  S_UPGRADING, /* websocket: upgrade sent, waiting for 101 */
  S_EIO_OPEN,  /* websocket: waiting for "0{...}" */
  S_SIO_CONN,  /* websocket: "40" sent, waiting for "40{...}" */
  S_READY,
  S_CLOSING, /* clean close sent, waiting for the server to hang up */
  S_POLL,    /* polling: a request is out, waiting for its response */
  S_LORIS,
};
/* churn flavours */
enum flavor { F_WS_CLEAN, F_WS_ABRUPT, F_POLL_CLEAN, F_POLL_ABRUPT_POST, F_POLL_ABRUPT_HELD };

typedef struct buf {
  char *d;
  size_t off, len, cap;
} buf;

typedef struct conn {
  int fd;
  uint8_t kind, state, flavor, step;
  bool want_out, paused, dead, got_bcast, eof_seen;
  bool in_connecting, in_ready; /* counted in n_connecting / n_ready */
  buf in, out, frag;
  uint64_t t0, deadline, next_send;
  uint32_t sent, recv;
  int status, close_code;
  char sid[40];
  size_t loris_pos;
} conn;

static struct {
  enum mode mode;
  const char *host;
  int port, conns, src_base, src_count, concurrency, size, inflight, rcvbuf;
  double duration, interval, timeout,
      rate; /* rate: bcaster bytes per second, 0 = as fast as acked */
  long cycles, total;
  int mix[5]; /* churn weights per flavor */
  bool slow;
  const char *event; /* bcaster: the event to emit ("bcast", or "vbcast" for volatile) */
} O = {.host = "127.0.0.1",
       .port = 3000,
       .conns = 1,
       .src_base = 2,
       .src_count = 1,
       .concurrency = 128,
       .size = 32,
       .inflight = 8,
       .duration = 60,
       .interval = 1,
       .timeout = 30,
       .cycles = 1000,
       .mix = {40, 15, 25, 10, 10},
       .event = "bcast"};

static int ep;
static conn *C;
static uint64_t src_rr, t_begin;
static char rbuf[1 << 16];
static struct sockaddr_in dst;

/* counters */
static long n_ready, n_failed, n_connecting, n_started;
static uint64_t t_first_start, t_all_ready;
static char last_err[200];
static long fail_by_status[8]; /* 503, 1013, other HTTP, other close, reset, timeout, EOF, misc */
static long bcast_got, bcast_other, vbcast_got;
static uint64_t bcast_last_ns, bcast_first_ns, bcast_emit_ns;
static long echo_sent, echo_recv, lost_conns;
static uint64_t win_max, win_n; /* echo latency in the current second, for PROGRESS */
static uint64_t *lat;
static size_t nlat, caplat;
static long cycles_started, cycles_done, cycles_failed, cycles_echoed;
static long flavor_done[5];
static long loris_closed, loris_reconnects, loris_bytes;
static long bc_msgs, bc_outstanding;
static uint64_t bc_bytes;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "soak-client: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

/* ---- buffers ---- */

static void buf_reserve(buf *b, size_t n) {
  if (b->off && b->off + b->len + n > b->cap) {
    memmove(b->d, b->d + b->off, b->len);
    b->off = 0;
  }
  if (b->off + b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  b->d = realloc(b->d, cap);
  if (!b->d) die("out of memory");
  b->cap = cap;
}
static void buf_add(buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  memcpy(b->d + b->off + b->len, p, n);
  b->len += n;
}
static void buf_eat(buf *b, size_t n) {
  b->off += n;
  b->len -= n;
  if (!b->len) b->off = 0;
}
static char *buf_head(buf *b) {
  return b->d + b->off;
}

/* ---- connections ---- */

static void set_events(conn *c) {
  uint32_t ev = (c->paused ? 0 : EPOLLIN | EPOLLRDHUP) | (c->want_out ? EPOLLOUT : 0);
  struct epoll_event e = {.events = ev, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_reset(conn *c) {
  c->in.len = c->in.off = c->out.len = c->out.off = c->frag.len = c->frag.off = 0;
  c->want_out = c->paused = c->dead = c->got_bcast = c->eof_seen = false;
  c->status = c->close_code = 0;
  c->sent = c->recv = 0;
  c->step = 0;
  c->sid[0] = 0;
  c->loris_pos = 0;
}

static void conn_close(conn *c, bool rst) {
  if (c->fd < 0) return;
  if (rst) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(c->fd);
  c->fd = -1;
  if (c->in_connecting) n_connecting--;
  if (c->in_ready) n_ready--;
  c->in_connecting = c->in_ready = false;
  c->state = S_IDLE;
}

static void conn_start(conn *c, int kind) {
  conn_reset(c);
  c->kind = (uint8_t)kind;
  c->t0 = now_ns();
  if (!t_first_start) t_first_start = c->t0;
  c->deadline = c->t0 + (uint64_t)(O.timeout * 1e9);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    snprintf(last_err, sizeof last_err, "socket: %s", strerror(errno));
    c->dead = true;
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (O.rcvbuf > 0) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &O.rcvbuf, sizeof O.rcvbuf);
  if (O.src_count > 0) {
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    uint32_t host = (uint32_t)O.src_base + (uint32_t)(src_rr++ % (uint64_t)O.src_count);
    src.sin_addr.s_addr = htonl(0x7f000000u | (host & 0xffffff));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0)
      snprintf(last_err, sizeof last_err, "bind: %s", strerror(errno));
  }
  n_started++;
  n_connecting++;
  c->in_connecting = true;
  c->state = S_CONNECTING;
  if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
    snprintf(last_err, sizeof last_err, "connect: %s", strerror(errno));
    c->dead = true;
  }
  c->want_out = true;
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) die("epoll_ctl: %s", strerror(errno));
}

static void conn_flush(conn *c) {
  while (c->out.len) {
    ssize_t n = send(c->fd, buf_head(&c->out), c->out.len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      snprintf(last_err, sizeof last_err, "send: %s", strerror(errno));
      c->dead = true;
      return;
    }
    buf_eat(&c->out, (size_t)n);
  }
  bool want = c->out.len > 0 || c->state == S_CONNECTING;
  if (want != c->want_out) {
    c->want_out = want;
    set_events(c);
  }
}

static void ws_send(conn *c, int opcode, const void *p, size_t n) {
  uint8_t h[14];
  size_t hl = 2;
  h[0] = (uint8_t)(0x80 | opcode);
  if (n < 126) {
    h[1] = (uint8_t)(0x80 | n);
  } else if (n < 65536) {
    h[1] = 0x80 | 126;
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    hl = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  uint32_t key = (uint32_t)rnd();
  uint8_t mk[4] = {(uint8_t)key, (uint8_t)(key >> 8), (uint8_t)(key >> 16), (uint8_t)(key >> 24)};
  memcpy(h + hl, mk, 4);
  hl += 4;
  buf_add(&c->out, h, hl);
  buf_reserve(&c->out, n);
  uint8_t *dst8 = (uint8_t *)c->out.d + c->out.off + c->out.len;
  const uint8_t *src8 = p;
  for (size_t i = 0; i < n; i++) dst8[i] = src8[i] ^ mk[i & 3];
  c->out.len += n;
}
static void ws_text(conn *c, const char *s) {
  ws_send(c, 1, s, strlen(s));
}

static void http_request(conn *c, const char *method, const char *query, const char *body,
                         size_t blen) {
  char h[512];
  int n;
  if (body)
    n = snprintf(h, sizeof h,
                 "%s /socket.io/?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n",
                 method, query, O.host, O.port, blen);
  else
    n = snprintf(h, sizeof h,
                 "%s /socket.io/?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", method,
                 query, O.host, O.port);
  buf_add(&c->out, h, (size_t)n);
  if (body) buf_add(&c->out, body, blen);
}

static void fail(conn *c, int cls, const char *why) {
  if (c->dead) return;
  if (cls >= 0) fail_by_status[cls]++;
  snprintf(last_err, sizeof last_err, "%s", why);
  c->dead = true;
}

static void mark_ready(conn *c) {
  if (c->in_connecting) n_connecting--;
  if (!c->in_ready) n_ready++;
  c->in_connecting = false;
  c->in_ready = true;
}

/* ---- mode hooks ---- */

static void on_ready(conn *c);
static void on_event(conn *c, const char *name, size_t nlen, const char *arg, size_t alen);
static void on_conn_gone(conn *c);

static void add_lat(uint64_t ns) {
  if (nlat == caplat) {
    caplat = caplat ? caplat * 2 : 4096;
    lat = realloc(lat, caplat * sizeof *lat);
    if (!lat) die("out of memory");
  }
  lat[nlat++] = ns;
}

/* Engine.IO text packet over websocket. */
static void on_eio_text(conn *c, char *s, size_t n) {
  if (n == 0) return;
  if (c->state == S_EIO_OPEN) {
    if (s[0] != '0') return fail(c, 7, "expected Engine.IO open");
    ws_text(c, "40");
    c->state = S_SIO_CONN;
    return;
  }
  if (s[0] == '2') {
    ws_text(c, "3");
    return;
  }
  if (s[0] == '1') return fail(c, 6, "Engine.IO close from server");
  if (s[0] != '4' || n < 2) return;
  if (s[1] == '0' && c->state == S_SIO_CONN) {
    c->state = S_READY;
    mark_ready(c);
    on_ready(c);
    return;
  }
  if (s[1] == '4') return fail(c, 7, "Socket.IO CONNECT_ERROR");
  if (s[1] == '1') return fail(c, 6, "Socket.IO DISCONNECT from server");
  if (s[1] == '2' && n > 4 && s[2] == '[' && s[3] == '"') {
    char *name = s + 4, *q = memchr(name, '"', n - 4);
    if (!q) return;
    char *arg = q + 1;
    size_t alen = (size_t)(s + n - arg);
    if (alen && arg[0] == ',') arg++, alen--;
    if (alen && arg[alen - 1] == ']') alen--;
    if (alen >= 2 && arg[0] == '"') arg++, alen -= 2;
    on_event(c, name, (size_t)(q - name), arg, alen);
  }
}

/* Parses websocket frames in c->in (server frames are unmasked). */
static void ws_parse(conn *c) {
  while (!c->dead && c->in.len >= 2) {
    uint8_t *p = (uint8_t *)buf_head(&c->in);
    int op = p[0] & 15;
    bool fin = p[0] & 0x80;
    uint64_t len = p[1] & 127;
    size_t hl = 2;
    if (len == 126) {
      if (c->in.len < 4) return;
      len = (uint64_t)p[2] << 8 | p[3];
      hl = 4;
    } else if (len == 127) {
      if (c->in.len < 10) return;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
      hl = 10;
    }
    if (p[1] & 0x80) return fail(c, 7, "masked server frame");
    if (len > MAX_MSG) return fail(c, 7, "server frame too large");
    if (c->in.len < hl + len) return;
    char *data = (char *)p + hl;
    if (op == 8) {
      c->close_code = len >= 2 ? ((uint8_t)data[0] << 8 | (uint8_t)data[1]) : 1005;
      if (c->state != S_CLOSING)
        fail(c, c->close_code == 1013 ? 1 : 3, "close frame from server");
      else
        c->dead = true;
      buf_eat(&c->in, hl + len);
      return;
    } else if (op == 9) {
      ws_send(c, 10, data, len);
    } else if (op == 1 || op == 2 || op == 0) {
      if (!fin || c->frag.len) {
        buf_add(&c->frag, data, len);
        if (fin) {
          if (c->frag.d[c->frag.off] != 0 || op != 2)
            on_eio_text(c, buf_head(&c->frag), c->frag.len);
          c->frag.len = c->frag.off = 0;
        }
      } else if (op == 1) {
        on_eio_text(c, data, len);
      }
    }
    buf_eat(&c->in, hl + len);
  }
}

/* Returns the header block length (through CRLFCRLF) or 0. */
static size_t header_end(buf *b) {
  char *h = buf_head(b);
  char *e = memmem(h, b->len, "\r\n\r\n", 4);
  return e ? (size_t)(e - h) + 4 : 0;
}

static void ws_on_upgrade_response(conn *c) {
  size_t hl = header_end(&c->in);
  if (!hl) {
    if (c->in.len > 16384) fail(c, 7, "huge upgrade response");
    return;
  }
  int status = 0;
  sscanf(buf_head(&c->in), "HTTP/1.%*d %d", &status);
  c->status = status;
  buf_eat(&c->in, hl);
  if (status != 101) {
    char why[64];
    snprintf(why, sizeof why, "upgrade answered %d", status);
    return fail(c, status == 503 ? 0 : 2, why);
  }
  c->state = S_EIO_OPEN;
  ws_parse(c);
}

/* ---- polling (churn) ---- */

/* A complete HTTP response in c->in: status and body; returns false while incomplete. */
static bool http_response(conn *c, int *status, char **body, size_t *blen, size_t *total) {
  size_t hl = header_end(&c->in);
  if (!hl) return false;
  char *h = buf_head(&c->in);
  *status = 0;
  sscanf(h, "HTTP/1.%*d %d", status);
  long clen = -1;
  bool chunked = false;
  for (char *l = strstr(h, "\r\n"); l && l < h + hl - 2; l = strstr(l + 2, "\r\n")) {
    if (!strncasecmp(l + 2, "content-length:", 15)) clen = strtol(l + 17, NULL, 10);
    size_t rest = (size_t)(h + hl - l);
    if (!strncasecmp(l + 2, "transfer-encoding:", 18) &&
        memmem(l, rest < 60 ? rest : 60, "chunked", 7))
      chunked = true;
  }
  if (chunked) {
    /* first pass: is the terminating chunk there? */
    char *p = h + hl, *end = h + c->in.len;
    for (;;) {
      char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
      if (!nl) return false;
      size_t sz = strtoul(p, NULL, 16);
      if (nl + 2 + sz + 2 > end) return false;
      if (sz == 0) break;
      p = nl + 2 + sz + 2;
    }
    /* second pass: de-chunk in place */
    char *w = h + hl;
    p = h + hl;
    for (;;) {
      char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
      size_t sz = strtoul(p, NULL, 16);
      if (sz == 0) {
        *total = (size_t)(nl + 4 - h);
        break;
      }
      memmove(w, nl + 2, sz);
      w += sz;
      p = nl + 2 + sz + 2;
    }
    *body = h + hl;
    *blen = (size_t)(w - (h + hl));
    return true;
  }
  if (clen < 0) clen = 0;
  if (c->in.len < hl + (size_t)clen) return false;
  *body = h + hl;
  *blen = (size_t)clen;
  *total = hl + (size_t)clen;
  return true;
}

static void poll_send_echo(conn *c) {
  char m[160];
  int n = snprintf(m, sizeof m, "42[\"echo\",\"%llu:%u\"]", (unsigned long long)now_ns(), c->sent);
  char q[80];
  snprintf(q, sizeof q, "&sid=%s", c->sid);
  http_request(c, "POST", q, m, (size_t)n);
  c->sent++;
}

/* Polling steps: 0 handshake GET, 1 POST "40", 2 GET (connect ack), 3 POST echo, 4 GET
 * (echo back), 5 POST close or abrupt exit. */
static void poll_on_response(conn *c, int status, char *body, size_t blen) {
  char q[80];
  if (status != 200) {
    char why[64];
    snprintf(why, sizeof why, "polling step %d answered %d", c->step, status);
    return fail(c, status == 503 ? 0 : 2, why);
  }
  switch (c->step) {
  case 0: {
    char *s = memmem(body, blen, "\"sid\":\"", 7);
    if (!s || blen < 1 || body[0] != '0') return fail(c, 7, "bad polling handshake");
    s += 7;
    size_t i = 0;
    while (s + i < body + blen && s[i] != '"' && i < sizeof c->sid - 1) c->sid[i] = s[i], i++;
    c->sid[i] = 0;
    snprintf(q, sizeof q, "&sid=%s", c->sid);
    http_request(c, "POST", q, "40", 2);
    c->step = 1;
    break;
  }
  case 1:
    snprintf(q, sizeof q, "&sid=%s", c->sid);
    http_request(c, "GET", q, NULL, 0);
    c->step = 2;
    break;
  case 2:
    if (!memmem(body, blen, "40", 2)) return fail(c, 7, "no Socket.IO connect ack (polling)");
    mark_ready(c);
    poll_send_echo(c);
    c->step = 3;
    c->state = S_POLL;
    break;
  case 3:
    if (c->flavor == F_POLL_ABRUPT_POST) {
      /* a POST whose body never completes, then gone */
      snprintf(q, sizeof q, "&sid=%s", c->sid);
      char h[256];
      int n = snprintf(h, sizeof h,
                       "POST /socket.io/?EIO=4&transport=polling%s HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 400\r\n\r\n42[\"echo\",\"trunc",
                       q);
      buf_add(&c->out, h, (size_t)n);
      c->step = 9;
      c->next_send = now_ns(); /* hang up at once */
      break;
    }
    snprintf(q, sizeof q, "&sid=%s", c->sid);
    http_request(c, "GET", q, NULL, 0);
    c->step = 4;
    break;
  case 4: {
    if (memmem(body, blen, "42[\"echo\"", 9)) {
      c->recv++;
      cycles_echoed++;
    } else if (memmem(body, blen, "2", 1) && blen == 1) {
      snprintf(q, sizeof q, "&sid=%s", c->sid);
      http_request(c, "POST", q, "3", 1);
      c->step = 3; /* the answer "ok" to the pong leads to another GET */
      break;
    } else {
      snprintf(q, sizeof q, "&sid=%s", c->sid);
      http_request(c, "GET", q, NULL, 0);
      break;
    }
    snprintf(q, sizeof q, "&sid=%s", c->sid);
    if (c->flavor == F_POLL_ABRUPT_HELD) {
      http_request(c, "GET", q, NULL, 0); /* held by the server: nothing is queued */
      c->step = 9;
      c->next_send = now_ns() + 30000000ull; /* hang up while it is held */
    } else {
      http_request(c, "POST", q,
                   "41\x1e"
                   "1",
                   4);
      c->step = 5;
    }
    break;
  }
  case 5:
    c->step = 6;
    c->dead = true; /* done: clean */
    break;
  default:
    break;
  }
}

/* ---- reading ---- */

static void conn_on_readable(conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      if (c->state == S_CLOSING || c->step == 9) {
        c->dead = true;
        return;
      }
      c->eof_seen = true;
      return fail(c, 4, errno == ECONNRESET ? "connection reset" : strerror(errno));
    }
    if (n == 0) {
      c->eof_seen = true;
      if (c->state == S_CLOSING || c->step == 9 || c->kind == K_LORIS) {
        c->dead = true;
        return;
      }
      return fail(c, 6, "server closed the connection");
    }
    if (c->kind == K_LORIS) continue; /* anything from the server: ignore, wait for EOF */
    buf_add(&c->in, rbuf, (size_t)n);
    if (c->kind == K_WS) {
      if (c->state == S_UPGRADING)
        ws_on_upgrade_response(c);
      else
        ws_parse(c);
    } else {
      int status;
      char *body;
      size_t blen, total;
      while (!c->dead && http_response(c, &status, &body, &blen, &total)) {
        poll_on_response(c, status, body, blen);
        buf_eat(&c->in, total);
      }
    }
    if (c->dead || c->paused) return;
  }
}

static const char *LORIS_PREFIX =
    "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

static void conn_on_connected(conn *c) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    char why[96];
    snprintf(why, sizeof why, "connect: %s", strerror(err));
    return fail(c, err == ECONNRESET ? 4 : 7, why);
  }
  if (c->kind == K_WS) {
    char req[400];
    int n =
        snprintf(req, sizeof req,
                 "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: c29hay1jbGllbnQta2V5MQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 O.host, O.port);
    buf_add(&c->out, req, (size_t)n);
    c->state = S_UPGRADING;
  } else if (c->kind == K_POLL) {
    http_request(c, "GET", "", NULL, 0);
    c->state = S_POLL;
    c->step = 0;
  } else {
    mark_ready(c);
    c->state = S_LORIS;
    c->next_send = now_ns() + (uint64_t)(rnd() % (uint64_t)(O.interval * 1e9 + 1));
    buf_add(&c->out, LORIS_PREFIX, 1);
    c->loris_pos = 1;
    loris_bytes++;
  }
}

static void conn_on_event(conn *c, uint32_t ev) {
  if (c->fd < 0) return;
  if (c->paused && (ev & (EPOLLHUP | EPOLLERR))) {
    c->eof_seen = true; /* the server hung up on a client that stopped reading */
    fail(c, 4, "reset while not reading");
    on_conn_gone(c);
    return;
  }
  if (c->state == S_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) conn_on_connected(c);
  if (!c->dead && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c->paused)
    conn_on_readable(c);
  if (!c->dead && c->fd >= 0) conn_flush(c);
  if (c->dead) on_conn_gone(c);
}

/* ---- modes ---- */

static bool stop_flag, bcast_reported;
static uint64_t t_end;

static void print_ready(void) {
  printf("READY ready=%ld failed=%ld started=%ld t_first=%llu t_ready=%llu f503=%ld f1013=%ld "
         "fhttp=%ld fclose=%ld freset=%ld ftimeout=%ld feof=%ld fother=%ld err=\"%s\"\n",
         n_ready, n_failed, n_started, (unsigned long long)t_first_start,
         (unsigned long long)t_all_ready, fail_by_status[0], fail_by_status[1], fail_by_status[2],
         fail_by_status[3], fail_by_status[4], fail_by_status[5], fail_by_status[6],
         fail_by_status[7], last_err);
  fflush(stdout);
}

static void emit_echo(conn *c) {
  char m[256 + 64];
  int pad = O.size > 200 ? 200 : O.size;
  char padding[201];
  memset(padding, 'p', (size_t)pad);
  padding[pad] = 0;
  snprintf(m, sizeof m, "42[\"echo\",\"%llu:%u:%s\"]", (unsigned long long)now_ns(), c->sent,
           padding);
  ws_text(c, m);
  c->sent++;
  echo_sent++;
}

static char *bc_msg;
static size_t bc_len;
static void bcaster_send(conn *c) {
  if (!bc_msg) {
    bc_msg = malloc((size_t)O.size + 32);
    bc_len = (size_t)sprintf(bc_msg, "42[\"%s\",\"", O.event);
    memset(bc_msg + bc_len, 'b', (size_t)O.size);
    bc_len += (size_t)O.size;
    bc_len += (size_t)sprintf(bc_msg + bc_len, "\"]");
  }
  while (bc_outstanding < O.inflight && (long)bc_bytes < O.total) {
    if (O.rate > 0 && (double)bc_bytes > O.rate * (double)(now_ns() - t_begin) / 1e9) break;
    ws_send(c, 1, bc_msg, bc_len);
    bc_outstanding++;
    bc_msgs++;
    bc_bytes += (uint64_t)O.size;
  }
}

static void churn_start_next(conn *c);

static void on_ready(conn *c) {
  if (O.mode == M_HOLD || O.mode == M_ECHO || O.mode == M_BCASTER) {
    if (n_ready + n_failed == O.conns && !t_all_ready) {
      t_all_ready = now_ns();
      print_ready();
    }
  }
  if (O.mode == M_HOLD && O.slow) {
    c->paused = true; /* stop reading: the kernel buffers fill, then the server's */
    set_events(c);
  } else if (O.mode == M_ECHO) {
    c->next_send = now_ns() + (uint64_t)(rnd() % (uint64_t)(O.interval * 1e9 + 1));
  } else if (O.mode == M_BCASTER) {
    bcaster_send(c);
  } else if (O.mode == M_CHURN) {
    emit_echo(c);
  }
}

static void on_event(conn *c, const char *name, size_t nlen, const char *arg, size_t alen) {
  uint64_t t = now_ns();
  if (nlen == 6 && !memcmp(name, "vbcast", 6)) {
    vbcast_got++;
    if (O.mode == M_BCASTER) bc_outstanding--;
    return;
  }
  if (nlen == 5 && !memcmp(name, "bcast", 5)) {
    if (O.mode == M_BCASTER) {
      bc_outstanding--;
      bcaster_send(c);
      return;
    }
    if (O.mode != M_HOLD) {
      bcast_other++;
      return;
    }
    if (alen >= 2 && arg[0] == 'B' && arg[1] == ':') {
      if (!c->got_bcast) {
        c->got_bcast = true;
        bcast_got++;
        if (!bcast_first_ns) bcast_first_ns = t;
        bcast_last_ns = t;
      }
    } else {
      bcast_other++;
    }
    return;
  }
  if (nlen == 4 && !memcmp(name, "echo", 4)) {
    unsigned long long ts = strtoull(arg, NULL, 10);
    (void)alen;
    c->recv++;
    if (O.mode == M_ECHO) {
      echo_recv++;
      if (ts && ts <= t) {
        add_lat(t - ts);
        if (t - ts > win_max) win_max = t - ts;
        win_n++;
      }
    } else if (O.mode == M_CHURN) {
      cycles_echoed++;
      if (c->flavor == F_WS_ABRUPT) {
        /* a frame header announcing 120 bytes, then only some of them, then gone */
        uint8_t h[6] = {0x81, 0x80 | 120, 1, 2, 3, 4};
        buf_add(&c->out, h, 6);
        buf_add(&c->out, "42[\"echo\",\"cut", 14);
        conn_flush(c);
        c->dead = true;
      } else {
        ws_text(c, "41");
        uint8_t code[2] = {0x03, 0xe8};
        ws_send(c, 8, code, 2);
        c->state = S_CLOSING;
      }
    }
  }
}

static void on_conn_gone(conn *c) {
  bool was_ready = c->in_ready;
  bool clean = false;
  if (O.mode == M_CHURN)
    clean = (c->kind == K_WS && (c->state == S_CLOSING || (c->flavor == F_WS_ABRUPT && c->recv))) ||
            (c->kind == K_POLL && (c->step == 6 || c->step == 9));
  bool rst = O.mode == M_CHURN && (c->flavor == F_WS_ABRUPT || c->step == 9) && (rnd() & 1);
  conn_close(c, rst);
  if (O.mode == M_CHURN) {
    if (clean) {
      cycles_done++;
      flavor_done[c->flavor]++;
    } else {
      cycles_failed++;
    }
    return; /* start_more() opens the next cycle in this slot */
  }
  if (O.mode == M_LORIS) {
    if (was_ready) loris_closed++;
    return; /* timers() reconnects it */
  }
  if (was_ready) {
    lost_conns++;
  } else {
    n_failed++;
    if (n_ready + n_failed == O.conns && !t_all_ready &&
        (O.mode == M_HOLD || O.mode == M_ECHO || O.mode == M_BCASTER)) {
      t_all_ready = now_ns();
      print_ready();
    }
  }
}

static int churn_flavor(void) {
  int sum = 0;
  for (int i = 0; i < 5; i++) sum += O.mix[i];
  int r = (int)(rnd() % (uint64_t)(sum ? sum : 1));
  for (int i = 0; i < 5; i++) {
    if (r < O.mix[i]) return i;
    r -= O.mix[i];
  }
  return 0;
}

static void churn_start_next(conn *c) {
  if (cycles_started >= O.cycles || now_ns() >= t_end) return;
  cycles_started++;
  int f = churn_flavor();
  conn_start(c, f <= F_WS_ABRUPT ? K_WS : K_POLL);
  c->flavor = (uint8_t)f;
}

/* ---- loop ---- */

static void drain_slow(void) {
  /* Read whatever the server queued for the paused clients; count those it hung up on. */
  for (int i = 0; i < O.conns; i++) {
    conn *c = &C[i];
    if (c->fd >= 0 && c->paused) {
      c->paused = false;
      set_events(c);
    }
  }
}

static void report_drain(void) {
  long closed = 0, open = 0;
  for (int i = 0; i < O.conns; i++) {
    if (C[i].fd >= 0)
      open++;
    else if (C[i].eof_seen || C[i].close_code)
      closed++;
  }
  printf("DRAIN closed=%ld open=%ld lost=%ld vbcast=%ld bcast=%ld\n", closed, open, lost_conns,
         vbcast_got, bcast_other);
  fflush(stdout);
}

static void report_bcast(void) {
  printf("BCAST got=%ld ready=%ld emit_ns=%llu first_ns=%llu last_ns=%llu other=%ld lost=%ld\n",
         bcast_got, n_ready, (unsigned long long)bcast_emit_ns, (unsigned long long)bcast_first_ns,
         (unsigned long long)bcast_last_ns, bcast_other, lost_conns);
  fflush(stdout);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
static double pct_us(double p) {
  if (!nlat) return 0;
  size_t i = (size_t)(p / 100.0 * (double)(nlat - 1));
  return (double)lat[i] / 1000.0;
}

static void final_report(void) {
  double secs = (double)(now_ns() - t_begin) / 1e9;
  switch (O.mode) {
  case M_HOLD:
    if (!t_all_ready) print_ready();
    report_bcast();
    break;
  case M_ECHO:
    if (!t_all_ready) print_ready();
    qsort(lat, nlat, sizeof *lat, cmp_u64);
    printf("ECHO sent=%ld recv=%ld lost_conns=%ld ready=%ld failed=%ld p50_us=%.0f p99_us=%.0f "
           "max_us=%.0f bcast_seen=%ld secs=%.2f err=\"%s\"\n",
           echo_sent, echo_recv, lost_conns, n_ready, n_failed, pct_us(50), pct_us(99), pct_us(100),
           bcast_other, secs, last_err);
    break;
  case M_BCASTER:
    printf("BCASTER msgs=%ld bytes=%llu outstanding=%ld own_volatile=%ld lost_conns=%ld failed=%ld "
           "secs=%.2f err=\"%s\"\n",
           bc_msgs, (unsigned long long)bc_bytes, bc_outstanding, vbcast_got, lost_conns, n_failed,
           secs, last_err);
    break;
  case M_CHURN:
    printf("CHURN started=%ld done=%ld failed=%ld echoed=%ld ws_clean=%ld ws_abrupt=%ld "
           "poll_clean=%ld poll_abrupt_post=%ld poll_abrupt_held=%ld secs=%.2f rate=%.0f "
           "err=\"%s\"\n",
           cycles_started, cycles_done, cycles_failed, cycles_echoed, flavor_done[0],
           flavor_done[1], flavor_done[2], flavor_done[3], flavor_done[4], secs,
           (double)cycles_done / secs, last_err);
    break;
  case M_LORIS:
    printf("LORIS open=%ld connecting=%ld closed_by_server=%ld reconnects=%ld bytes=%ld "
           "secs=%.2f err=\"%s\"\n",
           n_ready, n_connecting, loris_closed, loris_reconnects, loris_bytes, secs, last_err);
    break;
  }
  fflush(stdout);
}

static void handle_command(char *line) {
  if (!strncmp(line, "bcast", 5)) {
    for (int i = 0; i < O.conns; i++) {
      conn *c = &C[i];
      if (c->state == S_READY && c->fd >= 0) {
        char m[96];
        bcast_emit_ns = now_ns();
        snprintf(m, sizeof m, "42[\"bcast\",\"B:%llu\"]", (unsigned long long)bcast_emit_ns);
        ws_text(c, m);
        conn_flush(c);
        break;
      }
    }
    printf("EMITTED emit_ns=%llu\n", (unsigned long long)bcast_emit_ns);
    fflush(stdout);
  } else if (!strncmp(line, "report", 6)) {
    report_bcast();
  } else if (!strcmp(line, "drained")) {
    report_drain();
  } else if (!strcmp(line, "drain")) {
    drain_slow();
  } else if (!strncmp(line, "quit", 4)) {
    stop_flag = true;
  }
}

static void timers(uint64_t t) {
  for (int i = 0; i < O.conns; i++) {
    conn *c = &C[i];
    if (c->fd < 0 && O.mode == M_LORIS && c->t0 && !stop_flag && t < t_end &&
        n_connecting < O.concurrency) {
      loris_reconnects++;
      conn_start(c, K_LORIS);
      if (c->dead) on_conn_gone(c);
      continue;
    }
    if (c->fd < 0) continue;
    if (!c->in_ready && t > c->deadline) {
      fail(c, 5, "timeout before ready");
      on_conn_gone(c);
      continue;
    }
    if (O.mode == M_CHURN && c->kind == K_POLL && c->step == 9 && t >= c->next_send) {
      c->dead = true;
      on_conn_gone(c);
      continue;
    }
    if (O.mode == M_CHURN && t > c->deadline + (uint64_t)(O.timeout * 1e9)) {
      fail(c, 5, "churn cycle timeout");
      on_conn_gone(c);
      continue;
    }
    if (O.mode == M_BCASTER && c->state == S_READY && O.rate > 0) {
      bcaster_send(c);
      conn_flush(c);
    }
    if (O.mode == M_ECHO && c->state == S_READY && t >= c->next_send && t < t_end) {
      emit_echo(c);
      c->next_send += (uint64_t)(O.interval * 1e9);
      if (c->next_send < t) c->next_send = t + (uint64_t)(O.interval * 1e9);
      conn_flush(c);
    } else if (O.mode == M_LORIS && c->state == S_LORIS && t >= c->next_send) {
      size_t plen = strlen(LORIS_PREFIX);
      char ch = c->loris_pos < plen ? LORIS_PREFIX[c->loris_pos] : 'a';
      buf_add(&c->out, &ch, 1);
      c->loris_pos++;
      loris_bytes++;
      c->next_send = t + (uint64_t)(O.interval * 1e9 * (0.5 + (double)(rnd() % 1000) / 1000.0));
      conn_flush(c);
    }
    if (c->dead) on_conn_gone(c);
  }
}

static void start_more(void) {
  /* open new connections, at most O.concurrency handshakes in progress */
  static int next;
  if (O.mode == M_CHURN) {
    for (int i = 0; i < O.conns && !stop_flag; i++) {
      conn *c = &C[i];
      if (c->fd >= 0 || cycles_started >= O.cycles || now_ns() >= t_end) continue;
      churn_start_next(c);
      if (c->dead) on_conn_gone(c);
    }
    return;
  }
  while (next < O.conns && n_connecting < O.concurrency) {
    conn *c = &C[next++];
    conn_start(c, O.mode == M_LORIS ? K_LORIS : K_WS);
    if (c->dead) on_conn_gone(c);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: soak-client hold|echo|bcaster|churn|loris [--host H] [--port P] [--conns N]\n"
          "  [--src-base B] [--src-count K] [--concurrency C] [--duration S] [--timeout S]\n"
          "  [--interval S] [--size BYTES] [--total BYTES] [--inflight N] [--rate BYTES/S]\n"
          "  [--event bcast|vbcast] [--cycles N]\n"
          "  [--mix a,b,c,d,e] [--slow] [--rcvbuf BYTES]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *m = argv[1];
  if (!strcmp(m, "hold"))
    O.mode = M_HOLD;
  else if (!strcmp(m, "echo"))
    O.mode = M_ECHO;
  else if (!strcmp(m, "bcaster"))
    O.mode = M_BCASTER;
  else if (!strcmp(m, "churn"))
    O.mode = M_CHURN;
  else if (!strcmp(m, "loris"))
    O.mode = M_LORIS;
  else
    usage();
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && (i++, 1))
    if (OPT("--host"))
      O.host = v;
    else if (OPT("--port"))
      O.port = atoi(v);
    else if (OPT("--conns"))
      O.conns = atoi(v);
    else if (OPT("--src-base"))
      O.src_base = atoi(v);
    else if (OPT("--src-count"))
      O.src_count = atoi(v);
    else if (OPT("--concurrency"))
      O.concurrency = atoi(v);
    else if (OPT("--duration"))
      O.duration = atof(v);
    else if (OPT("--timeout"))
      O.timeout = atof(v);
    else if (OPT("--interval"))
      O.interval = atof(v);
    else if (OPT("--rate"))
      O.rate = atof(v);
    else if (OPT("--event"))
      O.event = v;
    else if (OPT("--size"))
      O.size = atoi(v);
    else if (OPT("--total"))
      O.total = atol(v);
    else if (OPT("--inflight"))
      O.inflight = atoi(v);
    else if (OPT("--cycles"))
      O.cycles = atol(v);
    else if (OPT("--rcvbuf"))
      O.rcvbuf = atoi(v);
    else if (OPT("--mix"))
      sscanf(v, "%d,%d,%d,%d,%d", &O.mix[0], &O.mix[1], &O.mix[2], &O.mix[3], &O.mix[4]);
    else if (!strcmp(a, "--slow"))
      O.slow = true;
    else
      usage();
#undef OPT
  }
  if (strncmp(O.host, "127.", 4)) die("only 127.0.0.x targets are allowed");
  if (O.conns < 1 || O.conns > 19990) die("--conns out of range");
  rng_state ^= (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
  signal(SIGPIPE, SIG_IGN);
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)O.port);
  if (inet_pton(AF_INET, O.host, &dst.sin_addr) != 1) die("bad --host");
  ep = epoll_create1(EPOLL_CLOEXEC);
  C = calloc((size_t)O.conns, sizeof *C);
  for (int i = 0; i < O.conns; i++) C[i].fd = -1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event se = {.events = EPOLLIN, .data.ptr = NULL};
  bool stdin_open = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &se) == 0;
  t_begin = now_ns();
  t_end = t_begin + (uint64_t)(O.duration * 1e9);
  char line[256];
  size_t llen = 0;
  uint64_t last_tick = 0, last_progress = t_begin;
  struct epoll_event evs[512];
  while (!stop_flag) {
    uint64_t t = now_ns();
    if (t >= t_end) break;
    if (O.mode == M_BCASTER && (long)bc_bytes >= O.total && bc_outstanding <= 0 && n_ready) break;
    if (O.mode == M_BCASTER && strcmp(O.event, "bcast") && O.rate > 0 &&
        (long)bc_bytes >= O.total && n_ready &&
        t > t_all_ready + (uint64_t)((double)O.total / O.rate * 1e9) + 2000000000ull)
      break; /* paced (volatile): own copies may be dropped; stop 2 s after the last send */
    if (O.mode == M_CHURN && cycles_started >= O.cycles && n_connecting == 0 && n_ready == 0) {
      bool any = false;
      for (int i = 0; i < O.conns && !any; i++) any = C[i].fd >= 0;
      if (!any) break;
    }
    if (O.mode == M_HOLD && O.slow && t_all_ready == 0 && n_ready + n_failed >= O.conns) {
      t_all_ready = t;
      print_ready();
    }
    start_more();
    int n = epoll_wait(ep, evs, 512, 5);
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (!c) {
        ssize_t r = read(0, line + llen, sizeof line - 1 - llen);
        if (r == 0) {
          epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
          stdin_open = false;
          if (O.mode == M_HOLD) stop_flag = true;
          continue;
        }
        if (r < 0) continue;
        llen += (size_t)r;
        line[llen] = 0;
        char *nl;
        while ((nl = strchr(line, '\n'))) {
          *nl = 0;
          handle_command(line);
          memmove(line, nl + 1, llen - (size_t)(nl + 1 - line) + 1);
          llen -= (size_t)(nl + 1 - line);
        }
        if (llen >= sizeof line - 1) llen = 0;
        continue;
      }
      conn_on_event(c, evs[i].events);
    }
    t = now_ns();
    if (t - last_tick > 20000000ull) {
      timers(t);
      last_tick = t;
    }
    if (O.mode == M_HOLD && bcast_got && !bcast_reported && bcast_got >= n_ready) {
      bcast_reported = true;
      report_bcast();
    }
    if (t - last_progress > 1000000000ull) {
      last_progress = t;
      if (O.mode == M_CHURN)
        printf("PROGRESS done=%ld failed=%ld\n", cycles_done, cycles_failed), fflush(stdout);
      else if (O.mode == M_ECHO) {
        printf("PROGRESS t_ns=%llu echoes=%llu max_us=%llu\n", (unsigned long long)t,
               (unsigned long long)win_n, (unsigned long long)(win_max / 1000));
        fflush(stdout);
        win_n = win_max = 0;
      } else if (O.mode == M_LORIS)
        printf("PROGRESS open=%ld closed_by_server=%ld\n", n_ready, loris_closed), fflush(stdout);
    }
  }
  (void)stdin_open;
  if (O.mode == M_ECHO) {
    /* let the last echoes come back */
    uint64_t until = now_ns() + 2000000000ull;
    while (echo_recv < echo_sent && now_ns() < until) {
      int n = epoll_wait(ep, evs, 512, 10);
      for (int i = 0; i < n; i++)
        if (evs[i].data.ptr) conn_on_event(evs[i].data.ptr, evs[i].events);
    }
  }
  final_report();
  return 0;
}
