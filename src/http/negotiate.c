/* Content negotiation (Accept-Encoding) and CORS, shared by every layer that answers HTTP
 * (negotiate.h): one reading of the q=0 rules and one CORS policy, so that static files, the
 * client bundle and Engine.IO's polling responses negotiate alike. */
#include "http/negotiate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/parser.h"

/* --- Accept-Encoding --------------------------------------------------------------------- */

enum { Q_MAX = 1000, Q_UNSET = -1 }; /* qvalues in thousandths */

/* The qvalue of a weight's value (RFC 9110 12.4.2: "0" ["." 0*3DIGIT] or "1" ["." 0*3"0"]);
 * one that does not parse counts as 1, as if the weight were absent. */
static int parse_q(const char *p, const char *end) {
  if (p >= end || (*p != '0' && *p != '1')) return Q_MAX;
  int q = (*p - '0') * Q_MAX, scale = 100;
  p++;
  if (p < end && *p == '.')
    for (p++; p < end && *p >= '0' && *p <= '9' && scale; p++, scale /= 10) q += (*p - '0') * scale;
  return q > Q_MAX ? Q_MAX : q;
}

/* The weight in an item's parameters (after the coding): ";q=" with optional spaces. */
static int item_q(const char *p, const char *end) {
  while (p < end) {
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (!semi) break;
    p = semi + 1;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (end - p >= 2 && (*p == 'q' || *p == 'Q') && p[1] == '=') return parse_q(p + 2, end);
  }
  return Q_MAX;
}

static int coding_is(const char *p, size_t n, const char *name) {
  return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

int sio__accepts_gzip(const char *ae) {
  if (!ae) return 0;
  int gzip = Q_UNSET, identity = Q_UNSET, any = Q_UNSET;
  for (const char *p = ae; *p;) {
    const char *end = p + strcspn(p, ",");
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    size_t n = strcspn(p, ",; \t");
    if (p + n > end) n = (size_t)(end - p);
    int q = item_q(p + n, end);
    if (coding_is(p, n, "gzip") || coding_is(p, n, "x-gzip"))
      gzip = q > gzip ? q : gzip;
    else if (coding_is(p, n, "identity"))
      identity = q;
    else if (coding_is(p, n, "*"))
      any = q;
    p = *end ? end + 1 : end;
  }
  if (gzip == Q_UNSET) gzip = any == Q_UNSET ? 0 : any;
  if (identity == Q_UNSET) identity = any == Q_UNSET ? 0 : any; /* implicit: the least wanted */
  return gzip > 0 && gzip >= identity;
}

int sio_req_accepts_gzip(const sio_req *req) {
  return sio__accepts_gzip(sio_req_header(req, "Accept-Encoding"));
}

/* --- CORS ----------------------------------------------------------------------------------
 * The origin decides whether the answer carries Access-Control-Allow-Origin: "*" allows every
 * origin ("*" itself, or the origin reflected when credentials are on); a list or a function
 * allows some, reflected. The answer varies with Origin whenever the origin decides it. */

typedef struct origin_verdict {
  const char *allow; /* Access-Control-Allow-Origin, or NULL */
  int vary;
} origin_verdict;

static origin_verdict judge_origin(const sio__cors *c, const char *origin) {
  origin_verdict v = {NULL, 1};
  if (!c->origin) {
    if (origin && c->origin_fn && c->origin_fn(origin, c->origin_user)) v.allow = origin;
  } else if (strcmp(c->origin, "*") == 0) {
    v.vary = c->credentials;
    v.allow = c->credentials && origin ? origin : "*";
  } else if (origin && sio__http_list_has(c->origin, strlen(c->origin), origin)) {
    v.allow = origin;
  }
  return v;
}

static int is_preflight(const sio__cors *c, sio_req *req) {
  if (strcmp(sio_req_method(req), "OPTIONS") != 0) return 0;
  return c->every_options_is_preflight || sio_req_header(req, "Access-Control-Request-Method");
}

static void answer_preflight(const sio__cors *c, sio_req *req, sio_res *res, int allowed) {
  if (allowed) {
    sio_res_set_header(res, "Access-Control-Allow-Methods",
                       c->methods ? c->methods : SIO__CORS_METHODS);
    const char *h = c->allowed_headers;
    if (!h) h = sio_req_header(req, "Access-Control-Request-Headers");
    if (h) sio_res_set_header(res, "Access-Control-Allow-Headers", h);
    if (h && !c->allowed_headers)
      sio_res_append_header(res, "Vary", "Access-Control-Request-Headers");
    if (c->max_age > 0) {
      char b[24];
      snprintf(b, sizeof(b), "%d", c->max_age);
      sio_res_set_header(res, "Access-Control-Max-Age", b);
    }
  }
  sio_res_status(res, 204);
  sio_res_set_header(res, "Content-Length", "0");
  sio_res_end(res);
}

int sio__cors_apply(const sio__cors *c, sio_req *req, sio_res *res) {
  origin_verdict v = judge_origin(c, sio_req_header(req, "Origin"));
  if (v.allow) sio_res_set_header(res, "Access-Control-Allow-Origin", v.allow);
  if (v.vary) sio_res_append_header(res, "Vary", "Origin");
  if (v.allow && c->credentials)
    sio_res_set_header(res, "Access-Control-Allow-Credentials", "true");
  if (!is_preflight(c, req)) return 0;
  answer_preflight(c, req, res, v.allow != NULL);
  return 1;
}
