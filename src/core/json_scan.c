/* Strict JSON scanner (RFC 8259) without a tree: validation, splitting an array into argument
 * slices, and iteration over validated text. See json.h for why slices.
 *
 * The validator is a recursive descent parser bounded by a depth limit (<= 1024 frames of a few
 * words). It checks the grammar exactly (no leading zeros, no trailing commas, no bare control
 * characters in strings, escapes limited to the eight RFC ones and \uXXXX) and that the bytes
 * are well-formed UTF-8. Escaped lone surrogates are accepted: they are valid JSON text. It also
 * notes whether a value is already in JSON.stringify's form (slice.canon), so that a relay can
 * copy it. Strings are scanned eight bytes at a time (skip_plain): this is the hot path of every
 * Socket.IO event. */
#include <errno.h>
#include <string.h>

#include "core/codec.h"
#include "core/json_internal.h"

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
          if (sio__hex_value(s[i + k]) < 0) return -EINVAL;
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
      size_t k = sio__utf8_seq(s + i, sc->n - i);
      if (!k) return -EINVAL;
      i += k;
    } else {
      i++;
    }
  }
  return -EINVAL;
}

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
    while (i < n && sio__json_is_digit(s[i])) i++;
    if (i - int_start > 15) sc->nc = 1; /* may not survive a double */
  } else {
    return -EINVAL;
  }
  if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) sc->nc = 1;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !sio__json_is_digit(s[i])) return -EINVAL;
    while (i < n && sio__json_is_digit(s[i])) i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !sio__json_is_digit(s[i])) return -EINVAL;
    while (i < n && sio__json_is_digit(s[i])) i++;
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
  case '{':
    t = SIO__JSON_OBJECT, rc = scan_container(sc, '}');
    break;
  case '[':
    t = SIO__JSON_ARRAY, rc = scan_container(sc, ']');
    break;
  case '"':
    t = SIO__JSON_STRING, rc = scan_string(sc);
    break;
  case 't':
    t = SIO__JSON_TRUE, rc = scan_literal(sc, "true", 4);
    break;
  case 'f':
    t = SIO__JSON_FALSE, rc = scan_literal(sc, "false", 5);
    break;
  case 'n':
    t = SIO__JSON_NULL, rc = scan_literal(sc, "null", 4);
    break;
  default:
    t = SIO__JSON_NUMBER, rc = scan_number(sc);
    break;
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

int sio__json_split_array(const char *s, size_t n, int max_depth, sio__json_slice *out, size_t max,
                          size_t *count) {
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
  case '{':
    return SIO__JSON_OBJECT;
  case '[':
    return SIO__JSON_ARRAY;
  case '"':
    return SIO__JSON_STRING;
  case 't':
    return SIO__JSON_TRUE;
  case 'f':
    return SIO__JSON_FALSE;
  case 'n':
    return SIO__JSON_NULL;
  default:
    return (s[0] == '-' || sio__json_is_digit(s[0])) ? SIO__JSON_NUMBER : SIO__JSON_INVALID;
  }
}

/* --- iteration over validated text -------------------------------------------------------- */

/* Skips a validated value starting at s[i]; returns the index just past it. */
static size_t skip_value(const char *s, size_t n, size_t i) {
  if (i >= n) return n;
  char c = s[i];
  if (c == '"') {
    for (i++; i < n; i++) {
      if (s[i] == '\\')
        i++;
      else if (s[i] == '"')
        return i + 1;
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
