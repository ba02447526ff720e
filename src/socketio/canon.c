/* Canonical JSON: writes a validated JSON value as JSON.stringify(JSON.parse(value)) would.
 *
 * Node's socket.io parses what a client sends and stringifies what it sends back, so a client
 * that sends `{"a" : 1e20}` receives `{"a":100000000000000000000}`. sio keeps arguments as raw
 * slices (no tree) and applies the same normalisation while copying a slice into an outgoing
 * packet: whitespace dropped, strings re-escaped the way JSON.stringify escapes them (\" \\ \b
 * \f \n \r \t, other control characters and lone surrogates as \u00xx / \udxxx, everything else
 * as raw UTF-8), numbers in ECMAScript Number::toString form (shortest round-trip digits), and
 * a key repeated in an object keeps its first position with its last value (as JSON.parse).
 * Runs that need no change (plain strings, short integers) are copied in one append. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/json.h"
#include "socketio/io_internal.h"

static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void put_utf8(sio__sbuf *out, unsigned cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | cp >> 6);
    b[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | cp >> 12);
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    b[0] = (char)(0xf0 | cp >> 18);
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  sio__sbuf_append(out, b, n);
}

static void put_escaped_unit(sio__sbuf *out, unsigned u) {
  static const char hex[] = SIO__HEX_DIGITS;
  char b[6] = {'\\', 'u', hex[u >> 12 & 15], hex[u >> 8 & 15], hex[u >> 4 & 15], hex[u & 15]};
  sio__sbuf_append(out, b, 6);
}

/* A string slice (quotes included). */
static void canon_string(sio__sbuf *out, const char *s, size_t n) {
  size_t i = 1, run = 0;
  sio__sbuf_appendc(out, '"');
  run = i;
  while (i < n - 1) {
    if (s[i] != '\\') {
      i++;
      continue;
    }
    sio__sbuf_append(out, s + run, i - run);
    char e = s[i + 1];
    switch (e) {
    case '"':
      sio__sbuf_append(out, "\\\"", 2);
      i += 2;
      break;
    case '\\':
      sio__sbuf_append(out, "\\\\", 2);
      i += 2;
      break;
    case '/':
      sio__sbuf_appendc(out, '/');
      i += 2;
      break;
    case 'b':
      sio__sbuf_append(out, "\\b", 2);
      i += 2;
      break;
    case 'f':
      sio__sbuf_append(out, "\\f", 2);
      i += 2;
      break;
    case 'n':
      sio__sbuf_append(out, "\\n", 2);
      i += 2;
      break;
    case 'r':
      sio__sbuf_append(out, "\\r", 2);
      i += 2;
      break;
    case 't':
      sio__sbuf_append(out, "\\t", 2);
      i += 2;
      break;
    case 'u': {
      unsigned u = sio__hex4(s + i + 2);
      i += 6;
      if (u >= 0xd800 && u <= 0xdbff && i + 6 <= n - 1 && s[i] == '\\' && s[i + 1] == 'u') {
        unsigned lo = sio__hex4(s + i + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          put_utf8(out, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
          i += 6;
          break;
        }
      }
      if (u >= 0xd800 && u <= 0xdfff) {
        put_escaped_unit(out, u); /* lone surrogate */
      } else if (u < 0x20) {
        switch (u) {
        case '\b':
          sio__sbuf_append(out, "\\b", 2);
          break;
        case '\f':
          sio__sbuf_append(out, "\\f", 2);
          break;
        case '\n':
          sio__sbuf_append(out, "\\n", 2);
          break;
        case '\r':
          sio__sbuf_append(out, "\\r", 2);
          break;
        case '\t':
          sio__sbuf_append(out, "\\t", 2);
          break;
        default:
          put_escaped_unit(out, u);
        }
      } else if (u == '"') {
        sio__sbuf_append(out, "\\\"", 2);
      } else if (u == '\\') {
        sio__sbuf_append(out, "\\\\", 2);
      } else {
        put_utf8(out, u);
      }
      break;
    }
    default:
      i += 2;
      break; /* cannot happen in validated JSON */
    }
    run = i;
  }
  sio__sbuf_append(out, s + run, n - 1 - run);
  sio__sbuf_appendc(out, '"');
}

static void canon_number(sio__sbuf *out, const char *s, size_t n) {
  /* fast path: an integer of at most 15 digits is already in its JavaScript form */
  size_t i = s[0] == '-' ? 1 : 0;
  size_t digits = 0;
  int plain = 1;
  for (size_t j = i; j < n; j++) {
    if (s[j] < '0' || s[j] > '9') {
      plain = 0;
      break;
    }
    digits++;
  }
  if (plain && digits <= 15 && !(i == 1 && n == 2 && s[1] == '0')) {
    sio__sbuf_append(out, s, n);
    return;
  }
  char tmp[64];
  double v;
  if (n < sizeof tmp) {
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    v = strtod(tmp, NULL);
  } else {
    char *t = sio__strndup(s, n);
    v = t ? strtod(t, NULL) : 0;
    sio__free(t);
  }
  sio__json_write_number(out, v);
}

static void canon_value(sio__sbuf *out, const char *s, size_t n, sio__json_type t);

static void canon_object(sio__sbuf *out, const char *s, size_t n) {
  sio__json_iter it;
  sio__json_slice key, val;
  /* a repeated key keeps its first position and its last value */
  int dup = 0;
  {
    sio__json_iter a;
    sio__json_slice k1, v1;
    sio__json_iter_init(&a, s, n);
    size_t count = 0;
    while (sio__json_iter_next_member(&a, &k1, &v1)) count++;
    if (count > 1 && count < 64) {
      sio__json_slice keys[64];
      size_t c = 0;
      sio__json_iter_init(&a, s, n);
      while (sio__json_iter_next_member(&a, &k1, &v1)) keys[c++] = k1;
      for (size_t x = 0; x < c && !dup; x++)
        for (size_t y = x + 1; y < c && !dup; y++)
          if (keys[x].len == keys[y].len &&
              memcmp(s + keys[x].off, s + keys[y].off, keys[x].len) == 0)
            dup = 1;
    }
  }
  sio__sbuf_appendc(out, '{');
  sio__json_iter_init(&it, s, n);
  int first = 1;
  sio__json_slice prev_keys[64];
  size_t nprev = 0;
  while (sio__json_iter_next_member(&it, &key, &val)) {
    if (dup) {
      int seen = 0;
      for (size_t x = 0; x < nprev && !seen; x++)
        if (prev_keys[x].len == key.len && memcmp(s + prev_keys[x].off, s + key.off, key.len) == 0)
          seen = 1;
      if (seen) continue;
      prev_keys[nprev++] = key;
      /* the last value of this key */
      sio__json_iter b;
      sio__json_slice k2, v2;
      sio__json_iter_init(&b, s, n);
      while (sio__json_iter_next_member(&b, &k2, &v2))
        if (k2.len == key.len && memcmp(s + k2.off, s + key.off, key.len) == 0) val = v2;
    }
    if (!first) sio__sbuf_appendc(out, ',');
    first = 0;
    canon_string(out, s + key.off, key.len);
    sio__sbuf_appendc(out, ':');
    canon_value(out, s + val.off, val.len, val.type);
  }
  sio__sbuf_appendc(out, '}');
}

static void canon_array(sio__sbuf *out, const char *s, size_t n) {
  sio__json_iter it;
  sio__json_slice val;
  sio__sbuf_appendc(out, '[');
  sio__json_iter_init(&it, s, n);
  int first = 1;
  while (sio__json_iter_next(&it, &val)) {
    if (!first) sio__sbuf_appendc(out, ',');
    first = 0;
    canon_value(out, s + val.off, val.len, val.type);
  }
  sio__sbuf_appendc(out, ']');
}

static void canon_value(sio__sbuf *out, const char *s, size_t n, sio__json_type t) {
  switch (t) {
  case SIO__JSON_STRING:
    canon_string(out, s, n);
    break;
  case SIO__JSON_NUMBER:
    canon_number(out, s, n);
    break;
  case SIO__JSON_ARRAY:
    canon_array(out, s, n);
    break;
  case SIO__JSON_OBJECT:
    canon_object(out, s, n);
    break;
  default:
    sio__sbuf_append(out, s, n);
    break; /* null, true, false */
  }
}

/* Whether a value needs no rewriting: no whitespace outside strings, no escapes other than
 * the ones JSON.stringify writes itself, integers short enough. Checked in one pass. */
static int already_canonical(const char *s, size_t n) {
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '"') {
        in_str = 0;
      } else if (c == '\\') {
        char e = s[i + 1];
        if (e == 'u' || e == '/') return 0;
        i++;
      }
      continue;
    }
    if (c == '"') {
      in_str = 1;
    } else if (is_ws(c)) {
      return 0;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i, d = 0;
      if (s[j] == '-') j++;
      if (s[j] == '0' && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9') return 0;
      while (j < n && s[j] >= '0' && s[j] <= '9') {
        j++;
        d++;
      }
      if (j < n && (s[j] == '.' || s[j] == 'e' || s[j] == 'E')) return 0;
      if (d > 15 || (c == '-' && d == 1 && s[i + 1] == '0')) return 0;
      i = j - 1;
    } else if (c == '{') {
      return -1; /* objects: duplicate keys need a look (done by the slow path) */
    }
  }
  return 1;
}

int sio__json_canon(sio__sbuf *out, const char *s, size_t n) {
  int fast = already_canonical(s, n);
  if (fast == 1) return sio__sbuf_append(out, s, n);
  canon_value(out, s, n, sio__json_type_of(s, n));
  return out->oom ? -ENOMEM : 0;
}
