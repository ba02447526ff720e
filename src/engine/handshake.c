/* Engine.IO requests: routing and checks (as Node's engine.io, in its order), CORS, the polling
 * handshake, the copy of the handshake request kept for the layer above, and the open packet.
 * allowRequest sits between the checks and the protocol version's (allow.c).
 *
 * A polling request is an HTTP intercept of the app on the engine's path: CORS first (the HTTP
 * layer's policy, http/negotiate.h; a preflight is answered there), then the checks, then the
 * handshake or the session's GET or POST (polling.c). A WebSocket upgrade takes the same checks
 * (websocket.c). */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "core/alloc.h"
#include "http/tls_peer.h"
#include "net/tls.h"
#include "sio/tls.h" /* sio_req_secure */

/* --- small helpers ------------------------------------------------------------------------ */

static uint64_t now_ms_epoch(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void set_common_headers(sio_res *res) {
  sio_res_set_header(res, "Cache-Control", "no-store");
}

int sio__eio_req_b64(sio_req *req) {
  const char *b64 = sio_req_query(req, "b64");
  return b64 && *b64;
}

void sio__eio_send_error(sio_res *res, sio__eio_error code) {
  sio_res_status(res, code == SIO__EIO_ERR_FORBIDDEN ? 403 : 400);
  sio_res_set_header(res, "Content-Type", "application/json");
  const char *body = sio__eio_error_json(code);
  sio_res_send(res, body, strlen(body));
}

/* --- handshake info ----------------------------------------------------------------------- */

/* Percent-decodes [p, end) into out ('+' is a space; a bad escape stays as it is); returns the
 * end of what was written, past its NUL. */
static char *pct_decode(const char *p, const char *end, char *out) {
  return out + sio__pct_decode(p, (size_t)(end - p), out, 1, NULL) + 1;
}

/* Copies what the layer above may want of the handshake request into one block. The request
 * keeps its head as one block of NUL-terminated pieces (sio__req_head_block): that block is
 * copied whole and the header, URL and query pointers moved by the same offset, rather than
 * each string measured and copied on its own. */
sio__eio_handshake *sio__eio_handshake_copy(sio_req *req) {
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
  sio__eio_handshake *hs = sio__malloc(sizeof *hs + (2 * n + 2 * nq) * sizeof(char *) + bytes);
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
  hs->secure = sio_req_secure(req) != 0; /* Node: !!req.connection.encrypted */
  hs->peer_verify = 0;
  hs->peer_cert = sio__req_tls_cert_ref(req, &hs->peer_verify);
  return hs;
}

void sio__eio_handshake_free(sio__eio_handshake *hs) {
  if (hs) sio__tls_cert_unref(hs->peer_cert);
  sio__free(hs);
}

int sio__eio_encode_open_tails(sio_eio *e) {
  const sio_eio_opts *o = &e->opts;
  const char *up[] = {"websocket"};
  int n = !o->no_upgrades && (o->transports & SIO_EIO_WEBSOCKET);
  for (int i = 0; i < 2; i++) {
    e->open_tail[i] = (sio__sbuf)SIO__SBUF_INIT;
    if (sio__eio_encode_open_tail(&e->open_tail[i], up, (size_t)(i && n), o->ping_interval_ms,
                                  o->ping_timeout_ms, (unsigned long long)o->max_http_buffer_size))
      return -ENOMEM;
    if (sizeof SIO__EIO_OPEN_HEAD - 1 + sizeof(((sio__eio_session *)0)->sid) + e->open_tail[i].len >
        SIO__EIO_OPEN_PACKET_MAX)
      return -EINVAL; /* cannot happen with any option values; sio__eio_open_packet relies on it */
  }
  return 0;
}

/* The open packet (sio__eio_encode_open's text) from the sid and the tail encoded at attach,
 * into buf (SIO__EIO_OPEN_PACKET_MAX bytes); returns its length. */
size_t sio__eio_open_packet(const sio__eio_session *s, char *buf, int with_upgrades) {
  const sio__sbuf *tail = &s->eio->open_tail[with_upgrades != 0];
  size_t sl = strlen(s->sid), hl = sizeof SIO__EIO_OPEN_HEAD - 1;
  memcpy(buf, SIO__EIO_OPEN_HEAD, hl);
  memcpy(buf + hl, s->sid, sl);
  memcpy(buf + hl + sl, tail->data, tail->len);
  return hl + sl + tail->len;
}

static void handshake_polling(sio_eio *e, sio_req *req, sio_res *res) {
  sio__eio_session *s = sio__eio_session_new(e, req, SIO_EIO_POLLING);
  if (!s) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return;
  }
  char pkt[SIO__EIO_OPEN_PACKET_MAX];
  sio__sbuf body = SIO__SBUF_INIT;
  size_t n = sio__eio_open_packet(s, pkt, 1);
  if (s->v3) /* a v3 text payload of one record (ASCII: its length is its byte count) */
    sio__eio3_encode_record(&body, &(sio__eio_packet){SIO__EIO_OPEN, 0, pkt + 1, n - 1}, 0);
  else
    sio__sbuf_append(&body, pkt, n);
  sio__eio_respond_payload(s, res, &body, e->opts.http_compression && sio_req_accepts_gzip(req), 0);
  sio__sbuf_free(&body);
  sio__eio_schedule_ping(s);
  sio__eio_ref(s);
  s->announced = 1;
  if (e->h.connection) e->h.connection(s, e->user);
  sio__eio_unref(s);
}

int sio__eio_verify(sio_eio *e, sio_req *req, int upgrade, sio__eio_session **sess,
                    sio__eio_error *code) {
  const char *transport = sio_req_query(req, "transport");
  int t = 0;
  if (transport && strcmp(transport, "polling") == 0)
    t = SIO_EIO_POLLING;
  else if (transport && strcmp(transport, "websocket") == 0)
    t = SIO_EIO_WEBSOCKET;
  if (!t || !(e->opts.transports & (unsigned)t)) {
    *code = SIO__EIO_ERR_UNKNOWN_TRANSPORT;
    return -1;
  }
  const char *sid = sio_req_query(req, "sid");
  *sess = NULL;
  if (sid) {
    sio__eio_session *s = sio__map_get(&e->sessions, sid, strlen(sid));
    if (s) { /* past its ping deadline it is gone, whether or not the wheel's tick ran */
      sio__net_refresh(e->net);
      if (sio__eio_expire(s)) s = NULL;
    }
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
  return t;
}

/* The protocol version, checked after allowRequest (engine.io's handshake()). */
int sio__eio_version_ok(const sio_eio *e, sio_req *req) {
  const char *eio = sio_req_query(req, "EIO"); /* anything but 4 is v3, as Node's engine.io */
  return (eio && strcmp(eio, "4") == 0) || e->opts.allow_eio3;
}

void sio__eio_polling_handshake(sio_eio *e, sio_req *req, sio_res *res) {
  if (!sio__eio_version_ok(e, req)) {
    sio__eio_send_error(res, SIO__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
    return;
  }
  handshake_polling(e, req, res);
}

void sio__eio_on_http(sio_req *req, sio_res *res, void *user) {
  sio_eio *e = user;
  if (e->closed) {
    sio_next(req, res);
    return;
  }
  if (e->cors_on && sio__cors_apply(&e->cors, req, res)) return; /* a preflight */
  set_common_headers(res);
  sio__eio_session *s;
  sio__eio_error code;
  int t = sio__eio_verify(e, req, 0, &s, &code);
  if (t < 0 || t != SIO_EIO_POLLING) {
    sio__eio_send_error(res, t < 0 ? code : SIO__EIO_ERR_BAD_REQUEST);
    return;
  }
  const char *method = sio_req_method(req);
  if (!s) {
    if (sio__eio_allow(e, req, res, 0) == SIO__EIO_ALLOWED) sio__eio_polling_handshake(e, req, res);
  } else if (strcmp(method, "GET") == 0) {
    sio__eio_poll_get(s, req, res);
  } else if (strcmp(method, "POST") == 0) {
    sio__eio_poll_post(s, req, res);
  } else {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
  }
}
