/* Socket.IO v5 packet codec (no I/O).
 *
 * A packet travels as the data of an Engine.IO message:
 *   <type digit>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
 * types 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.
 * The namespace is written only when it is not "/"; `40/custom` (no comma, no payload) is
 * accepted. Binary packets (5, 6) announce n attachments, which follow as n binary Engine.IO
 * messages; the JSON holds placeholders {"_placeholder":true,"num":k} where they belong.
 *
 * The decoder validates the JSON with the core scanner and keeps slices into the input: nothing
 * is copied or unescaped. The encoder writes a whole packet (optionally with the Engine.IO
 * message prefix '4') into one buffer from raw JSON argument slices, so that a packet sent to
 * many recipients is encoded once. */
#ifndef SIO_SOCKETIO_CODEC_H
#define SIO_SOCKETIO_CODEC_H
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"

typedef enum sio__sio_type {
  SIO__SIO_CONNECT = 0,
  SIO__SIO_DISCONNECT = 1,
  SIO__SIO_EVENT = 2,
  SIO__SIO_ACK = 3,
  SIO__SIO_CONNECT_ERROR = 4,
  SIO__SIO_BINARY_EVENT = 5,
  SIO__SIO_BINARY_ACK = 6,
} sio__sio_type;

#define SIO__SIO_NO_ID                   UINT64_MAX
#define SIO__SIO_MAX_ID                  9007199254740991ULL /* 2^53-1: what a JS client can hold */
#define SIO__SIO_DEFAULT_MAX_ATTACHMENTS 10
#define SIO__SIO_ELEMS                   8 /* array elements a decoded packet keeps the slices of */

typedef struct sio__sio_limits {
  int max_depth;            /* JSON nesting; 0: SIO__JSON_DEFAULT_DEPTH */
  unsigned max_attachments; /* 0: SIO__SIO_DEFAULT_MAX_ATTACHMENTS */
} sio__sio_limits;

typedef struct sio__sio_packet {
  sio__sio_type type;
  unsigned attachments; /* binary types only */
  const char *nsp;      /* "/" when absent; points into the input otherwise */
  size_t nsp_len;
  uint64_t id;      /* SIO__SIO_NO_ID when absent */
  const char *data; /* the JSON payload (validated), NULL when absent */
  size_t data_len;
  sio__json_type data_type;
  /* an array payload's elements, split while it was validated (no second scan): the first
   * min(nelem, SIO__SIO_ELEMS) slices, offsets relative to data, with their canon flags */
  size_t nelem;
  sio__json_slice elem[SIO__SIO_ELEMS];
} sio__sio_packet;

/* Decodes a text packet. Validity as the reference parser enforces it: CONNECT payload (if any)
 * an object; DISCONNECT no payload; EVENT/BINARY_EVENT an array whose first element is a number
 * or a string other than the reserved names (connect, connect_error, disconnect, disconnecting,
 * newListener, removeListener); ACK/BINARY_ACK an array; CONNECT_ERROR an object or a string;
 * EVENT and ACK must carry a payload. Returns 0 or -EINVAL. */
int sio__sio_decode(const char *s, size_t n, const sio__sio_limits *lim, sio__sio_packet *out);
/* Whether an event's first element (a slice of the payload s) is an event name: a number, or a
 * string other than the reserved names. */
int sio__sio_event_name_ok(const char *s, const sio__json_slice *first);

/* --- binary reconstruction ---------------------------------------------------------------- */

/* A placeholder found in a binary packet's JSON: the object's slice (relative to the payload)
 * and the attachment it stands for. */
typedef struct sio__sio_placeholder {
  size_t off;
  size_t len;
  unsigned num;
} sio__sio_placeholder;

/* Finds every placeholder object ({"_placeholder":true,"num":k}, any key order, at any depth)
 * in a validated JSON payload, in document order. Each num must be an integer in
 * [0, attachments): otherwise -EINVAL. Writes up to `max` entries, *count gets the total. */
int sio__sio_find_placeholders(const char *json, size_t n, unsigned attachments,
                               sio__sio_placeholder *out, size_t max, size_t *count);
/* Whether a validated slice is a placeholder object; *num gets its num (-1 if invalid). */
int sio__sio_is_placeholder(const char *s, size_t n, long *num);

/* Collects the attachments of a binary packet: feed the decoded header packet, then each
 * binary Engine.IO message until complete. Owns copies of the header text and attachments. */
typedef struct sio__sio_reassembly {
  sio__sio_packet packet; /* slices point into `text` */
  char *text;
  size_t text_len;
  sio__buf **bufs; /* attachments[0..received) */
  unsigned received;
} sio__sio_reassembly;

/* Starts collecting for a decoded binary packet whose text is s[0..n) (copied).
 * Placeholders are checked against the attachment count here. 0, -EINVAL or -ENOMEM. */
int sio__sio_reassembly_start(sio__sio_reassembly *r, const char *s, size_t n,
                              const sio__sio_limits *lim);
/* Adds one attachment (copied). Returns 1 when the packet is complete, 0 if more are
 * expected, -ENOMEM. */
int sio__sio_reassembly_add(sio__sio_reassembly *r, const void *data, size_t len);
static inline int sio__sio_reassembly_active(const sio__sio_reassembly *r) {
  return r->text != NULL;
}
static inline int sio__sio_reassembly_complete(const sio__sio_reassembly *r) {
  return r->text != NULL && r->received == r->packet.attachments;
}
void sio__sio_reassembly_free(sio__sio_reassembly *r);

/* --- encoding ----------------------------------------------------------------------------- */

#define SIO__SIO_ENC_EIO 1 /* prefix the Engine.IO message type '4' */

/* Writes the packet header: [4]<type>[<attachments>-][<nsp>,][<id>]. nsp NULL or "/" is the
 * main namespace (not written); id SIO__SIO_NO_ID for none. Then append the JSON payload. */
int sio__sio_encode_header(sio__sbuf *out, int flags, sio__sio_type type, unsigned attachments,
                           const char *nsp, size_t nsp_len, uint64_t id);
/* A whole packet whose payload is a JSON array made of raw JSON values args[i] (lens[i] bytes
 * each), optionally preceded by the event name (escaped as a JSON string; NULL for none).
 * E.g. EVENT "/" no id → `2["name",a,b]`. 0 or -ENOMEM. */
int sio__sio_encode_array(sio__sbuf *out, int flags, sio__sio_type type, unsigned attachments,
                          const char *nsp, size_t nsp_len, uint64_t id, const char *event,
                          size_t event_len, const char *const *args, const size_t *lens,
                          size_t nargs);
/* Same, into a new shared buffer (refs = 1) or NULL. */
sio__buf *sio__sio_encode_array_buf(int flags, sio__sio_type type, unsigned attachments,
                                    const char *nsp, size_t nsp_len, uint64_t id, const char *event,
                                    size_t event_len, const char *const *args, const size_t *lens,
                                    size_t nargs);
/* A packet with one raw JSON payload (CONNECT `{"sid":…}`, CONNECT_ERROR, …) or none
 * (payload NULL). */
int sio__sio_encode_raw(sio__sbuf *out, int flags, sio__sio_type type, const char *nsp,
                        size_t nsp_len, const char *payload, size_t payload_len);
/* Appends a placeholder object {"_placeholder":true,"num":k}. */
int sio__sio_encode_placeholder(sio__sbuf *out, unsigned num);

#endif
