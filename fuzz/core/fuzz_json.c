/* libFuzzer target for the JSON scanner: validation, array splitting, iteration, key lookup,
 * unescaping, numbers and the jansson round trip must never crash, leak, or disagree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static void walk(const char *s, size_t n, int depth) {
  sio__json_slice v, k;
  sio__json_iter it;
  sio__sbuf b = SIO__SBUF_INIT;
  double d;
  int64_t i;
  if (depth > 200) return;
  switch (sio__json_type_of(s, n)) {
  case SIO__JSON_STRING:
    sio__json_string(s, n, &b);
    if (!b.oom && !sio__json_string_eq(s, n, b.data ? b.data : "", b.len)) {
      /* lone surrogates unescape to U+FFFD, which then compares unequal: only then */
      if (!memmem(s, n, "\\u", 2)) abort();
    }
    break;
  case SIO__JSON_NUMBER:
    sio__json_number(s, n, &d);
    sio__json_int64(s, n, &i);
    break;
  case SIO__JSON_ARRAY:
    sio__json_iter_init(&it, s, n);
    while (sio__json_iter_next(&it, &v)) {
      if (v.off + v.len > n) abort();
      walk(s + v.off, v.len, depth + 1);
    }
    break;
  case SIO__JSON_OBJECT:
    sio__json_iter_init(&it, s, n);
    while (sio__json_iter_next_member(&it, &k, &v)) {
      if (v.off + v.len > n || sio__json_validate(s + k.off, k.len, 1, NULL)) abort();
      sio__json_object_get(s, n, "a", 1, &v);
      walk(s + v.off, v.len, depth + 1);
    }
    break;
  default:
    break;
  }
  sio__sbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  sio__json_slice v, parts[8];
  size_t count;
  if (sio__json_validate(s, size, 0, &v) == 0) {
    if (sio__json_validate(s + v.off, v.len, 0, NULL)) abort();
    walk(s + v.off, v.len, 0);
    json_t *j = sio__json_to_jansson(s + v.off, v.len);
    if (j) {
      sio__sbuf out = SIO__SBUF_INIT;
      sio__json_dump_jansson(&out, j);
      /* what we write is valid JSON */
      if (!out.oom && sio__json_validate(out.data, out.len, SIO__JSON_MAX_DEPTH, NULL)) abort();
      sio__sbuf_free(&out);
      json_decref(j);
    }
  }
  if (sio__json_split_array(s, size, 0, parts, 8, &count) == 0) {
    for (size_t k = 0; k < count && k < 8; k++)
      if (sio__json_validate(s + parts[k].off, parts[k].len, 0, NULL)) abort();
  }
  /* the escaper always writes valid JSON */
  sio__sbuf e = SIO__SBUF_INIT;
  sio__json_escape(&e, s, size);
  if (!e.oom && sio__json_validate(e.data, e.len, 0, NULL)) abort();
  sio__sbuf_free(&e);
  return 0;
}
