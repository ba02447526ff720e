/* What the template files share (template_compile.c makes a template, template_render.c
 * renders it, views.c keeps a directory's templates): the compiled form. Internal to
 * src/http. */
#ifndef SIO_HTTP_TEMPLATE_INTERNAL_H
#define SIO_HTTP_TEMPLATE_INTERNAL_H

#include <stddef.h>

#include "core/map.h"
#include "http/template.h"

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

/* The compiled template of a name, loading and compiling views/<name> on first use (views.c).
 * 0, -ENOENT, or another negative error. */
int sio__views_get(sio__views *v, const char *name, size_t len, const sio__template **out);

#endif
