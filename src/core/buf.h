/* Byte buffers.
 *
 * sio__buf: a refcounted, immutable-once-shared block. A broadcast is encoded once into one
 * sio__buf and every recipient's write queue holds a reference to it (plus offset/length).
 *
 * sio__sbuf: a growable byte string for building output (responses, packets). It can be
 * turned into a sio__buf without copying when the result is to be shared. */
#ifndef SIO_CORE_BUF_H
#define SIO_CORE_BUF_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio__buf {
  uint32_t refs;
  size_t len;
  size_t cap;
  char data[];
} sio__buf;

sio__buf *sio__buf_new(size_t cap);                    /* refs = 1, len = 0 */
sio__buf *sio__buf_from(const void *data, size_t len); /* copy, refs = 1 */
static inline sio__buf *sio__buf_ref(sio__buf *b) {
  b->refs++;
  return b;
}
void sio__buf_unref(sio__buf *b);

typedef struct sio__sbuf {
  char *data; /* NUL-terminated when non-NULL; may be a sio__buf's data (see below) */
  size_t len;
  size_t cap;
  int oom; /* set once an append failed; later appends are ignored */
} sio__sbuf;

#define SIO__SBUF_INIT                                                                             \
  { NULL, 0, 0, 0 }

int sio__sbuf_reserve(sio__sbuf *s, size_t extra); /* 0 or -ENOMEM */
/* Same, but an empty sbuf gets exactly `extra` bytes (no rounding up to a power of two): for
 * output whose size is known, the smallest block (small blocks recycle fastest in malloc). */
int sio__sbuf_reserve_exact(sio__sbuf *s, size_t extra);
int sio__sbuf_append(sio__sbuf *s, const void *data, size_t len);
int sio__sbuf_appends(sio__sbuf *s, const char *str);
int sio__sbuf_appendc(sio__sbuf *s, char c);
int sio__sbuf_printf(sio__sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sio__sbuf_vprintf(sio__sbuf *s, const char *fmt, va_list ap);
int sio__sbuf_append_u64(sio__sbuf *s, uint64_t v);
void sio__sbuf_reset(sio__sbuf *s); /* len = 0, keeps memory */
void sio__sbuf_free(sio__sbuf *s);
/* Moves the contents into a new refcounted sio__buf (refs = 1) and empties s.
 * Returns NULL on allocation failure (or if s->oom) and frees s. */
sio__buf *sio__sbuf_to_buf(sio__sbuf *s);

#endif
