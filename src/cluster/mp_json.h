/* Conversions between the JSON text sio keeps and notepack's MessagePack, as Node does them.
 *
 * sio holds a Socket.IO packet's data as JSON text (`["ev",1,{"a":[true]}]`) whose binary
 * attachments are `{"_placeholder":true,"num":N}` objects plus a list of byte strings. A Node
 * server holds the same packet as JS values with Buffers in place, and its Redis adapter writes
 * them with notepack.encode(). So:
 * - JSON -> msgpack is notepack.encode(JSON.parse(text)) with each placeholder replaced by its
 *   attachment as bin (socket.io-parser's reconstructPacket): JSON.parse's numbers (doubles),
 *   its object key order and last-wins keys, notepack's string writer;
 * - msgpack -> JSON is JSON.stringify(notepack.decode(bytes)), or, for packet data,
 *   JSON.stringify of socket.io-parser's deconstructPacket of it: every bin (and ArrayBuffer)
 *   becomes the next placeholder and joins the attachment list (pointing into the input, not
 *   copied); outside packets a bin is written as Buffer#toJSON writes it. Numbers are written
 *   as Number#toString, strings as JSON.stringify (bad UTF-8 replaced as Node's decoder does),
 *   Dates (timestamp extension) as toISOString, undefined is dropped from objects and is null
 *   in arrays, other extensions are `[type, bytes]`.
 *   Map keys may be strings, bins, numbers, booleans or nil (converted as JS does); an array,
 *   map or extension key is refused (-EBADMSG), where notepack would take its String(): it
 *   never writes one, and a Date key's string depends on the server's time zone.
 * Errors: -EINVAL for JSON that is not valid or a placeholder that names no attachment,
 * -EBADMSG for msgpack that is not one well-formed value within the depth limit, -ENOMEM. */
#ifndef SIO_CLUSTER_MP_JSON_H
#define SIO_CLUSTER_MP_JSON_H
#include <stddef.h>
#include <stdint.h>

#include "cluster/msgpack.h"
#include "core/buf.h"

typedef struct sio__mp_bin {
  const void *data;
  size_t len;
} sio__mp_bin;

/* A growable attachment list. */
typedef struct sio__mp_bins {
  sio__mp_bin *v;
  size_t n, cap;
} sio__mp_bins;
int sio__mp_bins_push(sio__mp_bins *b, const void *data, size_t len);
void sio__mp_bins_free(sio__mp_bins *b);
/* Appends n attachments given as the arrays the adapter seam uses (sio/adapter.h). */
int sio__mp_bins_push_all(sio__mp_bins *b, const void *const *att, const size_t *att_len, size_t n);
/* b as those arrays: *att and *att_len allocated (NULL both when b is empty; free them with
 * sio__free, also after an error). 0 or -ENOMEM. */
int sio__mp_bins_arrays(const sio__mp_bins *b, const void ***att, size_t **att_len);

/* Appends the msgpack form of a JSON text (nested at most SIO__MP_MESSAGE_DEPTH deep). bins
 * NULL: placeholders are ordinary objects. */
int sio__mp_from_json(sio__sbuf *out, const char *json, size_t n, const sio__mp_bin *bins,
                      size_t nbins);
/* Appends the JSON text of one msgpack value (a whole buffer, checked first with max_depth, 0
 * for the default). bins NULL: bins are written as Buffers. Undefined on its own gives "null". */
int sio__mp_to_json(sio__sbuf *out, const void *mp, size_t n, sio__mp_bins *bins, int max_depth);
/* Appends JSON.stringify of a JSON text whose placeholders stand for Buffers (bins): each as
 * Buffer#toJSON writes it, {"type":"Buffer","data":[bytes...]}; what Node's JSON messages
 * carry for a Buffer (the classic adapter's serverSideEmit). */
int sio__mp_json_buffers(sio__sbuf *out, const char *json, size_t n, const sio__mp_bin *bins,
                         size_t nbins);
/* Same for the value at r inside a buffer already validated by sio__mp_validate; r moves past
 * it. Returns 1 (writing nothing) when the value is undefined. */
int sio__mp_value_to_json(sio__sbuf *out, sio__mp_reader *r, sio__mp_bins *bins);

/* A Socket.IO packet as Node's adapters put it in msgpack: {type, data, nsp[, id]}. */
typedef struct sio__mp_packet {
  int type;
  int64_t id;        /* -1 when absent */
  sio__sbuf data;    /* JSON text of data, placeholders for bins */
  sio__mp_bins bins; /* point into the msgpack input */
  sio__sbuf nsp;     /* "/" when absent, as the Redis adapter assumes */
} sio__mp_packet;

/* Appends {type:2, data, nsp} (nsp NULL: without nsp, as the ClusterAdapter publishes it).
 * bins NULL: a plain EVENT, whose data holds no placeholders. */
int sio__mp_put_event(sio__sbuf *out, const char *data, size_t len, const sio__mp_bin *bins,
                      size_t nbins, const char *nsp, size_t nsp_len);
/* Reads the packet map at r (inside a validated buffer). 0, -EBADMSG when it is no packet
 * (type not an integer, no data, nsp not a string), -ENOMEM. Free with sio__mp_packet_free. */
int sio__mp_get_packet(sio__mp_reader *r, sio__mp_packet *p);
void sio__mp_packet_free(sio__mp_packet *p);

/* Appends a Date's JSON form (toISOString in quotes, or null when invalid). */
int sio__mp_json_date(sio__sbuf *out, double ms);

#endif
