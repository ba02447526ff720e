/* Internals of a worker (net/worker.h) shared by worker.c (the sockets, passing connections)
 * and worker_data.c (the data messages of the workers' cluster adapter). */
#ifndef SIO_NET_WORKER_INTERNAL_H
#define SIO_NET_WORKER_INTERNAL_H

#include "core/buf.h"
#include "net/worker.h"

#define MAX_APPS         8
#define MSGS_PER_WAKEUP  64
#define WORKER_MSG_MAGIC 0x53494f48u /* "SIOH" */

/* The fixed head of a message; the bytes follow. Both ends are the same binary. */
typedef struct pass_head {
  uint32_t magic;
  uint32_t len; /* bytes after the head */
  uint16_t port;
  sio__peer peer;
} pass_head;

typedef struct worker_app {
  int port;
  sio__adopt_fn fn;
  void *user;
} worker_app;

/* A data message goes in fragments of at most this many bytes, each a SEQPACKET message:
 * a data message may be larger than a socket buffer. */
#define SIO__WORKER_FRAGMENT (60 * 1024)
#define WORKER_DATA_MAGIC    0x53494f44u /* "SIOD" */

/* The fixed head of a data fragment; its bytes follow. */
typedef struct data_head {
  uint32_t magic;
  uint32_t len;   /* bytes of this fragment */
  uint32_t flags; /* DATA_FIRST, DATA_LAST: where the fragment is in its message */
} data_head;
/* A message's first fragment resets the reassembly, so that the rest of a message whose start
 * was lost (a queue dropped, a former process of this worker that read it) cannot be glued to
 * the next one: a fragment that is not first, with nothing in progress, is dropped. */
#define DATA_FIRST 1u
#define DATA_LAST  2u

/* What one peer socket carries beyond the passes: data fragments waiting for room in the
 * socket (whole SEQPACKET messages, each as u32 length + head + bytes), and the fragments of
 * the data message being received. */
typedef struct worker_peer {
  sio__sbuf txq;
  size_t txq_off;
  sio__sbuf rx_partial;
  int rx_started; /* a message's first fragment came, its last not yet */
  int want_write; /* the poll also waits for the writable edge */
} worker_peer;

struct sio_worker {
  int index, count;
  int *peer_fds;      /* [count]: the socket to worker i, -1 for this one */
  uv_poll_t *polls;   /* [count], watched while there are users */
  worker_peer *peers; /* [count] */
  int watching;       /* the polls are initialised and started */
  int closing;        /* closes not yet run */
  int users;          /* apps and the data listener */
  char *rx;           /* one message at a time: head + SIO__WORKER_MAX_BYTES */
  worker_app apps[MAX_APPS];
  int napps;
  sio__worker_data_fn data_fn; /* the data listener (the workers' cluster adapter) */
  void *data_user;
};

/* worker.c */
int sio__worker_watch(sio_worker *w, uv_loop_t *loop); /* a user more: 0 or negative */
void sio__worker_unwatch(sio_worker *w);               /* a user less */
void sio__worker_poll_events(sio_worker *w, int i);    /* (re)starts peer i's poll */
/* worker_data.c */
void sio__worker_data_fragment(sio_worker *w, int from, const char *msg, size_t n);
void sio__worker_flush(sio_worker *w, int to); /* the socket to `to` is writable */
void sio__worker_peers_free(sio_worker *w);

#endif
