/* Mustache templates: compiling (see template.h for the language supported).
 *
 * Compiling turns the source into a flat array of ops. Text ops and names are offsets into
 * the template's own copy of the source, so compiling allocates two blocks and rendering
 * allocates none (other than output and, for indented partials, the indentation string).
 * A section op records the index of its end op, so rendering a section is a recursive call
 * over a sub-range and skipping one is a jump (template_render.c).
 *
 * Whitespace follows the Mustache spec: a section, inverted, closing, comment, partial or
 * set-delimiter tag alone on its line (only spaces or tabs beside it) removes that whole
 * line; a standalone partial records its indentation, which the renderer applies. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/template_internal.h"
#include "sio/core.h"

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
