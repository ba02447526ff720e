/* The msgpack parser's packet codec (see mpcodec.h). Decoding follows socket.io-msgpack-parser's
 * Decoder.add: notepack.decode (the whole buffer one value, no trailing bytes), then
 * checkPacket on the decoded object's own type, nsp, data and id properties (the last of a
 * repeated key wins, as `obj[key] = value` does). The values go through src/cluster's reader
 * and mp_json (the Redis adapters' code): nothing here reads msgpack bytes by hand. */
#include "socketio/mpcodec.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "cluster/jsstr.h"
#include "core/alloc.h"
#include "core/json.h"

/* --- encoding ----------------------------------------------------------------------------- */

typedef struct text_hdr {
  int type; /* 0..4: binary types folded into EVENT / ACK */
  const char *nsp;
  size_t nsp_len;
  int has_id;
  double id;
  const char *data; /* NULL when absent */
  size_t data_len;
} text_hdr;

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* The header of a text packet as sio__sio_encode_header writes it (our own output: no JSON
 * validation here, mp_from_json validates the data). */
static int parse_text(const char *s, size_t n, text_hdr *h) {
  size_t i = 0;
  memset(h, 0, sizeof *h);
  if (!n || s[0] < '0' || s[0] > '6') return -EINVAL;
  h->type = s[i++] - '0';
  if (h->type >= 5) {
    while (i < n && is_digit(s[i])) i++;
    if (i >= n || s[i++] != '-') return -EINVAL;
    h->type = h->type == 5 ? 2 : 3;
  }
  h->nsp = "/", h->nsp_len = 1;
  if (i < n && s[i] == '/') {
    size_t start = i;
    while (i < n && s[i] != ',') i++;
    h->nsp = s + start, h->nsp_len = i - start;
    if (i < n) i++;
  }
  if (i < n && is_digit(s[i])) {
    h->has_id = 1;
    while (i < n && is_digit(s[i])) h->id = h->id * 10 + (s[i++] - '0');
  }
  if (i < n) h->data = s + i, h->data_len = n - i;
  return 0;
}

static int put_key(sio__sbuf *out, const char *k) {
  return sio__mp_put_str(out, k, strlen(k));
}

/* socket.io 4.8 builds an ACK as {id, type, data} and an EVENT as {type, data[, id]}; the
 * socket then sets nsp: notepack writes the keys in that order. */
int sio__mpk_encode(sio__sbuf *out, const char *s, size_t n, const sio__mp_bin *att, size_t natt) {
  text_hdr h;
  if (parse_text(s, n, &h)) return -EINVAL;
  int ack = h.type == 3, rc;
  rc = sio__mp_put_map(out, 2 + (h.data != NULL) + h.has_id);
  if (!rc && ack && h.has_id) rc = put_key(out, "id") || sio__mp_put_number(out, h.id);
  if (!rc) rc = put_key(out, "type") || sio__mp_put_number(out, h.type);
  if (!rc && h.data) {
    rc = put_key(out, "data");
    if (!rc) rc = sio__mp_from_json(out, h.data, h.data_len, natt ? att : NULL, natt);
  }
  if (!rc && !ack && h.has_id) rc = put_key(out, "id") || sio__mp_put_number(out, h.id);
  if (!rc) rc = put_key(out, "nsp") || sio__mp_put_str(out, h.nsp, h.nsp_len);
  if (rc) return rc == -EINVAL ? -EINVAL : -ENOMEM;
  return out->oom ? -ENOMEM : 0;
}

/* --- decoding ----------------------------------------------------------------------------- */

/* What a decoded value is to checkPacket. */
enum { K_UNDEFINED, K_OBJECT, K_ARRAY, K_STRING, K_NUMBER, K_OTHER };

static int kind_of(const sio__mp_item *it) {
  switch (it->type) {
  case SIO__MP_MAP:
    return K_OBJECT;
  case SIO__MP_ARRAY:
    return K_ARRAY;
  case SIO__MP_STR:
    return K_STRING;
  case SIO__MP_UINT:
  case SIO__MP_INT:
  case SIO__MP_FLOAT:
    return K_NUMBER;
  case SIO__MP_EXT:
    if (it->ext_type != 0) return K_ARRAY; /* notepack 2 decodes it as [type, Buffer] */
    if (it->tag == 0xd4) return K_UNDEFINED;
    if (it->tag == 0xd7 || (it->tag >= 0xc7 && it->tag <= 0xc9))
      return K_OTHER; /* Date, ArrayBuffer */
    return K_ARRAY;
  default: /* nil, booleans, Buffers */
    return K_OTHER;
  }
}

/* The positions of the packet's own properties (last occurrence of each). */
typedef struct fields {
  sio__mp_reader at[4]; /* type, nsp, data, id */
  unsigned seen;
} fields;

static const char *const field_names[4] = {"type", "nsp", "data", "id"};

/* Which property a key names (-1 for any other). A Buffer key is its UTF-8 text, as
 * `obj[buf]` takes it; number, nil or boolean keys never spell one of these names. */
static int field_of(const sio__mp_item *k) {
  if (k->type != SIO__MP_STR && k->type != SIO__MP_BIN) return -1;
  for (int i = 0; i < 4; i++)
    if (k->len == strlen(field_names[i]) && !memcmp(k->ptr, field_names[i], k->len)) return i;
  return -1;
}

static int read_fields(sio__mp_reader *r, fields *f) {
  sio__mp_item m, k;
  memset(f, 0, sizeof *f);
  if (sio__mp_next(r, &m) || m.type != SIO__MP_MAP) return -EINVAL;
  for (uint32_t i = 0; i < m.len; i++) {
    sio__mp_reader kr = *r;
    if (sio__mp_next(r, &k)) return -EINVAL;
    if (k.type == SIO__MP_ARRAY || k.type == SIO__MP_MAP) { /* String(key): never a name */
      *r = kr;
      if (sio__mp_skip(r)) return -EINVAL;
      k.type = SIO__MP_NIL;
    }
    int which = field_of(&k);
    if (which >= 0) f->at[which] = *r, f->seen |= 1u << which;
    if (sio__mp_skip(r)) return -EINVAL;
  }
  return 0;
}

/* The value of field i: its item (kind K_UNDEFINED when absent). */
static int field_item(const fields *f, int i, sio__mp_item *it) {
  memset(it, 0, sizeof *it);
  if (!(f->seen & (1u << i))) return K_UNDEFINED;
  sio__mp_reader r = f->at[i];
  if (sio__mp_next(&r, it)) return -1;
  return kind_of(it);
}

/* Number.isInteger of a number item: 1 and *v. */
static int integer(const sio__mp_item *it, double *v) {
  double d = sio__mp_number(it);
  if (!isfinite(d) || floor(d) != d) return 0;
  *v = d;
  return 1;
}

static int data_ok(int type, int kind) {
  switch (type) {
  case SIO__SIO_CONNECT:
    return kind == K_UNDEFINED || kind == K_OBJECT;
  case SIO__SIO_DISCONNECT:
    return kind == K_UNDEFINED;
  case SIO__SIO_CONNECT_ERROR:
    return kind == K_STRING || kind == K_OBJECT;
  default:
    return kind == K_ARRAY;
  }
}

/* checkPacket: 0 with the type and id (SIO__SIO_NO_ID when absent or not representable),
 * or -EINVAL. */
static int check(const fields *f, int *type, uint64_t *id, int *data_kind) {
  sio__mp_item it;
  double d;
  if (field_item(f, 0, &it) != K_NUMBER || !integer(&it, &d) || d < 0 || d > 4) return -EINVAL;
  *type = (int)d;
  if (field_item(f, 1, &it) != K_STRING) return -EINVAL;
  *data_kind = field_item(f, 2, &it);
  if (!data_ok(*type, *data_kind)) return -EINVAL;
  *id = SIO__SIO_NO_ID;
  int k = field_item(f, 3, &it);
  if (k == K_UNDEFINED) return 0;
  if (k != K_NUMBER || !integer(&it, &d)) return -EINVAL;
  if (d >= 0 && d <= (double)SIO__SIO_MAX_ID) *id = (uint64_t)d;
  return 0;
}

/* data as JSON; an event's or ack's bins become placeholders and attachments (copied). In a
 * CONNECT or CONNECT_ERROR payload a Buffer is what JSON.stringify writes for it. */
static int convert_data(const fields *f, int type, sio__mpk_packet *out) {
  sio__mp_bins bins = {0};
  int binary = type == SIO__SIO_EVENT || type == SIO__SIO_ACK;
  sio__mp_reader r = f->at[2];
  int rc = sio__mp_value_to_json(&out->json, &r, binary ? &bins : NULL);
  if (rc == 0 && bins.n) {
    out->att = sio__calloc(bins.n, sizeof *out->att);
    for (size_t i = 0; out->att && i < bins.n; i++) {
      if (!(out->att[i] = sio__buf_from(bins.v[i].data, bins.v[i].len))) break;
      out->natt++;
    }
    if (out->natt != bins.n) rc = -ENOMEM;
  }
  sio__mp_bins_free(&bins);
  if (rc == -EBADMSG || rc == 1) return -EINVAL;
  return rc ? -ENOMEM : out->json.oom ? -ENOMEM : 0;
}

/* The text-form packet over the converted data. */
static int build_packet(sio__mpk_packet *out, int type, uint64_t id, int depth) {
  sio__sio_packet *p = &out->packet;
  sio__json_slice v;
  p->type = (sio__sio_type)type;
  p->attachments = out->natt;
  if (out->natt) p->type = type == SIO__SIO_ACK ? SIO__SIO_BINARY_ACK : SIO__SIO_BINARY_EVENT;
  p->nsp = out->nsp.data ? out->nsp.data : "";
  p->nsp_len = out->nsp.len;
  p->id = type == SIO__SIO_EVENT || type == SIO__SIO_ACK ? id : SIO__SIO_NO_ID;
  p->data = NULL, p->data_len = 0, p->data_type = SIO__JSON_INVALID, p->nelem = 0;
  if (!out->json.len) return 0;
  /* one level more than the data had: a bin became a placeholder object */
  if (sio__json_validate_split(out->json.data, out->json.len, depth + 1, &v, p->elem,
                               SIO__SIO_ELEMS, &p->nelem))
    return -EINVAL;
  p->data = out->json.data + v.off;
  p->data_len = v.len;
  p->data_type = v.type;
  if (type == SIO__SIO_EVENT && (!p->nelem || !sio__sio_event_name_ok(p->data, &p->elem[0])))
    return SIO__MPK_IGNORED;
  return 0;
}

int sio__mpk_decode(const void *data, size_t n, const sio__sio_limits *lim, sio__mpk_packet *out) {
  int depth = lim && lim->max_depth > 0 ? lim->max_depth : SIO__JSON_DEFAULT_DEPTH;
  fields f;
  sio__mp_reader r;
  int type, kind;
  uint64_t id;
  memset(out, 0, sizeof *out);
  /* the packet map is one level above its data */
  if (sio__mp_validate(data, n, depth + 1)) return -EINVAL;
  sio__mp_reader_init(&r, data, n);
  if (read_fields(&r, &f) || check(&f, &type, &id, &kind)) return -EINVAL;
  sio__mp_item nsp;
  sio__mp_reader nr = f.at[1];
  if (sio__mp_next(&nr, &nsp) || sio__js_utf8_sanitize(&out->nsp, nsp.ptr, nsp.len)) return -ENOMEM;
  int rc = kind == K_UNDEFINED ? 0 : convert_data(&f, type, out);
  if (!rc) rc = build_packet(out, type, id, depth);
  if (rc < 0) sio__mpk_packet_free(out);
  return rc;
}

void sio__mpk_packet_free(sio__mpk_packet *p) {
  for (unsigned i = 0; i < p->natt; i++) sio__buf_unref(p->att[i]);
  sio__free(p->att);
  sio__sbuf_free(&p->json);
  sio__sbuf_free(&p->nsp);
  memset(p, 0, sizeof *p);
}
