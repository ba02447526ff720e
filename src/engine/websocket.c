/* Engine.IO WebSocket transport and the upgrade from polling.
 *
 * A WebSocket session sends each packet as one frame. An upgrade runs a second (probe)
 * WebSocket beside the polling transport: 2probe/3probe, the held GET is released with a noop,
 * and on 5 the session switches; whatever was still waiting in `out` is re-sent over the
 * WebSocket in order (each packet exactly once, since it moves out of `out`). The upgrade is
 * bounded by upgradeTimeout. A WebSocket that may not become a transport is accepted and
 * closed at once, as Node's engine.io does.
 *
 * Engine.IO v3 (allow_eio3): a binary frame starts with its packet type, a text frame may be
 * "b<type><base64>"; the probe WebSocket's own b64 query parameter decides how binary goes to
 * the client once it is the transport. */
#include "engine/engine_internal.h"

#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

void sio__eio_upgrade_end(sio__eio_session *s) {
  if (!s->up) return;
  sio__timer_stop(&s->up->timer);
  sio__free(s->up);
  s->up = NULL;
}

static void on_upgrade_timeout(sio__timer *t);

/* --- websocket transport ------------------------------------------------------------------ */

static void ws_on_open(sio__ws *ws, void *user) {
  sio__eio_session *s = user;
  s->ws = ws;
  char pkt[SIO__EIO_OPEN_PACKET_MAX];
  sio__ws_send(ws, pkt, sio__eio_open_packet(s, pkt, 0), 0);
  sio__eio_schedule_ping(s);
  sio__eio_ref(s);
  s->announced = 1;
  if (s->eio->h.connection) s->eio->h.connection(s, s->eio->user);
  sio__eio_unref(s);
}

static void ws_on_message(sio__ws *ws, const char *data, size_t len, int binary, void *user) {
  sio__eio_session *s = user;
  if (s->state != ST_OPEN || s->ws != ws) return;
  sio__eio_packet p;
  sio__sbuf scratch = SIO__SBUF_INIT; /* a v3 base64 packet's bytes */
  int rc;
  if (s->v3)
    rc = binary ? sio__eio3_decode_ws_binary(data, len, &p)
                : sio__eio3_decode_text(data, len, &scratch, &p);
  else if (binary)
    rc = (p = (sio__eio_packet){SIO__EIO_MESSAGE, 1, data, len}, 0);
  else
    rc = sio__eio_decode_text(data, len, &p);
  if (rc != 0) {
    sio__sbuf_free(&scratch);
    sio__log(SIO_LOG_INFO, "engine.io: session %s: malformed packet, closing", s->sid);
    sio__eio_close_session(s, SIO__EIO_REASON_PARSE_ERROR);
    return;
  }
  sio__eio_ref(s);
  sio__eio_on_packet(s, &p);
  sio__eio_unref(s);
  sio__sbuf_free(&scratch);
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
    sio__eio_close_session(s, failed ? SIO__EIO_REASON_TRANSPORT_ERROR
                                     : SIO__EIO_REASON_TRANSPORT_CLOSE);
  }
  sio__eio_unref(s);
}

static const sio__ws_handler ws_handlers = {
    .open = ws_on_open,
    .message = ws_on_message,
    .drain = ws_on_drain,
    .close = ws_on_close,
};

/* --- upgrade (probe WebSocket beside polling) --------------------------------------------- */

static void probe_drop(sio__eio_session *s) {
  sio__ws *ws = sio__eio_probe(s);
  if (s->up) sio__timer_stop(&s->up->timer);
  s->upgrading = 0;
  if (ws) sio__ws_close(ws, 0, NULL, 0);
}

static void complete_upgrade(sio__eio_session *s) {
  sio__ws *ws = sio__eio_probe(s);
  sio__eio_upgrade_end(s);
  s->upgrading = 0;
  s->ws = ws;
  s->transport = SIO_EIO_WEBSOCKET;
  if (s->get_res) sio__eio_release_get(s, "6");
  int poll_binary = s->v3 && !s->b64; /* how `out` holds v3 records */
  s->b64 = s->v3 && s->probe_b64;
  /* whatever the polling side had not delivered goes over the WebSocket, in order */
  if (s->out.len) {
    sio__sbuf pending = s->out;
    s->out = (sio__sbuf)SIO__SBUF_INIT;
    s->out_compress = s->out_binary = 0; /* no per-packet flag kept: these go by size alone */
    sio__eio_packet p;
    if (s->v3) {
      sio__eio3_payload_iter it;
      sio__eio3_payload_init(&it, pending.data, pending.len, poll_binary);
      while (sio__eio3_payload_next(&it, &p) == 1)
        sio__eio_ws_send_packet(s, ws, p.type, p.data, p.len, p.binary);
      sio__eio3_payload_free(&it);
    } else {
      sio__eio_payload_iter it;
      sio__eio_payload_init(&it, pending.data, pending.len);
      while (sio__eio_payload_next(&it, &p) == 1)
        sio__eio_ws_send_packet(s, ws, p.type, p.data, p.len, p.binary);
      sio__eio_payload_free(&it);
    }
    sio__sbuf_free(&pending);
  }
}

static void probe_on_open(sio__ws *ws, void *user) {
  sio__eio_session *s = user;
  struct sio__eio_upgrade *up = sio__calloc(1, sizeof(*up));
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

static void probe_on_message(sio__ws *ws, const char *data, size_t len, int binary, void *user) {
  sio__eio_session *s = user;
  if (sio__eio_probe(s) != ws) return;
  /* past the session's ping deadline or the upgrade's, as if the wheel's tick had run */
  if (s->state != ST_OPEN || sio__eio_expire(s) || sio__net_past(s->eio->net, s->up->timer.due)) {
    probe_drop(s);
    return;
  }
  sio__eio_packet p;
  if (!binary && sio__eio_decode_text(data, len, &p) == 0) {
    if (p.type == SIO__EIO_PING && p.len == 5 && memcmp(p.data, "probe", 5) == 0) {
      sio__eio_ws_send_packet(s, ws, SIO__EIO_PONG, "probe", 5, 0);
      s->upgrading = 1;
      if (s->get_res && !s->out.len) sio__eio_release_get(s, "6");
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
  if (sio__eio_probe(s) == ws) {
    sio__eio_upgrade_end(s);
    s->upgrading = 0;
  } else if (s->ws == ws) { /* the probe had become the transport */
    ws_on_close(ws, code, reason, reason_len, user);
    return;
  }
  sio__eio_unref(s);
}

static void probe_on_drain(sio__ws *ws, void *user) {
  ws_on_drain(ws, user);
}

static void probe_on_message_any(sio__ws *ws, const char *data, size_t len, int binary,
                                 void *user) {
  sio__eio_session *s = user;
  if (s->ws == ws)
    ws_on_message(ws, data, len, binary, user);
  else
    probe_on_message(ws, data, len, binary, user);
}

static const sio__ws_handler probe_handlers = {
    .open = probe_on_open,
    .message = probe_on_message_any,
    .drain = probe_on_drain,
    .close = probe_on_close,
};

static void on_upgrade_timeout(sio__timer *t) {
  sio__eio_session *s = sio__container_of(t, struct sio__eio_upgrade, timer)->s;
  probe_drop(s);
}

/* A WebSocket that may not become a transport (second one after an upgrade, or during one):
 * accepted, then closed at once, as Node's engine.io does. */
static void refused_on_open(sio__ws *ws, void *user) {
  sio__ws_close(ws, 0, NULL, 0);
}
static const sio__ws_handler refused_handlers = {.open = refused_on_open};

int sio__eio_on_upgrade(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
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
  int t = sio__eio_verify(e, req, 1, &s, &code);
  if (t < 0 || t != SIO_EIO_WEBSOCKET) {
    sio__eio_abort_upgrade(res, t < 0 ? code : SIO__EIO_ERR_BAD_REQUEST, NULL);
    return 0;
  }
  if (s) {
    if (s->state != ST_OPEN || s->transport != SIO_EIO_POLLING || s->up || s->upgrading ||
        e->opts.no_upgrades)
      return sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &refused_handlers, NULL,
                            &ws);
    sio__eio_ref(s);
    s->probe_b64 = sio__eio_req_b64(req);
    int took = sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &probe_handlers, s, &ws);
    if (took != 1 || !ws) sio__eio_unref(s); /* no socket: its handlers never run */
    return took;
  }
  int verdict = sio__eio_allow(e, req, res, 1);
  if (verdict == SIO__EIO_ALLOW_LATER) return SIO__UPGRADE_LATER;
  if (verdict != SIO__EIO_ALLOWED) return 0;
  return sio__eio_ws_handshake(req, res, conn, rest, rest_len, e);
}

int sio__eio_ws_handshake(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                          size_t rest_len, void *user) {
  sio_eio *e = user;
  sio__ws *ws = NULL;
  if (!sio__eio_version_ok(e, req)) {
    sio__eio_abort_upgrade(res, SIO__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, NULL);
    return 0;
  }
  sio__eio_session *s = sio__eio_session_new(e, req, SIO_EIO_WEBSOCKET);
  if (!s) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return 0;
  }
  sio__eio_ref(s); /* the WebSocket's */
  int took = sio__ws_accept(req, res, conn, rest, rest_len, &e->ws_opts, &ws_handlers, s, &ws);
  if (took != 1 || !ws) {
    sio__eio_unref(s);
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
  }
  return took;
}
