/* permessage-deflate streams (RFC 7692 section 7): raw deflate with the 00 00 FF FF tail of
 * each sync flush removed on send and put back on receive.
 *
 * zlib state exists only on connections that negotiated the extension and is allocated
 * through sio__zalloc/sio__zfree. The inflater always uses a 15-bit window (it can read any
 * smaller window) and its output is bounded by the message limit, so a small compressed frame
 * cannot make us allocate more than that. Without context takeover a stream is reset after
 * each message. */
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "ws/codec.h"

size_t sio__ws_frame_prepare_rsv1(sio__buf *b, int opcode);

struct sio__ws_inflater {
  z_stream z;
  int no_takeover;
};

struct sio__ws_deflater {
  z_stream z;
  int no_takeover;
};

sio__ws_inflater *sio__ws_inflater_new(const sio__ws_pmd_params *p) {
  sio__ws_inflater *f = sio__calloc(1, sizeof(*f));
  if (!f) return NULL;
  f->z.zalloc = sio__zalloc;
  f->z.zfree = sio__zfree;
  f->no_takeover = p->client_no_context_takeover;
  if (inflateInit2(&f->z, -15) != Z_OK) {
    sio__free(f);
    return NULL;
  }
  return f;
}

void sio__ws_inflater_free(sio__ws_inflater *f) {
  if (!f) return;
  inflateEnd(&f->z);
  sio__free(f);
}

int sio__ws_inflate(sio__ws_inflater *f, const uint8_t *in, size_t n, sio__sbuf *out,
                    size_t limit) {
  z_stream *z = &f->z;
  z->next_in = (Bytef *)in;
  z->avail_in = (uInt)n; /* frames are fed in read-sized pieces (< 4 GiB) */
  for (;;) {
    if (out->cap - out->len < 1024) {
      size_t grow = out->len < 4096 ? 4096 : out->len;
      if (limit && grow > limit + 1 - out->len) grow = limit + 1 - out->len;
      if (grow < 1024) grow = 1024;
      if (sio__sbuf_reserve(out, grow)) return SIO__WS_CLOSE_INTERNAL;
    }
    size_t room = out->cap - out->len;
    if (limit && room > limit + 1 - out->len) room = limit + 1 - out->len;
    z->next_out = (Bytef *)out->data + out->len;
    z->avail_out = (uInt)room;
    int zr = inflate(z, Z_SYNC_FLUSH);
    size_t produced = room - z->avail_out;
    out->len += produced;
    out->data[out->len] = '\0';
    if (limit && out->len > limit) return SIO__WS_CLOSE_TOO_BIG;
    if (zr == Z_STREAM_END) { /* the peer ended the deflate stream (BFINAL): start anew */
      inflateReset(z);
      if (z->avail_in == 0) return 0;
      continue;
    }
    if (zr == Z_MEM_ERROR) return SIO__WS_CLOSE_INTERNAL;
    if (zr != Z_OK && zr != Z_BUF_ERROR) return SIO__WS_CLOSE_INVALID_DATA;
    if (z->avail_in == 0 && z->avail_out > 0) return 0;
    if (zr == Z_BUF_ERROR && produced == 0 && z->avail_out > 0) return 0;
  }
}

int sio__ws_inflate_end(sio__ws_inflater *f, sio__sbuf *out, size_t limit) {
  static const uint8_t tail[4] = {0x00, 0x00, 0xFF, 0xFF};
  int rc = sio__ws_inflate(f, tail, 4, out, limit);
  if (f->no_takeover) inflateReset(&f->z);
  return rc;
}

sio__ws_deflater *sio__ws_deflater_new(const sio__ws_pmd_params *p, int mem_level) {
  sio__ws_deflater *d = sio__calloc(1, sizeof(*d));
  if (!d) return NULL;
  d->z.zalloc = sio__zalloc;
  d->z.zfree = sio__zfree;
  d->no_takeover = p->server_no_context_takeover;
  int bits = p->server_max_window_bits;
  if (bits < 9) bits = 9;
  if (bits > 15) bits = 15;
  if (mem_level < 1 || mem_level > 9) mem_level = 8;
  if (deflateInit2(&d->z, 1, Z_DEFLATED, -bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
    sio__free(d);
    return NULL;
  }
  return d;
}

void sio__ws_deflater_free(sio__ws_deflater *d) {
  if (!d) return;
  deflateEnd(&d->z);
  sio__free(d);
}

sio__buf *sio__ws_deflate_frame(sio__ws_deflater *d, int opcode, const void *data, size_t len,
                                size_t *off) {
  if ((uint64_t)len > 0xFFFFFFF0u) return NULL; /* zlib counts in 32 bits */
  if (len == 0) { /* an empty stored block stands for the empty message (RFC 7692 7.2.3.6);
                     zlib would emit nothing after an earlier flush */
    sio__buf *e = sio__ws_frame_new(opcode, 1, "", 1, off);
    return e;
  }
  sio__sbuf s = SIO__SBUF_INIT;
  if (sio__sbuf_reserve(&s, SIO__WS_HEADROOM + len + len / 16 + 64)) return NULL;
  memset(s.data, 0, SIO__WS_HEADROOM);
  s.len = SIO__WS_HEADROOM;
  z_stream *z = &d->z;
  z->next_in = (Bytef *)data;
  z->avail_in = (uInt)len;
  for (;;) {
    if (s.cap - s.len < 64 && sio__sbuf_reserve(&s, s.len)) {
      sio__sbuf_free(&s);
      return NULL;
    }
    size_t room = s.cap - s.len;
    z->next_out = (Bytef *)s.data + s.len;
    z->avail_out = (uInt)room;
    int zr = deflate(z, Z_SYNC_FLUSH);
    s.len += room - z->avail_out;
    if (zr != Z_OK && zr != Z_BUF_ERROR) {
      sio__sbuf_free(&s);
      deflateReset(z);
      return NULL;
    }
    if (z->avail_out > 0) break; /* all input consumed and flushed */
  }
  /* drop the sync flush's empty stored block tail */
  if (s.len >= SIO__WS_HEADROOM + 4 && memcmp(s.data + s.len - 4, "\x00\x00\xff\xff", 4) == 0)
    s.len -= 4;
  if (d->no_takeover) deflateReset(z);
  sio__buf *b = sio__sbuf_to_buf(&s);
  if (!b) return NULL;
  *off = sio__ws_frame_prepare_rsv1(b, opcode);
  return b;
}
