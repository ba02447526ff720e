/* Reading validated JSON slices: strings (unescaped), object members, numbers, and a jansson
 * tree built on request. The slices come from json_scan.c, so nothing here validates again. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/json_internal.h"

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

/* Decodes one escape at s[i] ('\\'); writes UTF-8 to out (>= 4 bytes), returns chars consumed. */
static size_t unescape_one(const char *s, size_t end, size_t i, char *out, size_t *olen) {
  char e = s[i + 1];
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  if (e != 'u') {
    const char *p = strchr(from, e);
    out[(*olen)++] = p ? to[p - from] : e;
    return 2;
  }
  uint32_t cp = sio__hex4(s + i + 2);
  size_t used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (i + 12 <= end && s[i + 6] == '\\' && s[i + 7] == 'u') {
      uint32_t lo = sio__hex4(s + i + 8);
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
    if (!sio__json_is_digit(s[i])) return -ERANGE;
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
  case SIO__JSON_NULL:
    return json_null();
  case SIO__JSON_TRUE:
    return json_true();
  case SIO__JSON_FALSE:
    return json_false();
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
      if (sio__json_string(s + k.off, k.len, &key) == 0) v = sio__json_to_jansson(s + e.off, e.len);
      if (!v || json_object_setn_new_nocheck(o, key.data ? key.data : "", key.len, v)) {
        sio__sbuf_free(&key);
        json_decref(o);
        return NULL;
      }
    }
    sio__sbuf_free(&key);
    return o;
  }
  default:
    return NULL;
  }
}
