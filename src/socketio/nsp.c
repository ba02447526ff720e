/* Namespaces: static ones (sio_of), dynamic parents (by callback or shell pattern) whose
 * children are created when a client first connects to a matching name (and, with
 * cleanup_empty_child_namespaces, removed when their last socket leaves), the io.use()-style
 * middleware chain (asynchronous: each step calls sio_mw_next or sio_mw_fail, now or later) and
 * the CONNECT answer: `40<nsp>,{"sid":"…"}` then the connection handlers, or CONNECT_ERROR
 * `44<nsp>,{"message":…,"data":…}`. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"

static sio_member *member_by_id(sio_nsp *nsp, const char *id) {
  sio_socket *s = sio__map_get(&nsp->sockets, id, strlen(id));
  return s ? &s->member : NULL;
}

sio_nsp *sio__nsp_new(sio_io *io, const char *name, size_t len, int kind) {
  sio_nsp *nsp = sio__calloc(1, sizeof(*nsp));
  if (!nsp) return NULL;
  nsp->io = io;
  nsp->kind = kind;
  nsp->name = sio__strndup(name, len);
  nsp->name_len = len;
  sio__list_init(&nsp->parent_link);
  if (!nsp->name) goto fail;
  if (kind != SIO__NSP_PARENT) {
    nsp->adapter = io->adapter_new(nsp, io->adapter_arg);
    if (!nsp->adapter) goto fail;
    nsp->adapter->lookup = member_by_id;
    nsp->adapter->recovery = &io->recovery;
    if (io->adapters_shut && nsp->adapter->ops->shutdown) /* made while the server shuts down */
      nsp->adapter->ops->shutdown(nsp->adapter);
    if (sio__map_put(&io->nsps, name, len, nsp)) goto fail;
  }
  return nsp;
fail:
  if (nsp->adapter) nsp->adapter->ops->destroy(nsp->adapter);
  sio__free(nsp->name);
  sio__free(nsp);
  return NULL;
}

void sio__nsp_free(sio_nsp *nsp) {
  if (nsp->adapter) nsp->adapter->ops->destroy(nsp->adapter);
  sio__map_free(&nsp->sockets);
  sio__map_free(&nsp->rec_pids);
  sio__cbs_free(&nsp->on_connection);
  sio__cbs_free(&nsp->middleware);
  sio__cbs_free(&nsp->server_side);
  sio__list_remove(&nsp->parent_link);
  sio__free(nsp->pattern);
  sio__free(nsp->name);
  sio__free(nsp);
}

void sio__nsp_ref(sio_nsp *nsp) {
  nsp->refs++;
}

void sio__nsp_unref(sio_nsp *nsp) {
  if (--nsp->refs == 0 && nsp->detached) sio__nsp_free(nsp);
}

void sio__nsp_release(sio_nsp *nsp) {
  if (!nsp->refs) {
    sio__nsp_free(nsp);
    return;
  }
  /* still referenced (a socket or an operator the application kept): it outlives the server,
   * unlinked from it, and goes with its last reference */
  sio__list_remove(&nsp->parent_link);
  nsp->io = NULL;
  if (nsp->adapter) nsp->adapter->recovery = NULL; /* the server's options go with it */
  nsp->detached = 1;
}

/* cleanupEmptyChildNamespaces. The child leaves the server's map at once, so that the next
 * CONNECT to its name goes through the parent again (middleware, connection handlers); the
 * struct and its adapter stay until the sockets and operators that point at it let go, so
 * nothing ever points at freed memory (a broadcast running on it, a closed socket the
 * application kept, a fetchSockets result). Pending sockets (in middleware) count as present:
 * they connect into this child. */
void sio__nsp_maybe_cleanup(sio_nsp *nsp) {
  sio_io *io = nsp->io;
  if (nsp->kind != SIO__NSP_CHILD || nsp->detached || nsp->live || !io ||
      !io->opts.cleanup_empty_child_namespaces)
    return;
  sio__map_del(&io->nsps, nsp->name, nsp->name_len);
  nsp->detached = 1;
  sio__debug("socket.io: namespace %s removed (no socket left)", nsp->name);
  if (!nsp->refs) {
    sio__nsp_free(nsp);
    return;
  }
  sio__list_insert_tail(&io->detached, &nsp->parent_link);
}

sio_nsp *sio_nsp_find(const sio_io *io, const char *name) {
  if (!io || !name) return NULL;
  size_t len = strlen(name);
  if (name[0] == '/') return sio__map_get(&io->nsps, name, len);
  char tmp[256]; /* "chat" is "/chat", as in sio_of */
  if (len + 2 > sizeof tmp) return NULL;
  tmp[0] = '/';
  memcpy(tmp + 1, name, len + 1);
  return sio__map_get(&io->nsps, tmp, len + 1);
}

sio_nsp *sio_of(sio_io *io, const char *name) {
  if (!io || !name) return NULL;
  char tmp[256];
  const char *n = name;
  if (name[0] != '/') { /* io.of("chat") is "/chat" */
    size_t l = strlen(name);
    if (l + 2 > sizeof tmp) return NULL;
    tmp[0] = '/';
    memcpy(tmp + 1, name, l + 1);
    n = tmp;
  }
  size_t len = strlen(n);
  sio_nsp *nsp = sio__map_get(&io->nsps, n, len);
  if (nsp) return nsp;
  return sio__nsp_new(io, n, len, SIO__NSP_STATIC);
}

static sio_nsp *new_parent(sio_io *io, const char *label) {
  sio_nsp *p = sio__nsp_new(io, label, strlen(label), SIO__NSP_PARENT);
  if (p) sio__list_insert_tail(&io->parents, &p->parent_link);
  return p;
}

sio_nsp *sio_of_match(sio_io *io, sio_nsp_match_fn fn, void *user) {
  if (!io || !fn) return NULL;
  sio_nsp *p = new_parent(io, "/_dynamic");
  if (p) {
    p->match = fn;
    p->match_user = user;
  }
  return p;
}

sio_nsp *sio_of_pattern(sio_io *io, const char *pattern) {
  if (!io || !pattern) return NULL;
  sio_nsp *p = new_parent(io, pattern);
  if (p && !(p->pattern = sio__strdup(pattern))) {
    sio__nsp_free(p);
    return NULL;
  }
  return p;
}

const char *sio_nsp_name(const sio_nsp *nsp) {
  return nsp ? nsp->name : NULL;
}
sio_io *sio_nsp_io(const sio_nsp *nsp) {
  return nsp ? nsp->io : NULL;
}
void sio_nsp_set_data(sio_nsp *nsp, void *data) {
  if (nsp) nsp->data = data;
}
void *sio_nsp_data(const sio_nsp *nsp) {
  return nsp ? nsp->data : NULL;
}
size_t sio_nsp_sockets_count(const sio_nsp *nsp) {
  return nsp ? nsp->sockets.count : 0;
}
sio_socket *sio_nsp_socket(const sio_nsp *nsp, const char *id) {
  if (!nsp || !id) return NULL;
  return sio__map_get(&nsp->sockets, id, strlen(id));
}

size_t sio_nsp_room_size(const sio_nsp *nsp, const char *room) {
  if (!nsp || !room || !nsp->adapter) return 0;
  return nsp->adapter->ops->room_size(nsp->adapter, room);
}

int sio_nsp_on_connection(sio_nsp *nsp, sio_connection_fn fn, void *user) {
  if (!nsp) return -EINVAL;
  return sio__cbs_add(&nsp->on_connection, (void (*)(void))fn, user, NULL);
}
int sio_io_on_connection(sio_io *io, sio_connection_fn fn, void *user) {
  return io ? sio_nsp_on_connection(io->main, fn, user) : -EINVAL;
}
int sio_nsp_use(sio_nsp *nsp, sio_middleware_fn fn, void *user) {
  if (!nsp) return -EINVAL;
  return sio__cbs_add(&nsp->middleware, (void (*)(void))fn, user, NULL);
}
int sio_io_use(sio_io *io, sio_middleware_fn fn, void *user) {
  return io ? sio_nsp_use(io->main, fn, user) : -EINVAL;
}

sio_nsp *sio__nsp_lookup(sio_io *io, const char *name, size_t len, const char *auth) {
  sio_nsp *nsp = sio__map_get(&io->nsps, name, len);
  if (nsp) return nsp;
  if (sio__list_empty(&io->parents)) return NULL;
  char *n = sio__strndup(name, len);
  if (!n) return NULL;
  sio__list *it;
  sio_nsp *found = NULL;
  sio__list_foreach(it, &io->parents) {
    sio_nsp *p = sio__container_of(it, sio_nsp, parent_link);
    int ok =
        p->match ? p->match(n, auth ? auth : "{}", p->match_user) : fnmatch(p->pattern, n, 0) == 0;
    if (!ok) continue;
    found = sio__nsp_new(io, name, len, SIO__NSP_CHILD);
    if (found) found->parent = p, found->data = p->data;
    break;
  }
  sio__free(n);
  return found;
}

/* --- CONNECT ------------------------------------------------------------------------------ */

static void send_raw(sio__client *c, sio__sio_type type, const sio_nsp *nsp, const char *nsp_name,
                     size_t nsp_len, const char *payload, size_t plen) {
  (void)nsp;
  if (!c->es) return;
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__eio_msg msg;
  if (sio__eio_msg_begin(&sb, 0) ||
      sio__sio_encode_raw(&sb, 0, type, nsp_name, nsp_len, payload, plen) ||
      sio__eio_msg_seal(&sb, 0, &msg)) {
    sio__sbuf_free(&sb);
    return;
  }
  sio__client_send_msg(c, &msg);
  sio__eio_msg_release(&msg);
}

void sio__send_connect_error(sio__client *c, const char *nsp, size_t nsp_len, const char *message,
                             const char *data_json) {
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__sbuf_appends(&sb, "{\"message\":");
  sio__json_escape(&sb, message ? message : "", message ? strlen(message) : 0);
  if (data_json) {
    sio__json_slice sl;
    if (sio__json_validate(data_json, strlen(data_json), 0, &sl) == 0) {
      sio__sbuf_appends(&sb, ",\"data\":");
      sio__sbuf_append(&sb, data_json + sl.off, sl.len);
    }
  }
  if (!sio__sbuf_appendc(&sb, '}'))
    send_raw(c, SIO__SIO_CONNECT_ERROR, NULL, nsp, nsp_len, sb.data, sb.len);
  sio__sbuf_free(&sb);
}

struct sio_mw {
  sio_socket *s;
  size_t idx; /* next middleware: the parent's first (for a dynamic child), then its own */
};

sio_socket *sio_mw_socket(const sio_mw *mw) {
  return mw ? mw->s : NULL;
}

static void mw_free(sio_mw *mw) {
  sio_socket_unref(mw->s);
  sio__free(mw);
}

static void call_connection(sio__cbs *cbs, sio_socket *s) {
  for (size_t i = 0; i < cbs->n && s->state == SIO__S_CONNECTED; i++) {
    sio__cb cb = cbs->v[i];
    ((sio_connection_fn)cb.fn)(s, cb.user);
  }
}

static void socket_connected(sio_socket *s) {
  sio_nsp *nsp = s->nsp;
  sio__client *c = s->client;
  const char *own[] = {s->id};
  if (sio__map_put_ref(&nsp->sockets, s->id, strlen(s->id), s) || /* key inside s */
      nsp->adapter->ops->add_all(nsp->adapter, &s->member, own, 1)) {
    sio__map_del(&nsp->sockets, s->id, strlen(s->id));
    sio__send_connect_error(c, nsp->name, nsp->name_len, "Internal error", NULL);
    sio__socket_close(s, "server namespace disconnect", 0);
    return;
  }
  s->state = SIO__S_CONNECTED;
  sio__obs_room(s, s->id, 1);
  sio__client_stop_connect_wait(c);
  const char *pid = sio__rec_connected(s); /* after the packets it is owed, if any */
  char payload[96]; /* {"sid":"<id>"[,"pid":"<pid>"]} (ids are URL-safe: no escaping) */
  size_t idl = strnlen(s->id, 23), pl = pid ? strnlen(pid, 23) : 0, n = 0;
  memcpy(payload, "{\"sid\":\"", 8);
  memcpy(payload + 8, s->id, idl);
  n = 8 + idl;
  if (pid) {
    memcpy(payload + n, "\",\"pid\":\"", 9);
    memcpy(payload + n + 9, pid, pl);
    n += 9 + pl;
  }
  memcpy(payload + n, "\"}", 2);
  if (c->v3) /* a 2.x client's CONNECT answer has no payload (eio3.c) */
    send_raw(c, SIO__SIO_CONNECT, nsp, nsp->name, nsp->name_len, NULL, 0);
  else
    send_raw(c, SIO__SIO_CONNECT, nsp, nsp->name, nsp->name_len, payload, n + 2);
  sio_socket_ref(s);
  if (nsp->io->obs && nsp->io->obs->socket_connect)
    nsp->io->obs->socket_connect(s, nsp->io->obs_user);
  if (nsp->parent) call_connection(&nsp->parent->on_connection, s);
  call_connection(&nsp->on_connection, s);
  if (s->state == SIO__S_CONNECTED) nsp->nhandlers = s->h.n;    /* see add_handler */
  if (nsp->io->opts.drop_handshake && c->es && !c->addr_kept) { /* see sio_io_opts */
    const char *addr = sio_eio_socket_remote_address(c->es);
    if (!addr) addr = "";
    size_t alen = strlen(addr);
    if (alen < sizeof c->addr.inl) {
      memcpy(c->addr.inl, addr, alen + 1);
      c->addr_kept = 1;
    } else if ((c->addr.ptr = sio__strndup(addr, alen))) {
      c->addr_long = c->addr_kept = 1;
    }
    if (c->addr_kept) sio__eio_drop_handshake(c->es);
  }
  sio_socket_unref(s);
}

static void mw_run(sio_mw *mw) {
  sio_socket *s = mw->s;
  if (s->state == SIO__S_CLOSED || !s->client || !s->client->es) { /* the client left */
    mw_free(mw);
    return;
  }
  sio_nsp *nsp = s->nsp;
  size_t np = nsp->parent ? nsp->parent->middleware.n : 0;
  size_t i = mw->idx++;
  sio__cb cb;
  if (i < np) {
    cb = nsp->parent->middleware.v[i];
  } else if (i - np < nsp->middleware.n) {
    cb = nsp->middleware.v[i - np];
  } else {
    socket_connected(s);
    mw_free(mw);
    return;
  }
  ((sio_middleware_fn)cb.fn)(s, mw, cb.user); /* mw may be gone when this returns */
}

void sio_mw_next(sio_mw *mw) {
  if (mw) mw_run(mw);
}

void sio_mw_fail(sio_mw *mw, const char *message, const char *data_json) {
  if (!mw) return;
  sio_socket *s = mw->s;
  sio__client *c = s->client;
  if (s->state != SIO__S_CLOSED && c && c->es && c->v3) {
    /* a 2.x client gets err.data || err.message, as Node sends it (eio3.c) */
    sio__sbuf sb = SIO__SBUF_INIT;
    sio__json_slice sl;
    if (data_json && sio__json_validate(data_json, strlen(data_json), 0, &sl) == 0)
      sio__sbuf_append(&sb, data_json + sl.off, sl.len);
    else
      sio__json_escape(&sb, message ? message : "", message ? strlen(message) : 0);
    if (!sb.oom)
      send_raw(c, SIO__SIO_CONNECT_ERROR, NULL, s->nsp->name, s->nsp->name_len, sb.data, sb.len);
    sio__sbuf_free(&sb);
    sio__socket_close(s, "server namespace disconnect", 0);
  } else if (s->state != SIO__S_CLOSED && c && c->es) {
    sio__send_connect_error(c, s->nsp->name, s->nsp->name_len, message, data_json);
    sio__socket_close(s, "server namespace disconnect", 0);
  }
  mw_free(mw);
}

void sio__nsp_connect(sio_nsp *nsp, sio__client *c, const char *auth, size_t auth_len) {
  sio_socket *s = sio__socket_new(nsp, c, auth, auth_len);
  if (s && sio__rec_connect(s)) return; /* its session is being restored */
  if (!s) {
    sio__send_connect_error(c, nsp->name, nsp->name_len, "Internal error", NULL);
    sio__nsp_maybe_cleanup(nsp);
    return;
  }
  sio__nsp_admit(s, 0);
}

void sio__nsp_admit(sio_socket *s, int skip_mw) {
  sio_nsp *nsp = s->nsp;
  sio__client *c = s->client;
  if (skip_mw || (!nsp->middleware.n && !(nsp->parent && nsp->parent->middleware.n))) {
    /* no middleware: what mw_run does past the last one, without the state it would keep */
    sio_socket_ref(s);
    if (s->state != SIO__S_CLOSED && s->client && s->client->es) socket_connected(s);
    sio_socket_unref(s);
    return;
  }
  sio_mw *mw = sio__calloc(1, sizeof(*mw));
  if (!mw) { /* answer first: closing the socket may remove (and free) an empty child */
    if (c && c->es) sio__send_connect_error(c, nsp->name, nsp->name_len, "Internal error", NULL);
    sio__socket_close(s, "server namespace disconnect", 0);
    return;
  }
  mw->s = s;
  sio_socket_ref(s);
  mw_run(mw);
}
