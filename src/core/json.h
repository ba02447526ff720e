/* JSON on the wire: a strict RFC 8259 scanner that builds no tree.
 *
 * Socket.IO arguments arrive as JSON text. The server validates that text once (grammar, UTF-8,
 * a nesting limit) and then works on slices of it: an argument is (offset, length, type) into
 * the original bytes. Relaying an argument copies those bytes verbatim, so whatever the client
 * wrote (a 20-digit integer, `1e20`, `0.1`, `\u0000`, an escaped lone surrogate) goes back out
 * unchanged and a relay costs no allocation. Accessors read a slice as a C string (unescaped),
 * a number, a boolean, or a jansson tree built on request. The escaper writes C strings as JSON
 * exactly as JSON.stringify would. */
#ifndef SIO_CORE_JSON_H
#define SIO_CORE_JSON_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"

#define SIO__JSON_DEFAULT_DEPTH 128  /* nesting limit used when 0 is passed */
#define SIO__JSON_MAX_DEPTH     1024 /* hard cap (the scanner recurses) */

typedef enum sio__json_type {
  SIO__JSON_INVALID = 0,
  SIO__JSON_NULL,
  SIO__JSON_FALSE,
  SIO__JSON_TRUE,
  SIO__JSON_NUMBER,
  SIO__JSON_STRING,
  SIO__JSON_ARRAY,
  SIO__JSON_OBJECT,
} sio__json_type;

/* One value inside a JSON text: bytes [off, off+len) of the text, no surrounding whitespace. */
typedef struct sio__json_slice {
  size_t off;
  size_t len;
  sio__json_type type;
  /* 1 when the scanner proved the value is already written as JSON.stringify(JSON.parse(v))
   * would write it (no whitespace, no \u or \/ escapes, integers of at most 15 digits and not
   * -0, objects of at most 8 members without a repeated key), so it can be copied as is. 0 means
   * unknown (iterators never set it). */
  unsigned char canon;
} sio__json_slice;

/* Type of the value that starts at s[0] (looks at the first byte only; s must be a valid value). */
sio__json_type sio__json_type_of(const char *s, size_t n);

/* Validates a whole JSON text: one value with optional whitespace around it. max_depth 0 means
 * SIO__JSON_DEFAULT_DEPTH (arrays/objects nested deeper are refused). On success returns 0 and,
 * if out is non-NULL, the slice of the value. Returns -EINVAL on anything else. */
int sio__json_validate(const char *s, size_t n, int max_depth, sio__json_slice *out);

/* Validates a JSON text that must be an array and splits it into its elements: up to `max`
 * slices (offsets relative to s) are written to out, *count gets the total number of elements
 * (which may exceed max). Returns 0 or -EINVAL (not valid JSON, not an array). */
int sio__json_split_array(const char *s, size_t n, int max_depth, sio__json_slice *out, size_t max,
                          size_t *count);

/* Validates a whole JSON text like sio__json_validate and, when the value is an array, splits it
 * in the same pass: up to `max` element slices (offsets relative to s, with their canon flags)
 * go to elems and *count gets the number of elements (0 for other types). 0 or -EINVAL. */
int sio__json_validate_split(const char *s, size_t n, int max_depth, sio__json_slice *out,
                             sio__json_slice *elems, size_t max, size_t *count);

/* Iterates the elements (or, for objects, the key/value pairs) of an already validated array or
 * object slice. Cheap: it skips values without re-validating them. */
typedef struct sio__json_iter {
  const char *s;
  size_t n;
  size_t pos;
} sio__json_iter;
void sio__json_iter_init(sio__json_iter *it, const char *s, size_t n);
/* Next array element: 1 and *val (relative to s), or 0 at the end. */
int sio__json_iter_next(sio__json_iter *it, sio__json_slice *val);
/* Next object member: 1 with *key (the key's string slice, quotes included) and *val, or 0. */
int sio__json_iter_next_member(sio__json_iter *it, sio__json_slice *key, sio__json_slice *val);

/* Finds `key` (raw bytes, klen) in a validated object slice. Keys are compared after unescaping;
 * when a key appears twice the last one wins (as JSON.parse does). 1 and *val (relative to obj)
 * if found, 0 if not. */
int sio__json_object_get(const char *obj, size_t n, const char *key, size_t klen,
                         sio__json_slice *val);

/* Appends the unescaped contents of a validated string slice (quotes included) to out.
 * `\u0000` yields a NUL byte; an escaped lone surrogate yields U+FFFD (C strings are UTF-8).
 * Returns 0 or -ENOMEM. */
int sio__json_string(const char *s, size_t n, sio__sbuf *out);
/* Compares a validated string slice with raw bytes (after unescaping). 1 if equal, else 0. */
int sio__json_string_eq(const char *s, size_t n, const char *str, size_t len);

/* Reads a validated number slice as a double (strtod semantics, so `1e400` gives HUGE_VAL).
 * Returns 0 or -EINVAL. */
int sio__json_number(const char *s, size_t n, double *out);
/* Reads a validated number slice as an int64 when it is an integer in range (no fraction or
 * exponent). Returns 0 or -ERANGE (fraction, exponent or out of range). */
int sio__json_int64(const char *s, size_t n, int64_t *out);

/* Builds a jansson value from a validated slice. Integers that fit int64 become json_integer,
 * other numbers json_real; strings keep NULs; lone surrogates become U+FFFD; object key order is
 * kept. Returns a new reference or NULL (out of memory). */
json_t *sio__json_to_jansson(const char *s, size_t n);

/* Appends `str` (UTF-8, len bytes) as a JSON string literal, as JSON.stringify writes it: quotes,
 * `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other control bytes as `\u00xx`, everything else raw.
 * Invalid UTF-8 sequences are replaced with U+FFFD so that the output is always valid UTF-8.
 * Returns 0 or -ENOMEM. */
int sio__json_escape(sio__sbuf *out, const char *str, size_t len);

/* Appends a jansson value compactly (JSON.stringify style, key order kept). 0 or -ENOMEM. */
int sio__json_dump_jansson(sio__sbuf *out, const json_t *v);
/* Writes a double as JavaScript's Number#toString (and so JSON.stringify) does: the shortest
 * digits that read back exactly; "null" for NaN and infinities. 0 or -ENOMEM. */
int sio__json_write_number(sio__sbuf *out, double d);

#endif
