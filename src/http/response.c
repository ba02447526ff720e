/* The response writer: status, headers, cookies, and the body forms (send, text, JSON, status,
 * redirect, render, streaming with write/end).
 *
 * Headers accumulate as "Name: value\r\n" lines in res->head and go out, with the status line,
 * the cached Date and the framing headers, in front of the first body bytes. A body given whole
 * is framed with Content-Length and leaves in one write together with the head; a streamed body
 * without a length uses chunked coding on HTTP/1.1 and close-delimiting on HTTP/1.0. HEAD
 * responses carry the headers a GET would, without the body; 204 and 304 carry no body and
 * no Content-Length. Header values with CR, LF or NUL are refused (no response splitting). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "http/app_internal.h"
#include "http/template.h"

const char *sio_http_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Payload Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 426:
    return "Upgrade Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "";
  }
}

void sio_res_status(sio_res *res, int status) {
  if (status >= 100 && status <= 999) res->status = status;
}

static int valid_name(const char *n) {
  if (!*n) return 0;
  for (; *n; n++)
    if (!sio__http_is_tchar((unsigned char)*n)) return 0;
  return 1;
}

static int valid_value(const char *v) {
  for (; *v; v++)
    if (*v == '\r' || *v == '\n') return 0;
  return 1;
}

/* Finds the line of header `name` in res->head: start offset, or -1. */
static long find_line(sio_res *res, const char *name, size_t *line_len) {
  size_t nl = strlen(name), i = 0;
  while (i < res->head.len) {
    const char *l = res->head.data + i;
    const char *e = memchr(l, '\n', res->head.len - i);
    size_t ll = e ? (size_t)(e - l) + 1 : res->head.len - i;
    if (ll > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0) {
      *line_len = ll;
      return (long)i;
    }
    i += ll;
  }
  return -1;
}

void sio__res_remove_header(sio_res *res, const char *name) {
  size_t ll;
  long at;
  while ((at = find_line(res, name, &ll)) >= 0) {
    memmove(res->head.data + at, res->head.data + at + ll, res->head.len - (size_t)at - ll);
    res->head.len -= ll;
    res->head.data[res->head.len] = 0;
  }
}

const char *sio__res_get_header(sio_res *res, const char *name, char *buf, size_t buflen) {
  size_t ll;
  long at = find_line(res, name, &ll);
  if (at < 0) return NULL;
  const char *v = res->head.data + at + strlen(name) + 1;
  while (*v == ' ') v++;
  size_t n = (size_t)(res->head.data + at + ll - v);
  while (n && (v[n - 1] == '\n' || v[n - 1] == '\r')) n--;
  if (n >= buflen) n = buflen - 1;
  memcpy(buf, v, n);
  buf[n] = 0;
  return buf;
}

static void note_header(sio_res *res, const char *name, const char *value) {
  if (strcasecmp(name, "Content-Type") == 0) res->has_type = 1;
  if (strcasecmp(name, "Content-Length") == 0) {
    res->has_length = 1;
    res->declared_length = strtoull(value, NULL, 10);
  }
  if (strcasecmp(name, "Connection") == 0 && sio__http_list_has(value, strlen(value), "close"))
    res->keep_alive = 0;
}

int sio_res_append_header(sio_res *res, const char *name, const char *value) {
  if (res->headers_sent) return -EALREADY;
  if (!valid_name(name) || !value || !valid_value(value)) return -EINVAL;
  sio__sbuf_printf(&res->head, "%s: %s\r\n", name, value);
  if (res->head.oom) return -ENOMEM;
  note_header(res, name, value);
  return 0;
}

int sio_res_set_header(sio_res *res, const char *name, const char *value) {
  if (res->headers_sent) return -EALREADY;
  if (!valid_name(name) || !value || !valid_value(value)) return -EINVAL;
  if (strcasecmp(name, "Set-Cookie") != 0) {
    sio__res_remove_header(res, name);
    if (strcasecmp(name, "Content-Type") == 0) res->has_type = 0;
    if (strcasecmp(name, "Content-Length") == 0) res->has_length = 0;
  }
  return sio_res_append_header(res, name, value);
}

static int cookie_char_ok(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x21 || *s == ';' || *s == ',' || *s == 0x7f) return 0;
  return 1;
}

int sio_res_cookie(sio_res *res, const char *name, const char *value, const sio_cookie_opts *o) {
  if (!valid_name(name) || !value) return -EINVAL;
  sio__sbuf s = SIO__SBUF_INIT;
  sio__sbuf_printf(&s, "%s=", name);
  /* values are percent-encoded as Express' encodeURIComponent does */
  for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
    if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
        strchr("-_.!~*'()", *v))
      sio__sbuf_appendc(&s, (char)*v);
    else
      sio__sbuf_printf(&s, "%%%02X", *v);
  }
  const char *path = o && o->path ? o->path : "/";
  if (!cookie_char_ok(path) || (o && o->domain && !cookie_char_ok(o->domain))) {
    sio__sbuf_free(&s);
    return -EINVAL;
  }
  sio__sbuf_printf(&s, "; Path=%s", path);
  if (o && o->domain) sio__sbuf_printf(&s, "; Domain=%s", o->domain);
  if (o && o->max_age != 0) {
    char date[64];
    int age = o->max_age > 0 ? o->max_age : 0;
    time_t t = age ? time(NULL) + age : 0;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    sio__sbuf_printf(&s, "; Max-Age=%d; Expires=%s", age, date);
  }
  if (o && o->http_only) sio__sbuf_appends(&s, "; HttpOnly");
  if (o && o->secure) sio__sbuf_appends(&s, "; Secure");
  if (o && o->same_site && cookie_char_ok(o->same_site))
    sio__sbuf_printf(&s, "; SameSite=%s", o->same_site);
  int r = s.oom ? -ENOMEM : sio_res_append_header(res, "Set-Cookie", s.data);
  sio__sbuf_free(&s);
  return r;
}

static int body_forbidden(const sio_res *res) {
  return res->status == 204 || res->status == 304 || (res->status >= 100 && res->status < 200);
}

/* Appends the status line and every header to s; length < 0 means streamed. */
static void build_head(sio_res *res, sio__sbuf *s, int64_t length) {
  sio_req *req = res->req;
  sio__sbuf_printf(s, "HTTP/1.1 %d %s\r\n", res->status, sio_http_reason(res->status));
  if (res->req->hc) sio__sbuf_appends(s, sio__app_date(req->app));
  const char *hsts = req->app->https ? sio__https_hsts(req) : NULL;
  if (hsts) sio__sbuf_appends(s, hsts);
  if (res->head.len) sio__sbuf_append(s, res->head.data, res->head.len);
  if (body_forbidden(res)) {
    res->no_body = 1;
  } else if (length >= 0) {
    if (!res->has_length) {
      sio__sbuf_appends(s, "Content-Length: ");
      sio__sbuf_append_u64(s, (uint64_t)length);
      sio__sbuf_appends(s, "\r\n");
    }
  } else if (!res->has_length) {
    if (req->minor == 1)
      res->chunked = 1, sio__sbuf_appends(s, "Transfer-Encoding: chunked\r\n");
    else
      res->keep_alive = 0;
  }
  if (res->head_only) res->no_body = 1;
  if (!res->keep_alive)
    sio__sbuf_appends(s, "Connection: close\r\n");
  else if (req->minor == 0)
    sio__sbuf_appends(s, "Connection: keep-alive\r\n");
  sio__sbuf_appends(s, "\r\n");
  res->headers_sent = 1;
}

static int conn_ok(sio_res *res) {
  return res->req->hc && !res->req->hc->closing;
}
int sio__hconn_writable(sio_res *res) {
  return conn_ok(res);
}

static int write_sbuf(sio_res *res, sio__sbuf *s) {
  if (s->oom) {
    sio__sbuf_free(s);
    return -ENOMEM;
  }
  sio__buf *b = sio__sbuf_to_buf(s);
  if (!b) return -ENOMEM;
  int r = conn_ok(res) ? sio__conn_write(res->req->hc->conn, b, 0, b->len) : SIO_ECLOSED;
  sio__buf_unref(b);
  return r;
}

static void finish(sio_res *res) {
  if (res->finished) return;
  res->finished = 1;
  sio__res_finished(res);
}

int sio__res_send_headers(sio_res *res, int64_t length) {
  if (res->headers_sent) return 0;
  sio__sbuf s = SIO__SBUF_INIT;
  build_head(res, &s, length);
  return write_sbuf(res, &s);
}

int sio__res_write_raw(sio_res *res, const void *data, size_t len) {
  if (res->finished) return -EALREADY;
  if (!res->headers_sent) {
    int r = sio__res_send_headers(res, -1);
    if (r < 0) return r;
  }
  if (res->no_body || len == 0) return conn_ok(res) ? 0 : SIO_ECLOSED;
  if (!conn_ok(res)) return SIO_ECLOSED;
  if (!res->chunked) return sio__conn_write_copy(res->req->hc->conn, data, len);
  sio__sbuf s = SIO__SBUF_INIT;
  sio__sbuf_printf(&s, "%zx\r\n", len);
  sio__sbuf_append(&s, data, len);
  sio__sbuf_appends(&s, "\r\n");
  return write_sbuf(res, &s);
}

int sio_res_write(sio_res *res, const void *data, size_t len) {
  return sio__res_write_raw(res, data, len);
}

int sio_res_end(sio_res *res) {
  if (res->finished) return -EALREADY;
  int r = 0;
  if (!res->headers_sent) {
    r = sio__res_send_headers(res, 0);
  } else if (res->chunked && !res->no_body && conn_ok(res)) {
    r = sio__conn_write_copy(res->req->hc->conn, "0\r\n\r\n", 5);
  }
  finish(res);
  return r;
}

int sio_res_headers_sent(const sio_res *res) {
  return res->headers_sent;
}
int sio_res_finished(const sio_res *res) {
  return res->finished;
}

void sio_res_on_close(sio_res *res, sio_res_close_fn fn, void *user) {
  res->close_fn = fn;
  res->close_user = user;
}

/* Head and body in one buffer, one write. */
static int send_whole(sio_res *res, const void *body, size_t len, const char *default_type) {
  if (res->finished || res->headers_sent) return -EALREADY;
  if (!res->has_type && default_type) sio_res_set_header(res, "Content-Type", default_type);
  sio__sbuf s = SIO__SBUF_INIT;
  if (res->has_length) { /* a user-set Content-Length must match what is sent */
    sio__res_remove_header(res, "Content-Length");
    res->has_length = 0;
  }
  build_head(res, &s, (int64_t)len);
  if (!res->no_body) sio__sbuf_append(&s, body, len);
  int r = write_sbuf(res, &s);
  finish(res);
  return r;
}

int sio_res_send(sio_res *res, const void *body, size_t len) {
  return send_whole(res, body, len, "text/html; charset=utf-8");
}

int sio_res_text(sio_res *res, const char *text) {
  return send_whole(res, text, strlen(text), "text/plain; charset=utf-8");
}

int sio_res_json_raw(sio_res *res, const char *json, size_t len) {
  return send_whole(res, json, len, "application/json; charset=utf-8");
}

int sio_res_json(sio_res *res, const json_t *value) {
  if (!value) return sio_res_json_raw(res, "null", 4);
  size_t n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
  char *s = n ? sio__malloc(n) : NULL;
  if (!s || json_dumpb(value, s, n, JSON_COMPACT | JSON_ENCODE_ANY) != n) {
    sio__free(s);
    sio_next_error(res->req, res, 500, "JSON encoding failed");
    return -ENOMEM;
  }
  int r = sio_res_json_raw(res, s, n);
  sio__free(s);
  return r;
}

int sio_res_jsonf(sio_res *res, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  json_error_t err;
  json_t *v = json_vpack_ex(&err, 0, fmt, ap);
  va_end(ap);
  if (!v) {
    sio_next_error(res->req, res, 500, "JSON pack failed");
    return -EINVAL;
  }
  int r = sio_res_json(res, v);
  json_decref(v);
  return r;
}

int sio_res_send_status(sio_res *res, int status) {
  sio_res_status(res, status);
  const char *r = sio_http_reason(status);
  return send_whole(res, r, strlen(r), "text/plain; charset=utf-8");
}

int sio_res_redirect(sio_res *res, int status, const char *location) {
  if (!location || !valid_value(location)) return -EINVAL;
  sio_res_status(res, status ? status : 302);
  int r = sio_res_set_header(res, "Location", location);
  if (r < 0) return r;
  sio__sbuf s = SIO__SBUF_INIT;
  sio__sbuf_printf(&s, "%s. Redirecting to %s", sio_http_reason(res->status), location);
  r = s.oom ? -ENOMEM : send_whole(res, s.data, s.len, "text/plain; charset=utf-8");
  sio__sbuf_free(&s);
  return r;
}

int sio__res_send_buf(sio_res *res, sio__buf *b, size_t off, size_t len) {
  if (res->finished || res->headers_sent) return -EALREADY;
  if (!res->has_type) sio_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
  if (res->has_length) {
    sio__res_remove_header(res, "Content-Length");
    res->has_length = 0;
  }
  sio__sbuf s = SIO__SBUF_INIT;
  build_head(res, &s, (int64_t)len);
  int r = write_sbuf(res, &s);
  if (r == 0 && !res->no_body && len) r = sio__conn_write(res->req->hc->conn, b, off, len);
  finish(res);
  return r;
}

/* --- views ---------------------------------------------------------------------------------- */
int sio_app_views(sio_app *app, const char *dir) {
  sio__views *v = sio__views_new(dir);
  if (!v) return -ENOMEM;
  if (app->views) sio__views_free(app->views);
  app->views = v;
  return 0;
}

void sio__views_release(sio_app *app) {
  if (app->views) sio__views_free(app->views);
  app->views = NULL;
}

int sio_res_render(sio_res *res, const char *view, const json_t *data) {
  sio_app *app = res->req->app;
  if (!app->views) {
    sio_next_error(res->req, res, 500, "No views directory (sio_app_views)");
    return -EINVAL;
  }
  sio__sbuf out = SIO__SBUF_INIT;
  int r = sio__views_render(app->views, view, data, &out);
  if (r < 0) {
    sio__sbuf_free(&out);
    char msg[160];
    snprintf(msg, sizeof(msg), "Cannot render view \"%.80s\": %s", view,
             r == -ENOENT ? "not found" : sio_strerror(r));
    sio_next_error(res->req, res, 500, msg);
    return r;
  }
  r = sio_res_send(res, out.data ? out.data : "", out.len);
  sio__sbuf_free(&out);
  return r;
}
