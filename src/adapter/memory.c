/* The in-memory adapter (the default; see include/sio/adapter.h), written against the public
 * header (and core) only, as any other adapter would be.
 *
 * State: a map from room name to room; a room is a dense array of (member, index of this room
 * in the member's array) and a member's rooms are a dense array of (room, index of the member
 * in the room's array). Each side knows where it sits in the other, so join and leave are O(1)
 * (swap-remove on both arrays) and a socket costs two pointers-and-an-index per room, no string.
 * An empty room is freed at once. A socket's own room (its id) costs nothing: a flag on the
 * member, found through the namespace's id lookup. Every member is also in a flat array (for
 * namespace-wide broadcasts).
 *
 * Selection marks members with a generation number: members of the except rooms get the mark
 * first, then every unmarked member of the target rooms is marked and collected. So each
 * recipient is collected once whatever the number of rooms it shares, with no temporary set.
 *
 * Connection state recovery (when the server enables it: base.recovery): the packets broadcast
 * with SIO_BC_STORE and the sessions of dropped sockets live in a session store
 * (session_store.c), made at first use. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "adapter/session_store.h"
#include "core/alloc.h"
#include "core/map.h"
#include "sio/adapter.h"
#include "sio/recovery.h"

typedef struct room room_t;

typedef struct mroom {
  room_t *room;
  uint32_t pos; /* index of the member in room->v */
} mroom;

/* The member's rooms (sio_member.rooms is ours). */
static inline mroom *mr(const sio_member *m) {
  return m->rooms;
}

typedef struct rmember {
  sio_member *m;
  uint32_t idx; /* index of the room in m->rooms */
} rmember;

struct room {
  rmember *v;
  uint32_t n, cap;
  size_t len;
  char name[];
};

typedef struct mem_adapter {
  sio_adapter base;
  sio__map rooms;
  sio_member **all;
  size_t nall, capall;
  uint32_t gen;
  sio_member **scratch; /* reused selection array (when not in use) */
  size_t scratch_cap;
  int scratch_busy;
  sio__sstore *store; /* connection state recovery, made at first use */
} mem_adapter;

static int grow(void **arr, uint32_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? (size_t)*cap * 2 : 4;
  while (ncap < need) ncap *= 2;
  if (ncap > UINT32_MAX) return -ENOMEM;
  void *p = sio__realloc(*arr, ncap * elem);
  if (!p) return -ENOMEM;
  *arr = p;
  *cap = (uint32_t)ncap;
  return 0;
}

static int add_member(mem_adapter *a, sio_member *m) {
  if (m->slot != UINT32_MAX && m->slot < a->nall && a->all[m->slot] == m) return 0;
  if (a->nall == a->capall) {
    size_t ncap = a->capall ? a->capall * 2 : 16;
    sio_member **p = sio__realloc(a->all, ncap * sizeof(*p));
    if (!p) return -ENOMEM;
    a->all = p;
    a->capall = ncap;
  }
  m->slot = (uint32_t)a->nall;
  a->all[a->nall++] = m;
  return 0;
}

static int is_member(const mem_adapter *a, const sio_member *m) {
  return m->slot < a->nall && a->all[m->slot] == m;
}

static room_t *room_get(const mem_adapter *a, const char *name) {
  return a->rooms.count ? sio__map_get(&a->rooms, name, strlen(name)) : NULL;
}

static int is_own(const mem_adapter *a, const sio_member *m, const char *name) {
  return a->base.lookup && m->id && strcmp(m->id, name) == 0;
}

/* The member whose own (implicit) room is `name`, if any. */
static sio_member *own_member(const mem_adapter *a, const char *name) {
  if (!a->base.lookup) return NULL;
  sio_member *m = a->base.lookup(a->base.nsp, name);
  return m && m->own ? m : NULL;
}

static int join(mem_adapter *a, sio_member *m, const char *name) {
  if (is_own(a, m, name)) {
    m->own = 1;
    return 0;
  }
  size_t len = strlen(name);
  room_t *r = sio__map_get(&a->rooms, name, len);
  if (r) {
    for (uint32_t i = 0; i < m->nrooms; i++)
      if (mr(m)[i].room == r) return 0; /* already in */
  }
  if (grow((void **)&m->rooms, &m->cap, m->nrooms + 1, sizeof(mroom))) return -ENOMEM;
  int created = 0;
  if (!r) {
    r = sio__malloc(sizeof(*r) + len + 1);
    if (!r) return -ENOMEM;
    r->v = NULL;
    r->n = r->cap = 0;
    r->len = len;
    memcpy(r->name, name, len + 1);
    if (sio__map_put_ref(&a->rooms, r->name, len, r)) { /* key inside r */
      sio__free(r);
      return -ENOMEM;
    }
    created = 1;
  }
  if (grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v))) {
    if (created) {
      sio__map_del(&a->rooms, name, len);
      sio__free(r);
    }
    return -ENOMEM;
  }
  r->v[r->n] = (rmember){m, m->nrooms};
  mr(m)[m->nrooms] = (mroom){r, r->n};
  r->n++;
  m->nrooms++;
  return 0;
}

/* Removes membership i of m (both sides), freeing the room when it empties. */
static void unjoin(mem_adapter *a, sio_member *m, uint32_t i) {
  room_t *r = mr(m)[i].room;
  uint32_t pos = mr(m)[i].pos;
  /* room side */
  r->n--;
  if (pos != r->n) {
    r->v[pos] = r->v[r->n];
    mr(r->v[pos].m)[r->v[pos].idx].pos = pos;
  }
  /* member side */
  m->nrooms--;
  if (i != m->nrooms) {
    mr(m)[i] = mr(m)[m->nrooms];
    mr(m)[i].room->v[mr(m)[i].pos].idx = i;
  }
  if (r->n == 0) {
    sio__map_del(&a->rooms, r->name, r->len);
    sio__free(r->v);
    sio__free(r);
  }
}

static int mem_add_all(sio_adapter *base, sio_member *m, const char *const *rooms, size_t n) {
  mem_adapter *a = (mem_adapter *)base;
  if (!is_member(a, m)) {
    m->slot = UINT32_MAX;
    if (add_member(a, m)) return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = join(a, m, rooms[i]);
    if (rc) return rc;
  }
  return 0;
}

static int mem_del(sio_adapter *base, sio_member *m, const char *room) {
  mem_adapter *a = (mem_adapter *)base;
  if (is_own(a, m, room)) {
    if (!m->own) return SIO_ENOTFOUND;
    m->own = 0;
    return 0;
  }
  room_t *r = room_get(a, room);
  if (!r) return SIO_ENOTFOUND;
  for (uint32_t i = 0; i < m->nrooms; i++) {
    if (mr(m)[i].room == r) {
      unjoin(a, m, i);
      return 0;
    }
  }
  return SIO_ENOTFOUND;
}

static void mem_del_all(sio_adapter *base, sio_member *m) {
  mem_adapter *a = (mem_adapter *)base;
  m->own = 0;
  while (m->nrooms) unjoin(a, m, m->nrooms - 1);
  sio__free(m->rooms);
  m->rooms = NULL;
  m->cap = 0;
  if (is_member(a, m)) {
    a->nall--;
    if (m->slot != a->nall) {
      a->all[m->slot] = a->all[a->nall];
      a->all[m->slot]->slot = m->slot;
    }
  }
  m->slot = UINT32_MAX;
}

static int mem_has(const sio_adapter *base, const sio_member *m, const char *room) {
  const mem_adapter *a = (const mem_adapter *)base;
  if (is_own(a, m, room)) return m->own;
  room_t *r = room_get(a, room);
  if (!r) return 0;
  for (uint32_t i = 0; i < m->nrooms; i++)
    if (mr(m)[i].room == r) return 1;
  return 0;
}

static void mem_rooms_of(const sio_adapter *base, const sio_member *m, sio_room_name_fn fn,
                         void *ctx) {
  if (m->own && fn(m->id, strlen(m->id), ctx)) return;
  for (uint32_t i = 0; i < m->nrooms; i++)
    if (fn(mr(m)[i].room->name, mr(m)[i].room->len, ctx)) return;
}

/* Collects the recipients into *out (the scratch array or a new one). Returns the count. */
static long collect(mem_adapter *a, const sio_bcast_opts *o, sio_member ***out) {
  size_t bound = 0;
  if (o->nrooms == 0) {
    bound = a->nall;
  } else {
    for (size_t i = 0; i < o->nrooms; i++) {
      room_t *r = room_get(a, o->rooms[i]);
      if (r) bound += r->n;
      bound++; /* a member's own room */
    }
  }
  sio_member **arr;
  if (!a->scratch_busy && bound <= a->scratch_cap) {
    arr = a->scratch;
  } else if (!a->scratch_busy) {
    size_t cap = a->scratch_cap ? a->scratch_cap : 16;
    while (cap < bound) cap *= 2;
    arr = sio__realloc(a->scratch, cap * sizeof(*arr));
    if (!arr) return -ENOMEM;
    a->scratch = arr;
    a->scratch_cap = cap;
  } else {
    arr = sio__malloc((bound ? bound : 1) * sizeof(*arr));
    if (!arr) return -ENOMEM;
  }
  uint32_t gen = ++a->gen;
  if (gen == 0) { /* wrapped: reset every mark */
    for (size_t i = 0; i < a->nall; i++) a->all[i]->mark = 0;
    gen = a->gen = 1;
  }
  for (size_t i = 0; i < o->nexcept; i++) {
    sio_member *own = own_member(a, o->except[i]);
    if (own) own->mark = gen;
    room_t *r = room_get(a, o->except[i]);
    if (!r) continue;
    for (uint32_t j = 0; j < r->n; j++) r->v[j].m->mark = gen;
  }
  size_t n = 0;
  if (o->nrooms == 0) {
    for (size_t i = 0; i < a->nall; i++)
      if (a->all[i]->mark != gen) arr[n++] = a->all[i];
  } else {
    for (size_t i = 0; i < o->nrooms; i++) {
      sio_member *own = own_member(a, o->rooms[i]);
      if (own && own->mark != gen) {
        own->mark = gen;
        arr[n++] = own;
      }
      room_t *r = room_get(a, o->rooms[i]);
      if (!r) continue;
      for (uint32_t j = 0; j < r->n; j++) {
        sio_member *m = r->v[j].m;
        if (m->mark == gen) continue;
        m->mark = gen;
        arr[n++] = m;
      }
    }
  }
  *out = arr;
  return (long)n;
}

static long mem_select(sio_adapter *base, const sio_bcast_opts *o, sio_member_fn fn, void *ctx) {
  mem_adapter *a = (mem_adapter *)base;
  if (o->nrooms == 1 && !o->nexcept && !room_get(a, o->rooms[0])) {
    /* one socket's own room (socket.emit with recovery on, io.to(id)): no selection array */
    sio_member *own = own_member(a, o->rooms[0]);
    if (own) fn(own, ctx);
    return own != NULL;
  }
  sio_member **arr;
  long n = collect(a, o, &arr);
  if (n < 0) return n;
  int own = arr == a->scratch;
  if (own) a->scratch_busy = 1;
  for (long i = 0; i < n; i++) fn(arr[i], ctx);
  if (own)
    a->scratch_busy = 0;
  else
    sio__free(arr);
  return n;
}

static size_t mem_room_size(const sio_adapter *base, const char *room) {
  const mem_adapter *a = (const mem_adapter *)base;
  room_t *r = room_get(a, room);
  size_t n = r ? r->n : 0;
  sio_member *own = own_member(a, room);
  if (own) {
    n++;
    for (uint32_t j = 0; r && j < r->n; j++)
      if (r->v[j].m == own) n--; /* also joined a real room of its own name: count once */
  }
  return n;
}

static size_t mem_count(const sio_adapter *base) {
  return ((const mem_adapter *)base)->nall;
}

static void mem_destroy(sio_adapter *base) {
  mem_adapter *a = (mem_adapter *)base;
  while (a->nall) mem_del_all(base, a->all[a->nall - 1]);
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&a->rooms, &i))) { /* none left normally */
    room_t *r = e->value;
    sio__free(r->v);
    sio__free(r);
  }
  sio__map_free(&a->rooms);
  sio__free(a->all);
  sio__free(a->scratch);
  sio__sstore_free(a->store);
  sio__free(a);
}

/* --- connection state recovery ------------------------------------------------------------ */

/* Milliseconds for the recovery window, read at every stored packet: the coarse clock (a read
 * of the kernel's tick, a few ms of resolution) costs a fraction of uv_hrtime's. */
static uint64_t now_ms(void) {
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &t)) return uv_hrtime() / 1000000;
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The store and its limits, or NULL when recovery is off (or out of memory). */
static sio__sstore *store_of(mem_adapter *a, sio__sstore_limits *l) {
  const sio_recovery_opts *r = a->base.recovery;
  if (!r || !r->enabled) return NULL;
  l->window_ms = r->max_disconnection_duration_ms;
  l->max_packets = r->max_packets;
  l->max_sessions = r->max_sessions;
  if (!a->store) a->store = sio__sstore_new(a->base.nsp ? sio_nsp_name(a->base.nsp) : NULL);
  return a->store;
}

static int mem_persist_session(sio_adapter *base, const sio_session *s) {
  sio__sstore_limits l;
  sio__sstore *st = store_of((mem_adapter *)base, &l);
  return st ? sio__sstore_persist(st, &l, now_ms(), s) : SIO_ENOTFOUND;
}

static int mem_restore_session(sio_adapter *base, const char *pid, const char *offset,
                               sio_restore_fn fn, void *user) {
  sio__sstore_limits l;
  sio__sstore *st = store_of((mem_adapter *)base, &l);
  return st ? sio__sstore_restore(st, &l, now_ms(), pid, offset, fn, user) : SIO_ENOTFOUND;
}

static int mem_last_offset(sio_adapter *base, char *buf, size_t cap) {
  sio__sstore_limits l;
  sio__sstore *st = store_of((mem_adapter *)base, &l);
  char off[SIO__SSTORE_OFFSET_MAX] = "";
  if (st) {
    sio__sstore_sweep(st, &l, now_ms());
    sio__sstore_last(st, off);
  }
  size_t n = strlen(off);
  if (n + 1 > cap) return -ENOBUFS;
  memcpy(buf, off, n + 1);
  return 0;
}

/* One node: a broadcast is a local selection, with no remote answer to wait for; a packet to
 * keep for recovery is stored first, so that every recipient gets it with its offset. */
static long mem_broadcast(sio_adapter *base, const sio_packet *p, const sio_bcast_opts *o,
                          sio_member_fn fn, void *ctx, sio_bcast_acks *acks) {
  (void)acks;
  sio__sstore_limits l;
  sio__sstore *st = o->flags & SIO_BC_STORE ? store_of((mem_adapter *)base, &l) : NULL;
  char off[SIO__SSTORE_OFFSET_MAX];
  int n = st ? sio__sstore_add(st, &l, now_ms(), p, o, off) : -1;
  if (n > 0) sio_packet_set_offset(p, off, (size_t)n);
  return mem_select(base, o, fn, ctx);
}

/* socket.emit with recovery on: stored as a broadcast to the socket's own room would be, the
 * namespace sending it (no selection, no lookup of the member it already has). */
static int mem_store_emit(sio_adapter *base, const sio_packet *p, const sio_member *m,
                          unsigned flags, char *offset, size_t cap) {
  mem_adapter *a = (mem_adapter *)base;
  if (cap < SIO__SSTORE_OFFSET_MAX) return -ENOBUFS; /* before anything is stored */
  if (room_get(a, m->id)) return 0;                  /* a real room of that name: others too */
  sio__sstore_limits l;
  sio__sstore *st = store_of(a, &l);
  if (!st) return -ENOMEM;
  const char *rooms[] = {m->id};
  sio_bcast_opts o = {rooms, 1, NULL, 0, flags, 0};
  int n = sio__sstore_add(st, &l, now_ms(), p, &o, offset); /* cap checked above */
  return n > 0 ? n : n < 0 ? n : -EINVAL;
}

/* Every room: the sockets' own rooms, then the real ones (a real room named after a socket
 * that is in its own room was listed with it). */
static void mem_rooms(const sio_adapter *base, sio_room_name_fn fn, void *ctx) {
  const mem_adapter *a = (const mem_adapter *)base;
  for (size_t i = 0; i < a->nall; i++)
    if (a->all[i]->own && fn(a->all[i]->id, strlen(a->all[i]->id), ctx)) return;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&a->rooms, &i))) {
    room_t *r = e->value;
    if (own_member(a, r->name)) continue;
    if (fn(r->name, r->len, ctx)) return;
  }
}

typedef struct names {
  const char **v;
  size_t n, cap;
  int oom;
} names;

static int add_name(const char *room, size_t len, void *ctx) {
  names *ns = ctx;
  (void)len;
  if (ns->n == ns->cap) {
    size_t cap = ns->cap ? ns->cap * 2 : 16;
    const char **p = sio__realloc(ns->v, cap * sizeof(*p));
    if (!p) {
      ns->oom = 1;
      return 1;
    }
    ns->v = p;
    ns->cap = cap;
  }
  ns->v[ns->n++] = room;
  return 0;
}

static int mem_all_rooms(sio_adapter *base, uint32_t timeout_ms, sio_names_fn fn, void *user) {
  (void)timeout_ms;
  names ns = {0};
  mem_rooms(base, add_name, &ns);
  if (ns.oom) {
    sio__free(ns.v);
    return -ENOMEM;
  }
  fn(0, ns.v, ns.n, user);
  sio__free(ns.v);
  return 0;
}

/* --- the rest of the cluster: there is none --- */

static int mem_fetch_sockets(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                             void *user) {
  fn(0, NULL, 0, user);
  return 0;
}

static int mem_change_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n) {
  return 0;
}

static int mem_disconnect_sockets(sio_adapter *a, const sio_bcast_opts *o, int close) {
  return 0;
}

static int mem_server_side_emit(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                                sio_server_acks_fn fn, void *user) {
  if (fn) fn(0, NULL, 0, user); /* no other server to answer */
  return 0;
}

static int mem_server_count(sio_adapter *a, sio_count_fn fn, void *user) {
  fn(0, 1, user);
  return 0;
}

static const sio_adapter_ops mem_ops = {
    .name = "memory",
    .destroy = mem_destroy,
    .add_all = mem_add_all,
    .del = mem_del,
    .del_all = mem_del_all,
    .has = mem_has,
    .rooms_of = mem_rooms_of,
    .room_size = mem_room_size,
    .count = mem_count,
    .rooms = mem_rooms,
    .select = mem_select,
    .broadcast = mem_broadcast,
    .fetch_sockets = mem_fetch_sockets,
    .add_sockets = mem_change_sockets,
    .del_sockets = mem_change_sockets,
    .disconnect_sockets = mem_disconnect_sockets,
    .server_side_emit = mem_server_side_emit,
    .server_count = mem_server_count,
    .all_rooms = mem_all_rooms,
    .persist_session = mem_persist_session,
    .restore_session = mem_restore_session,
    .last_offset = mem_last_offset,
    .store_emit = mem_store_emit,
};

sio_adapter *sio_memory_adapter_new(sio_nsp *nsp, void *arg) {
  (void)arg;
  mem_adapter *a = sio__calloc(1, sizeof(*a));
  if (!a) return NULL;
  a->base.ops = &mem_ops;
  a->base.nsp = nsp;
  return &a->base;
}
