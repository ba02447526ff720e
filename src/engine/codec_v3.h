/* Engine.IO v3 packet and payload codec (no I/O), for the clients of socket.io-client 2.x that a
 * server accepts with allow_eio3.
 *
 * Packets are the v4 ones (a type digit and data) except for binary: over WebSocket a binary
 * frame starts with its type byte (4 for a message); in a text polling payload a binary message
 * is "b4" followed by its base64. A text payload is a run of "<len>:<packet>" records where len
 * counts UTF-16 code units of the packet (a JavaScript string's length), not bytes; "0:" is the
 * empty payload. A client that supports binary (XHR2) may instead send or receive a binary
 * payload: records of <0 text | 1 binary>, the decimal digits of the length as bytes 0-9, 0xFF,
 * then the packet (text: its UTF-8 bytes; binary: the type byte and the data). */
#ifndef SIO_ENGINE_CODEC_V3_H
#define SIO_ENGINE_CODEC_V3_H
#include <stddef.h>

#include "core/buf.h"
#include "engine/codec.h"

/* Decodes a v3 text packet (a WebSocket text frame): "<type><data>", or "b<type><base64>" for a
 * binary one, decoded into *scratch (its data stays valid until scratch changes). 0, -EINVAL
 * (empty, bad type, bad base64) or -ENOMEM. */
int sio__eio3_decode_text(const char *s, size_t n, sio__sbuf *scratch, sio__eio_packet *out);

/* Decodes a v3 WebSocket binary frame (type byte, then data). 0, or -EINVAL (empty, bad type). */
int sio__eio3_decode_ws_binary(const void *data, size_t n, sio__eio_packet *out);

/* Iterates the packets of a v3 polling payload, text (`binary` 0) or XHR2 binary (`binary` 1).
 * Base64 packets are decoded into the iterator's scratch buffer; a packet's data stays valid
 * until the next call. */
typedef struct sio__eio3_payload_iter {
  const char *s;
  size_t n;
  size_t pos;
  int binary;
  int done;
  sio__sbuf scratch;
} sio__eio3_payload_iter;

void sio__eio3_payload_init(sio__eio3_payload_iter *it, const char *s, size_t n, int binary);
/* 1 and *out: next packet; 0: end; -EINVAL: malformed (an empty payload, a length that is not
 * decimal or runs past the end or splits a UTF-8 sequence, invalid UTF-8 in a text payload, a
 * bad type, bad base64); -ENOMEM. After an error the iterator stays failed: as Node's
 * parser-v3, a malformed record makes the whole payload invalid. */
int sio__eio3_payload_next(sio__eio3_payload_iter *it, sio__eio_packet *out);
void sio__eio3_payload_free(sio__eio3_payload_iter *it);
/* Validates a whole payload: number of packets or -EINVAL. */
long sio__eio3_payload_count(const char *s, size_t n, int binary);

/* Appends one packet as a text-payload record ("<len>:<packet>", binary as "b4<base64>") or, with
 * `binary` 1, as an XHR2 binary-payload record. 0, -EINVAL (text data that is not UTF-8) or
 * -ENOMEM. */
int sio__eio3_encode_record(sio__sbuf *out, const sio__eio_packet *p, int binary);
/* Re-encodes an XHR2 binary payload of text packets only (what a server queued for a client
 * that takes binary) as the text payload Node sends when no packet is binary, into *out
 * (appended). 0, -EINVAL (malformed) or -ENOMEM. */
int sio__eio3_binary_to_text(const char *s, size_t n, sio__sbuf *out);

/* The empty text payload, which a v3 client expects from a poll answered with nothing: "0:". */
#define SIO__EIO3_EMPTY_PAYLOAD "0:"

/* Appends one packet as a v3 WebSocket frame body: text packets as "<type><data>", binary ones
 * as the type byte 4 followed by the data. 0 or -ENOMEM. */
int sio__eio3_encode_ws(sio__sbuf *out, const sio__eio_packet *p);

/* UTF-16 code units of a UTF-8 string (a JavaScript string's length), or -EINVAL when it is not
 * valid UTF-8. */
long sio__eio3_utf16_len(const char *s, size_t n);

#endif
