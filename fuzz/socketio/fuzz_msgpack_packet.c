/* libFuzzer target for the msgpack parser's packet decoder (src/socketio/mpcodec.c). Decoding
 * must never crash, leak or read past the input; a decoded packet's data must be valid JSON
 * whose placeholders are exactly its attachments, and its element slices the ones an iterator
 * finds. Encoding a decoded packet back (as the server would send it) must succeed or refuse a
 * placeholder-shaped object, and decode again to the same header; after two rounds the
 * bytes are a fixed point. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/mpcodec.h"

/* The text form the server's encoder takes for a decoded packet. */
static int to_text(const sio__mpk_packet *p, sio__sbuf *out) {
  sio__sio_encode_header(out, 0, p->packet.type, p->packet.attachments, p->packet.nsp,
                         p->packet.nsp_len, p->packet.id);
  if (p->packet.data) sio__sbuf_append(out, p->packet.data, p->packet.data_len);
  return out->oom ? -1 : 0;
}

static void check_packet(const sio__mpk_packet *p) {
  const sio__sio_packet *k = &p->packet;
  if (!k->data) return;
  if (sio__json_validate(k->data, k->data_len, SIO__JSON_MAX_DEPTH, NULL)) abort();
  if (k->type == SIO__SIO_BINARY_EVENT || k->type == SIO__SIO_BINARY_ACK) {
    size_t count;
    if (sio__sio_find_placeholders(k->data, k->data_len, p->natt, NULL, 0, &count)) abort();
  }
  if (k->data_type != SIO__JSON_ARRAY) return;
  sio__json_iter it;
  sio__json_slice v;
  size_t n = 0;
  sio__json_iter_init(&it, k->data, k->data_len);
  for (; sio__json_iter_next(&it, &v); n++) {
    if (n >= SIO__SIO_ELEMS) continue;
    if (k->elem[n].off != v.off || k->elem[n].len != v.len || k->elem[n].type != v.type) abort();
  }
  if (n != k->nelem) abort();
}

/* Encodes p as the server would; *out gets the msgpack bytes. 0, or 1 when refused. */
static int reencode(const sio__mpk_packet *p, sio__sbuf *out) {
  sio__sbuf text = SIO__SBUF_INIT;
  sio__mp_bin bins[64];
  const sio__sio_packet *k = &p->packet;
  /* a namespace the text header cannot carry is no namespace the server has */
  if (!k->nsp_len || k->nsp[0] != '/' || memchr(k->nsp, ',', k->nsp_len)) return 1;
  if (p->natt > 64 || to_text(p, &text)) {
    sio__sbuf_free(&text);
    return 1;
  }
  for (unsigned i = 0; i < p->natt; i++) bins[i] = (sio__mp_bin){p->att[i]->data, p->att[i]->len};
  int rc = sio__mpk_encode(out, text.data, text.len, bins, p->natt);
  sio__sbuf_free(&text);
  if (rc == -ENOMEM) return 1;
  if (rc) { /* only a placeholder-shaped object naming no attachment is refused */
    if (!p->packet.data || !strstr(p->packet.data, "_placeholder")) abort();
    return 1;
  }
  return 0;
}

static void same_header(const sio__mpk_packet *a, const sio__mpk_packet *b) {
  if (a->packet.type != b->packet.type || a->packet.id != b->packet.id ||
      a->packet.nsp_len != b->packet.nsp_len ||
      memcmp(a->packet.nsp, b->packet.nsp, a->packet.nsp_len))
    abort();
}

/* Decodes bytes and encodes the packet back: 0 and *out, or 1 when it stops there. */
static int round_trip(const void *in, size_t n, sio__sbuf *out, sio__mpk_packet *prev) {
  sio__mpk_packet q;
  if (sio__mpk_decode(in, n, NULL, &q) < 0) abort(); /* what we wrote must decode */
  /* a literal placeholder-shaped object becomes binary: the header may change once */
  if (!strstr(prev->packet.data ? prev->packet.data : "", "_placeholder")) same_header(prev, &q);
  int rc = reencode(&q, out);
  sio__mpk_packet_free(&q);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sio__mpk_packet p;
  if (sio__mpk_decode(data, size, NULL, &p) < 0) return 0;
  check_packet(&p);
  sio__sbuf b1 = SIO__SBUF_INIT, b2 = SIO__SBUF_INIT, b3 = SIO__SBUF_INIT;
  /* integers past 2^64 wrap once (as notepack's >> 0 does); after that the bytes are stable */
  if (!reencode(&p, &b1) && !round_trip(b1.data, b1.len, &b2, &p) &&
      !round_trip(b2.data, b2.len, &b3, &p) &&
      (b3.len != b2.len || memcmp(b3.data, b2.data, b2.len)))
    abort();
  sio__sbuf_free(&b1);
  sio__sbuf_free(&b2);
  sio__sbuf_free(&b3);
  sio__mpk_packet_free(&p);
  return 0;
}
