/* Local sockets described for another node's fetchSockets (sio_adapter_describe_sockets): the
 * id, the handshake as Node's socket.handshake serialises (handshake.c), the rooms and
 * socket.data: the JSON the application set with sio_socket_set_data_json, else "{}" (Node's
 * default). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

typedef struct names {
  const char **v;
  size_t n, cap;
  int oom;
} names;

static int add_room(const char *room, size_t len, void *ctx) {
  names *r = ctx;
  (void)len;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    const char **p = sio__realloc(r->v, cap * sizeof(*p));
    if (!p) {
      r->oom = 1;
      return 1;
    }
    r->v = p;
    r->cap = cap;
  }
  r->v[r->n++] = room;
  return 0;
}

/* d (and the texts in hs, the rooms in r) for one socket. */
static int describe(sio_remote_socket *d, sio__sbuf *hs, names *r, const sio_socket *s) {
  sio__handshake_write(hs, s);
  s->nsp->adapter->ops->rooms_of(s->nsp->adapter, &s->member, add_room, r);
  if (hs->oom || r->oom) return -ENOMEM;
  d->id = s->id;
  d->handshake_json = hs->data;
  d->rooms = r->v;
  d->nrooms = r->n;
  d->data_json = sio_socket_data_json(s);
  return 0;
}

int sio_adapter_describe_sockets(sio_nsp *nsp, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                 void *user) {
  if (!nsp || !o || !fn || nsp->kind == SIO__NSP_PARENT) return -EINVAL;
  sio_socket **v = NULL;
  size_t n = 0;
  int rc = sio__select_local(nsp, o, &v, &n);
  if (rc) return rc;
  sio_remote_socket *d = n ? sio__calloc(n, sizeof(*d)) : NULL;
  sio__sbuf *hs = n ? sio__calloc(n, sizeof(*hs)) : NULL;
  names *r = n ? sio__calloc(n, sizeof(*r)) : NULL;
  if (n && (!d || !hs || !r)) rc = -ENOMEM;
  for (size_t i = 0; !rc && i < n; i++) rc = describe(&d[i], &hs[i], &r[i], v[i]);
  if (!rc) fn(0, d, n, user);
  for (size_t i = 0; hs && r && i < n; i++) {
    sio__sbuf_free(&hs[i]);
    sio__free(r[i].v);
  }
  sio__free(d);
  sio__free(hs);
  sio__free(r);
  sio__select_free(v, n);
  return rc;
}
