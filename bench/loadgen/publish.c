/* sio-loadgen sio-publish: events published over HTTP, delivered to Socket.IO clients.
 *
 * Connections [0, --conns) are Socket.IO clients (the handshake of modes.c) that count every
 * 42["pub",...] they receive. Connections [--conns, --conns + --publishers) are HTTP/1.1
 * keep-alive connections that POST --http-path (/api/emit) with "Authorization: Bearer
 * --token", up to --inflight requests pipelined on each. A request carries --batch emits:
 * {"nsp":"/","event":"pub","args":["<--size chars>"]}, or a JSON array of --batch of them
 * (sio-server's batch form, POST /api/batch). Each string starts with the send time, so every
 * delivery gives a POST-to-client latency.
 *
 * The publishers go as fast as the server answers, within a window: at most --window events
 * published and not yet delivered to every client (sent x clients - deliveries, over all the
 * clients), so that a server that answers the POST before its deliveries reach the sockets
 * cannot queue without bound. Published events are those answered 2xx in the measured window;
 * a non-2xx answer is counted (pub_errors, the last one in last_error) and its events leave the
 * window. Answers must carry Content-Length (sio-server and Express both send it). */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ANSWER_HEAD 16384
#define FILLER          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

struct lg_pub {
  char *req;        /* the request: head and body, stamped before each send */
  size_t req_len;   /* its length */
  size_t *stamp_at; /* where each emit's 16-digit stamp goes (--batch of them) */
  int *pending;     /* per publisher: requests sent and not yet answered */
  unsigned next;    /* the publisher that sends first on the next turn */
};

bool lg_pub_is_publisher(const lg_ctx *x, const lg_conn *c) {
  return x->o.mode == LG_SIO_PUBLISH && c->id >= (uint32_t)x->o.conns;
}

static void build_request(lg_ctx *x, lg_pub *p) {
  const lg_opts *o = &x->o;
  static const char pre[] = "{\"nsp\":\"/\",\"event\":\"pub\",\"args\":[\"", post[] = "\"]}";
  size_t item = sizeof pre - 1 + (size_t)o->size + sizeof post - 1;
  size_t body = (size_t)o->batch * item + (o->batch > 1 ? 2 + (size_t)(o->batch - 1) : 0);
  char head[512];
  int hn = snprintf(head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                    o->http_path, o->host, o->port, o->token, body);
  if (hn < 0 || (size_t)hn >= sizeof head) lg_fatal("--http-path or --token too long");
  p->req_len = (size_t)hn + body;
  p->req = malloc(p->req_len);
  p->stamp_at = calloc((size_t)o->batch, sizeof *p->stamp_at);
  if (!p->req || !p->stamp_at) lg_fatal("out of memory");
  char *w = p->req;
  memcpy(w, head, (size_t)hn);
  w += hn;
  if (o->batch > 1) *w++ = '[';
  for (int k = 0; k < o->batch; k++) {
    if (k) *w++ = ',';
    memcpy(w, pre, sizeof pre - 1);
    w += sizeof pre - 1;
    p->stamp_at[k] = (size_t)(w - p->req);
    for (int i = 0; i < o->size; i++) *w++ = FILLER[i % (sizeof FILLER - 1)];
    memcpy(w, post, sizeof post - 1);
    w += sizeof post - 1;
  }
  if (o->batch > 1) *w++ = ']';
}

void lg_pub_init(lg_ctx *x) {
  lg_pub *p = calloc(1, sizeof *p);
  if (!p) lg_fatal("out of memory");
  p->pending = calloc((size_t)x->o.publishers, sizeof *p->pending);
  if (!p->pending) lg_fatal("out of memory");
  build_request(x, p);
  x->pub = p;
}

void lg_pub_free(lg_ctx *x) {
  if (!x->pub) return;
  free(x->pub->req);
  free(x->pub->stamp_at);
  free(x->pub->pending);
  free(x->pub);
  x->pub = NULL;
}

/* May one more request go out? (the window over all clients; see the top of the file) */
static bool window_allows(const lg_ctx *x) {
  int clients = x->ready - x->pub_ready;
  if (clients <= 0) return false;
  uint64_t n = (uint64_t)clients;
  return (x->pub_sent + (uint64_t)x->o.batch) * n <= x->deliv_total + (uint64_t)x->o.window * n;
}

static void send_request(lg_ctx *x, lg_conn *c) {
  lg_pub *p = x->pub;
  if (x->o.size >= 16)
    for (int k = 0; k < x->o.batch; k++) lg_put_hex64(p->req + p->stamp_at[k], x->now);
  lg_buf_append(&c->out, p->req, p->req_len);
  p->pending[c->id - (uint32_t)x->o.conns]++;
  x->pub_sent += (uint64_t)x->o.batch;
}

void lg_pub_tick(lg_ctx *x) {
  if (x->o.mode != LG_SIO_PUBLISH || !x->pub) return;
  if (x->phase != PH_WARMUP && x->phase != PH_MEASURE) return;
  x->now = lg_now_ns();
  int first = x->o.conns, np = x->o.publishers, last = first + np;
  bool any = true;
  /* One request per publisher per turn, starting one further each time: when the window is
   * what limits, every publisher still gets its share (none idles into a keep-alive timeout). */
  while (any && window_allows(x)) {
    any = false;
    for (int k = 0; k < np && window_allows(x); k++) {
      int i = first + (int)((x->pub->next + (unsigned)k) % (unsigned)np);
      lg_conn *c = &x->conns[i];
      if (c->state != ST_PUB || x->pub->pending[i - first] >= x->o.inflight) continue;
      send_request(x, c);
      any = true;
    }
    x->pub->next++;
  }
  for (int i = first; i < last; i++)
    if (x->conns[i].state == ST_PUB && x->conns[i].out.len) lg_conn_flush(x, &x->conns[i]);
}

/* The value of the Content-Length header in head[0, len), -1 if there is none; -2 when the
 * answer is chunked (not supported here). */
static long content_length(const uint8_t *head, size_t len) {
  const char *s = (const char *)head, *end = s + len;
  long v = -1;
  for (const char *line = s; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl) break;
    size_t n = (size_t)(nl - line);
    if (n > 15 && !strncasecmp(line, "content-length:", 15)) v = strtol(line + 15, NULL, 10);
    if (n > 18 && !strncasecmp(line, "transfer-encoding:", 18)) return -2;
    line = nl + 1;
  }
  return v;
}

static void on_answer(lg_ctx *x, lg_conn *c, int status, const uint8_t *body, size_t len) {
  lg_pub *p = x->pub;
  int *pending = &p->pending[c->id - (uint32_t)x->o.conns];
  if (*pending > 0) (*pending)--;
  if (status >= 200 && status < 300) {
    if (x->phase == PH_MEASURE) x->sends += (uint64_t)x->o.batch;
    return;
  }
  x->pub_sent -= (uint64_t)x->o.batch; /* never delivered: out of the window */
  x->pub_errors++;
  snprintf(x->last_error, sizeof x->last_error, "publish answered %d: %.*s", status,
           (int)(len > 100 ? 100 : len), (const char *)body);
}

size_t lg_pub_on_bytes(lg_ctx *x, lg_conn *c, const uint8_t *data, size_t n) {
  size_t off = 0;
  while (off < n && c->action == ACT_NONE) {
    const uint8_t *h = data + off;
    const uint8_t *end = memmem(h, n - off, "\r\n\r\n", 4);
    if (!end) {
      if (n - off > MAX_ANSWER_HEAD) lg_conn_error(x, c, "answer head too large");
      break;
    }
    size_t head = (size_t)(end + 4 - h);
    if (head < 12 || memcmp(h, "HTTP/1.", 7) != 0) {
      lg_conn_error(x, c, "not an HTTP/1.x answer");
      break;
    }
    long clen = content_length(h, head);
    if (clen < 0) {
      lg_conn_error(x, c, clen == -2 ? "chunked answer" : "answer without Content-Length");
      break;
    }
    if (n - off < head + (size_t)clen) break;
    int status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    on_answer(x, c, status, h + head, (size_t)clen);
    off += head + (size_t)clen;
  }
  return off;
}
