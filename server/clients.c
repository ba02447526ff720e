/* sio-server's side of the clients: the namespaces they may connect to, the check made once per
 * connection (a JWT in auth.token, verified here with libjwt; or the auth hook, one HTTP POST
 * to the backend), the rooms a client joins from its token's claim or the hook's answer, and
 * the feed of their events to the webhook. No backend round trip happens per event.
 *
 * JWT: HS256 (a shared secret) or RS256 (the backend's public key, PEM), as jwt_alg says; a
 * token with another "alg" is refused (no alg confusion), as are an expired one ("exp") and
 * one not valid yet ("nbf"). The claim named by jwt_rooms_claim (default "rooms": a string or
 * a list of strings) lists the rooms the client joins; every claim becomes socket.data (seen
 * by GET /api/sockets and by fetchSockets on other servers).
 *
 * Auth hook: POST {nsp, id, handshake} to the URL; a 2xx answer admits the client and may
 * carry {"rooms": [...], "data": {...}}; anything else refuses it with CONNECT_ERROR, whose
 * message is the answer's "message" (or "unauthorized") and whose data is {"status": N}; a
 * timeout or an unreachable hook refuses with "auth hook timeout" / "auth hook unavailable". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "server.h"

/* --- JWT -------------------------------------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = malloc(65537);
  size_t n = buf ? fread(buf, 1, 65536, f) : 0;
  fclose(f);
  if (!buf || !n) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

int srv_jwt_reload(srv *s) {
  const srv_config *c = &s->cfg;
  if (!c->jwt_alg || !*c->jwt_alg) {
    free(s->jwt_key);
    s->jwt_key = NULL;
    s->jwt_alg = JWT_ALG_NONE;
    return 0;
  }
  size_t len = 0;
  unsigned char *key;
  if (c->jwt_key_file && *c->jwt_key_file) {
    key = read_file(c->jwt_key_file, &len);
    if (!key) {
      srv_log(SIO_LOG_ERROR, "jwt_key_file %s: cannot read it: %s", c->jwt_key_file,
              strerror(errno ? errno : EINVAL));
      return -EINVAL;
    }
    if (!strcmp(c->jwt_alg, "HS256")) /* a secret in a file: without its final newline */
      while (len && (key[len - 1] == '\n' || key[len - 1] == '\r')) key[--len] = 0;
  } else {
    key = (unsigned char *)strdup(c->jwt_secret);
    len = strlen(c->jwt_secret);
    if (!key) return -ENOMEM;
  }
  free(s->jwt_key);
  s->jwt_key = key;
  s->jwt_key_len = len;
  s->jwt_alg = !strcmp(c->jwt_alg, "RS256") ? JWT_ALG_RS256 : JWT_ALG_HS256;
  return 0;
}

/* Verifies token; the decoded JWT, or NULL with the reason. */
static jwt_t *verify(srv *s, const char *token, const char **why) {
  jwt_t *j = NULL;
  if (jwt_decode(&j, token, s->jwt_key, (int)s->jwt_key_len) || !j) {
    *why = "invalid token";
    return NULL;
  }
  if (jwt_get_alg(j) != s->jwt_alg) {
    *why = "token algorithm not accepted";
  } else {
    long now = (long)(srv_now_ms() / 1000);
    errno = 0;
    long exp = jwt_get_grant_int(j, "exp");
    int has_exp = errno == 0;
    errno = 0;
    long nbf = jwt_get_grant_int(j, "nbf");
    int has_nbf = errno == 0;
    *why = has_exp && exp <= now  ? "token expired"
           : has_nbf && nbf > now ? "token not yet valid"
                                  : NULL;
  }
  if (*why) {
    jwt_free(j);
    return NULL;
  }
  return j;
}

static void join_rooms(sio_socket *so, json_t *rooms) {
  if (json_is_string(rooms)) sio_join(so, json_string_value(rooms));
  size_t i;
  json_t *r;
  if (json_is_array(rooms))
    json_array_foreach(rooms, i, r) if (json_is_string(r)) sio_join(so, json_string_value(r));
}

/* The client's token: auth.token, else the "token" query parameter; NULL if none. */
static char *client_token(sio_socket *so) {
  json_t *auth = sio_handshake_auth_json(so);
  const char *t = json_string_value(json_object_get(auth, "token"));
  char *out = t ? strdup(t) : NULL;
  json_decref(auth);
  if (!out && sio_handshake_query(so, "token")) out = strdup(sio_handshake_query(so, "token"));
  return out;
}

/* 0 admitted (rooms joined, data set), or -1 refused with *why. */
static int check_jwt(srv *s, sio_socket *so, const char **why) {
  char *token = client_token(so);
  if (!token) {
    *why = s->cfg.jwt_optional ? NULL : "missing token (auth.token)";
    return *why ? -1 : 0;
  }
  jwt_t *j = verify(s, token, why);
  free(token);
  if (!j) return -1;
  char *claims = jwt_get_grants_json(j, NULL);
  json_t *all = claims ? json_loads(claims, 0, NULL) : NULL;
  if (claims) sio_socket_set_data_json(so, claims);
  join_rooms(so, json_object_get(all, s->cfg.jwt_rooms_claim));
  json_decref(all);
  free(claims);
  jwt_free(j);
  return 0;
}

/* --- the auth hook ------------------------------------------------------------------------------
 */

typedef struct hook_call {
  srv *s;
  sio_socket *so;
  sio_mw *mw;
} hook_call;

static void refuse(srv *s, sio_mw *mw, const char *message, const char *data) {
  s->n.refused++;
  sio_mw_fail(mw, message, data);
}

static void hook_answered(int status, const char *body, size_t len, void *user) {
  hook_call *h = user;
  srv *s = h->s;
  json_t *ans = len ? json_loadb(body, len, 0, NULL) : NULL;
  if (status >= 200 && status < 300) {
    join_rooms(h->so, json_object_get(ans, "rooms"));
    json_t *data = json_object_get(ans, "data");
    char *dj = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (dj) sio_socket_set_data_json(h->so, dj);
    free(dj);
    sio_mw_next(h->mw);
  } else if (status > 0) {
    const char *m = json_string_value(json_object_get(ans, "message"));
    char data[48];
    snprintf(data, sizeof data, "{\"status\":%d}", status);
    refuse(s, h->mw, m ? m : "unauthorized", data);
  } else {
    srv_log(SIO_LOG_WARN, "auth hook %s: %s", s->cfg.auth_hook, uv_strerror(status));
    refuse(s, h->mw, status == -ETIMEDOUT ? "auth hook timeout" : "auth hook unavailable", NULL);
  }
  json_decref(ans);
  sio_socket_unref(h->so);
  free(h);
}

static void call_hook(srv *s, sio_socket *so, sio_mw *mw) {
  json_t *req = json_pack("{s:s,s:s,s:o*}", "nsp", sio_nsp_name(sio_socket_nsp(so)), "id",
                          sio_id(so), "handshake", sio_handshake_value(so));
  char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  hook_call *h = body ? malloc(sizeof *h) : NULL;
  int rc = -ENOMEM;
  if (h) {
    h->s = s, h->so = so, h->mw = mw;
    rc = srv_http_post(s->loop, s->cfg.auth_hook, NULL, body, strlen(body),
                       (uint32_t)s->cfg.auth_hook_timeout, hook_answered, h);
  }
  free(body);
  if (rc) {
    free(h);
    srv_log(SIO_LOG_WARN, "auth hook %s: %s", s->cfg.auth_hook, uv_strerror(rc));
    refuse(s, mw, "auth hook unavailable", NULL);
    return;
  }
  sio_socket_ref(so);
}

/* --- per connection ------------------------------------------------------------------------------
 */

static void gate(sio_socket *so, sio_mw *mw, void *user) {
  srv *s = user;
  const char *why = NULL;
  if (s->jwt_alg != JWT_ALG_NONE && check_jwt(s, so, &why)) {
    refuse(s, mw, why, NULL);
    return;
  }
  if (s->cfg.auth_hook && *s->cfg.auth_hook) {
    call_hook(s, so, mw);
    return;
  }
  sio_mw_next(mw);
}

static void on_disconnect(sio_socket *so, const char *reason, void *user) {
  (void)so;
  srv_count_disconnect(user, reason);
}

static void on_any(sio_socket *so, const char *event, const sio_args *a, void *user) {
  srv *s = user;
  size_t len;
  const char *args = sio_args_json_all(a, &len);
  srv_webhook_push(s, sio_nsp_name(sio_socket_nsp(so)), sio_id(so), event, args, len);
}

static void on_connection(sio_socket *so, void *user) {
  srv *s = user;
  s->n.connects++;
  sio_on_disconnect(so, on_disconnect, s);
  if (s->webhook) sio_on_any(so, on_any, s);
}

static int match_any(const char *name, const char *auth, void *user) {
  (void)name, (void)auth, (void)user;
  return 1;
}

static int serve_nsp(srv *s, sio_nsp *nsp) {
  if (!nsp) return -ENOMEM;
  int rc = sio_nsp_use(nsp, gate, s);
  return rc ? rc : sio_nsp_on_connection(nsp, on_connection, s);
}

int srv_clients_init(srv *s) {
  int rc = srv_jwt_reload(s);
  int main_done = 0;
  for (size_t i = 0; !rc && i < s->cfg.namespaces.n; i++) {
    const char *name = s->cfg.namespaces.v[i];
    if (!strcmp(name, "*")) {
      if (!s->any) rc = serve_nsp(s, s->any = sio_of_match(s->io, match_any, NULL));
      continue;
    }
    if (sio_nsp_find(s->io, name) && (strcmp(name, "/") || main_done)) continue;
    main_done |= !strcmp(name, "/");
    rc = serve_nsp(s, sio_of(s->io, name));
  }
  if (!rc && !main_done) rc = serve_nsp(s, sio_of(s->io, "/")); /* "/" always exists */
  return rc;
}
