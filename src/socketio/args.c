/* sio_args: the arguments of a received event or ack, as a view over the packet's JSON text.
 *
 * The text was validated once by the codec; here it is split into element slices (no copy) and
 * read on demand: a string is unescaped the first time it is asked for (and cached until the
 * view goes away), numbers are parsed from their slice, a jansson tree is built only when the
 * application wants one. Relaying arguments (sio_emit_args) copies the slices verbatim, so what
 * a client wrote is what the next client gets, byte for byte. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

/* `json` must be a validated array text (the codec validated every received payload). */
int sio__args_init(sio_args *a, const char *json, size_t len, size_t first, sio__buf *const *att,
                   unsigned natt, int binary, int max_depth) {
  memset(a, 0, sizeof(*a));
  a->json = json;
  a->json_len = len;
  a->first = first;
  a->att = att;
  a->natt = natt;
  a->binary = binary;
  a->v = a->inline_v;
  (void)max_depth; /* the text was validated when the packet was decoded */
  while (len && (*json == ' ' || *json == '\t' || *json == '\n' || *json == '\r')) {
    json++;
    len--;
  }
  a->json = json;
  a->json_len = len;
  size_t count = 0;
  sio__json_iter it;
  sio__json_slice sl;
  sio__json_iter_init(&it, json, len);
  while (sio__json_iter_next(&it, &sl)) {
    if (count == 8) { /* more than fit inline: move to the heap, growing */
      sio__json_slice *v = sio__malloc(32 * sizeof(*v));
      if (!v) return -ENOMEM;
      memcpy(v, a->inline_v, sizeof(a->inline_v));
      a->v = v;
    } else if (count > 8 && (count & (count - 1)) == 0 && count >= 32) {
      sio__json_slice *v = sio__realloc(a->v, count * 2 * sizeof(*v));
      if (!v) {
        sio__free(a->v);
        a->v = a->inline_v;
        return -ENOMEM;
      }
      a->v = v;
    }
    a->v[count++] = sl;
  }
  a->n = count;
  if (a->first > a->n) a->first = a->n;
  return 0;
}

int sio__args_init_packet(sio_args *a, const sio__sio_packet *p, size_t first, sio__buf *const *att,
                          unsigned natt, int binary) {
  if (p->nelem > SIO__SIO_ELEMS) /* more than the decoder kept: split again */
    return sio__args_init(a, p->data, p->data_len, first, att, natt, binary, SIO__JSON_MAX_DEPTH);
  /* everything zero but the inline slices, which get the decoder's */
  size_t tail = offsetof(sio_args, inline_v) + sizeof(a->inline_v);
  memset(a, 0, offsetof(sio_args, inline_v));
  memset((char *)a + tail, 0, sizeof(*a) - tail);
  a->json = p->data;
  a->json_len = p->data_len;
  a->first = first < p->nelem ? first : p->nelem;
  a->v = a->inline_v;
  a->n = p->nelem;
  a->att = att;
  a->natt = natt;
  a->binary = binary;
  memcpy(a->inline_v, p->elem, p->nelem * sizeof(*p->elem));
  return 0;
}

void sio__args_free(sio_args *a) {
  if (a->str_cache) {
    for (size_t i = 0; i < a->n; i++) sio__free(a->str_cache[i]);
    sio__free(a->str_cache);
  }
  if (a->v != a->inline_v) sio__free(a->v);
  sio__sbuf_free(&a->all);
  a->v = a->inline_v;
  a->str_cache = NULL;
}

typedef struct args_clone {
  sio_args a;
  char *text;
  sio__buf **att;
} args_clone;

sio_args *sio__args_clone(const sio_args *src) {
  args_clone *c = sio__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->text = sio__memdup(src->json, src->json_len ? src->json_len : 1);
  if (!c->text) goto fail;
  if (src->natt) {
    c->att = sio__malloc(src->natt * sizeof(*c->att));
    if (!c->att) goto fail;
    for (unsigned i = 0; i < src->natt; i++) c->att[i] = sio__buf_ref(src->att[i]);
  }
  if (sio__args_init(&c->a, c->text, src->json_len, src->first, c->att, src->natt, src->binary,
                     SIO__JSON_MAX_DEPTH)) {
    for (unsigned i = 0; i < src->natt; i++) sio__buf_unref(c->att[i]);
    goto fail;
  }
  return &c->a;
fail:
  sio__free(c->att);
  sio__free(c->text);
  sio__free(c);
  return NULL;
}

void sio__args_destroy(sio_args *a) {
  if (!a) return;
  args_clone *c = (args_clone *)a;
  sio__args_free(&c->a);
  for (unsigned i = 0; i < c->a.natt; i++) sio__buf_unref(c->att[i]);
  sio__free(c->att);
  sio__free(c->text);
  sio__free(c);
}

static const sio__json_slice *arg(const sio_args *a, size_t i) {
  if (!a || i >= a->n - a->first) return NULL;
  return &a->v[a->first + i];
}

size_t sio_args_count(const sio_args *a) {
  return a ? a->n - a->first : 0;
}

static int placeholder_num(const sio_args *a, const sio__json_slice *sl) {
  if (!a->binary || sl->type != SIO__JSON_OBJECT) return -1;
  long num = -1;
  if (!sio__sio_is_placeholder(a->json + sl->off, sl->len, &num)) return -1;
  if (num < 0 || (unsigned long)num >= a->natt) return -1;
  return (int)num;
}

sio_type sio_args_type(const sio_args *a, size_t i) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl) return SIO_T_NONE;
  switch (sl->type) {
  case SIO__JSON_NULL:
    return SIO_T_NULL;
  case SIO__JSON_TRUE:
  case SIO__JSON_FALSE:
    return SIO_T_BOOL;
  case SIO__JSON_NUMBER:
    return SIO_T_NUMBER;
  case SIO__JSON_STRING:
    return SIO_T_STRING;
  case SIO__JSON_ARRAY:
    return SIO_T_ARRAY;
  case SIO__JSON_OBJECT:
    return placeholder_num(a, sl) >= 0 ? SIO_T_BINARY : SIO_T_OBJECT;
  default:
    return SIO_T_NONE;
  }
}

const char *sio_args_str(const sio_args *a, size_t i, size_t *len) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl || sl->type != SIO__JSON_STRING) return NULL;
  sio_args *m = (sio_args *)a; /* the cache is logically const */
  size_t k = a->first + i;
  if (!m->str_cache) {
    m->str_cache = sio__calloc(a->n, sizeof(char *));
    if (!m->str_cache) return NULL;
  }
  if (!m->str_cache[k]) {
    sio__sbuf sb = SIO__SBUF_INIT;
    if (sio__json_string(a->json + sl->off, sl->len, &sb) || sio__sbuf_reserve(&sb, 1)) {
      sio__sbuf_free(&sb);
      return NULL;
    }
    sb.data[sb.len] = '\0';
    /* keep the length in front of the text */
    char *p = sio__malloc(sizeof(size_t) + sb.len + 1);
    if (!p) {
      sio__sbuf_free(&sb);
      return NULL;
    }
    memcpy(p, &sb.len, sizeof(size_t));
    memcpy(p + sizeof(size_t), sb.data, sb.len + 1);
    sio__sbuf_free(&sb);
    m->str_cache[k] = p;
  }
  if (len) memcpy(len, m->str_cache[k], sizeof(size_t));
  return m->str_cache[k] + sizeof(size_t);
}

double sio_args_num(const sio_args *a, size_t i) {
  const sio__json_slice *sl = arg(a, i);
  double d = 0;
  if (!sl || sl->type != SIO__JSON_NUMBER) return 0;
  if (sio__json_number(a->json + sl->off, sl->len, &d)) return 0;
  return d;
}

int sio_args_int(const sio_args *a, size_t i, int64_t *out) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl || sl->type != SIO__JSON_NUMBER) return -EINVAL;
  return sio__json_int64(a->json + sl->off, sl->len, out);
}

int sio_args_bool(const sio_args *a, size_t i) {
  const sio__json_slice *sl = arg(a, i);
  return sl && sl->type == SIO__JSON_TRUE;
}

const char *sio_args_json(const sio_args *a, size_t i, size_t *len) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl) return NULL;
  if (len) *len = sl->len;
  return a->json + sl->off;
}

const char *sio_args_json_all(const sio_args *a, size_t *len) {
  if (!a) return NULL;
  if (a->first == 0) {
    if (len) *len = a->json_len;
    return a->json;
  }
  sio_args *m = (sio_args *)a;
  if (!m->all.data) {
    sio__sbuf_appendc(&m->all, '[');
    size_t cnt = sio_args_count(a);
    if (cnt) {
      const sio__json_slice *f = arg(a, 0), *l = arg(a, cnt - 1);
      sio__sbuf_append(&m->all, a->json + f->off, l->off + l->len - f->off);
    }
    if (sio__sbuf_appendc(&m->all, ']')) return NULL;
  }
  if (len) *len = m->all.len;
  return m->all.data;
}

int sio_args_bin(const sio_args *a, size_t i, const void **data, size_t *len) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl) return -EINVAL;
  int num = placeholder_num(a, sl);
  if (num < 0) return -EINVAL;
  return sio_args_attachment(a, (size_t)num, data, len);
}

size_t sio_args_attachments(const sio_args *a) {
  return a ? a->natt : 0;
}

int sio_args_attachment(const sio_args *a, size_t num, const void **data, size_t *len) {
  if (!a || num >= a->natt) return -EINVAL;
  if (data) *data = a->att[num]->data;
  if (len) *len = a->att[num]->len;
  return 0;
}

json_t *sio_args_value(const sio_args *a, size_t i) {
  const sio__json_slice *sl = arg(a, i);
  if (!sl) return NULL;
  return sio__json_to_jansson(a->json + sl->off, sl->len);
}

json_t *sio_args_value_all(const sio_args *a) {
  size_t len = 0;
  const char *s = sio_args_json_all(a, &len);
  if (!s) return NULL;
  return sio__json_to_jansson(s, len);
}
