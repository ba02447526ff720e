/* The in-memory store of connection state recovery (socket.io-adapter's SessionAwareAdapter):
 * the packets broadcast with SIO_BC_STORE, each with its offset, and the sessions of sockets
 * that dropped, for one namespace. Used by the in-memory adapter (memory.c).
 *
 * Offsets are "<epoch>-<seq>": seq counts the packets stored (1, 2, …) and epoch is random per
 * store, so an offset from another store (a namespace made again) is never taken for one of
 * this store. Because they are ordered, a restore needs only "every packet after seq is still
 * kept" (seq >= the highest seq dropped), not the packet of that seq itself: an offset whose
 * packet was swept long ago is still good (socket.io #5282), and a client without an offset
 * resumes from its session's position (#5538). Sessions and packets older than the window are
 * swept at each call (the head of each FIFO, so O(what expired)); both FIFOs are capped. */
#ifndef SIO_ADAPTER_SESSION_STORE_H
#define SIO_ADAPTER_SESSION_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sio/adapter.h"

typedef struct sio__sstore sio__sstore;

typedef struct sio__sstore_limits {
  uint64_t window_ms; /* max_disconnection_duration_ms */
  size_t max_packets; /* 0: no packet kept */
  size_t max_sessions;
} sio__sstore_limits;

#define SIO__SSTORE_OFFSET_MAX 48 /* an offset's text, NUL included */

/* label: for the log lines (the namespace's name; copied). NULL on OOM. */
sio__sstore *sio__sstore_new(const char *label);
void sio__sstore_free(sio__sstore *st);
/* Drops what is older than the window, then (the limits may have shrunk) what is past the caps. */
void sio__sstore_sweep(sio__sstore *st, const sio__sstore_limits *l, uint64_t now_ms);
/* Stores p (its data array, attachments and o's rooms/except, copied) and writes its offset
 * to off. The offset's length (> 0) or -ENOMEM. */
int sio__sstore_add(sio__sstore *st, const sio__sstore_limits *l, uint64_t now_ms,
                    const sio_packet *p, const sio_bcast_opts *o, char off[SIO__SSTORE_OFFSET_MAX]);
/* The newest offset ("<epoch>-0" before the first packet). */
void sio__sstore_last(const sio__sstore *st, char off[SIO__SSTORE_OFFSET_MAX]);
/* Keeps a session (copied), replacing one with the same pid. 0, -EINVAL or -ENOMEM. */
int sio__sstore_persist(sio__sstore *st, const sio__sstore_limits *l, uint64_t now_ms,
                        const sio_session *s);
/* Restores (and forgets) the session pid: fn(0, session, missed packets) before returning 0,
 * or returns SIO_ENOTFOUND / -ENOMEM without calling fn. offset: the client's (NULL: none). */
int sio__sstore_restore(sio__sstore *st, const sio__sstore_limits *l, uint64_t now_ms,
                        const char *pid, const char *offset, sio_restore_fn fn, void *user);
/* For tests and logs. */
size_t sio__sstore_packets(const sio__sstore *st);
size_t sio__sstore_sessions(const sio__sstore *st);

#endif
