/* Socket.IO v5 packet codec: see codec.h. The decoder walks the header by hand (type, optional
 * attachment count, namespace and ack id), then validates the rest as one JSON value with the
 * core scanner and checks the payload shape each packet type requires. */
#include "socketio/codec.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

static const unsigned char reserved_lens[] = {7, 13, 10, 13, 11, 14};

int sio__sio_event_name_ok(const char *s, const sio__json_slice *first) {
  if (first->type == SIO__JSON_NUMBER) return 1;
  if (first->type != SIO__JSON_STRING) return 0;
  size_t raw = first->len - 2; /* an unescaped name is never longer than its JSON text */
  if (raw < 7) return 1;
  for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++) {
    if (first->canon) { /* no \u escapes: the text is the name unless it holds an escape,
                           and no reserved name has a character that needs one */
      if (raw == reserved_lens[i] && !memcmp(s + first->off + 1, reserved_events[i], raw)) return 0;
    } else if (sio__json_string_eq(s + first->off, first->len, reserved_events[i],
                                   reserved_lens[i])) {
      return 0;
    }
  }
  return 1;
}

static int payload_ok(const sio__sio_packet *p) {
  if (!p->data) /* absent: fine for CONNECT, DISCONNECT; others need one */
    return p->type == SIO__SIO_CONNECT || p->type == SIO__SIO_DISCONNECT;
  switch (p->type) {
  case SIO__SIO_CONNECT:
    return p->data_type == SIO__JSON_OBJECT;
  case SIO__SIO_DISCONNECT:
    return 0;
  case SIO__SIO_CONNECT_ERROR:
    return p->data_type == SIO__JSON_OBJECT || p->data_type == SIO__JSON_STRING;
  case SIO__SIO_EVENT:
  case SIO__SIO_BINARY_EVENT: {
    if (p->data_type != SIO__JSON_ARRAY || !p->nelem) return 0;
    return sio__sio_event_name_ok(p->data, &p->elem[0]);
  }
  case SIO__SIO_ACK:
  case SIO__SIO_BINARY_ACK:
    return p->data_type == SIO__JSON_ARRAY;
  }
  return 0;
}

int sio__sio_decode(const char *s, size_t n, const sio__sio_limits *lim, sio__sio_packet *out) {
  unsigned max_att =
      lim && lim->max_attachments ? lim->max_attachments : SIO__SIO_DEFAULT_MAX_ATTACHMENTS;
  int depth = lim ? lim->max_depth : 0;
  sio__sio_packet p;
  p.attachments = 0;
  p.data = NULL;
  p.data_len = 0;
  p.data_type = SIO__JSON_INVALID;
  p.nelem = 0; /* elem[] is written only as far as nelem says */
  size_t i = 0;
  if (n < 1 || s[0] < '0' || s[0] > '6') return -EINVAL;
  p.type = (sio__sio_type)(s[i++] - '0');
  p.nsp = "/";
  p.nsp_len = 1;
  p.id = SIO__SIO_NO_ID;

  if (p.type == SIO__SIO_BINARY_EVENT || p.type == SIO__SIO_BINARY_ACK) {
    size_t start = i;
    uint64_t att = 0;
    while (i < n && is_digit(s[i])) {
      att = att * 10 + (uint64_t)(s[i++] - '0');
      if (att > max_att) return -EINVAL;
    }
    if (i == start || i >= n || s[i] != '-') return -EINVAL;
    i++;
    p.attachments = (unsigned)att;
  }

  if (i < n && s[i] == '/') {
    size_t start = i;
    while (i < n && s[i] != ',') i++;
    p.nsp = s + start;
    p.nsp_len = i - start;
    if (i < n) i++; /* the comma */
  }

  if (i < n && is_digit(s[i])) {
    uint64_t id = 0;
    while (i < n && is_digit(s[i])) {
      id = id * 10 + (uint64_t)(s[i++] - '0');
      if (id > SIO__SIO_MAX_ID) return -EINVAL;
    }
    p.id = id;
  }

  if (i < n) {
    sio__json_slice v;
    /* the element slices go straight to *out (scratch until we return 0) */
    if (sio__json_validate_split(s + i, n - i, depth, &v, out->elem, SIO__SIO_ELEMS, &p.nelem))
      return -EINVAL;
    p.data = s + i + v.off;
    p.data_len = v.len;
    p.data_type = v.type;
    if (v.off) /* leading whitespace: make the element slices relative to data */
      for (size_t k = 0; k < p.nelem && k < SIO__SIO_ELEMS; k++) out->elem[k].off -= v.off;
  }
  if (p.id != SIO__SIO_NO_ID && p.type != SIO__SIO_EVENT && p.type != SIO__SIO_ACK &&
      p.type != SIO__SIO_BINARY_EVENT && p.type != SIO__SIO_BINARY_ACK)
    return -EINVAL;
  memcpy(out, &p, offsetof(sio__sio_packet, elem)); /* out->elem holds the slices already */
  if (!payload_ok(out)) return -EINVAL;
  return 0;
}

/* --- placeholders ------------------------------------------------------------------------- */

int sio__sio_is_placeholder(const char *s, size_t n, long *num) {
  sio__json_slice v;
  if (!n || s[0] != '{') return 0;
  if (!sio__json_object_get(s, n, "_placeholder", 12, &v) || v.type != SIO__JSON_TRUE) return 0;
  *num = -1;
  if (sio__json_object_get(s, n, "num", 3, &v) && v.type == SIO__JSON_NUMBER) {
    int64_t k;
    if (sio__json_int64(s + v.off, v.len, &k) == 0 && k >= 0 && k <= 0x7fffffff) *num = (long)k;
  }
  return 1;
}

typedef struct ph_walk {
  unsigned attachments;
  sio__sio_placeholder *out;
  size_t max, count;
  size_t base; /* offset of the current slice in the payload */
} ph_walk;

static int walk(ph_walk *w, const char *s, size_t n, size_t base) {
  if (!n || (s[0] != '{' && s[0] != '[')) return 0;
  long num;
  if (sio__sio_is_placeholder(s, n, &num)) {
    if (num < 0 || (unsigned long)num >= w->attachments) return -EINVAL;
    if (w->count < w->max) w->out[w->count] = (sio__sio_placeholder){base, n, (unsigned)num};
    w->count++;
    return 0;
  }
  sio__json_iter it;
  sio__json_slice k, v;
  sio__json_iter_init(&it, s, n);
  if (s[0] == '[') {
    while (sio__json_iter_next(&it, &v))
      if (walk(w, s + v.off, v.len, base + v.off)) return -EINVAL;
  } else {
    while (sio__json_iter_next_member(&it, &k, &v))
      if (walk(w, s + v.off, v.len, base + v.off)) return -EINVAL;
  }
  return 0;
}

int sio__sio_find_placeholders(const char *json, size_t n, unsigned attachments,
                               sio__sio_placeholder *out, size_t max, size_t *count) {
  ph_walk w = {attachments, out, max, 0, 0};
  int rc = walk(&w, json, n, 0);
  *count = w.count;
  return rc;
}

/* --- reassembly --------------------------------------------------------------------------- */

int sio__sio_reassembly_start(sio__sio_reassembly *r, const char *s, size_t n,
                              const sio__sio_limits *lim) {
  memset(r, 0, sizeof *r);
  sio__sio_packet p;
  size_t count;
  if (sio__sio_decode(s, n, lim, &p)) return -EINVAL;
  if (p.type != SIO__SIO_BINARY_EVENT && p.type != SIO__SIO_BINARY_ACK) return -EINVAL;
  if (p.data && sio__sio_find_placeholders(p.data, p.data_len, p.attachments, NULL, 0, &count))
    return -EINVAL;
  r->text = sio__malloc(n ? n : 1);
  if (!r->text) return -ENOMEM;
  memcpy(r->text, s, n);
  r->text_len = n;
  if (p.attachments) {
    r->bufs = sio__calloc(p.attachments, sizeof *r->bufs);
    if (!r->bufs) {
      sio__free(r->text);
      r->text = NULL;
      return -ENOMEM;
    }
  }
  /* re-point the slices into our copy */
  if (p.nsp_len == 1 && p.nsp[0] == '/')
    p.nsp = "/";
  else
    p.nsp = r->text + ((uintptr_t)p.nsp - (uintptr_t)s);
  if (p.data) p.data = r->text + ((uintptr_t)p.data - (uintptr_t)s);
  r->packet = p;
  return 0;
}

int sio__sio_reassembly_add(sio__sio_reassembly *r, const void *data, size_t len) {
  if (!r->text || r->received >= r->packet.attachments) return -EINVAL;
  sio__buf *b = sio__buf_from(data, len);
  if (!b) return -ENOMEM;
  r->bufs[r->received++] = b;
  return r->received == r->packet.attachments;
}

void sio__sio_reassembly_free(sio__sio_reassembly *r) {
  for (unsigned i = 0; i < r->received; i++) sio__buf_unref(r->bufs[i]);
  sio__free(r->bufs);
  sio__free(r->text);
  memset(r, 0, sizeof *r);
}

/* --- encoding ----------------------------------------------------------------------------- */

static int is_main_nsp(const char *nsp, size_t len) {
  return !nsp || len == 0 || (len == 1 && nsp[0] == '/');
}

int sio__sio_encode_header(sio__sbuf *out, int flags, sio__sio_type type, unsigned attachments,
                           const char *nsp, size_t nsp_len, uint64_t id) {
  if (flags & SIO__SIO_ENC_EIO) sio__sbuf_appendc(out, '4');
  sio__sbuf_appendc(out, (char)('0' + type));
  if (type == SIO__SIO_BINARY_EVENT || type == SIO__SIO_BINARY_ACK) {
    sio__sbuf_append_u64(out, attachments);
    sio__sbuf_appendc(out, '-');
  }
  if (!is_main_nsp(nsp, nsp_len)) {
    sio__sbuf_append(out, nsp, nsp_len);
    sio__sbuf_appendc(out, ',');
  }
  if (id != SIO__SIO_NO_ID) sio__sbuf_append_u64(out, id);
  return out->oom ? -ENOMEM : 0;
}

int sio__sio_encode_array(sio__sbuf *out, int flags, sio__sio_type type, unsigned attachments,
                          const char *nsp, size_t nsp_len, uint64_t id, const char *event,
                          size_t event_len, const char *const *args, const size_t *lens,
                          size_t nargs) {
  size_t need = 24 + nsp_len + event_len + 2 + nargs;
  for (size_t i = 0; i < nargs; i++) need += lens[i];
  if (sio__sbuf_reserve(out, need)) return -ENOMEM;
  sio__sio_encode_header(out, flags, type, attachments, nsp, nsp_len, id);
  sio__sbuf_appendc(out, '[');
  int comma = 0;
  if (event) {
    sio__json_escape(out, event, event_len);
    comma = 1;
  }
  for (size_t i = 0; i < nargs; i++) {
    if (comma) sio__sbuf_appendc(out, ',');
    sio__sbuf_append(out, args[i], lens[i]);
    comma = 1;
  }
  sio__sbuf_appendc(out, ']');
  return out->oom ? -ENOMEM : 0;
}

sio__buf *sio__sio_encode_array_buf(int flags, sio__sio_type type, unsigned attachments,
                                    const char *nsp, size_t nsp_len, uint64_t id, const char *event,
                                    size_t event_len, const char *const *args, const size_t *lens,
                                    size_t nargs) {
  sio__sbuf s = SIO__SBUF_INIT;
  if (sio__sio_encode_array(&s, flags, type, attachments, nsp, nsp_len, id, event, event_len, args,
                            lens, nargs)) {
    sio__sbuf_free(&s);
    return NULL;
  }
  return sio__sbuf_to_buf(&s);
}

int sio__sio_encode_raw(sio__sbuf *out, int flags, sio__sio_type type, const char *nsp,
                        size_t nsp_len, const char *payload, size_t payload_len) {
  sio__sio_encode_header(out, flags, type, 0, nsp, nsp_len, SIO__SIO_NO_ID);
  if (payload) sio__sbuf_append(out, payload, payload_len);
  return out->oom ? -ENOMEM : 0;
}

int sio__sio_encode_placeholder(sio__sbuf *out, unsigned num) {
  return sio__sbuf_printf(out, "{\"_placeholder\":true,\"num\":%u}", num);
}
