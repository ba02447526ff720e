/* Allocator wrapper: every allocation sio makes, and those of libuv, jansson and OpenSSL once
 * hooked, go through here. This gives users one place to plug their own allocator and gives
 * tests one place to make allocations fail on purpose and to count live allocations.
 *
 * The counters are process-wide atomics: they are test instrumentation, and libuv's thread
 * pool allocates from other threads. */
#include "core/alloc.h"
#include "sio/core.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static sio_allocator current = {malloc, realloc, calloc, free};
static atomic_long fail_countdown = -1; /* < 0: never fail */
static atomic_long live_count;
static atomic_int libraries_hooked;

static int should_fail(void) {
  long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (n < 0) return 0;
  if (n == 0) return 1;
  atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
  return 0;
}

void *sio__malloc(size_t size) {
  if (should_fail()) return NULL;
  void *p = current.malloc_fn(size ? size : 1);
  if (p) atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
  return p;
}

/* glibc (2.36 here) serves calloc without its per-thread cache, which malloc and free use: a
 * small zeroed struct then costs several times a malloc and a memset, and its free finds the
 * cache bin for that size full of blocks calloc never takes. With libc's own allocator, blocks
 * the cache holds (up to about 1 KiB) are therefore malloc'd and cleared; bigger ones, which
 * calloc may get already zeroed from the system, and other allocators keep calloc. */
#define CALLOC_BY_MALLOC_MAX 1024
/* Called through a volatile pointer: compilers turn malloc followed by memset to 0 back into
 * calloc. */
static void *(*volatile clear_block)(void *, int, size_t) = memset;

void *sio__calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  if (!count) count = 1;
  if (!size) size = 1;
  void *p;
  if (current.calloc_fn == calloc && current.malloc_fn == malloc && count <= CALLOC_BY_MALLOC_MAX &&
      size <= CALLOC_BY_MALLOC_MAX && count * size <= CALLOC_BY_MALLOC_MAX) {
    p = malloc(count * size);
    if (p) clear_block(p, 0, count * size);
  } else {
    p = current.calloc_fn(count, size);
  }
  if (p) atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
  return p;
}

void *sio__realloc(void *ptr, size_t size) {
  if (!ptr) return sio__malloc(size);
  if (size == 0) size = 1;
  if (should_fail()) return NULL;
  return current.realloc_fn(ptr, size);
}

void sio__free(void *ptr) {
  if (!ptr) return;
  atomic_fetch_sub_explicit(&live_count, 1, memory_order_relaxed);
  current.free_fn(ptr);
}

char *sio__strndup(const char *s, size_t n) {
  char *d = sio__malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *sio__strdup(const char *s) {
  return sio__strndup(s, strlen(s));
}

void *sio__memdup(const void *p, size_t n) {
  void *d = sio__malloc(n);
  if (d && n) memcpy(d, p, n);
  return d;
}

void sio__alloc_fail_after(long n) {
  atomic_store(&fail_countdown, n);
}
void sio__alloc_fail_reset(void) {
  atomic_store(&fail_countdown, -1);
}
long sio__alloc_live(void) {
  return atomic_load(&live_count);
}

static void *ossl_malloc(size_t n, const char *file, int line) {
  return sio__malloc(n);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
  return sio__realloc(p, n);
}
static void ossl_free(void *p, const char *file, int line) {
  sio__free(p);
}

/* libuv may realloc(NULL) or free(NULL); the wrapper handles both. */
void sio__alloc_hook_libraries(void) {
  if (atomic_exchange(&libraries_hooked, 1)) return;
  uv_replace_allocator(sio__malloc, sio__realloc, sio__calloc, sio__free);
  json_set_alloc_funcs(sio__malloc, sio__free);
  /* Fails (harmlessly) if OpenSSL has already allocated; it then keeps its own allocator. */
  CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
}

void *sio__zalloc(void *opaque, unsigned items, unsigned size) {
  return sio__malloc((size_t)items * size);
}
void sio__zfree(void *opaque, void *ptr) {
  sio__free(ptr);
}

int sio_set_allocator(const sio_allocator *a) {
  if (!a || !a->malloc_fn || !a->realloc_fn || !a->calloc_fn || !a->free_fn) return -22;
  if (atomic_load(&libraries_hooked) || atomic_load(&live_count) != 0) return -16; /* EBUSY */
  current = *a;
  return 0;
}

void *sio__objcache_get(sio__objcache *c) {
  void *p = c->head;
  if (!p) return sio__calloc(1, c->size);
  c->head = *(void **)p;
  c->n--;
  memset(p, 0, c->size);
  return p;
}

void *sio__objcache_get_uncleared(sio__objcache *c) {
  void *p = c->head;
  if (!p) return sio__malloc(c->size);
  c->head = *(void **)p;
  c->n--;
  return p;
}

void sio__objcache_put(sio__objcache *c, void *p) {
  if (!p) return;
  if (c->n >= c->max) {
    sio__free(p);
    return;
  }
  *(void **)p = c->head;
  c->head = p;
  c->n++;
}

void sio__objcache_drain(sio__objcache *c) {
  while (c->head) {
    void *p = c->head;
    c->head = *(void **)p;
    sio__free(p);
  }
  c->n = 0;
}
