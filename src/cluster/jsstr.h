/* The JavaScript string and object rules that decide bytes when a value crosses between JSON
 * text and notepack's MessagePack, so that sio writes what a Node server would.
 *
 * - Strings: Node turns msgpack str bytes into a JS string with the WHATWG UTF-8 decoder (each
 *   maximal ill-formed subpart becomes one U+FFFD); notepack turns a JS string into bytes with
 *   its own utf8Write, which pairs a lone surrogate with whatever unit follows it, or with
 *   Buffer's writer (lone surrogate -> U+FFFD), by rules spelled out in jsstr.c. Only escaped
 *   lone surrogates (`\ud800`) in JSON text reach these quirks.
 * - Objects: a JS object lists its array-index keys ("0" .. "4294967294") first, ascending,
 *   then the other keys in first-insertion order; a repeated key keeps its first place and its
 *   last value. notepack's decoder assigns `obj[key] = v`, so a "__proto__" key never becomes an
 *   own property there (JSON.parse, by contrast, keeps it). */
#ifndef SIO_CLUSTER_JSSTR_H
#define SIO_CLUSTER_JSSTR_H
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Appends bytes as the WHATWG decoder reads them: valid UTF-8 copied, each ill-formed subpart
 * replaced by EF BF BD. 0 or -ENOMEM. */
int sio__js_utf8_sanitize(sio__sbuf *out, const void *bytes, size_t len);
/* 1 if bytes are valid UTF-8 (no surrogates, no overlongs, at most U+10FFFF). */
int sio__js_utf8_valid(const void *bytes, size_t len);

/* Appends a validated JSON string slice (quotes included) as notepack writes that JS string as
 * a msgpack str, header included: as an object key when key is set (keys go through notepack's
 * key cache, whose writer differs for strings with lone surrogates; past 1024 distinct keys in
 * a process notepack stops caching, and writes new keys as values: we keep the cached form).
 * 0 or -ENOMEM. */
int sio__js_put_json_string(sio__sbuf *out, const char *s, size_t n, int key);
/* Appends the key form of a validated JSON string slice: its code units as generalized UTF-8
 * (a lone surrogate as its own 3 bytes), so that equal JS strings give equal bytes. */
int sio__js_json_key(sio__sbuf *out, const char *s, size_t n);

/* One member of an object being written: key bytes (in a caller's buffer) and a handle on the
 * value (an offset the caller understands). */
typedef struct sio__js_member {
  size_t key_off, key_len;
  size_t value;
  size_t first; /* input position, for insertion order */
} sio__js_member;

/* Puts members into the order of the JS object built from them (see above), drops repeated
 * keys (first place, last value) and, if drop_proto, "__proto__". Returns the new count. */
size_t sio__js_order_members(sio__js_member *m, size_t n, const char *keys, int drop_proto);

#endif
