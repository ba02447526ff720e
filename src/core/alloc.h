/* The project's allocator wrapper. All sio code allocates through these so that a user's
 * allocator and the fault-injection tests (allocation failure on purpose) reach every path. */
#ifndef SIO_CORE_ALLOC_H
#define SIO_CORE_ALLOC_H
#include <stddef.h>

void *sio__malloc(size_t size);
void *sio__calloc(size_t count, size_t size);
void *sio__realloc(void *ptr, size_t size);
void sio__free(void *ptr);
char *sio__strdup(const char *s);
char *sio__strndup(const char *s, size_t n);
void *sio__memdup(const void *p, size_t n);

/* A free list of same-size objects, for the big per-connection and per-request structs that
 * come and go at the connection rate: above glibc's per-thread cache size (1 KiB) each
 * malloc/free of them walks the arena's bins. Single-threaded (the loop's). Objects come back
 * zeroed, as from calloc; at most `max` are kept. Drain before the owner goes away. */
typedef struct sio__objcache {
  void *head; /* each free object's first bytes link to the next */
  size_t n, max, size;
} sio__objcache;
static inline void sio__objcache_init(sio__objcache *c, size_t size, size_t max) {
  c->head = NULL;
  c->n = 0;
  c->max = max;
  c->size = size < sizeof(void *) ? sizeof(void *) : size;
}
void *sio__objcache_get(sio__objcache *c);
/* An object as left by its last user (uninitialized when new), for a struct most of which its
 * owner sets before reading anyway: the caller clears or sets every field itself. */
void *sio__objcache_get_uncleared(sio__objcache *c);
void sio__objcache_put(sio__objcache *c, void *p);
void sio__objcache_drain(sio__objcache *c);

/* Fault injection for tests: after `n` more successful allocations, every allocation fails
 * (returns NULL) until sio__alloc_fail_reset(). n < 0 disables. Counts only sio__ and hooked
 * library allocations. */
void sio__alloc_fail_after(long n);
void sio__alloc_fail_reset(void);
/* Live allocation count (allocations minus frees) made through the wrapper. */
long sio__alloc_live(void);

/* Installs the wrapper as libuv's, jansson's and OpenSSL's allocator (zlib streams take
 * sio__zalloc/sio__zfree per stream). Idempotent; called by the loop-owning objects. */
void sio__alloc_hook_libraries(void);
void *sio__zalloc(void *opaque, unsigned items, unsigned size);
void sio__zfree(void *opaque, void *ptr);

#endif
