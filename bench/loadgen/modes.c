/* sio-loadgen modes: what each benchmark sends and what it counts.
 *
 * Every payload starts with the send time (16 hex digits of CLOCK_MONOTONIC nanoseconds, a
 * clock shared by all processes on the machine), so latency needs no per-message state and
 * works for broadcasts received by other connections or other loadgen processes.
 *
 * - ws-echo: text frames of --size bytes, --inflight per connection; each echo is answered
 *   with a new message (closed loop).
 * - sio-echo: 42["echo","<size chars>"]; each 42["echo",...] reply triggers the next.
 * - sio-bcast: --senders clients emit 42["bcast","<64 chars: time, sender id, filler>"];
 *   every client counts deliveries; a sender emits again when its own copy comes back
 *   (io.emit includes the sender), so at most --inflight per sender are in flight. With
 *   --port2 the second half of the clients are on a second server of the same cluster (Redis):
 *   every broadcast crosses it, and the latency counts that hop.
 * - sio-publish: the clients count 42["pub",...] (stamped by the publishers: publish.c).
 * - sio-idle, sio-connect: only the handshake (Engine.IO open, "40", "40{sid}") and pings;
 *   a held sio-idle run also answers bench/scale's signals (scale.c).
 */
#include "loadgen.h"

#include <stdlib.h>
#include <string.h>

#define FILLER "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

bool lg_mode_is_sio(enum lg_mode m) {
  return m != LG_WS_ECHO;
}

int lg_conn_port(const lg_opts *o, uint32_t id) {
  return o->port2 > 0 && id >= (uint32_t)o->conns / 2 ? o->port2 : o->port;
}

static bool traffic_on(const lg_ctx *x) {
  return x->phase == PH_WARMUP || x->phase == PH_MEASURE;
}

/* The message for this run, built once: prefix, string of --size characters, suffix. Only the
 * stamp (and the sender id) change from one send to the next. */
static void build_template(lg_ctx *x) {
  const char *prefix = x->o.mode == LG_SIO_ECHO    ? "42[\"echo\",\""
                       : x->o.mode == LG_SIO_BCAST ? "42[\"bcast\",\""
                                                   : "";
  size_t plen = strlen(prefix), size = (size_t)x->o.size;
  x->tmpl = malloc(plen + size + 2);
  if (!x->tmpl) lg_fatal("out of memory");
  memcpy(x->tmpl, prefix, plen);
  for (size_t i = 0; i < size; i++) x->tmpl[plen + i] = FILLER[i % (sizeof FILLER - 1)];
  x->tmpl_len = plen + size;
  if (plen) {
    memcpy(x->tmpl + x->tmpl_len, "\"]", 2);
    x->tmpl_len += 2;
  }
  x->stamp_at = plen;
}

/* Stamps the template with the send time (and, for broadcasts, the sender id at [16, 24)). */
static void send_one(lg_ctx *x, lg_conn *c) {
  if (x->o.mode == LG_SIO_IDLE || lg_mode_cycles(x->o.mode)) return;
  if (!x->tmpl) build_template(x);
  char *s = x->tmpl + x->stamp_at;
  if (x->o.size >= 16) lg_put_hex64(s, x->now);
  if (x->o.mode == LG_SIO_BCAST && x->o.size >= 24) {
    char id[16];
    lg_put_hex64(id, c->id);
    memcpy(s + 16, id + 8, 8);
  }
  lg_send_frame(c, 0x1, x->tmpl, x->tmpl_len);
  if (x->phase == PH_MEASURE) x->sends++;
}

static void record(lg_ctx *x, const uint8_t *stamp, size_t avail) {
  if (x->phase != PH_MEASURE) return;
  x->msgs++;
  uint64_t sent;
  if (avail >= 16 && lg_get_hex(stamp, 16, &sent)) {
    lg_hist_add(&x->hist, x->now > sent ? x->now - sent : 0);
  }
}

void lg_mode_on_upgraded(lg_ctx *x, lg_conn *c) {
  if (x->o.mode == LG_WS_ECHO)
    lg_conn_became_ready(x, c);
  else
    c->state = ST_EIO_OPEN;
}

static void on_sio_event(lg_ctx *x, lg_conn *c, const uint8_t *d, size_t len) {
  static const char echo[] = "[\"echo\",\"", bcast[] = "[\"bcast\",\"", pub[] = "[\"pub\",\"";
  if (x->o.mode == LG_SIO_PUBLISH && len >= sizeof pub - 1 && !memcmp(d, pub, sizeof pub - 1)) {
    x->deliv_total++;
    record(x, d + sizeof pub - 1, len - (sizeof pub - 1));
  } else if (x->o.mode == LG_SIO_ECHO && len >= sizeof echo - 1 &&
             !memcmp(d, echo, sizeof echo - 1)) {
    record(x, d + sizeof echo - 1, len - (sizeof echo - 1));
    if (traffic_on(x)) send_one(x, c);
  } else if (x->o.mode == LG_SIO_BCAST && len >= sizeof bcast - 1 &&
             !memcmp(d, bcast, sizeof bcast - 1)) {
    const uint8_t *s = d + sizeof bcast - 1;
    size_t avail = len - (sizeof bcast - 1);
    record(x, s, avail);
    uint64_t sender;
    if (avail >= 24 && lg_get_hex(s + 16, 8, &sender) && sender == c->id && traffic_on(x))
      send_one(x, c);
  } else if (x->o.mode == LG_SIO_IDLE) {
    lg_scale_on_event(x, c, d, len); /* bench/scale: a broadcast, an active echo */
  }
}

static void on_sio_message(lg_ctx *x, lg_conn *c, uint8_t *d, size_t len) {
  if (len == 0) {
    lg_conn_error(x, c, "empty Engine.IO packet");
    return;
  }
  switch (d[0]) {
  case '0': /* Engine.IO open: connect to the main namespace */
    if (c->state != ST_EIO_OPEN) break;
    lg_send_frame(c, 0x1, "40", 2);
    c->state = ST_SIO_CONNECT;
    break;
  case '2': /* ping -> pong, with the same data ("2probe" -> "3probe") */
    d[0] = '3';
    lg_send_frame(c, 0x1, d, len);
    break;
  case '1':
    lg_conn_error(x, c, "Engine.IO close packet");
    break;
  case '4':
    if (len >= 2 && d[1] == '0' && c->state == ST_SIO_CONNECT)
      lg_conn_became_ready(x, c);
    else if (len >= 2 && d[1] == '2')
      on_sio_event(x, c, d + 2, len - 2);
    else if (len >= 2 && d[1] == '4')
      lg_conn_error(x, c, "Socket.IO CONNECT_ERROR");
    else if (len >= 2 && d[1] == '1')
      lg_conn_error(x, c, "Socket.IO DISCONNECT");
    break;
  default:
    break; /* noop "6", pong, anything else: ignore */
  }
}

void lg_mode_on_message(lg_ctx *x, lg_conn *c, int opcode, uint8_t *data, size_t len) {
  if (x->o.mode != LG_WS_ECHO) {
    if (opcode == 0x1) on_sio_message(x, c, data, len);
    return;
  }
  record(x, data, len);
  if (traffic_on(x)) send_one(x, c);
}

void lg_mode_kick(lg_ctx *x) {
  x->now = lg_now_ns();
  if (x->o.mode == LG_SIO_PUBLISH) {
    lg_pub_tick(x);
    return;
  }
  for (int i = 0; i < x->nconns; i++) {
    lg_conn *c = &x->conns[i];
    if (c->state != ST_READY) continue;
    if (x->o.mode == LG_SIO_BCAST && i >= x->o.senders) continue;
    if (x->o.mode == LG_SIO_IDLE || lg_mode_cycles(x->o.mode)) return;
    for (int k = 0; k < x->o.inflight; k++) send_one(x, c);
    lg_conn_flush(x, c);
  }
}
