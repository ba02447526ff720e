/* The WebSocket codec, without I/O (RFC 6455, RFC 7692): everything here works on byte
 * slices so that unit tests and fuzz targets drive it directly.
 *
 * - UTF-8: an incremental validator (a DFA over byte classes) whose state carries across
 *   fragments, so a sequence split at any byte is accepted and a bad byte fails at once.
 * - The reader: an incremental frame parser plus message assembly. It is fed whatever bytes
 *   arrived (any split), unmasks in place, checks every framing rule and hands out whole
 *   messages and control frames. A message that arrives whole in one read is handed out
 *   straight from the caller's buffer (no copy); only partial frames and fragmented or
 *   compressed messages are kept in per-reader memory. Errors come back as the close code the
 *   connection must fail with (1002, 1007, 1009, 1011).
 * - The encoder: server frames (never masked). The header is written in the headroom just
 *   before the payload, so one refcounted buffer can be sent to many connections.
 * - Close payloads: validation of received ones, encoding of ours.
 * - Handshake: request checks, Sec-WebSocket-Accept, subprotocol choice, and the
 *   permessage-deflate negotiation (all four parameters, window bits 8..15).
 * - permessage-deflate streams: zlib state is created only when negotiated, through
 *   sio__zalloc/sio__zfree. */
#ifndef SIO_WS_CODEC_H
#define SIO_WS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
  SIO__WS_OP_CONT = 0x0,
  SIO__WS_OP_TEXT = 0x1,
  SIO__WS_OP_BINARY = 0x2,
  SIO__WS_OP_CLOSE = 0x8,
  SIO__WS_OP_PING = 0x9,
  SIO__WS_OP_PONG = 0xA
};

enum {
  SIO__WS_CLOSE_NORMAL = 1000,
  SIO__WS_CLOSE_GOING_AWAY = 1001,
  SIO__WS_CLOSE_PROTOCOL = 1002,
  SIO__WS_CLOSE_UNSUPPORTED = 1003,
  SIO__WS_CLOSE_NO_STATUS = 1005,
  SIO__WS_CLOSE_ABNORMAL = 1006,
  SIO__WS_CLOSE_INVALID_DATA = 1007,
  SIO__WS_CLOSE_POLICY = 1008,
  SIO__WS_CLOSE_TOO_BIG = 1009,
  SIO__WS_CLOSE_INTERNAL = 1011,
  SIO__WS_CLOSE_TRY_AGAIN = 1013 /* sent past the connection cap; never accepted from a peer */
};

/* --- UTF-8 ------------------------------------------------------------------------------- */
#define SIO__UTF8_ACCEPT 0
#define SIO__UTF8_REJECT 8
/* Advances the validator over s; returns the new state (SIO__UTF8_REJECT once invalid, which
 * is sticky). A complete text is valid when the final state is SIO__UTF8_ACCEPT. */
uint32_t sio__utf8_step(uint32_t state, const uint8_t *s, size_t n);
static inline int sio__utf8_valid(const void *s, size_t n) {
  return sio__utf8_step(SIO__UTF8_ACCEPT, (const uint8_t *)s, n) == SIO__UTF8_ACCEPT;
}

/* --- masking ----------------------------------------------------------------------------- */
/* XORs data with the key starting at key position *pos (0..3), word at a time (any alignment,
 * any split); updates *pos. */
void sio__ws_unmask(uint8_t *data, size_t n, const uint8_t key[4], uint32_t *pos);

/* --- close payloads ---------------------------------------------------------------------- */
/* 1 if a peer may send this code in a close frame. */
int sio__ws_close_code_valid(unsigned code);
/* Validates a received close payload. On success returns 0 with *code (1005 when empty) and the
 * reason slice; else the close code to fail with (1002). */
int sio__ws_close_parse(const uint8_t *p, size_t n, unsigned *code, const char **reason,
                        size_t *reason_len);

/* --- permessage-deflate ------------------------------------------------------------------ */
typedef struct sio__ws_pmd_params {
  uint8_t server_no_context_takeover;
  uint8_t client_no_context_takeover;
  uint8_t server_max_window_bits; /* 8..15; 15 when the offer did not limit it */
  uint8_t client_max_window_bits; /* 0: not in the response; else 8..15 */
  uint8_t say_server_bits;        /* put server_max_window_bits in the response */
} sio__ws_pmd_params;

typedef struct sio__ws_pmd_opts {
  int enabled;
  int server_no_context_takeover; /* ask for it even if the client did not */
  uint8_t server_max_window_bits; /* 0: 15; the most we use (9..15) */
  uint8_t mem_level;              /* 0: 8 (zlib's 1..9) */
} sio__ws_pmd_opts;

/* Picks the first acceptable permessage-deflate offer from a Sec-WebSocket-Extensions value
 * (several header lines joined with ", "). Returns 1 with *out filled, 0 when none is
 * acceptable (the connection goes on without compression). Offers with unknown or repeated
 * parameters, bad values, or server_max_window_bits=8 (zlib cannot deflate with 256 bytes of
 * window) are declined. */
int sio__ws_pmd_negotiate(const char *header, const sio__ws_pmd_opts *opts,
                          sio__ws_pmd_params *out);
/* Appends the response value ("permessage-deflate; ...") to s. */
int sio__ws_pmd_format(sio__sbuf *s, const sio__ws_pmd_params *p);

/* --- the reader -------------------------------------------------------------------------- */
typedef struct sio__ws_reader_cb {
  /* A whole data message. data is writable and valid only during the call. Return 0 to go on,
   * or a negative value to stop the reader at once (it returns that value). */
  int (*on_message)(void *user, int binary, char *data, size_t len);
  /* A ping, pong or (already validated) close frame. For a close, code is 1005 when the
   * payload was empty and data/len is the reason; otherwise code is 0 and data/len the payload.
   * Same return convention. */
  int (*on_control)(void *user, int opcode, unsigned code, char *data, size_t len);
} sio__ws_reader_cb;

typedef struct sio__ws_inflater sio__ws_inflater;

typedef struct sio__ws_reader {
  /* (fields ordered by size: this sits in every open WebSocket) */
  /* frame header being gathered */
  uint8_t hdr[14];
  uint8_t hdr_len;
  uint8_t opcode; /* of the current frame */
  uint8_t fin;
  uint8_t in_payload; /* header done, payload bytes outstanding */
  uint8_t mask[4];
  uint8_t ctl_len;
  /* configuration */
  uint8_t require_mask; /* 1 on a server */
  /* message being assembled */
  uint8_t msg_opcode; /* 0: none open; else TEXT or BINARY */
  uint8_t msg_compressed;
  uint16_t failed; /* sticky: the close code returned */
  uint32_t mask_pos;
  uint32_t utf8;               /* validator state of the open text message */
  uint8_t started;             /* some of the current frame's payload was passed on already */
  uint8_t masked;              /* the current frame is masked (with mask) */
  uint64_t remaining;          /* payload bytes of the current frame still to come */
  uint64_t msg_raw;            /* payload bytes received for the open message */
  sio__sbuf *msg;              /* assembled (or inflated) message, allocated only while needed */
  uint8_t *ctl;                /* a control payload split across reads (125 bytes, on demand) */
  size_t max_message;          /* 0: unlimited */
  sio__ws_inflater *inflater;  /* non-NULL when permessage-deflate was negotiated */
  const sio__ws_reader_cb *cb; /* the caller's; must outlive the reader */
  void *user;
} sio__ws_reader;

void sio__ws_reader_init(sio__ws_reader *r, size_t max_message, const sio__ws_reader_cb *cb,
                         void *user);
/* Enables permessage-deflate on the receive side. 0 or -ENOMEM. */
int sio__ws_reader_enable_deflate(sio__ws_reader *r, const sio__ws_pmd_params *p);
/* Feeds bytes (unmasked in place). Returns 0 when all were consumed, a positive close code when
 * the connection must fail (sticky), or the negative value a callback returned to stop. */
int sio__ws_reader_feed(sio__ws_reader *r, char *data, size_t len);
void sio__ws_reader_free(sio__ws_reader *r);

/* --- the encoder ------------------------------------------------------------------------- */
/* Room to leave in front of a payload for the longest server header. */
#define SIO__WS_HEADROOM 10
/* Header length for a payload of len bytes. */
static inline size_t sio__ws_header_len(uint64_t len) {
  return len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
}
/* Writes a server frame header (FIN set, unmasked) into out (>= 10 bytes); returns its length.
 * Inline: a batch of small frames writes one per frame. */
static inline size_t sio__ws_header_write(uint8_t *o, int opcode, int rsv1, uint64_t len) {
  o[0] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
  if (len < 126) {
    o[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xFFFF) {
    o[1] = 126;
    o[2] = (uint8_t)(len >> 8);
    o[3] = (uint8_t)len;
    return 4;
  }
  o[1] = 127;
  for (int i = 0; i < 8; i++) o[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}
/* b holds SIO__WS_HEADROOM bytes of headroom then the payload (up to b->len). Writes the
 * header right before the payload and returns the frame's offset in b: the frame is
 * b->data[off .. b->len). */
size_t sio__ws_frame_prepare(sio__buf *b, int opcode);
/* One frame in a new buffer (payload copied); NULL on allocation failure. *off receives the
 * frame's offset. */
sio__buf *sio__ws_frame_new(int opcode, int rsv1, const void *payload, size_t len, size_t *off);
/* A close frame (code 0: no payload); reason truncated to fit 125 bytes. */
sio__buf *sio__ws_close_frame_new(unsigned code, const char *reason, size_t reason_len,
                                  size_t *off);

/* --- the deflater (send side) ------------------------------------------------------------ */
typedef struct sio__ws_deflater sio__ws_deflater;
sio__ws_deflater *sio__ws_deflater_new(const sio__ws_pmd_params *p, int mem_level);
/* Compresses one message into a new frame (RSV1 set). NULL on failure. */
sio__buf *sio__ws_deflate_frame(sio__ws_deflater *d, int opcode, const void *data, size_t len,
                                size_t *off);
void sio__ws_deflater_free(sio__ws_deflater *d);

/* --- the inflater (receive side) --------------------------------------------------------- */
sio__ws_inflater *sio__ws_inflater_new(const sio__ws_pmd_params *p);
/* Inflates n bytes, appending to out; limit (0: none) bounds out->len. Returns 0, or the close
 * code: 1009 past the limit, 1007 for corrupt data, 1011 when memory ran out. */
int sio__ws_inflate(sio__ws_inflater *f, const uint8_t *in, size_t n, sio__sbuf *out, size_t limit);
/* Ends a message (the 00 00 FF FF tail of RFC 7692 7.2.2); resets without context takeover. */
int sio__ws_inflate_end(sio__ws_inflater *f, sio__sbuf *out, size_t limit);
void sio__ws_inflater_free(sio__ws_inflater *f);

/* --- handshake --------------------------------------------------------------------------- */
typedef struct sio__ws_handshake_in {
  const char *method;  /* "GET" */
  int http_minor;      /* 1 required */
  const char *upgrade; /* header values, NULL when absent */
  const char *connection;
  const char *version;
  const char *key;
  const char *protocols;  /* Sec-WebSocket-Protocol (lines joined with ", ") */
  const char *extensions; /* Sec-WebSocket-Extensions (lines joined with ", ") */
} sio__ws_handshake_in;

typedef struct sio__ws_handshake_out {
  int status;           /* 101, or the HTTP error status (400, 426) */
  const char *error;    /* reason for an error status */
  char accept[29];      /* Sec-WebSocket-Accept (NUL-terminated) */
  const char *protocol; /* chosen subprotocol (one of the server's strings) or NULL */
  int deflate;          /* permessage-deflate accepted with pmd */
  sio__ws_pmd_params pmd;
} sio__ws_handshake_out;

/* Checks the request; fills out. protocols: the server's subprotocols (NULL-terminated list,
 * or NULL). Returns 0 when the upgrade may go ahead (status 101), else the status. */
int sio__ws_handshake(const sio__ws_handshake_in *in, const char *const *protocols,
                      const sio__ws_pmd_opts *pmd, sio__ws_handshake_out *out);
/* Computes Sec-WebSocket-Accept for a key (28 chars + NUL). */
void sio__ws_accept_key(const char *key, size_t key_len, char out[29]);
/* The 101 response head. */
int sio__ws_handshake_response(sio__sbuf *s, const sio__ws_handshake_out *out);
/* 1 if the comma-separated token list contains token (case-insensitive). */
int sio__ws_token_list_has(const char *list, const char *token);

#endif
