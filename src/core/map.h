/* Hash map from byte-string keys to pointers (open addressing, linear probing, tombstones).
 * Keys are copied into the map. Used for session ids, room names, route tables.
 * Iteration order is unspecified; removing during iteration is allowed via sio__map_iter. */
#ifndef SIO_CORE_MAP_H
#define SIO_CORE_MAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct sio__map_entry {
  char *key; /* NULL: empty; SIO__MAP_TOMBSTONE: deleted */
  size_t klen;
  uint64_t hash;
  void *value;
} sio__map_entry;

typedef struct sio__map {
  sio__map_entry *slots;
  size_t cap; /* power of two, or 0 */
  size_t count;
  size_t used; /* count + tombstones */
} sio__map;

#define SIO__MAP_INIT {NULL, 0, 0, 0}

void *sio__map_get(const sio__map *m, const char *key, size_t klen);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int sio__map_put(sio__map *m, const char *key, size_t klen, void *value);
/* Removes; returns the old value or NULL. */
void *sio__map_del(sio__map *m, const char *key, size_t klen);
void sio__map_free(sio__map *m); /* frees the table and keys, not values */

/* Iteration: size_t i = 0; sio__map_entry *e; while ((e = sio__map_next(m, &i))) {...} */
sio__map_entry *sio__map_next(const sio__map *m, size_t *i);

uint64_t sio__hash(const void *data, size_t len);

#endif
