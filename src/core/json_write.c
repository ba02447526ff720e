/* Writing JSON as JSON.stringify does: numbers (Number#toString's shortest digits), strings
 * (the escaper, which also repairs invalid UTF-8) and whole jansson values, compactly and with
 * key order kept. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/json_internal.h"

/* --- numbers ------------------------------------------------------------------------------ */
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
  case JSON_NULL:
    return sio__sbuf_appends(out, "null");
  case JSON_TRUE:
    return sio__sbuf_appends(out, "true");
  case JSON_FALSE:
    return sio__sbuf_appends(out, "false");
  case JSON_INTEGER:
    return sio__sbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  case JSON_REAL:
    return sio__json_write_number(out, json_real_value(v));
  case JSON_STRING:
    return sio__json_escape(out, json_string_value(v), json_string_length(v));
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
  static const char hex[] = SIO__HEX_DIGITS;
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
      size_t k = sio__utf8_seq(s + i, len - i);
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
    case '"':
      esc[1] = '"';
      break;
    case '\\':
      esc[1] = '\\';
      break;
    case '\b':
      esc[1] = 'b';
      break;
    case '\f':
      esc[1] = 'f';
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
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
