/* Refcounted buffers and growable strings (see buf.h). sio__sbuf stores its bytes after a
 * sio__buf header from the start, so that sio__sbuf_to_buf hands the same memory over
 * without copying: build a packet once, share it with every recipient. */
#include "core/buf.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

sio__buf *sio__buf_new(size_t cap) {
  sio__buf *b = sio__malloc(sizeof(*b) + cap + 1);
  if (!b) return NULL;
  b->refs = 1;
  b->len = 0;
  b->cap = cap;
  b->data[0] = '\0';
  return b;
}

sio__buf *sio__buf_from(const void *data, size_t len) {
  sio__buf *b = sio__buf_new(len);
  if (!b) return NULL;
  if (len) memcpy(b->data, data, len);
  b->len = len;
  b->data[len] = '\0';
  return b;
}

void sio__buf_unref(sio__buf *b) {
  if (b && --b->refs == 0) sio__free(b);
}

static sio__buf *header_of(sio__sbuf *s) {
  return (sio__buf *)(void *)(s->data - offsetof(sio__buf, data));
}

int sio__sbuf_reserve(sio__sbuf *s, size_t extra) {
  if (s->oom) return -ENOMEM;
  if (s->data && s->len + extra <= s->cap) return 0;
  size_t cap = s->cap ? s->cap : 64;
  while (cap < s->len + extra) cap *= 2;
  sio__buf *old = s->data ? header_of(s) : NULL;
  sio__buf *b = sio__realloc(old, sizeof(sio__buf) + cap + 1);
  if (!b) {
    s->oom = 1;
    return -ENOMEM;
  }
  b->refs = 1;
  b->cap = cap;
  s->data = b->data;
  s->cap = cap;
  return 0;
}

int sio__sbuf_reserve_exact(sio__sbuf *s, size_t extra) {
  if (s->oom) return -ENOMEM;
  if (s->data) return sio__sbuf_reserve(s, extra);
  sio__buf *b = sio__buf_new(extra);
  if (!b) {
    s->oom = 1;
    return -ENOMEM;
  }
  s->data = b->data;
  s->len = 0;
  s->cap = extra;
  return 0;
}

int sio__sbuf_append(sio__sbuf *s, const void *data, size_t len) {
  if (sio__sbuf_reserve(s, len) != 0) return -ENOMEM;
  if (len) memcpy(s->data + s->len, data, len);
  s->len += len;
  s->data[s->len] = '\0';
  return 0;
}

int sio__sbuf_appends(sio__sbuf *s, const char *str) {
  return sio__sbuf_append(s, str, strlen(str));
}

int sio__sbuf_appendc(sio__sbuf *s, char c) {
  return sio__sbuf_append(s, &c, 1);
}

int sio__sbuf_vprintf(sio__sbuf *s, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return -EINVAL;
  if (sio__sbuf_reserve(s, (size_t)n + 1) != 0) return -ENOMEM;
  vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
  s->len += (size_t)n;
  return 0;
}

int sio__sbuf_printf(sio__sbuf *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = sio__sbuf_vprintf(s, fmt, ap);
  va_end(ap);
  return r;
}

int sio__sbuf_append_u64(sio__sbuf *s, uint64_t v) {
  char tmp[24];
  int i = (int)sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return sio__sbuf_append(s, tmp + i, sizeof(tmp) - (size_t)i);
}

void sio__sbuf_reset(sio__sbuf *s) {
  s->len = 0;
  if (s->data) s->data[0] = '\0';
}

void sio__sbuf_free(sio__sbuf *s) {
  if (s->data) sio__free(header_of(s));
  s->data = NULL;
  s->len = s->cap = 0;
  s->oom = 0;
}

sio__buf *sio__sbuf_to_buf(sio__sbuf *s) {
  if (s->oom) {
    sio__sbuf_free(s);
    return NULL;
  }
  if (!s->data && sio__sbuf_reserve(s, 1) != 0) return NULL;
  sio__buf *b = header_of(s);
  b->len = s->len;
  b->refs = 1;
  s->data = NULL;
  s->len = s->cap = 0;
  return b;
}
