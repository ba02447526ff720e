/* Mustache templates: rendering a compiled template over a jansson value.
 *
 * Names are looked up through a stack of contexts (the data, then each section's value).
 * A standalone partial's indentation is added before every line the partial renders: the
 * renderer knows whether its output is at the start of a line, and text or values written
 * there get the indentation first (newlines inside interpolated values do not count, as the
 * spec requires). Output and steps are bounded (sio__views_set_limits), so that a template
 * cannot make the server loop or fill memory. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/template_internal.h"
#include "sio/core.h"

/* --- rendering ------------------------------------------------------------------------- */

typedef struct ctx {
  const json_t *value;
  const struct ctx *parent;
} ctx;

typedef struct renderer {
  sio__sbuf *out;
  size_t start_len;
  sio__views *views;
  size_t max_output;
  size_t steps_left;
  int partial_depth;
  sio__sbuf indent; /* indentation of the enclosing standalone partials */
  int at_line_start;
} renderer;

/* Value of key [k, k+n) inside v: an object member, or an array element for a decimal index. */
static const json_t *member(const json_t *v, const char *k, size_t n) {
  if (json_is_object(v)) return json_object_getn(v, k, n);
  if (json_is_array(v) && n > 0 && n <= 9) {
    size_t idx = 0;
    for (size_t i = 0; i < n; i++) {
      if (k[i] < '0' || k[i] > '9') return NULL;
      idx = idx * 10 + (size_t)(k[i] - '0');
    }
    return json_array_get(v, idx);
  }
  return NULL;
}

/* Resolves a (dotted) name: the first part through the context stack, innermost first; the
 * rest inside what it found. NULL when missing. */
static const json_t *lookup(const ctx *c, const char *name, size_t len) {
  if (len == 1 && name[0] == '.') return c ? c->value : NULL;
  const char *dot = memchr(name, '.', len);
  size_t first = dot ? (size_t)(dot - name) : len;
  const json_t *v = NULL;
  for (; c && !v; c = c->parent) v = member(c->value, name, first);
  while (v && dot) {
    const char *part = dot + 1;
    size_t rest = len - (size_t)(part - name);
    dot = memchr(part, '.', rest);
    v = member(v, part, dot ? (size_t)(dot - part) : rest);
  }
  return v;
}

/* Sections skip missing, null, false, [], "" and 0, as mustache.js does. */
static int truthy(const json_t *v) {
  if (!v) return 0;
  switch (json_typeof(v)) {
  case JSON_NULL:
  case JSON_FALSE:
    return 0;
  case JSON_ARRAY:
    return json_array_size(v) > 0;
  case JSON_STRING:
    return json_string_length(v) > 0;
  case JSON_INTEGER:
    return json_integer_value(v) != 0;
  case JSON_REAL:
    return json_real_value(v) != 0.0;
  default:
    return 1;
  }
}

/* Appends n bytes; appending nothing never touches the buffer (an empty sio__sbuf has no
 * storage yet). Failures are seen through out->oom. */
static void put(sio__sbuf *out, const char *p, size_t n) {
  if (n) sio__sbuf_append(out, p, n);
}

static void start_line(renderer *r) {
  if (r->at_line_start && r->indent.len) put(r->out, r->indent.data, r->indent.len);
  r->at_line_start = 0;
}

/* Template text: each line that starts here gets the current indentation. */
static void emit_text(renderer *r, const char *p, size_t n) {
  if (!r->indent.len) {
    put(r->out, p, n);
    return;
  }
  while (n) {
    start_line(r);
    const char *nl = memchr(p, '\n', n);
    size_t chunk = nl ? (size_t)(nl - p) + 1 : n;
    put(r->out, p, chunk);
    if (nl) r->at_line_start = 1;
    p += chunk;
    n -= chunk;
  }
}

static void append_escaped(sio__sbuf *out, const char *p, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    const char *entity;
    switch (p[i]) {
    case '&':
      entity = "&amp;";
      break;
    case '<':
      entity = "&lt;";
      break;
    case '>':
      entity = "&gt;";
      break;
    case '"':
      entity = "&quot;";
      break;
    case '\'':
      entity = "&#39;";
      break;
    default:
      continue;
    }
    put(out, p + run, i - run);
    sio__sbuf_appends(out, entity);
    run = i + 1;
  }
  put(out, p + run, n - run);
}

/* Shortest %g form that reads back as the same double (integral values without ".0"). */
static int format_real(char *buf, size_t size, double d) {
  int n = 0;
  for (int prec = 1; prec <= 17; prec++) {
    n = snprintf(buf, size, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  return n;
}

typedef struct dump_target {
  sio__sbuf *out;
  int escape;
} dump_target;

static int dump_chunk(const char *buf, size_t size, void *data) {
  dump_target *d = data;
  if (d->escape)
    append_escaped(d->out, buf, size);
  else
    put(d->out, buf, size);
  return d->out->oom ? -1 : 0;
}

static void emit_value(renderer *r, const json_t *v, int escape) {
  start_line(r);
  if (!v) return;
  char num[64];
  const char *p = NULL;
  size_t n = 0;
  switch (json_typeof(v)) {
  case JSON_STRING:
    p = json_string_value(v);
    n = json_string_length(v);
    break;
  case JSON_INTEGER:
    n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    p = num;
    break;
  case JSON_REAL:
    n = (size_t)format_real(num, sizeof num, json_real_value(v));
    p = num;
    break;
  case JSON_TRUE:
    p = "true", n = 4;
    break;
  case JSON_FALSE:
    p = "false", n = 5;
    break;
  case JSON_NULL:
    return;
  case JSON_OBJECT:
  case JSON_ARRAY: {
    dump_target d = {r->out, escape};
    json_dump_callback(v, dump_chunk, &d, JSON_COMPACT | JSON_ENCODE_ANY);
    return;
  }
  }
  if (escape)
    append_escaped(r->out, p, n);
  else
    put(r->out, p, n);
}

static int render_range(renderer *r, const sio__template *t, size_t from, size_t to, const ctx *c);

static int render_partial(renderer *r, const sio__template *t, const op *o, const ctx *c) {
  if (!r->views) return 0;
  if (r->partial_depth >= SIO__TEMPLATE_MAX_PARTIAL_DEPTH) return -ELOOP;
  const sio__template *pt;
  int rc = sio__views_get(r->views, t->src + o->off, o->len, &pt);
  if (rc == -ENOENT) return 0; /* the spec: a missing partial renders as nothing */
  if (rc) return rc;
  size_t saved = r->indent.len;
  if (o->ilen) {
    if (sio__sbuf_append(&r->indent, t->src + o->ioff, o->ilen)) return -ENOMEM;
    r->at_line_start = 1;
  }
  r->partial_depth++;
  rc = render_range(r, pt, 0, pt->nops, c);
  r->partial_depth--;
  r->indent.len = saved;
  return rc;
}

static int render_section(renderer *r, const sio__template *t, size_t i, const ctx *c) {
  const op *o = &t->ops[i];
  const json_t *v = lookup(c, t->src + o->off, o->len);
  if (o->kind == OP_INVERTED) return truthy(v) ? 0 : render_range(r, t, i + 1, o->end, c);
  if (!truthy(v)) return 0;
  if (!json_is_array(v)) {
    ctx inner = {v, c};
    return render_range(r, t, i + 1, o->end, &inner);
  }
  for (size_t k = 0; k < json_array_size(v); k++) {
    if (r->steps_left == 0) return SIO_ETOOLARGE;
    r->steps_left--;
    ctx inner = {json_array_get(v, k), c};
    int rc = render_range(r, t, i + 1, o->end, &inner);
    if (rc) return rc;
  }
  return 0;
}

static int render_range(renderer *r, const sio__template *t, size_t from, size_t to, const ctx *c) {
  for (size_t i = from; i < to; i++) {
    if (r->steps_left == 0) return SIO_ETOOLARGE;
    r->steps_left--;
    const op *o = &t->ops[i];
    int rc = 0;
    switch (o->kind) {
    case OP_TEXT:
      emit_text(r, t->src + o->off, o->len);
      break;
    case OP_VAR:
    case OP_RAW:
      emit_value(r, lookup(c, t->src + o->off, o->len), o->kind == OP_VAR);
      break;
    case OP_SECTION:
    case OP_INVERTED:
      rc = render_section(r, t, i, c);
      i = o->end;
      break;
    case OP_END:
      break;
    case OP_PARTIAL:
      rc = render_partial(r, t, o, c);
      break;
    }
    if (rc) return rc;
    if (r->out->oom) return -ENOMEM;
    if (r->out->len - r->start_len > r->max_output) return SIO_ETOOLARGE;
  }
  return 0;
}

int sio__template_render(const sio__template *t, const json_t *data, sio__views *partials_or_NULL,
                         sio__sbuf *out) {
  if (out->oom) return -ENOMEM;
  renderer r = {
      .out = out,
      .start_len = out->len,
      .views = partials_or_NULL,
      .max_output =
          partials_or_NULL ? partials_or_NULL->max_output : SIO__TEMPLATE_DEFAULT_MAX_OUTPUT,
      .steps_left =
          partials_or_NULL ? partials_or_NULL->max_steps : SIO__TEMPLATE_DEFAULT_MAX_STEPS,
      .indent = SIO__SBUF_INIT,
  };
  ctx root = {data, NULL};
  int rc = render_range(&r, t, 0, t->nops, &root);
  sio__sbuf_free(&r.indent);
  if (rc && out->data) {
    out->len = r.start_len;
    out->data[out->len] = '\0';
  }
  return rc;
}
