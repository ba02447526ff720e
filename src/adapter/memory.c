/* The in-memory adapter (the default; see adapter.h).
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
 * recipient is collected once whatever the number of rooms it shares, with no temporary set. */
#include <errno.h>
#include <string.h>

#include "adapter/adapter.h"
#include "core/alloc.h"
#include "core/map.h"
#include "sio/core.h"

struct sio__mroom {
  sio__room *room;
  uint32_t pos; /* index of the member in room->v */
};

typedef struct rmember {
  sio__member *m;
  uint32_t idx; /* index of the room in m->rooms */
} rmember;

struct sio__room {
  rmember *v;
  uint32_t n, cap;
  size_t len;
  char name[];
};

typedef struct mem_adapter {
  sio__adapter base;
  sio__map rooms;
  sio__member **all;
  size_t nall, capall;
  uint32_t gen;
  sio__member **scratch; /* reused selection array (when not in use) */
  size_t scratch_cap;
  int scratch_busy;
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

static int add_member(mem_adapter *a, sio__member *m) {
  if (m->slot != UINT32_MAX && m->slot < a->nall && a->all[m->slot] == m) return 0;
  if (a->nall == a->capall) {
    size_t ncap = a->capall ? a->capall * 2 : 16;
    sio__member **p = sio__realloc(a->all, ncap * sizeof(*p));
    if (!p) return -ENOMEM;
    a->all = p;
    a->capall = ncap;
  }
  m->slot = (uint32_t)a->nall;
  a->all[a->nall++] = m;
  return 0;
}

static int is_member(const mem_adapter *a, const sio__member *m) {
  return m->slot < a->nall && a->all[m->slot] == m;
}

static sio__room *room_get(const mem_adapter *a, const char *name) {
  return sio__map_get(&a->rooms, name, strlen(name));
}

static int is_own(const mem_adapter *a, const sio__member *m, const char *name) {
  return a->base.lookup && m->id && strcmp(m->id, name) == 0;
}

/* The member whose own (implicit) room is `name`, if any. */
static sio__member *own_member(const mem_adapter *a, const char *name) {
  if (!a->base.lookup) return NULL;
  sio__member *m = a->base.lookup(a->base.nsp, name);
  return m && m->own ? m : NULL;
}

static int join(mem_adapter *a, sio__member *m, const char *name) {
  if (is_own(a, m, name)) {
    m->own = 1;
    return 0;
  }
  size_t len = strlen(name);
  sio__room *r = sio__map_get(&a->rooms, name, len);
  if (r) {
    for (uint32_t i = 0; i < m->nrooms; i++)
      if (m->rooms[i].room == r) return 0; /* already in */
  }
  if (grow((void **)&m->rooms, &m->cap, m->nrooms + 1, sizeof(*m->rooms))) return -ENOMEM;
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
  m->rooms[m->nrooms] = (sio__mroom){r, r->n};
  r->n++;
  m->nrooms++;
  return 0;
}

/* Removes membership i of m (both sides), freeing the room when it empties. */
static void unjoin(mem_adapter *a, sio__member *m, uint32_t i) {
  sio__room *r = m->rooms[i].room;
  uint32_t pos = m->rooms[i].pos;
  /* room side */
  r->n--;
  if (pos != r->n) {
    r->v[pos] = r->v[r->n];
    r->v[pos].m->rooms[r->v[pos].idx].pos = pos;
  }
  /* member side */
  m->nrooms--;
  if (i != m->nrooms) {
    m->rooms[i] = m->rooms[m->nrooms];
    m->rooms[i].room->v[m->rooms[i].pos].idx = i;
  }
  if (r->n == 0) {
    sio__map_del(&a->rooms, r->name, r->len);
    sio__free(r->v);
    sio__free(r);
  }
}

static int mem_add_all(sio__adapter *base, sio__member *m, const char *const *rooms, size_t n) {
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

static int mem_del(sio__adapter *base, sio__member *m, const char *room) {
  mem_adapter *a = (mem_adapter *)base;
  if (is_own(a, m, room)) {
    if (!m->own) return SIO_ENOTFOUND;
    m->own = 0;
    return 0;
  }
  sio__room *r = room_get(a, room);
  if (!r) return SIO_ENOTFOUND;
  for (uint32_t i = 0; i < m->nrooms; i++) {
    if (m->rooms[i].room == r) {
      unjoin(a, m, i);
      return 0;
    }
  }
  return SIO_ENOTFOUND;
}

static void mem_del_all(sio__adapter *base, sio__member *m) {
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

static int mem_has(const sio__adapter *base, const sio__member *m, const char *room) {
  const mem_adapter *a = (const mem_adapter *)base;
  if (is_own(a, m, room)) return m->own;
  sio__room *r = room_get(a, room);
  if (!r) return 0;
  for (uint32_t i = 0; i < m->nrooms; i++)
    if (m->rooms[i].room == r) return 1;
  return 0;
}

static void mem_rooms_of(const sio__adapter *base, const sio__member *m, sio__room_name_fn fn,
                         void *ctx) {
  if (m->own && fn(m->id, strlen(m->id), ctx)) return;
  for (uint32_t i = 0; i < m->nrooms; i++)
    if (fn(m->rooms[i].room->name, m->rooms[i].room->len, ctx)) return;
}

/* Collects the recipients into *out (the scratch array or a new one). Returns the count. */
static long collect(mem_adapter *a, const sio__bcast_opts *o, sio__member ***out) {
  size_t bound = 0;
  if (o->nrooms == 0) {
    bound = a->nall;
  } else {
    for (size_t i = 0; i < o->nrooms; i++) {
      sio__room *r = room_get(a, o->rooms[i]);
      if (r) bound += r->n;
      bound++; /* a member's own room */
    }
  }
  sio__member **arr;
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
    sio__member *own = own_member(a, o->except[i]);
    if (own) own->mark = gen;
    sio__room *r = room_get(a, o->except[i]);
    if (!r) continue;
    for (uint32_t j = 0; j < r->n; j++) r->v[j].m->mark = gen;
  }
  size_t n = 0;
  if (o->nrooms == 0) {
    for (size_t i = 0; i < a->nall; i++)
      if (a->all[i]->mark != gen) arr[n++] = a->all[i];
  } else {
    for (size_t i = 0; i < o->nrooms; i++) {
      sio__member *own = own_member(a, o->rooms[i]);
      if (own && own->mark != gen) {
        own->mark = gen;
        arr[n++] = own;
      }
      sio__room *r = room_get(a, o->rooms[i]);
      if (!r) continue;
      for (uint32_t j = 0; j < r->n; j++) {
        sio__member *m = r->v[j].m;
        if (m->mark == gen) continue;
        m->mark = gen;
        arr[n++] = m;
      }
    }
  }
  *out = arr;
  return (long)n;
}

static long mem_select(sio__adapter *base, const sio__bcast_opts *o, sio__member_fn fn, void *ctx) {
  mem_adapter *a = (mem_adapter *)base;
  sio__member **arr;
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

static size_t mem_room_size(const sio__adapter *base, const char *room) {
  const mem_adapter *a = (const mem_adapter *)base;
  sio__room *r = room_get(a, room);
  size_t n = r ? r->n : 0;
  sio__member *own = own_member(a, room);
  if (own) {
    n++;
    for (uint32_t j = 0; r && j < r->n; j++)
      if (r->v[j].m == own) n--; /* also joined a real room of its own name: count once */
  }
  return n;
}

static size_t mem_count(const sio__adapter *base) {
  return ((const mem_adapter *)base)->nall;
}

static void mem_destroy(sio__adapter *base) {
  mem_adapter *a = (mem_adapter *)base;
  while (a->nall) mem_del_all(base, a->all[a->nall - 1]);
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&a->rooms, &i))) { /* none left normally */
    sio__room *r = e->value;
    sio__free(r->v);
    sio__free(r);
  }
  sio__map_free(&a->rooms);
  sio__free(a->all);
  sio__free(a->scratch);
  sio__free(a);
}

static const sio__adapter_ops mem_ops = {
    .name = "memory",
    .destroy = mem_destroy,
    .add_all = mem_add_all,
    .del = mem_del,
    .del_all = mem_del_all,
    .has = mem_has,
    .rooms_of = mem_rooms_of,
    .select = mem_select,
    .broadcast = mem_select, /* one node: a broadcast is a local selection */
    .room_size = mem_room_size,
    .count = mem_count,
};

sio__adapter *sio__memory_adapter_new(void *nsp, void *arg) {
  (void)arg;
  mem_adapter *a = sio__calloc(1, sizeof(*a));
  if (!a) return NULL;
  a->base.ops = &mem_ops;
  a->base.nsp = nsp;
  return &a->base;
}
