/* WebSocket connections: the reader and encoder of codec.h on top of a net connection.
 *
 * States: open -> (close sent and/or close received) -> TCP closed. Once a close frame was
 * received we answer it (same code, or an empty close when it had none), close TCP and
 * process nothing more. Once we sent a close we discard data messages, wait for the peer's
 * close (up to close_timeout_ms) and then close TCP. A protocol error sends a close with its
 * code and closes TCP at once (the net lingers for a clean FIN).
 *
 * One sio__timer per socket serves both the idle check and the close timeout: while open it
 * fires every idle_timeout; if nothing arrived since the last firing it sends a ping, and if
 * still nothing arrived by the next one, the connection is dropped. Reads only stamp the time,
 * so the hot path never touches the timer wheel.
 *
 * h->close runs exactly once, from the net's on_close (the TCP handle is gone), and the socket
 * is freed right after it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/server.h"
#include "http/tls_peer.h"
#include "ws/ws.h"

enum { WS_DEFAULT_MAX_MESSAGE = 1000000, WS_DEFAULT_MAX_BUFFERED = 1 << 20 };

struct sio_ws {
  sio__conn *conn;
  const sio_ws_handlers *h;
  void *user;
  void *data;
  sio__ws_reader reader;
  sio__ws_deflater *deflater;
  const char *protocol;
  char *close_reason; /* the peer's close reason, kept for h->close */
  size_t max_buffered;
  uint32_t idle_ms, close_ms;
  uint64_t last_rx;
  sio__timer timer;
  sio__ws_owner *owner; /* sio_app_ws's bookkeeping, for its sockets only */
  /* small frames sent while a read is processed, queued as one write: the sbuf lives on
   * feed()'s stack, so an idle socket carries only this pointer (NULL outside feed) */
  sio__sbuf *batch;
  uint16_t close_code; /* what h->close will report */
  uint16_t reason_len;
  unsigned drop_when_full : 1, sent_close : 1, got_close : 1, tcp_closing : 1, ping_out : 1,
      open_called : 1, heard : 1; /* heard: bytes arrived since the idle ping went out */
};

static const sio__conn_handler ws_conn_handler;

/* --- output ------------------------------------------------------------------------------
 * Every frame goes out through queue_buf (or the batch), so frames keep their order. While a
 * read is being processed, small frames (echoes, pongs) are appended to ws->batch and leave as
 * one buffer when the read is done: one allocation and one iovec per read instead of one per
 * message. */
enum { WS_BATCH_MAX_FRAME = 4096 };

static int flush_batch(sio__ws *ws) {
  if (!ws->batch || (!ws->batch->len && !ws->batch->oom)) return 0;
  sio__buf *b = sio__sbuf_to_buf(ws->batch); /* moves, no copy */
  if (!b) return -ENOMEM;
  int rc = sio__conn_write(ws->conn, b, 0, b->len);
  sio__buf_unref(b);
  return rc;
}

static int queue_buf(sio__ws *ws, sio__buf *b, size_t off) {
  int rc = flush_batch(ws);
  if (!rc) rc = sio__conn_write(ws->conn, b, off, b->len - off);
  return rc;
}

/* The batch's first block (2048 bytes, enough for a read's worth of echoes), or more room. */
static int batch_grow(sio__sbuf *bt, size_t need) {
  if (!bt->data && sio__sbuf_reserve(bt, 2048)) return -ENOMEM;
  return sio__sbuf_reserve(bt, need);
}

/* Appends a small frame to the batch. 0 or -ENOMEM. Once the batch has room, this is a test,
 * a header written in place and a copy. */
static inline int batch_frame(sio__ws *ws, int opcode, const void *data, size_t len) {
  sio__sbuf *bt = ws->batch;
  size_t need = SIO__WS_HEADROOM + len;
  if ((!bt->data || bt->oom || need > bt->cap - bt->len) && batch_grow(bt, need)) return -ENOMEM;
  uint8_t *o = (uint8_t *)bt->data + bt->len;
  size_t h = sio__ws_header_write(o, opcode, 0, len);
  if (len) memcpy(o + h, data, len);
  bt->len += h + len;
  return 0;
}

static int send_small(sio__ws *ws, int opcode, const void *data, size_t len) {
  if (ws->batch && len <= WS_BATCH_MAX_FRAME) return batch_frame(ws, opcode, data, len);
  size_t off;
  sio__buf *b = sio__ws_frame_new(opcode, 0, data, len, &off);
  if (!b) return -ENOMEM;
  int rc = queue_buf(ws, b, off);
  sio__buf_unref(b);
  return rc;
}

sio_ws_opts sio_ws_opts_default(void) {
  sio_ws_opts o;
  memset(&o, 0, sizeof o);
  o.max_message_size = WS_DEFAULT_MAX_MESSAGE;
  o.max_buffered = WS_DEFAULT_MAX_BUFFERED;
  o.idle_timeout_ms = 120000;
  o.close_timeout_ms = 5000;
  o.deflate_window_bits = 15;
  o.deflate_mem_level = 8;
  return o;
}

/* --- closing ----------------------------------------------------------------------------- */
static void on_timer(sio__timer *t);

static void close_tcp(sio__ws *ws) {
  if (ws->tcp_closing) return;
  ws->tcp_closing = 1;
  sio__conn_close(ws->conn);
  /* bound the wait for the kernel to take our last bytes and for the peer's FIN */
  sio__timer_start(ws->conn->net, &ws->timer, ws->close_ms, on_timer);
}

static int write_close(sio__ws *ws, unsigned code, const char *reason, size_t reason_len) {
  size_t off;
  sio__buf *b = sio__ws_close_frame_new(code, reason, reason_len, &off);
  if (!b) return -ENOMEM;
  int rc = queue_buf(ws, b, off);
  sio__buf_unref(b);
  ws->sent_close = 1;
  return rc;
}

/* Fails the connection (RFC 6455 7.1.7): close frame with the code, then TCP. */
static void fail(sio__ws *ws, unsigned code, const char *why) {
  if (ws->tcp_closing) return;
  if (!ws->got_close) ws->close_code = (uint16_t)code;
  if (!ws->sent_close) write_close(ws, code, why, strlen(why));
  close_tcp(ws);
}

static void on_timer(sio__timer *t) {
  sio__ws *ws = sio__container_of(t, sio__ws, timer);
  if (ws->tcp_closing || ws->sent_close) { /* close handshake or final flush took too long */
    sio__conn_abort(ws->conn);
    return;
  }
  uint64_t now = sio__net_now(ws->conn->net);
  if (ws->ping_out) {
    if (!ws->heard) { /* pinged a whole period ago and heard nothing */
      ws->close_code = SIO__WS_CLOSE_ABNORMAL;
      sio__conn_abort(ws->conn);
      return;
    }
    ws->ping_out = 0;
  }
  uint64_t idle = now - ws->last_rx;
  if (idle < ws->idle_ms) {
    sio__timer_start(ws->conn->net, t, ws->idle_ms - idle, on_timer);
    return;
  }
  ws->ping_out = 1;
  ws->heard = 0;
  sio__ws_ping(ws, NULL, 0);
  sio__timer_start(ws->conn->net, t, ws->idle_ms, on_timer);
}

/* --- receiving --------------------------------------------------------------------------- */
static int stopped(const sio__ws *ws) {
  return ws->got_close || ws->tcp_closing;
}

static int on_message(void *user, int binary, char *data, size_t len) {
  sio__ws *ws = user;
  if (ws->sent_close) return 0; /* closing: discard */
  if (ws->h->message) ws->h->message(ws, data, len, binary, ws->user);
  return stopped(ws) ? -1 : 0;
}

static int on_control(void *user, int op, unsigned code, char *data, size_t len) {
  sio__ws *ws = user;
  if (op == SIO__WS_OP_PING) {
    if (!ws->sent_close) {
      send_small(ws, SIO__WS_OP_PONG, data, len);
      if (ws->h->ping) ws->h->ping(ws, data, len, ws->user);
    }
  } else if (op == SIO__WS_OP_PONG) {
    if (ws->h->pong && !ws->sent_close) ws->h->pong(ws, data, len, ws->user);
  } else { /* close: answer it (echoing the code), then close TCP; nothing more is read */
    ws->got_close = 1;
    ws->close_code = (uint16_t)code;
    if (len) {
      ws->close_reason = sio__memdup(data, len);
      ws->reason_len = ws->close_reason ? (uint16_t)len : 0;
    }
    if (!ws->sent_close) write_close(ws, code == SIO__WS_CLOSE_NO_STATUS ? 0 : code, data, len);
    sio__conn_end(ws->conn); /* the peer sends nothing after its close frame: no lingering */
    close_tcp(ws);
  }
  return stopped(ws) ? -1 : 0;
}

static const sio__ws_reader_cb reader_cb = {on_message, on_control};

static void feed(sio__ws *ws, char *data, size_t len) {
  sio__sbuf batch = SIO__SBUF_INIT;
  ws->batch = &batch;
  int rc = sio__ws_reader_feed(&ws->reader, data, len);
  if (flush_batch(ws) != 0 && rc <= 0) rc = SIO__WS_CLOSE_INTERNAL;
  ws->batch = NULL;
  sio__sbuf_free(&batch);
  if (sio__conn_buffered(ws->conn) > 65536) sio__conn_want_drain(ws->conn);
  if (rc > 0) {
    const char *why = rc == SIO__WS_CLOSE_INVALID_DATA ? "invalid UTF-8 or compressed data"
                      : rc == SIO__WS_CLOSE_TOO_BIG    ? "message too big"
                      : rc == SIO__WS_CLOSE_INTERNAL   ? "out of memory"
                                                       : "protocol error";
    fail(ws, (unsigned)rc, why);
  }
}

static void conn_on_data(sio__conn *c, const char *data, size_t len) {
  sio__ws *ws = c->ctx;
  if (stopped(ws)) return;
  ws->last_rx = sio__net_now(c->net);
  ws->heard = 1;
  /* Unmasking happens in place: the bytes are in the net's loop-wide read buffer, which is
   * writable and ours until we return. */
  feed(ws, (char *)data, len);
}

static void conn_on_eof(sio__conn *c, int err) {
  sio__ws *ws = c->ctx;
  if (!ws->got_close) ws->close_code = SIO__WS_CLOSE_ABNORMAL;
  if (ws->tcp_closing) return;
  ws->tcp_closing = 1;
  sio__conn_close(c);
  sio__timer_start(c->net, &ws->timer, ws->close_ms, on_timer);
}

static void conn_on_drain(sio__conn *c) {
  sio__ws *ws = c->ctx;
  if (ws->h->drain && !ws->tcp_closing) ws->h->drain(ws, ws->user);
}

static void conn_on_close(sio__conn *c) {
  sio__ws *ws = c->ctx;
  sio__timer_stop(&ws->timer);
  if (ws->owner && sio__list_linked(&ws->owner->link)) sio__list_remove(&ws->owner->link);
  if (ws->open_called && ws->h->close)
    ws->h->close(ws, ws->close_code, ws->close_reason ? ws->close_reason : "", ws->reason_len,
                 ws->user);
  if (ws->owner) {
    if (ws->owner->release) ws->owner->release(ws, ws->owner->ctx);
    sio__free(ws->owner);
  }
  sio__ws_reader_free(&ws->reader);
  sio__ws_deflater_free(ws->deflater);
  sio__free(ws->close_reason);
  sio__free(ws);
}

static const sio__conn_handler ws_conn_handler = {conn_on_data, conn_on_eof, conn_on_drain,
                                                  conn_on_close};

/* --- sending ----------------------------------------------------------------------------- */
/* check_room's way out when the limit is reached (kept out of the per-send path). */
static int room_exceeded(sio__ws *ws) {
  if (ws->drop_when_full) return SIO_ETOOLARGE;
  sio__warn("ws: send buffer over %zu bytes, closing a slow connection", ws->max_buffered);
  fail(ws, SIO__WS_CLOSE_POLICY, "send buffer full");
  return SIO_ECLOSED;
}

/* Checks the send-buffer limit for `extra` more bytes. 0 to go on, else the error to return. */
static inline int check_room(sio__ws *ws, size_t extra) {
  if (ws->sent_close || ws->tcp_closing) return SIO_ECLOSED;
  size_t queued = sio__ws_buffered(ws);
  if (ws->max_buffered && queued > 0 && queued + extra > ws->max_buffered) return room_exceeded(ws);
  return 0;
}

static int queue(sio__ws *ws, sio__buf *b, size_t off) {
  int rc = queue_buf(ws, b, off);
  /* ask for a drain event once sends start to pile up (back-pressure, as uWebSockets) */
  if (!rc && sio__conn_buffered(ws->conn) > 65536) sio__conn_want_drain(ws->conn);
  return rc;
}

int sio__ws_send(sio__ws *ws, const void *data, size_t len, int binary) {
  int rc = check_room(ws, len);
  if (rc) return rc;
  int op = binary ? SIO__WS_OP_BINARY : SIO__WS_OP_TEXT;
  if (!ws->deflater && ws->batch && len <= WS_BATCH_MAX_FRAME)
    return batch_frame(ws, op, data, len);
  size_t off;
  sio__buf *b = ws->deflater ? sio__ws_deflate_frame(ws->deflater, op, data, len, &off)
                             : sio__ws_frame_new(op, 0, data, len, &off);
  if (!b) return -ENOMEM;
  rc = queue(ws, b, off);
  sio__buf_unref(b);
  return rc;
}

int sio__ws_send_prepared(sio__ws *ws, sio__buf *b, size_t frame_off, int compress) {
  if (ws->deflater && compress) { /* this connection's own compressed copy */
    int op = b->data[frame_off] & 0x0F;
    return sio__ws_send(ws, b->data + SIO__WS_HEADROOM, b->len - SIO__WS_HEADROOM,
                        op == SIO__WS_OP_BINARY);
  }
  int rc = check_room(ws, b->len - frame_off);
  return rc ? rc : queue(ws, b, frame_off);
}

int sio__ws_ping(sio__ws *ws, const void *data, size_t len) {
  if (len > 125) return -EINVAL;
  if (ws->sent_close || ws->tcp_closing) return SIO_ECLOSED;
  return send_small(ws, SIO__WS_OP_PING, data, len);
}

int sio__ws_close(sio__ws *ws, int code, const char *reason, size_t reason_len) {
  if (ws->sent_close || ws->tcp_closing) return SIO_ECLOSED;
  if (code && !sio__ws_close_code_valid((unsigned)code) && code != SIO__WS_CLOSE_TRY_AGAIN)
    return -EINVAL;
  if (reason_len > 123 || !sio__utf8_valid(reason, reason_len)) return -EINVAL;
  int rc = write_close(ws, (unsigned)code, reason, reason_len);
  if (!ws->got_close) ws->close_code = (uint16_t)(code ? code : SIO__WS_CLOSE_NO_STATUS);
  /* wait for the peer's close frame, but not forever */
  sio__timer_start(ws->conn->net, &ws->timer, ws->close_ms, on_timer);
  return rc;
}

void sio__ws_abort(sio__ws *ws) {
  if (!ws->got_close) ws->close_code = SIO__WS_CLOSE_ABNORMAL;
  ws->tcp_closing = 1;
  sio__conn_abort(ws->conn);
}

void sio__ws_pause(sio__ws *ws) {
  sio__conn_pause(ws->conn);
}
void sio__ws_resume(sio__ws *ws) {
  if (!ws->tcp_closing) sio__conn_resume(ws->conn);
}
size_t sio__ws_buffered(const sio__ws *ws) {
  return sio__conn_buffered(ws->conn) + (ws->batch ? ws->batch->len : 0);
}
void sio__ws_set_user(sio__ws *ws, void *user) {
  ws->user = user;
}
void *sio__ws_user(const sio__ws *ws) {
  return ws->user;
}
sio__conn *sio__ws_conn(const sio__ws *ws) {
  return ws->conn;
}

void sio__ws_set_owner(sio__ws *ws, sio__ws_owner *o) {
  o->ws = ws;
  ws->owner = o;
}
sio__ws *sio__ws_from_link(sio__list *link) {
  return sio__container_of(link, sio__ws_owner, link)->ws;
}

/* --- public wrappers --------------------------------------------------------------------- */
int sio_ws_send(sio_ws *ws, const void *data, size_t len, int binary) {
  return sio__ws_send(ws, data, len, binary);
}
int sio_ws_send_text(sio_ws *ws, const char *text) {
  return sio__ws_send(ws, text, strlen(text), 0);
}
int sio_ws_ping(sio_ws *ws, const void *data, size_t len) {
  return sio__ws_ping(ws, data, len);
}
int sio_ws_close(sio_ws *ws, int code, const char *reason) {
  return sio__ws_close(ws, code, reason ? reason : "", reason ? strlen(reason) : 0);
}
void sio_ws_terminate(sio_ws *ws) {
  sio__ws_abort(ws);
}
size_t sio_ws_buffered_amount(const sio_ws *ws) {
  return sio__ws_buffered(ws);
}
void sio_ws_pause(sio_ws *ws) {
  sio__ws_pause(ws);
}
void sio_ws_resume(sio_ws *ws) {
  sio__ws_resume(ws);
}
void sio_ws_set_data(sio_ws *ws, void *data) {
  ws->data = data;
}
void *sio_ws_data(const sio_ws *ws) {
  return ws->data;
}
const char *sio_ws_protocol(const sio_ws *ws) {
  return ws->protocol;
}
int sio_ws_compressed(const sio_ws *ws) {
  return ws->deflater != NULL;
}
int sio_ws_remote_address(const sio_ws *ws, char *ip, size_t iplen, int *port) {
  return sio__conn_peer(ws->conn, ip, iplen, port);
}

int sio_ws_tls_peer(const sio_ws *ws, sio_tls_peer *out) {
  return ws && out && ws->conn ? sio__conn_tls_peer(ws->conn, out) : -EINVAL;
}

/* --- accepting --------------------------------------------------------------------------- */
/* Adds a line of a list header (Sec-WebSocket-Protocol, -Extensions) to *val as lines are
 * joined, with ", " between non-empty ones: a single line is used in place, several are joined
 * in s. *val ends NULL when absent, empty or out of memory. */
static void join_line(const char **val, const char *v, sio__sbuf *s) {
  if (s->oom) return;
  if (!*val) {
    if (*v) *val = v;
    return;
  }
  if (!s->len) sio__sbuf_appends(s, *val);
  sio__sbuf_appends(s, ", ");
  sio__sbuf_appends(s, v);
  *val = s->oom ? NULL : s->data;
}

/* The handshake's headers from one walk over the request's (the first line of each single
 * header, as sio_req_header finds it); the first letter picks the one name it may be. */
static void handshake_headers(const sio_req *req, sio__ws_handshake_in *in, sio__sbuf *protos,
                              sio__sbuf *exts) {
  const char *n, *v;
  for (size_t i = 0; sio_req_header_at(req, i, &n, &v); i++) {
    switch (n[0]) {
    case 'U':
    case 'u':
      if (!in->upgrade && strcasecmp(n, "upgrade") == 0) in->upgrade = v;
      break;
    case 'C':
    case 'c':
      if (!in->connection && strcasecmp(n, "connection") == 0) in->connection = v;
      break;
    case 'S':
    case 's':
      if (strncasecmp(n, "sec-websocket-", 14) != 0) break;
      n += 14;
      if (strcasecmp(n, "key") == 0) {
        if (!in->key) in->key = v;
      } else if (strcasecmp(n, "version") == 0) {
        if (!in->version) in->version = v;
      } else if (strcasecmp(n, "protocol") == 0) {
        join_line(&in->protocols, v, protos);
      } else if (strcasecmp(n, "extensions") == 0) {
        join_line(&in->extensions, v, exts);
      }
      break;
    default:
      break;
    }
  }
}

static int refuse(sio_res *res, int status, const char *why) {
  if (status == 426) sio_res_set_header(res, "Sec-WebSocket-Version", "13");
  sio_res_status(res, status);
  sio_res_text(res, why);
  return 0;
}

int sio__ws_accept(sio_req *req, sio_res *res, sio__conn *conn, const char *rest, size_t rest_len,
                   const sio__ws_opts *opts, const sio__ws_handler *h, void *user, sio__ws **out) {
  sio_ws_opts o = opts ? *opts : sio_ws_opts_default();
  if (out) *out = NULL;
  sio__sbuf protos = SIO__SBUF_INIT, exts = SIO__SBUF_INIT;
  sio__ws_handshake_in in = {
      .method = sio_req_method(req),
      .http_minor = sio_req_http_minor(req),
  };
  handshake_headers(req, &in, &protos, &exts);
  sio__ws_pmd_opts pmd = {.enabled = o.deflate,
                          .server_no_context_takeover = o.deflate_server_no_context_takeover,
                          .server_max_window_bits = (uint8_t)o.deflate_window_bits,
                          .mem_level = (uint8_t)o.deflate_mem_level};
  sio__ws_handshake_out hs;
  int status = sio__ws_handshake(&in, o.protocols, &pmd, &hs);
  sio__sbuf_free(&protos);
  sio__sbuf_free(&exts);
  if (status) return refuse(res, status, hs.error);
  if (o.check_origin && !o.check_origin(sio_req_header(req, "origin"), user))
    return refuse(res, 403, "Origin not allowed");

  /* Past the app's connection cap: the handshake completes (a browser then sees a close code,
   * not a failed connection), and the socket closes at once with 1013, unseen by h. */
  int over_cap = sio__req_over_capacity(req);
  static const sio__ws_handler refused_over_cap = {0};
  if (over_cap) {
    h = &refused_over_cap;
    user = NULL;
  }
  sio__ws *ws = sio__calloc(1, sizeof(*ws));
  if (!ws) return refuse(res, 500, "Out of memory");
  ws->conn = conn;
  ws->h = h;
  ws->user = user;
  ws->protocol = hs.protocol;
  ws->max_buffered = o.max_buffered ? o.max_buffered : WS_DEFAULT_MAX_BUFFERED;
  ws->drop_when_full = (uint8_t)(o.drop_when_full != 0);
  ws->idle_ms = o.idle_timeout_ms ? o.idle_timeout_ms : 120000;
  ws->close_ms = o.close_timeout_ms ? o.close_timeout_ms : 5000;
  ws->close_code = SIO__WS_CLOSE_ABNORMAL;
  sio__timer_init(&ws->timer);
  sio__ws_reader_init(&ws->reader, o.max_message_size ? o.max_message_size : WS_DEFAULT_MAX_MESSAGE,
                      &reader_cb, ws);
  if (hs.deflate) {
    ws->deflater = sio__ws_deflater_new(&hs.pmd, o.deflate_mem_level);
    if (!ws->deflater || sio__ws_reader_enable_deflate(&ws->reader, &hs.pmd) != 0) {
      sio__ws_deflater_free(ws->deflater);
      sio__ws_reader_free(&ws->reader);
      sio__free(ws);
      return refuse(res, 500, "Out of memory");
    }
  }
  sio__sbuf head = SIO__SBUF_INIT;
  sio__ws_handshake_response(&head, &hs);
  sio__buf *hb = sio__sbuf_to_buf(&head);
  if (!hb) {
    sio__ws_deflater_free(ws->deflater);
    sio__ws_reader_free(&ws->reader);
    sio__free(ws);
    return refuse(res, 500, "Out of memory");
  }
  sio__conn_write(conn, hb, 0, hb->len);
  sio__buf_unref(hb);

  conn->handler = &ws_conn_handler;
  conn->ctx = ws;
  ws->last_rx = sio__net_now(conn->net);
  if (over_cap) {
    sio__ws_close(ws, SIO__WS_CLOSE_TRY_AGAIN, "Try Again Later", 15);
    return 1;
  }
  if (o.idle_timeout_ms != UINT32_MAX)
    sio__timer_start(conn->net, &ws->timer, ws->idle_ms, on_timer);
  if (out) *out = ws;
  ws->open_called = 1;
  if (h->open) h->open(ws, user);
  if (rest_len && !stopped(ws)) {
    char *copy = sio__memdup(rest, rest_len); /* unmasked in place */
    if (!copy)
      fail(ws, SIO__WS_CLOSE_INTERNAL, "out of memory");
    else {
      feed(ws, copy, rest_len);
      sio__free(copy);
    }
  }
  return 1;
}
