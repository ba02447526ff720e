/* Open-addressing hash map (see map.h). Word-at-a-time hashing with a final mix; the table grows at
 * 3/4 load (counting tombstones) and is rebuilt without tombstones. */
#include "core/map.h"
#include "core/alloc.h"

#include <errno.h>
#include <string.h>

static char tombstone_key;
#define TOMBSTONE (&tombstone_key)

/* Eight bytes at a time (a multiply and a shift per word), the tail as one last word, then a
 * final mix so that the low bits the table indexes by depend on every byte. Keys are short
 * (socket ids of 20 characters, room and namespace names): a byte-at-a-time FNV-1a spent
 * ~100 instructions on a socket id, on the path of every direct emit with recovery on. */
uint64_t sio__hash(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xff51afd7ed558ccdULL);
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < len; i++) w |= (uint64_t)p[i] << (8 * i);
  h = (h ^ w) * 0x94d049bb133111ebULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

#define KLEN(e) ((size_t)((e)->klen & ~SIO__MAP_BORROWED))

static sio__map_entry *find(const sio__map *m, const char *key, size_t klen, uint64_t h) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    sio__map_entry *e = &m->slots[i];
    if (!e->key) return NULL;
    if (e->key != TOMBSTONE && e->hash == (uint32_t)h && KLEN(e) == klen &&
        memcmp(e->key, key, klen) == 0)
      return e;
  }
}

static void free_key(sio__map_entry *e) {
  if (!(e->klen & SIO__MAP_BORROWED)) sio__free(e->key);
}

void *sio__map_get(const sio__map *m, const char *key, size_t klen) {
  sio__map_entry *e = find(m, key, klen, sio__hash(key, klen));
  return e ? e->value : NULL;
}

static int rehash(sio__map *m, size_t cap) {
  sio__map_entry *slots = sio__calloc(cap, sizeof(*slots));
  if (!slots) return -ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    sio__map_entry *e = &m->slots[i];
    if (!e->key || e->key == TOMBSTONE) continue;
    size_t j = e->hash & (cap - 1); /* caps stay far below 2^32 */
    while (slots[j].key) j = (j + 1) & (cap - 1);
    slots[j] = *e;
  }
  sio__free(m->slots);
  m->slots = slots;
  m->cap = cap;
  m->used = m->count;
  return 0;
}

static int put(sio__map *m, const char *key, size_t klen, void *value, int borrow) {
  if (klen >= SIO__MAP_BORROWED) return -EINVAL;
  uint64_t h = sio__hash(key, klen);
  sio__map_entry *e = find(m, key, klen, h);
  if (e) {
    if (borrow || (e->klen & SIO__MAP_BORROWED)) { /* the key's owner may change */
      char *k = (char *)key;
      if (!borrow && !(k = sio__strndup(key, klen))) return -ENOMEM;
      free_key(e);
      e->key = k;
      e->klen = (uint32_t)klen | (borrow ? SIO__MAP_BORROWED : 0);
    }
    e->value = value;
    return 0;
  }
  if ((m->used + 1) * 4 > m->cap * 3) {
    size_t cap = m->cap ? m->cap : 8;
    while ((m->count + 1) * 4 > cap * 3 / 2) cap *= 2; /* leave room: grow to under half full */
    if (rehash(m, cap) != 0) return -ENOMEM;
  }
  char *k = (char *)key;
  if (!borrow && !(k = sio__strndup(key, klen))) return -ENOMEM;
  size_t mask = m->cap - 1;
  size_t i = h & mask;
  while (m->slots[i].key && m->slots[i].key != TOMBSTONE) i = (i + 1) & mask;
  if (!m->slots[i].key) m->used++;
  m->slots[i] =
      (sio__map_entry){k, (uint32_t)klen | (borrow ? SIO__MAP_BORROWED : 0), (uint32_t)h, value};
  m->count++;
  return 0;
}

int sio__map_put(sio__map *m, const char *key, size_t klen, void *value) {
  return put(m, key, klen, value, 0);
}

int sio__map_put_ref(sio__map *m, const char *key, size_t klen, void *value) {
  return put(m, key, klen, value, 1);
}

void *sio__map_del(sio__map *m, const char *key, size_t klen) {
  sio__map_entry *e = find(m, key, klen, sio__hash(key, klen));
  if (!e) return NULL;
  void *v = e->value;
  free_key(e);
  e->key = TOMBSTONE;
  e->value = NULL;
  m->count--;
  return v;
}

sio__map_entry *sio__map_next(const sio__map *m, size_t *i) {
  for (; *i < m->cap; (*i)++) {
    sio__map_entry *e = &m->slots[*i];
    if (e->key && e->key != TOMBSTONE) {
      (*i)++;
      return e;
    }
  }
  return NULL;
}

void sio__map_free(sio__map *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key && m->slots[i].key != TOMBSTONE) free_key(&m->slots[i]);
  sio__free(m->slots);
  *m = (sio__map)SIO__MAP_INIT;
}
