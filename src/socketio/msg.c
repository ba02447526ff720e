/* sio_msg: an outgoing event (or ack answer) built piece by piece, and its encoding.
 *
 * The arguments are kept as one comma-joined JSON text ("a,b,c") with their count, so that
 * every way of giving arguments (raw JSON, a json_pack format, jansson values, received
 * arguments passed on) ends in the same place, and encoding is a header plus two appends:
 * `<type>[<n>-][<nsp>,][<id>]["event",a,b,c]`. Binary arguments are attachments (shared
 * sio__bufs) with placeholders {"_placeholder":true,"num":k} where they belong. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

sio_msg *sio_msg_new(const char *event) {
  sio_msg *m = sio__calloc(1, sizeof(*m));
  if (!m) return NULL;
  if (event && !(m->event = sio__strdup(event))) {
    sio__free(m);
    return NULL;
  }
  return m;
}

void sio__msg_init_stack(sio_msg *m, const char *event) {
  memset(m, 0, sizeof(*m));
  m->event = (char *)event;
  m->on_stack = 1;
}

void sio__msg_init_view(sio_msg *m, const char *event, const sio_args *a) {
  sio__msg_init_stack(m, event);
  if (!a) return;
  if (a->binary && a->natt) { /* the attachments go along, numbered as they came */
    m->att = sio__malloc(a->natt * sizeof(*m->att));
    if (!m->att) {
      m->failed = -ENOMEM;
      return;
    }
    for (unsigned i = 0; i < a->natt; i++) m->att[i] = sio__buf_ref(a->att[i]);
    m->natt = m->capatt = a->natt;
  }
  m->view = a;
  m->nargs = sio_args_count(a);
}

void sio_msg_free(sio_msg *m) {
  if (!m) return;
  for (unsigned i = 0; i < m->natt; i++) sio__buf_unref(m->att[i]);
  sio__free(m->att);
  sio__sbuf_free(&m->args);
  if (m->on_stack) return;
  sio__free(m->event);
  sio__free(m);
}

static int fail(sio_msg *m, int rc) {
  if (m) m->failed = rc ? rc : -ENOMEM;
  return rc ? rc : -ENOMEM;
}

static int add_raw(sio_msg *m, const char *s, size_t n) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  if (m->nargs && sio__sbuf_appendc(&m->args, ',')) return fail(m, -ENOMEM);
  if (sio__sbuf_append(&m->args, s, n)) return fail(m, -ENOMEM);
  m->nargs++;
  return 0;
}

/* One validated value, written as JSON.stringify would (copied as is when the scanner proved
 * it already is: canon set). */
static int add_canon(sio_msg *m, const char *s, size_t n, int canon) {
  if (m->failed) return m->failed;
  if (m->nargs && sio__sbuf_appendc(&m->args, ',')) return fail(m, -ENOMEM);
  if (canon ? sio__sbuf_append(&m->args, s, n) : sio__json_canon(&m->args, s, n))
    return fail(m, -ENOMEM);
  m->nargs++;
  return 0;
}

int sio_msg_raw(sio_msg *m, const char *json, size_t len) {
  if (!m) return -ENOMEM;
  if (!json) return fail(m, -EINVAL);
  if (!len) len = strlen(json);
  sio__json_slice sl;
  if (sio__json_validate(json, len, SIO__JSON_MAX_DEPTH, &sl)) return fail(m, -EINVAL);
  return add_canon(m, json + sl.off, sl.len, sl.canon);
}

int sio_msg_strn(sio_msg *m, const char *str, size_t len) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  if (m->nargs && sio__sbuf_appendc(&m->args, ',')) return fail(m, -ENOMEM);
  if (sio__json_escape(&m->args, str, len)) return fail(m, -ENOMEM);
  m->nargs++;
  return 0;
}

int sio_msg_str(sio_msg *m, const char *str) {
  if (!str) return sio_msg_null(m);
  return sio_msg_strn(m, str, strlen(str));
}

int sio_msg_num(sio_msg *m, double v) {
  char tmp[64];
  if (v != v || v - v != 0) return add_raw(m, "null", 4); /* NaN, inf: as JSON.stringify */
  if (v == (double)(int64_t)v && v > -9007199254740992.0 && v < 9007199254740992.0)
    return sio_msg_int(m, (int64_t)v);
  int n = snprintf(tmp, sizeof tmp, "%.17g", v);
  /* shortest form that reads back the same */
  for (int p = 1; p <= 17; p++) {
    char t2[64];
    int k = snprintf(t2, sizeof t2, "%.*g", p, v);
    if (strtod(t2, NULL) == v) {
      memcpy(tmp, t2, (size_t)k + 1);
      n = k;
      break;
    }
  }
  return add_raw(m, tmp, (size_t)n);
}

int sio_msg_int(sio_msg *m, int64_t v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  return add_raw(m, tmp, (size_t)n);
}

int sio_msg_bool(sio_msg *m, int v) {
  return v ? add_raw(m, "true", 4) : add_raw(m, "false", 5);
}
int sio_msg_null(sio_msg *m) {
  return add_raw(m, "null", 4);
}

/* Appends the elements of a JSON array text (compact) as arguments. */
static int add_array_text(sio_msg *m, const char *s, size_t n, size_t count) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  if (n < 2) return fail(m, -EINVAL);
  if (count == 0) return 0;
  if (m->nargs && sio__sbuf_appendc(&m->args, ',')) return fail(m, -ENOMEM);
  if (sio__sbuf_append(&m->args, s + 1, n - 2)) return fail(m, -ENOMEM);
  m->nargs += count;
  return 0;
}

int sio_msg_value(sio_msg *m, const json_t *v) {
  if (!m) return -ENOMEM;
  if (!v) return sio_msg_null(m);
  sio__sbuf sb = SIO__SBUF_INIT;
  if (sio__json_dump_jansson(&sb, v)) {
    sio__sbuf_free(&sb);
    return fail(m, -ENOMEM);
  }
  int rc = add_raw(m, sb.data, sb.len);
  sio__sbuf_free(&sb);
  return rc;
}

/* Appends the elements of a jansson array as arguments. */
static int add_jansson_array(sio_msg *m, const json_t *arr) {
  if (!m) return -ENOMEM;
  if (!arr) return 0;
  if (!json_is_array(arr)) return fail(m, -EINVAL);
  sio__sbuf sb = SIO__SBUF_INIT;
  if (sio__json_dump_jansson(&sb, arr)) {
    sio__sbuf_free(&sb);
    return fail(m, -ENOMEM);
  }
  int rc = add_array_text(m, sb.data, sb.len, json_array_size(arr));
  sio__sbuf_free(&sb);
  return rc;
}

int sio_msg_vpackf(sio_msg *m, const char *fmt, va_list ap) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  size_t fl = strlen(fmt);
  char small[256];
  char *f = fl + 3 <= sizeof small ? small : sio__malloc(fl + 3);
  if (!f) return fail(m, -ENOMEM);
  f[0] = '[';
  memcpy(f + 1, fmt, fl);
  f[fl + 1] = ']';
  f[fl + 2] = '\0';
  json_error_t err;
  json_t *arr = json_vpack_ex(&err, 0, f, ap);
  if (f != small) sio__free(f);
  if (!arr) return fail(m, -EINVAL);
  int rc = add_jansson_array(m, arr);
  json_decref(arr);
  return rc;
}

int sio_msg_packf(sio_msg *m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_msg_vpackf(m, fmt, ap);
  va_end(ap);
  return rc;
}

static int push_att(sio_msg *m, sio__buf *b) {
  if (m->natt == m->capatt) {
    unsigned cap = m->capatt ? m->capatt * 2 : 2;
    sio__buf **p = sio__realloc(m->att, cap * sizeof(*p));
    if (!p) return -ENOMEM;
    m->att = p;
    m->capatt = cap;
  }
  m->att[m->natt++] = b;
  return 0;
}

int sio_msg_attach(sio_msg *m, const void *data, size_t len) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  sio__buf *b = sio__buf_from(data, len);
  if (!b || push_att(m, b)) {
    if (b) sio__buf_unref(b);
    return fail(m, -ENOMEM);
  }
  return (int)(m->natt - 1);
}

int sio_msg_bin(sio_msg *m, const void *data, size_t len) {
  int num = sio_msg_attach(m, data, len);
  if (num < 0) return num;
  char tmp[48];
  int n = snprintf(tmp, sizeof tmp, "{\"_placeholder\":true,\"num\":%d}", num);
  return add_raw(m, tmp, (size_t)n);
}

int sio_msg_args(sio_msg *m, const sio_args *a) {
  if (!m) return -ENOMEM;
  if (m->failed) return m->failed;
  if (!a) return 0;
  if (a->binary && a->natt) {
    if (m->natt) return fail(m, -ENOTSUP); /* placeholder numbers would clash */
    for (unsigned i = 0; i < a->natt; i++)
      if (push_att(m, sio__buf_ref(a->att[i]))) {
        sio__buf_unref(a->att[i]);
        return fail(m, -ENOMEM);
      }
  }
  if (a->n > a->first) { /* one allocation for the usual case (already canonical) */
    const sio__json_slice *f = &a->v[a->first], *l = &a->v[a->n - 1];
    if (sio__sbuf_reserve(&m->args, l->off + l->len - f->off + 2)) return fail(m, -ENOMEM);
  }
  for (size_t i = a->first; i < a->n; i++) {
    int rc = add_canon(m, a->json + a->v[i].off, a->v[i].len, a->v[i].canon);
    if (rc) return rc;
  }
  return 0;
}

int sio_msg_ack(sio_msg *m, sio_ack_fn fn, void *user, uint32_t timeout_ms) {
  if (!m) return -ENOMEM;
  m->ack_fn = fn;
  m->acks_fn = NULL;
  m->ack_user = user;
  m->timeout_ms = timeout_ms;
  return 0;
}

int sio_msg_acks(sio_msg *m, sio_acks_fn fn, void *user, uint32_t timeout_ms) {
  if (!m) return -ENOMEM;
  m->acks_fn = fn;
  m->ack_fn = NULL;
  m->ack_user = user;
  m->timeout_ms = timeout_ms;
  return 0;
}

/* A raw arguments array text ("[...]", NULL: none) into a new message. */
sio_msg *sio__msg_from_raw(const char *event, const char *args_json, int *rc) {
  sio_msg *m = sio_msg_new(event);
  if (!m) {
    *rc = -ENOMEM;
    return NULL;
  }
  *rc = 0;
  if (!args_json) return m;
  size_t len = strlen(args_json);
  sio__json_slice arr, el[8];
  size_t count;
  if (sio__json_validate_split(args_json, len, SIO__JSON_MAX_DEPTH, &arr, el, 8, &count) ||
      arr.type != SIO__JSON_ARRAY) {
    sio_msg_free(m);
    *rc = -EINVAL;
    return NULL;
  }
  if (count <= 8) { /* the slices the validation kept, with their canon flags */
    for (size_t i = 0; i < count; i++)
      if (add_canon(m, args_json + el[i].off, el[i].len, el[i].canon)) {
        *rc = m->failed;
        sio_msg_free(m);
        return NULL;
      }
    return m;
  }
  sio__json_iter it;
  sio__json_slice v;
  sio__json_iter_init(&it, args_json + arr.off, arr.len);
  while (sio__json_iter_next(&it, &v)) {
    if (add_canon(m, args_json + arr.off + v.off, v.len, 0)) {
      *rc = m->failed;
      sio_msg_free(m);
      return NULL;
    }
  }
  return m;
}

sio_msg *sio__msg_from_value(const char *event, const json_t *arr, int *rc) {
  sio_msg *m = sio_msg_new(event);
  if (!m) {
    *rc = -ENOMEM;
    return NULL;
  }
  *rc = add_jansson_array(m, arr);
  if (*rc) {
    sio_msg_free(m);
    return NULL;
  }
  return m;
}

/* Appends within the reserved capacity without a call; the sbuf stays NUL-terminated. */
static inline void put_c(sio__sbuf *sb, char c) {
  if (sb->len + 1 > sb->cap) {
    sio__sbuf_appendc(sb, c);
    return;
  }
  sb->data[sb->len++] = c;
  sb->data[sb->len] = '\0';
}

static inline void put(sio__sbuf *sb, const char *p, size_t n) {
  if (sb->len + n > sb->cap) {
    sio__sbuf_append(sb, p, n);
    return;
  }
  memcpy(sb->data + sb->len, p, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
}

/* Whether a name is written as a JSON string without escapes (printable ASCII, no " or \). */
static int plain_name(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return 0;
  }
  return 1;
}

/* Whether a view's arguments are all proven canonical and written one comma apart, so that
 * the text from the first to the last is the packet's argument list as it stands. */
static int view_verbatim(const sio_args *v, size_t *len) {
  const sio__json_slice *f = &v->v[v->first], *l = &v->v[v->n - 1];
  size_t sum = v->n - v->first - 1; /* the commas */
  for (size_t i = v->first; i < v->n; i++) {
    if (!v->v[i].canon) return 0;
    sum += v->v[i].len;
  }
  *len = l->off + l->len - f->off;
  return sum == *len;
}

int sio__out_build(sio__out *o, const sio_msg *m, sio__sio_type type, const char *nsp,
                   size_t nsp_len, uint64_t id) {
  return sio__out_build_spare(o, m, type, nsp, nsp_len, id, 0);
}

int sio__out_build_spare(sio__out *o, const sio_msg *m, sio__sio_type type, const char *nsp,
                         size_t nsp_len, uint64_t id, size_t spare) {
  memset(o, 0, sizeof(*o));
  sio__sbuf sb = SIO__SBUF_INIT;
  if (m->natt) type = type == SIO__SIO_ACK ? SIO__SIO_BINARY_ACK : SIO__SIO_BINARY_EVENT;
  size_t ev_len = m->event ? strlen(m->event) : 0;
  size_t args_len = m->args.len;
  const sio_args *view = m->view && m->view->n > m->view->first ? m->view : NULL;
  int verbatim = view && view_verbatim(view, &args_len);
  if (view && !verbatim) {
    const sio__json_slice *f = &view->v[view->first], *l = &view->v[view->n - 1];
    args_len = l->off + l->len - f->off;
  }
  /* one allocation for the whole packet (headroom, header, event, arguments), of the size it
   * needs when the arguments go in verbatim (small packets recycle fastest in malloc) */
  int plain_hdr =
      type == SIO__SIO_EVENT && id == SIO__SIO_NO_ID && (!nsp_len || (nsp_len == 1 && *nsp == '/'));
  int plain_ev = m->event && plain_name(m->event, ev_len);
  size_t need = (plain_hdr ? 1 : 48 + nsp_len) + 1 + (plain_ev ? ev_len + 2 : ev_len * 2 + 2) + 1 +
                args_len + 1 + spare;
  if (sio__eio_msg_begin_sized(&sb, 0, need)) {
    sio__sbuf_free(&sb);
    return -ENOMEM;
  }
  if (plain_hdr)
    put_c(&sb, '0' + SIO__SIO_EVENT); /* the usual header: one digit */
  else
    sio__sio_encode_header(&sb, 0, type, m->natt, nsp, nsp_len, id);
  size_t data_off = sb.len;
  put_c(&sb, '[');
  if (m->event) {
    if (plain_ev) {
      put_c(&sb, '"');
      put(&sb, m->event, ev_len);
      put_c(&sb, '"');
    } else {
      sio__json_escape(&sb, m->event, ev_len);
    }
    if (m->nargs) put_c(&sb, ',');
  }
  if (verbatim) { /* received arguments already in canonical form: one copy */
    put(&sb, view->json + view->v[view->first].off, args_len);
  } else if (view) { /* written canonically straight into the packet */
    for (size_t i = view->first; i < view->n; i++) {
      const sio__json_slice *sl = &view->v[i];
      if (i > view->first) put_c(&sb, ',');
      if (sl->canon)
        put(&sb, view->json + sl->off, sl->len);
      else
        sio__json_canon(&sb, view->json + sl->off, sl->len);
    }
  } else if (m->nargs) {
    put(&sb, m->args.data, m->args.len);
  }
  put_c(&sb, ']');
  if (sio__eio_msg_seal(&sb, 0, &o->text)) return -ENOMEM;
  o->data_off = data_off;
  if (m->natt) {
    o->att = sio__calloc(m->natt, sizeof(*o->att));
    if (!o->att) {
      sio__out_release(o);
      return -ENOMEM;
    }
    for (unsigned i = 0; i < m->natt; i++) {
      if (sio__eio_msg_new(m->att[i]->data, m->att[i]->len, 1, &o->att[i])) {
        sio__out_release(o);
        return -ENOMEM;
      }
      o->natt++;
    }
  }
  return 0;
}

void sio__out_set_compress(sio__out *o, int on) {
  o->text.compress = (uint8_t)(on != 0);
  o->mp.compress = (uint8_t)(on != 0);
  for (unsigned i = 0; i < o->natt; i++) o->att[i].compress = (uint8_t)(on != 0);
}

void sio__out_release(sio__out *o) {
  if (o->text.b) sio__eio_msg_release(&o->text);
  if (o->mp.b) sio__eio_msg_release(&o->mp);
  for (unsigned i = 0; i < o->natt; i++) sio__eio_msg_release(&o->att[i]);
  sio__free(o->att);
  memset(o, 0, sizeof(*o));
}
