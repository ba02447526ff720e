/* Engine.IO v3 packet and payload codec: see codec_v3.h. Strict where Node's parser-v3 is loose
 * (it takes Number(" 1e1") as a length and parseInt of anything in binary payloads): a record is
 * accepted only when its length is plain decimal and lands on a packet boundary, so a malformed
 * payload closes the session ("parse error") instead of being half-read. */
#include "engine/codec_v3.h"

#include <errno.h>
#include <string.h>

#include "core/codec.h"

/* Longest length field read: 10 digits is already more than any payload a server accepts. */
#define MAX_LEN_DIGITS 10

/* One UTF-8 sequence at s[0..n): its byte length and its UTF-16 units in *units, or -1 when it
 * is not a valid, shortest-form sequence of a scalar value. */
static int utf8_step(const unsigned char *s, size_t n, int *units) {
  unsigned c = s[0];
  size_t len;
  unsigned cp, min;
  if (c < 0x80) {
    *units = 1;
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (n < len) return -1;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return -1;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  *units = cp >= 0x10000 ? 2 : 1;
  return (int)len;
}

long sio__eio3_utf16_len(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  long units = 0;
  for (size_t i = 0; i < n;) {
    int w, step = utf8_step(u + i, n - i, &w);
    if (step < 0) return -EINVAL;
    i += (size_t)step;
    units += w;
  }
  return units;
}

/* Bytes of s[0..n) that hold exactly `units` UTF-16 units, or -EINVAL (too short, invalid
 * UTF-8, or the count ends inside a surrogate pair). */
static long utf16_prefix_bytes(const char *s, size_t n, unsigned long units) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  unsigned long got = 0;
  while (got < units) {
    if (i >= n) return -EINVAL;
    int w, step = utf8_step(u + i, n - i, &w);
    if (step < 0) return -EINVAL;
    i += (size_t)step;
    got += (unsigned long)w;
  }
  return got == units ? (long)i : -EINVAL;
}

int sio__eio3_decode_ws_binary(const void *data, size_t n, sio__eio_packet *out) {
  const unsigned char *b = data;
  if (n < 1 || b[0] > SIO__EIO_NOOP) return -EINVAL;
  *out = (sio__eio_packet){(sio__eio_type)b[0], 1, (const char *)b + 1, n - 1};
  return 0;
}

void sio__eio3_payload_init(sio__eio3_payload_iter *it, const char *s, size_t n, int binary) {
  *it = (sio__eio3_payload_iter){s, n, 0, binary ? 1 : 0, 0, SIO__SBUF_INIT};
}

void sio__eio3_payload_free(sio__eio3_payload_iter *it) {
  sio__sbuf_free(&it->scratch);
}

/* A text packet as a payload or a WebSocket text frame carries it: "b<type><base64>" or
 * "<type><data>". */
int sio__eio3_decode_text(const char *s, size_t n, sio__sbuf *scratch, sio__eio_packet *out) {
  if (n == 0 || s[0] != 'b') return sio__eio_decode_text(s, n, out);
  if (n < 2 || s[1] < '0' || s[1] > '6') return -EINVAL;
  sio__sbuf_reset(scratch);
  if (sio__sbuf_reserve(scratch, (n - 2) * 3 / 4 + 4)) return -ENOMEM;
  long got = n > 2 ? sio__base64_decode(scratch->data, s + 2, n - 2) : 0;
  if (got < 0) return -EINVAL;
  scratch->len = (size_t)got;
  *out = (sio__eio_packet){(sio__eio_type)(s[1] - '0'), 1, scratch->data, (size_t)got};
  return 0;
}

static int decode_text_packet(sio__eio3_payload_iter *it, const char *s, size_t n,
                              sio__eio_packet *out) {
  return sio__eio3_decode_text(s, n, &it->scratch, out);
}

/* The next text record from it->pos: 1 and *out, 2 for a zero-length record (no packet), or a
 * negative errno. */
static int next_text_record(sio__eio3_payload_iter *it, sio__eio_packet *out) {
  const char *s = it->s + it->pos;
  size_t left = it->n - it->pos, i = 0;
  unsigned long units = 0;
  while (i < left && s[i] >= '0' && s[i] <= '9') {
    if (i == MAX_LEN_DIGITS) return -EINVAL;
    units = units * 10 + (unsigned long)(s[i] - '0');
    i++;
  }
  if (i == 0 || i == left || s[i] != ':') return -EINVAL;
  i++;
  long bytes = utf16_prefix_bytes(s + i, left - i, units);
  if (bytes < 0) return (int)bytes;
  it->pos += i + (size_t)bytes;
  if (bytes == 0) return 2;
  int rc = decode_text_packet(it, s + i, (size_t)bytes, out);
  return rc ? rc : 1;
}

/* The next XHR2 binary record: 1 and *out, or a negative errno. */
static int next_binary_record(sio__eio3_payload_iter *it, sio__eio_packet *out) {
  const unsigned char *s = (const unsigned char *)it->s + it->pos;
  size_t left = it->n - it->pos, i = 1;
  unsigned long len = 0;
  if (s[0] > 1) return -EINVAL;
  while (i < left && s[i] <= 9) {
    if (i > MAX_LEN_DIGITS) return -EINVAL;
    len = len * 10 + s[i];
    i++;
  }
  if (i == 1 || i == left || s[i] != 0xff) return -EINVAL;
  i++;
  if (len == 0 || len > left - i) return -EINVAL;
  const char *body = (const char *)s + i;
  it->pos += i + len;
  int rc = s[0] == 0 ? (sio__eio3_utf16_len(body, len) < 0 ? -EINVAL
                                                           : decode_text_packet(it, body, len, out))
                     : sio__eio3_decode_ws_binary(body, len, out);
  return rc ? rc : 1;
}

int sio__eio3_payload_next(sio__eio3_payload_iter *it, sio__eio_packet *out) {
  if (it->done) return it->done < 0 ? it->done : 0;
  if (it->n == 0) return it->done = -EINVAL;
  for (;;) {
    if (it->pos == it->n) {
      it->done = 1;
      return 0;
    }
    int rc = it->binary ? next_binary_record(it, out) : next_text_record(it, out);
    if (rc < 0) return it->done = rc;
    if (rc == 1) return 1;
  }
}

long sio__eio3_payload_count(const char *s, size_t n, int binary) {
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  long count = 0;
  int rc;
  sio__eio3_payload_init(&it, s, n, binary);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1) count++;
  sio__eio3_payload_free(&it);
  return rc < 0 ? rc : count;
}

static int encode_text_record(sio__sbuf *out, const sio__eio_packet *p) {
  if (p->binary) {
    /* "b4" + base64: ASCII, so its length in UTF-16 units is its byte length */
    size_t b64 = sio__base64_len(p->len);
    if (sio__sbuf_append_u64(out, b64 + 2) || sio__sbuf_reserve(out, b64 + 4)) return -ENOMEM;
    out->data[out->len++] = ':';
    out->data[out->len++] = 'b';
    out->data[out->len++] = (char)('0' + p->type);
    out->len += sio__base64_encode(out->data + out->len, p->data, p->len, 0);
    out->data[out->len] = 0;
    return 0;
  }
  long units = sio__eio3_utf16_len(p->data, p->len);
  if (units < 0) return -EINVAL;
  sio__sbuf_append_u64(out, (uint64_t)units + 1);
  sio__sbuf_appendc(out, ':');
  sio__sbuf_appendc(out, (char)('0' + p->type));
  return sio__sbuf_append(out, p->data, p->len);
}

static int encode_binary_record(sio__sbuf *out, const sio__eio_packet *p) {
  if (!p->binary && sio__eio3_utf16_len(p->data, p->len) < 0) return -EINVAL;
  char digits[24];
  size_t nd = 0;
  unsigned long long len = (unsigned long long)p->len + 1;
  do {
    digits[nd++] = (char)(len % 10);
    len /= 10;
  } while (len);
  if (sio__sbuf_reserve(out, nd + 3 + p->len)) return -ENOMEM;
  out->data[out->len++] = p->binary ? 1 : 0;
  while (nd) out->data[out->len++] = digits[--nd];
  out->data[out->len++] = (char)0xff;
  out->data[out->len++] = p->binary ? (char)p->type : (char)('0' + p->type);
  return sio__sbuf_append(out, p->data, p->len);
}

int sio__eio3_encode_record(sio__sbuf *out, const sio__eio_packet *p, int binary) {
  return binary ? encode_binary_record(out, p) : encode_text_record(out, p);
}

int sio__eio3_binary_to_text(const char *s, size_t n, sio__sbuf *out) {
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  int rc;
  sio__eio3_payload_init(&it, s, n, 1);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1)
    if ((rc = encode_text_record(out, &p)) != 0) break;
  sio__eio3_payload_free(&it);
  return rc < 0 ? rc : out->oom ? -ENOMEM : 0;
}

int sio__eio3_encode_ws(sio__sbuf *out, const sio__eio_packet *p) {
  sio__sbuf_appendc(out, p->binary ? (char)p->type : (char)('0' + p->type));
  return sio__sbuf_append(out, p->data, p->len);
}
