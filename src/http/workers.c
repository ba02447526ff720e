/* The HTTP side of workers (sio/workers.h): an app that is one worker among several adopts the
 * connections the others pass to it, and passes on the requests that belong to another worker
 * (the owner hooks of http/server.h say which), so that any worker may accept any connection.
 *
 * A connection is passed at a request boundary, before its head is answered: its socket and
 * the bytes already read (the head, and whatever came with it) go to the owner, which serves
 * it from that head on as if it had accepted it. The response to an earlier request on the
 * same keep-alive connection leaves first (sio__conn_handoff waits for it). Nothing else of
 * the connection's state crosses: there is none between requests. */
#include "http/app_internal.h"
#include "net/worker.h"

#include "core/log.h"

#include <errno.h>
#include <unistd.h>

sio_worker *sio__app_worker(const sio_app *app) {
  return app->opts.worker;
}

/* A connection another worker passed: served as if this app had accepted it. */
static void adopt(int fd, const sio__peer *peer, char *bytes, size_t len, void *user) {
  sio_app *app = user;
  if (app->freeing) {
    close(fd);
    return;
  }
  sio__net_adopt(app->net, fd, peer, bytes, len, sio__hconn_on_accept, app);
}

int sio__app_worker_listen(sio_app *app) {
  if (!app->opts.worker || app->worker_registered) return 0;
  int r = sio__worker_add_app(app->opts.worker, app->loop, app->port, adopt, app);
  if (r == 0) app->worker_registered = 1;
  return r;
}

void sio__app_worker_leave(sio_app *app) {
  if (!app->worker_registered) return;
  app->worker_registered = 0;
  sio__worker_remove_app(app->opts.worker, app);
}

int sio__app_request_owner(sio_app *app, sio_req *req) {
  sio_worker *w = app->opts.worker;
  if (!w || !app->owners.n) return -1;
  const sio__hook *hk = sio__app_find_owner(app, req->path_raw);
  if (!hk) return -1;
  int to = ((sio__owner_fn)hk->fn)(req, hk->user);
  return to >= 0 && to < sio_worker_count(w) && to != sio_worker_index(w) ? to : -1;
}

/* The socket left this process's epoll set: to the owner, with the bytes. If the pass fails
 * (the owner's socket buffer is full, which means it is not reading: dead or stuck), the
 * connection is closed: the client sees a transport error and reconnects. */
static void on_handed(int fd, const sio__peer *peer, const char *bytes, size_t len, void *user,
                      int to) {
  sio_app *app = user;
  int r = app->freeing || !app->opts.worker
              ? -ESHUTDOWN
              : sio__worker_pass(app->opts.worker, to, fd, app->port, peer, bytes, len);
  if (r < 0)
    sio__warn("workers: cannot pass a connection to worker %d (%s): closed", to, sio_strerror(r));
  close(fd); /* after a pass, the message holds the socket */
}

int sio__app_pass(sio_app *app, sio__conn *conn, int to, const char *a, size_t alen, const char *b,
                  size_t blen) {
  if (alen + blen > SIO__WORKER_MAX_BYTES) return -EMSGSIZE;
  return sio__conn_handoff(conn, a, alen, b, blen, on_handed, app, to);
}
