/* Engine.IO v4 packet and payload codec (no I/O).
 *
 * A packet is a type digit followed by data: 0 open, 1 close, 2 ping, 3 pong, 4 message,
 * 5 upgrade, 6 noop. Over WebSocket each frame carries one packet; a binary frame is a binary
 * message (no type byte). Over HTTP long-polling a payload carries several packets separated by
 * the record separator \x1e; a binary message is written as 'b' followed by its base64. */
#ifndef SIO_ENGINE_CODEC_H
#define SIO_ENGINE_CODEC_H
#include <stddef.h>

#include "core/buf.h"

#define SIO__EIO_SEP '\x1e'

typedef enum sio__eio_type {
  SIO__EIO_OPEN = 0,
  SIO__EIO_CLOSE = 1,
  SIO__EIO_PING = 2,
  SIO__EIO_PONG = 3,
  SIO__EIO_MESSAGE = 4,
  SIO__EIO_UPGRADE = 5,
  SIO__EIO_NOOP = 6,
} sio__eio_type;

typedef struct sio__eio_packet {
  sio__eio_type type;
  int binary;       /* 1: a binary message (type is SIO__EIO_MESSAGE) */
  const char *data; /* the packet's data (after the type digit), not NUL-terminated */
  size_t len;
} sio__eio_packet;

/* Decodes one text packet (a WebSocket text frame). 0, or -EINVAL (empty, bad type digit). */
int sio__eio_decode_text(const char *s, size_t n, sio__eio_packet *out);

/* Iterates the packets of a polling payload. Binary packets are base64-decoded into the
 * iterator's scratch buffer; their data stays valid until the next call. */
typedef struct sio__eio_payload_iter {
  const char *s;
  size_t n;
  size_t pos;
  int done;
  sio__sbuf scratch;
} sio__eio_payload_iter;

void sio__eio_payload_init(sio__eio_payload_iter *it, const char *s, size_t n);
/* 1 and *out: next packet; 0: end; -EINVAL: malformed (an empty payload or packet, a bad type
 * digit, bad base64); -ENOMEM. After an error the iterator stays failed. */
int sio__eio_payload_next(sio__eio_payload_iter *it, sio__eio_packet *out);
void sio__eio_payload_free(sio__eio_payload_iter *it);
/* Validates a whole payload without keeping packets: number of packets or -EINVAL. */
long sio__eio_payload_count(const char *s, size_t n);

/* Appends one packet as it travels over WebSocket text or in a payload (with `sep` true a \x1e
 * is written first). Binary messages become 'b'+base64 (polling only). 0 or -ENOMEM. */
int sio__eio_encode_packet(sio__sbuf *out, const sio__eio_packet *p, int sep);
/* Same for a message whose data is in a buffer. */
int sio__eio_encode_message(sio__sbuf *out, const void *data, size_t len, int binary, int sep);

/* The open packet: 0{"sid":"…","upgrades":[…],"pingInterval":N,"pingTimeout":N,"maxPayload":N}
 * with exactly these keys in this order. 0 or -ENOMEM. */
int sio__eio_encode_open(sio__sbuf *out, const char *sid, const char *const *upgrades,
                         size_t nupgrades, unsigned ping_interval, unsigned ping_timeout,
                         unsigned long long max_payload);
/* What follows the sid in the open packet ("\",\"upgrades\":[…],…}"): it depends on the options
 * only, so a server encodes it once and sends 0{"sid":" + sid + this. 0 or -ENOMEM. */
int sio__eio_encode_open_tail(sio__sbuf *out, const char *const *upgrades, size_t nupgrades,
                              unsigned ping_interval, unsigned ping_timeout,
                              unsigned long long max_payload);

/* Engine.IO HTTP error codes and their JSON bodies, as Node's engine.io writes them. */
typedef enum sio__eio_error {
  SIO__EIO_ERR_UNKNOWN_TRANSPORT = 0,
  SIO__EIO_ERR_UNKNOWN_SID = 1,
  SIO__EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
  SIO__EIO_ERR_BAD_REQUEST = 3,
  SIO__EIO_ERR_FORBIDDEN = 4,
  SIO__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
} sio__eio_error;
const char *sio__eio_error_message(sio__eio_error code);
/* {"code":N,"message":"…"} (a static string). */
const char *sio__eio_error_json(sio__eio_error code);

#endif
