/* sio-server configuration: the option table, the command line, the JSON file (jansson, with
 * the line of every error) and the cross-checks. See config.h. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_NUM, T_STR, T_BOOL, T_LIST } opt_type;

typedef struct opt_def {
  const char *key; /* JSON key; the flag is the same with '-' for '_' */
  opt_type type;
  size_t off;
  const char *def; /* default, as text ("" none) */
  const char *help;
  int64_t min, max; /* T_INT bounds */
} opt_def;

#define F(field) offsetof(srv_config, field)
#define BIG      INT64_C(1) << 40
static const opt_def OPTS[] = {
    {"host", T_STR, F(host), "", "address to listen on (empty: all interfaces)", 0, 0},
    {"port", T_INT, F(port), "3000", "TCP port (0: a free one, printed)", 0, 65535},
    {"tls_cert", T_STR, F(tls_cert), "", "PEM certificate chain: serve HTTPS and wss", 0, 0},
    {"tls_key", T_STR, F(tls_key), "", "PEM private key of tls_cert", 0, 0},
    {"tls_key_passphrase_file", T_STR, F(tls_key_passphrase_file), "",
     "file whose first line is the passphrase of an encrypted tls_key", 0, 0},
    {"tls_ca", T_STR, F(tls_ca), "",
     "PEM CA certificates: clients must present a certificate one of them signed (mutual TLS)", 0,
     0},
    {"cors_origins", T_LIST, F(cors_origins), "",
     "origins allowed to connect and to call the API (\"*\" any; none: no CORS)", 0, 0},
    {"static", T_STR, F(static_dir), "", "directory served at / (none: no static files)", 0, 0},
    {"path", T_STR, F(path), "/socket.io/", "Socket.IO path", 0, 0},
    {"ping_interval", T_INT, F(ping_interval), "25000", "pingInterval (ms)", 1, 3600000},
    {"ping_timeout", T_INT, F(ping_timeout), "20000", "pingTimeout (ms)", 1, 3600000},
    {"connect_timeout", T_INT, F(connect_timeout), "45000", "connectTimeout (ms)", 1, 3600000},
    {"max_payload", T_INT, F(max_payload), "1000000",
     "maxHttpBufferSize: largest message from a client (bytes)", 1, BIG},
    {"namespaces", T_LIST, F(namespaces), "/",
     "namespaces clients may connect to (\"*\": any name)", 0, 0},
    {"recovery", T_BOOL, F(recovery), "false", "connection state recovery", 0, 0},
    {"recovery_duration", T_INT, F(recovery_duration), "120000",
     "recovery: maxDisconnectionDuration (ms)", 1, BIG},
    {"workers", T_INT, F(workers), "1",
     "worker processes on the port (1: this process serves; 0: one per core)", 0, 4096},
    {"redis", T_STR, F(redis), "",
     "redis://host:port URL: join a cluster (@socket.io/redis-adapter, redis-emitter)", 0, 0},
    {"redis_sharded", T_BOOL, F(redis_sharded), "false", "sharded adapter (SSUBSCRIBE, Redis >= 7)",
     0, 0},
    {"redis_key", T_STR, F(redis_key), "socket.io", "Redis channel prefix", 0, 0},
    {"tokens", T_LIST, F(tokens), "", "bearer tokens accepted by the publish API", 0, 0},
    {"api_max_body", T_INT, F(api_max_body), "1048576", "largest API request body (bytes)", 1, BIG},
    {"api_max_batch", T_INT, F(api_max_batch), "1000", "most emits in one batch", 1, 1000000},
    {"api_rate", T_NUM, F(api_rate), "0", "API requests per second per token (0: no limit)", 0, 0},
    {"api_burst", T_NUM, F(api_burst), "0", "requests a token may make at once (0: api_rate)", 0,
     0},
    {"jwt_alg", T_STR, F(jwt_alg), "", "HS256 or RS256: verify clients' auth.token", 0, 0},
    {"jwt_secret", T_STR, F(jwt_secret), "", "HS256 secret", 0, 0},
    {"jwt_key_file", T_STR, F(jwt_key_file), "",
     "file with the HS256 secret or the RS256 public key (PEM)", 0, 0},
    {"jwt_rooms_claim", T_STR, F(jwt_rooms_claim), "rooms",
     "claim listing the rooms a client joins", 0, 0},
    {"jwt_optional", T_BOOL, F(jwt_optional), "false",
     "let clients without a token in (a bad token is still refused)", 0, 0},
    {"auth_hook", T_STR, F(auth_hook), "",
     "http:// URL POSTed once per connection; 2xx admits (docs/server.md)", 0, 0},
    {"auth_hook_timeout", T_INT, F(auth_hook_timeout), "3000", "auth hook timeout (ms)", 1, 600000},
    {"webhook", T_STR, F(webhook), "", "http:// URL that receives clients' events in batches", 0,
     0},
    {"webhook_batch", T_INT, F(webhook_batch), "100", "most events per webhook request", 1, 100000},
    {"webhook_interval", T_INT, F(webhook_interval), "100", "webhook batching delay (ms)", 1,
     600000},
    {"webhook_queue", T_INT, F(webhook_queue), "10000",
     "events queued for the webhook at most (past it: dropped, counted)", 1, 100000000},
    {"webhook_retries", T_INT, F(webhook_retries), "5",
     "attempts after a failed webhook request (backoff 250 ms doubling, max 30 s)", 0, 1000},
    {"webhook_timeout", T_INT, F(webhook_timeout), "5000", "webhook request timeout (ms)", 1,
     600000},
    {"log_format", T_STR, F(log_format), "text", "text or json", 0, 0},
    {"log_level", T_STR, F(log_level), "info", "debug, info, warn, error", 0, 0},
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

static void errf(char *err, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

static void list_free(srv_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static int list_add(srv_list *l, const char *s, size_t len) {
  char **v = realloc(l->v, (l->n + 1) * sizeof *v);
  if (!v) return -1;
  l->v = v;
  if (!(v[l->n] = strndup(s, len))) return -1;
  l->n++;
  return 0;
}

/* "a,b, c" appended item by item (spaces around items dropped, empty items skipped). */
static int list_add_csv(srv_list *l, const char *s) {
  while (*s) {
    while (*s == ' ' || *s == ',') s++;
    size_t n = strcspn(s, ",");
    size_t k = n;
    while (k && s[k - 1] == ' ') k--;
    if (k && list_add(l, s, k)) return -1;
    s += n;
  }
  return 0;
}

static int set_str(char **dst, const char *v) {
  char *c = strdup(v);
  if (!c) return -1;
  free(*dst);
  *dst = c;
  return 0;
}

static int parse_bool(const char *v, int *out) {
  if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
    *out = 1;
  else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
    *out = 0;
  else
    return -1;
  return 0;
}

static int int_in_range(const opt_def *o, int64_t v, char *err, size_t len, const char *where) {
  if (v >= o->min && v <= o->max) return 0;
  errf(err, len, "%skey \"%s\": %lld is out of range [%lld, %lld]", where, o->key, (long long)v,
       (long long)o->min, (long long)o->max);
  return -1;
}

/* Sets option o from text (flags, defaults). 0 or -1 with err. */
static int set_text(srv_config *c, const opt_def *o, const char *v, char *err, size_t len) {
  void *p = (char *)c + o->off;
  char *end;
  switch (o->type) {
  case T_INT: {
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno) {
      errf(err, len, "key \"%s\": \"%s\" is not an integer", o->key, v);
      return -1;
    }
    if (int_in_range(o, x, err, len, "")) return -1;
    *(int64_t *)p = x;
    return 0;
  }
  case T_NUM: {
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || x < 0) {
      errf(err, len, "key \"%s\": \"%s\" is not a number >= 0", o->key, v);
      return -1;
    }
    *(double *)p = x;
    return 0;
  }
  case T_STR:
    return set_str((char **)p, v);
  case T_BOOL:
    if (parse_bool(v, (int *)p)) {
      errf(err, len, "key \"%s\": \"%s\" is not true or false", o->key, v);
      return -1;
    }
    return 0;
  case T_LIST:
    return list_add_csv((srv_list *)p, v);
  }
  return -1;
}

void srv_config_defaults(srv_config *c) {
  char err[256];
  for (size_t i = 0; i < NOPTS; i++) set_text(c, &OPTS[i], OPTS[i].def, err, sizeof err);
}

void srv_config_free(srv_config *c) {
  for (size_t i = 0; i < NOPTS; i++) {
    void *p = (char *)c + OPTS[i].off;
    if (OPTS[i].type == T_STR) free(*(char **)p);
    if (OPTS[i].type == T_LIST) list_free((srv_list *)p);
  }
  free(c->config_file);
  memset(c, 0, sizeof(*c));
}

static const opt_def *find_key(const char *key) {
  for (size_t i = 0; i < NOPTS; i++)
    if (!strcmp(OPTS[i].key, key)) return &OPTS[i];
  return NULL;
}

/* --- the JSON file -------------------------------------------------------------------------- */

/* The line of the first `"key"` followed by ':' in text (1-based; 0 if not found). */
static int line_of_key(const char *text, const char *key) {
  size_t klen = strlen(key);
  for (const char *p = text; (p = strchr(p, '"')); p++) {
    if (!strncmp(p + 1, key, klen) && p[klen + 1] == '"') {
      const char *q = p + klen + 2;
      while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') q++;
      if (*q == ':') {
        int line = 1;
        for (const char *r = text; r < p; r++) line += *r == '\n';
        return line;
      }
    }
  }
  return 0;
}

static int set_json(srv_config *c, const opt_def *o, json_t *v, char *err, size_t len,
                    const char *where) {
  void *p = (char *)c + o->off;
  switch (o->type) {
  case T_INT:
    if (!json_is_integer(v)) break;
    if (int_in_range(o, json_integer_value(v), err, len, where)) return -1;
    *(int64_t *)p = json_integer_value(v);
    return 0;
  case T_NUM:
    if (!json_is_number(v) || json_number_value(v) < 0) break;
    *(double *)p = json_number_value(v);
    return 0;
  case T_STR:
    if (!json_is_string(v)) break;
    return set_str((char **)p, json_string_value(v));
  case T_BOOL:
    if (!json_is_boolean(v)) break;
    *(int *)p = json_is_true(v);
    return 0;
  case T_LIST: {
    srv_list *l = p;
    if (json_is_string(v)) {
      list_free(l);
      return list_add_csv(l, json_string_value(v));
    }
    if (!json_is_array(v)) break;
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it) if (!json_is_string(it)) {
      errf(err, len, "%skey \"%s\": item %zu is not a string", where, o->key, i);
      return -1;
    }
    list_free(l);
    json_array_foreach(
        v, i, it) if (list_add(l, json_string_value(it), json_string_length(it))) return -1;
    return 0;
  }
  }
  static const char *const want[] = {"an integer", "a number >= 0", "a string", "true or false",
                                     "a list of strings"};
  errf(err, len, "%skey \"%s\": expected %s", where, o->key, want[o->type]);
  return -1;
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n < 2) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (buf) buf[n] = 0;
  return buf;
}

int srv_config_file(srv_config *c, const char *path, char *err, size_t len) {
  char *text = read_all(path);
  if (!text) {
    errf(err, len, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  json_error_t je;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
  int rc = -1;
  if (!root) {
    errf(err, len, "%s:%d:%d: %s", path, je.line, je.column, je.text);
  } else if (!json_is_object(root)) {
    errf(err, len, "%s:1: the configuration must be a JSON object", path);
  } else {
    rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
      char where[512];
      snprintf(where, sizeof where, "%s:%d: ", path, line_of_key(text, key));
      const opt_def *o = find_key(key);
      if (!o) {
        errf(err, len, "%skey \"%s\": unknown option (sio-server --help lists them)", where, key);
        rc = -1;
        break;
      }
      if ((rc = set_json(c, o, v, err, len, where))) break;
    }
  }
  json_decref(root);
  free(text);
  return rc;
}

/* --- the command line ----------------------------------------------------------------------- */

/* "--ping-interval" -> "ping_interval" in buf; NULL if not a long option. */
static const char *flag_key(const char *arg, char *buf, size_t len) {
  if (strncmp(arg, "--", 2)) return NULL;
  size_t n = strcspn(arg + 2, "=");
  if (n + 1 > len) return NULL;
  for (size_t i = 0; i < n; i++) buf[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
  buf[n] = 0;
  return buf;
}

/* Aliases for the common singular forms. */
static const char *alias(const char *key) {
  if (!strcmp(key, "token")) return "tokens";
  if (!strcmp(key, "cors_origin")) return "cors_origins";
  if (!strcmp(key, "namespace")) return "namespaces";
  return key;
}

static int apply_flags(srv_config *c, int argc, char **argv, char *err, size_t len) {
  int lists_reset[NOPTS] = {0}; /* a list flag replaces the file's list, then appends */
  for (int i = 1; i < argc; i++) {
    char kb[64];
    const char *key = flag_key(argv[i], kb, sizeof kb);
    if (!key) {
      errf(err, len, "unexpected argument \"%s\" (sio-server --help)", argv[i]);
      return -1;
    }
    if (!strcmp(key, "config") || !strcmp(key, "check_config")) {
      if (!strchr(argv[i], '=')) i++;
      continue;
    }
    if (!strcmp(key, "help") || !strcmp(key, "version")) continue;
    const char *eq = strchr(argv[i], '=');
    int neg = !strncmp(key, "no_", 3) && find_key(key + 3) && find_key(key + 3)->type == T_BOOL;
    const opt_def *o = find_key(neg ? key + 3 : alias(key));
    if (!o) {
      errf(err, len, "unknown option --%s (sio-server --help lists them)", argv[i] + 2);
      return -1;
    }
    const char *v;
    if (o->type == T_BOOL && !eq)
      v = neg ? "false" : "true";
    else if (eq)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    else {
      errf(err, len, "option --%s needs a value", argv[i] + 2);
      return -1;
    }
    if (o->type == T_LIST && !lists_reset[o - OPTS]) {
      list_free((srv_list *)((char *)c + o->off));
      lists_reset[o - OPTS] = 1;
    }
    if (set_text(c, o, v, err, len)) return -1;
  }
  return 0;
}

/* The value of --NAME FILE or --NAME=FILE, or NULL. */
static const char *flag_value(int argc, char **argv, const char *name) {
  size_t n = strlen(name);
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], name, n)) continue;
    if (argv[i][n] == '=') return argv[i] + n + 1;
    if (!argv[i][n] && i + 1 < argc) return argv[i + 1];
  }
  return NULL;
}

static int has_flag(int argc, char **argv, const char *name) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], name)) return 1;
  return 0;
}

int srv_config_load(srv_config *c, int argc, char **argv, int *action, char *err, size_t len) {
  *action = 0;
  if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
    *action = 1;
    return 0;
  }
  if (has_flag(argc, argv, "--version")) {
    *action = 3;
    return 0;
  }
  srv_config_defaults(c);
  const char *check = flag_value(argc, argv, "--check-config");
  if (check) {
    *action = 2;
    if (srv_config_file(c, check, err, len)) return -1;
    return srv_config_validate(c, err, len);
  }
  const char *file = flag_value(argc, argv, "--config");
  if (file) {
    if (!(c->config_file = strdup(file))) return -1;
    if (srv_config_file(c, file, err, len)) return -1;
  }
  if (apply_flags(c, argc, argv, err, len)) return -1;
  return srv_config_validate(c, err, len);
}

/* --- cross-checks ---------------------------------------------------------------------------- */

static int empty(const char *s) {
  return !s || !*s;
}

static int check_url(const char *key, const char *url, char *err, size_t len) {
  if (empty(url) || !strncmp(url, "http://", 7)) return 0;
  errf(err, len, "key \"%s\": \"%s\" must be an http:// URL (put a TLS proxy in front for https)",
       key, url);
  return -1;
}

static int check_jwt(const srv_config *c, char *err, size_t len) {
  if (empty(c->jwt_alg)) {
    if (empty(c->jwt_secret) && empty(c->jwt_key_file)) return 0;
    errf(err, len, "key \"jwt_alg\": set it to HS256 or RS256 to use jwt_secret / jwt_key_file");
    return -1;
  }
  if (strcmp(c->jwt_alg, "HS256") && strcmp(c->jwt_alg, "RS256")) {
    errf(err, len, "key \"jwt_alg\": \"%s\" is not HS256 or RS256", c->jwt_alg);
    return -1;
  }
  if (!strcmp(c->jwt_alg, "RS256") && empty(c->jwt_key_file)) {
    errf(err, len, "key \"jwt_key_file\": RS256 needs the public key's PEM file");
    return -1;
  }
  if (!strcmp(c->jwt_alg, "HS256") && empty(c->jwt_secret) && empty(c->jwt_key_file)) {
    errf(err, len, "key \"jwt_secret\": HS256 needs jwt_secret or jwt_key_file");
    return -1;
  }
  return 0;
}

int srv_config_validate(const srv_config *c, char *err, size_t len) {
  if (empty(c->tls_cert) != empty(c->tls_key)) {
    errf(err, len, "key \"%s\": TLS needs both tls_cert and tls_key",
         empty(c->tls_cert) ? "tls_cert" : "tls_key");
    return -1;
  }
  const char *needs_tls = !empty(c->tls_ca)                    ? "tls_ca"
                          : !empty(c->tls_key_passphrase_file) ? "tls_key_passphrase_file"
                                                               : NULL;
  if (needs_tls && empty(c->tls_cert)) {
    errf(err, len, "key \"%s\": needs tls_cert and tls_key", needs_tls);
    return -1;
  }
  if (strcmp(c->log_format, "text") && strcmp(c->log_format, "json")) {
    errf(err, len, "key \"log_format\": \"%s\" is not text or json", c->log_format);
    return -1;
  }
  const char *lv = c->log_level;
  if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") && strcmp(lv, "error")) {
    errf(err, len, "key \"log_level\": \"%s\" is not debug, info, warn or error", lv);
    return -1;
  }
  if (empty(c->path) || c->path[0] != '/') {
    errf(err, len, "key \"path\": \"%s\" must start with /", c->path ? c->path : "");
    return -1;
  }
  for (size_t i = 0; i < c->namespaces.n; i++) {
    const char *n = c->namespaces.v[i];
    if (strcmp(n, "*") && n[0] != '/') {
      errf(err, len, "key \"namespaces\": \"%s\" must start with / (or be \"*\")", n);
      return -1;
    }
  }
  if (!empty(c->redis) && strncmp(c->redis, "redis://", 8)) {
    errf(err, len, "key \"redis\": \"%s\" is not a redis:// URL", c->redis);
    return -1;
  }
  if (c->workers != 1 && c->port == 0) {
    errf(err, len, "key \"workers\": %lld workers need a fixed port (each binds it), not 0",
         (long long)c->workers);
    return -1;
  }
  if (check_url("auth_hook", c->auth_hook, err, len)) return -1;
  if (check_url("webhook", c->webhook, err, len)) return -1;
  return check_jwt(c, err, len);
}

/* --- help ------------------------------------------------------------------------------------ */

void srv_config_help(const char *prog) {
  printf("usage: %s [--config FILE] [--OPTION VALUE ...]\n"
         "       %s --check-config FILE    validate a configuration file and exit\n\n"
         "A standalone Socket.IO server that backends push to over HTTP (POST /api/emit) or\n"
         "Redis (@socket.io/redis-emitter). Every option is a flag (--ping-interval 10000,\n"
         "--recovery / --no-recovery, lists comma-separated or repeated) and a key of the JSON\n"
         "file (\"ping_interval\": 10000); flags win. SIGHUP re-reads the file and the TLS\n"
         "certificate. docs/server.md has the details.\n\n",
         prog, prog);
  static const char *const tn[] = {"N", "X", "STR", "", "LIST"};
  for (size_t i = 0; i < NOPTS; i++) {
    char flag[64];
    size_t n = 0;
    for (const char *k = OPTS[i].key; *k && n < sizeof flag - 1; k++)
      flag[n++] = *k == '_' ? '-' : *k;
    flag[n] = 0;
    char left[96];
    snprintf(left, sizeof left, "--%s %s", flag, tn[OPTS[i].type]);
    printf("  %-28s %s [default: %s]\n", left, OPTS[i].help, *OPTS[i].def ? OPTS[i].def : "none");
  }
  printf("  %-28s %s\n", "--config FILE", "read options from a JSON file first");
  printf("  %-28s %s\n", "--check-config FILE", "validate FILE (errors give line and key)");
  printf("  %-28s %s\n", "--version", "print the version");
  printf("  %-28s %s\n", "--help", "this list");
}
