/* conformance: who the TLS client is, for the TLS interop test (tests/interop/tls.test.mjs).
 * - GET /tls: {"peer": <the client certificate> | null, "peer_rc": N, "info": <the session> |
 *   null}, peer_rc being sio_req_tls_peer's result (0, -ENOENT, -EINVAL);
 * - on "/" of Socket.IO, "tls-peer" answers its ack with the socket's handshake certificate
 *   (sio_handshake_tls_peer) or null, and the result code.
 * main.c calls setup_tls_routes(app); socketio_part.c calls tls_peer_json. */
#include <jansson.h>

#include "sio/http.h"
#include "sio/tls.h"

void setup_tls_routes(sio_app *app);
json_t *tls_peer_json(int rc, const sio_tls_peer *p);

/* The fields as Node's getPeerCertificate() names them; null unless rc is 0. */
json_t *tls_peer_json(int rc, const sio_tls_peer *p) {
  if (rc != 0) return json_null();
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s?}", "subject", p->subject,
                   "issuer", p->issuer, "CN", p->common_name, "serialNumber", p->serial,
                   "fingerprint256", p->fingerprint256, "valid_from", p->valid_from, "valid_to",
                   p->valid_to, "authorized", p->authorized, "authorizationError",
                   p->authorized ? NULL : p->verify_error);
}

static void on_tls(sio_req *req, sio_res *res, void *user) {
  (void)user;
  sio_tls_peer peer;
  sio_tls_info info;
  int rc = sio_req_tls_peer(req, &peer);
  json_t *inf = sio_req_tls_info(req, &info) != 0
                    ? json_null()
                    : json_pack("{s:s, s:s, s:s, s:s, s:b}", "protocol", info.version, "cipher",
                                info.cipher, "servername", info.servername, "alpnProtocol",
                                info.alpn, "reused", info.resumed);
  json_t *v =
      json_pack("{s:o, s:i, s:o}", "peer", tls_peer_json(rc, &peer), "peer_rc", rc, "info", inf);
  sio_res_json(res, v);
  json_decref(v);
}

void setup_tls_routes(sio_app *app) {
  sio_app_get(app, "/tls", on_tls, NULL);
}
