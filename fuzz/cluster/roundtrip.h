/* What the cluster fuzz targets share. */
#ifndef SIO_FUZZ_CLUSTER_ROUNDTRIP_H
#define SIO_FUZZ_CLUSTER_ROUNDTRIP_H
#include <stddef.h>

/* notepack loses integers past 2^53 (written with 16+ digits or e+): a value carried through
 * msgpack may change such numbers on a round trip, in Node as here. */
static int may_wrap(const char *s, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] >= '0' && s[i] <= '9') {
      if (++run >= 16) return 1;
    } else {
      run = 0;
      if (s[i] == '+' && i && s[i - 1] == 'e') return 1;
    }
  }
  return 0;
}

#endif
