/* Engine.IO server internals shared by its files (never included outside src/engine/).
 *
 * The server is split by concept:
 * - engine.c     the server object: options, attach, close, free;
 * - session.c    sessions: the table entry, references, closing, the heartbeat, the packets a
 *                client sends on an established transport, the session accessors;
 * - send.c       queueing packets on a session's current transport, messages encoded once;
 * - polling.c    the long-polling transport: held GETs, POSTed payloads, polling responses;
 * - websocket.c  the WebSocket transport and the upgrade from polling (probe WebSocket);
 * - handshake.c  request routing and checks, CORS, the handshake copy and the open packet;
 * - jsonp.c      JSONP polling: script responses and form POSTs;
 * - codec.c, codec_v3.c  Engine.IO v4 and v3 packets and payloads (no I/O).
 *
 * Lifetime: a session is referenced by its map entry, a held GET, POSTs in flight, its
 * WebSockets and any callback on the stack (refs). It is freed when closed and unreferenced, so
 * a callback may close it at any time. */
#ifndef SIO_ENGINE_ENGINE_INTERNAL_H
#define SIO_ENGINE_ENGINE_INTERNAL_H

#include "core/map.h"
#include "engine/codec.h"
#include "engine/codec_v3.h"
#include "engine/engine.h"
#include "http/negotiate.h"
#include "http/server.h"
#include "net/net.h"
#include "ws/ws.h"

#define SID_BYTES 16 /* 128 bits, 22 URL-safe base64 chars */

/* What the layer above may want of the handshake request, copied into one block. */
typedef struct sio__eio_handshake {
  size_t nheaders, nquery;
  const char **names, **values;
  const char **qnames, **qvalues; /* decoded query parameters */
  const char *query;              /* raw */
  const char *url;
  const char *address;
  uint64_t issued;
  int secure;
  void *peer_cert;  /* the client certificate (X509 *, our reference), NULL if none */
  long peer_verify; /* the result of its check (X509_V_OK: 0) */
} sio__eio_handshake;

/* handshake.c: the copy of the handshake request (sio__eio_handshake_copy), and its release. */
void sio__eio_handshake_free(sio__eio_handshake *hs);

enum { ST_OPEN = 0, ST_CLOSING = 1, ST_CLOSED = 2 };

struct sio_eio_socket {
  sio_eio *eio;
  char sid[24]; /* SID_BYTES as 22 URL-safe base64 chars */
  int state;
  int transport;
  unsigned refs;
  unsigned announced : 1, upgrading : 1, in_batch : 1, get_gzip : 1, in_map : 1;
  unsigned out_compress : 1; /* a packet in `out` may be compressed (engine.io's Polling.send) */
  /* Engine.IO v3 (allow_eio3): `b64` the current transport's client takes no binary (b64=1:
   * base64 packets, text payloads), `probe_b64` the same of the probe WebSocket, `out_binary`
   * a binary packet waits in `out` (the response is then an XHR2 binary payload) */
  unsigned v3 : 1, b64 : 1, probe_b64 : 1, out_binary : 1;
  char *jsonp; /* JSONP polling (a `j` on the handshake): the digits of j, else NULL */
  void *data;
  sio__eio_handshake *hs;
  /* polling */
  sio_res *get_res;
  sio__sbuf out;
  unsigned posts;
  /* websocket */
  sio__ws *ws;
  struct sio__eio_upgrade *up; /* only while a probe WebSocket is open beside polling */
  /* the heartbeat runs one wait at a time (for the next ping, then for its pong, or the final
   * wait of a closing polling session), so they share one timer */
  sio__timer heartbeat;
};

/* An upgrade in progress: the probe WebSocket and the bound on the upgrade. Allocated when the
 * probe opens, freed when it becomes the transport or goes, so that sessions (most of them
 * idle) do not carry it. */
struct sio__eio_upgrade {
  sio__ws *probe;
  sio__timer timer;
  sio__eio_session *s;
};

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
  sio__attachment *attachment; /* the app frees this block (sio_eio_free releases the rest) */
  /* the open packet after the sid, without and with the upgrade list: set by the options
   * alone, so encoded once at attach (see sio__eio_open_packet) */
  sio__sbuf open_tail[2];
  sio__cors cors; /* from the cors_ options, when cors_on */
  int cors_on;
  sio_allow_fn allow_fn; /* the asynchronous allowRequest (allow.c), or NULL */
  void *allow_user;
};

/* --- worker_sid.c ------------------------------------------------------------------------- */
/* A new sid names this worker when the app is one (its first two characters). */
void sio__eio_sid_mark(sio_eio *e, char *sid);
/* The owner hook: the worker a request's sid names, or -1. */
int sio__eio_sid_owner(sio_req *req, void *user);

/* --- session.c ---------------------------------------------------------------------------- */

/* A new session in the server's table (one reference, the server's), its handshake copied;
 * NULL when out of memory. */
sio__eio_session *sio__eio_session_new(sio_eio *e, sio_req *req, int transport);
static inline void sio__eio_ref(sio__eio_session *s) {
  s->refs++;
}
void sio__eio_unref(sio__eio_session *s);
/* Closes the session now: timers stop, the transports are closed (a held GET gets `get_reply`),
 * the layer above hears `reason`. */
void sio__eio_close_session_with(sio__eio_session *s, const char *reason, const char *get_reply);
void sio__eio_close_session(sio__eio_session *s, const char *reason); /* a held GET gets "1" */
/* Starts the heartbeat wait: v4, for the next ping (at the open and on each pong); v3, for the
 * client's next ping (at the open and on each ping), pingInterval + pingTimeout. */
void sio__eio_schedule_ping(sio__eio_session *s);
/* Closes the session with "ping timeout" if its heartbeat deadline has passed by loop time
 * (refresh it first where it may lag), though the wheel's tick has not run yet: what arrives
 * after the deadline finds the session gone, as Node's exact timers would leave it. 1 if it
 * closed. */
int sio__eio_expire(sio__eio_session *s);
/* Handles one packet on the session's current transport. Returns 0, or -1 once the session is
 * closed (stop processing). */
int sio__eio_on_packet(sio__eio_session *s, const sio__eio_packet *p);

/* --- send.c ------------------------------------------------------------------------------- */

/* Appends one packet to `out` in the session's payload format: v4 records separated by \x1e,
 * or v3 records (XHR2 binary records unless the client asked for base64). 0, -EINVAL (v3 text
 * that is not UTF-8) or -ENOMEM. */
int sio__eio_out_append(sio__eio_session *s, const sio__eio_packet *p);

/* Queues a packet on the session's current transport. */
int sio__eio_send_packet(sio__eio_session *s, sio__eio_type type, const void *data, size_t len,
                         int binary);
/* A packet the engine writes itself on a WebSocket (compressed by size alone). */
int sio__eio_ws_send_packet(const sio__eio_session *s, sio__ws *ws, sio__eio_type type,
                            const void *data, size_t len, int binary);

/* --- polling.c ---------------------------------------------------------------------------- */

/* Answers a polling request with a payload (moved out of *body): text, or with `binary` an
 * application/octet-stream one (an Engine.IO v3 XHR2 payload). */
void sio__eio_respond_payload(sio__eio_session *s, sio_res *res, sio__sbuf *body, int gzip,
                              int binary);
/* Releases the held GET with one packet without data ("6" noop, "1" close), as a payload of the
 * session's protocol. */
void sio__eio_release_get(sio__eio_session *s, const char *payload);
/* Answers the held GET with what waits in `out`; 1 if it did. */
int sio__eio_poll_flush(sio__eio_session *s);
void sio__eio_poll_get(sio__eio_session *s, sio_req *req, sio_res *res);
void sio__eio_poll_post(sio__eio_session *s, sio_req *req, sio_res *res);

/* --- jsonp.c ------------------------------------------------------------------------------ */

/* The digits of a handshake's `j` parameter (allocated), or NULL when out of memory. */
char *sio__eio_jsonp_index(const char *j);
/* Appends ___eio[index]("<payload as a JavaScript string>"); to out. 0 or -ENOMEM. */
int sio__eio_jsonp_wrap(const char *index, const char *payload, size_t n, sio__sbuf *out);
/* The payload of a JSONP POST (a form with one `d` field, newline escapes undone) appended to
 * out: 1, 0 when the form has no single `d` (Node then ignores the POST), or -ENOMEM. */
int sio__eio_jsonp_post_data(const char *body, size_t n, sio__sbuf *out);

/* --- websocket.c -------------------------------------------------------------------------- */

static inline sio__ws *sio__eio_probe(const sio__eio_session *s) {
  return s->up ? s->up->probe : NULL;
}
/* Stops the upgrade timer and forgets the probe (which closes on its own). */
void sio__eio_upgrade_end(sio__eio_session *s);
/* The app's upgrade hook for the engine's path. */
int sio__eio_on_upgrade(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                        size_t rest_len, void *user);

/* A new WebSocket session once its request is admitted: the protocol version, then the
 * session and its WebSocket. An upgrade hook (sio__upgrade_resume runs it after a late
 * allowRequest; user: the server). */
int sio__eio_ws_handshake(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                          size_t rest_len, void *user);
/* A refused WebSocket handshake, as Node's abortUpgrade answers it: 400 Bad Request, text/html,
 * the message (NULL: the code's) as the body; the connection closes after it. */
void sio__eio_abort_upgrade(sio_res *res, sio__eio_error code, const char *message);

/* --- allow.c ------------------------------------------------------------------------------ */

enum { SIO__EIO_REFUSED = 0, SIO__EIO_ALLOWED = 1, SIO__EIO_ALLOW_LATER = 2 };
/* Asks allowRequest (the synchronous handler, then the asynchronous one) about a handshake
 * request. SIO__EIO_ALLOWED: go on now; SIO__EIO_REFUSED: answered; SIO__EIO_ALLOW_LATER: the
 * verdict will act itself (the caller leaves the request waiting). */
int sio__eio_allow(sio_eio *e, sio_req *req, sio_res *res, int upgrade);

/* --- handshake.c -------------------------------------------------------------------------- */

#define SIO__EIO_OPEN_HEAD "0{\"sid\":\""
/* Room for the whole open packet: the head, a sid (23 bytes with its NUL) and a tail, which
 * with every number at its widest is about 120 bytes (sio__eio_encode_open_tails checks it). */
#define SIO__EIO_OPEN_PACKET_MAX 256

/* The app's intercept for the engine's path: polling handshake, GET and POST. */
void sio__eio_on_http(sio_req *req, sio_res *res, void *user);
/* A new polling session once its request is admitted: the protocol version, then the session
 * and its open packet as the response. */
void sio__eio_polling_handshake(sio_eio *e, sio_req *req, sio_res *res);
/* Checks the request's transport, sid and method as Node's engine.io's verify() does, in its
 * order (for a request without a sid, allowRequest and the protocol version come next: see
 * sio__eio_allow). Returns -1 (error code in *code) or the transport. */
int sio__eio_verify(sio_eio *e, sio_req *req, int upgrade, sio__eio_session **sess,
                    sio__eio_error *code);
/* Whether a request asks for base64 packets (Engine.IO v3's b64 query parameter, non-empty). */
int sio__eio_req_b64(sio_req *req);
/* The request's protocol version is served: EIO=4, or anything else with allow_eio3 (checked
 * after allowRequest, as engine.io's handshake() does). */
int sio__eio_version_ok(const sio_eio *e, sio_req *req);
/* Engine.IO error answer: 400 (403 for Forbidden) with {"code":N,"message":"..."}. */
void sio__eio_send_error(sio_res *res, sio__eio_error code);
sio__eio_handshake *sio__eio_handshake_copy(sio_req *req);
/* Encodes the open packet's tails (with and without upgrades) once, at attach. */
int sio__eio_encode_open_tails(sio_eio *e);
/* The open packet into buf (SIO__EIO_OPEN_PACKET_MAX bytes); returns its length. */
size_t sio__eio_open_packet(const sio__eio_session *s, char *buf, int with_upgrades);

#endif
