/* The msgpack parser's packet codec (no I/O): npm socket.io-msgpack-parser 3.0.2 on notepack.io
 * 2.2 (sio/parser.h). A packet is one msgpack map {type, data, nsp[, id]} carried by one binary
 * Engine.IO message; binary values are msgpack bin inside data.
 *
 * sio keeps packets as the default parser's text (codec.h): a JSON data array whose binary
 * values are {"_placeholder":true,"num":k} objects plus a list of attachments. So:
 * - encoding takes such a text packet (with its attachments) and writes the map Node's server
 *   writes for it (keys in the order socket.io 4.8 sets them; data as notepack.encode of
 *   JSON.parse of it, each placeholder as its attachment's bin), through src/cluster/mp_json;
 * - decoding reads the map as the parser's Decoder.add does (notepack.decode, then
 *   checkPacket) and gives the packet in that text form: data as JSON (JSON.stringify of the
 *   decoded value: a Date as its ISO string, undefined left out of objects and null in
 *   arrays), each bin (and notepack 2's ArrayBuffer extension) as the next placeholder with its
 *   bytes as an attachment, so that the rest of the server handles it as any packet. */
#ifndef SIO_SOCKETIO_MPCODEC_H
#define SIO_SOCKETIO_MPCODEC_H
#include <stddef.h>

#include "cluster/mp_json.h"
#include "core/buf.h"
#include "socketio/codec.h"

/* Appends the msgpack packet for the text packet s[0..n) (what sio__sio_encode_* writes,
 * without the Engine.IO '4') whose attachments are att[0..natt). 0, -EINVAL (not a packet, a
 * placeholder naming no attachment) or -ENOMEM. */
int sio__mpk_encode(sio__sbuf *out, const char *s, size_t n, const sio__mp_bin *att, size_t natt);

/* A decoded packet. packet's slices point into json/nsp; with attachments it is a
 * BINARY_EVENT/BINARY_ACK whose placeholders are att[0..natt) (each its own copy). */
typedef struct sio__mpk_packet {
  sio__sio_packet packet;
  sio__sbuf json; /* data as JSON text (empty when absent) */
  sio__sbuf nsp;
  sio__buf **att;
  unsigned natt;
} sio__mpk_packet;

#define SIO__MPK_IGNORED 1 /* valid for Node's parser, but carries nothing to dispatch */

/* Decodes one msgpack packet as socket.io-msgpack-parser's Decoder does. Returns 0 (a packet
 * to dispatch), SIO__MPK_IGNORED (an EVENT whose data holds no event name sio can dispatch:
 * empty, or a name that is not a string or a number, or a reserved one; Node would emit it to
 * no listener or to its own reserved listeners), -EINVAL (what Node's decoder throws on:
 * invalid msgpack, trailing bytes, not a map, type not an integer in 0..4, nsp not a string,
 * data of the wrong kind for the type, id not an integer; or nesting past lim's depth), or
 * -ENOMEM. On 0 and 1, release out with sio__mpk_packet_free. An id outside [0, 2^53-1] is
 * taken as no id (Node would ack with it; sio's ids are unsigned). */
int sio__mpk_decode(const void *data, size_t n, const sio__sio_limits *lim, sio__mpk_packet *out);
void sio__mpk_packet_free(sio__mpk_packet *p);

#endif
