/* MessagePack as notepack.io 3.0.1 writes and reads it: the wire format of Node's Redis adapter
 * (@socket.io/redis-adapter 8.3) and of the ClusterAdapter messages that carry binary data.
 *
 * Our own code, not msgpack-c (libmsgpack-dev is installed but not linked), because:
 * - byte compatibility is decided by notepack's rules, not by msgpack's: a JS number that is an
 *   integer takes the smallest int form, everything else float64 (never float32), -0 is 0x00,
 *   integers past 2^64 wrap as `>> 0` / `>>> 0` do in JS, undefined is nil, a Date is the
 *   timestamp extension. msgpack-c's packer would need all of that wrapped around it anyway;
 * - the decoder must be strict and bounded on input from the network: msgpack-c's unpacker
 *   allocates a container's elements before reading them (a 5-byte `dd ffffffff` asks for
 *   96 GB), builds a tree in its own zone allocator (outside sio__malloc and the fault tests),
 *   and copies what we want to slice. The reader here allocates nothing: each item is a view
 *   into the input, a container's count is checked against the bytes left (each element takes
 *   at least one), and skipping or validating a value walks it with a counter, not recursion;
 * - the whole format is some 200 lines, with a fuzz target (fuzz/cluster/fuzz_msgpack.c);
 *   msgpack-c still serves, in tests/unit/cluster/test_msgpack_c.c, as an independent oracle
 *   (same bytes wherever both pick the smallest form, each reads what the other writes), and
 *   tests/unit/cluster/test_notepack_diff.c compares our conversions with notepack.io itself
 *   (node_modules) on thousands of random values and mutated encodings.
 *
 * Writers append to a sio__sbuf (whose oom flag makes later appends no-ops; they return 0 or
 * -ENOMEM). Readers return 0 or -EBADMSG (truncated input, the never-used byte 0xc1, a length
 * past the end). */
#ifndef SIO_CLUSTER_MSGPACK_H
#define SIO_CLUSTER_MSGPACK_H
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SIO__MP_DEFAULT_DEPTH 128 /* nesting limit used when 0 is passed (as for JSON) */
#define SIO__MP_MAX_DEPTH     512 /* hard cap */
/* What the JSON -> msgpack conversion accepts and cluster messages may nest: packet data at
 * the default depth inside a message's few levels. */
#define SIO__MP_MESSAGE_DEPTH (SIO__MP_DEFAULT_DEPTH + 8)

/* ---- writing, as notepack.encode() ---- */

int sio__mp_put_nil(sio__sbuf *out); /* also what notepack 3 writes for undefined */
int sio__mp_put_bool(sio__sbuf *out, int v);
/* A JS number: an integer value takes the smallest of fixint, uint 8/16/32/64 (0 and up, -0
 * included) or negative fixint, int 8/16/32/64; a fraction, NaN or an infinity is float 64. */
int sio__mp_put_number(sio__sbuf *out, double v);
/* A string already in UTF-8: fixstr, str 8, str 16 or str 32 by its byte length. */
int sio__mp_put_str(sio__sbuf *out, const char *s, size_t len);
int sio__mp_put_str_header(sio__sbuf *out, size_t len);
/* A Buffer (or, since notepack 3, an ArrayBuffer or typed array): bin 8, 16 or 32. */
int sio__mp_put_bin(sio__sbuf *out, const void *data, size_t len);
int sio__mp_put_array(sio__sbuf *out, size_t count); /* fixarray, array 16, array 32 */
int sio__mp_put_map(sio__sbuf *out, size_t pairs);   /* fixmap, map 16, map 32 */
/* A Date (milliseconds since the epoch) as the timestamp extension (type -1): timestamp 32 when
 * it falls on a whole second in [0, 2^32), timestamp 64 when its seconds fit 34 bits, else
 * timestamp 96. -EINVAL for NaN or an infinity (an invalid Date). */
int sio__mp_put_date(sio__sbuf *out, double ms);

/* ---- reading ---- */

typedef enum sio__mp_type {
  SIO__MP_NIL = 1,
  SIO__MP_BOOL,
  SIO__MP_UINT,  /* v.u: positive fixint, uint 8/16/32/64 */
  SIO__MP_INT,   /* v.i: negative fixint, int 8/16/32/64 (may be >= 0) */
  SIO__MP_FLOAT, /* v.f: float 32 (f32 = 1) or float 64 */
  SIO__MP_STR,   /* ptr, len: raw bytes, not checked for UTF-8 (Node replaces bad ones) */
  SIO__MP_BIN,   /* ptr, len */
  SIO__MP_ARRAY, /* len elements follow */
  SIO__MP_MAP,   /* len key/value pairs follow */
  SIO__MP_EXT,   /* ext_type, ptr, len: fixext 1-16, ext 8/16/32 */
} sio__mp_type;

typedef struct sio__mp_item {
  sio__mp_type type;
  int8_t ext_type;
  uint8_t f32; /* FLOAT: it came as float 32 */
  uint8_t tag; /* the first byte (EXT: which of fixext 1-16 0xd4-0xd8, ext 8/16/32 0xc7-0xc9) */
  uint32_t len;
  const uint8_t *ptr;
  union {
    uint64_t u;
    int64_t i;
    double f;
    int b;
  } v;
} sio__mp_item;

typedef struct sio__mp_reader {
  const uint8_t *p;
  const uint8_t *end;
} sio__mp_reader;

static inline void sio__mp_reader_init(sio__mp_reader *r, const void *data, size_t n) {
  r->p = (const uint8_t *)data;
  r->end = r->p + n;
}
static inline size_t sio__mp_left(const sio__mp_reader *r) {
  return (size_t)(r->end - r->p);
}

/* Reads one item: a scalar whole, a string/bin/ext with its payload, a container's header
 * (its elements are the next items). A count larger than the bytes left is refused. */
int sio__mp_next(sio__mp_reader *r, sio__mp_item *it);
/* Skips one whole value, containers included, without recursion. */
int sio__mp_skip(sio__mp_reader *r);
/* 0 when data is exactly one well-formed value nested at most max_depth deep (0: the default;
 * containers count, scalars don't), else -EBADMSG. Run it before walking a value recursively. */
int sio__mp_validate(const void *data, size_t n, int max_depth);

/* The JS number notepack decodes from a UINT, INT or FLOAT item (64-bit integers through
 * doubles: hi * 2^32 + lo, rounded as JS rounds it). */
double sio__mp_number(const sio__mp_item *it);
/* The milliseconds of a Date as notepack decodes it: the timestamp extension (type -1) as
 * fixext 4, fixext 8 or ext 8 (whose payload notepack takes as 12 bytes whatever the length
 * byte says, and so does our reader), or notepack 2's fixext 8 type 0. 0 and *ms, or -EINVAL
 * for any other extension. */
int sio__mp_ext_date(const sio__mp_item *it, double *ms);

#endif
