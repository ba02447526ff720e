/* Session ids that name their worker (sio/workers.h), so that any worker tells a session's
 * owner from its sid alone, with no table shared between processes.
 *
 * When the app is a worker, the first two characters of the 22-character sid are the worker's
 * index in the URL-safe base64 alphabet (64 * 64 = 4096 workers), the other twenty stay random
 * (120 bits: still far beyond guessing). A sid so made looks like any other to a client. An
 * app that is not a worker keeps fully random sids. */
#include "engine/engine_internal.h"

#include <string.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int digit(char c) {
  const char *p = c ? strchr(ALPHABET, c) : NULL;
  return p ? (int)(p - ALPHABET) : -1;
}

void sio__eio_sid_mark(sio_eio *e, char *sid) {
  sio_worker *w = sio__app_worker(e->app);
  if (!w) return;
  int i = sio_worker_index(w);
  sid[0] = ALPHABET[(i >> 6) & 63];
  sid[1] = ALPHABET[i & 63];
}

/* The owner hook (http/server.h): the worker a request's sid names, or -1 (no sid: a
 * handshake, served where it landed). */
int sio__eio_sid_owner(sio_req *req, void *user) {
  const char *sid = sio_req_query(req, "sid");
  if (!sid || strlen(sid) < 2) return -1;
  int hi = digit(sid[0]), lo = digit(sid[1]);
  return hi < 0 || lo < 0 ? -1 : hi * 64 + lo;
}
