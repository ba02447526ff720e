/* Mustache templates (see template.h for the language supported).
 *
 * Compiling turns the source into a flat array of ops. Text ops and names are offsets into
 * the template's own copy of the source, so compiling allocates two blocks and rendering
 * allocates none (other than output and, for indented partials, the indentation string).
 * A section op records the index of its end op, so rendering a section is a recursive call
 * over a sub-range and skipping one is a jump.
 *
 * Whitespace follows the Mustache spec: a section, inverted, closing, comment, partial or
 * set-delimiter tag alone on its line (only spaces or tabs beside it) removes that whole
 * line; a standalone partial's indentation is added before every line the partial renders.
 * The indentation is applied while rendering: the renderer knows whether its output is at
 * the start of a line, and text or values written there get the indentation first (newlines
 * inside interpolated values do not count, as the spec requires).
 *
 * A views object owns a directory name and a map from template name to compiled template;
 * partials are looked up in the same views object, so each file is read and compiled once. */
#include "http/template.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/map.h"
#include "sio/core.h"

#define MAX_DELIM 16

enum op_kind {
  OP_TEXT,     /* literal bytes src[off, off+len) */
  OP_VAR,      /* {{name}}: escaped value */
  OP_RAW,      /* {{{name}}} or {{&name}}: raw value */
  OP_SECTION,  /* {{#name}}: body is ops (i, end) */
  OP_INVERTED, /* {{^name}}: body is ops (i, end) */
  OP_END,      /* {{/name}} */
  OP_PARTIAL,  /* {{>name}}: with indentation src[ioff, ioff+ilen) when standalone */
};

typedef struct op {
  enum op_kind kind;
  size_t off, len;   /* TEXT: the bytes; others: the name */
  size_t end;        /* SECTION/INVERTED: index of the matching OP_END */
  size_t ioff, ilen; /* PARTIAL: indentation */
} op;

struct sio__template {
  char *src;
  size_t len;
  op *ops;
  size_t nops, cap;
};

struct sio__views {
  char *dir;      /* NULL: only templates added with sio__views_add */
  sio__map cache; /* name -> sio__template* */
  size_t max_output, max_steps;
};

/* --- compiling ------------------------------------------------------------------------- */

typedef struct compiler {
  sio__template *t;
  const char *s; /* t->src */
  size_t len;
  char open[MAX_DELIM + 1], close[MAX_DELIM + 1];
  size_t olen, clen;
  size_t sections[SIO__TEMPLATE_MAX_NESTING]; /* op index of each open section */
  size_t depth;
  char *err;
  size_t errlen;
} compiler;

static void position_of(const char *s, size_t off, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  for (size_t i = 0; i < off; i++) {
    if (s[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

/* Records "line L, column C: <message>" for the byte at off; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int syntax_error(compiler *c, size_t off,
                                                              const char *fmt, ...) {
  if (c->err && c->errlen) {
    size_t line, col;
    position_of(c->s, off, &line, &col);
    int n = snprintf(c->err, c->errlen, "line %zu, column %zu: ", line, col);
    if (n >= 0 && (size_t)n < c->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -EINVAL;
}

static int add_op(compiler *c, enum op_kind kind, size_t off, size_t len) {
  sio__template *t = c->t;
  if (t->nops == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    op *ops = sio__realloc(t->ops, cap * sizeof(*ops));
    if (!ops) return -ENOMEM;
    t->ops = ops;
    t->cap = cap;
  }
  t->ops[t->nops++] = (op){.kind = kind, .off = off, .len = len};
  return 0;
}

static int is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}
static int is_blank(char ch) {
  return ch == ' ' || ch == '\t';
}

/* Trims [*b, *e) of whitespace. */
static void trim(const char *s, size_t *b, size_t *e) {
  while (*b < *e && is_space(s[*b])) (*b)++;
  while (*e > *b && is_space(s[*e - 1])) (*e)--;
}

/* The tag's name: [b, e) trimmed, non-empty, without inner whitespace. */
static int tag_name(compiler *c, size_t tag, size_t b, size_t e, size_t *off, size_t *len) {
  trim(c->s, &b, &e);
  if (b == e) return syntax_error(c, tag, "empty tag name");
  for (size_t i = b; i < e; i++)
    if (is_space(c->s[i])) return syntax_error(c, tag, "space inside tag name");
  *off = b;
  *len = e - b;
  return 0;
}

/* First occurrence at or after `from` of the close delimiter preceded by `before` (0: any). */
static const char *find_close(const compiler *c, size_t from, char before) {
  size_t pos = from;
  while (pos <= c->len) {
    const char *hit = memmem(c->s + pos, c->len - pos, c->close, c->clen);
    if (!hit) return NULL;
    size_t at = (size_t)(hit - c->s);
    if (!before || (at > from && c->s[at - 1] == before)) return hit;
    pos = at + 1;
  }
  return NULL;
}

/* {{=<open> <close>=}}: content [b, e) without the '=' signs. */
static int set_delimiters(compiler *c, size_t tag, size_t b, size_t e) {
  trim(c->s, &b, &e);
  size_t m = b;
  while (m < e && !is_space(c->s[m])) m++;
  size_t b2 = m, e2 = e;
  trim(c->s, &b2, &e2);
  size_t olen = m - b, clen = e2 - b2;
  if (olen == 0 || clen == 0 || olen > MAX_DELIM || clen > MAX_DELIM)
    return syntax_error(c, tag, "set-delimiter tag needs two delimiters of 1 to %d bytes",
                        MAX_DELIM);
  for (size_t i = b2; i < e2; i++)
    if (is_space(c->s[i])) return syntax_error(c, tag, "set-delimiter tag takes two delimiters");
  if (memchr(c->s + b, '=', olen) || memchr(c->s + b2, '=', clen))
    return syntax_error(c, tag, "delimiters may not contain '='");
  memcpy(c->open, c->s + b, olen);
  c->olen = olen;
  memcpy(c->close, c->s + b2, clen);
  c->clen = clen;
  return 0;
}

static int open_section(compiler *c, enum op_kind kind, size_t tag, size_t off, size_t len) {
  if (c->depth == SIO__TEMPLATE_MAX_NESTING)
    return syntax_error(c, tag, "sections nested more than %d deep", SIO__TEMPLATE_MAX_NESTING);
  int rc = add_op(c, kind, off, len);
  if (rc) return rc;
  c->sections[c->depth++] = c->t->nops - 1;
  return 0;
}

static int close_section(compiler *c, size_t tag, size_t off, size_t len) {
  if (c->depth == 0)
    return syntax_error(c, tag, "closing tag '%.*s' without an open section", (int)len, c->s + off);
  op *open = &c->t->ops[c->sections[c->depth - 1]];
  if (open->len != len || memcmp(c->s + open->off, c->s + off, len) != 0) {
    size_t line, col;
    position_of(c->s, open->off, &line, &col);
    return syntax_error(c, tag, "closing tag '%.*s' does not match '%.*s' opened at line %zu",
                        (int)len, c->s + off, (int)open->len, c->s + open->off, line);
  }
  size_t open_index = c->sections[--c->depth];
  int rc = add_op(c, OP_END, off, len);
  if (rc) return rc;
  c->t->ops[open_index].end = c->t->nops - 1;
  return 0;
}

/* Is the tag [tag, tag_end) alone on its line? If so, sets *line_start (where its leading
 * blanks begin) and *next (after its line's newline, or the end). text_start: where the text
 * since the previous tag begins (a previous tag on the same line rules standalone out). */
static int standalone(const compiler *c, size_t text_start, size_t tag, size_t tag_end,
                      size_t *line_start, size_t *next) {
  size_t b = tag;
  while (b > text_start && is_blank(c->s[b - 1])) b--;
  if (b > 0 && c->s[b - 1] != '\n') return 0;
  size_t q = tag_end;
  while (q < c->len && is_blank(c->s[q])) q++;
  if (q == c->len)
    *next = q;
  else if (c->s[q] == '\n')
    *next = q + 1;
  else if (c->s[q] == '\r' && q + 1 < c->len && c->s[q + 1] == '\n')
    *next = q + 2;
  else
    return 0;
  *line_start = b;
  return 1;
}

/* Parses the tag opening at `tag`; emits the text before it and its op; sets *resume. */
static int compile_tag(compiler *c, size_t text_start, size_t tag, size_t *resume) {
  size_t p = tag + c->olen;
  char sigil = p < c->len ? c->s[p] : '\0';
  char before = 0;
  switch (sigil) {
  case '{':
    before = '}';
    break;
  case '=':
    before = '=';
    break;
  case '&':
  case '#':
  case '^':
  case '/':
  case '!':
  case '>':
    break;
  default:
    sigil = '\0';
  }
  size_t cb = sigil ? p + 1 : p;
  const char *close = find_close(c, cb, before);
  if (!close) return syntax_error(c, tag, "unclosed tag");
  size_t ce = (size_t)(close - c->s) - (before ? 1 : 0);
  size_t tag_end = (size_t)(close - c->s) + c->clen;

  size_t text_end = tag, line_start = tag;
  *resume = tag_end;
  int may_stand = sigil && sigil != '{' && sigil != '&';
  if (may_stand && standalone(c, text_start, tag, tag_end, &line_start, resume))
    text_end = line_start;
  int rc = 0;
  if (text_end > text_start && (rc = add_op(c, OP_TEXT, text_start, text_end - text_start)))
    return rc;

  size_t off = 0, len = 0;
  if (sigil != '!' && sigil != '=' && (rc = tag_name(c, tag, cb, ce, &off, &len))) return rc;
  switch (sigil) {
  case '\0':
    return add_op(c, OP_VAR, off, len);
  case '{':
  case '&':
    return add_op(c, OP_RAW, off, len);
  case '#':
    return open_section(c, OP_SECTION, tag, off, len);
  case '^':
    return open_section(c, OP_INVERTED, tag, off, len);
  case '/':
    return close_section(c, tag, off, len);
  case '!':
    return 0;
  case '=':
    return set_delimiters(c, tag, cb, ce);
  case '>':
    if ((rc = add_op(c, OP_PARTIAL, off, len))) return rc;
    c->t->ops[c->t->nops - 1].ioff = line_start;
    c->t->ops[c->t->nops - 1].ilen = tag - line_start;
    return 0;
  }
  return 0;
}

static int compile_ops(compiler *c) {
  size_t text_start = 0;
  for (;;) {
    const char *hit = text_start <= c->len
                          ? memmem(c->s + text_start, c->len - text_start, c->open, c->olen)
                          : NULL;
    if (!hit) break;
    int rc = compile_tag(c, text_start, (size_t)(hit - c->s), &text_start);
    if (rc) return rc;
  }
  if (c->depth) {
    const op *open = &c->t->ops[c->sections[c->depth - 1]];
    return syntax_error(c, open->off, "section '%.*s' is not closed", (int)open->len,
                        c->s + open->off);
  }
  if (text_start < c->len) return add_op(c, OP_TEXT, text_start, c->len - text_start);
  return 0;
}

int sio__template_compile(const char *src, size_t len, sio__template **out, char *err,
                          size_t errlen) {
  *out = NULL;
  if (err && errlen) err[0] = '\0';
  if (len > SIZE_MAX / 2) return SIO_ETOOLARGE;
  sio__template *t = sio__calloc(1, sizeof(*t));
  if (!t) return -ENOMEM;
  t->src = sio__malloc(len + 1);
  if (!t->src) {
    sio__free(t);
    return -ENOMEM;
  }
  if (len) memcpy(t->src, src, len);
  t->src[len] = '\0';
  t->len = len;
  compiler c = {.t = t,
                .s = t->src,
                .len = len,
                .open = "{{",
                .close = "}}",
                .olen = 2,
                .clen = 2,
                .err = err,
                .errlen = errlen};
  int rc = compile_ops(&c);
  if (rc) {
    sio__template_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void sio__template_free(sio__template *t) {
  if (!t) return;
  sio__free(t->ops);
  sio__free(t->src);
  sio__free(t);
}

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

static int views_get(sio__views *v, const char *name, size_t len, const sio__template **out);
static int render_range(renderer *r, const sio__template *t, size_t from, size_t to, const ctx *c);

static int render_partial(renderer *r, const sio__template *t, const op *o, const ctx *c) {
  if (!r->views) return 0;
  if (r->partial_depth >= SIO__TEMPLATE_MAX_PARTIAL_DEPTH) return -ELOOP;
  const sio__template *pt;
  int rc = views_get(r->views, t->src + o->off, o->len, &pt);
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

/* --- views ----------------------------------------------------------------------------- */

sio__views *sio__views_new(const char *dir) {
  sio__views *v = sio__calloc(1, sizeof(*v));
  if (!v) return NULL;
  if (dir && !(v->dir = sio__strdup(dir))) {
    sio__free(v);
    return NULL;
  }
  v->cache = (sio__map)SIO__MAP_INIT;
  v->max_output = SIO__TEMPLATE_DEFAULT_MAX_OUTPUT;
  v->max_steps = SIO__TEMPLATE_DEFAULT_MAX_STEPS;
  return v;
}

void sio__views_free(sio__views *v) {
  if (!v) return;
  size_t it = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&v->cache, &it))) sio__template_free(e->value);
  sio__map_free(&v->cache);
  sio__free(v->dir);
  sio__free(v);
}

void sio__views_set_limits(sio__views *v, size_t max_output, size_t max_steps) {
  if (max_output) v->max_output = max_output;
  if (max_steps) v->max_steps = max_steps;
}

/* Relative names only: no leading '/', no ".." segment, no backslash or control byte. */
static int valid_name(const char *name, size_t len) {
  if (len == 0 || len > 1024 || name[0] == '/') return 0;
  size_t seg = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || name[i] == '/') {
      if (i - seg == 2 && name[seg] == '.' && name[seg + 1] == '.') return 0;
      seg = i + 1;
      continue;
    }
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == 0x7f || ch == '\\') return 0;
  }
  return 1;
}

/* Reads a whole regular file (at most SIO__TEMPLATE_MAX_FILE bytes) into *data. */
static int read_file(const char *path, char **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  int rc = 0;
  char *buf = NULL;
  size_t got = 0;
  if (fstat(fd, &st) != 0)
    rc = -errno;
  else if (!S_ISREG(st.st_mode))
    rc = -ENOENT;
  else if ((uint64_t)st.st_size > SIO__TEMPLATE_MAX_FILE)
    rc = SIO_ETOOLARGE;
  else if (!(buf = sio__malloc((size_t)st.st_size + 1)))
    rc = -ENOMEM;
  while (rc == 0 && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (rc) {
    sio__free(buf);
    return rc;
  }
  *data = buf;
  *len = got;
  return 0;
}

/* Loads dir/name.mustache, else dir/name.html, compiles it and caches it. */
static int load(sio__views *v, const char *name, size_t len, const sio__template **out) {
  static const char *const exts[] = {".mustache", ".html"};
  sio__sbuf path = SIO__SBUF_INIT;
  char *src = NULL;
  size_t srclen = 0;
  int rc = -ENOENT;
  for (size_t i = 0; i < 2 && rc == -ENOENT; i++) {
    sio__sbuf_reset(&path);
    sio__sbuf_printf(&path, "%s/%.*s%s", v->dir, (int)len, name, exts[i]);
    if (path.oom)
      rc = -ENOMEM;
    else
      rc = read_file(path.data, &src, &srclen);
  }
  if (rc) {
    if (rc != -ENOENT && rc != -ENOMEM)
      sio__warn("template %s/%.*s: %s", v->dir, (int)len, name, sio_strerror(rc));
    sio__sbuf_free(&path);
    return rc;
  }
  sio__template *t;
  char err[256];
  rc = sio__template_compile(src, srclen, &t, err, sizeof err);
  sio__free(src);
  if (rc == -EINVAL) sio__warn("template %s: %s", path.data, err);
  sio__sbuf_free(&path);
  if (rc) return rc;
  if ((rc = sio__map_put(&v->cache, name, len, t))) {
    sio__template_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

static int views_get(sio__views *v, const char *name, size_t len, const sio__template **out) {
  const sio__template *t = sio__map_get(&v->cache, name, len);
  if (t) {
    *out = t;
    return 0;
  }
  if (!valid_name(name, len)) return -EINVAL;
  if (!v->dir) return -ENOENT;
  return load(v, name, len, out);
}

int sio__views_render(sio__views *v, const char *name, const json_t *data, sio__sbuf *out) {
  const sio__template *t;
  int rc = views_get(v, name, strlen(name), &t);
  if (rc) return rc;
  return sio__template_render(t, data, v, out);
}

int sio__views_add(sio__views *v, const char *name, const char *src, size_t len, char *err,
                   size_t errlen) {
  sio__template *t;
  int rc = sio__template_compile(src, len, &t, err, errlen);
  if (rc) return rc;
  size_t nlen = strlen(name);
  sio__template *old = sio__map_get(&v->cache, name, nlen);
  if ((rc = sio__map_put(&v->cache, name, nlen, t))) {
    sio__template_free(t);
    return rc;
  }
  sio__template_free(old);
  return 0;
}
