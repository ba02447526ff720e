/* Incremental, zero-copy HTTP/1.1 request parser (see parser.h).
 *
 * Written from RFC 9112 (message syntax) and RFC 9110 (semantics):
 * - the head is scanned line by line; p->scan remembers where the search for the next LF
 *   resumes, so bytes are looked at once however the head is split across reads;
 * - lines end in CRLF; a bare LF is accepted as a line end (as Node does), a bare CR elsewhere
 *   is an invalid character;
 * - strict where ambiguity enables request smuggling: Content-Length together with
 *   Transfer-Encoding, differing Content-Length values, chunked not last, obs-fold, whitespace
 *   before the colon, control characters in values are all 400;
 * - the chunked decoder is a byte-level state machine for the framing and hands out slices of
 *   the input for chunk data. */
#include "http/parser.h"

#include <string.h>
#include <strings.h>

#include "core/codec.h"

enum { HS_LINE = 0, HS_HEADERS = 1, HS_DONE = 2 };
enum {
  CS_SIZE = 0,
  CS_SIZE_MORE,
  CS_EXT,
  CS_SIZE_LF,
  CS_DATA,
  CS_DATA_CR,
  CS_DATA_LF,
  CS_TRAILER_START,
  CS_TRAILER_LINE,
  CS_END_LF
};

#define MAX_CHUNK_LINE 4096

static int fail(sio__http_parser *p, int status, const char *reason) {
  p->status = status;
  p->reason = reason;
  return -1;
}

/* Byte classes, one table lookup per byte instead of a chain of comparisons (the head is
 * scanned byte by byte: this is most of the parser's time).
 * tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
 *         "~" / DIGIT / ALPHA
 * field-value bytes: VCHAR, SP, HTAB, obs-text
 * request-target bytes: visible ASCII (0x21..0x7e) */
enum { C_TCHAR = 1, C_VALUE = 2, C_TARGET = 4 };
#define IS_TCHAR(c)                                                                                \
  (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') ||       \
   (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||            \
   (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' ||             \
   (c) == '`' || (c) == '|' || (c) == '~')
#define CLASS(c)                                                                                   \
  ((IS_TCHAR(c) ? C_TCHAR : 0) | ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f) ? C_VALUE : 0) |     \
   ((c) > 0x20 && (c) < 0x7f ? C_TARGET : 0))
#define CLASS4(c)  CLASS(c), CLASS((c) + 1), CLASS((c) + 2), CLASS((c) + 3)
#define CLASS16(c) CLASS4(c), CLASS4((c) + 4), CLASS4((c) + 8), CLASS4((c) + 12)
#define CLASS64(c) CLASS16(c), CLASS16((c) + 16), CLASS16((c) + 32), CLASS16((c) + 48)
static const unsigned char byte_class[256] = {CLASS64(0), CLASS64(64), CLASS64(128), CLASS64(192)};

int sio__http_is_tchar(unsigned char c) {
  return byte_class[c] & C_TCHAR;
}

static int is_value_char(unsigned char c) {
  return byte_class[c] & C_VALUE;
}

void sio__http_parser_init(sio__http_parser *p, uint32_t max_head, uint32_t max_line,
                           uint64_t max_body) {
  /* The header array (most of the struct) is written as it fills and read only up to
   * n_headers: zeroing it would cost more than the rest of a small request's parse. */
  memset(p, 0, offsetof(sio__http_parser, headers));
  memset(&p->body_kind, 0, sizeof(*p) - offsetof(sio__http_parser, body_kind));
  p->max_head = max_head ? max_head : 16384;
  p->max_line = max_line ? max_line : 8192;
  p->max_body = max_body ? max_body : (1u << 20);
}

void sio__http_parser_reset(sio__http_parser *p) {
  uint32_t mh = p->max_head, ml = p->max_line;
  uint64_t mb = p->max_body;
  /* Clear only what the next request reads: the header array is overwritten as it fills. */
  memset(p, 0, offsetof(sio__http_parser, headers));
  memset(&p->body_kind, 0, sizeof(*p) - offsetof(sio__http_parser, body_kind));
  p->max_head = mh;
  p->max_line = ml;
  p->max_body = mb;
}

/* 1 if every byte of s[0..n) may appear in a field value. Eight bytes at a time: a word with
 * no byte below 0x20 and no 0x7f passes at once (bytes from 0x80 are obs-text, allowed); only
 * a word holding a tab or a bad byte is looked at byte by byte. */
static int all_value_chars(const char *s, size_t n) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, d;
    memcpy(&x, s + i, 8);
    d = x ^ (0x7f * ones);
    /* a byte below 0x20 in x, or a zero byte in d (a 0x7f in x) */
    if ((((x - 0x20 * ones) & ~x) | ((d - ones) & ~d)) & highs) break;
  }
  for (; i < n; i++)
    if (!is_value_char((unsigned char)s[i])) return 0;
  return 1;
}

/* start..end is a line without its CR LF; buf[end] is that CR or LF, which is in no byte class,
 * so scans of a class stop there without a bound check. */
static int parse_request_line(sio__http_parser *p, const char *buf, size_t start, size_t end) {
  size_t i = start;
  while (byte_class[(unsigned char)buf[i]] & C_TCHAR) i++; /* stops at buf[end] (see above) */
  if (i == start || i >= end || buf[i] != ' ') return fail(p, 400, "Invalid request method");
  p->method.off = (uint32_t)start;
  p->method.len = (uint32_t)(i - start);
  size_t t = ++i;
  while (byte_class[(unsigned char)buf[i]] & C_TARGET) i++; /* stops at ' ' or buf[end] */
  if (i < end && buf[i] != ' ') return fail(p, 400, "Invalid character in request target");
  if (i == t) return fail(p, 400, "Empty request target");
  if (i >= end) return fail(p, 400, "Missing HTTP version");
  p->target.off = (uint32_t)t;
  p->target.len = (uint32_t)(i - t);
  i++;
  const char *v = buf + i;
  if (end - i != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
      v[7] < '0' || v[7] > '9')
    return fail(p, 400, "Invalid HTTP version");
  if (v[5] != '1') return fail(p, 505, "HTTP version not supported");
  p->minor = v[7] == '0' ? 0 : 1; /* HTTP/1.x with x > 1 is served as 1.1 (RFC 9110 2.5) */
  return 0;
}

static int parse_header_line(sio__http_parser *p, const char *buf, size_t start, size_t end) {
  if (buf[start] == ' ' || buf[start] == '\t')
    return fail(p, 400, "Obsolete line folding is not allowed");
  if (p->n_headers >= SIO__HTTP_MAX_HEADERS) return fail(p, 431, "Too many header fields");
  size_t i = start;
  while (byte_class[(unsigned char)buf[i]] & C_TCHAR) i++; /* stops at buf[end] (see above) */
  if (i >= end || buf[i] != ':' || i == start) return fail(p, 400, "Invalid header field name");
  sio__http_header *h = &p->headers[p->n_headers++];
  h->name.off = (uint32_t)start;
  h->name.len = (uint32_t)(i - start);
  i++;
  while (i < end && (buf[i] == ' ' || buf[i] == '\t')) i++;
  size_t vs = i;
  if (!all_value_chars(buf + i, end - i))
    return fail(p, 400, "Invalid character in header field value");
  size_t ve = end;
  while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) ve--;
  h->value.off = (uint32_t)vs;
  h->value.len = (uint32_t)(ve - vs);
  return 0;
}

/* 1 if s[0..n) equals the lower-case literal lit (ASCII case-insensitive): inline, as the
 * names compared are a few bytes long and a libc call costs more than the comparison. */
static int ieq_lower(const char *s, const char *lit, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((unsigned)(c - 'A') < 26u) c = (unsigned char)(c + ('a' - 'A'));
    if (c != (unsigned char)lit[i]) return 0;
  }
  return 1;
}

static int name_is(const char *buf, const sio__http_header *h, const char *name) {
  size_t n = strlen(name);
  return h->name.len == n && strncasecmp(buf + h->name.off, name, n) == 0;
}

/* finish_head's names: lower-case literals whose length the switch already matched */
#define NAME_IS(lit) ieq_lower(buf + h->name.off, lit, sizeof(lit) - 1)

/* The next non-empty element of a comma-separated list at or after *pos, OWS trimmed: sets
 * *tok and *len and returns 1, or returns 0 at the end of the list. */
static int next_list_item(const char *v, size_t n, size_t *pos, const char **tok, size_t *len) {
  size_t i = *pos;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t s = i;
    while (i < n && v[i] != ',') i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e > s) {
      *pos = i;
      *tok = v + s;
      *len = e - s;
      return 1;
    }
  }
  *pos = i;
  return 0;
}

/* Calls fn for each non-empty element of a comma-separated list (OWS trimmed). */
typedef int (*list_fn)(sio__http_parser *p, const char *tok, size_t n, void *arg);
static int each_list_item(sio__http_parser *p, const char *v, size_t n, list_fn fn, void *arg) {
  const char *tok;
  size_t len, i = 0;
  while (next_list_item(v, n, &i, &tok, &len))
    if (fn(p, tok, len, arg) < 0) return -1;
  return 0;
}

int sio__http_list_has(const char *value, size_t n, const char *token) {
  const char *tok;
  size_t len, tl = strlen(token), i = 0;
  while (next_list_item(value, n, &i, &tok, &len))
    if (len == tl && strncasecmp(tok, token, tl) == 0) return 1;
  return 0;
}

/* The Connection options the parser acts on, from one pass over the list (the same items
 * sio__http_list_has would find for each). */
static void connection_options(const char *v, size_t n, int *close, int *keep, int *upgrade) {
  const char *tok;
  size_t len, i = 0;
  while (next_list_item(v, n, &i, &tok, &len)) {
    if (len == 5 && ieq_lower(tok, "close", 5))
      *close = 1;
    else if (len == 10 && ieq_lower(tok, "keep-alive", 10))
      *keep = 1;
    else if (len == 7 && ieq_lower(tok, "upgrade", 7))
      *upgrade = 1;
  }
}

typedef struct cl_state {
  int seen;
  uint64_t value;
} cl_state;

static int on_cl_item(sio__http_parser *p, const char *tok, size_t n, void *arg) {
  cl_state *cl = arg;
  uint64_t v;
  for (size_t i = 0; i < n; i++)
    if (tok[i] < '0' || tok[i] > '9') return fail(p, 400, "Invalid Content-Length");
  if (sio__parse_u64(tok, n, &v) < 0) return fail(p, 400, "Invalid Content-Length");
  if (cl->seen && cl->value != v) return fail(p, 400, "Conflicting Content-Length values");
  cl->seen = 1;
  cl->value = v;
  return 0;
}

typedef struct te_state {
  int seen, chunked, unknown;
} te_state;

static int on_te_item(sio__http_parser *p, const char *tok, size_t n, void *arg) {
  te_state *te = arg;
  te->seen = 1;
  /* a transfer-coding may carry parameters: "gzip;q=1" names gzip */
  size_t tl = 0;
  while (tl < n && tok[tl] != ';' && tok[tl] != ' ' && tok[tl] != '\t') tl++;
  if (te->chunked) return fail(p, 400, "chunked must be the last transfer-coding");
  if (tl == 7 && strncasecmp(tok, "chunked", 7) == 0)
    te->chunked = 1;
  else
    te->unknown = 1;
  return 0;
}

static int finish_head(sio__http_parser *p, const char *buf) {
  cl_state cl = {0, 0};
  te_state te = {0, 0, 0};
  int hosts = 0, close = 0, keep = 0;
  for (uint16_t i = 0; i < p->n_headers; i++) {
    const sio__http_header *h = &p->headers[i];
    const char *v = buf + h->value.off;
    size_t vn = h->value.len;
    switch (h->name.len) {
    case 4:
      if (NAME_IS("host")) hosts++;
      break;
    case 6:
      if (NAME_IS("expect")) {
        if (vn == 12 && ieq_lower(v, "100-continue", 12))
          p->expect_continue = 1;
        else
          return fail(p, 417, "Unsupported expectation");
      }
      break;
    case 7:
      if (NAME_IS("upgrade") && vn) p->upgrade = 1;
      break;
    case 10:
      if (NAME_IS("connection")) {
        int upgrade = 0;
        connection_options(v, vn, &close, &keep, &upgrade);
        if (upgrade) p->conn_upgrade = 1;
      }
      break;
    case 14:
      if (NAME_IS("content-length")) {
        if (vn == 0) return fail(p, 400, "Invalid Content-Length");
        if (each_list_item(p, v, vn, on_cl_item, &cl) < 0) return -1;
      }
      break;
    case 17:
      if (NAME_IS("transfer-encoding")) {
        if (each_list_item(p, v, vn, on_te_item, &te) < 0) return -1;
        if (vn == 0) te.seen = 1;
      }
      break;
    default:
      break;
    }
  }
  if (te.seen && cl.seen)
    return fail(p, 400, "Both Content-Length and Transfer-Encoding are present");
  if (te.unknown) return fail(p, 501, "Unsupported transfer-coding");
  if (te.seen && !te.chunked) return fail(p, 400, "Transfer-Encoding must end with chunked");
  if (p->minor == 1 && hosts != 1)
    return fail(p, 400, hosts ? "Multiple Host headers" : "Missing Host header");
  if (hosts > 1) return fail(p, 400, "Multiple Host headers");
  p->keep_alive = p->minor == 1 ? !close : (keep && !close);
  if (te.seen && p->minor == 0) p->keep_alive = 0; /* RFC 9112 6.1: close after */
  if (te.chunked) {
    p->body_kind = SIO__BODY_CHUNKED;
    p->chunk_state = CS_SIZE;
  } else if (cl.seen && cl.value > 0) {
    if (cl.value > p->max_body) return fail(p, 413, "Request body too large");
    p->body_kind = SIO__BODY_LENGTH;
    p->content_length = p->remaining = cl.value;
  } else {
    p->body_kind = SIO__BODY_NONE;
    p->body_done = 1;
  }
  p->head_state = HS_DONE;
  return 0;
}

long sio__http_parse_head(sio__http_parser *p, const char *buf, size_t len) {
  if (p->status) return -1;
  if (p->head_state == HS_DONE) return p->scan;
  for (;;) {
    const char *lf = p->scan < len ? memchr(buf + p->scan, '\n', len - p->scan) : NULL;
    if (!lf) {
      p->scan = (uint32_t)(len < UINT32_MAX ? len : UINT32_MAX);
      if (p->head_state == HS_LINE && len - p->line_start > p->max_line)
        return fail(p, 414, "Request line too long");
      if (len > p->max_head) return fail(p, 431, "Request header fields too large");
      return 0;
    }
    size_t lf_off = (size_t)(lf - buf), start = p->line_start, end = lf_off;
    if (end > start && buf[end - 1] == '\r') end--;
    p->scan = p->line_start = (uint32_t)(lf_off + 1);
    if (p->head_state == HS_LINE) {
      if (end - start > p->max_line) return fail(p, 414, "Request line too long");
      if (lf_off + 1 > p->max_head) return fail(p, 431, "Request header fields too large");
      if (end == start) continue; /* empty lines before the request line are ignored */
      if (parse_request_line(p, buf, start, end) < 0) return -1;
      p->head_state = HS_HEADERS;
      continue;
    }
    if (lf_off + 1 > p->max_head) return fail(p, 431, "Request header fields too large");
    if (end == start) {
      if (finish_head(p, buf) < 0) return -1;
      return (long)p->scan;
    }
    if (parse_header_line(p, buf, start, end) < 0) return -1;
  }
}

static void end_size_line(sio__http_parser *p) {
  p->trailer_bytes = 0;
  if (p->remaining == 0)
    p->chunk_state = CS_TRAILER_START;
  else
    p->chunk_state = CS_DATA;
}

long sio__http_body(sio__http_parser *p, const char *in, size_t len, const char **out,
                    size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (p->status) return -1;
  if (p->body_done) return 0;
  if (p->body_kind == SIO__BODY_LENGTH) {
    size_t n = len < p->remaining ? len : (size_t)p->remaining;
    *out = in;
    *out_len = n;
    p->remaining -= n;
    p->body_total += n;
    if (p->remaining == 0) p->body_done = 1;
    return (long)n;
  }
  size_t i = 0;
  while (i < len && !p->body_done) {
    unsigned char c = (unsigned char)in[i];
    switch (p->chunk_state) {
    case CS_SIZE:
    case CS_SIZE_MORE: {
      int h = sio__hex_value(c);
      if (h >= 0) {
        if (p->chunk_digits >= 16) return fail(p, 400, "Chunk size too large");
        p->remaining = (p->remaining << 4) | (uint64_t)h;
        if (p->remaining) p->chunk_digits++;
        p->chunk_state = CS_SIZE_MORE;
        i++;
        break;
      }
      if (p->chunk_state == CS_SIZE) return fail(p, 400, "Invalid chunk size");
      if (p->body_total + p->remaining > p->max_body) return fail(p, 413, "Request body too large");
      if (c == ';' || c == ' ' || c == '\t') {
        p->chunk_state = CS_EXT;
        i++;
      } else if (c == '\r') {
        p->chunk_state = CS_SIZE_LF;
        i++;
      } else if (c == '\n') {
        i++;
        end_size_line(p);
      } else {
        return fail(p, 400, "Invalid chunk size");
      }
      break;
    }
    case CS_EXT:
      if (++p->trailer_bytes > MAX_CHUNK_LINE) return fail(p, 400, "Chunk extension too long");
      if (c == '\r') {
        p->chunk_state = CS_SIZE_LF;
      } else if (c == '\n') {
        end_size_line(p);
      } else if (!is_value_char(c)) {
        return fail(p, 400, "Invalid character in chunk extension");
      }
      i++;
      break;
    case CS_SIZE_LF:
      if (c != '\n') return fail(p, 400, "Invalid chunk size line ending");
      i++;
      end_size_line(p);
      break;
    case CS_DATA: {
      size_t n = len - i < p->remaining ? len - i : (size_t)p->remaining;
      *out = in + i;
      *out_len = n;
      p->remaining -= n;
      p->body_total += n;
      i += n;
      if (p->remaining == 0) p->chunk_state = CS_DATA_CR;
      return (long)i;
    }
    case CS_DATA_CR:
      if (c == '\r')
        p->chunk_state = CS_DATA_LF;
      else if (c == '\n')
        p->chunk_state = CS_SIZE, p->chunk_digits = 0;
      else
        return fail(p, 400, "Missing CRLF after chunk data");
      i++;
      break;
    case CS_DATA_LF:
      if (c != '\n') return fail(p, 400, "Missing CRLF after chunk data");
      p->chunk_state = CS_SIZE;
      p->chunk_digits = 0;
      i++;
      break;
    case CS_TRAILER_START:
      if (c == '\r') {
        p->chunk_state = CS_END_LF;
      } else if (c == '\n') {
        p->body_done = 1;
      } else if (sio__http_is_tchar(c)) {
        p->chunk_state = CS_TRAILER_LINE;
      } else {
        return fail(p, 400, "Invalid trailer field");
      }
      if (++p->trailer_bytes > p->max_head) return fail(p, 431, "Request header fields too large");
      i++;
      break;
    case CS_TRAILER_LINE:
      if (++p->trailer_bytes > p->max_head) return fail(p, 431, "Request header fields too large");
      if (c == '\n')
        p->chunk_state = CS_TRAILER_START;
      else if (c != '\r' && !is_value_char(c))
        return fail(p, 400, "Invalid character in trailer field");
      i++;
      break;
    case CS_END_LF:
      if (c != '\n') return fail(p, 400, "Invalid end of chunked body");
      p->body_done = 1;
      i++;
      break;
    }
  }
  return (long)i;
}

const sio__http_header *sio__http_find(const sio__http_parser *p, const char *buf,
                                       const char *name) {
  for (uint16_t i = 0; i < p->n_headers; i++)
    if (name_is(buf, &p->headers[i], name)) return &p->headers[i];
  return NULL;
}
