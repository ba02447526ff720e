/* MessagePack writer and reader with notepack.io 3.0.1's choices (see msgpack.h for why this is
 * our own code). The writer follows notepack's encode(): the smallest header for each length,
 * JS-number rules for integers, float 64 for the rest. The reader refuses what notepack's
 * decode() would throw on (0xc1, truncation, trailing bytes) and bounds every length and count
 * by the bytes left, so that no input makes it allocate or loop past its size. */
#include "cluster/msgpack.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define TWO32 4294967296.0

static int put(sio__sbuf *out, const uint8_t *b, size_t n) {
  return sio__sbuf_append(out, b, n) ? -ENOMEM : 0;
}

static void be16(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)(v >> 8);
  b[1] = (uint8_t)v;
}
static void be32(uint8_t *b, uint32_t v) {
  be16(b, v >> 16);
  be16(b + 2, v);
}

/* A header whose length takes 1, 2 or 4 bytes after the tag: tags[0..2] for 8/16/32 bits. */
static int put_sized(sio__sbuf *out, const uint8_t tags[3], size_t len) {
  uint8_t b[5];
  if (len > UINT32_MAX) return -EINVAL;
  if (len < 0x100) {
    b[0] = tags[0], b[1] = (uint8_t)len;
    return put(out, b, 2);
  }
  if (len < 0x10000) {
    b[0] = tags[1], be16(b + 1, (uint32_t)len);
    return put(out, b, 3);
  }
  b[0] = tags[2], be32(b + 1, (uint32_t)len);
  return put(out, b, 5);
}

/* Headers with a fix form below `fixmax` and 16/32-bit forms above (arrays, maps). */
static int put_counted(sio__sbuf *out, uint8_t fix, uint8_t t16, size_t n) {
  uint8_t b[5];
  if (n > UINT32_MAX) return -EINVAL;
  if (n < 0x10) {
    b[0] = (uint8_t)(fix | n);
    return put(out, b, 1);
  }
  if (n < 0x10000) {
    b[0] = t16, be16(b + 1, (uint32_t)n);
    return put(out, b, 3);
  }
  b[0] = (uint8_t)(t16 + 1), be32(b + 1, (uint32_t)n);
  return put(out, b, 5);
}

int sio__mp_put_nil(sio__sbuf *out) {
  return put(out, (const uint8_t *)"\xc0", 1);
}

int sio__mp_put_bool(sio__sbuf *out, int v) {
  return put(out, (const uint8_t *)(v ? "\xc3" : "\xc2"), 1);
}

/* JS ToUint32 of an integral double: its value modulo 2^32 (exact in floating point). */
static uint32_t to_uint32(double x) {
  double m = fmod(x, TWO32);
  if (m < 0) m += TWO32;
  return (uint32_t)m;
}

static int put_float64(sio__sbuf *out, double v) {
  uint8_t b[9];
  uint64_t bits;
  if (isnan(v)) v = NAN; /* JS has one NaN, written 7ff8000000000000 */
  memcpy(&bits, &v, 8);
  b[0] = 0xcb;
  be32(b + 1, (uint32_t)(bits >> 32));
  be32(b + 5, (uint32_t)bits);
  return put(out, b, 9);
}

/* notepack writes hi and lo words of 64-bit forms from doubles: for values past 2^63 (or below
 * -2^63) this wraps, as `>> 0` and `>>> 0` do; we reproduce the wrap rather than saturate. */
static int put_int64_words(sio__sbuf *out, uint8_t tag, double hi, double v) {
  uint8_t b[9];
  b[0] = tag;
  be32(b + 1, to_uint32(hi));
  be32(b + 5, to_uint32(v));
  return put(out, b, 9);
}

static int put_nonneg(sio__sbuf *out, double v) {
  uint8_t b[5];
  if (v < 0x80) {
    b[0] = (uint8_t)v;
    return put(out, b, 1);
  }
  if (v < 0x100) {
    b[0] = 0xcc, b[1] = (uint8_t)v;
    return put(out, b, 2);
  }
  if (v < 0x10000) {
    b[0] = 0xcd, be16(b + 1, (uint32_t)v);
    return put(out, b, 3);
  }
  if (v < TWO32) {
    b[0] = 0xce, be32(b + 1, (uint32_t)v);
    return put(out, b, 5);
  }
  return put_int64_words(out, 0xcf, trunc(v / TWO32), v);
}

static int put_negative(sio__sbuf *out, double v) {
  uint8_t b[5];
  if (v >= -0x20) {
    b[0] = (uint8_t)(int8_t)v;
    return put(out, b, 1);
  }
  if (v >= -0x80) {
    b[0] = 0xd0, b[1] = (uint8_t)(int8_t)v;
    return put(out, b, 2);
  }
  if (v >= -0x8000) {
    b[0] = 0xd1, be16(b + 1, (uint32_t)(int32_t)v);
    return put(out, b, 3);
  }
  if (v >= -2147483648.0) {
    b[0] = 0xd2, be32(b + 1, (uint32_t)(int32_t)v);
    return put(out, b, 5);
  }
  return put_int64_words(out, 0xd3, floor(v / TWO32), v);
}

int sio__mp_put_number(sio__sbuf *out, double v) {
  if (!isfinite(v) || floor(v) != v) return put_float64(out, v);
  return v >= 0 ? put_nonneg(out, v) : put_negative(out, v);
}

int sio__mp_put_str_header(sio__sbuf *out, size_t len) {
  static const uint8_t tags[3] = {0xd9, 0xda, 0xdb};
  uint8_t b = (uint8_t)(0xa0 | len);
  if (len < 0x20) return put(out, &b, 1);
  return put_sized(out, tags, len);
}

int sio__mp_put_str(sio__sbuf *out, const char *s, size_t len) {
  int rc = sio__mp_put_str_header(out, len);
  return rc ? rc : put(out, (const uint8_t *)s, len);
}

int sio__mp_put_bin(sio__sbuf *out, const void *data, size_t len) {
  static const uint8_t tags[3] = {0xc4, 0xc5, 0xc6};
  int rc = put_sized(out, tags, len);
  return rc ? rc : put(out, data, len);
}

int sio__mp_put_array(sio__sbuf *out, size_t count) {
  return put_counted(out, 0x90, 0xdc, count);
}
int sio__mp_put_map(sio__sbuf *out, size_t pairs) {
  return put_counted(out, 0x80, 0xde, pairs);
}

int sio__mp_put_date(sio__sbuf *out, double ms) {
  uint8_t b[15];
  if (!isfinite(ms)) return -EINVAL;
  ms = trunc(ms); /* a Date's time value is whole milliseconds */
  double sec = floor(ms / 1000), nsec = (ms - sec * 1000) * 1e6;
  uint32_t ns = (uint32_t)nsec;
  if (sec >= 0 && sec < 17179869184.0) { /* 2^34 */
    if (ns == 0 && sec < TWO32) {
      b[0] = 0xd6, b[1] = 0xff, be32(b + 2, (uint32_t)sec);
      return put(out, b, 6);
    }
    uint64_t data64 = ((uint64_t)ns << 34) | (uint64_t)sec;
    b[0] = 0xd7, b[1] = 0xff, be32(b + 2, (uint32_t)(data64 >> 32)), be32(b + 6, (uint32_t)data64);
    return put(out, b, 10);
  }
  b[0] = 0xc7, b[1] = 12, b[2] = 0xff, be32(b + 3, ns);
  be32(b + 7, to_uint32(floor(sec / TWO32))), be32(b + 11, to_uint32(sec));
  return put(out, b, 15);
}

/* ---- reading ---- */

static uint32_t rd16(const uint8_t *p) {
  return (uint32_t)p[0] << 8 | p[1];
}
static uint32_t rd32(const uint8_t *p) {
  return rd16(p) << 16 | rd16(p + 2);
}
static uint64_t rd64(const uint8_t *p) {
  return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* Takes n bytes from the reader, or fails when fewer are left. */
static const uint8_t *take(sio__mp_reader *r, size_t n) {
  if (sio__mp_left(r) < n) return NULL;
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}

/* A length of 1, 2 or 4 bytes (width), then that many payload bytes. */
static int read_sized(sio__mp_reader *r, sio__mp_item *it, int width) {
  const uint8_t *p = take(r, (size_t)width);
  if (!p) return -EBADMSG;
  it->len = width == 1 ? p[0] : width == 2 ? rd16(p) : rd32(p);
  return (it->ptr = take(r, it->len)) ? 0 : -EBADMSG;
}

/* A container of n elements (2n items for a map): each takes at least one byte. */
static int read_count(sio__mp_reader *r, sio__mp_item *it, uint32_t n, sio__mp_type type) {
  it->type = type;
  it->len = n;
  uint64_t items = type == SIO__MP_MAP ? 2 * (uint64_t)n : n;
  return items <= sio__mp_left(r) ? 0 : -EBADMSG;
}

static int read_ext(sio__mp_reader *r, sio__mp_item *it, int width, uint32_t fixed) {
  it->type = SIO__MP_EXT;
  if (width) {
    const uint8_t *p = take(r, (size_t)width);
    if (!p) return -EBADMSG;
    fixed = width == 1 ? p[0] : width == 2 ? rd16(p) : rd32(p);
  }
  const uint8_t *t = take(r, 1);
  if (!t) return -EBADMSG;
  it->ext_type = (int8_t)t[0];
  if (it->tag == 0xc7 && it->ext_type == -1) fixed = 12; /* notepack's timestamp 96 */
  it->len = fixed;
  return (it->ptr = take(r, fixed)) ? 0 : -EBADMSG;
}

static int read_scalar(sio__mp_reader *r, sio__mp_item *it, uint8_t tag) {
  static const uint8_t widths[] = {1, 2, 4, 8};
  const uint8_t *p;
  if (tag == 0xca || tag == 0xcb) {
    if (!(p = take(r, tag == 0xca ? 4 : 8))) return -EBADMSG;
    it->type = SIO__MP_FLOAT;
    it->f32 = tag == 0xca;
    if (it->f32) {
      uint32_t bits = rd32(p);
      float f;
      memcpy(&f, &bits, 4);
      it->v.f = f;
    } else {
      uint64_t bits = rd64(p);
      memcpy(&it->v.f, &bits, 8);
    }
    return 0;
  }
  int w = widths[(tag - 0xcc) & 3];
  if (!(p = take(r, (size_t)w))) return -EBADMSG;
  uint64_t u = w == 1 ? p[0] : w == 2 ? rd16(p) : w == 4 ? rd32(p) : rd64(p);
  if (tag <= 0xcf) {
    it->type = SIO__MP_UINT, it->v.u = u;
  } else {
    it->type = SIO__MP_INT;
    it->v.i = w == 1 ? (int8_t)u : w == 2 ? (int16_t)u : w == 4 ? (int32_t)u : (int64_t)u;
  }
  return 0;
}

static int read_tagged(sio__mp_reader *r, sio__mp_item *it, uint8_t tag) {
  const uint8_t *p;
  switch (tag) {
  case 0xc0:
    it->type = SIO__MP_NIL;
    return 0;
  case 0xc2:
  case 0xc3:
    it->type = SIO__MP_BOOL, it->v.b = tag == 0xc3;
    return 0;
  case 0xc4:
  case 0xc5:
  case 0xc6:
    it->type = SIO__MP_BIN;
    return read_sized(r, it, 1 << (tag - 0xc4));
  case 0xc7:
  case 0xc8:
  case 0xc9:
    return read_ext(r, it, 1 << (tag - 0xc7), 0);
  case 0xd4:
  case 0xd5:
  case 0xd6:
  case 0xd7:
  case 0xd8:
    return read_ext(r, it, 0, 1u << (tag - 0xd4));
  case 0xd9:
  case 0xda:
  case 0xdb:
    it->type = SIO__MP_STR;
    return read_sized(r, it, 1 << (tag - 0xd9));
  case 0xdc:
  case 0xde:
    if (!(p = take(r, 2))) return -EBADMSG;
    return read_count(r, it, rd16(p), tag == 0xdc ? SIO__MP_ARRAY : SIO__MP_MAP);
  case 0xdd:
  case 0xdf:
    if (!(p = take(r, 4))) return -EBADMSG;
    return read_count(r, it, rd32(p), tag == 0xdd ? SIO__MP_ARRAY : SIO__MP_MAP);
  case 0xc1:
    return -EBADMSG; /* never used */
  default:
    return read_scalar(r, it, tag);
  }
}

int sio__mp_next(sio__mp_reader *r, sio__mp_item *it) {
  const uint8_t *p = take(r, 1);
  if (!p) return -EBADMSG;
  uint8_t tag = *p;
  memset(it, 0, sizeof *it);
  it->tag = tag;
  if (tag < 0x80) {
    it->type = SIO__MP_UINT, it->v.u = tag;
    return 0;
  }
  if (tag >= 0xe0) {
    it->type = SIO__MP_INT, it->v.i = (int8_t)tag;
    return 0;
  }
  if (tag < 0x90) return read_count(r, it, tag & 0x0f, SIO__MP_MAP);
  if (tag < 0xa0) return read_count(r, it, tag & 0x0f, SIO__MP_ARRAY);
  if (tag < 0xc0) {
    it->type = SIO__MP_STR, it->len = tag & 0x1f;
    return (it->ptr = take(r, it->len)) ? 0 : -EBADMSG;
  }
  return read_tagged(r, it, tag);
}

/* Items still owed by a container: its elements, or twice its pairs. */
static uint64_t owed(const sio__mp_item *it) {
  if (it->type == SIO__MP_ARRAY) return it->len;
  if (it->type == SIO__MP_MAP) return 2 * (uint64_t)it->len;
  return 0;
}

int sio__mp_skip(sio__mp_reader *r) {
  uint64_t pending = 1;
  sio__mp_item it;
  while (pending > 0) {
    if (sio__mp_next(r, &it)) return -EBADMSG;
    pending += owed(&it) - 1;
  }
  return 0;
}

int sio__mp_validate(const void *data, size_t n, int max_depth) {
  uint64_t stack[SIO__MP_MAX_DEPTH + 1]; /* items left in each open container */
  int depth = 0;
  sio__mp_reader r;
  sio__mp_item it;
  if (max_depth <= 0) max_depth = SIO__MP_DEFAULT_DEPTH;
  if (max_depth > SIO__MP_MAX_DEPTH) max_depth = SIO__MP_MAX_DEPTH;
  sio__mp_reader_init(&r, data, n);
  stack[0] = 1;
  while (depth >= 0) {
    if (stack[depth] == 0) {
      depth--;
      continue;
    }
    stack[depth]--;
    if (sio__mp_next(&r, &it)) return -EBADMSG;
    uint64_t inner = owed(&it);
    if (it.type == SIO__MP_ARRAY || it.type == SIO__MP_MAP) {
      if (depth == max_depth) return -EBADMSG;
      stack[++depth] = inner;
    }
  }
  return sio__mp_left(&r) == 0 ? 0 : -EBADMSG;
}

double sio__mp_number(const sio__mp_item *it) {
  if (it->type == SIO__MP_FLOAT) return it->v.f;
  if (it->type == SIO__MP_UINT)
    return (double)(uint32_t)(it->v.u >> 32) * TWO32 + (double)(uint32_t)it->v.u;
  if (it->type == SIO__MP_INT) {
    uint64_t u = (uint64_t)it->v.i;
    return (double)(int32_t)(uint32_t)(u >> 32) * TWO32 + (double)(uint32_t)u;
  }
  return 0;
}

int sio__mp_ext_date(const sio__mp_item *it, double *ms) {
  const uint8_t *p = it->ptr;
  if (it->type != SIO__MP_EXT) return -EINVAL;
  if (it->tag == 0xd7 && it->ext_type == 0) { /* notepack 2: signed milliseconds */
    *ms = (double)(int32_t)rd32(p) * TWO32 + (double)rd32(p + 4);
    return 0;
  }
  if (it->ext_type != -1) return -EINVAL;
  double sec, nsec = 0;
  if (it->tag == 0xd6) {
    sec = rd32(p);
  } else if (it->tag == 0xd7) {
    uint64_t d = rd64(p);
    nsec = (double)(d >> 34), sec = (double)(d & 0x3ffffffffull);
  } else if (it->tag == 0xc7) {
    nsec = rd32(p), sec = (double)(int64_t)rd64(p + 4);
  } else {
    return -EINVAL;
  }
  *ms = sec * 1000 + nsec / 1e6;
  return 0;
}
