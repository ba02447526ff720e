/* sio Socket.IO: the server side of Socket.IO v5, so that the official socket.io-client
 * (browser or Node) connects unchanged, with a C API shaped like Node's socket.io 4.x.
 *
 *   sio_io *io = sio_io_attach(app, &(sio_io_opts){ .cors_origin = "*" });
 *   sio_on_connection(io, on_connection, NULL);          // io.on("connection", ...)
 *
 *   static void on_chat(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
 *     sio_emit_args(sio_broadcast(s), "chat", a);        // socket.broadcast.emit("chat", ...a)
 *     if (ack) sio_ack_sendf(ack, "s", "ok");            // callback("ok")
 *   }
 *   static void on_connection(sio_socket *s, void *user) {
 *     sio_join(s, "london");                             // socket.join("london")
 *     sio_on(s, "chat", on_chat, NULL);                  // socket.on("chat", ...)
 *     sio_emitf(s, "welcome", "{s:s}", "id", sio_id(s)); // socket.emit("welcome", {id})
 *     sio_emitf(sio_to(sio_socket_io(s), "london"), "joined", "s", sio_id(s)); // io.to(...).emit
 *   }
 *
 * Conventions (as libuv): functions that can fail return 0 or a negative error code
 * (sio_strerror); callbacks receive the `user` given at registration; every call is made on
 * the loop thread (except sio_emit_async_raw / sio_call_async, which are for other threads);
 * nothing blocks; handles are opaque; each handle that outlives a call carries one pointer for
 * the application (sio_<handle>_set_data / sio_<handle>_data).
 *
 * Emitting. Every emit form takes the event name and the argument LIST, and its suffix says
 * the form of that list (the same suffixes name the ack answers, sio_ack_send_*):
 *   sio_emit_raw(t, "ev", NULL)                  no arguments
 *   sio_emit_raw(t, "ev", "[1,\"a\",{}]")        the arguments as a JSON array text
 *   sio_emitf(t, "ev", "{s:i} s", "n", 1, "x")   jansson json_pack format of the arguments
 *                                                (as if wrapped in [ ]): here two arguments
 *   sio_emit_value(t, "ev", json_array)          a jansson array of the arguments
 *   sio_emit_args(t, "ev", args)                 received arguments passed on (binary
 *                                                attachments shared, not copied)
 *   sio_emit_bin(t, "ev", data, len)             one binary argument
 *   sio_emit_msg(t, msg)                         a sio_msg built piece by piece (binary at any
 *                                                depth, acks with timeouts)
 * The target `t` is a socket, a namespace, the server (its main namespace "/") or a broadcast
 * operator (sio_to, sio_in, sio_except, sio_broadcast, sio_volatile, ...). In C the names
 * above dispatch on the target's type with _Generic; in C++ they are overloads. The
 * type-specific functions (sio_socket_emit_raw, sio_op_emit_raw, ...) are what they call.
 *
 * JSON goes out as JSON.stringify would write it: whatever form arguments were given in (raw
 * text with spaces, `1e20`, `"\u00e9"`, received from a client), the client receives compact
 * JSON with numbers and strings in JavaScript's form, object keys in their order. Received
 * arguments are never parsed into a tree on the way through.
 *
 * Broadcast operators are built by chaining and consumed by the call that ends the chain (an
 * emit, sio_fetch_sockets, sio_sockets_join/leave, sio_disconnect_sockets) or by sio_op_free:
 *   sio_emit_raw(sio_except(sio_to(io, "a"), "b"), "ev", "[1]");
 * A NULL operator (allocation failure) is accepted by every call and makes it fail with
 * -ENOMEM, so chains need no checks in between. */
#ifndef SIO_IO_H
#define SIO_IO_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sio/core.h"
#include "sio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_io sio_io;         /* the server, attached to an app */
typedef struct sio_nsp sio_nsp;       /* a namespace ("/", "/chat", or a dynamic parent) */
typedef struct sio_socket sio_socket; /* one client in one namespace */
typedef struct sio_args sio_args;     /* the arguments of a received event or ack (a view) */
typedef struct sio_ack sio_ack;       /* a client's ack request, answered once */
typedef struct sio_op sio_op;         /* a broadcast operator (rooms, except, flags) */
typedef struct sio_msg sio_msg;       /* an outgoing event built piece by piece */
typedef struct sio_mw sio_mw;         /* a pending connection in io.use()-style middleware */
typedef struct sio_acks sio_acks;     /* answers collected by a broadcast with acks */

/* --- server -------------------------------------------------------------------------------- */

enum {
  SIO_TRANSPORT_POLLING = 1,
  SIO_TRANSPORT_WEBSOCKET = 2,
};

/* What happens when a client's send buffer is past send_buffer_limit. */
typedef enum sio_send_policy {
  SIO_SEND_DISCONNECT = 0, /* default: drop the packet, disconnect the client (logged) */
  SIO_SEND_DROP = 1,       /* drop the packet, keep the client */
} sio_send_policy;

/* Makes a namespace's adapter (sio/adapter.h): rooms, broadcast selection and, for a
 * multi-node adapter, the rest of the cluster. arg: sio_io_opts.adapter_arg. NULL on failure. */
typedef struct sio_adapter sio_adapter;
typedef sio_adapter *(*sio_adapter_factory)(sio_nsp *nsp, void *arg);

/* Zero means the default (given in brackets, same names as Node's socket.io where one exists). */
typedef struct sio_io_opts {
  const char *path;            /* ["/socket.io/"] */
  uint32_t ping_interval_ms;   /* pingInterval [25000] */
  uint32_t ping_timeout_ms;    /* pingTimeout [20000] */
  uint32_t upgrade_timeout_ms; /* upgradeTimeout [10000] */
  uint32_t connect_timeout_ms; /* connectTimeout [45000]: no CONNECT by then closes it */
  size_t max_http_buffer_size; /* maxHttpBufferSize [1e6] */
  unsigned transports;         /* SIO_TRANSPORT_* bits [both] */
  int no_upgrades;             /* allowUpgrades = false */
  int no_serve_client;         /* serveClient = false (/socket.io/socket.io.js is 404) */
  const char *cors_origin;     /* cors.origin: "*", one origin or a comma list [no CORS] */
  int cors_credentials;        /* cors.credentials */
  int per_message_deflate;     /* perMessageDeflate [off] (messages of 1024+ bytes; sio_compress) */
  int http_compression;        /* gzip polling responses when accepted [off] */
  size_t send_buffer_limit;    /* per-client bytes not yet sent [1 MiB] */
  sio_send_policy send_buffer_policy;
  int max_json_depth;     /* nesting limit of received arguments [128] */
  size_t max_attachments; /* binary attachments per packet [10] */
  int drop_handshake;     /* release the handshake request (headers, query, URL) once a client's
                             first namespace connection ran its handlers; saves its size per idle
                             client (browsers send 0.5-2 KB of headers); the address and the auth
                             payload stay [off: kept, as Node] */
  int cleanup_empty_child_namespaces; /* cleanupEmptyChildNamespaces: a child of a dynamic
                             namespace is removed (its adapter closed) when its last socket
                             leaves; the next client to connect to that name re-creates it
                             through the parent [off: children are kept] */
  sio_adapter_factory adapter;        /* io.adapter(): one adapter per namespace [in-memory] */
  void *adapter_arg;                  /* given to the factory */
} sio_io_opts;

SIO_EXTERN sio_io_opts sio_io_opts_default(void); /* for C++ callers */

/* Serves Socket.IO on the app at opts->path (opts may be NULL). On the app's graceful shutdown
 * every client is disconnected ("server shutting down"). NULL on failure. */
SIO_EXTERN sio_io *sio_io_attach(sio_app *app, const sio_io_opts *opts);
/* Disconnects every client ("server shutting down") and stops serving; the app keeps running.
 * sio_emit_async_raw returns SIO_ECLOSED from then on. */
SIO_EXTERN void sio_io_close(sio_io *io);
/* Frees the server: every client is disconnected ("server shutting down") and its path (the
 * client bundle included) stops being served. Optional: sio_app_free frees the servers attached
 * to the app. Safe before or after sio_app_free and twice (a free that comes second does
 * nothing), until the loop has run past sio_app_free (see sio/http.h), as sio_eio_free. */
SIO_EXTERN void sio_io_free(sio_io *io);
SIO_EXTERN sio_app *sio_io_app(const sio_io *io);
SIO_EXTERN uv_loop_t *sio_io_loop(const sio_io *io);
SIO_EXTERN size_t sio_io_clients_count(const sio_io *io); /* Engine.IO connections */
/* One pointer for the application (NULL at first). */
SIO_EXTERN void sio_io_set_data(sio_io *io, void *data);
SIO_EXTERN void *sio_io_data(const sio_io *io);

/* --- namespaces ---------------------------------------------------------------------------- */

/* io.of(name): the namespace, created on first use ("/" is the main one). NULL on failure. */
SIO_EXTERN sio_nsp *sio_of(sio_io *io, const char *name);
/* Dynamic namespaces, io.of(regex or function): a parent whose handlers (connection,
 * middleware) are given to every child namespace created when a client connects to a name
 * the parent accepts. With cleanup_empty_child_namespaces a child is removed when its last
 * socket leaves; its sio_nsp stays valid while one of its sockets (sio_socket_ref) or
 * operators does (emits to it then reach nobody), not longer: look it up again
 * (sio_socket_nsp, sio_nsp_find) rather than keep it. Emits and operators on the parent reach
 * every child. */
typedef int (*sio_nsp_match_fn)(const char *name, const char *auth_json, void *user); /* 1: yes */
SIO_EXTERN sio_nsp *sio_of_match(sio_io *io, sio_nsp_match_fn fn, void *user);
/* Same with a shell pattern (fnmatch): "/dynamic-*", "/user/[0-9]*". */
SIO_EXTERN sio_nsp *sio_of_pattern(sio_io *io, const char *pattern);
/* io._nsps.get(name): the namespace if it exists now (static, or a dynamic child that
 * clients created), else NULL; never creates one. */
SIO_EXTERN sio_nsp *sio_nsp_find(const sio_io *io, const char *name);
SIO_EXTERN const char *sio_nsp_name(const sio_nsp *nsp);
SIO_EXTERN sio_io *sio_nsp_io(const sio_nsp *nsp);
SIO_EXTERN size_t sio_nsp_sockets_count(const sio_nsp *nsp);
/* Looks a connected socket up by id in this namespace (NULL if none). */
SIO_EXTERN sio_socket *sio_nsp_socket(const sio_nsp *nsp, const char *id);
/* Sockets of this node in a room (io.of(nsp).adapter.rooms.get(room)?.size); 0 if none. */
SIO_EXTERN size_t sio_nsp_room_size(const sio_nsp *nsp, const char *room);
/* One pointer for the application. A child of a dynamic namespace starts with its parent's. */
SIO_EXTERN void sio_nsp_set_data(sio_nsp *nsp, void *data);
SIO_EXTERN void *sio_nsp_data(const sio_nsp *nsp);

typedef void (*sio_connection_fn)(sio_socket *s, void *user);
/* nsp.on("connection"): called for each socket that passed the middleware. */
SIO_EXTERN int sio_nsp_on_connection(sio_nsp *nsp, sio_connection_fn fn, void *user);
SIO_EXTERN int sio_io_on_connection(sio_io *io, sio_connection_fn fn,
                                    void *user); /* main namespace */

/* io.use(): middleware run in order before the connection event. Call sio_mw_next(mw) to go
 * on or sio_mw_fail(mw, message, data_json) to refuse (the client gets connect_error with
 * err.message and err.data), now or later from the loop thread, exactly once. The socket is
 * not connected yet (sio_emit to it fails) but its id, handshake, data and rooms work. */
typedef void (*sio_middleware_fn)(sio_socket *s, sio_mw *mw, void *user);
SIO_EXTERN int sio_nsp_use(sio_nsp *nsp, sio_middleware_fn fn, void *user);
SIO_EXTERN int sio_io_use(sio_io *io, sio_middleware_fn fn, void *user); /* main namespace */
SIO_EXTERN void sio_mw_next(sio_mw *mw);
/* data_json: a JSON text for err.data, or NULL for none. */
SIO_EXTERN void sio_mw_fail(sio_mw *mw, const char *message, const char *data_json);
SIO_EXTERN sio_socket *sio_mw_socket(const sio_mw *mw);

/* --- sockets ------------------------------------------------------------------------------- */

SIO_EXTERN const char *sio_id(const sio_socket *s); /* socket.id (also its own room) */
SIO_EXTERN sio_nsp *sio_socket_nsp(const sio_socket *s);
SIO_EXTERN sio_io *sio_socket_io(const sio_socket *s);
SIO_EXTERN int sio_connected(const sio_socket *s); /* 1 while connected */
/* socket.data: one pointer for the application. */
SIO_EXTERN void sio_socket_set_data(sio_socket *s, void *data);
SIO_EXTERN void *sio_socket_data(const sio_socket *s);
/* Keeps the sio_socket memory valid after it disconnects (for deferred work). Every call on a
 * disconnected socket is safe: emits return SIO_ECLOSED. */
SIO_EXTERN void sio_socket_ref(sio_socket *s);
SIO_EXTERN void sio_socket_unref(sio_socket *s);
/* The Engine.IO transport in use: "polling" or "websocket". */
SIO_EXTERN const char *sio_transport(const sio_socket *s);

/* socket.handshake */
SIO_EXTERN const char *
sio_handshake_auth(const sio_socket *s); /* CONNECT payload as JSON, "{}" if none */
SIO_EXTERN json_t *
sio_handshake_auth_json(const sio_socket *s); /* new reference (parsed), NULL if OOM */
SIO_EXTERN const char *sio_handshake_header(const sio_socket *s,
                                            const char *name); /* lower or any case */
SIO_EXTERN const char *sio_handshake_query(const sio_socket *s, const char *name); /* decoded */
SIO_EXTERN const char *sio_handshake_url(const sio_socket *s);
SIO_EXTERN const char *sio_handshake_address(const sio_socket *s);
SIO_EXTERN int sio_handshake_secure(const sio_socket *s);
SIO_EXTERN uint64_t sio_handshake_issued(const sio_socket *s); /* ms since the epoch */

/* Event handlers. `ack` is NULL unless the client asked for an acknowledgement. */
typedef void (*sio_event_fn)(sio_socket *s, const sio_args *args, sio_ack *ack, void *user);
/* socket.on(event): several handlers per event run in registration order. */
SIO_EXTERN int sio_on(sio_socket *s, const char *event, sio_event_fn fn, void *user);
SIO_EXTERN int sio_off(sio_socket *s, const char *event,
                       sio_event_fn fn); /* fn NULL: all for event */
/* socket.onAny(): every incoming event, before the event's own handlers. */
typedef void (*sio_any_fn)(sio_socket *s, const char *event, const sio_args *args, void *user);
SIO_EXTERN int sio_on_any(sio_socket *s, sio_any_fn fn, void *user);
/* socket.onAnyOutgoing(): every event emitted to this socket (broadcasts included). */
SIO_EXTERN int sio_on_any_outgoing(sio_socket *s, sio_any_fn fn, void *user);
/* socket.offAny() / offAnyOutgoing(): removes fn (NULL: every catch-all listener). */
SIO_EXTERN int sio_off_any(sio_socket *s, sio_any_fn fn);
SIO_EXTERN int sio_off_any_outgoing(sio_socket *s, sio_any_fn fn);
/* socket.use(): per-packet middleware for incoming events. Return 0 to go on; a negative
 * code drops the event and reports it to the socket's error handler (socket.on("error")). */
typedef int (*sio_packet_mw_fn)(sio_socket *s, const char *event, const sio_args *args, void *user);
SIO_EXTERN int sio_socket_use(sio_socket *s, sio_packet_mw_fn fn, void *user);
typedef void (*sio_socket_error_fn)(sio_socket *s, int err, const char *message, void *user);
SIO_EXTERN int sio_on_error(sio_socket *s, sio_socket_error_fn fn, void *user);

/* "disconnecting" (rooms still joined) and "disconnect". Reasons as Node's:
 * "server namespace disconnect", "client namespace disconnect", "server shutting down",
 * "ping timeout", "transport close", "transport error", "parse error", "forced close",
 * "forced server close", "send buffer full". */
typedef void (*sio_disconnect_fn)(sio_socket *s, const char *reason, void *user);
SIO_EXTERN int sio_on_disconnecting(sio_socket *s, sio_disconnect_fn fn, void *user);
SIO_EXTERN int sio_on_disconnect(sio_socket *s, sio_disconnect_fn fn, void *user);
/* socket.disconnect(close): leaves the namespace; with close, closes the whole connection. */
SIO_EXTERN void sio_disconnect(sio_socket *s, int close);

/* Rooms. The socket's own room (its id) is joined at connection. */
SIO_EXTERN int sio_join(sio_socket *s, const char *room);
SIO_EXTERN int sio_leave(sio_socket *s, const char *room);
SIO_EXTERN int sio_in_room(const sio_socket *s, const char *room);
/* Calls fn for each room the socket is in; stops when fn returns non-zero. */
typedef int (*sio_room_fn)(const char *room, void *user);
SIO_EXTERN void sio_rooms(const sio_socket *s, sio_room_fn fn, void *user);

/* --- arguments (a view, valid during the callback) ----------------------------------------- */

typedef enum sio_type {
  SIO_T_NONE = 0, /* no such argument */
  SIO_T_NULL,
  SIO_T_BOOL,
  SIO_T_NUMBER,
  SIO_T_STRING,
  SIO_T_ARRAY,
  SIO_T_OBJECT,
  SIO_T_BINARY, /* a binary attachment (a Buffer / ArrayBuffer on the client) */
} sio_type;

SIO_EXTERN size_t sio_args_count(const sio_args *a);
SIO_EXTERN sio_type sio_args_type(const sio_args *a, size_t i);
/* The string argument i, unescaped and NUL-terminated (len may be NULL; a "\u0000" in it shows
 * in len). NULL if i is not a string. Valid as long as the args. */
SIO_EXTERN const char *sio_args_str(const sio_args *a, size_t i, size_t *len);
SIO_EXTERN double sio_args_num(const sio_args *a, size_t i); /* 0 if not a number */
/* 0 and *out when i is an integer that fits, else -EINVAL or -ERANGE. */
SIO_EXTERN int sio_args_int(const sio_args *a, size_t i, int64_t *out);
SIO_EXTERN int sio_args_bool(const sio_args *a, size_t i); /* 1 only for true */
/* The raw JSON text of argument i as the client wrote it (not NUL-terminated); a binary
 * argument shows as its placeholder. NULL if no such argument. */
SIO_EXTERN const char *sio_args_json(const sio_args *a, size_t i, size_t *len);
/* The whole argument list as a JSON array text "[...]" (not NUL-terminated). */
SIO_EXTERN const char *sio_args_json_all(const sio_args *a, size_t *len);
/* Binary argument i (top level). 0, or -EINVAL if it is not binary. */
SIO_EXTERN int sio_args_bin(const sio_args *a, size_t i, const void **data, size_t *len);
/* Binary attachments at any depth, by placeholder number ("num"). */
SIO_EXTERN size_t sio_args_attachments(const sio_args *a);
SIO_EXTERN int sio_args_attachment(const sio_args *a, size_t num, const void **data, size_t *len);
/* Argument i as a jansson value (new reference; placeholders stay placeholders). NULL if none
 * or out of memory. sio_args_value_all: the whole list as an array. */
SIO_EXTERN json_t *sio_args_value(const sio_args *a, size_t i);
SIO_EXTERN json_t *sio_args_value_all(const sio_args *a);

/* --- answering a client's ack -------------------------------------------------------------
 * Answer once. An ack not answered before the event handler returns is released then, unless
 * the handler called sio_ack_defer(ack): a deferred ack stays valid until answered (answering
 * after the client left returns SIO_ECLOSED) or dropped with sio_ack_drop. */
SIO_EXTERN void sio_ack_defer(sio_ack *ack);
SIO_EXTERN void sio_ack_drop(sio_ack *ack);
/* callback(...) with the arguments in the form the suffix says, as sio_emit_*. */
SIO_EXTERN int sio_ack_send(sio_ack *ack);                                 /* no arguments */
SIO_EXTERN int sio_ack_send_raw(sio_ack *ack, const char *args_json);      /* a JSON array text */
SIO_EXTERN int sio_ack_sendf(sio_ack *ack, const char *fmt, ...);          /* json_pack format */
SIO_EXTERN int sio_ack_send_value(sio_ack *ack, const json_t *args_array); /* a jansson array */
SIO_EXTERN int sio_ack_send_args(sio_ack *ack, const sio_args *args); /* received args, exactly */
SIO_EXTERN int sio_ack_send_msg(sio_ack *ack, sio_msg *m); /* built with sio_msg (consumed) */

/* --- building an outgoing event -------------------------------------------------------------
 * For binary at any depth or several kinds of argument. sio_msg_new(NULL) builds an ack
 * answer's arguments. Add calls append one argument each; after an allocation failure the
 * message is marked failed and the emit returns -ENOMEM. */
SIO_EXTERN sio_msg *sio_msg_new(const char *event);
SIO_EXTERN void sio_msg_free(sio_msg *m); /* only for a message never emitted */
SIO_EXTERN int sio_msg_raw(sio_msg *m, const char *json,
                           size_t len); /* one argument as JSON text */
SIO_EXTERN int sio_msg_str(sio_msg *m, const char *str);
SIO_EXTERN int sio_msg_strn(sio_msg *m, const char *str, size_t len);
SIO_EXTERN int sio_msg_num(sio_msg *m, double v);
SIO_EXTERN int sio_msg_int(sio_msg *m, int64_t v);
SIO_EXTERN int sio_msg_bool(sio_msg *m, int v);
SIO_EXTERN int sio_msg_null(sio_msg *m);
SIO_EXTERN int sio_msg_value(sio_msg *m, const json_t *v);
SIO_EXTERN int sio_msg_packf(sio_msg *m, const char *fmt,
                             ...); /* one or more arguments, json_pack */
SIO_EXTERN int sio_msg_bin(sio_msg *m, const void *data,
                           size_t len); /* a binary argument (copied) */
/* Registers a binary attachment (copied) and returns its number, to be written inside a JSON
 * argument as {"_placeholder":true,"num":N}: binary at any depth. Negative on failure. */
SIO_EXTERN int sio_msg_attach(sio_msg *m, const void *data, size_t len);
SIO_EXTERN int sio_msg_args(sio_msg *m, const sio_args *args); /* appends every received argument */

/* Acks from the client to a server emit. status: 0 (args hold the client's answer),
 * SIO_ETIMEDOUT (no answer within the timeout) or SIO_ECLOSED (the client left first). */
typedef void (*sio_ack_fn)(sio_socket *s, int status, const sio_args *args, void *user);
/* socket.timeout(ms).emit(..., callback). timeout_ms 0: wait as long as the client is there. */
SIO_EXTERN int sio_msg_ack(sio_msg *m, sio_ack_fn fn, void *user, uint32_t timeout_ms);
/* Broadcast with acks: fn is called once, when every targeted client answered or at the
 * timeout (status SIO_ETIMEDOUT, with the answers that came). On a dynamic parent the targets
 * are the sockets of every child (rooms applied in each), all answering into the one fn. When
 * the emit returns an error, fn is not called. */
typedef void (*sio_acks_fn)(int status, const sio_acks *acks, void *user);
SIO_EXTERN int sio_msg_acks(sio_msg *m, sio_acks_fn fn, void *user, uint32_t timeout_ms);
SIO_EXTERN size_t sio_acks_count(const sio_acks *acks);                    /* answers received */
SIO_EXTERN size_t sio_acks_expected(const sio_acks *acks);                 /* clients targeted */
SIO_EXTERN const sio_args *sio_acks_args(const sio_acks *acks, size_t i);  /* answer i */
SIO_EXTERN const char *sio_acks_socket_id(const sio_acks *acks, size_t i); /* who gave answer i */

/* Emit with an ack in one call (a socket only). */
SIO_EXTERN int sio_emit_ack_raw(sio_socket *s, const char *event, const char *args_json,
                                uint32_t timeout_ms, sio_ack_fn fn, void *user);

/* --- broadcast operators ----------------------------------------------------------------- */
SIO_EXTERN sio_op *sio_io_op(sio_io *io);        /* everyone in "/" */
SIO_EXTERN sio_op *sio_nsp_op(sio_nsp *nsp);     /* everyone in nsp */
SIO_EXTERN sio_op *sio_socket_op(sio_socket *s); /* everyone in the socket's namespace except it */
/* That socket alone, for flags: sio_volatile(s), sio_timeout(s, ms), sio_compress(s, on) are
 * socket.volatile / .timeout(ms) / .compress(on); adding a room (sio_to) turns it into a
 * broadcast from the socket, as socket.to() is. */
SIO_EXTERN sio_op *sio_socket_self_op(sio_socket *s);
SIO_EXTERN sio_op *sio_op_to(sio_op *op,
                             const char *room); /* add a room (union); sio_in is the same */
SIO_EXTERN sio_op *sio_op_except(sio_op *op, const char *room);
SIO_EXTERN sio_op *sio_op_volatile(sio_op *op); /* skip clients that cannot take it now */
/* socket.compress(on): whether this packet may be compressed [on]. Off, it goes out as a plain
 * WebSocket frame even with permessage-deflate, and does not make a polling response gzipped;
 * on, frames and responses of at least 1024 bytes are compressed (when negotiated / enabled). */
SIO_EXTERN sio_op *sio_op_compress(sio_op *op, int on);
SIO_EXTERN sio_op *sio_op_local(sio_op *op); /* this node only (multi-node adapters) */
SIO_EXTERN sio_op *sio_op_timeout(sio_op *op, uint32_t ms); /* for sio_msg_acks */
SIO_EXTERN void sio_op_free(sio_op *op);

/* Terminal calls (consume the operator). */
SIO_EXTERN int sio_op_emit_value(sio_op *op, const char *event, const json_t *args_array);
SIO_EXTERN int sio_op_emit_raw(sio_op *op, const char *event, const char *args_json);
SIO_EXTERN int sio_op_emitf(sio_op *op, const char *event, const char *fmt, ...);
SIO_EXTERN int sio_op_emit_args(sio_op *op, const char *event, const sio_args *args);
SIO_EXTERN int sio_op_emit_bin(sio_op *op, const char *event, const void *data, size_t len);
SIO_EXTERN int sio_op_emit_msg(sio_op *op, sio_msg *m);
/* fetchSockets(): fn gets the matching sockets (valid during the call). */
typedef void (*sio_sockets_fn)(sio_socket *const *sockets, size_t n, void *user);
SIO_EXTERN int sio_fetch_sockets(sio_op *op, sio_sockets_fn fn, void *user);
SIO_EXTERN int sio_sockets_join(sio_op *op, const char *room);
SIO_EXTERN int sio_sockets_leave(sio_op *op, const char *room);
SIO_EXTERN int sio_disconnect_sockets(sio_op *op, int close);

/* Type-specific emits (what the generic names dispatch to). A socket or a namespace target
 * behaves like its operator with no rooms. */
SIO_EXTERN int sio_socket_emit_raw(sio_socket *s, const char *event, const char *args_json);
SIO_EXTERN int sio_socket_emit_value(sio_socket *s, const char *event, const json_t *args_array);
SIO_EXTERN int sio_socket_emitf(sio_socket *s, const char *event, const char *fmt, ...);
SIO_EXTERN int sio_socket_emit_args(sio_socket *s, const char *event, const sio_args *args);
SIO_EXTERN int sio_socket_emit_bin(sio_socket *s, const char *event, const void *data, size_t len);
SIO_EXTERN int sio_socket_emit_msg(sio_socket *s, sio_msg *m);
SIO_EXTERN int sio_socket_vemitf(sio_socket *s, const char *event, const char *fmt, va_list ap);
SIO_EXTERN int sio_op_vemitf(sio_op *op, const char *event, const char *fmt, va_list ap);
SIO_EXTERN int sio_ack_vsendf(sio_ack *ack, const char *fmt, va_list ap);
SIO_EXTERN int sio_msg_vpackf(sio_msg *m, const char *fmt, va_list ap);

/* --- other threads ------------------------------------------------------------------------
 * Safe from any thread: the event is copied, queued and emitted on the loop thread, in the
 * order of the calls. room NULL: the whole namespace; nsp NULL: "/". args_json: the arguments
 * as a JSON array text (NULL: none). 0 or a negative code (-EINVAL for bad JSON, SIO_ECLOSED
 * once the server is closed). */
SIO_EXTERN int sio_emit_async_raw(sio_io *io, const char *nsp, const char *room, const char *event,
                                  const char *args_json);
/* Runs fn(io, user) on the loop thread (in order with sio_emit_async_raw). */
typedef void (*sio_loop_fn)(sio_io *io, void *user);
SIO_EXTERN int sio_call_async(sio_io *io, sio_loop_fn fn, void *user);

/* --- deprecated names ----------------------------------------------------------------------
 * The names of sio 0.1, kept for one release (docs/socketio.md, "Deprecated names"). They
 * behave exactly as the names they point to; calls warn (-Wdeprecated-declarations). The
 * generic sio_emit(t, ev, value) is sio_emit_value. */
SIO_EXTERN void sio_set_data(sio_socket *s, void *data) SIO_DEPRECATED("use sio_socket_set_data");
SIO_EXTERN void *sio_data(const sio_socket *s) SIO_DEPRECATED("use sio_socket_data");
SIO_EXTERN int sio_ack_raw(sio_ack *ack, const char *args_json)
    SIO_DEPRECATED("use sio_ack_send_raw");
SIO_EXTERN int sio_ack_value(sio_ack *ack, const json_t *args_array)
    SIO_DEPRECATED("use sio_ack_send_value");
SIO_EXTERN int sio_ack_args(sio_ack *ack, const sio_args *args)
    SIO_DEPRECATED("use sio_ack_send_args");
SIO_EXTERN int sio_ack_msg(sio_ack *ack, sio_msg *m) SIO_DEPRECATED("use sio_ack_send_msg");
SIO_EXTERN int sio_op_emit(sio_op *op, const char *event, const json_t *args_array)
    SIO_DEPRECATED("use sio_op_emit_value");
SIO_EXTERN int sio_emit_ack(sio_socket *s, const char *event, const char *args_json,
                            uint32_t timeout_ms, sio_ack_fn fn, void *user)
    SIO_DEPRECATED("use sio_emit_ack_raw");
SIO_EXTERN int sio_emit_async(sio_io *io, const char *nsp, const char *room, const char *event,
                              const char *args_json) SIO_DEPRECATED("use sio_emit_async_raw");

#ifdef __cplusplus
}
#endif

/* --- generic names -------------------------------------------------------------------------
 * sio_to / sio_in / sio_except / sio_broadcast / sio_volatile / sio_emit* accept a server, a
 * namespace, a socket or an operator. */
#ifdef __cplusplus
static inline sio_op *sio__op_of(sio_io *io) {
  return sio_io_op(io);
}
static inline sio_op *sio__op_of(sio_nsp *n) {
  return sio_nsp_op(n);
}
static inline sio_op *sio__op_of(sio_socket *s) {
  return sio_socket_self_op(s);
}
static inline sio_op *sio__op_of(sio_op *o) {
  return o;
}
template <class T> static inline sio_op *sio_to(T *t, const char *room) {
  return sio_op_to(sio__op_of(t), room);
}
template <class T> static inline sio_op *sio_in(T *t, const char *room) {
  return sio_op_to(sio__op_of(t), room);
}
template <class T> static inline sio_op *sio_except(T *t, const char *room) {
  return sio_op_except(sio__op_of(t), room);
}
template <class T> static inline sio_op *sio_volatile(T *t) {
  return sio_op_volatile(sio__op_of(t));
}
template <class T> static inline sio_op *sio_compress(T *t, int on) {
  return sio_op_compress(sio__op_of(t), on);
}
template <class T> static inline sio_op *sio_local(T *t) {
  return sio_op_local(sio__op_of(t));
}
template <class T> static inline sio_op *sio_timeout(T *t, uint32_t ms) {
  return sio_op_timeout(sio__op_of(t), ms);
}
static inline sio_op *sio_broadcast(sio_socket *s) {
  return sio_socket_op(s);
}
static inline int sio_emit_raw(sio_socket *s, const char *e, const char *j) {
  return sio_socket_emit_raw(s, e, j);
}
template <class T> static inline int sio_emit_raw(T *t, const char *e, const char *j) {
  return sio_op_emit_raw(sio__op_of(t), e, j);
}
SIO_DEPRECATED("use sio_emit_value")
static inline int sio_emit(sio_socket *s, const char *e, const json_t *v) {
  return sio_socket_emit_value(s, e, v);
}
template <class T>
SIO_DEPRECATED("use sio_emit_value")
static inline int sio_emit(T *t, const char *e, const json_t *v) {
  return sio_op_emit_value(sio__op_of(t), e, v);
}
static inline int sio_emit_value(sio_socket *s, const char *e, const json_t *v) {
  return sio_socket_emit_value(s, e, v);
}
template <class T> static inline int sio_emit_value(T *t, const char *e, const json_t *v) {
  return sio_op_emit_value(sio__op_of(t), e, v);
}
static inline int sio_emit_args(sio_socket *s, const char *e, const sio_args *a) {
  return sio_socket_emit_args(s, e, a);
}
template <class T> static inline int sio_emit_args(T *t, const char *e, const sio_args *a) {
  return sio_op_emit_args(sio__op_of(t), e, a);
}
static inline int sio_emit_bin(sio_socket *s, const char *e, const void *d, size_t n) {
  return sio_socket_emit_bin(s, e, d, n);
}
template <class T> static inline int sio_emit_bin(T *t, const char *e, const void *d, size_t n) {
  return sio_op_emit_bin(sio__op_of(t), e, d, n);
}
static inline int sio_emit_msg(sio_socket *s, sio_msg *m) {
  return sio_socket_emit_msg(s, m);
}
template <class T> static inline int sio_emit_msg(T *t, sio_msg *m) {
  return sio_op_emit_msg(sio__op_of(t), m);
}
static inline int sio_emitf(sio_socket *s, const char *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = sio_socket_vemitf(s, e, fmt, ap);
  va_end(ap);
  return r;
}
template <class T> static inline int sio_emitf(T *t, const char *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = sio_op_vemitf(sio__op_of(t), e, fmt, ap);
  va_end(ap);
  return r;
}
static inline int sio_on_connection(sio_io *io, sio_connection_fn fn, void *user) {
  return sio_io_on_connection(io, fn, user);
}
static inline int sio_on_connection(sio_nsp *n, sio_connection_fn fn, void *user) {
  return sio_nsp_on_connection(n, fn, user);
}
#else
#define sio__op_of(t)                                                                              \
  _Generic((t), sio_io *                                                                           \
           : sio_io_op, sio_nsp *                                                                  \
           : sio_nsp_op, sio_socket *                                                              \
           : sio_socket_self_op, sio_op *                                                          \
           : sio__op_self)(t)
static inline sio_op *sio__op_self(sio_op *op) {
  return op;
}
#define sio_to(t, room)          sio_op_to(sio__op_of(t), (room))
#define sio_in(t, room)          sio_op_to(sio__op_of(t), (room))
#define sio_except(t, room)      sio_op_except(sio__op_of(t), (room))
#define sio_volatile(t)          sio_op_volatile(sio__op_of(t))
#define sio_compress(t, on)      sio_op_compress(sio__op_of(t), (on))
#define sio_local(t)             sio_op_local(sio__op_of(t))
#define sio_timeout(t, ms)       sio_op_timeout(sio__op_of(t), (ms))
#define sio_broadcast(s)         sio_socket_op(s)
/* A socket target emits to that socket; anything else broadcasts. */
/* The deprecated sio_emit warns through a deprecated function that passes the result on. */
SIO_DEPRECATED("use sio_emit_value") static inline int sio__emit_deprecated(int rc) {
  return rc;
}
#define sio_emit(t, ev, v)       sio__emit_deprecated(sio_emit_value(t, ev, v))
#define sio_emit_value(t, ev, v) sio__emit_generic(emit_value, emit_value, t, ev, v)
#define sio_emit_raw(t, ev, j)   sio__emit_generic(emit_raw, emit_raw, t, ev, j)
#define sio_emit_args(t, ev, a)  sio__emit_generic(emit_args, emit_args, t, ev, a)
#define sio_emit_bin(t, ev, d, n)                                                                  \
  _Generic((t), sio_socket *                                                                       \
           : sio__sock_emit_bin, sio_io *                                                          \
           : sio__io_emit_bin, sio_nsp *                                                           \
           : sio__nsp_emit_bin, sio_op *                                                           \
           : sio_op_emit_bin)((t), (ev), (d), (n))
#define sio_emit_msg(t, m)                                                                         \
  _Generic((t), sio_socket *                                                                       \
           : sio__sock_emit_msg, sio_io *                                                          \
           : sio__io_emit_msg, sio_nsp *                                                           \
           : sio__nsp_emit_msg, sio_op *                                                           \
           : sio_op_emit_msg)((t), (m))
#define sio_emitf(t, ev, ...)                                                                      \
  _Generic((t), sio_socket *                                                                       \
           : sio__sock_emitf, sio_io *                                                             \
           : sio__io_emitf, sio_nsp *                                                              \
           : sio__nsp_emitf, sio_op *                                                              \
           : sio_op_emitf)((t), (ev), __VA_ARGS__)
#define sio__emit_generic(sname, oname, t, ev, x)                                                  \
  _Generic((t), sio_socket *                                                                       \
           : sio__sock_##sname, sio_io *                                                           \
           : sio__io_##oname, sio_nsp *                                                            \
           : sio__nsp_##oname, sio_op *                                                            \
           : sio_op_##oname)((t), (ev), (x))
#define sio_on_connection(t, fn, user)                                                             \
  _Generic((t), sio_io *                                                                           \
           : sio_io_on_connection, sio_nsp *                                                       \
           : sio_nsp_on_connection)((t), (fn), (user))

/* Adapters with the exact parameter types _Generic needs. */
#define SIO__EMIT_ADAPTERS(kind, T, opfn)                                                          \
  static inline int sio__##kind##_emit_value(T t, const char *e, const json_t *v) {                \
    return sio_op_emit_value(opfn(t), e, v);                                                       \
  }                                                                                                \
  static inline int sio__##kind##_emit_raw(T t, const char *e, const char *j) {                    \
    return sio_op_emit_raw(opfn(t), e, j);                                                         \
  }                                                                                                \
  static inline int sio__##kind##_emit_args(T t, const char *e, const sio_args *a) {               \
    return sio_op_emit_args(opfn(t), e, a);                                                        \
  }                                                                                                \
  static inline int sio__##kind##_emit_bin(T t, const char *e, const void *d, size_t n) {          \
    return sio_op_emit_bin(opfn(t), e, d, n);                                                      \
  }                                                                                                \
  static inline int sio__##kind##_emit_msg(T t, sio_msg *m) {                                      \
    return sio_op_emit_msg(opfn(t), m);                                                            \
  }                                                                                                \
  static inline int sio__##kind##_emitf(T t, const char *e, const char *fmt, ...) {                \
    va_list ap;                                                                                    \
    va_start(ap, fmt);                                                                             \
    int r = sio_op_vemitf(opfn(t), e, fmt, ap);                                                    \
    va_end(ap);                                                                                    \
    return r;                                                                                      \
  }
SIO__EMIT_ADAPTERS(io, sio_io *, sio_io_op)
SIO__EMIT_ADAPTERS(nsp, sio_nsp *, sio_nsp_op)
static inline int sio__sock_emit_value(sio_socket *s, const char *e, const json_t *v) {
  return sio_socket_emit_value(s, e, v);
}
static inline int sio__sock_emit_raw(sio_socket *s, const char *e, const char *j) {
  return sio_socket_emit_raw(s, e, j);
}
static inline int sio__sock_emit_args(sio_socket *s, const char *e, const sio_args *a) {
  return sio_socket_emit_args(s, e, a);
}
static inline int sio__sock_emit_bin(sio_socket *s, const char *e, const void *d, size_t n) {
  return sio_socket_emit_bin(s, e, d, n);
}
static inline int sio__sock_emit_msg(sio_socket *s, sio_msg *m) {
  return sio_socket_emit_msg(s, m);
}
static inline int sio__sock_emitf(sio_socket *s, const char *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = sio_socket_vemitf(s, e, fmt, ap);
  va_end(ap);
  return r;
}
#endif

#endif
