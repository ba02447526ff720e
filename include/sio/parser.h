/* sio Socket.IO parsers: the packet encoding a server speaks, as the `parser` option of Node's
 * socket.io (`new Server(http, {parser: require("socket.io-msgpack-parser")})`).
 *
 *   sio_io *io = sio_io_attach(app, NULL);
 *   sio_io_set_parser(io, SIO_PARSER_MSGPACK);
 *
 * SIO_PARSER_DEFAULT is Socket.IO's own text format (socket.io-parser: `2["ev",…]`, binary
 * as BINARY_EVENT placeholders plus attachments). SIO_PARSER_MSGPACK is npm
 * socket.io-msgpack-parser 3.0 (notepack.io 2.2): every packet is one binary Engine.IO message
 * holding the msgpack map {type, data, nsp[, id]}; binary arguments are msgpack bin inside
 * data (no attachments). Clients must use the same parser (socket.io-client with
 * `parser: require("socket.io-msgpack-parser")`); one speaking the other gets disconnected, as
 * from Node. Nothing else changes for the program: handlers get their arguments as JSON and
 * binary (sio_args), emits take JSON and binary as always, broadcasts are encoded once.
 *
 * What the JSON a handler sees holds for msgpack-only values (docs/socketio.md, "Parsers"):
 * a Date (notepack's ext 0) is its toISOString() string, `undefined` is null in an array
 * and leaves an object key out (as JSON.stringify), an ArrayBuffer is binary like a Buffer,
 * another extension is [type, <binary>]. */
#ifndef SIO_PARSER_H
#define SIO_PARSER_H

#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sio_parser {
  SIO_PARSER_DEFAULT = 0, /* socket.io-parser (text, with binary attachments) */
  SIO_PARSER_MSGPACK = 1, /* socket.io-msgpack-parser 3.0 */
} sio_parser;

/* Selects the parser of every namespace of io. Call it before the app listens: -EBUSY once a
 * client is connected, -EINVAL without a server or for an unknown parser, else 0. */
SIO_EXTERN int sio_io_set_parser(sio_io *io, sio_parser parser);
/* The parser io speaks (SIO_PARSER_DEFAULT without a server). */
SIO_EXTERN sio_parser sio_io_parser(const sio_io *io);

#ifdef __cplusplus
}
#endif
#endif
