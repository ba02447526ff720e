/* libFuzzer target for the Socket.IO packet decoder with binary reconstruction. The input is
 * split on 0xff bytes: the first part is the text packet, the following parts are attachments.
 * Decoding, placeholder lookup and reassembly must never crash or leak, and re-encoding a
 * decoded packet must decode to the same header. The element slices the decoder keeps must be
 * the ones an iterator finds, and one flagged canonical must come out of the canonical writer
 * unchanged (what lets the server relay it verbatim). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/codec.h"
#include "socketio/io_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  const char *end = memchr(s, 0xff, size);
  size_t tlen = end ? (size_t)(end - s) : size;
  sio__sio_packet p;
  if (sio__sio_decode(s, tlen, NULL, &p) == 0) {
    if (p.data && p.data_type == SIO__JSON_ARRAY) {
      sio__json_iter it;
      sio__json_slice v;
      size_t k = 0;
      sio__json_iter_init(&it, p.data, p.data_len);
      for (; sio__json_iter_next(&it, &v); k++) {
        if (k >= SIO__SIO_ELEMS) continue;
        const sio__json_slice *e = &p.elem[k];
        if (e->off != v.off || e->len != v.len || e->type != v.type) abort();
        if (e->canon) {
          sio__sbuf c = SIO__SBUF_INIT;
          sio__json_canon(&c, p.data + e->off, e->len);
          if (!c.oom && (c.len != e->len || memcmp(c.data, p.data + e->off, e->len))) abort();
          sio__sbuf_free(&c);
        }
      }
      if (k != p.nelem) abort();
    }
    sio__sbuf b = SIO__SBUF_INIT;
    sio__sio_encode_header(&b, 0, p.type, p.attachments, p.nsp, p.nsp_len, p.id);
    if (p.data) sio__sbuf_append(&b, p.data, p.data_len);
    sio__sio_packet q;
    if (!b.oom) {
      if (sio__sio_decode(b.data, b.len, NULL, &q)) abort();
      if (q.type != p.type || q.id != p.id || q.attachments != p.attachments ||
          q.data_len != p.data_len)
        abort();
    }
    sio__sbuf_free(&b);
    if (p.type == SIO__SIO_BINARY_EVENT || p.type == SIO__SIO_BINARY_ACK) {
      sio__sio_reassembly r;
      if (sio__sio_reassembly_start(&r, s, tlen, NULL) == 0) {
        const char *at = end ? end + 1 : s + size;
        while (!sio__sio_reassembly_complete(&r) && at <= s + size) {
          const char *next = memchr(at, 0xff, (size_t)(s + size - at));
          size_t alen = next ? (size_t)(next - at) : (size_t)(s + size - at);
          if (sio__sio_reassembly_add(&r, at, alen) < 0) break;
          if (!next) break;
          at = next + 1;
        }
        if (r.packet.data) {
          sio__sio_placeholder ph[4];
          size_t count;
          if (sio__sio_find_placeholders(r.packet.data, r.packet.data_len, r.packet.attachments, ph,
                                         4, &count))
            abort();
          for (size_t k = 0; k < count && k < 4; k++)
            if (ph[k].num >= r.packet.attachments) abort();
        }
        sio__sio_reassembly_free(&r);
      }
    }
  }
  return 0;
}
