/* libFuzzer target for the Accept-Encoding reading (http/negotiate.c): any header value, with
 * or without a NUL inside, is read without crashing or reading past its end, and the answer
 * does not depend on what follows the value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = malloc(size + 1);
  if (!v) return 0;
  memcpy(v, data, size);
  v[size] = 0;
  int a = sio__accepts_gzip(v);
  size_t n = strlen(v); /* what a header value holds: up to its first NUL */
  char *w = malloc(n + 8);
  if (w) {
    memcpy(w, v, n);
    memcpy(w + n, "\0gzip,*", 8);
    if (sio__accepts_gzip(w) != a) abort();
    free(w);
  }
  free(v);
  return 0;
}
