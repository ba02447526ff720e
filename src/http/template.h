/* Mustache templates rendered over jansson values (the role `ejs` plays for Express).
 *
 * Supported (https://mustache.github.io/mustache.5.html and the Mustache spec):
 *   {{name}}            HTML-escaped (& < > " ' become entities)
 *   {{{name}}} {{&name}} unescaped
 *   {{a.b.c}} {{.}}     dotted names (the first part is looked up through the context stack,
 *                       the rest strictly inside it; a digit part indexes an array), current item
 *   {{#name}}..{{/name}} section: once per item of a non-empty array, once with the value
 *                       pushed as context for any other truthy value; skipped for missing,
 *                       null, false, empty array, "" and 0 (as mustache.js does)
 *   {{^name}}..{{/name}} inverted section: rendered exactly when {{#name}} would be skipped
 *   {{! comment }}      removed
 *   {{> partial}}       another template of the same views object, indented when standalone;
 *                       a missing partial renders as nothing
 *   {{=<% %>=}}         set delimiters
 * Standalone section, comment, partial and delimiter tags take their whole line with them.
 * Values: strings as is, integers in decimal, reals in the shortest form that reads back
 * the same ("1.5", 2.0 -> "2"), true/false as words, null as nothing, arrays and objects as
 * compact JSON.
 *
 * A template is compiled once to a flat op list that points into its own copy of the source;
 * rendering allocates nothing but output. Rendering is bounded: partials nest at most
 * SIO__TEMPLATE_MAX_PARTIAL_DEPTH deep (-ELOOP beyond), and a views object can cap the
 * output size and the number of steps (SIO_ETOOLARGE beyond), so a hostile template or
 * context cannot exhaust memory or time. */
#ifndef SIO_HTTP_TEMPLATE_H
#define SIO_HTTP_TEMPLATE_H
#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

#define SIO__TEMPLATE_MAX_PARTIAL_DEPTH  32
#define SIO__TEMPLATE_MAX_NESTING        64          /* sections inside sections, per template */
#define SIO__TEMPLATE_MAX_FILE           (16u << 20) /* bytes of one template file */
#define SIO__TEMPLATE_DEFAULT_MAX_OUTPUT (256u << 20)
#define SIO__TEMPLATE_DEFAULT_MAX_STEPS  (64u << 20)

typedef struct sio__template sio__template;
typedef struct sio__views sio__views;

/* Compiles src[0..len). On success *out owns a copy of the source; free it with
 * sio__template_free. On a syntax error returns -EINVAL and writes "line L, column C: what"
 * to err (if errlen > 0); -ENOMEM; SIO_ETOOLARGE if len does not fit the op format. */
int sio__template_compile(const char *src, size_t len, sio__template **out, char *err,
                          size_t errlen);
void sio__template_free(sio__template *t);

/* Appends the rendering of t over data (NULL renders as null) to out. Partials come from
 * partials_or_NULL (none: every partial is empty). On error returns a negative code and
 * leaves out as it was before the call: -ENOMEM, -ELOOP (partials too deep), SIO_ETOOLARGE
 * (output or step limit), or a partial's load/compile error. */
int sio__template_render(const sio__template *t, const json_t *data, sio__views *partials_or_NULL,
                         sio__sbuf *out);

/* A directory of templates with a cache of compiled ones keyed by name. dir may be NULL for
 * a views object fed only by sio__views_add. NULL on allocation failure. */
sio__views *sio__views_new(const char *dir);
void sio__views_free(sio__views *v);

/* Renders template `name` (dir/name.mustache, else dir/name.html; compiled on first use and
 * cached) over data, appending to out. Names are relative: empty names, a leading '/', a ".."
 * segment, backslashes and control characters are refused with -EINVAL. Returns 0, -ENOENT
 * (no such template), -EINVAL (bad name, or a syntax error, logged with file, line and
 * column), SIO_ETOOLARGE, -ELOOP, -ENOMEM, or another -errno from reading the file. */
int sio__views_render(sio__views *v, const char *name, const json_t *data, sio__sbuf *out);

/* Compiles src and caches it as `name`, replacing an earlier one (tests, embedded templates,
 * fuzzing). Same errors as sio__template_compile. */
int sio__views_add(sio__views *v, const char *name, const char *src, size_t len, char *err,
                   size_t errlen);

/* Caps for every render through v (0 keeps the current value): bytes one render may append,
 * and ops one render may execute (each section iteration counts). */
void sio__views_set_limits(sio__views *v, size_t max_output, size_t max_steps);

#endif
