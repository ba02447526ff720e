/* The adapter: who is in which room, and who receives a broadcast.
 *
 * Each namespace owns one adapter (Node's socket.io does the same). The Socket.IO layer asks it
 * to add and remove sockets to and from rooms and to select the recipients of a broadcast
 * ({rooms, except, flags}); it encodes the packet ONCE and then sends that one shared buffer to
 * every recipient the adapter selects. The in-memory adapter (the default) answers from local
 * state; a multi-node adapter (Redis, later) also forwards the packet to other nodes, which is
 * why the broadcast call carries the packet description and the flags.
 *
 * Sockets appear to the adapter as sio__member, a small struct embedded in the socket: the
 * adapter keeps its per-socket state there (the rooms the socket is in, as pointers to room
 * objects, never as strings per socket; both sides keep each other's index, so join and leave
 * are O(1) without hashing) and the Socket.IO layer gets its socket back with
 * sio__container_of.
 *
 * Selection is reentrancy-safe: recipients are collected first and the callback runs after, so
 * a callback may disconnect sockets or change rooms (a send past the buffer limit disconnects
 * its client) without disturbing the iteration. Each recipient is selected once, however many
 * of the rooms it is in. */
#ifndef SIO_ADAPTER_ADAPTER_H
#define SIO_ADAPTER_ADAPTER_H
#include <stddef.h>
#include <stdint.h>

typedef struct sio__adapter sio__adapter;
typedef struct sio__room sio__room;

typedef struct sio__mroom sio__mroom; /* adapter-private: (room, position in it) */

typedef struct sio__member {
  sio__mroom *rooms; /* the rooms this socket is in (adapter-owned) */
  uint32_t nrooms;
  uint32_t cap;
  uint32_t mark;  /* selection generation (adapter-private) */
  uint32_t slot;  /* index in the adapter's member table (adapter-private) */
  const char *id; /* the socket id (its own room); owned by the socket */
  uint8_t own;    /* in its own room, kept implicitly (adapter-private; see lookup) */
} sio__member;

enum {
  SIO__BC_VOLATILE = 1, /* skip recipients that cannot take it now */
  SIO__BC_COMPRESS = 2, /* permessage-deflate wanted */
  SIO__BC_LOCAL = 4,    /* this node only */
  SIO__BC_ACK = 8,      /* the sender expects an answer per recipient */
};

typedef struct sio__bcast_opts {
  const char *const *rooms; /* union; none: every socket of the namespace */
  size_t nrooms;
  const char *const *except; /* sockets in any of these rooms are skipped */
  size_t nexcept;
  unsigned flags;     /* SIO__BC_* */
  const void *packet; /* the packet for remote nodes (a multi-node adapter); may be NULL */
} sio__bcast_opts;

/* Called once per selected socket. */
typedef void (*sio__member_fn)(sio__member *m, void *ctx);
/* Called for each room name; return non-zero to stop. */
typedef int (*sio__room_name_fn)(const char *room, size_t len, void *ctx);

typedef struct sio__adapter_ops {
  const char *name;
  void (*destroy)(sio__adapter *a);
  /* Adds m to rooms (m becomes a member of the namespace on its first add). 0 or -ENOMEM. */
  int (*add_all)(sio__adapter *a, sio__member *m, const char *const *rooms, size_t n);
  /* Removes m from one room (0, or SIO_ENOTFOUND when it was not in it). */
  int (*del)(sio__adapter *a, sio__member *m, const char *room);
  /* Removes m from every room and from the namespace. */
  void (*del_all)(sio__adapter *a, sio__member *m);
  int (*has)(const sio__adapter *a, const sio__member *m, const char *room);
  void (*rooms_of)(const sio__adapter *a, const sio__member *m, sio__room_name_fn fn, void *ctx);
  /* Local recipients of a broadcast: fn once each. Returns how many, or a negative code. */
  long (*select)(sio__adapter *a, const sio__bcast_opts *o, sio__member_fn fn, void *ctx);
  /* A broadcast: select locally (fn for each) and, unless SIO__BC_LOCAL, tell other nodes.
   * Returns the local count or a negative code. */
  long (*broadcast)(sio__adapter *a, const sio__bcast_opts *o, sio__member_fn fn, void *ctx);
  size_t (*room_size)(const sio__adapter *a, const char *room);
  size_t (*count)(const sio__adapter *a); /* members */
} sio__adapter_ops;

struct sio__adapter {
  const sio__adapter_ops *ops;
  void *nsp; /* the owning namespace (opaque here) */
  /* Optional, set by the namespace: the member whose id is `id`. With it, a socket's own room
   * costs nothing (no room object): a room name that is a member's id selects that member
   * (plus anyone else who joined a real room of that name). */
  sio__member *(*lookup)(void *nsp, const char *id);
};

/* Creates an adapter for a namespace. NULL on allocation failure. */
typedef sio__adapter *(*sio__adapter_factory)(void *nsp, void *arg);

/* The in-memory adapter (the default). */
sio__adapter *sio__memory_adapter_new(void *nsp, void *arg);

#endif
