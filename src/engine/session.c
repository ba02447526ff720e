/* Engine.IO sessions: their table entry and references, closing, the heartbeat, the packets a
 * client sends on an established transport, and the session accessors.
 *
 * Heartbeat as Node's engine.io v4: pingInterval after the open (or the last pong) the server
 * sends 2 and waits pingTimeout for 3, else the session closes with "ping timeout". A v3 session
 * (allow_eio3) reverses it: the client sends 2, the server answers 3, and pingInterval +
 * pingTimeout without a ping closes it. A ping against the protocol's direction is answered
 * as Node does for v3: "transport error" ("invalid heartbeat direction").
 *
 * Lifetime: a session is referenced by its map entry, a held GET, POSTs in flight, its
 * WebSockets and any callback on the stack (refs). It is freed when closed and unreferenced, so
 * a callback may close it at any time. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"
#include "http/tls_peer.h"

/* --- sessions ----------------------------------------------------------------------------- */

static void on_ping_due(sio__timer *t);
static void on_ping_timeout(sio__timer *t);

sio__eio_session *sio__eio_session_new(sio_eio *e, sio_req *req, int transport) {
  sio__eio_session *s = sio__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->eio = e;
  s->transport = transport;
  const char *eio = sio_req_query(req, "EIO"); /* anything but 4 is v3, as Node's engine.io */
  s->v3 = !(eio && strcmp(eio, "4") == 0);
  const char *j = transport == SIO_EIO_POLLING ? sio_req_query(req, "j") : NULL;
  if (j && !(s->jsonp = sio__eio_jsonp_index(j))) {
    sio__free(s);
    return NULL;
  }
  s->b64 = s->v3 && (sio__eio_req_b64(req) || s->jsonp); /* a script carries no binary */
  s->refs = 1;                                           /* the server's (dropped at close) */
  s->out = (sio__sbuf)SIO__SBUF_INIT;
  sio__timer_init(&s->heartbeat);
  s->hs = sio__eio_handshake_copy(req);
  int have_sid = sio__random_id(s->sid, SID_BYTES) == 0;
  if (have_sid) sio__eio_sid_mark(e, s->sid); /* a worker's sid names it */
  if (!s->hs || !have_sid || sio__map_put_ref(&e->sessions, s->sid, strlen(s->sid), s) != 0) {
    sio__free(s->jsonp);
    sio__eio_handshake_free(s->hs);
    sio__free(s);
    return NULL;
  }
  s->in_map = 1;
  e->count++;
  return s;
}

static void session_free(sio__eio_session *s) {
  sio__eio_upgrade_end(s);
  sio__sbuf_free(&s->out);
  sio__free(s->jsonp);
  sio__eio_handshake_free(s->hs);
  sio__free(s);
}

void sio__eio_unref(sio__eio_session *s) {
  if (--s->refs == 0) session_free(s);
}

static void remove_from_server(sio__eio_session *s) {
  if (!s->in_map) return;
  sio_eio *e = s->eio;
  sio__map_del(&e->sessions, s->sid, strlen(s->sid));
  e->count--;
  s->in_map = 0;
}

void sio__eio_schedule_ping(sio__eio_session *s) {
  const sio_eio_opts *o = &s->eio->opts;
  if (s->v3)
    sio__timer_start(s->eio->net, &s->heartbeat, o->ping_interval_ms + o->ping_timeout_ms,
                     on_ping_timeout);
  else
    sio__timer_start(s->eio->net, &s->heartbeat, o->ping_interval_ms, on_ping_due);
}
/* --- closing ------------------------------------------------------------------------------ */

static void notify_close(sio__eio_session *s, const char *reason) {
  if (s->announced) {
    s->announced = 0;
    if (s->eio->h.close) s->eio->h.close(s, reason, s->eio->user);
  }
}

void sio__eio_close_session_with(sio__eio_session *s, const char *reason, const char *get_reply) {
  if (s->state == ST_CLOSED) return;
  sio__eio_ref(s);
  s->state = ST_CLOSED;
  sio__timer_stop(&s->heartbeat);
  if (s->up) sio__timer_stop(&s->up->timer);
  remove_from_server(s);
  if (s->get_res) sio__eio_release_get(s, get_reply);
  int shutdown = strcmp(reason, SIO__EIO_REASON_SHUTDOWN) == 0;
  if (sio__eio_probe(s)) sio__ws_close(sio__eio_probe(s), shutdown ? 1001 : 0, NULL, 0);
  if (s->ws) sio__ws_close(s->ws, shutdown ? 1001 : 0, NULL, 0);
  sio__log(SIO_LOG_DEBUG, "engine.io: session %s closed (%s)", s->sid, reason);
  notify_close(s, reason);
  sio__eio_unref(s); /* the server's reference */
  sio__eio_unref(s);
}

void sio__eio_close_session(sio__eio_session *s, const char *reason) {
  sio__eio_close_session_with(s, reason, "1");
}

static void on_final_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  s->state = ST_CLOSING;
  sio__eio_close_session(s, SIO__EIO_REASON_FORCED_CLOSE);
}

void sio_eio_socket_close(sio_eio_socket *s) {
  if (s->state != ST_OPEN) return;
  if (s->transport == SIO_EIO_POLLING && !s->get_res && s->out.len) {
    /* Node waits for the queued packets to drain before closing: keep the session until the
     * next GET takes them, followed by the close packet. */
    s->state = ST_CLOSING;
    if (s->up) sio__timer_stop(&s->up->timer);
    if (sio__eio_probe(s)) sio__ws_close(sio__eio_probe(s), 0, NULL, 0);
    sio__eio_packet close = {SIO__EIO_CLOSE, 0, "", 0};
    sio__eio_out_append(s, &close);
    sio__timer_start(s->eio->net, &s->heartbeat, /* replaces the ping wait */
                     s->eio->opts.ping_interval_ms + s->eio->opts.ping_timeout_ms,
                     on_final_timeout);
    sio__eio_ref(s);
    notify_close(s, SIO__EIO_REASON_FORCED_CLOSE);
    sio__eio_unref(s);
    return;
  }
  if (s->transport == SIO_EIO_POLLING && s->get_res && s->out.len) {
    sio__eio_packet close = {SIO__EIO_CLOSE, 0, "", 0};
    sio__eio_out_append(s, &close);
    sio__eio_ref(s);
    sio__eio_poll_flush(s);
    sio__eio_close_session_with(s, SIO__EIO_REASON_FORCED_CLOSE, "1");
    sio__eio_unref(s);
    return;
  }
  sio__eio_close_session(s, SIO__EIO_REASON_FORCED_CLOSE);
}

/* --- timers ------------------------------------------------------------------------------- */

/* The pong is due pingTimeout after the ping was due, not after the tick that sent it ran (a
 * second timer chained from that tick would add its own lateness): the deadline is fixed when
 * the ping wait starts (the open or the last pong). Unless the loop stalled past the ping's
 * due time and the ping reaches the client now (a WebSocket, or a held GET): the client then
 * gets its whole pingTimeout from the ping it receives, as it would from a late Node timer. A
 * ping that waits for the client's next GET keeps the first deadline. */
static void on_ping_due(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  if (s->state != ST_OPEN) return;
  uint64_t sent = t->due, now = sio__net_now(s->eio->net);
  if (now > sent && (s->transport == SIO_EIO_WEBSOCKET || s->get_res)) sent = now;
  sio__timer_start_at(s->eio->net, t, sent + s->eio->opts.ping_timeout_ms, on_ping_timeout);
  sio__eio_send_packet(s, SIO__EIO_PING, "", 0, 0);
}

static void on_ping_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, sio__eio_session, heartbeat);
  sio__eio_close_session(s, SIO__EIO_REASON_PING_TIMEOUT);
}

/* When the heartbeat closes the session unless a pong comes first (loop time, ms); 0 when
 * it does not run (a closing session). */
static uint64_t ping_deadline(const sio__eio_session *s) {
  const sio__timer *t = &s->heartbeat;
  if (!sio__timer_active(t)) return 0;
  if (t->cb == on_ping_due) return t->due + s->eio->opts.ping_timeout_ms;
  if (t->cb == on_ping_timeout) return t->due;
  return 0;
}

int sio__eio_expire(sio__eio_session *s) {
  if (s->state != ST_OPEN) return 0;
  uint64_t deadline = ping_deadline(s);
  if (!deadline || !sio__net_past(s->eio->net, deadline)) return 0;
  sio__log(SIO_LOG_DEBUG, "engine.io: session %s: past its ping deadline", s->sid);
  sio__eio_close_session(s, SIO__EIO_REASON_PING_TIMEOUT);
  return 1;
}

/* --- packets from the client -------------------------------------------------------------- */

int sio__eio_on_packet(sio__eio_session *s, const sio__eio_packet *p) {
  if (s->state != ST_OPEN || sio__eio_expire(s)) return -1;
  switch (p->type) {
  case SIO__EIO_PING:
    if (!s->v3) break; /* nothing to do (Node's v4 closes the session) */
    sio__eio_schedule_ping(s);
    sio__eio_send_packet(s, SIO__EIO_PONG, "", 0, 0); /* as Node: no data */
    break;
  case SIO__EIO_PONG:
    if (s->v3) {
      sio__log(SIO_LOG_INFO, "engine.io: session %s: pong from a v3 client, closing", s->sid);
      sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
      return -1;
    }
    sio__eio_schedule_ping(s);
    break;
  case SIO__EIO_MESSAGE:
    if (s->eio->h.message) s->eio->h.message(s, p->data, p->len, p->binary, s->eio->user);
    break;
  case SIO__EIO_CLOSE:
    /* the client closes: a held GET is answered with a noop */
    sio__eio_close_session_with(s, SIO__EIO_REASON_TRANSPORT_CLOSE, "6");
    return -1;
  default:
    break; /* open, upgrade, noop: nothing to do on an established transport */
  }
  return s->state == ST_OPEN ? 0 : -1;
}
/* --- session accessors -------------------------------------------------------------------- */

sio__eio *sio__eio_of(const sio__eio_session *s) {
  return s->eio;
}
const char *sio_eio_socket_id(const sio_eio_socket *s) {
  return s->sid;
}
int sio__eio_transport(const sio__eio_session *s) {
  return s->transport;
}
int sio_eio_socket_protocol(const sio_eio_socket *s) {
  return s->v3 ? 3 : 4;
}
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
void sio_eio_socket_set_data(sio_eio_socket *s, void *data) {
  s->data = data;
}
void *sio_eio_socket_data(const sio_eio_socket *s) {
  return s->data;
}

const char *sio_eio_socket_header(const sio_eio_socket *s, const char *name) {
  if (!s->hs) return NULL;
  for (size_t i = 0; i < s->hs->nheaders; i++)
    if (strcasecmp(s->hs->names[i], name) == 0) return s->hs->values[i];
  return NULL;
}

size_t sio__eio_header_count(const sio__eio_session *s) {
  return s->hs ? s->hs->nheaders : 0;
}
int sio__eio_header_at(const sio__eio_session *s, size_t i, const char **name, const char **value) {
  if (!s->hs || i >= s->hs->nheaders) return 0;
  *name = s->hs->names[i];
  *value = s->hs->values[i];
  return 1;
}
const char *sio__eio_query_string(const sio__eio_session *s) {
  return s->hs ? s->hs->query : NULL;
}
uint64_t sio__eio_issued(const sio__eio_session *s) {
  return s->hs ? s->hs->issued : 0;
}
int sio__eio_secure(const sio__eio_session *s) {
  return s->hs ? s->hs->secure : 0;
}
const char *sio_eio_socket_remote_address(const sio_eio_socket *s) {
  return s->hs ? s->hs->address : NULL;
}
const char *sio_eio_socket_url(const sio_eio_socket *s) {
  return s->hs ? s->hs->url : NULL;
}
int sio_eio_socket_tls_peer(const sio_eio_socket *s, sio_tls_peer *out) {
  if (!s || !out || (s->hs && !s->hs->secure)) return -EINVAL;
  return s->hs && s->hs->peer_cert ? sio__tls_peer_fill(s->hs->peer_cert, s->hs->peer_verify, out)
                                   : -ENOENT;
}
void sio__eio_drop_handshake(sio__eio_session *s) {
  sio__eio_handshake_free(s->hs);
  s->hs = NULL;
}

const char *sio_eio_socket_query(const sio_eio_socket *s, const char *name) {
  if (!s->hs) return NULL;
  for (size_t i = 0; i < s->hs->nquery; i++)
    if (strcmp(s->hs->qnames[i], name) == 0) return s->hs->qvalues[i];
  return NULL;
}
