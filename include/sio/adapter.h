/* sio adapters: the seam between a Socket.IO namespace and whatever knows who is in which room,
 * on this node and, for a multi-node adapter (Redis, a cluster), on the others.
 *
 * Each namespace owns one adapter, made by the factory given in sio_io_opts (adapter,
 * adapter_arg; default: the in-memory adapter, sio_memory_adapter_new), as Node's socket.io
 * does (`io.adapter(createAdapter(...))`). The operations mirror Node's socket.io-adapter 2.5
 * (`Adapter` and `ClusterAdapter`):
 *
 *   Node                                     here (sio_adapter_ops)
 *   addAll / del / delAll / socketRooms      add_all / del / del_all / rooms_of, has
 *   rooms.get(r).size / sids.size / rooms    room_size / count / rooms
 *   broadcast / broadcastWithAck             broadcast (acks: a sio_bcast_acks to feed)
 *   sockets(rooms) (local selection)         select
 *   fetchSockets (remote part)               fetch_sockets
 *   addSockets / delSockets / disconnect...  add_sockets / del_sockets / disconnect_sockets
 *   serverSideEmit (with or without ack)     server_side_emit
 *   serverCount / allRooms (redis adapter)   server_count / all_rooms
 *   persistSession / restoreSession          persist_session / restore_session, last_offset
 *   (SessionAwareAdapter: offsets)           SIO_BC_STORE, sio_packet_set_offset
 *
 * Division of work: the namespace encodes a broadcast ONCE and sends that one buffer to every
 * local recipient the adapter's select/broadcast hands back (fn once per recipient); a
 * multi-node adapter also forwards the packet (sio_packet_data: the JSON text, plus the binary
 * attachments) to other nodes. For the cluster operations (fetch, join, leave, disconnect,
 * server-side emit, server count, all rooms) the namespace does the local part itself and asks
 * the adapter for the rest: an adapter that only knows this node (the in-memory one) answers
 * at once with nothing remote (server count 1, no remote socket, a server-side emit reaches
 * no other server; with an ack, the callback gets 0 answers).
 *
 * The other direction, for messages that arrive from other nodes, is the sio_adapter_*
 * functions at the end: deliver a broadcast to the local recipients, apply a remote
 * join/leave/disconnect, describe the local sockets for a remote fetch, and deliver a
 * server-side emit to the namespace's handlers.
 *
 * Conventions as the rest of sio: 0 or a negative code; every call on the loop thread;
 * asynchronous results come through a callback with the caller's user pointer, exactly once,
 * possibly before the call returns (an adapter that answers from local state), or with
 * SIO_ETIMEDOUT and the answers so far when the timeout passed. Selection is reentrancy-safe:
 * an adapter collects recipients first and calls fn after, so fn may disconnect sockets or
 * change rooms; each recipient is selected once, whatever the number of its rooms. */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "sio/cluster.h"
#include "sio/core.h"
#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A socket as the adapter sees it: embedded in every sio_socket (no allocation per socket),
 * zeroed when the socket is made. `id` is set by Socket.IO (the socket id, valid while the
 * socket is a member); every other field is the adapter's own, never read by Socket.IO: the
 * in-memory adapter keeps there the socket's rooms as pointers to room objects with
 * back-indexes (O(1) join and leave, no string per socket), its place in the namespace-wide
 * array and a selection mark. Another adapter may use them as it likes, or wrap the
 * in-memory adapter and leave them to it. */
typedef struct sio_member {
  void *rooms;     /* adapter: the rooms the socket is in */
  uint32_t nrooms; /* adapter */
  uint32_t cap;    /* adapter */
  uint32_t mark;   /* adapter: selection generation */
  uint32_t slot;   /* adapter: index in a member table */
  const char *id;  /* Socket.IO: the socket id (its own room) */
  uint8_t own;     /* adapter: in its own room */
} sio_member;

/* The socket a member is embedded in. */
SIO_EXTERN sio_socket *sio_member_socket(sio_member *m);

enum {
  SIO_BC_VOLATILE = 1, /* skip recipients that cannot take it now */
  SIO_BC_COMPRESS = 2, /* the packet may be compressed (socket.compress(true), the default) */
  SIO_BC_LOCAL = 4,    /* this node only: do not forward (io.local) */
  SIO_BC_ACK = 8,      /* the sender expects an answer per recipient */
  SIO_BC_STORE = 16,   /* connection state recovery: keep the packet for replay, give it an
                          offset (sio_packet_set_offset); set only for an adapter that
                          implements restore_session, on an EVENT without ack, not volatile */
};

/* BroadcastOptions: {rooms, except, flags}. No rooms: every socket of the namespace. */
typedef struct sio_bcast_opts {
  const char *const *rooms; /* union */
  size_t nrooms;
  const char *const *except; /* sockets in any of these rooms are skipped */
  size_t nexcept;
  unsigned flags;      /* SIO_BC_* */
  uint32_t timeout_ms; /* flags.timeout: acks and cluster requests (0: the adapter's own) */
} sio_bcast_opts;

/* The packet of a broadcast or a server-side emit, as other nodes need it. */
typedef struct sio_packet sio_packet;
SIO_EXTERN const char *sio_packet_nsp(const sio_packet *p);
/* The data array as JSON text: ["event",args...], a binary argument as the placeholder
 * {"_placeholder":true,"num":i} (for a server-side emit: the event and its arguments). Not
 * NUL-terminated; valid during the call that received p. */
SIO_EXTERN const char *sio_packet_data(const sio_packet *p, size_t *len);
SIO_EXTERN unsigned sio_packet_attachments(const sio_packet *p);
SIO_EXTERN const void *sio_packet_attachment(const sio_packet *p, unsigned i, size_t *len);

/* The answers of a broadcast with acks, as the adapter feeds them (see ops.broadcast). Valid
 * during the broadcast call; an adapter that feeds it later takes a reference then
 * (sio_bcast_acks_ref) and drops it when no more will come (sio_bcast_acks_release). Every
 * call is safe after the broadcast finished (a late answer is ignored, as in Node). */
typedef struct sio_bcast_acks sio_bcast_acks;
SIO_EXTERN void sio_bcast_acks_ref(sio_bcast_acks *a);
/* This many other servers will each report a client count (call once, during broadcast). */
SIO_EXTERN void sio_bcast_acks_expect_servers(sio_bcast_acks *a, size_t servers);
/* One server's count of clients that will answer (BROADCAST_CLIENT_COUNT). */
SIO_EXTERN void sio_bcast_acks_client_count(sio_bcast_acks *a, size_t clients);
/* One remote client's answer: its ack arguments as a JSON array text, a binary one as the
 * placeholder {"_placeholder":true,"num":i} of attachment i (att[i], att_len[i] bytes, copied;
 * natt 0: none, placeholders are plain objects). 0 or -EINVAL. */
SIO_EXTERN int sio_bcast_acks_answer(sio_bcast_acks *a, const char *args_json, size_t len,
                                     const void *const *att, const size_t *att_len, unsigned natt);
SIO_EXTERN void sio_bcast_acks_release(sio_bcast_acks *a);
/* Ends the broadcast now, when the answers still expected cannot come (the other servers are
 * out of reach: SIO_ECLOSED): the callback gets status and the answers so far. A no-op once
 * it ended; call it after the broadcast call returned. */
SIO_EXTERN void sio_bcast_acks_fail(sio_bcast_acks *a, int status);

/* --- connection state recovery (sio/recovery.h) ---------------------------------------------
 * Offsets. A packet broadcast with SIO_BC_STORE gets an offset: a string chosen by the adapter,
 * sent as the packet's last argument, that the client sends back when it reconnects. A
 * synchronous adapter (in-memory) stores the packet, then calls sio_packet_set_offset(p, …)
 * during ops.broadcast BEFORE the first fn call: every local recipient then gets the packet
 * with the offset appended. An asynchronous one (Redis Streams: the offset is the XADD entry
 * id, known once Redis answers) calls no fn during broadcast and delivers to the local
 * recipients later through sio_adapter_deliver, with a data array that already ends with the
 * offset. The offset is at most 63 bytes, printable ASCII without '"' or '\'. Once it is set,
 * sio_packet_data is valid until the first fn call only (the offset is then written into the
 * encoded packet). 0 or -EINVAL. */
SIO_EXTERN int sio_packet_set_offset(const sio_packet *p, const char *offset, size_t len);

/* A session as it is persisted at disconnect and handed back by a restore. Everything is
 * borrowed for the duration of the call (copy what you keep). */
typedef struct sio_session {
  const char *pid;          /* the private session id (sent in the CONNECT reply) */
  const char *sid;          /* the socket id, reused on recovery */
  const char *const *rooms; /* the rooms the socket was in, its own room (sid) not included */
  size_t nrooms;
  const char *data_json; /* socket.data (sio_socket_data_json: "{}" when unset) */
  /* The socket's position: ops.last_offset when the socket first connected (kept across
   * recoveries). A client that has no offset of its own (it never got an event) resumes from
   * there. NULL or "" when the adapter had none. */
  const char *offset;
} sio_session;

/* A packet the client missed, as a restore gives it: the data array (["event",args…,offset])
 * with the offset already last, placeholders for the binary attachments. */
typedef struct sio_missed_packet {
  const char *data;
  size_t len;
  const void *const *att;
  const size_t *att_len;
  unsigned natt;
} sio_missed_packet;

/* The answer of ops.restore_session: status 0 with the session and the packets it missed
 * (in order, those its rooms select), or a negative code (SIO_ENOTFOUND: no such session, it
 * expired, the offset is unknown or a packet after it is no longer kept) and nothing else. */
typedef void (*sio_restore_fn)(int status, const sio_session *s, const sio_missed_packet *pk,
                               size_t n, void *user);

typedef void (*sio_member_fn)(sio_member *m, void *ctx);
/* Called for each room name; return non-zero to stop. */
typedef int (*sio_room_name_fn)(const char *room, size_t len, void *ctx);

typedef struct sio_adapter_ops {
  const char *name;
  void (*destroy)(sio_adapter *a);
  /* --- rooms of this node --- */
  /* Adds m to rooms (m becomes a member of the namespace on its first add). 0 or -ENOMEM. */
  int (*add_all)(sio_adapter *a, sio_member *m, const char *const *rooms, size_t n);
  /* Removes m from one room (0, or SIO_ENOTFOUND when it was not in it). */
  int (*del)(sio_adapter *a, sio_member *m, const char *room);
  /* Removes m from every room and from the namespace (also for a member never added). */
  void (*del_all)(sio_adapter *a, sio_member *m);
  int (*has)(const sio_adapter *a, const sio_member *m, const char *room);
  void (*rooms_of)(const sio_adapter *a, const sio_member *m, sio_room_name_fn fn, void *ctx);
  size_t (*room_size)(const sio_adapter *a, const char *room);
  size_t (*count)(const sio_adapter *a); /* members */
  /* Every room of this node (sockets' own rooms included, as Node's adapter.rooms). */
  void (*rooms)(const sio_adapter *a, sio_room_name_fn fn, void *ctx);
  /* Local recipients of o: fn once each. Returns how many, or a negative code. */
  long (*select)(sio_adapter *a, const sio_bcast_opts *o, sio_member_fn fn, void *ctx);
  /* A broadcast: the local recipients (fn for each, as select) and, unless SIO_BC_LOCAL, the
   * packet to other nodes. With acks (SIO_BC_ACK), `acks` gathers the remote answers: the
   * adapter says how many servers will report (sio_bcast_acks_expect_servers) and feeds their
   * counts and answers; acks is NULL otherwise. Returns the local count or a negative code. */
  long (*broadcast)(sio_adapter *a, const sio_packet *p, const sio_bcast_opts *o, sio_member_fn fn,
                    void *ctx, sio_bcast_acks *acks);
  /* --- the rest of the cluster (the namespace did the local part) --- */
  /* The sockets of other nodes that match o (fn exactly once). */
  int (*fetch_sockets)(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                       void *user);
  /* socketsJoin / socketsLeave / disconnectSockets on other nodes. */
  int (*add_sockets)(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms, size_t n);
  int (*del_sockets)(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms, size_t n);
  int (*disconnect_sockets)(sio_adapter *a, const sio_bcast_opts *o, int close);
  /* serverSideEmit to every other server of the namespace. fn NULL: no ack wanted; else fn
   * gets one answer per other server (each the first ack argument as JSON), once. */
  int (*server_side_emit)(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                          sio_server_acks_fn fn, void *user);
  /* How many servers serve the namespace, this one included. */
  int (*server_count)(sio_adapter *a, sio_count_fn fn, void *user);
  /* Every room of every node (redis adapter's allRooms), each name once. */
  int (*all_rooms)(sio_adapter *a, uint32_t timeout_ms, sio_names_fn fn, void *user);
  /* --- the server's life --- */
  /* Optional (NULL: nothing to do). The server shuts down (sio_io_close, or the app's
   * graceful shutdown): what the adapter holds open (connections, timers) must no longer keep
   * the loop running, so that uv_run returns once the app is closed. The adapter keeps working
   * until destroy. Called once or more per adapter. */
  void (*shutdown)(sio_adapter *a);
  /* --- connection state recovery (optional: an adapter that leaves restore_session NULL
   * does not support it, and recovery stays off for its namespace, as in Node) --- */
  /* Keeps s (copied) for max_disconnection_duration_ms (a->recovery). 0 or a negative code. */
  int (*persist_session)(sio_adapter *a, const sio_session *s);
  /* The session pid, with offset the client's last offset (NULL when it sent none): fn
   * exactly once, now or later (asynchronous store). A session is restored once: it is
   * consumed by a successful restore. Returns 0, or a negative code without calling fn. */
  int (*restore_session)(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn fn,
                         void *user);
  /* The offset of the newest packet stored, as text in buf (cap bytes, NUL-terminated; "" when
   * none yet): where a socket connecting now starts (sio_session.offset). 0 or -ENOBUFS. */
  int (*last_offset)(sio_adapter *a, char *buf, size_t cap);
  /* Optional, for an adapter that stores synchronously (NULL: a stored socket.emit goes
   * through broadcast with rooms = {the socket's id}, as in Node). Keeps p, a socket.emit to
   * member m (flags SIO_BC_*, SIO_BC_STORE set), and writes its offset, NUL-terminated, into
   * offset (cap bytes; printable ASCII without '"' and '\\'). Returns the offset's length,
   * after which the namespace sends the packet to m itself; 0 when a room named m->id holds
   * other members too (nothing stored: the namespace uses broadcast, so that they get it as in
   * Node); or a negative code (nothing stored, nothing sent). */
  int (*store_emit)(sio_adapter *a, const sio_packet *p, const sio_member *m, unsigned flags,
                    char *offset, size_t cap);
} sio_adapter_ops;

/* What every adapter starts with (an adapter's struct embeds it first). */
struct sio_adapter {
  const sio_adapter_ops *ops;
  sio_nsp *nsp; /* the owning namespace (NULL in an adapter made outside sio, e.g. a test) */
  /* Set by the namespace: the member whose id is `id`, or NULL. With it, a socket's own room
   * needs no room object: a room name that is a member's id selects that member (the
   * in-memory adapter's own flag; Socket.IO joins each socket to its id at connection). */
  sio_member *(*lookup)(sio_nsp *nsp, const char *id);
  /* Set by the namespace: the server's recovery options (sio/recovery.h; read them at each
   * use, they may change; `enabled` 0: off), or NULL (an adapter made outside sio). */
  const struct sio_recovery_opts *recovery;
};

/* The in-memory adapter (the default): rooms and selection of this node, nothing remote. */
SIO_EXTERN sio_adapter *sio_memory_adapter_new(sio_nsp *nsp, void *arg);

/* --- calls an adapter makes into its namespace, for messages from other nodes ---------------
 * nsp is the adapter's (a->nsp). */

/* Ack answers of a remote broadcast, back to the node that asked (clientCount, then each:
 * the client's ack arguments as a JSON array text with placeholders for its binary
 * attachments att, as sio_adapter_deliver takes them; valid during the call). */
typedef struct sio_remote_acks {
  void (*client_count)(size_t n, void *user);
  void (*answer)(const char *args_json, size_t len, const void *const *att, const size_t *att_len,
                 unsigned natt, void *user);
  void *user;
} sio_remote_acks;
/* Delivers a broadcast from another node to the local recipients of o, encoded once: data is
 * the packet's data array as JSON (["event",args...], placeholders for the attachments), att
 * the binary attachments. With acks (non-NULL), each recipient's answer is passed on until
 * o->timeout_ms passes. The adapter's select chooses the recipients (nothing is forwarded). */
SIO_EXTERN int sio_adapter_deliver(sio_nsp *nsp, const char *data, size_t len,
                                   const void *const *att, const size_t *att_len, unsigned natt,
                                   const sio_bcast_opts *o, const sio_remote_acks *acks);
/* addSockets / delSockets / disconnectSockets from another node, applied to local sockets. */
SIO_EXTERN int sio_adapter_apply_join(sio_nsp *nsp, const sio_bcast_opts *o,
                                      const char *const *rooms, size_t n);
SIO_EXTERN int sio_adapter_apply_leave(sio_nsp *nsp, const sio_bcast_opts *o,
                                       const char *const *rooms, size_t n);
SIO_EXTERN int sio_adapter_apply_disconnect(sio_nsp *nsp, const sio_bcast_opts *o, int close);
/* The local sockets matching o, described for another node's fetchSockets (fn before this
 * returns; the descriptions are valid during fn). */
SIO_EXTERN int sio_adapter_describe_sockets(sio_nsp *nsp, const sio_bcast_opts *o,
                                            sio_remote_sockets_fn fn, void *user);
/* A server-side emit from another node: data is ["event",args...] as JSON, its binary
 * arguments placeholders for att (as sio_adapter_deliver; natt 0: none). The namespace's
 * sio_nsp_on_server_side handlers for the event run; with reply non-NULL the first handler
 * that answers (sio_server_ack_send_raw) sends its answer through reply, once. */
typedef void (*sio_server_reply_fn)(const char *json, size_t len, void *user);
SIO_EXTERN int sio_adapter_server_side_deliver(sio_nsp *nsp, const char *data, size_t len,
                                               const void *const *att, const size_t *att_len,
                                               unsigned natt, sio_server_reply_fn reply,
                                               void *user);

#ifdef __cplusplus
}
#endif

#endif
