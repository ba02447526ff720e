/* sio-server's publish API, for backends (docs/server.md has the reference):
 *   POST /api/emit                    {nsp, rooms, except, event, args, volatile} (or an array)
 *   POST /api/batch                   [{...}, ...] or {"emits": [...]}: many emits at once
 *   POST /api/sockets/join|leave      {nsp, rooms, except, room}: the selected sockets
 *   POST /api/sockets/disconnect      {nsp, rooms, except, close}
 *   GET  /api/sockets?nsp=&room=      the sockets (of the whole cluster with Redis)
 *   GET  /api/rooms?nsp=              the rooms
 * Every request needs "Authorization: Bearer <token>" with a configured token (401 otherwise);
 * each token has its own rate limit (429 with Retry-After); bodies are limited (413), batches
 * too; errors are JSON {"error": code, "reason": text}; CORS as cors_origins says. A batch is
 * checked whole before anything is emitted: one bad item refuses it all (400, its index). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct srv_bucket {
  double level;
  uint64_t last_ms;
};

/* --- answers -------------------------------------------------------------------------------- */

static void count(srv *s, int status) {
  int k = status / 100;
  if (k >= 0 && k < 6) s->n.api_requests[k]++;
}

static void api_error(srv *s, sio_res *res, int status, const char *code, const char *reason) {
  count(s, status);
  sio_res_status(res, status);
  sio_res_jsonf(res, "{s:s,s:s}", "error", code, "reason", reason);
}

static void api_json(srv *s, sio_res *res, json_t *v) {
  count(s, 200);
  sio_res_json(res, v);
  json_decref(v);
}

/* --- CORS, tokens, rate limit ------------------------------------------------------------------
 */

static int origin_allowed(const srv_config *c, const char *origin) {
  for (size_t i = 0; i < c->cors_origins.n; i++)
    if (!strcmp(c->cors_origins.v[i], "*") || !strcmp(c->cors_origins.v[i], origin)) return 1;
  return 0;
}

/* Sets the CORS headers; 1 when the request was a preflight (answered). */
static int cors(srv *s, sio_req *req, sio_res *res) {
  const char *origin = sio_req_header(req, "origin");
  if (!origin || !s->cfg.cors_origins.n || !origin_allowed(&s->cfg, origin)) return 0;
  sio_res_set_header(res, "Access-Control-Allow-Origin", origin);
  sio_res_set_header(res, "Vary", "Origin");
  if (strcmp(sio_req_method(req), "OPTIONS")) return 0;
  sio_res_set_header(res, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  sio_res_set_header(res, "Access-Control-Allow-Headers", "Authorization, Content-Type");
  sio_res_set_header(res, "Access-Control-Max-Age", "600");
  sio_res_status(res, 204);
  sio_res_end(res);
  count(s, 204);
  return 1;
}

static int same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = la != lb;
  for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* The index of the request's bearer token, or -1 with the reason. */
static long find_token(srv *s, sio_req *req, const char **why) {
  const char *h = sio_req_header(req, "authorization");
  if (!h) {
    *why = "missing Authorization: Bearer <token> header";
    return -1;
  }
  if (strncasecmp(h, "Bearer ", 7)) {
    *why = "the Authorization header is not a Bearer token";
    return -1;
  }
  long found = -1;
  for (size_t i = 0; i < s->cfg.tokens.n; i++)
    if (same_secret(h + 7, s->cfg.tokens.v[i]) && found < 0) found = (long)i;
  if (found < 0) *why = s->cfg.tokens.n ? "unknown token" : "no API tokens are configured";
  return found;
}

/* 0 when the token may make a request now, else the seconds to wait. */
static long rate_wait(srv *s, size_t i) {
  double rate = s->cfg.api_rate;
  if (rate <= 0 || i >= s->nbuckets) return 0;
  double burst = s->cfg.api_burst > 0 ? s->cfg.api_burst : fmax(1, rate);
  srv_bucket *b = &s->buckets[i];
  uint64_t now = uv_now(s->loop);
  b->level = fmin(burst, b->level + (double)(now - b->last_ms) * rate / 1000.0);
  b->last_ms = now;
  if (b->level >= 1) {
    b->level -= 1;
    return 0;
  }
  return (long)ceil((1 - b->level) / rate);
}

static void api_gate(sio_req *req, sio_res *res, void *user) {
  srv *s = user;
  if (cors(s, req, res)) return;
  const char *why;
  long i = find_token(s, req, &why);
  if (i < 0) {
    sio_res_set_header(res, "WWW-Authenticate", "Bearer");
    api_error(s, res, 401, "unauthorized", why);
    return;
  }
  long wait = rate_wait(s, (size_t)i);
  if (wait) {
    char v[24];
    snprintf(v, sizeof v, "%ld", wait);
    sio_res_set_header(res, "Retry-After", v);
    s->n.api_rate_limited++;
    api_error(s, res, 429, "rate_limited", "too many requests for this token; see Retry-After");
    return;
  }
  sio_next(req, res);
}

int srv_api_reload(srv *s) {
  srv_bucket *b = calloc(s->cfg.tokens.n ? s->cfg.tokens.n : 1, sizeof *b);
  if (!b) return -ENOMEM;
  double burst = s->cfg.api_burst > 0 ? s->cfg.api_burst : fmax(1, s->cfg.api_rate);
  for (size_t i = 0; i < s->cfg.tokens.n; i++) b[i].level = burst, b[i].last_ms = uv_now(s->loop);
  free(s->buckets);
  s->buckets = b;
  s->nbuckets = s->cfg.tokens.n;
  return 0;
}

/* --- selections ---------------------------------------------------------------------------------
 */

typedef struct emit_item {
  sio_nsp *nsp;
  json_t *sel; /* the item (borrowed from the request's tree) */
  const char *event;
  json_t *args; /* new reference */
} emit_item;

static int any_nsp(const srv *s) {
  return s->any != NULL;
}

/* The namespace named by the item's "nsp" ("/" by default); NULL with *why. For "*" (any), a
 * namespace nobody created yet holds no client: *why is NULL and nothing is done. */
static sio_nsp *pick_nsp(srv *s, json_t *o, const char **why) {
  json_t *v = json_object_get(o, "nsp");
  if (v && !json_is_string(v)) {
    *why = "\"nsp\" must be a string";
    return NULL;
  }
  const char *name = v ? json_string_value(v) : "/";
  if (name[0] != '/') {
    *why = "\"nsp\" must start with /";
    return NULL;
  }
  sio_nsp *nsp = sio_nsp_find(s->io, name);
  *why = nsp || any_nsp(s) ? NULL : "unknown namespace (not in the namespaces option)";
  return nsp;
}

/* A string or an array of strings; 0 or -1. */
static int check_names(json_t *v) {
  if (!v || json_is_string(v)) return 0;
  if (!json_is_array(v)) return -1;
  size_t i;
  json_t *it;
  json_array_foreach(v, i, it) if (!json_is_string(it)) return -1;
  return 0;
}

static sio_op *add_names(sio_op *op, json_t *v, sio_op *(*fn)(sio_op *, const char *)) {
  if (json_is_string(v)) return fn(op, json_string_value(v));
  size_t i;
  json_t *it;
  json_array_foreach(v, i, it) op = fn(op, json_string_value(it));
  return op;
}

static const char *check_selection(json_t *o) {
  if (!json_is_object(o)) return "each emit must be a JSON object";
  if (check_names(json_object_get(o, "rooms"))) return "\"rooms\" must be a string or strings";
  if (check_names(json_object_get(o, "except"))) return "\"except\" must be a string or strings";
  json_t *vol = json_object_get(o, "volatile");
  if (vol && !json_is_boolean(vol)) return "\"volatile\" must be true or false";
  return NULL;
}

static sio_op *select_op(sio_nsp *nsp, json_t *o) {
  sio_op *op = sio_nsp_op(nsp);
  op = add_names(op, json_object_get(o, "rooms"), sio_op_to);
  op = add_names(op, json_object_get(o, "except"), sio_op_except);
  if (json_is_true(json_object_get(o, "volatile"))) op = sio_op_volatile(op);
  return op;
}

static int reserved(const char *ev) {
  static const char *const r[] = {"connect",     "connect_error",  "disconnect", "disconnecting",
                                  "newListener", "removeListener", NULL};
  for (int i = 0; r[i]; i++)
    if (!strcmp(ev, r[i])) return 1;
  return 0;
}

/* Checks one emit; fills it (args: a new reference). NULL or the reason. */
static const char *parse_emit(srv *s, json_t *o, emit_item *it) {
  const char *why = check_selection(o);
  if (why) return why;
  json_t *ev = json_object_get(o, "event");
  if (!json_is_string(ev) || !json_string_length(ev)) return "\"event\" must be a non-empty string";
  if (reserved(json_string_value(ev))) return "\"event\" is a reserved name";
  json_t *args = json_object_get(o, "args"), *data = json_object_get(o, "data");
  if (args && !json_is_array(args)) return "\"args\" must be an array";
  if (args && data) return "give \"args\" or \"data\", not both";
  it->nsp = pick_nsp(s, o, &why);
  if (why) return why;
  it->sel = o;
  it->event = json_string_value(ev);
  it->args = args ? json_incref(args) : data ? json_pack("[O]", data) : json_array();
  return it->args ? NULL : "out of memory";
}

/* --- requests with a JSON body
 * --------------------------------------------------------------------- */

typedef void (*body_fn)(srv *s, sio_req *req, sio_res *res, json_t *body);

typedef struct body_ctx {
  srv *s;
  body_fn fn;
} body_ctx;

static void on_body(sio_req *req, sio_res *res, int status, void *user) {
  body_ctx *b = user;
  srv *s = b->s;
  body_fn fn = b->fn;
  free(b);
  if (status == SIO_STATUS_CLIENT_GONE) {
    sio_res_end(res);
    return;
  }
  if (status == 413) {
    char why[96];
    snprintf(why, sizeof why, "the body is larger than api_max_body (%lld bytes)",
             (long long)s->cfg.api_max_body);
    api_error(s, res, 413, "body_too_large", why);
    return;
  }
  if (status) {
    api_error(s, res, status, "bad_request", "the body could not be read");
    return;
  }
  size_t len;
  const char *text = sio_req_body(req, &len);
  json_error_t je;
  json_t *v = json_loadb(text ? text : "", text ? len : 0, 0, &je);
  if (!v) {
    char why[300];
    snprintf(why, sizeof why, "invalid JSON at line %d, column %d: %s", je.line, je.column,
             je.text);
    api_error(s, res, 400, "invalid_json", why);
    return;
  }
  fn(s, req, res, v);
  json_decref(v);
}

static void with_body(srv *s, sio_req *req, sio_res *res, body_fn fn) {
  body_ctx *b = malloc(sizeof *b);
  if (!b) {
    api_error(s, res, 503, "unavailable", "out of memory");
    return;
  }
  b->s = s, b->fn = fn;
  if (sio_req_read_body(req, res, (size_t)s->cfg.api_max_body, on_body, b)) {
    free(b);
    api_error(s, res, 400, "bad_request", "the body could not be read");
  }
}

/* --- emits ------------------------------------------------------------------------------------ */

static void emit_items(srv *s, sio_res *res, json_t *list) {
  size_t n = json_array_size(list);
  if (!n) {
    api_error(s, res, 400, "empty_batch", "the batch holds no emit");
    return;
  }
  if (n > (size_t)s->cfg.api_max_batch) {
    char why[96];
    snprintf(why, sizeof why, "%zu emits; api_max_batch is %lld", n,
             (long long)s->cfg.api_max_batch);
    api_error(s, res, 413, "batch_too_large", why);
    return;
  }
  emit_item *items = calloc(n, sizeof *items);
  if (!items) {
    api_error(s, res, 503, "unavailable", "out of memory");
    return;
  }
  size_t i;
  const char *why = NULL;
  for (i = 0; i < n && !why; i++) why = parse_emit(s, json_array_get(list, i), &items[i]);
  if (why) {
    char msg[300];
    if (n > 1)
      snprintf(msg, sizeof msg, "emit %zu: %s", i - 1, why);
    else
      snprintf(msg, sizeof msg, "%s", why);
    api_error(s, res, 400, "invalid_emit", msg);
  } else {
    sio_io_stats before, after;
    sio_io_get_stats(s->io, &before);
    size_t failed = 0;
    for (i = 0; i < n; i++)
      if (items[i].nsp &&
          sio_op_emit_value(select_op(items[i].nsp, items[i].sel), items[i].event, items[i].args))
        failed++;
    sio_io_get_stats(s->io, &after);
    s->n.api_emits += n;
    api_json(s, res,
             json_pack("{s:b,s:I,s:I,s:I}", "ok", !failed, "emitted", (json_int_t)(n - failed),
                       "failed", (json_int_t)failed, "recipients",
                       (json_int_t)(after.broadcast_recipients - before.broadcast_recipients)));
  }
  for (i = 0; i < n; i++) json_decref(items[i].args);
  free(items);
}

static void do_emit(srv *s, sio_req *req, sio_res *res, json_t *body) {
  (void)req;
  if (json_is_array(body)) {
    emit_items(s, res, body);
    return;
  }
  json_t *one = json_pack("[O]", body);
  emit_items(s, res, one);
  json_decref(one);
}

static void do_batch(srv *s, sio_req *req, sio_res *res, json_t *body) {
  json_t *list = json_is_array(body) ? body : json_object_get(body, "emits");
  if (!json_is_array(list)) {
    api_error(s, res, 400, "invalid_batch", "send an array of emits or {\"emits\": [...]}");
    return;
  }
  do_emit(s, req, res, list);
}

static void on_emit(sio_req *req, sio_res *res, void *user) {
  with_body(user, req, res, do_emit);
}
static void on_batch(sio_req *req, sio_res *res, void *user) {
  with_body(user, req, res, do_batch);
}

/* --- socket operations --------------------------------------------------------------------------
 */

/* Parses the selection of a socket operation; the namespace, or NULL after answering. */
static sio_nsp *sockets_nsp(srv *s, sio_res *res, json_t *body) {
  const char *why = check_selection(body);
  sio_nsp *nsp = why ? NULL : pick_nsp(s, body, &why);
  if (why) api_error(s, res, strstr(why, "unknown namespace") ? 404 : 400, "invalid_request", why);
  if (!why && !nsp) api_json(s, res, json_pack("{s:b}", "ok", 1)); /* no such client here */
  return nsp;
}

static void do_join_leave(srv *s, sio_res *res, json_t *body, int join) {
  json_t *room = json_object_get(body, "room");
  if (!room || check_names(room) || (json_is_array(room) && !json_array_size(room))) {
    api_error(s, res, 400, "invalid_request", "\"room\" must be a room name or names");
    return;
  }
  sio_nsp *nsp = sockets_nsp(s, res, body);
  if (!nsp) return;
  size_t n = json_is_array(room) ? json_array_size(room) : 1;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *r = json_string_value(json_is_array(room) ? json_array_get(room, i) : room);
    sio_op *op = select_op(nsp, body);
    rc = join ? sio_sockets_join(op, r) : sio_sockets_leave(op, r);
  }
  if (rc)
    api_error(s, res, 500, "failed", sio_strerror(rc));
  else
    api_json(s, res, json_pack("{s:b}", "ok", 1));
}

static void do_join(srv *s, sio_req *req, sio_res *res, json_t *body) {
  (void)req;
  do_join_leave(s, res, body, 1);
}
static void do_leave(srv *s, sio_req *req, sio_res *res, json_t *body) {
  (void)req;
  do_join_leave(s, res, body, 0);
}

static void do_disconnect(srv *s, sio_req *req, sio_res *res, json_t *body) {
  (void)req;
  json_t *close = json_object_get(body, "close");
  if (close && !json_is_boolean(close)) {
    api_error(s, res, 400, "invalid_request", "\"close\" must be true or false");
    return;
  }
  sio_nsp *nsp = sockets_nsp(s, res, body);
  if (!nsp) return;
  int rc = sio_disconnect_sockets(select_op(nsp, body), json_is_true(close));
  if (rc)
    api_error(s, res, 500, "failed", sio_strerror(rc));
  else
    api_json(s, res, json_pack("{s:b}", "ok", 1));
}

static void on_join(sio_req *req, sio_res *res, void *user) {
  with_body(user, req, res, do_join);
}
static void on_leave(sio_req *req, sio_res *res, void *user) {
  with_body(user, req, res, do_leave);
}
static void on_disconnect(sio_req *req, sio_res *res, void *user) {
  with_body(user, req, res, do_disconnect);
}

/* --- listings -----------------------------------------------------------------------------------
 */

typedef struct list_ctx {
  srv *s;
  sio_res *res;
  sio_nsp *nsp;
} list_ctx;

static list_ctx *list_start(srv *s, sio_req *req, sio_res *res) {
  json_t *q = json_object();
  const char *nspq = sio_req_query(req, "nsp");
  if (nspq) json_object_set_new(q, "nsp", json_string(nspq));
  const char *why;
  sio_nsp *nsp = pick_nsp(s, q, &why);
  json_decref(q);
  if (why) {
    api_error(s, res, strstr(why, "unknown") ? 404 : 400, "invalid_request", why);
    return NULL;
  }
  list_ctx *c = malloc(sizeof *c);
  if (!c) api_error(s, res, 503, "unavailable", "out of memory");
  if (c) c->s = s, c->res = res, c->nsp = nsp;
  return c;
}

static json_t *names_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static void got_sockets(int status, const sio_remote_socket *so, size_t n, void *user) {
  list_ctx *c = user;
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *hs = json_loads(so[i].handshake_json ? so[i].handshake_json : "{}", 0, NULL);
    json_t *data = json_loads(so[i].data_json ? so[i].data_json : "{}", 0, NULL);
    json_array_append_new(list, json_pack("{s:s,s:o,s:o*,s:o*}", "id", so[i].id, "rooms",
                                          names_array(so[i].rooms, so[i].nrooms), "data", data,
                                          "handshake", hs));
  }
  json_t *out = json_pack("{s:o,s:I}", "sockets", list, "count", (json_int_t)n);
  if (status) json_object_set_new(out, "partial", json_string(sio_strerror(status)));
  api_json(c->s, c->res, out);
  free(c);
}

static void on_sockets(sio_req *req, sio_res *res, void *user) {
  srv *s = user;
  list_ctx *c = list_start(s, req, res);
  if (!c) return;
  if (!c->nsp) {
    got_sockets(0, NULL, 0, c);
    return;
  }
  sio_op *op = sio_nsp_op(c->nsp);
  const char *room = sio_req_query(req, "room");
  if (room) op = sio_op_to(op, room);
  int rc = sio_fetch_all_sockets(op, got_sockets, c);
  if (rc) {
    free(c);
    api_error(s, res, 500, "failed", sio_strerror(rc));
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void got_rooms(int status, const char *const *names, size_t n, void *user) {
  list_ctx *c = user;
  const char **keep = malloc((n ? n : 1) * sizeof *keep);
  size_t k = 0;
  for (size_t i = 0; keep && i < n; i++)
    if (!sio_nsp_socket(c->nsp, names[i])) keep[k++] = names[i]; /* not a socket's own room */
  if (keep) qsort(keep, k, sizeof *keep, cmp_str);
  json_t *out = json_pack("{s:o}", "rooms", names_array(keep, k));
  if (status) json_object_set_new(out, "partial", json_string(sio_strerror(status)));
  free(keep);
  api_json(c->s, c->res, out);
  free(c);
}

static void on_rooms(sio_req *req, sio_res *res, void *user) {
  srv *s = user;
  list_ctx *c = list_start(s, req, res);
  if (!c) return;
  if (!c->nsp) {
    got_rooms(0, NULL, 0, c);
    return;
  }
  int rc = sio_nsp_all_rooms(c->nsp, got_rooms, c);
  if (rc) {
    free(c);
    api_error(s, res, 500, "failed", sio_strerror(rc));
  }
}

/* --- routes ----------------------------------------------------------------------------------- */

static void wrong_method(sio_req *req, sio_res *res, void *user) {
  (void)req;
  sio_res_set_header(res, "Allow", "POST");
  api_error(user, res, 405, "method_not_allowed", "use POST");
}
static void wrong_method_get(sio_req *req, sio_res *res, void *user) {
  (void)req;
  sio_res_set_header(res, "Allow", "GET");
  api_error(user, res, 405, "method_not_allowed", "use GET");
}
static void not_found(sio_req *req, sio_res *res, void *user) {
  (void)req;
  api_error(user, res, 404, "not_found", "no such API endpoint (docs/server.md lists them)");
}

int srv_api_init(srv *s) {
  static const struct {
    const char *path;
    sio_handler_fn fn;
  } posts[] = {{"/api/emit", on_emit},
               {"/api/batch", on_batch},
               {"/api/sockets/join", on_join},
               {"/api/sockets/leave", on_leave},
               {"/api/sockets/disconnect", on_disconnect}};
  int rc = srv_api_reload(s);
  if (!rc) rc = sio_app_use(s->app, "/api", api_gate, s);
  for (size_t i = 0; !rc && i < sizeof posts / sizeof posts[0]; i++) {
    rc = sio_app_post(s->app, posts[i].path, posts[i].fn, s);
    if (!rc) rc = sio_app_all(s->app, posts[i].path, wrong_method, s);
  }
  if (!rc) rc = sio_app_get(s->app, "/api/sockets", on_sockets, s);
  if (!rc) rc = sio_app_all(s->app, "/api/sockets", wrong_method_get, s);
  if (!rc) rc = sio_app_get(s->app, "/api/rooms", on_rooms, s);
  if (!rc) rc = sio_app_all(s->app, "/api/rooms", wrong_method_get, s);
  if (!rc) rc = sio_app_all(s->app, "/api/*", not_found, s);
  return rc;
}

void srv_api_free(srv *s) {
  free(s->buckets);
  s->buckets = NULL;
  s->nbuckets = 0;
}
