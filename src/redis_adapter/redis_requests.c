/* Pending cluster requests (see redis_requests.h): ids, deadlines on libuv timers, one end
 * each, memory freed after the timer handle is closed and the last waiter let go. */
#include "redis_adapter/redis_requests.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "cluster/wire.h"
#include "sio/core.h"

void sio__rreq_make_id(char *out) {
  static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char raw[SIO__RREQ_ID_LEN];
  if (sio__random_bytes(raw, sizeof raw)) memset(raw, 0, sizeof raw);
  for (size_t i = 0; i < sizeof raw; i++) out[i] = set[raw[i] % (sizeof set - 1)];
  out[SIO__RREQ_ID_LEN] = '\0';
}

void sio__rreqs_init(sio__rreqs *t, uv_loop_t *loop) {
  t->loop = loop;
  sio__list_init(&t->live);
}

void sio__rreqs_fail_all(sio__rreqs *t, int status) {
  while (!sio__list_empty(&t->live))
    sio__rreq_end(sio__container_of(t->live.next, sio__rreq, link), status);
}

static void on_deadline(uv_timer_t *h) {
  sio__rreq_end(h->data, SIO_ETIMEDOUT);
}

sio__rreq *sio__rreq_new(sio__rreqs *t, size_t size, int type, uint32_t timeout_ms,
                         void (*end)(sio__rreq *r, int status)) {
  sio__rreq *r = sio__calloc(1, size);
  if (!r) return NULL;
  r->table = t;
  r->type = type;
  r->end = end;
  r->refs = 1;
  sio__rreq_make_id(r->id);
  uv_timer_init(t->loop, &r->timer);
  r->timer.data = r;
  if (timeout_ms) uv_timer_start(&r->timer, on_deadline, timeout_ms, 0);
  /* A pending request does not keep the loop alive: once the app has shut down, uv_run returns
   * and freeing the adapter ends what is left (SIO_ECLOSED), instead of the process lingering
   * until the last deadline (a worker then outlives its primary's shutdown deadline). */
  uv_unref((uv_handle_t *)&r->timer);
  sio__list_insert_tail(&t->live, &r->link);
  return r;
}

sio__rreq *sio__rreq_find(const sio__rreqs *t, const char *id, size_t len) {
  if (len != SIO__RREQ_ID_LEN) return NULL; /* every id we make has that length */
  const sio__list *it;
  sio__list_foreach(it, &t->live) {
    sio__rreq *r = sio__container_of(it, sio__rreq, link);
    if (memcmp(r->id, id, len) == 0) return r;
  }
  return NULL;
}

static void on_closed(uv_handle_t *h) {
  sio__rreq_unref(h->data);
}

void sio__rreq_end(sio__rreq *r, int status) {
  if (r->ended) return;
  r->ended = 1;
  sio__list_remove(&r->link);
  uv_timer_stop(&r->timer);
  r->end(r, status);
  uv_close((uv_handle_t *)&r->timer, on_closed); /* the table's reference goes then */
}

void sio__rreq_ref(sio__rreq *r) {
  r->refs++;
}

void sio__rreq_unref(sio__rreq *r) {
  if (--r->refs == 0) sio__free(r);
}

static void put_socket(sio__sbuf *j, const sio_remote_socket *s) {
  sio__sbuf_appends(j, "{\"id\":");
  sio__wire_put_str(j, s->id);
  sio__sbuf_appends(j, ",\"handshake\":");
  sio__sbuf_appends(j, s->handshake_json ? s->handshake_json : "{}");
  sio__sbuf_appends(j, ",\"rooms\":");
  sio__wire_put_strs(j, s->rooms, s->nrooms);
  sio__sbuf_appends(j, ",\"data\":");
  sio__sbuf_appends(j, s->data_json ? s->data_json : "{}");
  sio__sbuf_appendc(j, '}');
}

int sio__radapter_put_sockets(sio__sbuf *j, const sio_remote_socket *v, size_t n) {
  sio__sbuf_appendc(j, '[');
  for (size_t i = 0; i < n; i++) {
    if (i) sio__sbuf_appendc(j, ',');
    put_socket(j, &v[i]);
  }
  sio__sbuf_appendc(j, ']');
  return j->oom ? -ENOMEM : 0;
}
