/* C strings made from the slices of a decoded cluster message, kept until strs_free: what the
 * differential test and the codec fuzz target build encoder input from. */
#ifndef SIO_TESTS_CLUSTER_CSTRS_H
#define SIO_TESTS_CLUSTER_CSTRS_H
#include "cluster/wire.h"

#define CSTRS_MAX 64

typedef struct strs {
  sio__sbuf b[CSTRS_MAX];
  const char *v[CSTRS_MAX];
  size_t n;
  sio__sbuf store[4], ptrs[4]; /* the room lists */
  size_t lists;
} strs;

static const char *keep(strs *s, const char *t, sio__json_slice sl, int raw) {
  if (sl.type == SIO__JSON_INVALID || s->n == CSTRS_MAX) return NULL;
  sio__sbuf *b = &s->b[s->n];
  *b = (sio__sbuf)SIO__SBUF_INIT;
  if (raw)
    sio__sbuf_append(b, t + sl.off, sl.len);
  else
    sio__wire_string(t, sl, b);
  sio__sbuf_appendc(b, 0);
  return s->v[s->n++] = b->data;
}

static const char *const *rooms(strs *s, const char *t, sio__json_slice a, size_t *n) {
  *n = 0;
  if (a.type != SIO__JSON_ARRAY || s->lists == 4) return NULL;
  sio__sbuf *ptrs = &s->ptrs[s->lists];
  if (sio__wire_strings(t, a, &s->store[s->lists++], ptrs)) return NULL;
  *n = ptrs->len / sizeof(char *);
  return (const char *const *)ptrs->data;
}

static void strs_free(strs *s) {
  for (size_t i = 0; i < s->n; i++) sio__sbuf_free(&s->b[i]);
  for (size_t i = 0; i < s->lists; i++) sio__sbuf_free(&s->store[i]), sio__sbuf_free(&s->ptrs[i]);
}
#endif
