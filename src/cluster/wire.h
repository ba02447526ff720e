/* What the cluster message codecs share: reading a message that is JSON text or notepack
 * msgpack into one JSON text with slices, and writing JSON the way JSON.stringify does.
 *
 * Node's adapters sniff the first byte: `{` (0x7b) means JSON.parse, anything else notepack's
 * decode. We do the same, and turn a msgpack message into JSON text at once (binaries become
 * placeholders, numbered across the whole message, in a list that points into the input), so
 * that each codec has one shape to read: slices of a validated JSON text. */
#ifndef SIO_CLUSTER_WIRE_H
#define SIO_CLUSTER_WIRE_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/mp_json.h"
#include "core/buf.h"
#include "core/json.h"

/* Errors the codecs return (besides -ENOMEM). */
#define SIO__CLUSTER_EFORMAT  (-EBADMSG) /* neither valid JSON nor one valid msgpack value */
#define SIO__CLUSTER_EFOREIGN (-EPROTO)  /* well formed, but not a message of this protocol */

/* A message wraps packet data (up to the JSON default depth, 128) in a few levels: msgpack
 * messages may nest SIO__MP_MESSAGE_DEPTH deep, their JSON form a few levels more. */
#define SIO__WIRE_JSON_DEPTH (SIO__MP_MESSAGE_DEPTH + 8)

/* A received message as JSON text. */
typedef struct sio__wire {
  const char *text; /* the input (JSON) or own.data (msgpack) */
  size_t len;
  sio__sbuf own;
  sio__mp_bins bins;   /* binaries of a msgpack message */
  sio__json_slice top; /* the whole value */
  int msgpack;         /* 1 if it came as msgpack */
} sio__wire;

/* 0, SIO__CLUSTER_EFORMAT or -ENOMEM. The input must outlive w (slices and bins point in it).
 * Free with sio__wire_free, also after an error. */
int sio__wire_read(sio__wire *w, const void *data, size_t n);
void sio__wire_free(sio__wire *w);
/* sio__wire_read, then the message's "type": an object is required, and in it an integral type
 * in [min, max] (*type), or, if !required, no type at all (*type = -1). Else
 * SIO__CLUSTER_EFOREIGN. */
int sio__wire_read_typed(sio__wire *w, const void *data, size_t n, int64_t min, int64_t max,
                         int required, int *type);

/* The member `key` of the object slice obj (offsets relative to text): 1 and *val (relative to
 * text), or 0 (absent, or obj is no object). */
int sio__wire_get(const char *text, sio__json_slice obj, const char *key, sio__json_slice *val);
/* Same, requiring a type when present: 1 found, 0 absent, -1 present with another type. */
int sio__wire_get_typed(const char *text, sio__json_slice obj, const char *key, sio__json_type type,
                        sio__json_slice *val);
/* A member that is an integral number in [min, max]: 1 and *v, 0 absent, -1 anything else. */
int sio__wire_get_int(const char *text, sio__json_slice obj, const char *key, int64_t min,
                      int64_t max, int64_t *v);
/* 1 if every element of an array slice is a string (or a number: JS rooms may be numbers). */
int sio__wire_rooms_ok(const char *text, sio__json_slice arr);
/* Appends the unescaped string of a string slice, or the text of a number slice. */
int sio__wire_string(const char *text, sio__json_slice s, sio__sbuf *out);

/* The elements of an array slice (strings, or numbers as their text) as C strings: their bytes,
 * each NUL-terminated, appended to store, and a pointer to each appended to ptrs (read it as
 * `const char *const *`, ptrs->len / sizeof(char *) of them; valid until store changes).
 * 0, -EINVAL (an element of another type) or -ENOMEM. */
int sio__wire_strings(const char *text, sio__json_slice arr, sio__sbuf *store, sio__sbuf *ptrs);

/* Writers, as JSON.stringify: */
int sio__wire_put_str(sio__sbuf *out, const char *s); /* a C string as a JSON string */
/* ["a","b"] from n C strings */
int sio__wire_put_strs(sio__sbuf *out, const char *const *v, size_t n);
/* ,"key": (the comma unless first) */
void sio__wire_put_key(sio__sbuf *out, const char *key, int first);

/* Appends what goes on the wire for the JSON text of a whole message: the text itself, or, when
 * the message carries binaries (nbins > 0) or msgpack is asked for, notepack msgpack with each
 * placeholder replaced by its bin. */
int sio__wire_finish(sio__sbuf *out, const sio__sbuf *json, const sio__mp_bin *bins, size_t nbins,
                     int msgpack);

#endif
