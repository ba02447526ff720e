/* JavaScript string and object rules for the JSON <-> MessagePack conversions (see jsstr.h).
 * JSON strings with escapes are read into UTF-16 code units, which is what a JS string is, and
 * written back out by one of three encoders: notepack's short-string writer, Buffer's writer,
 * or generalized UTF-8 for comparing keys. */
#include "cluster/jsstr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/msgpack.h"

static const char replacement[3] = {'\xef', '\xbf', '\xbd'};

/* Bytes of the UTF-8 sequence led by c and the allowed range of its second byte; 0 if c can't
 * lead one. */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80, *hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) {
    if (c == 0xe0) *lo = 0xa0;
    if (c == 0xed) *hi = 0x9f;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c == 0xf0) *lo = 0x90;
    if (c == 0xf4) *hi = 0x8f;
    return 4;
  }
  return 0;
}

/* Length of the well-formed sequence at b (0 if ill-formed), and in *bad the length of the
 * maximal subpart to replace when it is ill-formed. */
static size_t utf8_seq(const unsigned char *b, size_t avail, size_t *bad) {
  unsigned char lo, hi;
  int need = utf8_lead(b[0], &lo, &hi);
  *bad = 1;
  if (!need) return 0;
  for (int k = 1; k < need; k++) {
    if ((size_t)k >= avail || b[k] < lo || b[k] > hi) return 0;
    *bad = (size_t)k + 1;
    lo = 0x80, hi = 0xbf;
  }
  return (size_t)need;
}

int sio__js_utf8_sanitize(sio__sbuf *out, const void *bytes, size_t len) {
  const unsigned char *b = bytes;
  size_t i = 0, run = 0;
  while (i < len) {
    if (b[i] < 0x80) {
      i++;
      continue;
    }
    size_t bad, k = utf8_seq(b + i, len - i, &bad);
    if (k) {
      i += k;
      continue;
    }
    sio__sbuf_append(out, b + run, i - run);
    sio__sbuf_append(out, replacement, 3);
    i += bad;
    run = i;
  }
  return sio__sbuf_append(out, b + run, len - run) ? -ENOMEM : 0;
}

int sio__js_utf8_valid(const void *bytes, size_t len) {
  const unsigned char *b = bytes;
  for (size_t i = 0, bad; i < len;) {
    size_t k = b[i] < 0x80 ? 1 : utf8_seq(b + i, len - i, &bad);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

/* ---- JSON string -> UTF-16 code units ---- */

static int hexval(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void push_unit(sio__sbuf *u, uint32_t unit) {
  uint16_t v = (uint16_t)unit;
  sio__sbuf_append(u, &v, 2);
}

static void push_code_point(sio__sbuf *u, uint32_t cp) {
  if (cp < 0x10000) return push_unit(u, cp);
  cp -= 0x10000;
  push_unit(u, 0xd800 | (cp >> 10));
  push_unit(u, 0xdc00 | (cp & 0x3ff));
}

/* Decodes a well-formed UTF-8 sequence of k bytes. */
static uint32_t utf8_decode(const unsigned char *b, size_t k) {
  uint32_t cp = b[0] & (0x7f >> k);
  for (size_t i = 1; i < k; i++) cp = cp << 6 | (b[i] & 0x3f);
  return cp;
}

static char escape_char(char c) {
  switch (c) {
  case 'b':
    return '\b';
  case 'f':
    return '\f';
  case 'n':
    return '\n';
  case 'r':
    return '\r';
  case 't':
    return '\t';
  default:
    return c; /* '"', '\\', '/' */
  }
}

/* The units of a validated JSON string slice (quotes included), appended to u. */
static int json_units(sio__sbuf *u, const char *s, size_t n) {
  const unsigned char *b = (const unsigned char *)s;
  for (size_t i = 1; i + 1 < n;) {
    if (b[i] == '\\') {
      if (b[i + 1] == 'u') {
        uint32_t v = 0;
        for (int k = 2; k < 6; k++) v = v << 4 | (uint32_t)hexval(s[i + (size_t)k]);
        push_unit(u, v);
        i += 6;
      } else {
        push_unit(u, (unsigned char)escape_char(s[i + 1]));
        i += 2;
      }
    } else if (b[i] < 0x80) {
      push_unit(u, b[i++]);
    } else {
      size_t bad, k = utf8_seq(b + i, n - 1 - i, &bad);
      if (!k) k = 1; /* cannot happen in a validated slice */
      push_code_point(u, utf8_decode(b + i, k));
      i += k;
    }
  }
  return u->oom ? -ENOMEM : 0;
}

/* ---- UTF-16 code units -> bytes ---- */

enum units_mode {
  UNITS_NOTEPACK, /* notepack's utf8Write: any surrogate takes the next unit as its low half */
  UNITS_BUFFER,   /* Buffer#write: a lone surrogate becomes U+FFFD */
  UNITS_WTF8,     /* a lone surrogate as its own 3-byte sequence */
};

static int is_high(uint16_t c) {
  return c >= 0xd800 && c < 0xdc00;
}
static int is_low(uint16_t c) {
  return c >= 0xdc00 && c < 0xe000;
}

static size_t put_utf8(uint8_t *d, uint32_t c) {
  if (c < 0x80) return d[0] = (uint8_t)c, 1;
  if (c < 0x800) return d[0] = (uint8_t)(0xc0 | c >> 6), d[1] = (uint8_t)(0x80 | (c & 0x3f)), 2;
  if (c < 0x10000) {
    d[0] = (uint8_t)(0xe0 | c >> 12), d[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
    d[2] = (uint8_t)(0x80 | (c & 0x3f));
    return 3;
  }
  d[0] = (uint8_t)(0xf0 | c >> 18), d[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
  d[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)), d[3] = (uint8_t)(0x80 | (c & 0x3f));
  return 4;
}

/* Writes units to d (NULL: only counts) and returns the byte count. */
static size_t units_encode(uint8_t *d, const uint16_t *u, size_t n, enum units_mode mode) {
  uint8_t tmp[4];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = u[i];
    if (c >= 0xd800 && c < 0xe000) {
      if (mode == UNITS_NOTEPACK) {
        uint32_t next = ++i < n ? u[i] : 0;
        c = 0x10000 + (((c & 0x3ff) << 10) | (next & 0x3ff));
      } else if (is_high(u[i]) && i + 1 < n && is_low(u[i + 1])) {
        c = 0x10000 + (((c & 0x3ff) << 10) | (u[i + 1] & 0x3ff));
        i++;
      } else if (mode == UNITS_BUFFER) {
        c = 0xfffd;
      }
    }
    size_t k = put_utf8(d ? d + len : tmp, c);
    len += k;
  }
  return len;
}

/* notepack's bytes for a JS string of nu units, header included. encode() picks the header's
 * length by one test (utf8Length up to 32 units, Buffer.byteLength above) and the writer by
 * another: a key always goes through utf8Write (into its cached buffer of that length, which
 * drops what overflows), a value through utf8Write when its length is at most 32 bytes, else
 * through Buffer#write, which stops before a character that does not fit. The two can disagree
 * only for strings with lone surrogates; where Node then leaves bytes of its unsafe allocation
 * unwritten, we write zeros. */
static int notepack_units(sio__sbuf *out, const uint16_t *u, size_t nu, int key) {
  size_t qlen = units_encode(NULL, u, nu, UNITS_NOTEPACK);
  size_t blen = units_encode(NULL, u, nu, UNITS_BUFFER);
  size_t len = nu > 32 ? blen : qlen;
  enum units_mode mode = key || len <= 32 ? UNITS_NOTEPACK : UNITS_BUFFER;
  size_t full = mode == UNITS_NOTEPACK ? qlen : blen, keep = len;
  int rc = sio__mp_put_str_header(out, len);
  if (rc) return rc;
  if (sio__sbuf_reserve(out, (full > len ? full : len) + 1)) return -ENOMEM;
  uint8_t *d = (uint8_t *)out->data + out->len;
  units_encode(d, u, nu, mode);
  if (full < len) {
    keep = full;
  } else if (mode == UNITS_BUFFER) {
    while (keep > 0 && keep < full && (d[keep] & 0xc0) == 0x80) keep--;
  }
  memset(d + keep, 0, len - keep);
  out->len += len;
  out->data[out->len] = 0;
  return 0;
}

/* Reads the slice into units, then appends notepack's bytes (or, for key_form, the units as
 * generalized UTF-8, no header). */
static int units_out(sio__sbuf *out, const char *s, size_t n, int key, int key_form) {
  sio__sbuf ub = SIO__SBUF_INIT;
  int rc = json_units(&ub, s, n);
  const uint16_t *u = (const uint16_t *)(ub.data ? ub.data : "");
  size_t nu = ub.len / 2;
  if (!rc && !key_form) rc = notepack_units(out, u, nu, key);
  if (!rc && key_form) {
    size_t len = units_encode(NULL, u, nu, UNITS_WTF8);
    if (sio__sbuf_reserve(out, len + 1)) {
      rc = -ENOMEM;
    } else {
      units_encode((uint8_t *)out->data + out->len, u, nu, UNITS_WTF8);
      out->len += len;
      out->data[out->len] = 0;
    }
  }
  sio__sbuf_free(&ub);
  return rc;
}

int sio__js_put_json_string(sio__sbuf *out, const char *s, size_t n, int key) {
  if (!memchr(s, '\\', n)) return sio__mp_put_str(out, s + 1, n - 2);
  return units_out(out, s, n, key, 0);
}

int sio__js_json_key(sio__sbuf *out, const char *s, size_t n) {
  if (!memchr(s, '\\', n)) return sio__sbuf_append(out, s + 1, n - 2) ? -ENOMEM : 0;
  return units_out(out, s, n, 1, 1);
}

/* ---- object member order ---- */

/* An array index: "0", or up to 10 digits without a leading zero, at most 2^32 - 2. */
static int is_index(const char *k, size_t n) {
  if (n == 0 || n > 10 || (k[0] == '0' && n > 1)) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] < '0' || k[i] > '9') return 0;
    v = v * 10 + (uint64_t)(k[i] - '0');
  }
  return v <= 4294967294ull;
}

static int cmp_key_then_first(const void *a, const void *b, void *ctx) {
  const sio__js_member *x = a, *y = b;
  const char *keys = ctx;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(keys + x->key_off, keys + y->key_off, n);
  if (c) return c;
  if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
  return x->first < y->first ? -1 : x->first > y->first;
}

static int cmp_js_order(const void *a, const void *b, void *ctx) {
  const sio__js_member *x = a, *y = b;
  const char *keys = ctx;
  int xi = is_index(keys + x->key_off, x->key_len), yi = is_index(keys + y->key_off, y->key_len);
  if (xi != yi) return xi ? -1 : 1;
  if (xi && x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
  if (xi) return memcmp(keys + x->key_off, keys + y->key_off, x->key_len);
  return x->first < y->first ? -1 : x->first > y->first;
}

static int same_key(const sio__js_member *a, const sio__js_member *b, const char *keys) {
  return a->key_len == b->key_len && !memcmp(keys + a->key_off, keys + b->key_off, a->key_len);
}

/* The common case, a small object written by JS: no index key, no repeated key, no __proto__
 * to drop. Then insertion order is the order (and no sort is needed). */
static int already_ordered(const sio__js_member *m, size_t n, const char *keys, int drop_proto) {
  if (n > 16) return 0;
  for (size_t i = 0; i < n; i++) {
    const char *k = keys + m[i].key_off;
    if (m[i].key_len && k[0] >= '0' && k[0] <= '9' && is_index(k, m[i].key_len)) return 0;
    if (drop_proto && m[i].key_len == 9 && !memcmp(k, "__proto__", 9)) return 0;
    for (size_t j = 0; j < i; j++)
      if (same_key(&m[i], &m[j], keys)) return 0;
  }
  return 1;
}

size_t sio__js_order_members(sio__js_member *m, size_t n, const char *keys, int drop_proto) {
  size_t kept = 0;
  if (already_ordered(m, n, keys, drop_proto)) return n;
  if (n > 1) qsort_r(m, n, sizeof *m, cmp_key_then_first, (void *)keys);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && same_key(&m[j], &m[i], keys)) j++;
    sio__js_member w = m[i];
    w.value = m[j - 1].value; /* the last value, in the first place */
    if (!(drop_proto && w.key_len == 9 && !memcmp(keys + w.key_off, "__proto__", 9))) m[kept++] = w;
    i = j;
  }
  if (kept > 1) qsort_r(m, kept, sizeof *m, cmp_js_order, (void *)keys);
  return kept;
}
