/* httptest: a server exercising the HTTP API, driven by tests/interop/http.test.mjs.
 *
 *   httptest --port N [--root DIR] [--max-body N] [--header-timeout MS]
 *            [--keepalive-timeout MS] [--max-connections N] [--shutdown-timeout MS]
 *
 * Prints "listening on http://127.0.0.1:PORT/" (flushed) once ready; SIGINT/SIGTERM shut it
 * down gracefully (exit status 0). Every route below is there for one test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/http.h"

static char root[1024] = "";
static char views[1024] = "";
static int closed_count = 0;

static void on_hello(sio_req *req, sio_res *res, void *u) {
  sio_res_text(res, "hello");
}

static void on_city(sio_req *req, sio_res *res, void *u) {
  sio_res_jsonf(res, "{s:s}", "id", sio_req_param(req, "id"));
}

static void on_query(sio_req *req, sio_res *res, void *u) {
  const char *q = sio_req_query(req, "q"), *x = sio_req_query(req, "x");
  sio_res_jsonf(res, "{s:s?,s:s?,s:s}", "q", q, "x", x, "path", sio_req_path(req));
}

static void on_echo_body(sio_req *req, sio_res *res, int status, void *u) {
  if (status) {
    sio_next_error(req, res, status, NULL);
    return;
  }
  size_t n;
  const char *b = sio_req_body(req, &n);
  sio_res_set_header(res, "Content-Type", "application/octet-stream");
  sio_res_send(res, b, n);
}

static void on_echo(sio_req *req, sio_res *res, void *u) {
  sio_req_read_body(req, res, 0, on_echo_body, NULL);
}

static void on_json(sio_req *req, sio_res *res, void *u) {
  json_t *j = sio_req_json(req);
  if (!j) {
    sio_res_status(res, 415);
    sio_res_text(res, "no json");
    return;
  }
  sio_res_json(res, j);
}

static void on_form(sio_req *req, sio_res *res, void *u) {
  const char *n = sio_req_form(req, "name");
  sio_res_text(res, n ? n : "(none)");
}

static void on_cookie(sio_req *req, sio_res *res, void *u) {
  sio_cookie_opts o = {.max_age = 60, .http_only = 1, .same_site = "Lax"};
  sio_res_cookie(res, "seen", "yes & more", &o);
  const char *a = sio_req_cookie(req, "a");
  sio_res_text(res, a ? a : "(none)");
}

typedef struct later {
  uv_timer_t t;
  sio_res *res;
  int gone;
} later;

static void later_closed(uv_handle_t *h) {
  free(h->data);
}
static void on_later(uv_timer_t *t) {
  later *l = t->data;
  if (!l->gone) sio_res_jsonf(l->res, "{s:b}", "async", 1);
  uv_close((uv_handle_t *)t, later_closed);
}
static void on_later_gone(sio_res *res, void *u) {
  later *l = u;
  l->gone = 1;
  closed_count++;
}

/* Answers after ?ms= milliseconds (default 50). */
static void on_async(sio_req *req, sio_res *res, void *u) {
  later *l = calloc(1, sizeof(*l));
  const char *ms = sio_req_query(req, "ms");
  l->res = res;
  uv_timer_init(sio_app_loop(sio_req_app(req)), &l->t);
  l->t.data = l;
  sio_res_on_close(res, on_later_gone, l);
  uv_timer_start(&l->t, on_later, ms ? strtoull(ms, NULL, 10) : 50, 0);
}

/* Like /async but without sio_res_on_close: the answer may come after the client left. */
typedef struct blind {
  uv_timer_t t;
  sio_res *res;
} blind;
static void on_blind(uv_timer_t *t) {
  blind *b = t->data;
  sio_res_jsonf(b->res, "{s:b}", "blind", 1);
  uv_close((uv_handle_t *)t, later_closed);
}
static void on_async_blind(sio_req *req, sio_res *res, void *u) {
  blind *b = calloc(1, sizeof(*b));
  const char *ms = sio_req_query(req, "ms");
  b->res = res;
  uv_timer_init(sio_app_loop(sio_req_app(req)), &b->t);
  b->t.data = b;
  uv_timer_start(&b->t, on_blind, ms ? strtoull(ms, NULL, 10) : 50, 0);
}

static void on_closed_count(sio_req *req, sio_res *res, void *u) {
  sio_res_jsonf(res, "{s:i}", "closed", closed_count);
}

static void on_stream(sio_req *req, sio_res *res, void *u) {
  sio_res_set_header(res, "Content-Type", "text/plain");
  for (int i = 0; i < 5; i++) {
    char line[32];
    int n = snprintf(line, sizeof(line), "line %d\n", i);
    sio_res_write(res, line, (size_t)n);
  }
  sio_res_end(res);
}

static void on_fail(sio_req *req, sio_res *res, void *u) {
  sio_next_error(req, res, 500, "something broke");
}

static void on_teapot(sio_req *req, sio_res *res, void *u) {
  sio_res_send_status(res, 418);
}
static void on_redirect(sio_req *req, sio_res *res, void *u) {
  sio_res_redirect(res, 0, "/");
}
static void on_ip(sio_req *req, sio_res *res, void *u) {
  char t[128];
  snprintf(t, sizeof(t), "%s %s", sio_req_protocol(req), sio_req_ip(req));
  sio_res_text(res, t);
}

static void on_sendfile(sio_req *req, sio_res *res, void *u) {
  char p[1100];
  snprintf(p, sizeof(p), "%s/index.html", root);
  sio_res_send_file(res, p);
}

static void on_item(sio_req *req, sio_res *res, void *u) {
  sio_res_jsonf(res, "{s:s,s:s}", "n", sio_req_param(req, "n"), "path", sio_req_path(req));
}

static void on_opt(sio_req *req, sio_res *res, void *u) {
  const char *id = sio_req_param(req, "id");
  sio_res_text(res, id ? id : "(none)");
}

static void on_wild(sio_req *req, sio_res *res, void *u) {
  sio_res_text(res, sio_req_param(req, "*"));
}

static void mw_tag(sio_req *req, sio_res *res, void *u) {
  sio_res_set_header(res, "X-Middleware", "ran");
  sio_next(req, res);
}

static void intercept(sio_req *req, sio_res *res, void *u) {
  if (sio_req_query(req, "pass")) {
    sio_next(req, res);
    return;
  }
  sio_res_text(res, "intercepted");
}

static void on_render(sio_req *req, sio_res *res, void *u) {
  json_t *data = json_pack("{s:s,s:[{s:s},{s:s}],s:b}", "title", "<Storms>", "cities", "name",
                           "Oslo", "name", "Lima", "warn", 0);
  sio_res_render(res, sio_req_param(req, "view"), data);
  json_decref(data);
}

static void on_got(sio_req *req, sio_res *res, void *u) {
  sio_res_text(res, "router");
}

static void on_error(sio_req *req, sio_res *res, int status, const char *msg, void *u) {
  sio_res_status(res, status);
  sio_res_set_header(res, "X-Error-Handler", "1");
  sio_res_jsonf(res, "{s:i,s:s}", "status", status, "error", msg ? msg : "");
}

int main(int argc, char **argv) {
  sio_app_opts o = sio_app_opts_default();
  o.handle_signals = 1;
  o.trust_proxy = 1;
  o.host = "127.0.0.1";
  int custom_errors = 0;
  for (int i = 1; i + 1 < argc || (i < argc && !strcmp(argv[i], "--custom-errors")); i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--custom-errors")) {
      custom_errors = 1;
      continue;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--port"))
      o.port = atoi(v), o.port_any = o.port == 0;
    else if (!strcmp(a, "--root"))
      snprintf(root, sizeof(root), "%s", v);
    else if (!strcmp(a, "--max-body"))
      o.max_body_size = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--header-timeout"))
      o.header_timeout_ms = (uint32_t)atoi(v);
    else if (!strcmp(a, "--keepalive-timeout"))
      o.keepalive_timeout_ms = (uint32_t)atoi(v);
    else if (!strcmp(a, "--max-connections"))
      o.max_connections = atoi(v);
    else if (!strcmp(a, "--shutdown-timeout"))
      o.shutdown_timeout_ms = (uint32_t)atoi(v);
    else if (!strcmp(a, "--host"))
      o.host = v;
    else if (!strcmp(a, "--views"))
      snprintf(views, sizeof(views), "%s", v);
  }
  uv_loop_t *loop = uv_default_loop();
  sio_app *app = sio_app_new(loop, &o);
  if (custom_errors) sio_app_on_error(app, on_error, NULL);
  sio_cors_opts cors = {
      .origin = "http://a.example,http://b.example", .credentials = 1, .max_age = 600};
  sio_app_use_cors(app, "/cors", &cors);
  sio_app_use_json(app, 1024);
  sio_app_use_urlencoded(app, 0);
  sio_app_use(app, "/mw", mw_tag, NULL);
  sio_app_intercept(app, "/intercepted/", intercept, NULL);
  sio_app_get(app, "/intercepted/x", on_got, NULL);
  sio_app_get(app, "/", on_hello, NULL);
  sio_app_get(app, "/api/cities/:id", on_city, NULL);
  sio_app_get(app, "/query", on_query, NULL);
  sio_app_post(app, "/echo", on_echo, NULL);
  sio_app_put(app, "/echo", on_echo, NULL);
  sio_app_post(app, "/json", on_json, NULL);
  sio_app_post(app, "/form", on_form, NULL);
  sio_app_get(app, "/cookie", on_cookie, NULL);
  sio_app_get(app, "/async", on_async, NULL);
  sio_app_get(app, "/closed-count", on_closed_count, NULL);
  sio_app_get(app, "/async-blind", on_async_blind, NULL);
  sio_app_get(app, "/stream", on_stream, NULL);
  sio_app_get(app, "/fail", on_fail, NULL);
  sio_app_get(app, "/teapot", on_teapot, NULL);
  sio_app_get(app, "/redirect", on_redirect, NULL);
  sio_app_get(app, "/ip", on_ip, NULL);
  sio_app_get(app, "/mw/x", on_hello, NULL);
  sio_app_get(app, "/cors/data", on_hello, NULL);
  sio_app_get(app, "/wild/*", on_wild, NULL);
  sio_app_get(app, "/opt/:id?", on_opt, NULL);
  sio_app_delete(app, "/api/cities/:id", on_city, NULL);
  sio_router *v2 = sio_router_new();
  sio_route(v2, "GET", "/items/:n", on_item, NULL);
  sio_app_get(app, "/sendfile", on_sendfile, NULL);
  sio_mount(sio_app_router(app), "/api/v2", v2);
  if (root[0]) sio_app_static(app, "/static", root, NULL);
  if (views[0]) sio_app_views(app, views);
  sio_app_get(app, "/render/:view", on_render, NULL);
  int r = sio_app_listen(app);
  if (r < 0) {
    fprintf(stderr, "httptest: listen: %s\n", sio_strerror(r));
    return 1;
  }
  printf("listening on http://127.0.0.1:%d/\n", sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}
