/* The admin namespace's middleware: @socket.io/admin-ui's basic authentication.
 *
 * A CONNECT whose auth carries a sessionId given earlier (InMemoryStore) passes. Else its
 * username must be the configured one and its password must hash, with the configured bcrypt
 * hash as the salt, to that hash: crypt_r() (libcrypt, $2a$/$2b$/$2y$) runs on the libuv
 * thread pool, since a bcrypt of cost 10 takes tens of milliseconds, and the two strings are
 * compared in constant time. A success gets a new session id, sent as the "session" event
 * before the CONNECT answer (as Node's middleware emits it); anything else (a wrong name or
 * password, a password that is not a string, which makes Node's bcryptjs throw and the client
 * hang) gets connect_error "invalid credentials". */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_internal.h"
#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"

#define INVALID "invalid credentials"

/* $2a$, $2b$ or $2y$, a two-digit cost from 04 to 31, $, then 53 characters of bcrypt's
 * base64 (22 of salt, 31 of hash): 60 in all. */
int sio__admin_hash_valid(const char *h) {
  if (!h || strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$')
    return 0;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$') return 0;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return 0;
  for (int i = 7; i < 60; i++) {
    char c = h[i];
    if (!(c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* --- sessions ----------------------------------------------------------------------------- */

static int session_known(const sio__admin *a, const char *id) {
  if (strlen(id) != 16) return 0;
  for (size_t i = 0; i < a->nsessions; i++)
    if (memcmp(a->sessions[i], id, 16) == 0) return 1;
  return 0;
}

/* A new session id (16 hex digits, as Node's randomBytes(8).toString("hex")), kept; the
 * oldest goes past SIO__ADMIN_MAX_SESSIONS. 0 or -ENOMEM. */
static int session_new(sio__admin *a, char out[17]) {
  unsigned char r[8];
  static const char hex[] = "0123456789abcdef";
  if (sio__random_bytes(r, sizeof r)) return -ENOMEM;
  for (int i = 0; i < 8; i++) {
    out[2 * i] = hex[r[i] >> 4];
    out[2 * i + 1] = hex[r[i] & 15];
  }
  out[16] = 0;
  if (!a->sessions) {
    a->sessions = sio__calloc(SIO__ADMIN_MAX_SESSIONS, sizeof *a->sessions);
    if (!a->sessions) return -ENOMEM;
  }
  if (a->nsessions == SIO__ADMIN_MAX_SESSIONS) {
    memmove(a->sessions, a->sessions + 1, (SIO__ADMIN_MAX_SESSIONS - 1) * sizeof *a->sessions);
    a->nsessions--;
  }
  memcpy(a->sessions[a->nsessions++], out, 17);
  return 0;
}

/* socket.emit("session", id) while the socket is still in its middleware: the packet goes out
 * before the CONNECT answer, as in Node (the client delivers it once connected). */
static void send_session(sio_socket *s, const char *id) {
  sio_msg m;
  sio__out o;
  sio__msg_init_stack(&m, "session");
  if (!sio_msg_str(&m, id) &&
      !sio__out_build(&o, &m, SIO__SIO_EVENT, s->nsp->name, s->nsp->name_len, SIO__SIO_NO_ID)) {
    sio__socket_send_packet(s, &o, 0);
    sio__out_release(&o);
  }
  sio_msg_free(&m);
}

/* --- the password check, off the loop thread ---------------------------------------------- */

typedef struct check {
  uv_work_t req;
  sio__admin *a;
  sio_mw *mw;
  char *password;
  int ok;
} check;

/* Constant time in the contents (the lengths are public: a bcrypt result is 60 bytes). */
static int same(const char *x, const char *y) {
  size_t n = strlen(x);
  if (n != strlen(y)) return 0;
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++) d |= (unsigned char)(x[i] ^ y[i]);
  return d == 0;
}

static void check_work(uv_work_t *req) {
  check *c = req->data;
  struct crypt_data *cd = calloc(1, sizeof *cd); /* 32 KiB: not on a worker's stack */
  if (!cd) return;
  const char *r = crypt_r(c->password, c->a->hash, cd);
  c->ok = r && r[0] == '$' && same(r, c->a->hash);
  explicit_bzero(cd, sizeof *cd);
  free(cd);
}

static void check_done(uv_work_t *req, int status) {
  check *c = req->data;
  sio__admin *a = c->a;
  char id[17];
  sio_socket *s = sio_mw_socket(c->mw);
  if (status == 0 && c->ok && !a->gone && session_new(a, id) == 0) {
    send_session(s, id);
    sio_mw_next(c->mw);
  } else {
    sio__debug("admin: invalid credentials");
    sio_mw_fail(c->mw, INVALID, NULL);
  }
  explicit_bzero(c->password, strlen(c->password));
  sio__free(c->password);
  sio__free(c);
  sio__admin_unref(a);
}

static int check_start(sio__admin *a, sio_mw *mw, const char *password) {
  check *c = sio__calloc(1, sizeof *c);
  if (!c || !(c->password = sio__strdup(password))) {
    sio__free(c);
    return -ENOMEM;
  }
  c->a = a;
  c->mw = mw;
  c->req.data = c;
  int rc = uv_queue_work(a->io->loop, &c->req, check_work, check_done);
  if (rc) {
    sio__free(c->password);
    sio__free(c);
    return rc;
  }
  a->refs++;
  return 0;
}

void sio__admin_auth_mw(sio_socket *s, sio_mw *mw, void *user) {
  sio__admin *a = user;
  json_t *auth = a->gone ? NULL : sio_handshake_auth_json(s);
  const char *sid = json_string_value(json_object_get(auth, "sessionId"));
  const char *name = json_string_value(json_object_get(auth, "username"));
  const char *pw = json_string_value(json_object_get(auth, "password"));
  if (sid && session_known(a, sid)) {
    json_decref(auth);
    sio_mw_next(mw);
    return;
  }
  int rc = -1;
  if (name && pw && strcmp(name, a->username) == 0) rc = check_start(a, mw, pw);
  json_decref(auth);
  if (rc) sio_mw_fail(mw, INVALID, NULL);
}
