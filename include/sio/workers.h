/* sio workers: one port served by several processes, each with its own loop and app.
 *
 *   static int worker_main(sio_worker *w, void *user) {
 *     uv_loop_t *loop = uv_default_loop();      // the worker's own: a fresh process
 *     sio_app_opts ao = sio_app_opts_default();
 *     ao.port = 3000;                            // a fixed port (every worker binds it)
 *     ao.worker = w;                             // SO_REUSEPORT, sids that name the worker
 *     ao.handle_signals = 1;                     // SIGTERM from the primary: graceful close
 *     sio_app *app = sio_app_new(loop, &ao);
 *     ... routes, sio_io_attach, handlers ...
 *     sio_app_listen(app);
 *     uv_run(loop, UV_RUN_DEFAULT);
 *     sio_app_free(app);
 *     uv_run(loop, UV_RUN_DEFAULT);
 *     return 0;                                  // the worker's exit status
 *   }
 *   int main(void) {
 *     sio_workers_opts wo = sio_workers_opts_default();
 *     wo.count = 4;                              // 0: one per core
 *     return sio_workers_run(&wo, worker_main, NULL);
 *   }
 *
 * The calling process becomes the primary: it forks the workers, restarts one that dies (and
 * logs it), and on SIGTERM or SIGINT asks each to shut down (SIGTERM) and waits for them, up to
 * the shutdown deadline plus a second, before killing what is left. It serves no client.
 * Each worker runs `main` in a fresh child process and exits with its return value; it never
 * returns from sio_workers_run. Workers share nothing but the port and a Unix socket to each
 * other: an Engine.IO request (a poll, a post, an upgrade) that the kernel hands to a worker
 * other than the one holding its session is passed to the owner with its socket and the bytes
 * already read (docs/cluster.md, "Workers"), so no sticky sessions are needed; a TLS
 * connection, whose encryption state cannot move, is relayed by the worker that holds it
 * instead. Rooms and
 * broadcasts reach only the worker's own clients unless an adapter joins the workers: the
 * workers' adapter (sio_workers_adapter_new in sio/redis.h: the sharded adapter's messages over
 * the workers' sockets) or a Redis adapter. A worker that dies takes its clients' sessions with
 * it: they reconnect. */
#ifndef SIO_WORKERS_H
#define SIO_WORKERS_H

#include <stdint.h>

#include "sio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_worker sio_worker;

typedef struct sio_workers_opts {
  int count; /* worker processes; 0: one per core (at most 4096) */
  /* how long a worker may take to shut down after SIGTERM before it is killed: its app's
   * shutdown deadline (sio_app_opts.shutdown_timeout_ms); the primary adds a second. 0: 5000 */
  uint32_t shutdown_timeout_ms;
} sio_workers_opts;

SIO_EXTERN sio_workers_opts sio_workers_opts_default(void);

/* The worker's whole life: build the app (with sio_app_opts.worker = w), run the loop, free,
 * return the exit status. Runs in the child process. */
typedef int (*sio_worker_main_fn)(sio_worker *w, void *user);

/* Runs the primary until every worker has exited after a shutdown: returns 0 when each exited
 * in time, 1 when one had to be killed, or a negative error (nothing forked, or the first
 * workers failed at once). */
SIO_EXTERN int sio_workers_run(const sio_workers_opts *opts, sio_worker_main_fn main, void *user);

/* The worker's index, 0 .. count - 1 (a restarted worker gets its index back), and count. */
SIO_EXTERN int sio_worker_index(const sio_worker *w);
SIO_EXTERN int sio_worker_count(const sio_worker *w);

#ifdef __cplusplus
}
#endif

#endif
