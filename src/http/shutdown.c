/* Graceful shutdown of an app (sio_app_close, or SIGINT / SIGTERM with handle_signals).
 *
 * The listener stops, the upper layers' shutdown hooks run (WebSockets close with 1001, held
 * polls are released), idle connections close and in-flight responses may finish, without
 * keep-alive, until the deadline; a 10 ms tick then aborts what is left. Connections that upper
 * layers own get the deadline plus a moment. The closed callback runs once, when nothing is
 * left; a second signal skips the wait. */
#include "core/log.h"
#include "http/app_internal.h"

static void finish_close(sio_app *app) {
  if (app->closed_called) return;
  app->closed_called = 1;
  uv_timer_stop(&app->close_timer);
  if (app->opts.handle_signals) {
    uv_signal_stop(&app->sigint);
    uv_signal_stop(&app->sigterm);
  }
  if (app->closed_cb) app->closed_cb(app, app->closed_user);
}

void sio__app_check_closed(sio_app *app) {
  if (app->closed_called) return;
  uint64_t now = uv_now(app->loop);
  if (now >= app->close_deadline) {
    sio__list *l, *tmp;
    sio__list_foreach_safe(l, tmp, &app->conns) {
      sio__hconn_abort(sio__container_of(l, sio__hconn, link));
    }
  }
  /* connections owned by upper layers get the deadline plus a moment to close */
  if (app->nconns == 0 && (sio__net_conn_count(app->net) == 0 || now >= app->close_deadline + 200))
    finish_close(app);
}

static void on_close_tick(uv_timer_t *t) {
  sio__app_check_closed(t->data);
}

void sio_app_close(sio_app *app, sio_app_closed_fn cb, void *user) {
  if (cb) {
    app->closed_cb = cb;
    app->closed_user = user;
  }
  if (app->closing) return;
  app->closing = 1;
  app->close_deadline = uv_now(app->loop) + app->opts.shutdown_timeout_ms;
  sio__https_close_listeners(app);
  if (app->listener) {
    sio__listener_close(app->listener);
    app->listener = NULL;
  }
  for (size_t i = 0; i < app->shutdowns.n; i++)
    if (app->shutdowns.items[i].fn) /* NULL: its object was freed (sio__app_detach) */
      ((sio__shutdown_fn)app->shutdowns.items[i].fn)(app, app->shutdowns.items[i].user);
  sio__list *l, *tmp;
  sio__list_foreach_safe(l, tmp, &app->conns) {
    sio__hconn_begin_shutdown(sio__container_of(l, sio__hconn, link));
  }
  uv_timer_start(&app->close_timer, on_close_tick, 0, 10);
}

void sio__app_on_signal(uv_signal_t *s, int signum) {
  sio_app *app = s->data;
  if (app->closing) { /* a second signal: do not wait for the deadline */
    app->close_deadline = uv_now(app->loop);
    return;
  }
  sio__info("signal %d: shutting down (deadline %u ms)", signum, app->opts.shutdown_timeout_ms);
  sio_app_close(app, NULL, NULL);
}
