/* Strict JSON scanner (RFC 8259) without a tree, plus slice accessors, a JSON.stringify-style
 * string escaper and conversions to and from jansson. See json.h for why slices.
 *
 * The validator is a recursive descent parser bounded by a depth limit (<= 1024 frames of a few
 * words). It checks the grammar exactly (no leading zeros, no trailing commas, no bare control
 * characters in strings, escapes limited to the eight RFC ones and \uXXXX) and that the bytes
 * are well-formed UTF-8. Escaped lone surrogates are accepted: they are valid JSON text. */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* --- validation --------------------------------------------------------------------------- */

typedef struct scanner {
  const char *s;
  size_t n;
  size_t pos;
  int depth_left;
  int nc; /* something seen that JSON.stringify would write differently (see slice.canon) */
} scanner;

static inline void skip_ws(scanner *sc) {
  size_t p = sc->pos;
  if (p < sc->n && (unsigned char)sc->s[p] > ' ') return; /* the usual case: none */
  while (p < sc->n) {
    char c = sc->s[p];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p++;
  }
  if (p != sc->pos) {
    sc->nc = 1;
    sc->pos = p;
  }
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Length of the well-formed UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) need = 2;
  else if (c == 0xED) need = 2, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) need = 2;
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) need = 3, hi = 0x8F;
  else return 0;
  if (avail < need + 1) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i <= need; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return need + 1;
}

/* Bytes a string scan must look at: '"', '\\', control characters and non-ASCII. Eight at a
 * time: the lowest flagged byte of the mask is exact (a borrow only propagates upwards), so
 * the count of plain bytes before the first special one is exact too. */
#define SIO__ONES 0x0101010101010101ULL
#define SIO__HIGH 0x8080808080808080ULL
static inline uint64_t special_bytes(uint64_t w) {
  uint64_t q = w ^ (SIO__ONES * '"'), b = w ^ (SIO__ONES * '\\');
  uint64_t ctl = (w - SIO__ONES * 0x20) & ~w; /* < 0x20 */
  uint64_t quote = (q - SIO__ONES) & ~q, bslash = (b - SIO__ONES) & ~b;
  return (ctl | quote | bslash | w) & SIO__HIGH;
}

/* Plain bytes from i on (stops at the first byte the scanner has to look at, or near n). */
static inline size_t skip_plain(const unsigned char *s, size_t i, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (i + 8 <= n) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    uint64_t m = special_bytes(w);
    if (m) return i + ((size_t)__builtin_ctzll(m) >> 3);
    i += 8;
  }
#endif
  (void)s;
  (void)n;
  return i;
}

static int scan_string(scanner *sc) {
  const unsigned char *s = (const unsigned char *)sc->s;
  size_t i = sc->pos + 1; /* past the opening quote */
  while (i < sc->n) {
    i = skip_plain(s, i, sc->n);
    if (i >= sc->n) break;
    unsigned char c = s[i];
    if (c == '"') {
      sc->pos = i + 1;
      return 0;
    }
    if (c < 0x20) return -EINVAL;
    if (c == '\\') {
      if (i + 1 >= sc->n) return -EINVAL;
      unsigned char e = s[i + 1];
      if (e == 'u') {
        if (i + 6 > sc->n) return -EINVAL;
        for (int k = 2; k < 6; k++)
          if (hexval(s[i + k]) < 0) return -EINVAL;
        i += 6;
        sc->nc = 1;
      } else if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                 e == 't') {
        i += 2;
      } else if (e == '/') {
        i += 2;
        sc->nc = 1;
      } else {
        return -EINVAL;
      }
    } else if (c >= 0x80) {
      size_t k = utf8_seq(s + i, sc->n - i);
      if (!k) return -EINVAL;
      i += k;
    } else {
      i++;
    }
  }
  return -EINVAL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int scan_number(scanner *sc) {
  const char *s = sc->s;
  size_t i = sc->pos, n = sc->n;
  if (i < n && s[i] == '-') i++;
  if (i >= n) return -EINVAL;
  size_t int_start = i;
  if (s[i] == '0') {
    i++;
    if (i - sc->pos == 2) sc->nc = 1; /* -0 is written 0 */
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) i++;
    if (i - int_start > 15) sc->nc = 1; /* may not survive a double */
  } else {
    return -EINVAL;
  }
  if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) sc->nc = 1;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !is_digit(s[i])) return -EINVAL;
    while (i < n && is_digit(s[i])) i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !is_digit(s[i])) return -EINVAL;
    while (i < n && is_digit(s[i])) i++;
  }
  sc->pos = i;
  return 0;
}

static int scan_literal(scanner *sc, const char *lit, size_t len) {
  if (sc->n - sc->pos < len || memcmp(sc->s + sc->pos, lit, len) != 0) return -EINVAL;
  sc->pos += len;
  return 0;
}

static int scan_value(scanner *sc, sio__json_slice *out);

static int scan_container(scanner *sc, char close) {
  if (sc->depth_left-- <= 0) return -EINVAL;
  sc->pos++; /* the opening bracket */
  skip_ws(sc);
  if (sc->pos < sc->n && sc->s[sc->pos] == close) {
    sc->pos++;
    sc->depth_left++;
    return 0;
  }
  /* object keys, to tell whether one repeats (JSON.parse keeps its last value) */
  uint32_t koff[8], klen[8];
  unsigned nk = 0;
  for (;;) {
    if (close == '}') {
      if (sc->pos >= sc->n || sc->s[sc->pos] != '"') return -EINVAL;
      size_t kstart = sc->pos;
      if (scan_string(sc)) return -EINVAL;
      if (!sc->nc) {
        if (nk < 8 && sc->pos - kstart < UINT32_MAX) {
          koff[nk] = (uint32_t)kstart;
          klen[nk++] = (uint32_t)(sc->pos - kstart);
        } else {
          sc->nc = 1;
        }
      }
      skip_ws(sc);
      if (sc->pos >= sc->n || sc->s[sc->pos] != ':') return -EINVAL;
      sc->pos++;
      skip_ws(sc);
    }
    if (scan_value(sc, NULL)) return -EINVAL;
    skip_ws(sc);
    if (sc->pos >= sc->n) return -EINVAL;
    char c = sc->s[sc->pos++];
    if (c == close) break;
    if (c != ',') return -EINVAL;
    skip_ws(sc);
  }
  for (unsigned x = 0; !sc->nc && x + 1 < nk; x++)
    for (unsigned y = x + 1; y < nk; y++)
      if (klen[x] == klen[y] && memcmp(sc->s + koff[x], sc->s + koff[y], klen[x]) == 0) {
        sc->nc = 1;
        break;
      }
  sc->depth_left++;
  return 0;
}

/* Scans one value at sc->pos (no leading whitespace). */
static int scan_value(scanner *sc, sio__json_slice *out) {
  if (sc->pos >= sc->n) return -EINVAL;
  size_t start = sc->pos;
  sio__json_type t;
  int rc;
  switch (sc->s[sc->pos]) {
  case '{': t = SIO__JSON_OBJECT, rc = scan_container(sc, '}'); break;
  case '[': t = SIO__JSON_ARRAY, rc = scan_container(sc, ']'); break;
  case '"': t = SIO__JSON_STRING, rc = scan_string(sc); break;
  case 't': t = SIO__JSON_TRUE, rc = scan_literal(sc, "true", 4); break;
  case 'f': t = SIO__JSON_FALSE, rc = scan_literal(sc, "false", 5); break;
  case 'n': t = SIO__JSON_NULL, rc = scan_literal(sc, "null", 4); break;
  default: t = SIO__JSON_NUMBER, rc = scan_number(sc); break;
  }
  if (rc) return rc;
  if (out) *out = (sio__json_slice){start, sc->pos - start, t, 0};
  return 0;
}

static int depth_of(int max_depth) {
  if (max_depth <= 0) return SIO__JSON_DEFAULT_DEPTH;
  return max_depth > SIO__JSON_MAX_DEPTH ? SIO__JSON_MAX_DEPTH : max_depth;
}

int sio__json_validate(const char *s, size_t n, int max_depth, sio__json_slice *out) {
  scanner sc = {s, n, 0, depth_of(max_depth), 0};
  sio__json_slice v;
  skip_ws(&sc);
  sc.nc = 0;
  if (scan_value(&sc, &v)) return -EINVAL;
  v.canon = !sc.nc;
  skip_ws(&sc);
  if (sc.pos != n) return -EINVAL;
  if (out) *out = v;
  return 0;
}

int sio__json_validate_split(const char *s, size_t n, int max_depth, sio__json_slice *out,
                             sio__json_slice *elems, size_t max, size_t *count) {
  scanner sc = {s, n, 0, depth_of(max_depth), 0};
  size_t k = 0;
  int nc = 0;
  *count = 0;
  skip_ws(&sc);
  size_t start = sc.pos;
  if (sc.pos >= n || s[sc.pos] != '[') { /* not an array: a plain validation */
    sc.nc = 0;
    if (scan_value(&sc, out)) return -EINVAL;
    out->canon = !sc.nc;
  } else {
    if (sc.depth_left-- <= 0) return -EINVAL;
    sc.pos++;
    sc.nc = 0;
    skip_ws(&sc);
    nc = sc.nc;
    if (sc.pos < n && s[sc.pos] == ']') {
      sc.pos++;
    } else {
      for (;;) {
        sio__json_slice v;
        sc.nc = 0;
        if (scan_value(&sc, &v)) return -EINVAL;
        v.canon = !sc.nc;
        nc |= sc.nc;
        if (k < max) elems[k] = v;
        k++;
        sc.nc = 0;
        skip_ws(&sc);
        nc |= sc.nc;
        if (sc.pos >= n) return -EINVAL;
        char c = s[sc.pos++];
        if (c == ']') break;
        if (c != ',') return -EINVAL;
        skip_ws(&sc);
        nc |= sc.nc;
      }
    }
    *out = (sio__json_slice){start, sc.pos - start, SIO__JSON_ARRAY, !nc};
  }
  skip_ws(&sc);
  if (sc.pos != n) return -EINVAL;
  *count = k;
  return 0;
}

int sio__json_split_array(const char *s, size_t n, int max_depth, sio__json_slice *out,
                          size_t max, size_t *count) {
  scanner sc = {s, n, 0, depth_of(max_depth) - 1, 0};
  size_t k = 0;
  *count = 0;
  skip_ws(&sc);
  if (sc.pos >= n || s[sc.pos] != '[' || sc.depth_left < 0) return -EINVAL;
  sc.pos++;
  skip_ws(&sc);
  if (sc.pos < n && s[sc.pos] == ']') {
    sc.pos++;
  } else {
    for (;;) {
      sio__json_slice v;
      if (scan_value(&sc, &v)) return -EINVAL;
      if (k < max) out[k] = v;
      k++;
      skip_ws(&sc);
      if (sc.pos >= n) return -EINVAL;
      char c = s[sc.pos++];
      if (c == ']') break;
      if (c != ',') return -EINVAL;
      skip_ws(&sc);
    }
  }
  skip_ws(&sc);
  if (sc.pos != n) return -EINVAL;
  *count = k;
  return 0;
}

sio__json_type sio__json_type_of(const char *s, size_t n) {
  if (!n) return SIO__JSON_INVALID;
  switch (s[0]) {
  case '{': return SIO__JSON_OBJECT;
  case '[': return SIO__JSON_ARRAY;
  case '"': return SIO__JSON_STRING;
  case 't': return SIO__JSON_TRUE;
  case 'f': return SIO__JSON_FALSE;
  case 'n': return SIO__JSON_NULL;
  default: return (s[0] == '-' || is_digit(s[0])) ? SIO__JSON_NUMBER : SIO__JSON_INVALID;
  }
}

/* --- iteration over validated text -------------------------------------------------------- */

/* Skips a validated value starting at s[i]; returns the index just past it. */
static size_t skip_value(const char *s, size_t n, size_t i) {
  if (i >= n) return n;
  char c = s[i];
  if (c == '"') {
    for (i++; i < n; i++) {
      if (s[i] == '\\') i++;
      else if (s[i] == '"') return i + 1;
    }
    return n;
  }
  if (c == '{' || c == '[') {
    size_t depth = 0;
    for (; i < n; i++) {
      char d = s[i];
      if (d == '"') {
        i = skip_value(s, n, i) - 1;
      } else if (d == '{' || d == '[') {
        depth++;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return n;
  }
  /* number or literal: up to a delimiter */
  while (i < n && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' && s[i] != '\t' &&
         s[i] != '\n' && s[i] != '\r')
    i++;
  return i;
}

static size_t skip_ws_at(const char *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

void sio__json_iter_init(sio__json_iter *it, const char *s, size_t n) {
  it->s = s;
  it->n = n;
  it->pos = 1; /* past '[' or '{' */
}

static int iter_value(sio__json_iter *it, sio__json_slice *val) {
  size_t i = skip_ws_at(it->s, it->n, it->pos);
  size_t end = skip_value(it->s, it->n, i);
  *val = (sio__json_slice){i, end - i, sio__json_type_of(it->s + i, it->n - i), 0};
  i = skip_ws_at(it->s, it->n, end);
  if (i < it->n && it->s[i] == ',') i++;
  it->pos = i;
  return 1;
}

static int iter_at_end(sio__json_iter *it) {
  size_t i = skip_ws_at(it->s, it->n, it->pos);
  it->pos = i;
  return i >= it->n || it->s[i] == ']' || it->s[i] == '}';
}

int sio__json_iter_next(sio__json_iter *it, sio__json_slice *val) {
  if (iter_at_end(it)) return 0;
  return iter_value(it, val);
}

int sio__json_iter_next_member(sio__json_iter *it, sio__json_slice *key, sio__json_slice *val) {
  if (iter_at_end(it)) return 0;
  size_t i = it->pos;
  size_t end = skip_value(it->s, it->n, i);
  *key = (sio__json_slice){i, end - i, SIO__JSON_STRING, 0};
  i = skip_ws_at(it->s, it->n, end);
  it->pos = i < it->n ? i + 1 : it->n; /* past ':' */
  return iter_value(it, val);
}

/* --- strings ------------------------------------------------------------------------------ */

static void put_utf8(char *out, size_t *len, uint32_t cp) {
  size_t k = *len;
  if (cp < 0x80) {
    out[k++] = (char)cp;
  } else if (cp < 0x800) {
    out[k++] = (char)(0xC0 | (cp >> 6));
    out[k++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out[k++] = (char)(0xE0 | (cp >> 12));
    out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[k++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[k++] = (char)(0xF0 | (cp >> 18));
    out[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[k++] = (char)(0x80 | (cp & 0x3F));
  }
  *len = k;
}

static uint32_t hex4(const char *p) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) v = v << 4 | (uint32_t)hexval((unsigned char)p[k]);
  return v;
}

/* Decodes one escape at s[i] ('\\'); writes UTF-8 to out (>= 4 bytes), returns chars consumed. */
static size_t unescape_one(const char *s, size_t end, size_t i, char *out, size_t *olen) {
  char e = s[i + 1];
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  if (e != 'u') {
    const char *p = strchr(from, e);
    out[(*olen)++] = p ? to[p - from] : e;
    return 2;
  }
  uint32_t cp = hex4(s + i + 2);
  size_t used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (i + 12 <= end && s[i + 6] == '\\' && s[i + 7] == 'u') {
      uint32_t lo = hex4(s + i + 8);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
      } else {
        cp = 0xFFFD;
      }
    } else {
      cp = 0xFFFD;
    }
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    cp = 0xFFFD;
  }
  put_utf8(out, olen, cp);
  return used;
}

int sio__json_string(const char *s, size_t n, sio__sbuf *out) {
  if (n < 2) return -EINVAL;
  size_t end = n - 1, i = 1;
  if (sio__sbuf_reserve(out, n)) return -ENOMEM; /* unescaped is never longer */
  while (i < end) {
    size_t run = i;
    while (run < end && s[run] != '\\') run++;
    if (run > i) sio__sbuf_append(out, s + i, run - i);
    i = run;
    if (i >= end) break;
    char tmp[8];
    size_t tl = 0;
    i += unescape_one(s, end, i, tmp, &tl);
    sio__sbuf_append(out, tmp, tl);
  }
  return out->oom ? -ENOMEM : 0;
}

int sio__json_string_eq(const char *s, size_t n, const char *str, size_t len) {
  if (n < 2) return 0;
  size_t end = n - 1, i = 1, j = 0;
  while (i < end) {
    if (s[i] != '\\') {
      if (j >= len || s[i] != str[j]) return 0;
      i++, j++;
      continue;
    }
    char tmp[8];
    size_t tl = 0;
    i += unescape_one(s, end, i, tmp, &tl);
    if (j + tl > len || memcmp(str + j, tmp, tl) != 0) return 0;
    j += tl;
  }
  return j == len;
}

int sio__json_object_get(const char *obj, size_t n, const char *key, size_t klen,
                         sio__json_slice *val) {
  sio__json_iter it;
  sio__json_slice k, v;
  int found = 0;
  if (!n || obj[0] != '{') return 0;
  sio__json_iter_init(&it, obj, n);
  while (sio__json_iter_next_member(&it, &k, &v)) {
    if (sio__json_string_eq(obj + k.off, k.len, key, klen)) {
      *val = v;
      found = 1;
    }
  }
  return found;
}

/* --- numbers ------------------------------------------------------------------------------ */

int sio__json_number(const char *s, size_t n, double *out) {
  char small[64];
  char *tmp = n < sizeof small ? small : sio__malloc(n + 1);
  if (!tmp) return -ENOMEM;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *end;
  *out = strtod(tmp, &end);
  int ok = end == tmp + n && n > 0;
  if (tmp != small) sio__free(tmp);
  return ok ? 0 : -EINVAL;
}

int sio__json_int64(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  if (i < n && s[i] == '-') neg = 1, i++;
  if (i >= n) return -ERANGE;
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < n; i++) {
    if (!is_digit(s[i])) return -ERANGE;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) return -ERANGE;
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

/* --- jansson ------------------------------------------------------------------------------ */

json_t *sio__json_to_jansson(const char *s, size_t n) {
  switch (sio__json_type_of(s, n)) {
  case SIO__JSON_NULL: return json_null();
  case SIO__JSON_TRUE: return json_true();
  case SIO__JSON_FALSE: return json_false();
  case SIO__JSON_NUMBER: {
    int64_t i;
    double d;
    if (sio__json_int64(s, n, &i) == 0) return json_integer((json_int_t)i);
    if (sio__json_number(s, n, &d)) return NULL;
    if (!isfinite(d)) d = d > 0 ? 1.7976931348623157e308 : -1.7976931348623157e308;
    return json_real(d);
  }
  case SIO__JSON_STRING: {
    sio__sbuf b = SIO__SBUF_INIT;
    json_t *v = NULL;
    if (sio__json_string(s, n, &b) == 0) v = json_stringn_nocheck(b.data ? b.data : "", b.len);
    sio__sbuf_free(&b);
    return v;
  }
  case SIO__JSON_ARRAY: {
    json_t *a = json_array();
    sio__json_iter it;
    sio__json_slice e;
    if (!a) return NULL;
    sio__json_iter_init(&it, s, n);
    while (sio__json_iter_next(&it, &e)) {
      json_t *v = sio__json_to_jansson(s + e.off, e.len);
      if (!v || json_array_append_new(a, v)) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  case SIO__JSON_OBJECT: {
    json_t *o = json_object();
    sio__json_iter it;
    sio__json_slice k, e;
    sio__sbuf key = SIO__SBUF_INIT;
    if (!o) return NULL;
    sio__json_iter_init(&it, s, n);
    while (sio__json_iter_next_member(&it, &k, &e)) {
      sio__sbuf_reset(&key);
      json_t *v = NULL;
      if (sio__json_string(s + k.off, k.len, &key) == 0)
        v = sio__json_to_jansson(s + e.off, e.len);
      if (!v || json_object_setn_new_nocheck(o, key.data ? key.data : "", key.len, v)) {
        sio__sbuf_free(&key);
        json_decref(o);
        return NULL;
      }
    }
    sio__sbuf_free(&key);
    return o;
  }
  default: return NULL;
  }
}

/* Writes a double as JavaScript's Number#toString does: the shortest digits that read back
 * exactly, plain notation for exponents -7 < e < 21, else d.ddde+N. */
int sio__json_write_number(sio__sbuf *out, double d) {
  char tmp[48], digits[24];
  if (!isfinite(d)) return sio__sbuf_appends(out, "null");
  if (d == 0) return sio__sbuf_appends(out, "0");
  if (d < 0) sio__sbuf_appendc(out, '-'), d = -d;
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
    if (strtod(tmp, NULL) == d) break;
  }
  int k = 0, exp10;
  char *p = tmp;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[k++] = *p;
  exp10 = atoi(p + 1);
  while (k > 1 && digits[k - 1] == '0') k--;
  int n = exp10 + 1;
  if (k <= n && n <= 21) {
    sio__sbuf_append(out, digits, (size_t)k);
    for (int i = k; i < n; i++) sio__sbuf_appendc(out, '0');
  } else if (0 < n && n <= 21) {
    sio__sbuf_append(out, digits, (size_t)n);
    sio__sbuf_appendc(out, '.');
    sio__sbuf_append(out, digits + n, (size_t)(k - n));
  } else if (-6 < n && n <= 0) {
    sio__sbuf_appends(out, "0.");
    for (int i = 0; i < -n; i++) sio__sbuf_appendc(out, '0');
    sio__sbuf_append(out, digits, (size_t)k);
  } else {
    sio__sbuf_appendc(out, digits[0]);
    if (k > 1) {
      sio__sbuf_appendc(out, '.');
      sio__sbuf_append(out, digits + 1, (size_t)(k - 1));
    }
    sio__sbuf_printf(out, "e%c%d", n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
  }
  return out->oom ? -ENOMEM : 0;
}

int sio__json_dump_jansson(sio__sbuf *out, const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_NULL: return sio__sbuf_appends(out, "null");
  case JSON_TRUE: return sio__sbuf_appends(out, "true");
  case JSON_FALSE: return sio__sbuf_appends(out, "false");
  case JSON_INTEGER: return sio__sbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  case JSON_REAL: return sio__json_write_number(out, json_real_value(v));
  case JSON_STRING: return sio__json_escape(out, json_string_value(v), json_string_length(v));
  case JSON_ARRAY: {
    sio__sbuf_appendc(out, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i) sio__sbuf_appendc(out, ',');
      sio__json_dump_jansson(out, json_array_get(v, i));
    }
    return sio__sbuf_appendc(out, ']');
  }
  case JSON_OBJECT: {
    const char *key;
    size_t klen;
    json_t *val;
    int first = 1;
    sio__sbuf_appendc(out, '{');
    json_object_keylen_foreach((json_t *)v, key, klen, val) {
      if (!first) sio__sbuf_appendc(out, ',');
      first = 0;
      sio__json_escape(out, key, klen);
      sio__sbuf_appendc(out, ':');
      sio__json_dump_jansson(out, val);
    }
    return sio__sbuf_appendc(out, '}');
  }
  }
  return -EINVAL;
}

/* --- escaping ----------------------------------------------------------------------------- */

int sio__json_escape(sio__sbuf *out, const char *str, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  if (sio__sbuf_reserve(out, len + 2)) return -ENOMEM;
  sio__sbuf_appendc(out, '"');
  size_t i = 0;
  while (i < len) {
    size_t run = i;
    while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
    if (run > i) sio__sbuf_append(out, s + i, run - i);
    i = run;
    if (i >= len) break;
    unsigned char c = s[i];
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, len - i);
      if (k) {
        sio__sbuf_append(out, s + i, k);
        i += k;
      } else {
        sio__sbuf_append(out, "\xEF\xBF\xBD", 3);
        i++;
      }
      continue;
    }
    char esc[7] = {'\\', 0};
    size_t el = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      el = 6;
    }
    sio__sbuf_append(out, esc, el);
    i++;
  }
  return sio__sbuf_appendc(out, '"');
}
