/* Routing: a router is an ordered list of layers (middleware under a prefix, routes with a
 * method and a pattern, mounted child routers), walked in order as Express does. The walk's
 * state lives in the request (a stack of frames, one per mounted router entered), so that a
 * middleware may call sio_next() later, from another callback.
 *
 * Patterns: literal text, ":name" (one path segment, percent-decoded into a param), ":name?"
 * (optional: "/users/:id?" matches "/users" too), and "*" (the rest of the path, as param "*"). A
 * trailing slash in the path is tolerated ("/a/" matches
 * "/a"). When no route answers but some route matched the path with another method, the answer
 * is 405 with Allow (OPTIONS gets 204 with Allow); otherwise 404. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "http/app_internal.h"

sio_router *sio_router_new(void) {
  return sio__calloc(1, sizeof(sio_router));
}

void sio__router_free_layers(sio_router *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    sio__layer *l = &r->layers[i];
    sio__free(l->method);
    sio__free(l->pattern);
    if (l->child) {
      sio__router_free_layers(l->child);
      sio__free(l->child);
    }
    if (l->free_user) l->free_user(l->user);
  }
  sio__free(r->layers);
  r->layers = NULL;
  r->n = r->cap = 0;
}

void sio_router_free(sio_router *r) {
  sio__router_free_layers(r);
  sio__free(r);
}

static char *norm_prefix(const char *prefix) {
  if (!prefix) prefix = "";
  size_t n = strlen(prefix);
  while (n > 0 && prefix[n - 1] == '/') n--;
  return sio__strndup(prefix, n);
}

static sio__layer *add_layer(sio_router *r) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    sio__layer *n = sio__realloc(r->layers, cap * sizeof(*n));
    if (!n) return NULL;
    r->layers = n;
    r->cap = cap;
  }
  sio__layer *l = &r->layers[r->n];
  memset(l, 0, sizeof(*l));
  return l;
}

int sio__router_use_owned(sio_router *r, const char *prefix, sio_handler_fn fn, void *user,
                          void (*free_user)(void *)) {
  if (!r || !fn) return -EINVAL;
  sio__layer *l = add_layer(r);
  char *p = norm_prefix(prefix);
  if (!l || !p) {
    sio__free(p);
    return -ENOMEM;
  }
  l->kind = LAYER_USE;
  l->pattern = p;
  l->fn = fn;
  l->user = user;
  l->free_user = free_user;
  r->n++;
  return 0;
}

int sio_use(sio_router *r, const char *prefix, sio_handler_fn fn, void *user) {
  return sio__router_use_owned(r, prefix, fn, user, NULL);
}

int sio_route(sio_router *r, const char *method, const char *pattern, sio_handler_fn fn,
              void *user) {
  if (!r || !fn || !pattern) return -EINVAL;
  sio__layer *l = add_layer(r);
  if (!l) return -ENOMEM;
  l->kind = LAYER_ROUTE;
  l->method = method ? sio__strdup(method) : NULL;
  l->pattern = sio__strdup(pattern[0] ? pattern : "/");
  if ((method && !l->method) || !l->pattern) {
    sio__free(l->method);
    sio__free(l->pattern);
    return -ENOMEM;
  }
  l->fn = fn;
  l->user = user;
  r->n++;
  return 0;
}

int sio_mount(sio_router *r, const char *prefix, sio_router *child) {
  if (!r || !child || r == child) return -EINVAL;
  sio__layer *l = add_layer(r);
  char *p = norm_prefix(prefix);
  if (!l || !p) {
    sio__free(p);
    return -ENOMEM;
  }
  l->kind = LAYER_MOUNT;
  l->pattern = p;
  l->child = child;
  r->n++;
  return 0;
}

int sio_app_use(sio_app *app, const char *prefix, sio_handler_fn fn, void *user) {
  return sio_use(app->root, prefix, fn, user);
}
int sio_app_get(sio_app *app, const char *p, sio_handler_fn fn, void *user) {
  return sio_route(app->root, "GET", p, fn, user);
}
int sio_app_post(sio_app *app, const char *p, sio_handler_fn fn, void *user) {
  return sio_route(app->root, "POST", p, fn, user);
}
int sio_app_put(sio_app *app, const char *p, sio_handler_fn fn, void *user) {
  return sio_route(app->root, "PUT", p, fn, user);
}
int sio_app_delete(sio_app *app, const char *p, sio_handler_fn fn, void *user) {
  return sio_route(app->root, "DELETE", p, fn, user);
}
int sio_app_all(sio_app *app, const char *p, sio_handler_fn fn, void *user) {
  return sio_route(app->root, NULL, p, fn, user);
}

/* "/api" matches "/api", "/api/x", not "/apix"; "" matches everything. */
int sio__path_prefix_match(const char *path, const char *prefix, size_t plen) {
  if (plen == 0) return 1;
  return strncmp(path, prefix, plen) == 0 && (path[plen] == '/' || path[plen] == 0);
}

static void clear_params(sio_req *req) {
  for (int i = 0; i < req->nparams; i++) {
    sio__free(req->params[i].name);
    sio__free(req->params[i].value);
  }
  req->nparams = 0;
}

static int add_param(sio_req *req, const char *name, size_t nlen, const char *v, size_t vlen) {
  if (req->nparams >= SIO__MAX_PARAMS) return -1;
  char *n = sio__strndup(name, nlen);
  char *val = sio__malloc(vlen + 1);
  if (!n || !val) {
    sio__free(n);
    sio__free(val);
    return -1;
  }
  int bad;
  sio__pct_decode(v, vlen, val, 0, &bad);
  if (bad) {
    memcpy(val, v, vlen);
    val[vlen] = 0;
  }
  req->params[req->nparams].name = n;
  req->params[req->nparams].value = val;
  req->nparams++;
  return 0;
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* 1 if p is ":name?" (an optional parameter); *end is set past the '?'. */
static int optional_param(const char *p, const char **end) {
  if (*p != ':') return 0;
  p++;
  while (is_name_char(*p)) p++;
  if (*p != '?') return 0;
  *end = p + 1;
  return 1;
}

static int match_pattern(sio_req *req, const char *p, const char *s) {
  clear_params(req);
  while (*p) {
    const char *after;
    /* "/:name?" may be left out entirely when the path ends here */
    if (*p == '/' && optional_param(p + 1, &after) && (*s == 0 || (s[0] == '/' && s[1] == 0))) {
      p = after;
      continue;
    }
    if (*p == '*') {
      return add_param(req, "*", 1, s, strlen(s)) == 0;
    }
    if (*p == ':') {
      const char *name = ++p;
      while (is_name_char(*p)) p++;
      size_t nlen = (size_t)(p - name);
      int opt = *p == '?';
      if (opt) p++;
      const char *v = s;
      while (*s && *s != '/') s++;
      if (s == v) {
        if (opt) continue;
        return 0;
      }
      if (add_param(req, name, nlen, v, (size_t)(s - v)) < 0) return 0;
      continue;
    }
    if (*p != *s) return 0;
    p++;
    s++;
  }
  return *s == 0 || (s[0] == '/' && s[1] == 0);
}

static void add_allow(sio_req *req, const char *method) {
  const char *m = method ? method : "*";
  size_t n = strlen(req->allow), ml = strlen(m);
  /* already listed? */
  const char *a = req->allow;
  while (*a) {
    const char *e = strchr(a, ',');
    size_t l = e ? (size_t)(e - a) : strlen(a);
    if (l == ml && strncmp(a, m, l) == 0) return;
    a += l + (e ? 2 : 0);
    if (!e) break;
  }
  if (n + ml + 3 >= sizeof(req->allow)) return;
  if (n) {
    strcat(req->allow, ", ");
  }
  strcat(req->allow, m);
}

static void finish_unmatched(sio_req *req, sio_res *res) {
  req->stage = 2;
  if (req->allow[0]) {
    if (strstr(req->allow, "GET") && !strstr(req->allow, "HEAD")) add_allow(req, "HEAD");
    sio_res_set_header(res, "Allow", req->allow);
    if (strcmp(req->method, "OPTIONS") == 0) {
      sio_res_status(res, 204);
      sio_res_end(res);
      return;
    }
    sio_next_error(req, res, 405, "Method Not Allowed");
    return;
  }
  char msg[300];
  snprintf(msg, sizeof(msg), "Cannot %s %.256s", req->method, req->path_raw);
  sio_next_error(req, res, 404, msg);
}

static void run_chain(sio_req *req, sio_res *res) {
  while (req->nframes > 0) {
    if (res->finished) return;
    sio__frame *f = &req->frames[req->nframes - 1];
    if (f->idx >= f->r->n) {
      req->nframes--;
      continue;
    }
    sio__layer *l = &f->r->layers[f->idx++];
    const char *path = req->path_raw + f->base;
    req->rel_path = *path ? path : "/";
    size_t plen;
    switch (l->kind) {
    case LAYER_USE:
      plen = strlen(l->pattern);
      if (!sio__path_prefix_match(path, l->pattern, plen)) continue;
      if (plen) {
        const char *rp = path + plen;
        req->rel_path = *rp ? rp : "/";
      }
      l->fn(req, res, l->user);
      return;
    case LAYER_MOUNT:
      plen = strlen(l->pattern);
      if (!sio__path_prefix_match(path, l->pattern, plen)) continue;
      if (req->nframes >= SIO__MAX_MOUNT_DEPTH) continue;
      req->frames[req->nframes].r = l->child;
      req->frames[req->nframes].idx = 0;
      req->frames[req->nframes].base = f->base + plen;
      req->nframes++;
      continue;
    case LAYER_ROUTE:
      if (!match_pattern(req, l->pattern, req->rel_path)) continue;
      if (l->method && strcmp(l->method, req->method) != 0 &&
          !(strcmp(req->method, "HEAD") == 0 && strcmp(l->method, "GET") == 0)) {
        add_allow(req, l->method);
        continue;
      }
      l->fn(req, res, l->user);
      return;
    }
  }
  if (req->stage == 1) finish_unmatched(req, res);
}

void sio__dispatch(sio_req *req, sio_res *res) {
  const sio__hook *ic = sio__app_find_intercept(req->app, req->path_raw);
  if (ic) {
    req->stage = 0;
    ((sio_handler_fn)ic->fn)(req, res, ic->user);
    return;
  }
  sio_next(req, res);
}

void sio_next(sio_req *req, sio_res *res) {
  if (req->stage == 2 || res->finished) return;
  if (req->stage == 0 && req->nframes == 0) {
    req->stage = 1;
    req->frames[0].r = req->app->root;
    req->frames[0].idx = 0;
    req->frames[0].base = 0;
    req->nframes = 1;
  }
  req->stage = 1;
  run_chain(req, res);
}

static void html_escape(sio__sbuf *s, const char *t) {
  for (; *t; t++) {
    switch (*t) {
    case '<':
      sio__sbuf_appends(s, "&lt;");
      break;
    case '>':
      sio__sbuf_appends(s, "&gt;");
      break;
    case '&':
      sio__sbuf_appends(s, "&amp;");
      break;
    case '"':
      sio__sbuf_appends(s, "&quot;");
      break;
    case '\'':
      sio__sbuf_appends(s, "&#39;");
      break;
    default:
      sio__sbuf_appendc(s, *t);
    }
  }
}

/* The default error page: JSON when the client prefers it, else a small HTML page. */
void sio__error_page(sio_req *req, sio_res *res, int status, const char *message) {
  if (res->headers_sent) {
    sio_res_end(res);
    return;
  }
  if (!message || !*message) message = sio_http_reason(status);
  sio_res_status(res, status);
  const char *accept = sio_req_header(req, "Accept");
  if (accept && strstr(accept, "json") && !strstr(accept, "html")) {
    json_t *j = json_pack("{s:i,s:s}", "status", status, "message", message);
    sio_res_json(res, j);
    json_decref(j);
    return;
  }
  sio__sbuf s = SIO__SBUF_INIT;
  sio__sbuf_printf(&s,
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>%d %s"
                   "</title></head>\n<body><h1>%d %s</h1>\n<pre>",
                   status, sio_http_reason(status), status, sio_http_reason(status));
  html_escape(&s, message);
  sio__sbuf_appends(&s, "</pre></body>\n</html>\n");
  sio_res_set_header(res, "Content-Type", "text/html; charset=utf-8");
  sio_res_set_header(res, "X-Content-Type-Options", "nosniff");
  if (s.oom)
    sio_res_send(res, "error\n", 6);
  else
    sio_res_send(res, s.data, s.len);
  sio__sbuf_free(&s);
}

void sio_next_error(sio_req *req, sio_res *res, int status, const char *message) {
  if (res->finished) return;
  req->stage = 2;
  if (status < 400 || status > 599) status = 500;
  if (!message && req->body_error == status && req->body_reason) message = req->body_reason;
  if (res->headers_sent) { /* too late for an error page: cut the response */
    res->keep_alive = 0;
    if (req->hc) {
      req->hc->closing = 1;
      sio__conn_close(req->hc->conn);
    }
    return;
  }
  if (req->app->on_error)
    req->app->on_error(req, res, status, message, req->app->error_user);
  else
    sio__error_page(req, res, status, message);
}
