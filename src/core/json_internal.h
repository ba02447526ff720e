/* What the JSON files share (json_scan.c validates and iterates, json_read.c reads slices,
 * json_write.c writes JSON): byte classes, inline because the scanner and the escaper call them
 * per byte. Internal to src/core. */
#ifndef SIO_CORE_JSON_INTERNAL_H
#define SIO_CORE_JSON_INTERNAL_H

#include <stddef.h>

#include "core/json.h"

static inline int sio__json_is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Length of the well-formed UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static inline size_t sio__utf8_seq(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    need = 1;
  else if (c == 0xE0)
    need = 2, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC)
    need = 2;
  else if (c == 0xED)
    need = 2, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF)
    need = 2;
  else if (c == 0xF0)
    need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3)
    need = 3;
  else if (c == 0xF4)
    need = 3, hi = 0x8F;
  else
    return 0;
  if (avail < need + 1) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i <= need; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return need + 1;
}

#endif
