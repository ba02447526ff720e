/* Hash map from byte-string keys to pointers (open addressing, linear probing, tombstones).
 * Keys are copied into the map (sio__map_put), or borrowed from the value when the value
 * holds its own key for as long as it is in the map (sio__map_put_ref: no allocation, as for
 * session and socket ids, one entry per connected client). Used for session ids, room names,
 * route tables. An entry is 24 bytes.
 * Iteration order is unspecified; removing during iteration is allowed via sio__map_iter. */
#ifndef SIO_CORE_MAP_H
#define SIO_CORE_MAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct sio__map_entry {
  char *key;     /* NULL: empty; a private tombstone address: deleted */
  uint32_t klen; /* key length; the top bit (SIO__MAP_BORROWED) marks a borrowed key */
  uint32_t hash; /* low bits of the key's hash */
  void *value;
} sio__map_entry;
#define SIO__MAP_BORROWED 0x80000000u

typedef struct sio__map {
  sio__map_entry *slots;
  size_t cap; /* power of two, or 0 */
  size_t count;
  size_t used; /* count + tombstones */
} sio__map;

#define SIO__MAP_INIT                                                                              \
  { NULL, 0, 0, 0 }

void *sio__map_get(const sio__map *m, const char *key, size_t klen);
/* Inserts or replaces (keys up to 2 GiB). Returns 0, -ENOMEM or -EINVAL (key too long). */
int sio__map_put(sio__map *m, const char *key, size_t klen, void *value);
/* The same without copying the key: it must stay valid and unchanged until the entry is
 * deleted or replaced (typically it lives inside `value`). */
int sio__map_put_ref(sio__map *m, const char *key, size_t klen, void *value);
/* Removes; returns the old value or NULL. */
void *sio__map_del(sio__map *m, const char *key, size_t klen);
void sio__map_free(sio__map *m); /* frees the table and keys, not values */

/* Iteration: size_t i = 0; sio__map_entry *e; while ((e = sio__map_next(m, &i))) {...} */
sio__map_entry *sio__map_next(const sio__map *m, size_t *i);

uint64_t sio__hash(const void *data, size_t len);

#endif
