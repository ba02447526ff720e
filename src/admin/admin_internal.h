/* The admin UI's server side (include/sio/admin.h), shared by the files of src/admin:
 *   admin.c   options, the instrumented server's state and its lifetime, emitting to the UI
 *   auth.c    the admin namespace's middleware: basic auth with bcrypt (crypt_r on the
 *             thread pool), session ids
 *   stats.c   server_stats every 2 s and the aggregated counts (Node's EventBuffer)
 *   events.c  what happens to the sockets of every namespace, as the UI's events
 *   ops.c     the UI's operations (emit, join, leave, _disconnect)
 * It watches the server through the Socket.IO layer's observer (socketio/io_internal.h). */
#ifndef SIO_ADMIN_ADMIN_INTERNAL_H
#define SIO_ADMIN_ADMIN_INTERNAL_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "sio/admin.h"
#include "socketio/io_internal.h"

/* One count of Node's EventBuffer: {timestamp (the second, in ms), type, subType, count}. */
typedef struct sio__admin_cnt {
  int64_t ts;
  const char *type; /* a static name */
  char *sub;        /* NULL: none */
  uint64_t count;
} sio__admin_cnt;

/* A room_left waiting for the end of the current callback (Node defers it with nextTick). */
typedef struct sio__admin_left {
  char *nsp, *room, *id;
  char date[32];
} sio__admin_left;

typedef struct sio__admin {
  sio_io *io;
  sio_nsp *nsp; /* the admin namespace */
  char *username, *hash, *server_id;
  int no_auth, readonly, dev;
  char hostname[256];
  double uptime0; /* the process's uptime (s) at hr0 */
  uint64_t hr0;   /* uv_hrtime then */
  uv_timer_t stats;
  uv_timer_t defer; /* flushes the room_left queue */
  int handles;      /* timers not closed yet */
  int refs;         /* the server's, plus one per password check in flight */
  int gone;         /* the server was freed */
  /* sessions given to logged-in UIs (InMemoryStore), oldest first, bounded */
  char (*sessions)[17];
  size_t nsessions;
  /* aggregated counts since the last server_stats */
  sio__admin_cnt *counts;
  size_t ncounts, capcounts;
  sio__admin_left *left;
  size_t nleft, capleft;
} sio__admin;

#define SIO__ADMIN_MAX_SESSIONS 1024

/* admin.c */
void sio__admin_unref(sio__admin *a);
/* The server is being freed: no more emits, the timers close, the server's reference goes. */
void sio__admin_gone(sio__admin *a);
/* Whether any UI is connected (nothing is built for nobody). */
int sio__admin_listening(const sio__admin *a);
/* Emits ev with the arguments of arr (a new jansson array, stolen) to every UI. */
void sio__admin_emit(sio__admin *a, const char *ev, json_t *arr);
/* new Date().toISOString() into buf (at least 25 bytes). */
void sio__admin_date(char *buf, size_t size);

/* auth.c */
int sio__admin_hash_valid(const char *hash);
void sio__admin_auth_mw(sio_socket *s, sio_mw *mw, void *user);

/* stats.c */
void sio__admin_count(sio__admin *a, const char *type, const char *sub, uint64_t n);
void sio__admin_stats_start(sio__admin *a);
void sio__admin_counts_free(sio__admin *a);

/* events.c */
extern const sio__observer sio__admin_observer;
json_t *sio__admin_serialize(sio_socket *s);
json_t *sio__admin_all_sockets(sio__admin *a);
void sio__admin_left_flush(sio__admin *a, int send);
void sio__admin_socket_updated_transport(sio__admin *a, sio__client *c);

/* ops.c */
void sio__admin_ops_register(sio__admin *a, sio_socket *s);
extern const char *const sio__admin_features[];

#endif
