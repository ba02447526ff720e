/* allowRequest decided asynchronously: a handshake request waits for the application's verdict
 * (Node's `allowRequest: (req, callback) => callback(message, success)`).
 *
 * A request that would open a session (no sid) asks the application once the transport and
 * method checks passed, before the protocol version is checked (engine.io's verify() calls
 * allowRequest there and handshake() checks the version after it). The sio_allow lives from the
 * question until the verdict, whichever comes last of the verdict and the client leaving: the
 * verdict frees it, and a client that leaves first only drops its request (sio_res_on_close),
 * so a late verdict finds nothing to answer. A verdict given during the question is acted on
 * when the question returns, by its caller (the HTTP intercept or the upgrade hook, still on
 * the stack); a later one acts itself: the polling handshake answers the held request, the
 * WebSocket handshake resumes the upgrade the hook left waiting (sio__upgrade_resume).
 *
 * Refusals are answered as Node's engine.io does: polling 403 {"code":4,"message":M}
 * (abortRequest), WebSocket 400 Bad Request with M as a text/html body and the connection
 * closed (abortUpgrade), M being the refusal's message or "Forbidden". */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"

enum { V_PENDING = 0, V_ACCEPT = 1, V_REFUSE = 2 };

struct sio_allow {
  sio_eio *e;
  sio_req *req; /* NULL once the client went away */
  sio_res *res;
  uint8_t upgrade; /* a WebSocket handshake (its hook returned SIO__UPGRADE_LATER) */
  uint8_t in_call; /* the question is on the stack: its caller acts on the verdict */
  uint8_t verdict; /* V_* */
  char *message;   /* the refusal's (NULL: "Forbidden") */
};

int sio_eio_allow_request(sio_eio *e, sio_allow_fn fn, void *user) {
  if (!e) return -EINVAL;
  e->allow_fn = fn;
  e->allow_user = user;
  return 0;
}

sio_req *sio_allow_req(const sio_allow *a) {
  return a ? a->req : NULL;
}

static void on_client_gone(sio_res *res, void *user) {
  sio_allow *a = user;
  a->req = NULL;
  a->res = NULL;
}

/* Engine.IO's error answer with the refusal's message: {"code":4,"message":M} (as
 * JSON.stringify writes it). */
static void refuse_polling(sio_res *res, const char *message) {
  if (!message) {
    sio__eio_send_error(res, SIO__EIO_ERR_FORBIDDEN);
    return;
  }
  sio__sbuf body = SIO__SBUF_INIT;
  sio__sbuf_appends(&body, "{\"code\":4,\"message\":");
  sio__json_escape(&body, message, strlen(message));
  sio__sbuf_appendc(&body, '}');
  if (body.oom) {
    sio__sbuf_free(&body);
    sio__eio_send_error(res, SIO__EIO_ERR_FORBIDDEN);
    return;
  }
  sio_res_status(res, 403);
  sio_res_set_header(res, "Content-Type", "application/json");
  sio_res_send(res, body.data, body.len);
  sio__sbuf_free(&body);
}

void sio__eio_abort_upgrade(sio_res *res, sio__eio_error code, const char *message) {
  if (!message) message = sio__eio_error_message(code);
  sio_res_status(res, 400);
  sio_res_set_header(res, "Content-Type", "text/html");
  sio_res_send(res, message, strlen(message));
}

static void free_allow(sio_allow *a) {
  sio__free(a->message);
  sio__free(a);
}

/* A verdict given after the question returned: answer the request, or go on with the
 * handshake, then free a. */
static void act_late(sio_allow *a) {
  sio_req *req = a->req;
  sio_res *res = a->res;
  sio_eio *e = a->e;
  if (req) {
    sio_res_on_close(res, NULL, NULL);
    if (a->verdict == V_REFUSE && a->upgrade) {
      sio__eio_abort_upgrade(res, SIO__EIO_ERR_FORBIDDEN, a->message);
    } else if (a->verdict == V_REFUSE) {
      refuse_polling(res, a->message);
    } else if (e->closed) { /* closed or freed while the application thought */
      sio_res_status(res, 503);
      sio_res_send(res, "", 0);
    } else if (a->upgrade) {
      sio__upgrade_resume(req, sio__eio_ws_handshake, e);
    } else {
      sio__eio_polling_handshake(e, req, res);
    }
  }
  free_allow(a);
}

static void decide(sio_allow *a, int verdict, const char *message) {
  if (!a || a->verdict != V_PENDING) return; /* a second verdict: ignored */
  a->verdict = (uint8_t)verdict;
  if (message) a->message = sio__strdup(message); /* on OOM: "Forbidden" */
  if (!a->in_call) act_late(a);
}

void sio_allow_accept(sio_allow *a) {
  decide(a, V_ACCEPT, NULL);
}

void sio_allow_refuse(sio_allow *a, const char *message) {
  decide(a, V_REFUSE, message);
}

int sio__eio_allow(sio_eio *e, sio_req *req, sio_res *res, int upgrade) {
  if (e->h.allow_request && e->h.allow_request(req, e->user) != 0) {
    if (upgrade)
      sio__eio_abort_upgrade(res, SIO__EIO_ERR_FORBIDDEN, NULL);
    else
      sio__eio_send_error(res, SIO__EIO_ERR_FORBIDDEN);
    return SIO__EIO_REFUSED;
  }
  if (!e->allow_fn) return SIO__EIO_ALLOWED;
  sio_allow *a = sio__calloc(1, sizeof *a);
  if (!a) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return SIO__EIO_REFUSED;
  }
  a->e = e;
  a->req = req;
  a->res = res;
  a->upgrade = (uint8_t)(upgrade != 0);
  a->in_call = 1;
  sio_res_on_close(res, on_client_gone, a);
  e->allow_fn(req, a, e->allow_user);
  a->in_call = 0;
  if (a->verdict == V_PENDING) return SIO__EIO_ALLOW_LATER; /* a belongs to the verdict now */
  sio_res_on_close(res, NULL, NULL);
  int verdict = a->verdict;
  if (verdict == V_REFUSE) {
    if (upgrade)
      sio__eio_abort_upgrade(res, SIO__EIO_ERR_FORBIDDEN, a->message);
    else
      refuse_polling(res, a->message);
  }
  free_allow(a);
  return verdict == V_ACCEPT ? SIO__EIO_ALLOWED : SIO__EIO_REFUSED;
}
