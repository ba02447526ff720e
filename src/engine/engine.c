/* Engine.IO v4 server: handshake, long-polling and WebSocket transports, upgrade, heartbeat.
 *
 * Requests under the configured path are taken before the app's router (an HTTP intercept) and
 * WebSocket upgrades through an upgrade hook. A session has one current transport:
 * - polling: packets wait in `out`, already encoded as a payload (\x1e-separated, binary as
 *   'b'+base64); a held GET takes them all at once. While a POST payload is dispatched the
 *   flush is deferred so that answers to a batch leave in one response.
 * - websocket: each packet is one frame, queued on the connection (flushed once per loop
 *   iteration by the net layer).
 * An upgrade runs a second (probe) WebSocket beside the polling transport: 2probe/3probe,
 * the held GET is released with a noop, and on 5 the session switches; whatever was still
 * waiting in `out` is re-sent over the WebSocket in order (each packet exactly once, since it
 * moves out of `out`).
 *
 * Heartbeat as Node's engine.io v4: pingInterval after the open (or the last pong) the server
 * sends 2 and waits pingTimeout for 3, else the session closes with "ping timeout".
 *
 * Lifetime: a session is referenced by its map entry, a held GET, POSTs in flight, its
 * WebSockets and any callback on the stack (refs). It is freed when closed and unreferenced, so
 * a callback may close it at any time. */
#include "engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/list.h"
#include "core/log.h"
#include "core/map.h"
#include "engine/codec.h"
#include "http/server.h"
#include "net/net.h"
#include "ws/ws.h"

#define SID_BYTES 16 /* 128 bits, 22 URL-safe base64 chars */

typedef struct handshake {
  size_t nheaders, nquery;
  const char **names, **values;
  const char **qnames, **qvalues; /* decoded query parameters */
  const char *query; /* raw */
  const char *url;
  const char *address;
  uint64_t issued;
  int secure;
} handshake;

enum { ST_OPEN = 0, ST_CLOSING = 1, ST_CLOSED = 2 };

struct sio_eio_socket {
  sio_eio *eio;
  char sid[24]; /* SID_BYTES as 22 URL-safe base64 chars */
  int state;
  int transport;
  unsigned refs;
  unsigned announced : 1, upgrading : 1, in_batch : 1, get_gzip : 1, in_map : 1;
  unsigned out_compress : 1; /* a packet in `out` may be compressed (engine.io's Polling.send) */
  void *data;
  handshake *hs;
  /* polling */
  sio_res *get_res;
  sio__sbuf out;
  unsigned posts;
  /* websocket */
  sio__ws *ws;
  struct upgrade *up; /* only while a probe WebSocket is open beside polling */
  /* the heartbeat runs one wait at a time (for the next ping, then for its pong, or the final
   * wait of a closing polling session), so they share one timer */
  sio__timer heartbeat;
};

/* An upgrade in progress: the probe WebSocket and the bound on the upgrade. Allocated when the
 * probe opens, freed when it becomes the transport or goes, so that sessions (most of them
 * idle) do not carry it. */
struct upgrade {
  sio__ws *probe;
  sio__timer timer;
  sio__eio_session *s;
};

static sio__ws *probe_of(const sio__eio_session *s) { return s->up ? s->up->probe : NULL; }

/* Stops the upgrade timer and forgets the probe (which closes on its own). */
static void upgrade_end(sio__eio_session *s) {
  if (!s->up) return;
  sio__timer_stop(&s->up->timer);
  sio__free(s->up);
  s->up = NULL;
}

struct sio_eio {
  sio_app *app;
  sio__net *net;
  sio_eio_opts opts;
  char *path;
  sio_eio_handlers h;
  void *user;
  sio__ws_opts ws_opts;
  sio__map sessions;
  size_t count;
  int closed;
  /* the open packet after the sid, without and with the upgrade list: set by the options
   * alone, so encoded once at attach (see open_packet) */
  sio__sbuf open_tail[2];
};

static void session_close(sio__eio_session *s, const char *reason);
static void session_unref(sio__eio_session *s);
static int poll_flush(sio__eio_session *s);

/* --- options ------------------------------------------------------------------------------ */

sio_eio_opts sio_eio_opts_default(void) {
  sio_eio_opts o;
  memset(&o, 0, sizeof o);
  o.path = "/engine.io/";
  o.ping_interval_ms = 25000;
  o.ping_timeout_ms = 20000;
  o.upgrade_timeout_ms = 10000;
  o.max_http_buffer_size = 1000000;
  o.transports = SIO_EIO_POLLING | SIO_EIO_WEBSOCKET;
  o.compression_threshold = 1024;
  o.send_buffer_limit = 1u << 20;
  return o;
}

static void apply_defaults(sio_eio_opts *o) {
  sio_eio_opts d = sio_eio_opts_default();
  if (!o->path) o->path = d.path;
  if (!o->ping_interval_ms) o->ping_interval_ms = d.ping_interval_ms;
  if (!o->ping_timeout_ms) o->ping_timeout_ms = d.ping_timeout_ms;
  if (!o->upgrade_timeout_ms) o->upgrade_timeout_ms = d.upgrade_timeout_ms;
  if (!o->max_http_buffer_size) o->max_http_buffer_size = d.max_http_buffer_size;
  if (!o->transports) o->transports = d.transports;
  if (!o->compression_threshold) o->compression_threshold = d.compression_threshold;
  if (!o->send_buffer_limit) o->send_buffer_limit = d.send_buffer_limit;
}

/* --- small helpers ------------------------------------------------------------------------ */

static void session_ref(sio__eio_session *s) { s->refs++; }

static uint64_t now_ms_epoch(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void set_common_headers(sio_res *res) {
  sio_res_set_header(res, "Cache-Control", "no-store");
}

/* Engine.IO error answer: 400 (403 for Forbidden) with {"code":N,"message":"..."}. */
static void send_error(sio_res *res, sio__eio_error code) {
  sio_res_status(res, code == SIO__EIO_ERR_FORBIDDEN ? 403 : 400);
  sio_res_set_header(res, "Content-Type", "application/json");
  const char *body = sio__eio_error_json(code);
  sio_res_send(res, body, strlen(body));
}

/* Whether a comma-separated list contains `item` (exact, spaces around items ignored). */
static int list_has(const char *list, const char *item) {
  size_t il = strlen(item);
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && t[-1] == ' ') t--;
    if ((size_t)(t - p) == il && strncmp(p, item, il) == 0) return 1;
    p = e;
  }
  return 0;
}

static int accepts_gzip(const sio_req *req) {
  const char *ae = sio_req_header(req, "Accept-Encoding");
  if (!ae) return 0;
  const char *g = strcasestr(ae, "gzip");
  if (!g) return 0;
  const char *q = g + 4;
  while (*q == ' ') q++;
  if (*q == ';') { /* gzip;q=0 refuses it */
    const char *v = strstr(q, "q=");
    if (v && v[2] == '0' && (v[3] == 0 || v[3] == ',' || (v[3] == '.' && strspn(v + 4, "0") > 0 &&
                                                           (v[4 + strspn(v + 4, "0")] == 0 ||
                                                            v[4 + strspn(v + 4, "0")] == ','))))
      return 0;
  }
  return 1;
}

/* --- CORS (as Node's `cors` middleware that engine.io applies) ------------------------------ */

static int cors_enabled(const sio_eio *e) { return e->opts.cors_origin || e->opts.cors_origin_fn; }

/* Adds the CORS headers; returns 1 if this was a preflight that has been answered. */
static int apply_cors(sio_eio *e, sio_req *req, sio_res *res) {
  if (!cors_enabled(e)) return 0;
  const char *origin = sio_req_header(req, "Origin");
  const char *allow = NULL;
  int vary = 0;
  if (e->opts.cors_origin_fn) {
    vary = 1;
    if (origin && e->opts.cors_origin_fn(origin, e->opts.cors_user)) allow = origin;
  } else if (strcmp(e->opts.cors_origin, "*") == 0) {
    if (e->opts.cors_credentials) {
      vary = 1;
      allow = origin;
    } else {
      allow = "*";
    }
  } else {
    vary = 1;
    if (origin && list_has(e->opts.cors_origin, origin)) allow = origin;
  }
  if (allow) sio_res_set_header(res, "Access-Control-Allow-Origin", allow);
  if (vary) sio_res_append_header(res, "Vary", "Origin");
  if (e->opts.cors_credentials) sio_res_set_header(res, "Access-Control-Allow-Credentials", "true");
  if (strcmp(sio_req_method(req), "OPTIONS") != 0) return 0;
  sio_res_set_header(res, "Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
  const char *rh = sio_req_header(req, "Access-Control-Request-Headers");
  if (rh) {
    sio_res_set_header(res, "Access-Control-Allow-Headers", rh);
    sio_res_append_header(res, "Vary", "Access-Control-Request-Headers");
  }
  sio_res_status(res, 204);
  sio_res_send(res, "", 0);
  return 1;
}

/* --- handshake info ----------------------------------------------------------------------- */

static int hexv(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes [p, end) into out ('+' is a space); returns the end of what was written. */
static char *pct_decode(const char *p, const char *end, char *out) {
  for (; p < end; p++) {
    if (*p == '%' && end - p >= 3 && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
      *out++ = (char)(hexv(p[1]) << 4 | hexv(p[2]));
      p += 2;
    } else {
      *out++ = *p == '+' ? ' ' : *p;
    }
  }
  *out++ = 0;
  return out;
}

/* Copies what the layer above may want of the handshake request into one block. The request
 * keeps its head as one block of NUL-terminated pieces (sio__req_head_block): that block is
 * copied whole and the header, URL and query pointers moved by the same offset, rather than
 * each string measured and copied on its own. */
static handshake *handshake_copy(sio_req *req) {
  const char *head;
  size_t head_len;
  const char *const *names, *const *values;
  size_t n = sio__req_head_block(req, &head, &head_len, &names, &values), nq = 0;
  const char *query = sio__req_query_string(req);
  if (!query) query = "";
  size_t qlen = strlen(query);
  for (const char *q = query; (q = memchr(q, '&', qlen - (size_t)(q - query))); q++) nq++;
  if (*query) nq++;
  char ip[64] = "";
  int port;
  if (sio__req_peer(req, ip, sizeof ip, &port) != 0) {
    const char *rip = sio_req_ip(req);
    snprintf(ip, sizeof ip, "%s", rip ? rip : "");
  }
  size_t iplen = strlen(ip);
  /* decoding never lengthens: the decoded pairs fit in the query's bytes plus two NULs each */
  size_t bytes = head_len + 1 + iplen + 1 + qlen + 2 * nq;
  handshake *hs = sio__malloc(sizeof *hs + (2 * n + 2 * nq) * sizeof(char *) + bytes);
  if (!hs) return NULL;
  hs->nheaders = n;
  hs->names = (const char **)(hs + 1);
  hs->values = hs->names + n;
  hs->qnames = hs->values + n;
  hs->qvalues = hs->qnames + nq;
  char *p = (char *)(hs->qvalues + nq);
  memcpy(p, head, head_len + 1);
  for (size_t i = 0; i < n; i++) {
    hs->names[i] = p + (names[i] - head);
    hs->values[i] = p + (values[i] - head);
  }
  hs->url = p + (sio_req_url(req) - head);
  hs->query = *query ? p + (query - head) : ""; /* a non-empty query is in the URL */
  p += head_len + 1;
  memcpy(p, ip, iplen + 1);
  hs->address = p;
  p += iplen + 1;
  hs->nquery = 0;
  for (const char *q = query; *q;) {
    const char *end = q + strcspn(q, "&");
    const char *eq = memchr(q, '=', (size_t)(end - q));
    const char *kend = eq ? eq : end;
    if (kend > q) {
      hs->qnames[hs->nquery] = p;
      p = pct_decode(q, kend, p);
      hs->qvalues[hs->nquery] = p;
      p = pct_decode(eq ? eq + 1 : end, end, p);
      hs->nquery++;
    }
    q = *end ? end + 1 : end;
  }
  hs->issued = now_ms_epoch();
  hs->secure = 0;
  return hs;
}

/* --- sessions ----------------------------------------------------------------------------- */

static void on_ping_due(sio__timer *t);
static void on_ping_timeout(sio__timer *t);
static void on_upgrade_timeout(sio__timer *t);

static sio__eio_session *session_new(sio_eio *e, sio_req *req, int transport) {
  sio__eio_session *s = sio__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->eio = e;
  s->transport = transport;
  s->refs = 1; /* the server's (dropped at close) */
  s->out = (sio__sbuf)SIO__SBUF_INIT;
  sio__timer_init(&s->heartbeat);
  s->hs = handshake_copy(req);
  if (!s->hs || sio__random_id(s->sid, SID_BYTES) != 0 ||
      sio__map_put_ref(&e->sessions, s->sid, strlen(s->sid), s) != 0) {
    sio__free(s->hs);
    sio__free(s);
    return NULL;
  }
  s->in_map = 1;
  e->count++;
  return s;
}

static void session_free(sio__eio_session *s) {
  upgrade_end(s);
  sio__sbuf_free(&s->out);
  sio__free(s->hs);
  sio__free(s);
}

static void session_unref(sio__eio_session *s) {
  if (--s->refs == 0) session_free(s);
}

static void remove_from_server(sio__eio_session *s) {
  if (!s->in_map) return;
  sio_eio *e = s->eio;
  sio__map_del(&e->sessions, s->sid, strlen(s->sid));
  e->count--;
  s->in_map = 0;
}

static void schedule_ping(sio__eio_session *s) {
  sio__timer_start(s->eio->net, &s->heartbeat, s->eio->opts.ping_interval_ms, on_ping_due);
}

/* --- sending ------------------------------------------------------------------------------ */

/* A packet the engine writes itself (heartbeat, probe answers, packets moved over at an
 * upgrade): compressed by size alone, as engine.io's packets default to compress: true. */
static int ws_send_packet(const sio__eio_session *s, sio__ws *ws, sio__eio_type type,
                          const void *data, size_t len, int binary) {
  sio__eio_msg m;
  sio__sbuf b = SIO__SBUF_INIT;
  if (sio__sbuf_reserve(&b, SIO__WS_HEADROOM + len + 1)) return -ENOMEM;
  b.len = SIO__WS_HEADROOM;
  if (!binary) sio__sbuf_appendc(&b, (char)('0' + type));
  sio__sbuf_append(&b, data, len);
  int rc = sio__eio_msg_seal(&b, binary, &m);
  if (rc) return rc;
  size_t n = m.b->len - m.data_off;
  rc = sio__ws_send_prepared(ws, m.b, m.frame_off, n >= s->eio->opts.compression_threshold);
  sio__eio_msg_release(&m);
  return rc;
}

/* The polling side's share of the send-buffer limit (as the WebSocket layer's): past it a
 * packet is refused with SIO_ETOOLARGE and the layer above applies its policy. One packet is
 * always taken when nothing waits, whatever its size. */
static int poll_full(const sio__eio_session *s, size_t extra) {
  size_t limit = s->eio->opts.send_buffer_limit;
  return s->out.len > 0 && s->out.len + extra > limit;
}

/* Queues a packet on the session's current transport. */
static int send_packet(sio__eio_session *s, sio__eio_type type, const void *data, size_t len,
                       int binary) {
  if (s->state != ST_OPEN) return SIO_ECLOSED;
  if (s->transport == SIO_EIO_WEBSOCKET) {
    if (!s->ws) return SIO_ECLOSED;
    return ws_send_packet(s, s->ws, type, data, len, binary);
  }
  if (poll_full(s, len)) return SIO_ETOOLARGE;
  sio__eio_packet p = {type, binary, data, len};
  int rc = sio__eio_encode_packet(&s->out, &p, s->out.len > 0);
  if (rc || s->out.oom) return -ENOMEM;
  s->out_compress = 1; /* engine.io's packets default to compress: true */
  if (s->get_res && !s->in_batch) poll_flush(s);
  return 0;
}

int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary) {
  return send_packet(s, SIO__EIO_MESSAGE, data, len, binary);
}

int sio__eio_msg_begin(sio__sbuf *s, int binary) {
  sio__sbuf_reset(s);
  if (sio__sbuf_reserve(s, SIO__WS_HEADROOM + 64)) return -ENOMEM;
  memset(s->data, 0, SIO__WS_HEADROOM);
  s->len = SIO__WS_HEADROOM;
  if (!binary) sio__sbuf_appendc(s, '4');
  return s->oom ? -ENOMEM : 0;
}

int sio__eio_msg_seal(sio__sbuf *s, int binary, sio__eio_msg *out) {
  if (s->oom || s->len < SIO__WS_HEADROOM) {
    sio__sbuf_free(s);
    return -ENOMEM;
  }
  sio__buf *b = sio__sbuf_to_buf(s);
  if (!b) return -ENOMEM;
  out->b = b;
  out->binary = (uint8_t)binary;
  out->compress = 1;
  out->data_off = SIO__WS_HEADROOM;
  out->frame_off = sio__ws_frame_prepare(b, binary ? SIO__WS_OP_BINARY : SIO__WS_OP_TEXT);
  return 0;
}

int sio__eio_msg_new(const void *data, size_t len, int binary, sio__eio_msg *out) {
  sio__sbuf s = SIO__SBUF_INIT;
  if (sio__eio_msg_begin(&s, binary) || sio__sbuf_append(&s, data, len)) {
    sio__sbuf_free(&s);
    return -ENOMEM;
  }
  return sio__eio_msg_seal(&s, binary, out);
}

void sio__eio_msg_release(sio__eio_msg *m) {
  if (m->b) sio__buf_unref(m->b);
  m->b = NULL;
}

int sio__eio_send_msg(sio__eio_session *s, const sio__eio_msg *m) {
  if (s->state != ST_OPEN) return SIO_ECLOSED;
  if (s->transport == SIO_EIO_WEBSOCKET) {
    if (!s->ws) return SIO_ECLOSED;
    size_t n = m->b->len - m->data_off;
    int z = m->compress && n >= s->eio->opts.compression_threshold;
    return sio__ws_send_prepared(s->ws, m->b, m->frame_off, z);
  }
  const char *d = m->b->data + m->data_off;
  size_t n = m->b->len - m->data_off;
  int rc;
  if (poll_full(s, n)) return SIO_ETOOLARGE;
  if (m->binary) {
    rc = sio__eio_encode_message(&s->out, d, n, 1, s->out.len > 0);
  } else {
    if (s->out.len) sio__sbuf_appendc(&s->out, SIO__EIO_SEP);
    rc = sio__sbuf_append(&s->out, d, n);
  }
  if (rc || s->out.oom) return -ENOMEM;
  if (m->compress) s->out_compress = 1;
  if (s->get_res && !s->in_batch) poll_flush(s);
  return 0;
}

/* --- polling responses -------------------------------------------------------------------- */

static int gzip_into(const char *in, size_t n, sio__sbuf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = sio__zalloc;
  z.zfree = sio__zfree;
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -ENOMEM;
  size_t bound = deflateBound(&z, n);
  if (sio__sbuf_reserve(out, bound)) {
    deflateEnd(&z);
    return -ENOMEM;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out->data;
  z.avail_out = (uInt)bound;
  int rc = deflate(&z, Z_FINISH);
  out->len = bound - z.avail_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : -EIO;
}

/* Answers a polling request with a payload (moved out of *body). */
static void respond_payload(sio__eio_session *s, sio_res *res, sio__sbuf *body, int gzip) {
  sio_res_status(res, 200);
  sio_res_set_header(res, "Content-Type", "text/plain; charset=UTF-8");
  if (gzip && body->len >= s->eio->opts.compression_threshold) {
    sio__sbuf z = SIO__SBUF_INIT;
    if (gzip_into(body->data, body->len, &z) == 0) {
      sio_res_set_header(res, "Content-Encoding", "gzip");
      sio__sbuf_free(body);
      *body = z;
    } else {
      sio__sbuf_free(&z);
    }
  }
  size_t len = body->len;
  if (!len) {
    sio_res_send(res, "", 0);
    return;
  }
  sio__buf *b = sio__sbuf_to_buf(body);
  if (!b) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return;
  }
  sio__res_send_buf(res, b, 0, len);
  sio__buf_unref(b);
}

/* Detaches the held GET (if any) and returns it. */
static sio_res *take_get(sio__eio_session *s) {
  sio_res *res = s->get_res;
  if (res) {
    sio_res_on_close(res, NULL, NULL);
    s->get_res = NULL;
  }
  return res;
}

/* Releases the held GET with a fixed payload ("6" noop, "1" close). */
static void release_get(sio__eio_session *s, const char *payload) {
  sio_res *res = take_get(s);
  if (!res) return;
  sio__sbuf b = SIO__SBUF_INIT;
  sio__sbuf_appends(&b, payload);
  respond_payload(s, res, &b, 0);
  session_unref(s);
}

static int poll_flush(sio__eio_session *s) {
  if (!s->get_res || !s->out.len) return 0;
  sio_res *res = take_get(s);
  sio__sbuf body = s->out;
  s->out = (sio__sbuf)SIO__SBUF_INIT;
  int gzip = s->get_gzip && s->out_compress;
  s->out_compress = 0;
  respond_payload(s, res, &body, gzip);
  sio__sbuf_free(&body);
  if (s->eio->h.drain && s->state == ST_OPEN) s->eio->h.drain(s, s->eio->user);
  session_unref(s);
  return 1;
}

/* --- closing ------------------------------------------------------------------------------ */

static void notify_close(sio__eio_session *s, const char *reason) {
  if (s->announced) {
    s->announced = 0;
    if (s->eio->h.close) s->eio->h.close(s, reason, s->eio->user);
  }
}

/* Closes the session now: timers stop, the transports are closed (a held GET gets `get_reply`),
 * the layer above hears `reason`. */
static void session_close_with(sio__eio_session *s, const char *reason, const char *get_reply) {
  if (s->state == ST_CLOSED) return;
  session_ref(s);
  s->state = ST_CLOSED;
  sio__timer_stop(&s->heartbeat);
  if (s->up) sio__timer_stop(&s->up->timer);
  remove_from_server(s);
  if (s->get_res) release_get(s, get_reply);
  int shutdown = strcmp(reason, SIO__EIO_REASON_SHUTDOWN) == 0;
  if (probe_of(s)) sio__ws_close(probe_of(s), shutdown ? 1001 : 0, NULL, 0);
  if (s->ws) sio__ws_close(s->ws, shutdown ? 1001 : 0, NULL, 0);
  sio__log(SIO_LOG_DEBUG, "engine.io: session %s closed (%s)", s->sid, reason);
  notify_close(s, reason);
  session_unref(s); /* the server's reference */
  session_unref(s);
}

static void session_close(sio__eio_session *s, const char *reason) {
  session_close_with(s, reason, "1");
}

static void on_final_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  s->state = ST_CLOSING;
  session_close(s, SIO__EIO_REASON_FORCED_CLOSE);
}

void sio_eio_socket_close(sio_eio_socket *s) {
  if (s->state != ST_OPEN) return;
  if (s->transport == SIO_EIO_POLLING && !s->get_res && s->out.len) {
    /* Node waits for the queued packets to drain before closing: keep the session until the
     * next GET takes them, followed by the close packet. */
    s->state = ST_CLOSING;
    if (s->up) sio__timer_stop(&s->up->timer);
    if (probe_of(s)) sio__ws_close(probe_of(s), 0, NULL, 0);
    sio__eio_packet close = {SIO__EIO_CLOSE, 0, "", 0};
    sio__eio_encode_packet(&s->out, &close, 1);
    sio__timer_start(s->eio->net, &s->heartbeat, /* replaces the ping wait */
                     s->eio->opts.ping_interval_ms + s->eio->opts.ping_timeout_ms,
                     on_final_timeout);
    session_ref(s);
    notify_close(s, SIO__EIO_REASON_FORCED_CLOSE);
    session_unref(s);
    return;
  }
  if (s->transport == SIO_EIO_POLLING && s->get_res && s->out.len) {
    sio__eio_packet close = {SIO__EIO_CLOSE, 0, "", 0};
    sio__eio_encode_packet(&s->out, &close, 1);
    session_ref(s);
    poll_flush(s);
    session_close_with(s, SIO__EIO_REASON_FORCED_CLOSE, "1");
    session_unref(s);
    return;
  }
  session_close(s, SIO__EIO_REASON_FORCED_CLOSE);
}

/* --- timers ------------------------------------------------------------------------------- */

static void on_ping_due(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  if (s->state != ST_OPEN) return;
  sio__timer_start(s->eio->net, &s->heartbeat, s->eio->opts.ping_timeout_ms,
                   on_ping_timeout);
  send_packet(s, SIO__EIO_PING, "", 0, 0);
}

static void on_ping_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  session_close(s, SIO__EIO_REASON_PING_TIMEOUT);
}

/* --- packets from the client -------------------------------------------------------------- */

/* Handles one packet on the session's current transport. Returns 0, or -1 once the session is
 * closed (stop processing). */
static int on_packet(sio__eio_session *s, const sio__eio_packet *p) {
  if (s->state != ST_OPEN) return -1;
  switch (p->type) {
  case SIO__EIO_PONG: schedule_ping(s); break;
  case SIO__EIO_MESSAGE:
    if (s->eio->h.message) s->eio->h.message(s, p->data, p->len, p->binary, s->eio->user);
    break;
  case SIO__EIO_CLOSE:
    /* the client closes: a held GET is answered with a noop */
    session_close_with(s, SIO__EIO_REASON_TRANSPORT_CLOSE, "6");
    return -1;
  default: break; /* open, ping, upgrade, noop: nothing to do on an established transport */
  }
  return s->state == ST_OPEN ? 0 : -1;
}

/* --- polling requests --------------------------------------------------------------------- */

static void on_get_gone(sio_res *res, void *user) {
  sio__eio_session *s = user;
  if (s->get_res != res) return;
  s->get_res = NULL;
  if (s->state == ST_OPEN && s->transport == SIO_EIO_POLLING)
    session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
  else if (s->state == ST_CLOSING)
    session_close(s, SIO__EIO_REASON_FORCED_CLOSE);
  session_unref(s);
}

static void handle_get(sio__eio_session *s, sio_req *req, sio_res *res) {
  if (s->get_res) {
    /* a second concurrent GET: Node answers it 500 and closes the session; the first gets 1 */
    sio__log(SIO_LOG_INFO, "engine.io: session %s: overlapping GET from client, closing",
             s->sid);
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    return;
  }
  session_ref(s);
  s->get_res = res;
  s->get_gzip = s->eio->opts.http_compression && accepts_gzip(req);
  sio_res_on_close(res, on_get_gone, s);
  if (s->state == ST_CLOSING) {
    /* the final packets of a closed session */
    session_ref(s);
    poll_flush(s);
    session_close(s, SIO__EIO_REASON_FORCED_CLOSE);
    session_unref(s);
    return;
  }
  if (s->out.len) {
    poll_flush(s);
  } else if (s->upgrading) {
    release_get(s, "6");
  }
}

/* The one callback of the POST's body read (sio_req_read_body's contract): it always comes,
 * with the body or an error, including SIO_STATUS_CLIENT_GONE when the connection ended
 * mid-body, and drops the reference handle_post took. */
static void on_post_body(sio_req *req, sio_res *res, int status, void *user) {
  sio__eio_session *s = user;
  if (s->posts) s->posts--;
  if (status) {
    if (status == 413)
      sio__log(SIO_LOG_WARN,
               "engine.io: session %s: POST body over maxHttpBufferSize (%zu), closing",
               s->sid, s->eio->opts.max_http_buffer_size);
    else if (status == SIO_STATUS_CLIENT_GONE) /* Node: "data request connection closed
                                                  prematurely", a transport error */
      sio__log(SIO_LOG_DEBUG, "engine.io: session %s: POST cut short by the client, closing",
               s->sid);
    sio_res_status(res, status);
    sio_res_send(res, "", 0);
    if (s->state == ST_OPEN) session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    session_unref(s);
    return;
  }
  size_t len;
  const char *body = sio_req_body(req, &len);
  if (s->state == ST_OPEN) { /* (after an upgrade, a late POST's packets still count) */
    sio__eio_payload_iter it;
    sio__eio_packet p;
    int rc;
    s->in_batch = 1;
    sio__eio_payload_init(&it, body ? body : "", body ? len : 0);
    while ((rc = sio__eio_payload_next(&it, &p)) == 1)
      if (on_packet(s, &p)) break;
    sio__eio_payload_free(&it);
    s->in_batch = 0;
    if (rc < 0 && s->state == ST_OPEN) {
      sio__log(SIO_LOG_INFO, "engine.io: session %s: malformed payload, closing", s->sid);
      session_close(s, SIO__EIO_REASON_PARSE_ERROR);
    }
    if (s->state == ST_OPEN) poll_flush(s);
  }
  sio_res_status(res, 200);
  sio_res_set_header(res, "Content-Type", "text/html");
  sio_res_send(res, "ok", 2);
  session_unref(s);
}

static void handle_post(sio__eio_session *s, sio_req *req, sio_res *res) {
  if (s->state != ST_OPEN) {
    send_error(res, SIO__EIO_ERR_UNKNOWN_SID);
    return;
  }
  if (s->posts) {
    sio__log(SIO_LOG_INFO, "engine.io: session %s: overlapping POST from client, closing",
             s->sid);
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    return;
  }
  s->posts++;
  session_ref(s); /* dropped by on_post_body, which is always called once the read started */
  if (sio_req_read_body(req, res, s->eio->opts.max_http_buffer_size, on_post_body, s) < 0) {
    s->posts--;
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    session_unref(s);
  }
}

#define OPEN_HEAD "0{\"sid\":\""
/* Room for the whole open packet: the head, a sid (23 bytes with its NUL) and a tail, which
 * with every number at its widest is about 120 bytes (encode_open_tails checks it). */
#define OPEN_PACKET_MAX 256

static int encode_open_tails(sio_eio *e) {
  const sio_eio_opts *o = &e->opts;
  const char *up[] = {"websocket"};
  int n = !o->no_upgrades && (o->transports & SIO_EIO_WEBSOCKET);
  for (int i = 0; i < 2; i++) {
    e->open_tail[i] = (sio__sbuf)SIO__SBUF_INIT;
    if (sio__eio_encode_open_tail(&e->open_tail[i], up, (size_t)(i && n), o->ping_interval_ms,
                                  o->ping_timeout_ms, (unsigned long long)o->max_http_buffer_size))
      return -ENOMEM;
    if (sizeof OPEN_HEAD - 1 + sizeof(((sio__eio_session *)0)->sid) + e->open_tail[i].len >
        OPEN_PACKET_MAX)
      return -EINVAL; /* cannot happen with any option values; open_packet relies on it */
  }
  return 0;
}

/* The open packet (sio__eio_encode_open's text) from the sid and the tail encoded at attach,
 * into buf (OPEN_PACKET_MAX bytes); returns its length. */
static size_t open_packet(const sio__eio_session *s, char *buf, int with_upgrades) {
  const sio__sbuf *tail = &s->eio->open_tail[with_upgrades != 0];
  size_t sl = strlen(s->sid), hl = sizeof OPEN_HEAD - 1;
  memcpy(buf, OPEN_HEAD, hl);
  memcpy(buf + hl, s->sid, sl);
  memcpy(buf + hl + sl, tail->data, tail->len);
  return hl + sl + tail->len;
}

static void handshake_polling(sio_eio *e, sio_req *req, sio_res *res) {
  sio__eio_session *s = session_new(e, req, SIO_EIO_POLLING);
  if (!s) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return;
  }
  char pkt[OPEN_PACKET_MAX];
  sio__sbuf body = SIO__SBUF_INIT;
  sio__sbuf_append(&body, pkt, open_packet(s, pkt, 1));
  respond_payload(s, res, &body, e->opts.http_compression && accepts_gzip(req));
  sio__sbuf_free(&body);
  schedule_ping(s);
  session_ref(s);
  s->announced = 1;
  if (e->h.connection) e->h.connection(s, e->user);
  session_unref(s);
}

/* Checks the request's protocol version and transport as Node's engine.io does, in its order.
 * Returns -1 (error code in *code) or the transport. */
static int verify(sio_eio *e, sio_req *req, int upgrade, sio__eio_session **sess,
                  sio__eio_error *code) {
  const char *transport = sio_req_query(req, "transport");
  int t = 0;
  if (transport && strcmp(transport, "polling") == 0) t = SIO_EIO_POLLING;
  else if (transport && strcmp(transport, "websocket") == 0) t = SIO_EIO_WEBSOCKET;
  if (!t || !(e->opts.transports & (unsigned)t)) {
    *code = SIO__EIO_ERR_UNKNOWN_TRANSPORT;
    return -1;
  }
  const char *sid = sio_req_query(req, "sid");
  *sess = NULL;
  if (sid) {
    sio__eio_session *s = sio__map_get(&e->sessions, sid, strlen(sid));
    if (!s) {
      *code = SIO__EIO_ERR_UNKNOWN_SID;
      return -1;
    }
    if (!upgrade && s->transport != t) {
      *code = SIO__EIO_ERR_BAD_REQUEST;
      return -1;
    }
    *sess = s;
    return t;
  }
  if (strcmp(sio_req_method(req), "GET") != 0) {
    *code = SIO__EIO_ERR_BAD_HANDSHAKE_METHOD;
    return -1;
  }
  if (t == SIO_EIO_WEBSOCKET && !upgrade) {
    *code = SIO__EIO_ERR_BAD_REQUEST;
    return -1;
  }
  const char *eio = sio_req_query(req, "EIO");
  if (!eio || strcmp(eio, "4") != 0) {
    *code = SIO__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION;
    return -1;
  }
  if (e->h.allow_request && e->h.allow_request(req, e->user) != 0) {
    *code = SIO__EIO_ERR_FORBIDDEN;
    return -1;
  }
  return t;
}

static void on_http(sio_req *req, sio_res *res, void *user) {
  sio_eio *e = user;
  if (e->closed) {
    sio_next(req, res);
    return;
  }
  if (apply_cors(e, req, res)) return;
  set_common_headers(res);
  sio__eio_session *s;
  sio__eio_error code;
  int t = verify(e, req, 0, &s, &code);
  if (t < 0 || t != SIO_EIO_POLLING) {
    send_error(res, t < 0 ? code : SIO__EIO_ERR_BAD_REQUEST);
    return;
  }
  const char *method = sio_req_method(req);
  if (!s) {
    handshake_polling(e, req, res);
  } else if (strcmp(method, "GET") == 0) {
    handle_get(s, req, res);
  } else if (strcmp(method, "POST") == 0) {
    handle_post(s, req, res);
  } else {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
  }
}

/* --- websocket transport ------------------------------------------------------------------ */

static void ws_on_open(sio__ws *ws, void *user) {
  sio__eio_session *s = user;
  s->ws = ws;
  char pkt[OPEN_PACKET_MAX];
  sio__ws_send(ws, pkt, open_packet(s, pkt, 0), 0);
  schedule_ping(s);
  session_ref(s);
  s->announced = 1;
  if (s->eio->h.connection) s->eio->h.connection(s, s->eio->user);
  session_unref(s);
}

static void ws_on_message(sio__ws *ws, const char *data, size_t len, int binary, void *user) {
  sio__eio_session *s = user;
  if (s->state != ST_OPEN || s->ws != ws) return;
  sio__eio_packet p;
  if (binary) {
    p = (sio__eio_packet){SIO__EIO_MESSAGE, 1, data, len};
  } else if (sio__eio_decode_text(data, len, &p) != 0) {
    sio__log(SIO_LOG_INFO, "engine.io: session %s: malformed packet, closing", s->sid);
    session_close(s, SIO__EIO_REASON_PARSE_ERROR);
    return;
  }
  session_ref(s);
  on_packet(s, &p);
  session_unref(s);
}

static void ws_on_drain(sio__ws *ws, void *user) {
  sio__eio_session *s = user;
  if (s->state == ST_OPEN && s->ws == ws && s->eio->h.drain) s->eio->h.drain(s, s->eio->user);
}

static void ws_on_close(sio__ws *ws, int code, const char *reason, size_t reason_len, void *user) {
  sio__eio_session *s = user;
  if (s->ws != ws) return;
  s->ws = NULL;
  if (s->state == ST_OPEN) {
    int failed = code == 1002 || code == 1007 || code == 1008 || code == 1009 || code == 1011;
    session_close(s, failed ? SIO__EIO_REASON_TRANSPORT_ERROR
                            : SIO__EIO_REASON_TRANSPORT_CLOSE);
  }
  session_unref(s);
}

static const sio__ws_handler ws_handlers = {
    .open = ws_on_open,
    .message = ws_on_message,
    .drain = ws_on_drain,
    .close = ws_on_close,
};

/* --- upgrade (probe WebSocket beside polling) --------------------------------------------- */

static void probe_drop(sio__eio_session *s) {
  sio__ws *ws = probe_of(s);
  if (s->up) sio__timer_stop(&s->up->timer);
  s->upgrading = 0;
  if (ws) sio__ws_close(ws, 0, NULL, 0);
}

static void complete_upgrade(sio__eio_session *s) {
  sio__ws *ws = probe_of(s);
  upgrade_end(s);
  s->upgrading = 0;
  s->ws = ws;
  s->transport = SIO_EIO_WEBSOCKET;
  if (s->get_res) release_get(s, "6");
  /* whatever the polling side had not delivered goes over the WebSocket, in order */
  if (s->out.len) {
    sio__sbuf pending = s->out;
    s->out = (sio__sbuf)SIO__SBUF_INIT;
    s->out_compress = 0; /* the payload keeps no per-packet flag: these go by size alone */
    sio__eio_payload_iter it;
    sio__eio_packet p;
    sio__eio_payload_init(&it, pending.data, pending.len);
    while (sio__eio_payload_next(&it, &p) == 1)
      ws_send_packet(s, ws, p.type, p.data, p.len, p.binary);
    sio__eio_payload_free(&it);
    sio__sbuf_free(&pending);
  }
}

static void probe_on_open(sio__ws *ws, void *user) {
  sio__eio_session *s = user;
  struct upgrade *up = sio__calloc(1, sizeof(*up));
  if (!up) { /* refuse the upgrade; the probe_on_close that follows drops its reference */
    sio__ws_close(ws, 1011, NULL, 0);
    return;
  }
  up->probe = ws;
  up->s = s;
  sio__timer_init(&up->timer);
  s->up = up;
  sio__timer_start(s->eio->net, &up->timer, s->eio->opts.upgrade_timeout_ms, on_upgrade_timeout);
}

static void probe_on_message(sio__ws *ws, const char *data, size_t len, int binary,
                             void *user) {
  sio__eio_session *s = user;
  if (probe_of(s) != ws) return;
  if (s->state != ST_OPEN) {
    probe_drop(s);
    return;
  }
  sio__eio_packet p;
  if (!binary && sio__eio_decode_text(data, len, &p) == 0) {
    if (p.type == SIO__EIO_PING && p.len == 5 && memcmp(p.data, "probe", 5) == 0) {
      ws_send_packet(s, ws, SIO__EIO_PONG, "probe", 5, 0);
      s->upgrading = 1;
      if (s->get_res && !s->out.len) release_get(s, "6");
      return;
    }
    if (p.type == SIO__EIO_UPGRADE && s->upgrading) {
      complete_upgrade(s);
      return;
    }
  }
  probe_drop(s);
}

static void probe_on_close(sio__ws *ws, int code, const char *reason, size_t reason_len,
                           void *user) {
  sio__eio_session *s = user;
  if (probe_of(s) == ws) {
    upgrade_end(s);
    s->upgrading = 0;
  } else if (s->ws == ws) { /* the probe had become the transport */
    ws_on_close(ws, code, reason, reason_len, user);
    return;
  }
  session_unref(s);
}

static void probe_on_drain(sio__ws *ws, void *user) { ws_on_drain(ws, user); }

static void probe_on_message_any(sio__ws *ws, const char *data, size_t len, int binary,
                                 void *user) {
  sio__eio_session *s = user;
  if (s->ws == ws) ws_on_message(ws, data, len, binary, user);
  else probe_on_message(ws, data, len, binary, user);
}

static const sio__ws_handler probe_handlers = {
    .open = probe_on_open,
    .message = probe_on_message_any,
    .drain = probe_on_drain,
    .close = probe_on_close,
};

static void on_upgrade_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, struct upgrade, timer)->s;
  probe_drop(s);
}

/* A WebSocket that may not become a transport (second one after an upgrade, or during one):
 * accepted, then closed at once, as Node's engine.io does. */
static void refused_on_open(sio__ws *ws, void *user) { sio__ws_close(ws, 0, NULL, 0); }
static const sio__ws_handler refused_handlers = {.open = refused_on_open};

static int on_upgrade(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                      size_t rest_len, void *user) {
  sio_eio *e = user;
  sio__eio_session *s;
  sio__eio_error code;
  sio__ws *ws = NULL;
  if (e->closed) {
    sio_res_status(res, 503);
    sio_res_send(res, "", 0);
    return 0;
  }
  /* past the app's connection cap: no session; sio__ws_accept completes the handshake and
   * closes the socket with 1013 */
  if (sio__req_over_capacity(req))
    return sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &refused_handlers, NULL,
                          &ws);
  int t = verify(e, req, 1, &s, &code);
  if (t < 0 || t != SIO_EIO_WEBSOCKET) {
    send_error(res, t < 0 ? code : SIO__EIO_ERR_BAD_REQUEST);
    return 0;
  }
  if (s) {
    if (s->state != ST_OPEN || s->transport != SIO_EIO_POLLING || s->up || s->upgrading ||
        e->opts.no_upgrades)
      return sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &refused_handlers, NULL,
                            &ws);
    session_ref(s);
    int took = sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &probe_handlers, s,
                              &ws);
    if (took != 1 || !ws) session_unref(s); /* no socket: its handlers never run */
    return took;
  }
  s = session_new(e, req, SIO_EIO_WEBSOCKET);
  if (!s) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return 0;
  }
  session_ref(s); /* the WebSocket's */
  int took = sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &ws_handlers, s, &ws);
  if (took != 1 || !ws) {
    session_unref(s);
    session_close(s, SIO__EIO_REASON_TRANSPORT_ERROR);
  }
  return took;
}

/* --- server ------------------------------------------------------------------------------- */

/* Every session is in the map until it closes; closing deletes its entry (a tombstone: the
 * walk goes on undisturbed, whatever other sessions the callbacks close meanwhile). */
static void close_all(sio_eio *e, const char *reason) {
  size_t i = 0;
  sio__map_entry *en;
  while ((en = sio__map_next(&e->sessions, &i))) session_close(en->value, reason);
}

static void on_shutdown(sio_app *app, void *user) {
  sio_eio *e = user;
  close_all(e, SIO__EIO_REASON_SHUTDOWN);
}

sio_eio *sio_eio_attach(sio_app *app, const sio_eio_opts *opts, const sio_eio_handlers *h,
                        void *user) {
  if (!app) return NULL;
  sio__alloc_hook_libraries();
  sio_eio *e = sio__calloc(1, sizeof *e);
  if (!e) return NULL;
  e->app = app;
  e->net = sio__app_net(app);
  e->opts = opts ? *opts : sio_eio_opts_default();
  apply_defaults(&e->opts);
  if (h) e->h = *h;
  e->user = user;
  e->path = sio__strdup(e->opts.path);
  e->opts.path = e->path;
  e->sessions = (sio__map)SIO__MAP_INIT;
  e->ws_opts = sio_ws_opts_default();
  e->ws_opts.max_message_size = e->opts.max_http_buffer_size;
  e->ws_opts.max_buffered = e->opts.send_buffer_limit;
  e->ws_opts.drop_when_full = 1;           /* SIO_ETOOLARGE: the layer above decides */
  e->ws_opts.idle_timeout_ms = UINT32_MAX; /* the Engine.IO heartbeat does this job */
  e->ws_opts.deflate = e->opts.per_message_deflate;
  if (!e->path || encode_open_tails(e) || sio__app_intercept(app, e->path, on_http, e) ||
      sio__app_on_upgrade(app, e->path, on_upgrade, e) ||
      sio__app_on_shutdown(app, on_shutdown, e)) {
    /* hooks already registered keep pointing at e: mark it closed rather than free it */
    e->closed = 1;
    return NULL;
  }
  return e;
}

void sio_eio_close(sio_eio *e) {
  if (!e || e->closed) return;
  close_all(e, SIO__EIO_REASON_FORCED_CLOSE);
  e->closed = 1;
}

void sio_eio_free(sio_eio *e) {
  if (!e) return;
  close_all(e, SIO__EIO_REASON_SHUTDOWN);
  sio__map_free(&e->sessions);
  sio__free(e->path);
  sio__sbuf_free(&e->open_tail[0]);
  sio__sbuf_free(&e->open_tail[1]);
  sio__free(e);
}

size_t sio_eio_clients_count(const sio_eio *e) { return e->count; }
const sio__eio_opts *sio__eio_options(const sio__eio *e) { return &e->opts; }
sio_app *sio__eio_app(const sio__eio *e) { return e->app; }

/* --- session accessors -------------------------------------------------------------------- */

sio__eio *sio__eio_of(const sio__eio_session *s) { return s->eio; }
const char *sio_eio_socket_id(const sio_eio_socket *s) { return s->sid; }
int sio__eio_transport(const sio__eio_session *s) { return s->transport; }
const char *sio_eio_socket_transport(const sio_eio_socket *s) {
  return s->transport == SIO_EIO_WEBSOCKET ? "websocket" : "polling";
}
size_t sio_eio_socket_buffered(const sio_eio_socket *s) {
  if (s->transport == SIO_EIO_WEBSOCKET) return s->ws ? sio__ws_buffered(s->ws) : 0;
  return s->out.len;
}
int sio__eio_writable(const sio__eio_session *s) {
  if (s->state != ST_OPEN) return 0;
  if (s->transport == SIO_EIO_WEBSOCKET)
    return s->ws && sio__ws_buffered(s->ws) < s->eio->opts.send_buffer_limit;
  return s->out.len < s->eio->opts.send_buffer_limit;
}
void sio_eio_socket_set_data(sio_eio_socket *s, void *data) { s->data = data; }
void *sio_eio_socket_data(const sio_eio_socket *s) { return s->data; }

const char *sio_eio_socket_header(const sio_eio_socket *s, const char *name) {
  if (!s->hs) return NULL;
  for (size_t i = 0; i < s->hs->nheaders; i++)
    if (strcasecmp(s->hs->names[i], name) == 0) return s->hs->values[i];
  return NULL;
}

size_t sio__eio_header_count(const sio__eio_session *s) { return s->hs ? s->hs->nheaders : 0; }
int sio__eio_header_at(const sio__eio_session *s, size_t i, const char **name,
                       const char **value) {
  if (!s->hs || i >= s->hs->nheaders) return 0;
  *name = s->hs->names[i];
  *value = s->hs->values[i];
  return 1;
}
const char *sio__eio_query_string(const sio__eio_session *s) { return s->hs ? s->hs->query : NULL; }
uint64_t sio__eio_issued(const sio__eio_session *s) { return s->hs ? s->hs->issued : 0; }
int sio__eio_secure(const sio__eio_session *s) { return s->hs ? s->hs->secure : 0; }
const char *sio_eio_socket_remote_address(const sio_eio_socket *s) {
  return s->hs ? s->hs->address : NULL;
}
const char *sio_eio_socket_url(const sio_eio_socket *s) { return s->hs ? s->hs->url : NULL; }
void sio__eio_drop_handshake(sio__eio_session *s) {
  sio__free(s->hs);
  s->hs = NULL;
}

const char *sio_eio_socket_query(const sio_eio_socket *s, const char *name) {
  if (!s->hs) return NULL;
  for (size_t i = 0; i < s->hs->nquery; i++)
    if (strcmp(s->hs->qnames[i], name) == 0) return s->hs->qvalues[i];
  return NULL;
}
