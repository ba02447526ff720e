/* The request object (made from a parsed head), its accessors and what parses request data:
 * percent-decoding, query strings, cookies, trust proxy, reading the body, the JSON and urlencoded
 * body parsers, and CORS. Query, cookies and form fields are parsed on first access and kept with
 * the request. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "http/app_internal.h"
#include "http/negotiate.h"
#include "net/tls.h"

int sio__router_use_owned(sio_router *r, const char *prefix, sio_handler_fn fn, void *user,
                          void (*free_user)(void *));

/* Makes the request object of a connection's complete head (connection.c); copies the head; head
 * spans are offsets into buf. The header pointer arrays, the head's copy and the raw and decoded
 * paths share one allocation (req->hnames owns it): the path is part of the head, so the head's
 * length bounds it. */
sio_req *sio__req_new(sio__hconn *hc, const char *buf, size_t head_len) {
  sio__http_parser *p = &hc->p;
  sio_req *req = sio__objcache_get(&hc->app->req_cache);
  if (!req) return NULL;
  req->app = hc->app;
  req->hc = hc;
  size_t ptrs = (p->n_headers + 1) * sizeof(char *) * 2;
  req->hnames = sio__malloc(ptrs + 3 * (head_len + 1));
  if (!req->hnames) {
    sio__objcache_put(&hc->app->req_cache, req);
    return NULL;
  }
  req->hvalues = req->hnames + p->n_headers + 1;
  req->head = (char *)req->hnames + ptrs;
  memcpy(req->head, buf, head_len);
  req->head[head_len] = 0;
  req->head_len = head_len;
  char *h = req->head;
  /* Every piece is followed by a delimiter (SP, ':', CR, LF) that can become its NUL. */
  h[p->method.off + p->method.len] = 0;
  h[p->target.off + p->target.len] = 0;
  req->method = h + p->method.off;
  req->url = h + p->target.off;
  req->minor = p->minor;
  req->n_headers = p->n_headers;
  /* A value's terminator may be the CR/LF itself or trailing OWS: either may be overwritten,
   * but a name's ':' must be cut before its value is (the value never starts before it). */
  for (uint16_t i = 0; i < p->n_headers; i++) {
    const sio__http_header *hd = &p->headers[i];
    h[hd->name.off + hd->name.len] = 0;
    req->hnames[i] = h + hd->name.off;
  }
  for (uint16_t i = 0; i < p->n_headers; i++) {
    const sio__http_header *hd = &p->headers[i];
    h[hd->value.off + hd->value.len] = 0;
    req->hvalues[i] = h + hd->value.off;
  }
  /* path and query */
  const char *q = strchr(req->url, '?');
  size_t plen = q ? (size_t)(q - req->url) : strlen(req->url);
  req->query_raw = q ? q + 1 : "";
  req->path_raw = req->head + head_len + 1;
  memcpy(req->path_raw, req->url, plen);
  req->path_raw[plen] = 0;
  req->path_dec = req->path_raw + plen + 1;
  int bad;
  sio__pct_decode(req->path_raw, plen, req->path_dec, 0, &bad);
  if (bad) req->path_dec[0] = 0;
  req->body_done = p->body_done;
  req->res.req = req;
  req->res.status = 200;
  req->res.keep_alive = p->keep_alive && !hc->app->closing;
  req->res.head_only = strcmp(req->method, "HEAD") == 0;
  return req;
}

const char *sio_req_method(const sio_req *req) {
  return req->method;
}
const char *sio_req_url(const sio_req *req) {
  return req->url;
}
const char *sio_req_path(const sio_req *req) {
  return req->rel_path ? req->rel_path : req->path_raw;
}
int sio_req_http_minor(const sio_req *req) {
  return req->minor;
}
void sio_req_set_data(sio_req *req, void *data) {
  req->data = data;
}
void *sio_req_data(const sio_req *req) {
  return req->data;
}
void sio_res_set_data(sio_res *res, void *data) {
  res->req->data = data;
}
void *sio_res_data(const sio_res *res) {
  return res->req->data;
}
sio_app *sio_req_app(const sio_req *req) {
  return req->app;
}
int sio__req_is_head(const sio_req *req) {
  return strcmp(req->method, "HEAD") == 0;
}

const char *sio_req_header(const sio_req *req, const char *name) {
  for (uint16_t i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->hnames[i], name) == 0) return req->hvalues[i];
  return NULL;
}

int sio_req_header_at(const sio_req *req, size_t i, const char **name, const char **value) {
  if (i >= req->n_headers) return 0;
  *name = req->hnames[i];
  *value = req->hvalues[i];
  return 1;
}

const char *sio_req_param(const sio_req *req, const char *name) {
  for (int i = 0; i < req->nparams; i++)
    if (strcmp(req->params[i].name, name) == 0) return req->params[i].value;
  return NULL;
}

/* A kv array and its strings are one allocation (see parse_pairs). */
static void free_kvs(sio__kv *kv, int n) {
  (void)n;
  sio__free(kv);
}

/* Parses "a=1&b=2" (urlencoded: '+' is a space) into a kv array. One allocation holds the
 * array and every decoded string after it: decoding never lengthens, so `len` bytes plus two
 * terminators per pair always fit. At most 1000 pairs are kept, as qs' parameterLimit. */
static int parse_pairs(const char *s, size_t len, char sep, int plus, int trim, sio__kv **out,
                       int *nout) {
  size_t max = 1;
  for (const char *q = s; (q = memchr(q, sep, len - (size_t)(q - s))); q++) max++;
  if (max > 1000) max = 1000;
  *out = NULL;
  *nout = 0;
  sio__kv *kv = sio__malloc(max * sizeof(*kv) + len + 2 * max);
  if (!kv) return -1;
  char *str = (char *)(kv + max);
  size_t n = 0, i = 0;
  while (i < len && n < max) {
    size_t st = i;
    const char *e = memchr(s + i, sep, len - i);
    i = e ? (size_t)(e - s) : len;
    size_t en = i++;
    if (trim)
      while (st < en && (s[st] == ' ' || s[st] == '\t')) st++;
    if (en == st) continue;
    const char *eq = memchr(s + st, '=', en - st);
    size_t kl = eq ? (size_t)(eq - (s + st)) : en - st;
    const char *v = eq ? eq + 1 : s + en;
    size_t vl = eq ? (size_t)(s + en - v) : 0;
    if (trim)
      while (kl && (s[st + kl - 1] == ' ')) kl--;
    if (trim && vl >= 2 && v[0] == '"' && v[vl - 1] == '"') v++, vl -= 2;
    char *k = str;
    int bad;
    size_t dl = sio__pct_decode(s + st, kl, k, plus, &bad);
    if (bad) memcpy(k, s + st, kl), k[kl] = 0, dl = kl;
    str += dl + 1;
    char *val = str;
    dl = sio__pct_decode(v, vl, val, plus, &bad);
    if (bad) memcpy(val, v, vl), val[vl] = 0, dl = vl;
    str += dl + 1;
    kv[n].name = k;
    kv[n].value = val;
    n++;
  }
  *out = kv;
  *nout = (int)n;
  return 0;
}

static const char *kv_get(const sio__kv *kv, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(kv[i].name, name) == 0) return kv[i].value;
  return NULL;
}

const char *sio_req_query(const sio_req *creq, const char *name) {
  sio_req *req = (sio_req *)creq;
  if (!req->query_parsed) {
    req->query_parsed = 1;
    parse_pairs(req->query_raw, strlen(req->query_raw), '&', 1, 0, &req->query, &req->nquery);
  }
  return kv_get(req->query, req->nquery, name);
}

const char *sio_req_cookie(const sio_req *creq, const char *name) {
  sio_req *req = (sio_req *)creq;
  if (!req->cookies_parsed) {
    req->cookies_parsed = 1;
    const char *c = sio_req_header(req, "Cookie");
    if (c) parse_pairs(c, strlen(c), ';', 0, 1, &req->cookies, &req->ncookies);
  }
  return kv_get(req->cookies, req->ncookies, name);
}

const char *sio_req_form(const sio_req *req, const char *name) {
  return kv_get(req->form, req->nform, name);
}

const char *sio_req_ip(const sio_req *creq) {
  sio_req *req = (sio_req *)creq;
  if (req->ip[0]) return req->ip;
  const char *xff = req->app->opts.trust_proxy ? sio_req_header(req, "X-Forwarded-For") : NULL;
  if (xff) {
    /* the client is the left-most entry (every proxy is trusted, as Express' `true`) */
    while (*xff == ' ') xff++;
    size_t n = strcspn(xff, ", ");
    if (n >= sizeof(req->ip)) n = sizeof(req->ip) - 1;
    memcpy(req->ip, xff, n);
    req->ip[n] = 0;
    if (n) return req->ip;
  }
  int port;
  if (!req->hc || sio__conn_peer(req->hc->conn, req->ip, sizeof(req->ip), &port) < 0)
    req->ip[0] = 0;
  return req->ip;
}

const char *sio_req_protocol(const sio_req *creq) {
  sio_req *req = (sio_req *)creq;
  const char *p = req->app->opts.trust_proxy ? sio_req_header(req, "X-Forwarded-Proto") : NULL;
  if (!p) return req->hc && sio__conn_secure(req->hc->conn) ? "https" : "http";
  while (*p == ' ') p++;
  if (strncasecmp(p, "https", 5) == 0 && (p[5] == 0 || p[5] == ',' || p[5] == ' ')) return "https";
  return "http";
}

/* --- body ------------------------------------------------------------------------------------ */
const char *sio_req_body(const sio_req *req, size_t *len) {
  if (len) *len = req->body.len;
  return req->body.data ? req->body.data : "";
}

json_t *sio_req_json(const sio_req *req) {
  return req->json;
}

void sio__req_body_done(sio_req *req) {
  if (!req->body_cb_pending) return;
  req->body_cb_pending = 0;
  int status = req->body_error;
  if (!status && req->body.len > req->body_limit) status = 413;
  req->body_cb(req, &req->res, status, req->body_user);
}

int sio_req_read_body(sio_req *req, sio_res *res, size_t limit, sio_body_fn cb, void *user) {
  if (!cb) return -EINVAL;
  if (req->body_cb_pending) return -EALREADY;
  if (!limit || limit > req->app->opts.max_body_size) limit = req->app->opts.max_body_size;
  req->body_limit = limit;
  req->body_cb = cb;
  req->body_user = user;
  if (!req->body_done && !req->body_error && !req->hc) {
    /* the connection already went away (a handler reading the body later): the body never
     * comes, and the one callback says so */
    req->body_error = SIO_STATUS_CLIENT_GONE;
    req->body_reason = "Client closed request";
  }
  if (req->body_done || req->body_error) {
    req->body_cb_pending = 1;
    sio__req_body_done(req);
    return 0;
  }
  const char *cl = sio_req_header(req, "Content-Length");
  if (cl && strtoull(cl, NULL, 10) > limit) {
    res->keep_alive = 0; /* the body will not be read: close after the answer */
    cb(req, res, 413, user);
    return 0;
  }
  req->body_cb_pending = 1;
  return 0;
}

void sio__req_free(sio_req *req) {
  if (!req) return;
  sio__free(req->hnames); /* with the head and the paths (see new_request) */
  for (int i = 0; i < req->nparams; i++) {
    sio__free(req->params[i].name);
    sio__free(req->params[i].value);
  }
  free_kvs(req->query, req->nquery);
  free_kvs(req->cookies, req->ncookies);
  free_kvs(req->form, req->nform);
  sio__sbuf_free(&req->body);
  sio__sbuf_free(&req->res.head);
  if (req->json) json_decref(req->json);
  sio__objcache_put(&req->app->req_cache, req);
}

/* 1 if the request has a body to read (Content-Length > 0 or chunked). */
static int has_body(const sio_req *req) {
  const char *te = sio_req_header(req, "Transfer-Encoding");
  const char *cl = sio_req_header(req, "Content-Length");
  return te || (cl && strtoull(cl, NULL, 10) > 0);
}

static int type_is(const sio_req *req, const char *type, int plus_suffix) {
  const char *ct = sio_req_header(req, "Content-Type");
  if (!ct) return 0;
  size_t n = strcspn(ct, "; ");
  size_t tl = strlen(type);
  if (n == tl && strncasecmp(ct, type, tl) == 0) return 1;
  if (plus_suffix && n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) return 1;
  return 0;
}

static void on_json_body(sio_req *req, sio_res *res, int status, void *user) {
  if (status) {
    sio_next_error(req, res, status,
                   status == 413 && !req->body_error ? "Request body too large" : NULL);
    return;
  }
  json_error_t err;
  size_t len;
  const char *b = sio_req_body(req, &len);
  req->json = json_loadb(b, len, 0, &err);
  if (!req->json) {
    char msg[200];
    snprintf(msg, sizeof(msg), "Invalid JSON: %s", err.text);
    sio_next_error(req, res, 400, msg);
    return;
  }
  sio_next(req, res);
}

static void json_mw(sio_req *req, sio_res *res, void *user) {
  if (!has_body(req) || !type_is(req, "application/json", 1)) {
    sio_next(req, res);
    return;
  }
  sio_req_read_body(req, res, *(size_t *)user, on_json_body, NULL);
}

static void on_form_body(sio_req *req, sio_res *res, int status, void *user) {
  if (status) {
    sio_next_error(req, res, status,
                   status == 413 && !req->body_error ? "Request body too large" : NULL);
    return;
  }
  size_t len;
  const char *b = sio_req_body(req, &len);
  parse_pairs(b, len, '&', 1, 0, &req->form, &req->nform);
  sio_next(req, res);
}

static void form_mw(sio_req *req, sio_res *res, void *user) {
  if (!has_body(req) || !type_is(req, "application/x-www-form-urlencoded", 0)) {
    sio_next(req, res);
    return;
  }
  sio_req_read_body(req, res, *(size_t *)user, on_form_body, NULL);
}

static int use_body_parser(sio_app *app, size_t limit, sio_handler_fn fn) {
  size_t *l = sio__malloc(sizeof(size_t));
  if (!l) return -ENOMEM;
  *l = limit ? limit : 100 * 1024;
  int r = sio__router_use_owned(app->root, NULL, fn, l, sio__free);
  if (r < 0) sio__free(l);
  return r;
}

int sio_app_use_json(sio_app *app, size_t limit) {
  return use_body_parser(app, limit, json_mw);
}
int sio_app_use_urlencoded(sio_app *app, size_t limit) {
  return use_body_parser(app, limit, form_mw);
}

/* --- CORS ---------------------------------------------------------------------------------
 * The policy is negotiate.c's (sio__cors_apply); the middleware owns its strings. Only an
 * OPTIONS with Access-Control-Request-Method is a preflight here: the router answers the
 * other OPTIONS requests (204 with Allow). */
typedef struct cors {
  sio__cors policy;
  char *origin, *methods, *headers;
} cors;

static void cors_free(void *p) {
  cors *c = p;
  sio__free(c->origin);
  sio__free(c->methods);
  sio__free(c->headers);
  sio__free(c);
}

static void cors_mw(sio_req *req, sio_res *res, void *user) {
  cors *c = user;
  if (!sio__cors_apply(&c->policy, req, res)) sio_next(req, res);
}

int sio_app_use_cors(sio_app *app, const char *prefix, const sio_cors_opts *opts) {
  cors *c = sio__calloc(1, sizeof(*c));
  if (!c) return -ENOMEM;
  c->origin = sio__strdup(opts && opts->origin ? opts->origin : "*");
  c->methods = sio__strdup(opts && opts->methods ? opts->methods : SIO__CORS_METHODS);
  c->headers = opts && opts->allowed_headers ? sio__strdup(opts->allowed_headers) : NULL;
  c->policy = (sio__cors){.origin = c->origin,
                          .methods = c->methods,
                          .allowed_headers = c->headers,
                          .credentials = opts ? opts->credentials : 0,
                          .max_age = opts ? opts->max_age : 0};
  if (!c->origin || !c->methods || (opts && opts->allowed_headers && !c->headers)) {
    cors_free(c);
    return -ENOMEM;
  }
  int r = sio__router_use_owned(app->root, prefix, cors_mw, c, cors_free);
  if (r < 0) cors_free(c);
  return r;
}
