/* What is attached to an app, and who frees it: ownership runs from the app down.
 *
 * The layers above (a Socket.IO server, an Engine.IO server, a WebSocket route) register their
 * server object when they attach to an app. The HTTP layer knows nothing of them but a release
 * function and one memory block: sio_app_free releases whatever was not released yet (the last
 * attached first, after the app's own connections were dropped, so that a Socket.IO server
 * goes before the Engine.IO server it owns), and the app frees every registered block when its
 * own memory goes, at the end of its close on the loop.
 *
 * So a handle stays valid memory from its attach until the app's memory goes: a free function
 * that comes second (the user's sio_io_free after sio_app_free, as the old order had it, or the
 * same free twice) finds its object released and does nothing, and one that comes first
 * releases the object, detaches it (its hooks are removed; the app frees only the block), and
 * the app's free later leaves it alone. */
#include "core/alloc.h"
#include "http/app_internal.h"

struct sio__attachment {
  sio__list link; /* in app->attachments */
  sio_app *app;
  void (*release)(void *obj);
  void *obj;
  int released;
};

sio__attachment *sio__app_attach(sio_app *app, void (*release)(void *obj), void *obj) {
  if (!app || !release || !obj) return NULL;
  sio__attachment *a = sio__calloc(1, sizeof(*a));
  if (!a) return NULL;
  a->app = app;
  a->release = release;
  a->obj = obj;
  sio__list_insert_tail(&app->attachments, &a->link);
  return a;
}

void sio__app_detach(sio__attachment *a) {
  if (!a || a->released) return;
  a->released = 1;
  if (!a->app->freeing) sio__app_unhook(a->app, a->obj); /* the hooks go with the app */
}

int sio__attachment_released(const sio__attachment *a) {
  return !a || a->released;
}

void sio__app_release_attachments(sio_app *app) {
  /* last attached first; a release may detach others (a server frees the one it owns) */
  for (sio__list *l = app->attachments.prev; l != &app->attachments; l = l->prev) {
    sio__attachment *a = sio__container_of(l, sio__attachment, link);
    if (a->released) continue;
    a->release(a->obj); /* the layer's free, which detaches it */
    a->released = 1;
  }
}

void sio__app_free_attachments(sio_app *app) {
  while (!sio__list_empty(&app->attachments)) {
    sio__attachment *a = sio__container_of(app->attachments.next, sio__attachment, link);
    sio__list_remove(&a->link);
    sio__free(a->obj);
    sio__free(a);
  }
}
