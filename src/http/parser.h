/* Incremental, zero-copy HTTP/1.1 request parser (RFC 9112).
 *
 * The head (request line + header fields) is parsed from a buffer the caller keeps stable
 * across calls: the caller passes the whole head received so far (buf[0..len)), either in the
 * loop-wide read buffer or in its own accumulation buffer, and the parser resumes where it
 * stopped (p->scan) without rescanning. Results are spans (offset, length) into that buffer,
 * so they stay right whichever buffer holds the bytes.
 *
 * The body is decoded from any later bytes with sio__http_body(), which hands back slices of
 * the input (zero-copy), including the data of each chunk of a chunked body; chunk extensions
 * and trailer fields are validated and skipped.
 *
 * Errors set p->status (400, 413, 414, 417, 431, 501, 505) and p->reason (a short text for the
 * response body); the connection must then be answered with that status and closed. */
#ifndef SIO_HTTP_PARSER_H
#define SIO_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIO__HTTP_MAX_HEADERS 100

typedef struct sio__span {
  uint32_t off, len;
} sio__span;

typedef struct sio__http_header {
  sio__span name, value;
} sio__http_header;

enum sio__http_body_kind { SIO__BODY_NONE = 0, SIO__BODY_LENGTH, SIO__BODY_CHUNKED };

typedef struct sio__http_parser {
  /* limits (set by sio__http_parser_init, may be changed before parsing) */
  uint32_t max_head; /* request line + headers, bytes (431 past it) */
  uint32_t max_line; /* request line, bytes (414 past it) */
  uint64_t max_body; /* decoded body, bytes (413 past it) */

  /* head state */
  uint32_t scan;       /* next byte of buf to look at */
  uint32_t line_start; /* start of the line being scanned */
  uint8_t head_state;  /* 0 request line, 1 headers, 2 done */

  /* results */
  sio__span method, target;
  int minor; /* 0 or 1 */
  uint16_t n_headers;
  sio__http_header headers[SIO__HTTP_MAX_HEADERS];
  uint8_t body_kind;
  uint64_t content_length;
  unsigned keep_alive : 1, expect_continue : 1, upgrade : 1, conn_upgrade : 1;

  /* body state */
  uint64_t remaining;  /* bytes left in the body (LENGTH) or current chunk (CHUNKED) */
  uint64_t body_total; /* decoded body bytes so far */
  uint8_t chunk_state;
  uint8_t chunk_digits;
  uint32_t trailer_bytes;
  unsigned body_done : 1;

  /* error */
  int status;
  const char *reason;
} sio__http_parser;

void sio__http_parser_init(sio__http_parser *p, uint32_t max_head, uint32_t max_line,
                           uint64_t max_body);
/* Ready for the next request on the same connection (keeps the limits). */
void sio__http_parser_reset(sio__http_parser *p);

/* Parses the head in buf[0..len) (the bytes given before must be unchanged at the same
 * offsets). Returns the head's length (> 0) once complete, 0 if more bytes are needed, or -1
 * on error (p->status, p->reason). */
long sio__http_parse_head(sio__http_parser *p, const char *buf, size_t len);

/* Decodes body bytes: returns how many input bytes were consumed (>= 0) and sets *out and *out_len
 * to a slice of `in` holding body data (possibly empty); call again with the remaining input
 * until it returns 0 with nothing out or p->body_done is set. -1 on error. */
long sio__http_body(sio__http_parser *p, const char *in, size_t len, const char **out,
                    size_t *out_len);

/* Case-insensitive lookup of a header's value span; NULL when absent. */
const sio__http_header *sio__http_find(const sio__http_parser *p, const char *buf,
                                       const char *name);

/* Token helpers shared with the rest of the layer. */
int sio__http_is_tchar(unsigned char c);
/* 1 if the comma-separated list value[0..n) contains token (case-insensitive). */
int sio__http_list_has(const char *value, size_t n, const char *token);

#endif
