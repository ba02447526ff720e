/* sio_app_ws: serving raw WebSockets on an app's paths.
 *
 * Each call registers an upgrade hook (http/server.h) for the path's prefix and a shutdown
 * hook. A path ending in '*' takes every path under that prefix; otherwise the request path
 * must match exactly (other paths under the prefix get 404). The route keeps its open sockets
 * in a list so that shutdown can close them with 1001.
 *
 * The route is attached to the app (sio__app_attach): its block is the app's, freed with the
 * app's memory, after every socket is gone. sio_app_free closes the sockets still open (1001)
 * and frees the path; so does the end of a shutdown once the last socket went. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "http/server.h"
#include "ws/ws.h"

typedef struct ws_route {
  char *path; /* without the trailing '*' */
  size_t path_len;
  int prefix;
  sio_ws_handlers h;
  sio_ws_opts opts;
  void *user;
  sio__list sockets;
  size_t live; /* sockets not yet freed (they point at h) */
  int shut;    /* the app began shutting down: free once live is 0 */
} ws_route;

/* The route's own memory; its block goes with the app's. */
static void route_free(ws_route *r) {
  sio__free(r->path);
  r->path = NULL;
}

static void on_release(sio__ws *ws, void *ctx) {
  ws_route *r = ctx;
  if (--r->live == 0 && r->shut) route_free(r);
}

/* Path part of a raw URL (up to '?'). */
static int path_matches(const ws_route *r, const char *url) {
  size_t n = strcspn(url, "?#");
  if (r->prefix) return n >= r->path_len && strncmp(url, r->path, r->path_len) == 0;
  return n == r->path_len && strncmp(url, r->path, n) == 0;
}

static int on_upgrade(sio_req *req, sio_res *res, sio__conn *conn, const char *rest,
                      size_t rest_len, void *user) {
  ws_route *r = user;
  if (!path_matches(r, sio_req_url(req))) {
    sio_res_status(res, 404);
    sio_res_text(res, "Not Found");
    return 0;
  }
  sio__ws *ws = NULL;
  /* allocated first: once the socket is open it must be tracked */
  sio__ws_owner *o = sio__calloc(1, sizeof(*o));
  if (!o) {
    sio_res_status(res, 500);
    sio_res_text(res, "Out of memory");
    return 0;
  }
  sio__list_init(&o->link);
  o->release = on_release;
  o->ctx = r;
  r->live++; /* h->open may start a shutdown: keep r until we are done here */
  int took = sio__ws_accept(req, res, conn, rest, rest_len, &r->opts, &r->h, r->user, &ws);
  if (took == 1 && ws) {
    sio__ws_set_owner(ws, o); /* its release keeps the count taken above */
    if (r->shut)
      sio__ws_close(ws, SIO__WS_CLOSE_GOING_AWAY, "server shutting down", 20);
    else
      sio__list_insert_tail(&r->sockets, &o->link);
  } else {
    sio__free(o);
    if (--r->live == 0 && r->shut) route_free(r);
  }
  return took;
}

static void close_sockets(ws_route *r) {
  sio__list *pos, *tmp;
  /* unlink first: the list head goes with the route */
  sio__list_foreach_safe(pos, tmp, &r->sockets) {
    sio__ws *ws = sio__ws_from_link(pos);
    sio__list_remove(pos);
    sio__ws_close(ws, SIO__WS_CLOSE_GOING_AWAY, "server shutting down", 20);
  }
  /* Once shutdown has begun the HTTP layer starts no new request, so no upgrade can reach the
   * hook any more: the route goes when its last socket does. */
  r->shut = 1;
  if (r->live == 0) route_free(r);
}

static void on_shutdown(sio_app *app, void *user) {
  close_sockets(user);
}

/* sio_app_free: the sockets still open close (their TCP within the close timeout, which the
 * app waits for before its memory, and so this block, goes). */
static void route_release(void *r) {
  close_sockets(r);
}

int sio_app_ws(sio_app *app, const char *path, const sio_ws_handlers *h, const sio_ws_opts *opts,
               void *user) {
  if (!app || !path || !h || path[0] != '/') return -EINVAL;
  ws_route *r = sio__calloc(1, sizeof(*r));
  if (!r) return -ENOMEM;
  if (!sio__app_attach(app, route_release, r)) {
    sio__free(r);
    return -ENOMEM;
  }
  size_t n = strlen(path);
  r->prefix = n > 0 && path[n - 1] == '*';
  if (r->prefix) n--;
  r->path = sio__strndup(path, n);
  r->path_len = n;
  r->h = *h;
  r->opts = opts ? *opts : sio_ws_opts_default();
  r->user = user;
  sio__list_init(&r->sockets);
  if (!r->path) return -ENOMEM; /* the app frees r */
  int rc = sio__app_on_upgrade(app, r->path, on_upgrade, r);
  if (rc) {
    route_free(r);
    return rc;
  }
  /* If this fails the upgrade hook still points at r, which stays until the app goes. */
  return sio__app_on_shutdown(app, on_shutdown, r);
}
