/* The opening handshake (RFC 6455 section 4.2) and permessage-deflate negotiation
 * (RFC 7692 section 7.1), on header values only so that tests can drive them directly.
 *
 * Request checks, in order: GET over HTTP/1.1, an Upgrade list containing "websocket", a
 * Connection list containing "upgrade" (both case-insensitive), version 13 (otherwise 426 and
 * the caller adds `Sec-WebSocket-Version: 13`), a key that is base64 of exactly 16 bytes.
 * The subprotocol chosen is the first one the client lists that the server supports.
 *
 * Extension offers are parsed as RFC 7230 lists of `token *(";" param)` with token or
 * quoted-string values. The first acceptable permessage-deflate offer wins; an offer with an
 * unknown or repeated parameter, a bad value, or server_max_window_bits=8 (zlib cannot deflate
 * with a 256-byte window) is skipped. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "ws/codec.h"

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

static int is_tchar(char c) {
  return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int sio__ws_token_list_has(const char *list, const char *token) {
  if (!list) return 0;
  size_t tlen = strlen(token);
  const char *p = list;
  while (*p) {
    p = skip_ws(p);
    const char *start = p;
    while (*p && *p != ',') p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0) return 1;
    if (*p == ',') p++;
  }
  return 0;
}

void sio__ws_accept_key(const char *key, size_t key_len, char out[29]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char buf[128];
  if (key_len > sizeof(buf) - (sizeof(guid) - 1)) key_len = sizeof(buf) - (sizeof(guid) - 1);
  memcpy(buf, key, key_len);
  memcpy(buf + key_len, guid, sizeof(guid) - 1);
  unsigned char sha[20];
  sio__sha1(buf, key_len + sizeof(guid) - 1, sha);
  size_t n = sio__base64_encode(out, sha, 20, 0);
  out[n] = '\0';
}

/* --- extension offers -------------------------------------------------------------------- */
#define MAX_PARAMS 8
typedef struct ext_param {
  const char *name, *value; /* value: NULL when absent; not NUL-terminated */
  size_t name_len, value_len;
} ext_param;

typedef struct ext_offer {
  const char *name;
  size_t name_len;
  ext_param params[MAX_PARAMS];
  int nparams;
  int bad; /* malformed or too many parameters */
} ext_offer;

static const char *parse_token(const char *p, const char **tok, size_t *len) {
  *tok = p;
  while (is_tchar(*p)) p++;
  *len = (size_t)(p - *tok);
  return p;
}

/* Parses one offer at p (up to ',' or end); returns where the next one starts. */
static const char *parse_offer(const char *p, ext_offer *o) {
  memset(o, 0, sizeof(*o));
  p = skip_ws(p);
  p = parse_token(p, &o->name, &o->name_len);
  if (!o->name_len) o->bad = 1;
  p = skip_ws(p);
  while (*p == ';') {
    p = skip_ws(p + 1);
    ext_param prm = {0};
    p = parse_token(p, &prm.name, &prm.name_len);
    if (!prm.name_len) o->bad = 1;
    p = skip_ws(p);
    if (*p == '=') {
      p = skip_ws(p + 1);
      if (*p == '"') {
        p++;
        prm.value = p;
        while (*p && *p != '"') {
          if (*p == '\\' && p[1]) p++;
          p++;
        }
        prm.value_len = (size_t)(p - prm.value);
        if (*p == '"')
          p++;
        else
          o->bad = 1;
      } else {
        p = parse_token(p, &prm.value, &prm.value_len);
        if (!prm.value_len) o->bad = 1;
      }
      p = skip_ws(p);
    }
    if (o->nparams < MAX_PARAMS)
      o->params[o->nparams++] = prm;
    else
      o->bad = 1;
  }
  /* anything else up to the next comma is malformed */
  if (*p && *p != ',') {
    o->bad = 1;
    while (*p && *p != ',') {
      if (*p == '"') { /* skip a quoted string that may contain commas */
        p++;
        while (*p && *p != '"') p++;
        if (!*p) break;
      }
      p++;
    }
  }
  if (*p == ',') p++;
  return p;
}

static int name_is(const char *s, size_t n, const char *lit) {
  return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* Window bits value: 8..15 written without leading zeros. -1 when bad. */
static int window_bits(const char *v, size_t n) {
  if (n == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
  if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + v[1] - '0';
  return -1;
}

/* Decides on one permessage-deflate offer. 1 accepted (out filled), 0 declined. */
static int accept_offer(const ext_offer *o, const sio__ws_pmd_opts *opts, sio__ws_pmd_params *out) {
  if (o->bad || !name_is(o->name, o->name_len, "permessage-deflate")) return 0;
  int snct = 0, cnct = 0, smwb = 0, cmwb = 0; /* seen counts */
  int server_bits = 0;
  for (int i = 0; i < o->nparams; i++) {
    const ext_param *p = &o->params[i];
    if (name_is(p->name, p->name_len, "server_no_context_takeover")) {
      if (snct++ || p->value) return 0;
    } else if (name_is(p->name, p->name_len, "client_no_context_takeover")) {
      if (cnct++ || p->value) return 0;
    } else if (name_is(p->name, p->name_len, "server_max_window_bits")) {
      if (smwb++ || !p->value) return 0;
      server_bits = window_bits(p->value, p->value_len);
      if (server_bits < 9) return 0; /* bad, or 8, which zlib cannot produce */
    } else if (name_is(p->name, p->name_len, "client_max_window_bits")) {
      if (cmwb++) return 0;
      if (p->value && window_bits(p->value, p->value_len) < 0) return 0;
    } else {
      return 0;
    }
  }
  int ours = opts->server_max_window_bits ? opts->server_max_window_bits : 15;
  if (ours < 9) ours = 9;
  if (ours > 15) ours = 15;
  memset(out, 0, sizeof(*out));
  out->server_no_context_takeover = (uint8_t)(snct || opts->server_no_context_takeover);
  out->client_no_context_takeover = (uint8_t)cnct;
  out->server_max_window_bits = (uint8_t)(server_bits && server_bits < ours ? server_bits : ours);
  out->client_max_window_bits = 0;
  /* say server_max_window_bits when asked, or when we use less than the default */
  out->say_server_bits = (uint8_t)(smwb || out->server_max_window_bits < 15);
  return 1;
}

int sio__ws_pmd_negotiate(const char *header, const sio__ws_pmd_opts *opts,
                          sio__ws_pmd_params *out) {
  if (!header || !opts || !opts->enabled) return 0;
  const char *p = header;
  while (*p) {
    ext_offer o;
    p = parse_offer(p, &o);
    if (accept_offer(&o, opts, out)) return 1;
  }
  return 0;
}

int sio__ws_pmd_format(sio__sbuf *s, const sio__ws_pmd_params *p) {
  sio__sbuf_appends(s, "permessage-deflate");
  if (p->server_no_context_takeover) sio__sbuf_appends(s, "; server_no_context_takeover");
  if (p->client_no_context_takeover) sio__sbuf_appends(s, "; client_no_context_takeover");
  if (p->say_server_bits)
    sio__sbuf_printf(s, "; server_max_window_bits=%d", p->server_max_window_bits);
  if (p->client_max_window_bits)
    sio__sbuf_printf(s, "; client_max_window_bits=%d", p->client_max_window_bits);
  return s->oom ? -12 : 0;
}

/* --- the request ------------------------------------------------------------------------- */
static int error(sio__ws_handshake_out *out, int status, const char *why) {
  out->status = status;
  out->error = why;
  return status;
}

/* Copies the trimmed header value into buf; returns its length or -1 if too long. */
static long trimmed(const char *v, char *buf, size_t cap) {
  v = skip_ws(v);
  size_t n = strlen(v);
  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  if (n >= cap) return -1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  return (long)n;
}

static const char *choose_protocol(const char *offered, const char *const *ours) {
  if (!offered || !ours) return NULL;
  const char *p = offered;
  while (*p) {
    p = skip_ws(p);
    const char *start = p;
    while (*p && *p != ',') p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = (size_t)(end - start);
    for (const char *const *o = ours; n && *o; o++)
      if (strlen(*o) == n && memcmp(*o, start, n) == 0) return *o;
    if (*p == ',') p++;
  }
  return NULL;
}

int sio__ws_handshake(const sio__ws_handshake_in *in, const char *const *protocols,
                      const sio__ws_pmd_opts *pmd, sio__ws_handshake_out *out) {
  memset(out, 0, sizeof(*out));
  if (!in->method || strcmp(in->method, "GET") != 0)
    return error(out, 400, "WebSocket upgrade needs GET");
  if (in->http_minor < 1) return error(out, 400, "WebSocket upgrade needs HTTP/1.1");
  if (!sio__ws_token_list_has(in->upgrade, "websocket"))
    return error(out, 400, "Upgrade header must be websocket");
  if (!sio__ws_token_list_has(in->connection, "upgrade"))
    return error(out, 400, "Connection header must contain upgrade");
  char buf[64];
  if (!in->version || trimmed(in->version, buf, sizeof buf) < 0 || strcmp(buf, "13") != 0)
    return error(out, 426, "Unsupported WebSocket version");
  long klen = in->key ? trimmed(in->key, buf, sizeof buf) : -1;
  unsigned char raw[64];
  if (klen != 24 || sio__base64_decode(raw, buf, (size_t)klen) != 16)
    return error(out, 400, "Invalid Sec-WebSocket-Key");
  sio__ws_accept_key(buf, (size_t)klen, out->accept);
  out->protocol = choose_protocol(in->protocols, protocols);
  if (pmd && pmd->enabled && in->extensions)
    out->deflate = sio__ws_pmd_negotiate(in->extensions, pmd, &out->pmd);
  out->status = 101;
  return 0;
}

int sio__ws_handshake_response(sio__sbuf *s, const sio__ws_handshake_out *out) {
  sio__sbuf_reserve(s, 256); /* the whole response, usually: one allocation */
  sio__sbuf_appends(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
  sio__sbuf_appends(s, out->accept);
  if (out->protocol) {
    sio__sbuf_appends(s, "\r\nSec-WebSocket-Protocol: ");
    sio__sbuf_appends(s, out->protocol);
  }
  if (out->deflate) {
    sio__sbuf_appends(s, "\r\nSec-WebSocket-Extensions: ");
    sio__ws_pmd_format(s, &out->pmd);
  }
  sio__sbuf_appends(s, "\r\n\r\n");
  return s->oom ? -12 : 0;
}
