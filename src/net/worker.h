/* A worker's side of the workers (sio/workers.h): its index among them, and the Unix sockets
 * to each other worker over which connections are passed (fd and already-read bytes, with
 * SCM_RIGHTS).
 *
 * The primary (src/workers/) makes one SOCK_SEQPACKET socketpair per pair of workers before it
 * forks any, and keeps every end: a restarted worker inherits the same ends again, so the
 * others never learn of a restart and nothing is re-sent. A message is one connection: a fixed
 * header (the listening port it was accepted on, the peer's address), the bytes, and the
 * descriptor. A message is atomic: a worker that dies mid-read loses none of the others.
 *
 * Apps served by the worker register (the port they listen on and how they adopt a
 * connection); the sockets are watched while at least one app is registered. */
#ifndef SIO_NET_WORKER_H
#define SIO_NET_WORKER_H

#include <stddef.h>
#include <uv.h>

#include "net/net.h"
#include "sio/workers.h"

/* An adopted connection for the app listening on `port`: fd is the callee's. The bytes buffer
 * is writable and valid during the call. */
typedef void (*sio__adopt_fn)(int fd, const sio__peer *peer, char *bytes, size_t len, void *user);

/* In the child: a worker with its index, the worker count, and its ends of the pairs
 * (peer_fds[i] for worker i, -1 for itself; the array is copied). NULL: no memory. */
sio_worker *sio__worker_new(int index, int count, const int *peer_fds);
/* Closes the sockets and frees w (after the loop has run the polls' closes, if any). */
void sio__worker_free(sio_worker *w);

/* The app listening on port takes adopted connections through fn (starts watching the sockets
 * on that loop with the first app; every app of a worker shares one loop). 0 or negative. */
int sio__worker_add_app(sio_worker *w, uv_loop_t *loop, int port, sio__adopt_fn fn, void *user);
/* The app registered with `user` goes: with the last, the sockets are no longer watched. */
void sio__worker_remove_app(sio_worker *w, void *user);

/* Passes a connection to worker `to`: its socket (fd stays the caller's to close: after a
 * success the message holds its own reference), the port it was accepted on, its peer, and the
 * bytes already read. 0, or negative (full socket buffer, bad index, bytes too long). */
int sio__worker_pass(sio_worker *w, int to, int fd, int port, const sio__peer *peer,
                     const char *bytes, size_t len);

/* Data messages between workers (the workers' cluster adapter, redis_adapter/redis_link.c):
 * whole messages of any size, in order per pair of workers, queued while the other worker's
 * socket is full. fn gets each message another worker sent (from: its index); the bytes are
 * valid during the call. One listener per worker; registering watches the sockets on loop like
 * an app does (NULL fn: the listener goes). */
typedef void (*sio__worker_data_fn)(int from, const char *data, size_t len, void *user);
int sio__worker_on_data(sio_worker *w, uv_loop_t *loop, sio__worker_data_fn fn, void *user);
/* Sends a message to worker `to`: 0, or negative (bad index, out of memory, or the queue for a
 * worker that has not read for a long while is past its bound: SIO_ETOOLARGE, dropped). */
int sio__worker_send(sio_worker *w, int to, const void *data, size_t len);

/* Largest bytes a pass carries: a request head (at most the header limit) and what came with
 * it in one read. */
#define SIO__WORKER_MAX_BYTES (192 * 1024)

#endif
