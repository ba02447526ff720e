/* Socket.IO server internals shared by the files of src/socketio (see include/sio/io.h).
 *
 * Objects and ownership:
 * - sio_io: the server; owns the namespaces, the Engine.IO server it rides on, the clients.
 * - sio__client: one Engine.IO session (which keeps the handshake request, shared by every
 *   namespace the session joins), the binary packet being reassembled, the connect timer and
 *   the list of its sockets (one per namespace: multiplexing).
 * - sio_nsp: a namespace; owns an adapter (rooms) and a map id -> connected socket. Sockets
 *   and operators reference it (refs), so that a dynamic child removed once empty
 *   (cleanup_empty_child_namespaces) stays valid for whoever still points at it; it is freed
 *   with its adapter when the last of them lets go.
 * - sio_socket: a client in a namespace. Refcounted: the namespace/client hold one reference
 *   while it is connected; dispatch, deferred acks, pending middleware and the application
 *   (sio_socket_ref) hold others, so a socket disconnected inside a handler stays valid until
 *   the handler returns.
 *
 * Packets are encoded once into an Engine.IO message (sio__eio_msg: '4' + Socket.IO text, with
 * its WebSocket frame header written once) and handed to every recipient's session; binary
 * attachments are shared messages too. */
#ifndef SIO_SOCKETIO_IO_INTERNAL_H
#define SIO_SOCKETIO_IO_INTERNAL_H

#include <string.h>
#include <uv.h>

#include "sio/adapter.h"
#include "sio/stats.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/list.h"
#include "core/map.h"
#include "engine/engine.h"
#include "net/net.h"
#include "sio/io.h"
#include "sio/parser.h"
#include "sio/recovery.h"
#include "socketio/codec.h"

typedef struct sio__client sio__client;
typedef struct sio_acks sio__collector;     /* the answers of a broadcast with acks (ack.c) */
typedef struct sio__observer sio__observer; /* what watches the whole server (the admin UI) */

/* A growable array of (fn, user) pairs; handlers run in registration order. */
typedef struct sio__cb {
  void (*fn)(void);
  void *user;
  uint8_t kind;    /* SIO__H_* (a socket keeps all its handlers in one array) */
  uint8_t ev_long; /* ev holds a pointer to an allocated name, not the name */
  char ev[14];     /* the event (event handlers): inline when under 14 bytes, as most are */
} sio__cb;
enum {
  SIO__H_EVENT = 0,
  SIO__H_ANY,
  SIO__H_ANY_OUT,
  SIO__H_PACKET_MW,
  SIO__H_ERROR,
  SIO__H_DISCONNECTING,
  SIO__H_DISCONNECT,
};
/* The event name of an event handler (NULL for other kinds). */
static inline const char *sio__cb_event(const sio__cb *cb) {
  if (!cb->ev_long) return cb->kind == SIO__H_EVENT ? cb->ev : NULL;
  const char *p;
  memcpy(&p, cb->ev, sizeof p);
  return p;
}
typedef struct sio__cbs {
  sio__cb *v;
  uint32_t n, cap;
} sio__cbs;
int sio__cbs_add(sio__cbs *c, void (*fn)(void), void *user, const char *event);
int sio__cbs_add_kind(sio__cbs *c, int kind, void (*fn)(void), void *user, const char *event);
/* Room for cap handlers in one allocation (exactly cap) when there is less. 0 or -ENOMEM. */
int sio__cbs_reserve(sio__cbs *c, uint32_t cap);
void sio__cbs_free(sio__cbs *c);

struct sio_io {
  sio_app *app;
  uv_loop_t *loop;
  sio__net *net;
  sio_io_opts opts;
  char *path;
  char *cors_origin;
  sio__eio *eio;                      /* the Engine.IO server */
  struct sio__attachment *attachment; /* the app frees this block (sio_io_free releases the rest) */
  sio__map nsps;                      /* name -> sio_nsp (including dynamic children) */
  sio_nsp *main;
  sio__list parents;  /* dynamic parents, in registration order */
  sio__list detached; /* children removed once empty, still referenced (sio_nsp.parent_link) */
  sio_adapter_factory adapter_new;
  void *adapter_arg;
  sio__list clients;
  size_t nclients;
  sio_recovery_opts recovery; /* connection state recovery (recovery.c; enabled 0: off) */
  sio__sio_limits limits;
  uint8_t parser;     /* sio_parser (parser.c) */
  sio_io_stats stats; /* sio/stats.h: traffic counters */
  int closing;
  int adapters_shut;      /* the adapters were told the server shuts down (and new ones are) */
  struct sio__asyncq *aq; /* thread-safe queue (outlives the server until its handle closes) */
  /* client bundle cache (gzip computed lazily) */
  struct sio__bundle *bundle;
  size_t nbundle;
  void *data;               /* sio_io_data */
  const sio__observer *obs; /* what watches the whole server (the admin UI), or NULL */
  void *obs_user;
};

enum { SIO__NSP_STATIC = 0, SIO__NSP_PARENT = 1, SIO__NSP_CHILD = 2 };

struct sio_nsp {
  sio_io *io;
  char *name;
  size_t name_len;
  int kind;
  sio_adapter *adapter;
  sio__map sockets;  /* id -> connected sio_socket */
  sio__map rec_pids; /* recovery: session id (pid) -> connected sio_socket (recovery.c) */
  sio__cbs on_connection;
  sio__cbs middleware;
  sio__cbs server_side; /* sio_nsp_on_server_side handlers (cluster.c) */
  uint64_t next_ack_id; /* ids of broadcasts with acks */
  uint32_t refs;        /* sio_socket structs and operators pointing here */
  uint32_t live;        /* sockets pending (middleware) or connected */
  uint32_t nhandlers;   /* handlers the last socket had after its connection handlers ran */
  uint8_t detached;     /* no longer the server's: freed when refs drops to 0 */
  /* dynamic */
  sio_nsp *parent; /* for children */
  sio_nsp_match_fn match;
  void *match_user;
  char *pattern;
  sio__list parent_link; /* a parent: in io->parents; a detached child: in io->detached */
  void *data;            /* sio_nsp_data (a child starts with its parent's) */
};

enum { SIO__S_PENDING = 0, SIO__S_CONNECTED = 1, SIO__S_CLOSED = 2 };

/* An ack the server waits for (socket emit with a callback, or one recipient of a broadcast
 * with acks). */
typedef struct sio__pending_ack {
  sio__list link;
  uint64_t id;
  sio_socket *s;
  sio_ack_fn fn;
  void *user;
  struct sio_acks *col; /* broadcast with acks: shared collector */
  sio__timer timer;
} sio__pending_ack;

struct sio_socket {
  sio_member member; /* adapter state: must stay first */
  char id[24];
  int refs;
  uint8_t state; /* SIO__S_* */
  uint8_t closing;
  uint8_t hkinds; /* bit per SIO__H_* kind present in h */
  sio_nsp *nsp;
  sio__client *client;
  sio__list client_link;
  char *auth;      /* CONNECT payload JSON ("{}" when none) */
  uint64_t issued; /* handshake.issued: when the socket was made, ms since the epoch */
  void *data;
  char *data_json;      /* socket.data as other servers see it (NULL: "{}") */
  sio__cbs h;           /* every handler, tagged with its SIO__H_* kind */
  sio__list acks;       /* sio__pending_ack */
  struct sio__rec *rec; /* connection state recovery (recovery.c), NULL when off */
};

struct sio__client {
  sio_io *io;
  sio__eio_session *es; /* the Engine.IO session (NULL once it closed) */
  int refs;
  uint8_t closed;
  uint8_t addr_kept; /* the handshake was dropped (drop_handshake): addr holds the address */
  uint8_t addr_long; /* in addr.ptr (allocated), not in addr.inl (IPv4, mapped too, fits) */
  uint8_t v3;        /* an Engine.IO v3 client (socket.io-client 2.x): see eio3.c */
  uint8_t obs_ws;    /* the observer saw it on WebSocket (src/admin: upgrades) */
  sio__list link;
  sio__list sockets;                      /* sio_socket.client_link */
  struct sio__connect_wait *connect_wait; /* the connect timeout, until a namespace joins */
  sio__sio_reassembly *rs;                /* a binary packet waiting for its attachments, or NULL */
  union {
    char *ptr;
    char inl[24]; /* "::ffff:255.255.255.255" */
  } addr;
};
/* --- eio3.c: Engine.IO v3 clients (sio_io_allow_eio3) --- */
/* The namespace of a v3 packet's nsp field: its length before any '?', and the query string
 * after it (NULL, 0 when there is none). */
size_t sio__v3_nsp_len(const char *nsp, size_t len, const char **query, size_t *query_len);
/* A query string as the JSON object a v3 CONNECT's auth payload is (Node's url.parse(nsp,
 * true).query: decoded strings, a repeated key as an array); NULL when out of memory. */
char *sio__v3_query_auth(const char *q, size_t n);

/* The address kept when the handshake was dropped, else NULL. */
static inline const char *sio__client_address(const sio__client *c) {
  return !c->addr_kept ? NULL : c->addr_long ? c->addr.ptr : c->addr.inl;
}

/* The arguments of a received event/ack, or of an outgoing message (onAnyOutgoing). */
struct sio_args {
  const char *json; /* the whole array text (its first element is the event name for events) */
  size_t json_len;
  size_t first;       /* index of the first argument among the array's elements */
  sio__json_slice *v; /* the array's elements */
  size_t n;           /* elements */
  sio__buf *const *att;
  unsigned natt;
  int binary;                  /* placeholders are attachments */
  sio__sbuf *strs;             /* unescaped strings (lazily) */
  char **str_cache;            /* per element */
  sio__json_slice inline_v[8]; /* SIO__SIO_ELEMS */
  sio__sbuf all;               /* "[args...]" built on request */
};
/* Builds a view over a validated array text. 0 or -ENOMEM/-EINVAL. */
int sio__args_init(sio_args *a, const char *json, size_t len, size_t first, sio__buf *const *att,
                   unsigned natt, int binary, int max_depth);
/* The same over a decoded packet's payload, reusing the slices the decoder kept. */
int sio__args_init_packet(sio_args *a, const sio__sio_packet *p, size_t first, sio__buf *const *att,
                          unsigned natt, int binary);
void sio__args_free(sio_args *a);
/* An owned copy (for answers kept by a broadcast with acks). NULL on OOM. */
sio_args *sio__args_clone(const sio_args *a);
void sio__args_destroy(sio_args *a); /* frees a clone */

/* Appends a validated JSON value as JSON.stringify(JSON.parse(value)) writes it. 0 or -ENOMEM. */
int sio__json_canon(sio__sbuf *out, const char *s, size_t n);

/* An outgoing message: event, arguments as comma-joined JSON, attachments, ack wishes. */
struct sio_msg {
  char *event;          /* NULL: an ack answer */
  int on_stack;         /* built by sio__msg_init_stack: event borrowed, struct not freed */
  const sio_args *view; /* sio__msg_init_view: the arguments are these (borrowed) */
  sio__sbuf args;       /* "a,b,c" */
  size_t nargs;
  sio__buf **att;
  unsigned natt, capatt;
  int failed;
  sio_ack_fn ack_fn;
  sio_acks_fn acks_fn;
  void *ack_user;
  uint32_t timeout_ms;
};
/* A message on the caller's stack (event borrowed); sio_msg_free releases its contents only. */
void sio__msg_init_stack(sio_msg *m, const char *event);
/* A stack message whose arguments are a received view (borrowed, written at encoding). */
void sio__msg_init_view(sio_msg *m, const char *event, const sio_args *a);
sio_msg *sio__msg_from_raw(const char *event, const char *args_json, int *rc);
sio_msg *sio__msg_from_value(const char *event, const json_t *arr, int *rc);
/* A packet encoded once for every recipient: the Engine.IO text message and one binary
 * Engine.IO message per attachment, all shared. */
typedef struct sio__out {
  sio__eio_msg text;
  size_t data_off; /* the data array ("[...]") in text.b */
  sio__eio_msg *att;
  unsigned natt;
  sio__eio_msg mp; /* the msgpack parser's form, made at the first send (parser.c), or b NULL */
} sio__out;
int sio__out_build(sio__out *o, const sio_msg *m, sio__sio_type type, const char *nsp,
                   size_t nsp_len, uint64_t id);
/* The same with `spare` bytes more room after the packet: a stored packet gets its offset
 * appended in place (sio__out_add_offset) without growing its buffer. */
#define SIO__OUT_OFFSET_SPARE 32 /* ',"' + an offset of up to 28 characters + '"' */
int sio__out_build_spare(sio__out *o, const sio_msg *m, sio__sio_type type, const char *nsp,
                         size_t nsp_len, uint64_t id, size_t spare);
/* socket.compress(on) for every part of the packet (they are built compressible). */
void sio__out_set_compress(sio__out *o, int on);
void sio__out_release(sio__out *o);

/* The packet of a broadcast or a server-side emit, for the adapter (sio/adapter.h). */
struct sio_packet {
  const char *nsp;
  const char *data; /* the data array as JSON */
  size_t len;
  const sio__out *out;        /* the attachments (NULL: none) */
  struct sio__offset *offset; /* SIO_BC_STORE: where sio_packet_set_offset writes (else NULL) */
};
void sio__packet_of_out(sio_packet *p, const sio_nsp *nsp, const sio__out *o);

/* recovery.c: connection state recovery (sio/recovery.h). */
typedef struct sio__offset {
  char text[64];
  size_t len; /* 0: none set */
} sio__offset;
/* Whether packets of nsp are stored (recovery on, and an adapter that supports it). */
int sio__rec_stores(sio_nsp *nsp);
/* A new socket whose CONNECT auth asks for its session back: 1 when recovery took it over (it
 * admits the socket later, restored or not, through sio__nsp_admit), else 0. */
int sio__rec_connect(sio_socket *s);
/* The socket connects: its session id (made for a fresh socket; NULL when recovery is off),
 * and the packets it is owed (missed ones, then those queued meanwhile) are written now. */
const char *sio__rec_connected(sio_socket *s);
/* The socket is leaving for reason (its rooms still joined): its session is kept when the
 * reason is one Node keeps it for. */
void sio__rec_disconnecting(sio_socket *s, const char *reason);
/* A broadcast reaches a socket that is not connected yet: 1 if it was queued for it (a restored
 * socket in its middlewares), else 0. */
int sio__rec_queue(sio_socket *s, const sio__out *o);
void sio__rec_free(sio_socket *s);
/* `,"<offset>"` before the data array's closing bracket of o, in place when o's text is not
 * shared yet (written over the closing bracket: the packet is encoded once), else in a new
 * text that replaces o's. Attachments unchanged. 0, -EINVAL or -ENOMEM (o unchanged). */
int sio__out_add_offset(sio__out *o, const sio__offset *off);
/* An out from a data array text (["event",…]) and attachments, for a missed packet. */
int sio__out_from_data(sio__out *o, const sio_nsp *nsp, const char *data, size_t len,
                       const void *const *att, const size_t *att_len, unsigned natt);

/* A broadcast operator (op.c). */
struct sio_op {
  sio_nsp *nsp;
  sio_socket *self; /* socket.volatile / .timeout / .compress: that socket only (a reference) */
  char **rooms;
  size_t nrooms, caprooms;
  char **except;
  size_t nexcept, capexcept;
  unsigned flags;
  uint32_t timeout_ms;
  int failed;
};
/* Its {rooms, except, flags, timeout} as the adapter sees them (valid while op is). */
sio_bcast_opts sio__op_opts(const sio_op *op);
/* A broadcast from another node to the local recipients of o (the adapter's select). */
int sio__bcast_local(sio_nsp *nsp, const sio_bcast_opts *o, sio_msg *m, sio__collector *col);

/* select.c: the connected local sockets matching o, each referenced (sio__select_free). */
int sio__select_local(sio_nsp *nsp, const sio_bcast_opts *o, sio_socket ***v, size_t *n);
void sio__select_free(sio_socket **v, size_t n);

/* client.c: the Engine.IO session glue */
size_t sio__client_buffered(const sio__client *c);
int sio__client_writable(const sio__client *c);
const char *sio__client_transport(const sio__client *c);
void sio__client_close(sio__client *c, const char *reason);
/* A namespace connected (or the client is going): the connect timeout no longer applies. */
void sio__client_stop_connect_wait(sio__client *c);
/* socket.disconnect(true): every socket of the client leaves, then the session closes. */
void sio__client_disconnect_all(sio__client *c);
void sio__client_ref(sio__client *c);
void sio__client_unref(sio__client *c);
/* The Engine.IO server's callbacks (user: the sio_io): each session becomes a client. */
extern const sio__eio_handlers sio__client_eio_handlers;
/* parser.c: a lone packet (a text message), or a packet encoded once (text then attachments,
 * or with the msgpack parser its msgpack form, made at the first send and kept in o->mp), to
 * the client's session, as its parser writes it. 0, SIO_ECLOSED or negative. */
int sio__client_send_msg(sio__client *c, const sio__eio_msg *m);
int sio__client_send_out(sio__client *c, const sio__out *o);
/* Sends a packet (text then attachments) honouring the send-buffer policy. vol: volatile.
 * Returns 0, SIO_ETOOLARGE (dropped) or SIO_ECLOSED. */
int sio__socket_send_packet(sio_socket *s, const sio__out *o, int vol);

/* nsp.c */
sio_nsp *sio__nsp_new(sio_io *io, const char *name, size_t len, int kind);
void sio__nsp_free(sio_nsp *nsp);
void sio__nsp_ref(sio_nsp *nsp);
void sio__nsp_unref(sio_nsp *nsp);
/* The server goes: frees the namespace now, or leaves it to its last reference. */
void sio__nsp_release(sio_nsp *nsp);
sio_nsp *sio__nsp_lookup(sio_io *io, const char *name, size_t len, const char *auth);
void sio__nsp_connect(sio_nsp *nsp, sio__client *c, const char *auth, size_t auth_len);
/* A socket left: removes a dynamic child with no socket left (cleanup_empty_child_namespaces). */
void sio__nsp_maybe_cleanup(sio_nsp *nsp);
void sio__send_connect_error(sio__client *c, const char *nsp, size_t nsp_len, const char *message,
                             const char *data_json);
/* A new socket goes through the middlewares (skip_mw: straight to connected), then connects. */
void sio__nsp_admit(sio_socket *s, int skip_mw);

/* handshake.c: socket.handshake as Node's JSON.stringify writes it. 0 or -ENOMEM. */
int sio__handshake_write(sio__sbuf *sb, const sio_socket *s);

/* socket.c */
sio_socket *sio__socket_new(sio_nsp *nsp, sio__client *c, const char *auth, size_t auth_len);
void sio__socket_on_packet(sio_socket *s, const sio__sio_packet *p, sio__buf *const *att,
                           unsigned natt);
void sio__socket_close(sio_socket *s, const char *reason, int send_disconnect);
void sio__socket_emit_out(sio_socket *s, const sio_msg *m, const sio_args *view);

/* emit.c: to one socket. flags: SIO_BC_VOLATILE and SIO_BC_COMPRESS of the operator
 * (socket.volatile / .compress). Consumes m. */
int sio__emit_to_socket(sio_socket *s, sio_msg *m, unsigned flags);
/* op.c: the same through the adapter, stored for recovery (does not consume m). */
int sio__emit_stored(sio_socket *s, sio_msg *m, unsigned flags);
/* onAnyOutgoing listeners get a view of m, built once (*view, *text) for every recipient of a
 * broadcast; sio__view_free releases it. */
void sio__emit_out_listeners(sio_socket *s, const sio_msg *m, sio_args **view, sio__buf **text);
void sio__view_free(sio_args *view, sio__buf *text);
/* One socket.emit's packet o to s: its outgoing listeners first, then the send (what it
 * returned). */
int sio__emit_out_send(sio_socket *s, const sio_msg *m, const sio__out *o, int vol);

/* ack.c: the client's ack requests (for socket.c's dispatcher) */
sio_ack *sio__ack_new(sio_socket *s, uint64_t id);
void sio__ack_after_handlers(sio_ack *a); /* the handlers returned */
/* acks the server waits for */
/* One socket's answer to ack id, for fn (timeout_ms 0: none). NULL on OOM. */
sio__pending_ack *sio__ack_wait(sio_socket *s, uint64_t id, sio_ack_fn fn, void *user,
                                uint32_t timeout_ms);
/* One recipient of a broadcast with acks: its answer goes to c (not counted on OOM). */
void sio__ack_wait_collect(sio_socket *s, uint64_t id, sio__collector *c);
void sio__pending_free(sio__pending_ack *p);
int sio__ack_deliver(sio_socket *s, uint64_t id, const sio_args *args);
void sio__acks_fail_all(sio_socket *s, int status);
/* A collector for m's sio_msg_acks callback; it cannot finish until sio__collector_selected
 * says every recipient is known (the timeout starts then; c may be gone when it returns). */
sio__collector *sio__collector_new(const sio_msg *m);
void sio__collector_selected(sio__collector *c, sio_io *io, uint32_t timeout_ms);
void sio__collector_unref(sio__collector *c);
/* A broadcast from another node: each answer goes to `to` instead of being kept, and the
 * local client count too once selection ends. */
void sio__collector_forward(sio__collector *c, const sio_remote_acks *to);
sio_bcast_acks *sio__collector_acks(sio__collector *c); /* the adapter's handle on it */

/* async.c */
int sio__async_init(sio_io *io);
void sio__async_close(sio_io *io); /* detaches the queue: requests get SIO_ECLOSED */
void sio__async_free(sio_io *io);  /* closes its handle (it frees itself later) */
void sio__async_unref(sio_io *io); /* stop keeping the loop alive */

/* --- observer (io.c): one per server, for the admin UI (src/admin) ---------------------------
 * It sees every Engine.IO session and message and every socket of every namespace, after the
 * fact, on the loop thread. Any field may be NULL. */
struct sio__observer {
  void (*client_open)(sio__client *c, void *user);                      /* a new session */
  void (*client_close)(sio__client *c, const char *reason, void *user); /* it ended */
  void (*packet)(sio_io *io, int out, size_t bytes, void *user);        /* one message in or out */
  void (*socket_connect)(sio_socket *s, void *user); /* before its connection handlers */
  /* join-room / leave-room of Node's adapter: joined 1 when s entered room, 0 when it left
   * (on a disconnect, called for each room while they are still joined) */
  void (*room)(sio_socket *s, const char *room, int joined, void *user);
  void (*data)(sio_socket *s, void *user); /* sio_socket_set_data_json on a connected socket */
  void (*io_free)(sio_io *io, void *user); /* the server is being freed (clients are gone) */
};
/* 0, or -EBUSY when the server already has an observer (obs NULL removes it). */
int sio__io_observe(sio_io *io, const sio__observer *obs, void *user);
/* A message went out to (out 1) or came from a client: its Engine.IO data length. */
static inline void sio__obs_msg(sio_io *io, const sio__eio_msg *m) {
  if (io->obs && io->obs->packet)
    io->obs->packet(io, 1, m->b->len - m->data_off - (m->binary ? 0 : 1), io->obs_user);
}
static inline void sio__obs_room(sio_socket *s, const char *room, int joined) {
  sio_io *io = s->nsp->io;
  if (io->obs && io->obs->room) io->obs->room(s, room, joined, io->obs_user);
}
/* The rooms s is in, each told to the observer as left (before the adapter's del_all). */
void sio__obs_leave_all(sio_socket *s);

/* serve.c */
int sio__serve_client_init(sio_io *io);
void sio__serve_client_free(sio_io *io);

#endif
