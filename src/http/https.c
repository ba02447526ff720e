/* HTTPS for the app (sio/tls.h): the copy of the TLS options, the TLS context made at listen
 * (its files read then, so that a missing key fails sio_app_listen with its own code), the
 * plain listener beside the TLS one, the redirect of plain requests to https://, the HSTS
 * header, and reload. The TLS itself is the net layer's (net/tls.h): a TLS listener's
 * connections carry plaintext to this layer exactly as plain ones do. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/app_internal.h"
#include "net/tls.h"
#include "sio/tls.h"

sio_tls_opts sio_tls_opts_default(void) {
  sio_tls_opts o;
  memset(&o, 0, sizeof o);
  o.min_version = 12;
  return o;
}

struct sio__https {
  sio__tls_cfg cfg;         /* owned (sio__tls_cfg_copy), until the context is made of it */
  int plain_port, redirect; /* sio_tls_opts.plain_port, redirect_plain */
  char hsts[96];            /* "Strict-Transport-Security: ...\r\n" or "" */
  sio__tls_ctx *ctx;        /* from sio_app_listen */
  sio__listener *plain;
  int plain_bound;
};

/* The TLS part of the options, as the net layer takes them: pointers to the caller's strings,
 * the SNI entries in sni (sni_count of them). */
static void cfg_view(const sio_tls_opts *o, sio__tls_cfg *cfg, sio__tls_sni_cfg *sni) {
  memset(cfg, 0, sizeof *cfg);
  cfg->cert_file = o->cert_file;
  cfg->key_file = o->key_file;
  cfg->key_passphrase = o->key_passphrase;
  cfg->cert_pem = o->cert_pem;
  cfg->key_pem = o->key_pem;
  cfg->ca_pem = o->ca_pem;
  cfg->ca_file = o->ca_file;
  cfg->ciphers = o->ciphers;
  cfg->ciphersuites = o->ciphersuites;
  cfg->client_cert_optional = o->client_cert_optional;
  cfg->accept_unverified = o->accept_unverified_client_certs;
  cfg->min_version = o->min_version;
  for (size_t i = 0; o->sni && i < o->sni_count; i++)
    sni[i] = (sio__tls_sni_cfg){o->sni[i].servername, o->sni[i].cert_file, o->sni[i].key_file};
  cfg->sni = sni;
  cfg->sni_count = o->sni ? o->sni_count : 0;
}

/* The net layer's configuration of o, copied (sio__tls_cfg_copy). 0 or -ENOMEM. */
static int cfg_copy(const sio_tls_opts *o, sio__tls_cfg *out) {
  sio__tls_sni_cfg *sni = o->sni_count ? sio__calloc(o->sni_count, sizeof *sni) : NULL;
  if (o->sni_count && !sni) return -ENOMEM;
  sio__tls_cfg view;
  cfg_view(o, &view, sni);
  int r = sio__tls_cfg_copy(out, &view);
  sio__free(sni);
  return r;
}

int sio__https_copy(sio_app *app, const sio_tls_opts *o) {
  if (!o) return 0;
  sio__https *h = sio__calloc(1, sizeof *h);
  if (!h) return -ENOMEM;
  int oom = cfg_copy(o, &h->cfg) != 0;
  h->plain_port = o->plain_port;
  h->redirect = o->redirect_plain;
  if (o->hsts_max_age)
    snprintf(h->hsts, sizeof h->hsts, "Strict-Transport-Security: max-age=%u%s\r\n",
             (unsigned)o->hsts_max_age, o->hsts_include_subdomains ? "; includeSubDomains" : "");
  app->https = h;
  if (oom) return -ENOMEM;
  return 0;
}

void sio__https_free(sio_app *app) {
  sio__https *h = app->https;
  if (!h) return;
  sio__https_close_listeners(app);
  sio__tls_ctx_unref(h->ctx);
  sio__tls_cfg_free(&h->cfg);
  sio__free(h);
  app->https = NULL;
}

void sio__https_close_listeners(sio_app *app) {
  sio__https *h = app->https;
  if (!h || !h->plain) return;
  sio__listener_close(h->plain);
  h->plain = NULL;
}

/* Reads the files (the TLS context goes on lo->tls) and opens the plain listener if asked. */
int sio__https_listen(sio_app *app, sio__listen_opts *lo) {
  sio__https *h = app->https;
  if (!h) return 0;
  if (!h->ctx) {
    int r = sio__tls_ctx_new(&h->cfg, &h->ctx);
    if (r) return r;
    sio__tls_cfg_free(&h->cfg); /* the context has its own copy */
  }
  lo->tls = h->ctx;
  if (h->plain_port == SIO_TLS_PLAIN_NONE) return 0;
  sio__listen_opts plain = *lo;
  plain.tls = NULL;
  plain.port = h->plain_port == SIO_TLS_PLAIN_ANY ? 0 : h->plain_port;
  int r = sio__listen(app->net, &plain, sio__hconn_on_accept, app, &h->plain);
  if (r < 0) {
    h->plain = NULL;
    return r;
  }
  h->plain_bound = sio__listener_port(h->plain);
  return 0;
}

int sio_app_tls_reload(sio_app *app) {
  if (!app || !app->https) return -EINVAL;
  if (!app->https->ctx) return -EAGAIN;
  return sio__tls_ctx_reload(app->https->ctx);
}

int sio_app_tls_update(sio_app *app, const sio_tls_opts *tls) {
  if (!app || !app->https || !tls) return -EINVAL;
  if (!app->https->ctx) return -EAGAIN;
  sio__tls_cfg cfg;
  int r = cfg_copy(tls, &cfg);
  if (r) return r;
  r = sio__tls_ctx_update(app->https->ctx, &cfg);
  sio__tls_cfg_free(&cfg); /* the context took its own copy */
  return r;
}

int sio_app_plain_port(const sio_app *app) {
  return app->https ? app->https->plain_bound : 0;
}

int sio_req_secure(const sio_req *req) {
  return req->hc && sio__conn_secure(req->hc->conn);
}

const char *sio__https_hsts(const sio_req *req) {
  sio__https *h = req->app->https;
  return h && h->hsts[0] && sio_req_secure(req) ? h->hsts : NULL;
}

/* A request on the plain listener of an app that redirects: 301 (GET, HEAD) or 308 to the
 * same path on https://, the Host header's name with the TLS port. 1 when answered. */
int sio__https_redirect(sio_req *req, sio_res *res) {
  sio__https *h = req->app->https;
  if (!h || !h->redirect || sio_req_secure(req)) return 0;
  const char *host = sio_req_header(req, "Host");
  char name[256];
  size_t n = 0;
  if (host && *host == '[') { /* [v6]:port */
    const char *end = strchr(host, ']');
    n = end ? (size_t)(end - host + 1) : 0;
  } else if (host) {
    const char *colon = strchr(host, ':');
    n = colon ? (size_t)(colon - host) : strlen(host);
  }
  if (n == 0 || n >= sizeof name || strpbrk(host, "\r\n/\\@ ")) {
    sio_res_send_status(res, 400);
    return 1;
  }
  memcpy(name, host, n);
  name[n] = '\0';
  sio__sbuf loc = SIO__SBUF_INIT;
  if (req->app->port == 443)
    sio__sbuf_printf(&loc, "https://%s%s", name, sio_req_url(req));
  else
    sio__sbuf_printf(&loc, "https://%s:%d%s", name, req->app->port, sio_req_url(req));
  int get = !strcmp(sio_req_method(req), "GET") || !strcmp(sio_req_method(req), "HEAD");
  if (loc.oom)
    sio_res_send_status(res, 503);
  else
    sio_res_redirect(res, get ? 301 : 308, loc.data);
  sio__sbuf_free(&loc);
  return 1;
}
