/* A server's TLS configuration: the SSL_CTX of the default certificate and one per SNI name,
 * built from files, and rebuilt from them on reload.
 *
 * Every context gets the same settings: TLS 1.2 or 1.3 at least, the cipher lists (OpenSSL's
 * defaults unless given), ALPN that picks http/1.1 (a client that offers only other protocols
 * goes on without ALPN, as it would with a server that knows none), renegotiation off, session
 * tickets on with no server-side session cache (tickets are stateless: no memory per past
 * client), SSL_MODE_RELEASE_BUFFERS (an idle connection holds no record buffers), and the
 * client-certificate check when a CA file is given.
 *
 * Reload builds a whole new set of contexts and swaps it in only if every file loaded, copying
 * the ticket keys across so that tickets issued before still resume. Connections hold their
 * SSL, which holds its own reference to the context it started with: they go on unchanged. */
#include "net/tls.h"
#include "net/tls_pem.h"

#include "core/alloc.h"
#include "core/log.h"
#include "sio/core.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>

#define TICKET_KEYS_LEN 80 /* name, HMAC key, AES key: SSL_CTX_get_tlsext_ticket_keys */

typedef struct sni_entry {
  char *servername;
  SSL_CTX *ctx;
} sni_entry;

/* One generation of contexts: the default and the SNI ones. */
typedef struct ctx_set {
  SSL_CTX *def;
  sni_entry *sni;
  size_t sni_count;
} ctx_set;

struct sio__tls_ctx {
  unsigned refs;
  sio__tls_cfg cfg; /* owned (sio__tls_cfg_copy) */
  ctx_set cur;
};

/* OpenSSL's reason for the last failure ("no such file", "key values mismatch"). */
/* A system error in the queue (a missing file) says it best: "No such file or directory". */
static const char *ossl_reason(char *buf, size_t len) {
  unsigned long e, last = 0, sys = 0;
  while ((e = ERR_get_error()) != 0) {
    if (ERR_SYSTEM_ERROR(e) && !sys) sys = e;
    last = e;
  }
  if (sys)
    snprintf(buf, len, "%s", strerror(ERR_GET_REASON(sys)));
  else if (last)
    ERR_error_string_n(last, buf, len);
  else
    snprintf(buf, len, "%s", strerror(errno ? errno : EINVAL));
  return buf;
}

static int fail(int code, const char *what, const char *file) {
  char why[256];
  sio__error("tls: %s %s: %s", what, file ? file : "(none)", ossl_reason(why, sizeof why));
  return code;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  static const unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char *sel;
  if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* "*.example.com" matches "a.example.com", not "example.com" nor "a.b.example.com". */
static int name_matches(const char *pattern, const char *name) {
  if (pattern[0] == '*' && pattern[1] == '.') {
    const char *dot = strchr(name, '.');
    return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
  }
  return strcasecmp(pattern, name) == 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg) {
  sio__tls_ctx *t = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;          /* the default certificate */
  for (size_t i = 0; i < t->cur.sni_count; i++) /* exact names first, then wildcards */
    if (strcasecmp(t->cur.sni[i].servername, name) == 0) {
      SSL_set_SSL_CTX(ssl, t->cur.sni[i].ctx);
      return SSL_TLSEXT_ERR_OK;
    }
  for (size_t i = 0; i < t->cur.sni_count; i++)
    if (name_matches(t->cur.sni[i].servername, name)) {
      SSL_set_SSL_CTX(ssl, t->cur.sni[i].ctx);
      return SSL_TLSEXT_ERR_OK;
    }
  return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL asks for a key's passphrase through this, never on the terminal (its default, which
 * would block the loop, or a reload, on a prompt). While a key loads, u is the load's
 * passphrase_ask; after, NULL: nothing more is given. */
typedef struct passphrase_ask {
  const char *passphrase;
  int asked;
} passphrase_ask;

static int give_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  passphrase_ask *a = u;
  if (!a) return -1;
  a->asked = 1;
  size_t n = a->passphrase ? strlen(a->passphrase) : 0;
  if (!a->passphrase || n > (size_t)size) return -1;
  memcpy(buf, a->passphrase, n);
  return (int)n;
}

/* Where a certificate or a key comes from: a file, or PEM text in memory. */
typedef struct source {
  const char *file, *pem;
} source;

static const char *source_name(source s) {
  return s.pem ? "(PEM in memory)" : s.file;
}

static int load_key(SSL_CTX *ctx, source src, const char *passphrase) {
  const char *key = source_name(src);
  passphrase_ask ask = {passphrase, 0};
  SSL_CTX_set_default_passwd_cb_userdata(ctx, &ask);
  int ok = src.pem ? sio__tls_use_key_pem(ctx, src.pem)
                   : SSL_CTX_use_PrivateKey_file(ctx, src.file, SSL_FILETYPE_PEM) == 1;
  SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
  if (ok) return 0;
  if (ask.asked && !passphrase)
    return fail(SIO_ETLS_KEY, "private key is encrypted and no key_passphrase was given:", key);
  if (ask.asked) return fail(SIO_ETLS_KEY, "private key (wrong key_passphrase?)", key);
  return fail(SIO_ETLS_KEY, "private key", key);
}

/* accept_unverified: a certificate that fails the check goes on; SSL_get_verify_result keeps
 * the first failure for the handler. */
static int keep_unverified(int ok, X509_STORE_CTX *store) {
  (void)ok;
  (void)store;
  return 1;
}

static int load_client_cas(SSL_CTX *ctx, const sio__tls_cfg *cfg) {
  STACK_OF(X509_NAME) *names = NULL;
  if (cfg->ca_pem) {
    if (!sio__tls_use_ca_pem(ctx, cfg->ca_pem, &names))
      return fail(SIO_ETLS_CA, "client CA", "(PEM in memory)");
  } else {
    names = SSL_load_client_CA_file(cfg->ca_file);
    if (!names || SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
      if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return fail(SIO_ETLS_CA, "client CA file", cfg->ca_file);
    }
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  int mode = SSL_VERIFY_PEER | (cfg->client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  SSL_CTX_set_verify(ctx, mode, cfg->accept_unverified ? keep_unverified : NULL);
  return 0;
}

/* A context with the shared settings of cfg and the given certificate and key. */
static int make_ctx(const sio__tls_cfg *cfg, source cert_src, source key_src, SSL_CTX **out) {
  const char *cert = source_name(cert_src), *key = source_name(key_src);
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return fail(-ENOMEM, "cannot create a context for", cert);
  int r = 0;
  SSL_CTX_set_default_passwd_cb(ctx, give_passphrase); /* no userdata yet: nothing is given */
  int minv = cfg->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (!SSL_CTX_set_min_proto_version(ctx, minv)) r = fail(SIO_ETLS_CONFIG, "min version", NULL);
  if (!r && cfg->ciphers && !SSL_CTX_set_cipher_list(ctx, cfg->ciphers))
    r = fail(SIO_ETLS_CONFIG, "cipher list", cfg->ciphers);
  if (!r && cfg->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites))
    r = fail(SIO_ETLS_CONFIG, "TLS 1.3 cipher suites", cfg->ciphersuites);
  if (!r && (cert_src.pem ? !sio__tls_use_chain_pem(ctx, cert_src.pem)
                          : SSL_CTX_use_certificate_chain_file(ctx, cert_src.file) != 1))
    r = fail(SIO_ETLS_CERT, "certificate chain", cert);
  if (!r) r = load_key(ctx, key_src, cfg->key_passphrase);
  if (!r && SSL_CTX_check_private_key(ctx) != 1)
    r = fail(SIO_ETLS_KEY, "private key does not match the certificate:", key);
  if (!r && (cfg->ca_file || cfg->ca_pem)) r = load_client_cas(ctx, cfg);
  if (r) {
    SSL_CTX_free(ctx);
    return r;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  static const unsigned char sid_ctx[] = "sio";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1); /* resumption with peers */
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
  *out = ctx;
  return 0;
}

static void free_set(ctx_set *s) {
  SSL_CTX_free(s->def);
  for (size_t i = 0; i < s->sni_count; i++) {
    SSL_CTX_free(s->sni[i].ctx);
    sio__free(s->sni[i].servername);
  }
  sio__free(s->sni);
  memset(s, 0, sizeof *s);
}

/* Builds every context of the configuration cfg (t's, or the one replacing it) into s; ticket
 * keys from `keys` if not NULL. */
static int build_set(sio__tls_ctx *t, const sio__tls_cfg *cfg, ctx_set *s,
                     const unsigned char *keys) {
  memset(s, 0, sizeof *s);
  source cert = {cfg->cert_file, cfg->cert_pem}, key = {cfg->key_file, cfg->key_pem};
  int r = make_ctx(cfg, cert, key, &s->def);
  if (r) return r;
  unsigned char fresh[TICKET_KEYS_LEN];
  if (!keys) { /* one set of ticket keys for every name, so that a ticket resumes on any */
    if (SSL_CTX_get_tlsext_ticket_keys(s->def, fresh, sizeof fresh) != 1) {
      free_set(s);
      return fail(-ENOMEM, "ticket keys for", source_name(cert));
    }
    keys = fresh;
  } else {
    SSL_CTX_set_tlsext_ticket_keys(s->def, (void *)keys, TICKET_KEYS_LEN);
  }
  SSL_CTX_set_tlsext_servername_callback(s->def, on_servername);
  SSL_CTX_set_tlsext_servername_arg(s->def, t);
  if (cfg->sni_count) {
    s->sni = sio__calloc(cfg->sni_count, sizeof *s->sni);
    if (!s->sni) {
      free_set(s);
      return -ENOMEM;
    }
  }
  for (size_t i = 0; i < cfg->sni_count; i++) {
    const sio__tls_sni_cfg *e = &cfg->sni[i];
    r = make_ctx(cfg, (source){e->cert_file, NULL}, (source){e->key_file, NULL}, &s->sni[i].ctx);
    if (!r && !(s->sni[i].servername = sio__strdup(e->servername))) r = -ENOMEM;
    s->sni_count = i + 1;
    if (r) {
      free_set(s);
      return r;
    }
    SSL_CTX_set_tlsext_ticket_keys(s->sni[i].ctx, (void *)keys, TICKET_KEYS_LEN);
  }
  return 0;
}

/* A passphrase leaves no copy in freed memory. */
static void free_secret(const char *s) {
  if (s) OPENSSL_cleanse((char *)s, strlen(s));
  sio__free((char *)s);
}

void sio__tls_cfg_free(sio__tls_cfg *c) {
  sio__free((char *)c->cert_file);
  sio__free((char *)c->key_file);
  free_secret(c->key_passphrase);
  sio__free((char *)c->cert_pem);
  free_secret(c->key_pem);
  sio__free((char *)c->ca_pem);
  sio__free((char *)c->ca_file);
  sio__free((char *)c->ciphers);
  sio__free((char *)c->ciphersuites);
  for (size_t i = 0; i < c->sni_count; i++) {
    sio__free((char *)c->sni[i].servername);
    sio__free((char *)c->sni[i].cert_file);
    sio__free((char *)c->sni[i].key_file);
  }
  sio__free((sio__tls_sni_cfg *)c->sni);
  memset(c, 0, sizeof *c);
}

/* A copy of s (NULL stays NULL); *oom set when it fails. */
static const char *dup_opt(const char *s, int *oom) {
  if (!s) return NULL;
  char *d = sio__strdup(s);
  if (!d) *oom = 1;
  return d;
}

int sio__tls_cfg_copy(sio__tls_cfg *dst, const sio__tls_cfg *src) {
  int oom = 0;
  *dst = *src;
  dst->cert_file = dup_opt(src->cert_file, &oom);
  dst->key_file = dup_opt(src->key_file, &oom);
  dst->key_passphrase = dup_opt(src->key_passphrase, &oom);
  dst->cert_pem = dup_opt(src->cert_pem, &oom);
  dst->key_pem = dup_opt(src->key_pem, &oom);
  dst->ca_pem = dup_opt(src->ca_pem, &oom);
  dst->ca_file = dup_opt(src->ca_file, &oom);
  dst->ciphers = dup_opt(src->ciphers, &oom);
  dst->ciphersuites = dup_opt(src->ciphersuites, &oom);
  dst->sni = NULL;
  dst->sni_count = 0;
  sio__tls_sni_cfg *sni = src->sni_count ? sio__calloc(src->sni_count, sizeof *sni) : NULL;
  if (src->sni_count && !sni) oom = 1;
  dst->sni = sni;
  for (size_t i = 0; sni && i < src->sni_count; i++) {
    sni[i].servername = dup_opt(src->sni[i].servername, &oom);
    sni[i].cert_file = dup_opt(src->sni[i].cert_file, &oom);
    sni[i].key_file = dup_opt(src->sni[i].key_file, &oom);
    dst->sni_count = i + 1;
  }
  if (!oom) return 0;
  sio__tls_cfg_free(dst);
  return -ENOMEM;
}

static int check_cfg(const sio__tls_cfg *cfg) {
  if ((!cfg->cert_file || !*cfg->cert_file) && !cfg->cert_pem)
    return fail(SIO_ETLS_CERT, "no certificate file", NULL);
  if ((!cfg->key_file || !*cfg->key_file) && !cfg->key_pem)
    return fail(SIO_ETLS_KEY, "no key file", NULL);
  if (cfg->min_version && cfg->min_version != 12 && cfg->min_version != 13) {
    sio__error("tls: min_version %d: use 12 (TLS 1.2) or 13 (TLS 1.3)", cfg->min_version);
    return SIO_ETLS_CONFIG;
  }
  for (size_t i = 0; i < cfg->sni_count; i++) {
    const sio__tls_sni_cfg *e = &cfg->sni[i];
    if (!e->servername || !*e->servername || !e->cert_file || !e->key_file) {
      sio__error("tls: SNI entry %zu needs a servername, a cert_file and a key_file", i);
      return SIO_ETLS_CONFIG;
    }
  }
  return 0;
}

int sio__tls_ctx_new(const sio__tls_cfg *cfg, sio__tls_ctx **out) {
  int r = check_cfg(cfg);
  if (r) return r;
  sio__tls_ctx *t = sio__calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->refs = 1;
  r = sio__tls_cfg_copy(&t->cfg, cfg);
  if (!r) r = build_set(t, &t->cfg, &t->cur, NULL);
  if (r) {
    sio__tls_cfg_free(&t->cfg);
    sio__free(t);
    return r;
  }
  *out = t;
  return 0;
}

/* A new set of contexts for cfg with t's ticket keys, so that tickets issued before still
 * resume. */
static int rebuild(sio__tls_ctx *t, const sio__tls_cfg *cfg, ctx_set *next) {
  unsigned char keys[TICKET_KEYS_LEN];
  if (SSL_CTX_get_tlsext_ticket_keys(t->cur.def, keys, sizeof keys) != 1) return -ENOMEM;
  int r = build_set(t, cfg, next, keys);
  OPENSSL_cleanse(keys, sizeof keys);
  return r;
}

int sio__tls_ctx_reload(sio__tls_ctx *t) {
  ctx_set next;
  int r = rebuild(t, &t->cfg, &next);
  if (r) return r;
  free_set(&t->cur); /* the live connections' SSLs hold their own references */
  t->cur = next;
  sio__info("tls: certificates reloaded from %s%s", t->cfg.cert_pem ? "memory" : t->cfg.cert_file,
            t->cfg.sni_count ? " and the SNI entries" : "");
  return 0;
}

int sio__tls_ctx_update(sio__tls_ctx *t, const sio__tls_cfg *cfg) {
  int r = check_cfg(cfg);
  if (r) return r;
  sio__tls_cfg fresh; /* replaces t's once its contexts are built */
  ctx_set next;
  r = sio__tls_cfg_copy(&fresh, cfg);
  if (r) return r;
  r = rebuild(t, &fresh, &next);
  if (r) {
    sio__tls_cfg_free(&fresh);
    return r;
  }
  free_set(&t->cur);
  sio__tls_cfg_free(&t->cfg);
  t->cfg = fresh;
  t->cur = next;
  sio__info("tls: new certificates from %s", t->cfg.cert_pem ? "memory" : t->cfg.cert_file);
  return 0;
}

sio__tls_ctx *sio__tls_ctx_ref(sio__tls_ctx *t) {
  t->refs++;
  return t;
}

void sio__tls_ctx_unref(sio__tls_ctx *t) {
  if (!t || --t->refs) return;
  free_set(&t->cur);
  sio__tls_cfg_free(&t->cfg);
  sio__free(t);
}

void *sio__tls_ctx_ssl_ctx(sio__tls_ctx *t) {
  return t->cur.def;
}
