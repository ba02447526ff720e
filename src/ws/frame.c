/* RFC 6455 framing: the incremental reader (frame parser + message assembly), masking, close
 * payloads and the server frame encoder.
 *
 * The reader takes bytes in any split. At a frame boundary with the whole header in the input
 * (the usual case) it decodes the header in place; otherwise it gathers the header (at most 14
 * bytes) in its own struct. Either way every rule is checked, in the same order, as soon as the
 * first two header bytes are known (mask bit, RSV bits, opcodes, control frame size and FIN,
 * continuation order), then the length and the message size limit, from each frame header
 * before its payload is read. Payload bytes are unmasked in place and, for text, run through
 * the UTF-8 validator right away, so a bad byte fails the connection before the rest of the
 * message arrives. A data frame that is a whole message and arrives in one piece is handed out
 * from the caller's buffer (when the whole frame is in one read, straight from the header's
 * decoding: unmasked, known to be ASCII or else validated, delivered); everything else is
 * assembled in r->msg (inflated there when compressed). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "ws/codec.h"

/* --- masking ----------------------------------------------------------------------------- */
/* The key as 8 bytes from key position p (0..3): the 32-bit key rotated by p bytes, twice. A
 * rotate and a multiply, where gathering the rotated bytes one by one cost more than the XOR of
 * a small frame. The rotation's direction follows the byte order, so the word's bytes in memory
 * are key[p], key[p+1], ... on any machine. */
static inline uint64_t key_word(const uint8_t key[4], uint32_t p) {
  uint32_t k;
  memcpy(&k, key, 4);
  unsigned s = 8 * p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  k = k << s | k >> ((32 - s) & 31);
#else
  k = k >> s | k << ((32 - s) & 31);
#endif
  return (uint64_t)k * 0x100000001u;
}

/* XORs d with the key from position p, a word at a time (memcpy: any alignment). Returns the
 * OR of the unmasked bytes (by words), so that the caller of a text frame learns whether it is
 * all ASCII without a second pass over it. */
static inline uint64_t unmask_or(uint8_t *d, size_t n, const uint8_t key[4], uint32_t p) {
  uint64_t kw = key_word(key, p), acc = 0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, d + i, 32);
    w[0] ^= kw;
    w[1] ^= kw;
    w[2] ^= kw;
    w[3] ^= kw;
    acc |= w[0] | w[1] | w[2] | w[3];
    memcpy(d + i, w, 32);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, d + i, 8);
    w ^= kw;
    acc |= w;
    memcpy(d + i, &w, 8);
  }
  uint8_t k[8];
  memcpy(k, &kw, 8);
  for (; i < n; i++) acc |= d[i] ^= k[i & 7];
  return acc;
}

void sio__ws_unmask(uint8_t *d, size_t n, const uint8_t key[4], uint32_t *pos) {
  uint32_t p = *pos & 3;
  unmask_or(d, n, key, p);
  *pos = (uint32_t)((p + n) & 3);
}

/* --- close payloads ---------------------------------------------------------------------- */
/* RFC 6455 7.4: the codes defined there plus the registered/private ranges. 1012-1014, added
 * to the IANA registry later, are refused as strict suites (and CONFORMANCE.md) expect. */
int sio__ws_close_code_valid(unsigned c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

int sio__ws_close_parse(const uint8_t *p, size_t n, unsigned *code, const char **reason,
                        size_t *reason_len) {
  *reason = "";
  *reason_len = 0;
  if (n == 0) {
    *code = SIO__WS_CLOSE_NO_STATUS;
    return 0;
  }
  if (n == 1) return SIO__WS_CLOSE_PROTOCOL;
  unsigned c = (unsigned)p[0] << 8 | p[1];
  if (!sio__ws_close_code_valid(c)) return SIO__WS_CLOSE_PROTOCOL;
  if (!sio__utf8_valid(p + 2, n - 2)) return SIO__WS_CLOSE_PROTOCOL;
  *code = c;
  *reason = (const char *)p + 2;
  *reason_len = n - 2;
  return 0;
}

/* --- encoder ----------------------------------------------------------------------------- */
static size_t frame_prepare(sio__buf *b, int opcode, int rsv1) {
  uint64_t len = b->len - SIO__WS_HEADROOM;
  size_t off = SIO__WS_HEADROOM - sio__ws_header_len(len);
  sio__ws_header_write((uint8_t *)b->data + off, opcode, rsv1, len);
  return off;
}

size_t sio__ws_frame_prepare(sio__buf *b, int opcode) {
  return frame_prepare(b, opcode, 0);
}

/* Used by the deflater: the payload is already compressed. */
size_t sio__ws_frame_prepare_rsv1(sio__buf *b, int opcode);
size_t sio__ws_frame_prepare_rsv1(sio__buf *b, int opcode) {
  return frame_prepare(b, opcode, 1);
}

sio__buf *sio__ws_frame_new(int opcode, int rsv1, const void *payload, size_t len, size_t *off) {
  sio__buf *b = sio__buf_new(SIO__WS_HEADROOM + len);
  if (!b) return NULL;
  if (len) memcpy(b->data + SIO__WS_HEADROOM, payload, len);
  b->len = SIO__WS_HEADROOM + len;
  *off = frame_prepare(b, opcode, rsv1);
  return b;
}

sio__buf *sio__ws_close_frame_new(unsigned code, const char *reason, size_t reason_len,
                                  size_t *off) {
  uint8_t p[125];
  size_t n = 0;
  if (code) {
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    n = 2;
    if (reason && reason_len) {
      if (reason_len > 123) { /* cut at a UTF-8 character boundary */
        reason_len = 123;
        while (reason_len > 0 && ((uint8_t)reason[reason_len] & 0xC0) == 0x80) reason_len--;
      }
      memcpy(p + 2, reason, reason_len);
      n += reason_len;
    }
  }
  return sio__ws_frame_new(SIO__WS_OP_CLOSE, 0, p, n, off);
}

/* --- reader ------------------------------------------------------------------------------ */
void sio__ws_reader_init(sio__ws_reader *r, size_t max_message, const sio__ws_reader_cb *cb,
                         void *user) {
  memset(r, 0, sizeof(*r));
  r->require_mask = 1;
  r->max_message = max_message;
  r->cb = cb;
  r->user = user;
}

int sio__ws_reader_enable_deflate(sio__ws_reader *r, const sio__ws_pmd_params *p) {
  if (r->inflater) return 0;
  r->inflater = sio__ws_inflater_new(p);
  return r->inflater ? 0 : -ENOMEM;
}

/* The message being assembled: created on first use, freed once delivered. */
static sio__sbuf *msg_buf(sio__ws_reader *r) {
  if (!r->msg && (r->msg = sio__malloc(sizeof(*r->msg)))) *r->msg = (sio__sbuf)SIO__SBUF_INIT;
  return r->msg;
}

static void msg_drop(sio__ws_reader *r) {
  if (!r->msg) return;
  sio__sbuf_free(r->msg);
  sio__free(r->msg);
  r->msg = NULL;
}

void sio__ws_reader_free(sio__ws_reader *r) {
  msg_drop(r);
  sio__free(r->ctl);
  r->ctl = NULL;
  if (r->inflater) sio__ws_inflater_free(r->inflater);
  r->inflater = NULL;
}

static int fail(sio__ws_reader *r, int code) {
  r->failed = (uint16_t)code;
  return code;
}

/* Rules that the first two header bytes decide. 0 or a close code. */
static inline int check_start(const sio__ws_reader *r, uint8_t b0, uint8_t b1) {
  int fin = b0 >> 7, rsv1 = (b0 >> 6) & 1, rsv23 = (b0 >> 4) & 3, op = b0 & 0x0F;
  if (r->require_mask && !(b1 & 0x80)) return SIO__WS_CLOSE_PROTOCOL;
  if (rsv23) return SIO__WS_CLOSE_PROTOCOL;
  if (op >= 8) {
    if (op > SIO__WS_OP_PONG || !fin || rsv1 || (b1 & 0x7F) > 125) return SIO__WS_CLOSE_PROTOCOL;
    return 0;
  }
  if (op > SIO__WS_OP_BINARY) return SIO__WS_CLOSE_PROTOCOL;
  if (op == SIO__WS_OP_CONT) {
    if (!r->msg_opcode || rsv1) return SIO__WS_CLOSE_PROTOCOL;
  } else {
    if (r->msg_opcode) return SIO__WS_CLOSE_PROTOCOL;
    if (rsv1 && !r->inflater) return SIO__WS_CLOSE_PROTOCOL;
  }
  return 0;
}

/* The header's length, from its second byte. */
static size_t header_total(uint8_t b1) {
  size_t n = 2;
  uint8_t l7 = b1 & 0x7F;
  if (l7 == 126)
    n += 2;
  else if (l7 == 127)
    n += 8;
  if (b1 & 0x80) n += 4;
  return n;
}

/* The payload length from a complete header. 0, or 1002 for a 64-bit length with the top bit
 * set. */
static inline int frame_length(const uint8_t *h, uint64_t *len) {
  uint64_t n = h[1] & 0x7F;
  if (n == 126) {
    n = (uint64_t)h[2] << 8 | h[3];
  } else if (n == 127) {
    n = 0;
    for (int k = 0; k < 8; k++) n = n << 8 | h[2 + k];
    if (n >> 63) return SIO__WS_CLOSE_PROTOCOL;
  }
  *len = n;
  return 0;
}

static void reset_message(sio__ws_reader *r) {
  r->msg_opcode = 0;
  r->msg_compressed = 0;
  r->msg_raw = 0;
  r->utf8 = SIO__UTF8_ACCEPT;
  msg_drop(r); /* an idle connection keeps no message memory */
}

static int deliver(sio__ws_reader *r, int binary, char *data, size_t len) {
  int rc = r->cb->on_message ? r->cb->on_message(r->user, binary, data, len) : 0;
  return rc < 0 ? rc : 0;
}

/* A whole message sits in r->msg. */
static int deliver_assembled(sio__ws_reader *r) {
  int binary = r->msg_opcode == SIO__WS_OP_BINARY;
  if (!binary && r->utf8 != SIO__UTF8_ACCEPT) return fail(r, SIO__WS_CLOSE_INVALID_DATA);
  sio__sbuf *m = r->msg;
  int rc = deliver(r, binary, m && m->data ? m->data : (char *)"", m ? m->len : 0);
  reset_message(r);
  return rc;
}

static int control(sio__ws_reader *r, uint8_t *p, size_t n) {
  unsigned code = 0;
  if (r->opcode == SIO__WS_OP_CLOSE) {
    const char *reason;
    size_t rlen;
    int rc = sio__ws_close_parse(p, n, &code, &reason, &rlen);
    if (rc) return fail(r, rc);
    p = (uint8_t *)reason;
    n = rlen;
  }
  int rc = r->cb->on_control ? r->cb->on_control(r->user, r->opcode, code, (char *)p, n) : 0;
  return rc < 0 ? rc : 0;
}

static int control_payload(sio__ws_reader *r, uint8_t *p, size_t n, int first, int last) {
  if (first && last) return control(r, p, n);
  if (!r->ctl) {
    r->ctl = sio__malloc(125);
    if (!r->ctl) return fail(r, SIO__WS_CLOSE_INTERNAL);
    r->ctl_len = 0;
  }
  memcpy(r->ctl + r->ctl_len, p, n);
  r->ctl_len = (uint8_t)(r->ctl_len + n);
  if (!last) return 0;
  uint8_t buf[125];
  size_t len = r->ctl_len;
  memcpy(buf, r->ctl, len);
  sio__free(r->ctl);
  r->ctl = NULL;
  r->ctl_len = 0;
  return control(r, buf, len);
}

static int text_check(sio__ws_reader *r, const uint8_t *p, size_t n) {
  if (r->msg_opcode != SIO__WS_OP_TEXT) return 0;
  r->utf8 = sio__utf8_step(r->utf8, p, n);
  return r->utf8 == SIO__UTF8_REJECT ? fail(r, SIO__WS_CLOSE_INVALID_DATA) : 0;
}

static int data_payload(sio__ws_reader *r, uint8_t *p, size_t n, int first, int last) {
  int end = last && r->fin;
  int rc;
  if (r->msg_compressed) {
    sio__sbuf *m = msg_buf(r);
    if (!m) return fail(r, SIO__WS_CLOSE_INTERNAL);
    size_t before = m->len;
    rc = sio__ws_inflate(r->inflater, p, n, m, r->max_message);
    if (!rc && end) rc = sio__ws_inflate_end(r->inflater, m, r->max_message);
    if (rc) return fail(r, rc);
    if ((rc = text_check(r, (uint8_t *)m->data + before, m->len - before))) return rc;
    return end ? deliver_assembled(r) : 0;
  }
  if ((rc = text_check(r, p, n))) return rc;
  if (first && end && r->opcode != SIO__WS_OP_CONT) { /* the whole message, in place */
    int binary = r->msg_opcode == SIO__WS_OP_BINARY;
    if (!binary && r->utf8 != SIO__UTF8_ACCEPT) return fail(r, SIO__WS_CLOSE_INVALID_DATA);
    r->msg_opcode = 0;
    reset_message(r);
    return deliver(r, binary, (char *)p, n);
  }
  if (n && (!msg_buf(r) || sio__sbuf_append(r->msg, p, n))) {
    msg_drop(r);
    return fail(r, SIO__WS_CLOSE_INTERNAL);
  }
  return end ? deliver_assembled(r) : 0;
}

static int payload(sio__ws_reader *r, uint8_t *p, size_t n, int first, int last) {
  if (r->opcode >= 8) return control_payload(r, p, n, first, last);
  return data_payload(r, p, n, first, last);
}

static uint8_t empty_payload[1]; /* what callbacks get for an empty one: never NULL */

/* The header h (hl bytes, payload length len, rules checked) is complete: start the frame. */
static int start_frame(sio__ws_reader *r, const uint8_t *h, size_t hl, uint64_t len) {
  r->masked = (h[1] & 0x80) != 0;
  if (r->masked)
    memcpy(r->mask, h + hl - 4, 4);
  else
    memset(r->mask, 0, 4);
  r->opcode = h[0] & 0x0F;
  r->fin = h[0] >> 7;
  r->remaining = len;
  r->started = 0;
  r->mask_pos = 0;
  r->hdr_len = 0;
  if (r->opcode < 8) {
    if (r->opcode != SIO__WS_OP_CONT) {
      r->msg_opcode = r->opcode;
      r->msg_compressed = (h[0] >> 6) & 1;
      r->utf8 = SIO__UTF8_ACCEPT;
      r->msg_raw = 0;
    }
    r->msg_raw += len;
    if (r->max_message) {
      /* compressed input may be a little larger than its output */
      uint64_t limit = r->max_message;
      if (r->msg_compressed) limit += limit / 8 + 1024;
      if (r->msg_raw > limit) return fail(r, SIO__WS_CLOSE_TOO_BIG);
    }
  }
  r->in_payload = len > 0;
  if (len == 0) return payload(r, empty_payload, 0, 1, 1);
  return 0;
}

/* An uncompressed single-frame data message, all in the input at d: unmasked (key: NULL when
 * the frame is not masked), checked and handed out in place, as data_payload would for the
 * same frame (RFC 6455 5.6: text must be valid UTF-8). No message was open, so the message
 * state is already reset and stays so. */
static int whole_message(sio__ws_reader *r, int binary, uint8_t *d, size_t n, const uint8_t *key) {
  uint64_t bits = key ? unmask_or(d, n, key, 0) : 0x80; /* unknown: validate */
  if (!binary && (bits & 0x8080808080808080ULL) &&
      sio__utf8_step(SIO__UTF8_ACCEPT, d, n) != SIO__UTF8_ACCEPT)
    return fail(r, SIO__WS_CLOSE_INVALID_DATA);
  return deliver(r, binary, (char *)(n ? d : empty_payload), n);
}

/* A frame at p whose whole header is in the input (len bytes from p), read from there without
 * gathering it in r->hdr. The rules are checked in the gathering path's order: check_start,
 * the length, the size limit. A data frame that is a whole uncompressed message and is all
 * here (many small messages per read: the common case) is delivered at once; any other frame
 * is started, and *used (the bytes taken) leaves the payload to the caller's loop. */
static int frame_in_place(sio__ws_reader *r, uint8_t *p, size_t len, size_t *used) {
  uint8_t b0 = p[0], b1 = p[1];
  int rc = check_start(r, b0, b1);
  if (rc) return fail(r, rc);
  size_t hl = header_total(b1);
  uint64_t n;
  if ((rc = frame_length(p, &n))) return fail(r, rc);
  int op = b0 & 0x0F;
  /* FIN set, RSV1 clear, TEXT or BINARY (check_start saw that no message is open) */
  if ((b0 & 0xC0) == 0x80 && (op == SIO__WS_OP_TEXT || op == SIO__WS_OP_BINARY) && n <= len - hl) {
    if (r->max_message && n > r->max_message) return fail(r, SIO__WS_CLOSE_TOO_BIG);
    *used = hl + (size_t)n;
    return whole_message(r, op == SIO__WS_OP_BINARY, p + hl, (size_t)n,
                         (b1 & 0x80) ? p + hl - 4 : NULL);
  }
  *used = hl;
  return start_frame(r, p, hl, n);
}

int sio__ws_reader_feed(sio__ws_reader *r, char *data, size_t len) {
  if (r->failed) return r->failed;
  uint8_t *p = (uint8_t *)data;
  while (len > 0) {
    if (!r->in_payload) {
      if (r->hdr_len == 0 && len >= 2 && len >= header_total(p[1])) {
        size_t used = 0;
        int rc = frame_in_place(r, p, len, &used);
        if (rc) return rc;
        p += used;
        len -= used;
        continue;
      }
      /* a header split across reads: gathered in r->hdr */
      size_t need = r->hdr_len >= 2 ? header_total(r->hdr[1]) : 2;
      while (r->hdr_len < need) {
        if (len == 0) return 0;
        size_t take = need - r->hdr_len;
        if (take > len) take = len;
        memcpy(r->hdr + r->hdr_len, p, take);
        r->hdr_len = (uint8_t)(r->hdr_len + take);
        p += take;
        len -= take;
        if (r->hdr_len == 2) {
          int rc = check_start(r, r->hdr[0], r->hdr[1]);
          if (rc) return fail(r, rc);
          need = header_total(r->hdr[1]);
        }
      }
      uint64_t n;
      int rc = frame_length(r->hdr, &n);
      if (rc) return fail(r, rc);
      if ((rc = start_frame(r, r->hdr, need, n))) return rc;
      continue;
    }
    size_t n = len < r->remaining ? len : (size_t)r->remaining;
    int first = !r->started;
    r->started = 1;
    if (r->masked) sio__ws_unmask(p, n, r->mask, &r->mask_pos);
    r->remaining -= n;
    int last = r->remaining == 0;
    if (last) r->in_payload = 0;
    int rc = payload(r, p, n, first, last);
    if (rc) return rc;
    p += n;
    len -= n;
  }
  return 0;
}
