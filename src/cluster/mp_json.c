/* JSON text <-> notepack MessagePack, with Node's rules (see mp_json.h). Both directions
 * recurse over values whose depth was checked first (sio__json_validate, sio__mp_validate), so
 * recursion is bounded by the depth limit; containers' counts were checked against the input's
 * size, so no allocation exceeds what the input could fill. */
#include "cluster/mp_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/jsstr.h"
#include "core/alloc.h"
#include "core/json.h"

int sio__mp_bins_push(sio__mp_bins *b, const void *data, size_t len) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 4;
    sio__mp_bin *v = sio__realloc(b->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    b->v = v, b->cap = cap;
  }
  b->v[b->n++] = (sio__mp_bin){data, len};
  return 0;
}

void sio__mp_bins_free(sio__mp_bins *b) {
  sio__free(b->v);
  b->v = NULL, b->n = b->cap = 0;
}

int sio__mp_bins_push_all(sio__mp_bins *b, const void *const *att, const size_t *att_len,
                          size_t n) {
  for (size_t i = 0; i < n; i++)
    if (sio__mp_bins_push(b, att[i], att_len[i])) return -ENOMEM;
  return 0;
}

int sio__mp_bins_arrays(const sio__mp_bins *b, const void ***att, size_t **att_len) {
  *att = NULL, *att_len = NULL;
  if (!b->n) return 0;
  *att = sio__calloc(b->n, sizeof(**att));
  *att_len = sio__calloc(b->n, sizeof(**att_len));
  if (!*att || !*att_len) return -ENOMEM;
  for (size_t i = 0; i < b->n; i++) (*att)[i] = b->v[i].data, (*att_len)[i] = b->v[i].len;
  return 0;
}

static int out_rc(const sio__sbuf *out) {
  return out->oom ? -ENOMEM : 0;
}

/* ---- msgpack -> JSON ---- */

/* Number#toString: integers below 2^53 printed at once (most numbers are), others through
 * the shortest round-trip digits. */
static int write_number(sio__sbuf *out, double d) {
  if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(int64_t)d) {
    if (d < 0) sio__sbuf_appendc(out, '-');
    return sio__sbuf_append_u64(out, (uint64_t)(d < 0 ? -d : d)) ? -ENOMEM : 0;
  }
  return sio__json_write_number(out, d) ? -ENOMEM : 0;
}

static int write_str(sio__sbuf *out, const uint8_t *p, size_t len) {
  if (sio__js_utf8_valid(p, len)) return sio__json_escape(out, (const char *)p, len);
  sio__sbuf clean = SIO__SBUF_INIT;
  int rc = sio__js_utf8_sanitize(&clean, p, len);
  if (!rc) rc = sio__json_escape(out, clean.data ? clean.data : "", clean.len);
  sio__sbuf_free(&clean);
  return rc;
}

/* A Buffer (or ArrayBuffer) in packet data becomes the next placeholder; elsewhere a Buffer
 * is written as its toJSON gives it. */
static int write_bin(sio__sbuf *out, const uint8_t *p, size_t len, sio__mp_bins *bins) {
  if (bins) {
    size_t num = bins->n;
    if (sio__mp_bins_push(bins, p, len)) return -ENOMEM;
    sio__sbuf_appends(out, "{\"_placeholder\":true,\"num\":");
    sio__sbuf_append_u64(out, num);
    sio__sbuf_appendc(out, '}');
    return out_rc(out);
  }
  sio__sbuf_appends(out, "{\"type\":\"Buffer\",\"data\":[");
  for (size_t i = 0; i < len; i++) {
    if (i) sio__sbuf_appendc(out, ',');
    sio__sbuf_append_u64(out, p[i]);
  }
  sio__sbuf_appends(out, "]}");
  return out_rc(out);
}

static int write_ext(sio__sbuf *out, const sio__mp_item *it, sio__mp_bins *bins) {
  double ms;
  if (it->tag == 0xd4 && it->ext_type == 0) return 1; /* notepack 2's undefined */
  if (!sio__mp_ext_date(it, &ms)) return sio__mp_json_date(out, ms);
  if (it->tag >= 0xc7 && it->tag <= 0xc9 && it->ext_type == 0) { /* notepack 2's ArrayBuffer */
    if (bins) return write_bin(out, it->ptr, it->len, bins);
    return sio__sbuf_appends(out, "{}") ? -ENOMEM : 0;
  }
  sio__sbuf_printf(out, "[%d,", it->ext_type); /* [type, Buffer] */
  int rc = write_bin(out, it->ptr, it->len, bins);
  return rc ? rc : sio__sbuf_appendc(out, ']') ? -ENOMEM : 0;
}

static int write_array(sio__sbuf *out, sio__mp_reader *r, uint32_t n, sio__mp_bins *bins) {
  sio__sbuf_appendc(out, '[');
  for (uint32_t i = 0; i < n; i++) {
    if (i) sio__sbuf_appendc(out, ',');
    int rc = sio__mp_value_to_json(out, r, bins);
    if (rc < 0) return rc;
    if (rc == 1) sio__sbuf_appends(out, "null");
  }
  return sio__sbuf_appendc(out, ']') ? -ENOMEM : 0;
}

/* The property key JS makes of a decoded map key (String(key)). */
static int map_key(sio__sbuf *keys, const sio__mp_item *k) {
  double d;
  switch (k->type) {
  case SIO__MP_STR:
  case SIO__MP_BIN: /* a Buffer key is its toString(): UTF-8 */
    return sio__js_utf8_sanitize(keys, k->ptr, k->len);
  case SIO__MP_NIL:
    return sio__sbuf_appends(keys, "null") ? -ENOMEM : 0;
  case SIO__MP_BOOL:
    return sio__sbuf_appends(keys, k->v.b ? "true" : "false") ? -ENOMEM : 0;
  case SIO__MP_UINT:
  case SIO__MP_INT:
  case SIO__MP_FLOAT:
    d = sio__mp_number(k);
    if (isnan(d)) return sio__sbuf_appends(keys, "NaN") ? -ENOMEM : 0;
    if (isinf(d)) return sio__sbuf_appends(keys, d > 0 ? "Infinity" : "-Infinity") ? -ENOMEM : 0;
    return write_number(keys, d);
  default:
    return -EBADMSG;
  }
}

/* Reads the n pairs of a map into members (key text in keys, value position in value). */
static int read_members(sio__mp_reader *r, uint32_t n, sio__js_member *m, sio__sbuf *keys) {
  sio__mp_item k;
  for (uint32_t i = 0; i < n; i++) {
    if (sio__mp_next(r, &k)) return -EBADMSG;
    m[i].key_off = keys->len;
    int rc = map_key(keys, &k);
    if (rc) return rc;
    m[i].key_len = keys->len - m[i].key_off;
    m[i].first = i;
    m[i].value = (size_t)(uintptr_t)r->p;
    if (sio__mp_skip(r)) return -EBADMSG;
  }
  return out_rc(keys);
}

static int write_members(sio__sbuf *out, const sio__js_member *m, size_t n, const char *keys,
                         const uint8_t *end, sio__mp_bins *bins) {
  int written = 0;
  for (size_t i = 0; i < n; i++) {
    size_t mark = out->len, bins_mark = bins ? bins->n : 0;
    if (written) sio__sbuf_appendc(out, ',');
    int rc = sio__json_escape(out, keys + m[i].key_off, m[i].key_len);
    sio__sbuf_appendc(out, ':');
    sio__mp_reader vr = {(const uint8_t *)(uintptr_t)m[i].value, end};
    if (!rc) rc = sio__mp_value_to_json(out, &vr, bins);
    if (rc < 0) return rc;
    if (rc == 1) { /* undefined: JSON.stringify leaves the member out */
      out->len = mark;
      if (out->data) out->data[mark] = 0;
      if (bins) bins->n = bins_mark;
      continue;
    }
    written = 1;
  }
  return 0;
}

/* The members of a map whose keys are all strings of valid UTF-8 (what Node writes), read in
 * place: key_off is relative to base. 1 when done, 0 when some key needs converting. */
static int direct_members(sio__mp_reader *r, uint32_t n, sio__js_member *m, const uint8_t *base) {
  sio__mp_item k;
  for (uint32_t i = 0; i < n; i++) {
    if (sio__mp_next(r, &k)) return -EBADMSG;
    if (k.type != SIO__MP_STR || !sio__js_utf8_valid(k.ptr, k.len)) return 0;
    m[i].key_off = (size_t)(k.ptr - base), m[i].key_len = k.len;
    m[i].first = i;
    m[i].value = (size_t)(uintptr_t)r->p;
    if (sio__mp_skip(r)) return -EBADMSG;
  }
  return 1;
}

static int write_map(sio__sbuf *out, sio__mp_reader *r, uint32_t n, sio__mp_bins *bins) {
  sio__js_member few[16], *m = n <= 16 ? few : sio__malloc(n * sizeof *m);
  sio__sbuf converted = SIO__SBUF_INIT;
  sio__mp_reader start = *r;
  const char *keys = (const char *)start.p;
  if (!m) return -ENOMEM;
  int rc = direct_members(r, n, m, start.p);
  if (rc == 0) { /* some key is a number, bad UTF-8...: convert them all */
    *r = start;
    rc = sio__sbuf_reserve(&converted, 16) ? -ENOMEM : read_members(r, n, m, &converted);
    keys = converted.data;
  }
  if (rc >= 0) {
    size_t kept = sio__js_order_members(m, n, keys, 1);
    sio__sbuf_appendc(out, '{');
    rc = write_members(out, m, kept, keys, r->end, bins);
    if (!rc && sio__sbuf_appendc(out, '}')) rc = -ENOMEM;
  }
  if (m != few) sio__free(m);
  sio__sbuf_free(&converted);
  return rc;
}

int sio__mp_value_to_json(sio__sbuf *out, sio__mp_reader *r, sio__mp_bins *bins) {
  sio__mp_item it;
  if (sio__mp_next(r, &it)) return -EBADMSG;
  switch (it.type) {
  case SIO__MP_NIL:
    return sio__sbuf_appends(out, "null") ? -ENOMEM : 0;
  case SIO__MP_BOOL:
    return sio__sbuf_appends(out, it.v.b ? "true" : "false") ? -ENOMEM : 0;
  case SIO__MP_UINT:
  case SIO__MP_INT:
  case SIO__MP_FLOAT:
    return write_number(out, sio__mp_number(&it));
  case SIO__MP_STR:
    return write_str(out, it.ptr, it.len);
  case SIO__MP_BIN:
    return write_bin(out, it.ptr, it.len, bins);
  case SIO__MP_ARRAY:
    return write_array(out, r, it.len, bins);
  case SIO__MP_MAP:
    return write_map(out, r, it.len, bins);
  case SIO__MP_EXT:
    return write_ext(out, &it, bins);
  }
  return -EBADMSG;
}

int sio__mp_to_json(sio__sbuf *out, const void *mp, size_t n, sio__mp_bins *bins, int max_depth) {
  sio__mp_reader r;
  if (sio__mp_validate(mp, n, max_depth)) return -EBADMSG;
  sio__mp_reader_init(&r, mp, n);
  int rc = sio__mp_value_to_json(out, &r, bins);
  if (rc == 1) rc = sio__sbuf_appends(out, "null") ? -ENOMEM : 0;
  return rc;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (civil-from-days). */
static void civil(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int sio__mp_json_date(sio__sbuf *out, double ms) {
  if (!isfinite(ms) || fabs(ms) > 8.64e15) return sio__sbuf_appends(out, "null") ? -ENOMEM : 0;
  int64_t t = (int64_t)trunc(ms), day = 86400000;
  int64_t days = t >= 0 ? t / day : -((-t + day - 1) / day), in_day = t - days * day, y;
  int mo, d;
  civil(days, &y, &mo, &d);
  int h = (int)(in_day / 3600000), mi = (int)(in_day / 60000 % 60);
  int s = (int)(in_day / 1000 % 60), msec = (int)(in_day % 1000);
  if (y >= 0 && y <= 9999)
    sio__sbuf_printf(out, "\"%04d", (int)y);
  else
    sio__sbuf_printf(out, "\"%c%06lld", y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y));
  sio__sbuf_printf(out, "-%02d-%02dT%02d:%02d:%02d.%03dZ\"", mo, d, h, mi, s, msec);
  return out_rc(out);
}

/* ---- JSON -> msgpack ---- */

typedef struct to_mp {
  sio__sbuf *out;
  const sio__mp_bin *bins;
  size_t nbins;
  int placeholders;
} to_mp;

static int enc_value(to_mp *c, const char *v, size_t n, sio__json_type t);

static int enc_array(to_mp *c, const char *v, size_t n) {
  sio__json_iter it;
  sio__json_slice e;
  size_t count = 0;
  sio__json_iter_init(&it, v, n);
  while (sio__json_iter_next(&it, &e)) count++;
  int rc = sio__mp_put_array(c->out, count);
  sio__json_iter_init(&it, v, n);
  while (!rc && sio__json_iter_next(&it, &e)) rc = enc_value(c, v + e.off, e.len, e.type);
  return rc;
}

/* socket.io-parser's reconstructPacket: {_placeholder: true, num} is attachment num. 1 when v
 * is no placeholder, 0 when one was written, -EINVAL when it names no attachment. */
static int enc_placeholder(to_mp *c, const char *v, size_t n) {
  sio__json_slice ph, num;
  double d;
  if (!c->placeholders || !sio__json_object_get(v, n, "_placeholder", 12, &ph)) return 1;
  if (ph.type != SIO__JSON_TRUE) return 1;
  if (!sio__json_object_get(v, n, "num", 3, &num) || num.type != SIO__JSON_NUMBER) return -EINVAL;
  if (sio__json_number(v + num.off, num.len, &d) || !(d >= 0) || d >= (double)c->nbins ||
      floor(d) != d)
    return -EINVAL;
  const sio__mp_bin *b = &c->bins[(size_t)d];
  return sio__mp_put_bin(c->out, b->data, b->len);
}

static int enc_object(to_mp *c, const char *v, size_t n) {
  int rc = enc_placeholder(c, v, n);
  if (rc <= 0) return rc;
  sio__json_iter it;
  sio__json_slice k, e;
  size_t count = 0, i = 0;
  sio__json_iter_init(&it, v, n);
  while (sio__json_iter_next_member(&it, &k, &e)) count++;
  if (!count) return sio__mp_put_map(c->out, 0);
  sio__js_member *m = sio__malloc(count * sizeof *m);
  sio__json_slice *sl = sio__malloc(2 * count * sizeof *sl);
  sio__sbuf keys = SIO__SBUF_INIT;
  rc = m && sl ? 0 : -ENOMEM;
  sio__json_iter_init(&it, v, n);
  while (!rc && sio__json_iter_next_member(&it, &sl[2 * i], &sl[2 * i + 1])) {
    m[i].key_off = keys.len;
    rc = sio__js_json_key(&keys, v + sl[2 * i].off, sl[2 * i].len);
    m[i].key_len = keys.len - m[i].key_off;
    m[i].first = m[i].value = i;
    i++;
  }
  size_t kept = rc ? 0 : sio__js_order_members(m, count, keys.data ? keys.data : "", 0);
  if (!rc) rc = sio__mp_put_map(c->out, kept);
  for (size_t j = 0; !rc && j < kept; j++) {
    const sio__json_slice *ks = &sl[2 * m[j].value], *vs = ks + 1;
    rc = sio__js_put_json_string(c->out, v + ks->off, ks->len, 1);
    if (!rc) rc = enc_value(c, v + vs->off, vs->len, vs->type);
  }
  sio__free(m);
  sio__free(sl);
  sio__sbuf_free(&keys);
  return rc;
}

static int enc_value(to_mp *c, const char *v, size_t n, sio__json_type t) {
  double d;
  switch (t) {
  case SIO__JSON_NULL:
    return sio__mp_put_nil(c->out);
  case SIO__JSON_TRUE:
    return sio__mp_put_bool(c->out, 1);
  case SIO__JSON_FALSE:
    return sio__mp_put_bool(c->out, 0);
  case SIO__JSON_NUMBER:
    if (sio__json_number(v, n, &d)) return -EINVAL;
    return sio__mp_put_number(c->out, d);
  case SIO__JSON_STRING:
    return sio__js_put_json_string(c->out, v, n, 0);
  case SIO__JSON_ARRAY:
    return enc_array(c, v, n);
  case SIO__JSON_OBJECT:
    return enc_object(c, v, n);
  default:
    return -EINVAL;
  }
}

int sio__mp_from_json(sio__sbuf *out, const char *json, size_t n, const sio__mp_bin *bins,
                      size_t nbins) {
  sio__json_slice top;
  to_mp c = {out, bins, nbins, bins != NULL};
  if (sio__json_validate(json, n, SIO__MP_MESSAGE_DEPTH, &top)) return -EINVAL;
  return enc_value(&c, json + top.off, top.len, top.type);
}

int sio__mp_json_buffers(sio__sbuf *out, const char *json, size_t n, const sio__mp_bin *bins,
                         size_t nbins) {
  sio__sbuf mp = SIO__SBUF_INIT; /* the value with its Buffers in place, as Node holds it */
  int rc = sio__mp_from_json(&mp, json, n, bins, nbins);
  if (!rc) rc = mp.oom ? -ENOMEM : sio__mp_to_json(out, mp.data, mp.len, NULL, 0);
  sio__sbuf_free(&mp);
  return rc;
}

/* ---- packets ---- */

int sio__mp_put_event(sio__sbuf *out, const char *data, size_t len, const sio__mp_bin *bins,
                      size_t nbins, const char *nsp, size_t nsp_len) {
  int rc = sio__mp_put_map(out, nsp ? 3 : 2);
  if (!rc) rc = sio__mp_put_str(out, "type", 4);
  if (!rc) rc = sio__mp_put_number(out, 2);
  if (!rc) rc = sio__mp_put_str(out, "data", 4);
  if (!rc) rc = sio__mp_from_json(out, data, len, bins, nbins);
  if (!rc && nsp) rc = sio__mp_put_str(out, "nsp", 3);
  if (!rc && nsp) rc = sio__mp_put_str(out, nsp, nsp_len);
  return rc;
}

static int key_is(const sio__mp_item *k, const char *name) {
  size_t n = strlen(name);
  return k->type == SIO__MP_STR && k->len == n && !memcmp(k->ptr, name, n);
}

/* An integral JS number item: 1 and *v, else 0. */
static int int_item(const sio__mp_item *it, int64_t *v) {
  if (it->type != SIO__MP_UINT && it->type != SIO__MP_INT && it->type != SIO__MP_FLOAT) return 0;
  double d = sio__mp_number(it);
  if (!isfinite(d) || floor(d) != d || fabs(d) > 9007199254740992.0) return 0;
  *v = (int64_t)d;
  return 1;
}

static int packet_member(sio__mp_reader *r, const sio__mp_item *k, sio__mp_packet *p, int *seen) {
  sio__mp_reader at = *r;
  sio__mp_item v;
  int64_t n;
  if (key_is(k, "data")) {
    sio__sbuf_reset(&p->data), p->bins.n = 0;
    int rc = sio__mp_value_to_json(&p->data, r, &p->bins);
    if (rc < 0) return rc;
    *seen = rc == 1 ? *seen & ~2 : *seen | 2;
    return 0;
  }
  if (sio__mp_next(&at, &v)) return -EBADMSG;
  if (key_is(k, "type")) {
    if (!int_item(&v, &n) || n < INT32_MIN || n > INT32_MAX) return -EBADMSG;
    p->type = (int)n, *seen |= 1;
  } else if (key_is(k, "nsp")) {
    if (v.type != SIO__MP_STR) return -EBADMSG;
    sio__sbuf_reset(&p->nsp);
    if (sio__js_utf8_sanitize(&p->nsp, v.ptr, v.len)) return -ENOMEM;
    *seen |= 4;
  } else if (key_is(k, "id")) {
    p->id = int_item(&v, &n) && n >= 0 ? n : -1;
  }
  return sio__mp_skip(r);
}

int sio__mp_get_packet(sio__mp_reader *r, sio__mp_packet *p) {
  sio__mp_item m, k;
  int seen = 0, rc = 0;
  memset(p, 0, sizeof *p);
  p->id = -1;
  if (sio__mp_next(r, &m) || m.type != SIO__MP_MAP) return -EBADMSG;
  for (uint32_t i = 0; !rc && i < m.len; i++) {
    rc = sio__mp_next(r, &k) ? -EBADMSG : packet_member(r, &k, p, &seen);
  }
  if (!rc && (seen & 3) != 3) rc = -EBADMSG;
  if (!rc && !(seen & 4) && sio__sbuf_appendc(&p->nsp, '/')) rc = -ENOMEM;
  if (rc) sio__mp_packet_free(p);
  return rc;
}

void sio__mp_packet_free(sio__mp_packet *p) {
  sio__sbuf_free(&p->data);
  sio__sbuf_free(&p->nsp);
  sio__mp_bins_free(&p->bins);
}
