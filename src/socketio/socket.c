/* sio_socket: one client in one namespace. Handlers, event dispatch (onAny, then the per-packet
 * middleware, then the event's handlers, as Node orders them), rooms through the namespace's
 * adapter, and the disconnect sequence: "disconnecting" (rooms still joined), pending acks
 * failed, rooms left, removed from the namespace, "disconnect". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/log.h"
#include "sio/tls.h"
#include "socketio/io_internal.h"

/* --- callback arrays ---------------------------------------------------------------------- */

int sio__cbs_add(sio__cbs *c, void (*fn)(void), void *user, const char *event) {
  return sio__cbs_add_kind(c, 0, fn, user, event);
}

int sio__cbs_add_kind(sio__cbs *c, int kind, void (*fn)(void), void *user, const char *event) {
  if (!fn) return -EINVAL;
  if (c->n == c->cap) {
    /* exact up to 4 (a socket usually has a few handlers and keeps them for its whole life),
     * doubling past that */
    size_t cap = c->cap < 4 ? c->cap + 1 : (size_t)c->cap * 2;
    if (cap > UINT32_MAX) return -ENOMEM;
    sio__cb *v = sio__realloc(c->v, cap * sizeof(*v));
    if (!v) return -ENOMEM;
    c->v = v;
    c->cap = (uint32_t)cap;
  }
  sio__cb cb = {fn, user, (uint8_t)kind, 0, {0}};
  size_t len = event ? strlen(event) : 0;
  if (len < sizeof cb.ev) {
    if (event) memcpy(cb.ev, event, len + 1);
  } else {
    char *ev = sio__strndup(event, len);
    if (!ev) return -ENOMEM;
    memcpy(cb.ev, &ev, sizeof ev);
    cb.ev_long = 1;
  }
  c->v[c->n++] = cb;
  return 0;
}

int sio__cbs_reserve(sio__cbs *c, uint32_t cap) {
  if (c->cap >= cap) return 0;
  sio__cb *v = sio__realloc(c->v, cap * sizeof(*v));
  if (!v) return -ENOMEM;
  c->v = v;
  c->cap = cap;
  return 0;
}

static void cb_free(sio__cb *cb) {
  if (cb->ev_long) sio__free((char *)sio__cb_event(cb));
}

void sio__cbs_free(sio__cbs *c) {
  for (size_t i = 0; i < c->n; i++) cb_free(&c->v[i]);
  sio__free(c->v);
  memset(c, 0, sizeof(*c));
}

/* --- lifetime ----------------------------------------------------------------------------- */

static const char empty_auth[] = "{}"; /* shared by every socket without a CONNECT payload */

sio_socket *sio__socket_new(sio_nsp *nsp, sio__client *c, const char *auth, size_t auth_len) {
  sio_socket *s = sio__calloc(1, sizeof(*s));
  if (!s) return NULL;
  if (c && c->v3 && c->es && nsp == nsp->io->main) { /* a 2.x client's id of "/" (eio3.c) */
    snprintf(s->id, sizeof s->id, "%s", sio__eio_sid(c->es));
  } else if (sio__random_id(s->id, 15)) { /* 20 chars, like Node's base64id */
    sio__free(s);
    return NULL;
  }
  s->auth = auth ? sio__strndup(auth, auth_len) : (char *)empty_auth;
  if (!s->auth) {
    sio__free(s);
    return NULL;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  s->issued = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
  s->refs = 1;
  s->state = SIO__S_PENDING;
  s->nsp = nsp;
  sio__nsp_ref(nsp);
  nsp->live++;
  s->client = c;
  s->member.id = s->id; /* the rest of the member is the adapter's, zero to begin with */
  sio__list_init(&s->client_link);
  sio__list_init(&s->acks);
  if (c) {
    sio__client_ref(c);
    sio__list_insert_tail(&c->sockets, &s->client_link);
  }
  return s;
}

void sio_socket_ref(sio_socket *s) {
  if (s) s->refs++;
}

void sio_socket_unref(sio_socket *s) {
  if (!s || --s->refs > 0) return;
  /* rooms joined by a socket that never connected (middleware); a no-op after a close */
  s->nsp->adapter->ops->del_all(s->nsp->adapter, &s->member);
  sio__list_remove(&s->client_link);
  if (s->client) sio__client_unref(s->client);
  sio__cbs_free(&s->h);
  sio__rec_free(s);
  if (s->auth != empty_auth) sio__free(s->auth);
  sio__free(s->data_json);
  sio_nsp *nsp = s->nsp;
  sio__free(s);
  sio__nsp_unref(nsp); /* may free a child removed once empty */
}

static void call_disconnect(int kind, sio_socket *s, const char *reason) {
  if (!(s->hkinds & 1u << kind)) return;
  for (size_t i = 0; i < s->h.n; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == kind) ((sio_disconnect_fn)cb.fn)(s, reason, cb.user);
  }
}

static int add_handler(sio_socket *s, int kind, void (*fn)(void), void *user, const char *ev) {
  if (!s) return -EINVAL;
  /* The sockets of a namespace usually get the same handlers from its connection handler:
   * the first one sizes the array for as many as the previous socket had (one allocation
   * where growing by one would reallocate at each), which is also exactly what it will need. */
  if (!s->h.cap && s->nsp->nhandlers > 1) sio__cbs_reserve(&s->h, s->nsp->nhandlers);
  int rc = sio__cbs_add_kind(&s->h, kind, fn, user, ev);
  if (!rc) s->hkinds |= 1u << kind;
  return rc;
}

void sio__socket_close(sio_socket *s, const char *reason, int send_disconnect) {
  if (s->state == SIO__S_CLOSED || s->closing) return;
  int was_connected = s->state == SIO__S_CONNECTED;
  s->closing = 1;
  sio_socket_ref(s);
  if (was_connected && send_disconnect && s->client && s->client->es) {
    sio__sbuf sb = SIO__SBUF_INIT;
    sio__eio_msg msg;
    if (!sio__eio_msg_begin(&sb, 0) &&
        !sio__sio_encode_raw(&sb, 0, SIO__SIO_DISCONNECT, s->nsp->name, s->nsp->name_len, NULL,
                             0) &&
        !sio__eio_msg_seal(&sb, 0, &msg)) {
      sio__client_send_msg(s->client, &msg);
      sio__eio_msg_release(&msg);
    } else {
      sio__sbuf_free(&sb);
    }
  }
  if (was_connected) call_disconnect(SIO__H_DISCONNECTING, s, reason);
  if (was_connected && s->rec) sio__rec_disconnecting(s, reason); /* rooms still joined */
  sio__acks_fail_all(s, SIO_ECLOSED);
  if (s->nsp->io->obs) sio__obs_leave_all(s);
  s->nsp->adapter->ops->del_all(s->nsp->adapter, &s->member);
  if (was_connected) sio__map_del(&s->nsp->sockets, s->id, strlen(s->id));
  s->state = SIO__S_CLOSED;
  s->nsp->live--;
  sio__list_remove(&s->client_link);
  sio__client *c = s->client;
  if (was_connected) call_disconnect(SIO__H_DISCONNECT, s, reason);
  if (c) {
    s->client = NULL;
    sio__client_unref(c);
  }
  sio__nsp_maybe_cleanup(s->nsp);
  s->closing = 0;
  sio_socket_unref(s); /* the dispatch reference */
  sio_socket_unref(s); /* the connection's reference */
}

void sio_disconnect(sio_socket *s, int close) {
  if (!s || s->state == SIO__S_CLOSED) return;
  if (close && s->client) {
    sio__client_disconnect_all(s->client);
    return;
  }
  sio__socket_close(s, "server namespace disconnect", 1);
}

/* --- accessors ---------------------------------------------------------------------------- */

const char *sio_id(const sio_socket *s) {
  return s ? s->id : NULL;
}
sio_nsp *sio_socket_nsp(const sio_socket *s) {
  return s ? s->nsp : NULL;
}
sio_io *sio_socket_io(const sio_socket *s) {
  return s ? s->nsp->io : NULL;
}
int sio_connected(const sio_socket *s) {
  return s && s->state == SIO__S_CONNECTED;
}
void sio_socket_set_data(sio_socket *s, void *data) {
  if (s) s->data = data;
}
void *sio_socket_data(const sio_socket *s) {
  return s ? s->data : NULL;
}
int sio_socket_set_data_json(sio_socket *s, const char *json) {
  if (!s) return -EINVAL;
  char *copy = NULL;
  if (json && sio__json_validate(json, strlen(json), SIO__JSON_MAX_DEPTH, NULL)) return -EINVAL;
  if (json && !(copy = sio__strdup(json))) return -ENOMEM;
  sio__free(s->data_json);
  s->data_json = copy;
  sio_io *io = s->nsp->io;
  if (io->obs && io->obs->data && s->state == SIO__S_CONNECTED) io->obs->data(s, io->obs_user);
  return 0;
}
const char *sio_socket_data_json(const sio_socket *s) {
  return !s ? NULL : s->data_json ? s->data_json : "{}";
}

static sio__eio_session *es_of(const sio_socket *s) {
  return s && s->client ? s->client->es : NULL;
}

const char *sio_transport(const sio_socket *s) {
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_transport(es) : NULL;
}
const char *sio_handshake_auth(const sio_socket *s) {
  return s ? s->auth : NULL;
}
json_t *sio_handshake_auth_json(const sio_socket *s) {
  return s ? sio__json_to_jansson(s->auth, strlen(s->auth)) : NULL;
}
const char *sio_handshake_header(const sio_socket *s, const char *name) {
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_header(es, name) : NULL;
}
const char *sio_handshake_query(const sio_socket *s, const char *name) {
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_query(es, name) : NULL;
}
const char *sio_handshake_url(const sio_socket *s) {
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_url(es) : NULL;
}
const char *sio_handshake_address(const sio_socket *s) {
  if (s && s->client && s->client->addr_kept) return sio__client_address(s->client); /* dropped */
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_remote_address(es) : NULL;
}
int sio_handshake_secure(const sio_socket *s) {
  sio__eio_session *es = es_of(s);
  return es ? sio__eio_secure(es) : 0;
}
int sio_handshake_tls_peer(const sio_socket *s, sio_tls_peer *out) {
  sio__eio_session *es = es_of(s);
  return es ? sio_eio_socket_tls_peer(es, out) : -EINVAL;
}
uint64_t sio_handshake_issued(const sio_socket *s) {
  return s ? s->issued : 0;
}

/* --- handlers ----------------------------------------------------------------------------- */

int sio_on(sio_socket *s, const char *event, sio_event_fn fn, void *user) {
  if (!s || !event) return -EINVAL;
  return add_handler(s, SIO__H_EVENT, (void (*)(void))fn, user, event);
}

/* Removes the handlers of `kind` (and, if given, for `event`) that are `fn`, or all of them
 * when fn is NULL. SIO_ENOTFOUND if none matched. */
static int off_kind(sio_socket *s, int kind, const char *event, void (*fn)(void)) {
  size_t j = 0;
  int found = 0;
  for (size_t i = 0; i < s->h.n; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == kind && (!event || strcmp(sio__cb_event(&cb), event) == 0) &&
        (!fn || cb.fn == fn)) {
      cb_free(&cb);
      found = 1;
      continue;
    }
    s->h.v[j++] = cb;
  }
  s->h.n = j;
  return found ? 0 : SIO_ENOTFOUND;
}

int sio_off(sio_socket *s, const char *event, sio_event_fn fn) {
  if (!s || !event) return -EINVAL;
  return off_kind(s, SIO__H_EVENT, event, (void (*)(void))fn);
}

int sio_off_any(sio_socket *s, sio_any_fn fn) {
  if (!s) return -EINVAL;
  return off_kind(s, SIO__H_ANY, NULL, (void (*)(void))fn);
}

int sio_off_any_outgoing(sio_socket *s, sio_any_fn fn) {
  if (!s) return -EINVAL;
  return off_kind(s, SIO__H_ANY_OUT, NULL, (void (*)(void))fn);
}

int sio_on_any(sio_socket *s, sio_any_fn fn, void *user) {
  return add_handler(s, SIO__H_ANY, (void (*)(void))fn, user, NULL);
}
int sio_on_any_outgoing(sio_socket *s, sio_any_fn fn, void *user) {
  return add_handler(s, SIO__H_ANY_OUT, (void (*)(void))fn, user, NULL);
}
int sio_socket_use(sio_socket *s, sio_packet_mw_fn fn, void *user) {
  return add_handler(s, SIO__H_PACKET_MW, (void (*)(void))fn, user, NULL);
}
int sio_on_error(sio_socket *s, sio_socket_error_fn fn, void *user) {
  return add_handler(s, SIO__H_ERROR, (void (*)(void))fn, user, NULL);
}
int sio_on_disconnecting(sio_socket *s, sio_disconnect_fn fn, void *user) {
  return add_handler(s, SIO__H_DISCONNECTING, (void (*)(void))fn, user, NULL);
}
int sio_on_disconnect(sio_socket *s, sio_disconnect_fn fn, void *user) {
  return add_handler(s, SIO__H_DISCONNECT, (void (*)(void))fn, user, NULL);
}

/* --- rooms -------------------------------------------------------------------------------- */

int sio_join(sio_socket *s, const char *room) {
  if (!s || !room) return -EINVAL;
  if (s->state == SIO__S_CLOSED) return SIO_ECLOSED;
  const char *r[] = {room};
  sio_adapter *a = s->nsp->adapter;
  if (!s->nsp->io->obs) return a->ops->add_all(a, &s->member, r, 1);
  int had = a->ops->has(a, &s->member, room); /* the observer hears of new joins only */
  int rc = a->ops->add_all(a, &s->member, r, 1);
  if (!rc && !had) sio__obs_room(s, room, 1);
  return rc;
}

int sio_leave(sio_socket *s, const char *room) {
  if (!s || !room) return -EINVAL;
  if (s->state == SIO__S_CLOSED) return SIO_ECLOSED;
  sio_adapter *a = s->nsp->adapter;
  if (!s->nsp->io->obs) return a->ops->del(a, &s->member, room);
  int had = a->ops->has(a, &s->member, room);
  int rc = a->ops->del(a, &s->member, room);
  if (!rc && had) sio__obs_room(s, room, 0);
  return rc;
}

static int obs_left(const char *room, size_t len, void *ctx) {
  (void)len;
  sio__obs_room(ctx, room, 0);
  return 0;
}

void sio__obs_leave_all(sio_socket *s) {
  s->nsp->adapter->ops->rooms_of(s->nsp->adapter, &s->member, obs_left, s);
}

int sio_in_room(const sio_socket *s, const char *room) {
  if (!s || !room || s->state == SIO__S_CLOSED) return 0;
  return s->nsp->adapter->ops->has(s->nsp->adapter, &s->member, room);
}

typedef struct rooms_ctx {
  sio_room_fn fn;
  void *user;
} rooms_ctx;

static int room_cb(const char *room, size_t len, void *ctx) {
  (void)len;
  rooms_ctx *c = ctx;
  return c->fn(room, c->user);
}

void sio_rooms(const sio_socket *s, sio_room_fn fn, void *user) {
  if (!s || !fn || s->state == SIO__S_CLOSED) return;
  rooms_ctx c = {fn, user};
  s->nsp->adapter->ops->rooms_of(s->nsp->adapter, &s->member, room_cb, &c);
}

/* --- dispatch ----------------------------------------------------------------------------- */

static void report_error(sio_socket *s, int err, const char *message) {
  for (size_t i = 0; i < s->h.n; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == SIO__H_ERROR) ((sio_socket_error_fn)cb.fn)(s, err, message, cb.user);
  }
}

/* strcmp(a, b) == 0 for the short names events have, without a library call per handler */
static inline int name_eq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static void on_event(sio_socket *s, const sio__sio_packet *p, sio__buf *const *att, unsigned natt) {
  sio_args args;
  int binary = p->type == SIO__SIO_BINARY_EVENT;
  if (sio__args_init_packet(&args, p, 1, att, natt, binary)) return;
  /* the event name: a string (unescaped) or a number (its text) */
  sio__sbuf name = SIO__SBUF_INIT;
  char small[96];
  const char *ev;
  const sio__json_slice *first = &args.v[0];
  const char *fs = args.json + first->off;
  if (first->type == SIO__JSON_STRING && first->len - 2 < sizeof small &&
      !memchr(fs, '\\', first->len)) { /* the common case: no escapes, short */
    memcpy(small, fs + 1, first->len - 2);
    small[first->len - 2] = '\0';
    ev = small;
  } else {
    if (first->type == SIO__JSON_STRING)
      sio__json_string(fs, first->len, &name);
    else
      sio__sbuf_append(&name, fs, first->len);
    if (sio__sbuf_appendc(&name, '\0')) {
      sio__sbuf_free(&name);
      sio__args_free(&args);
      return;
    }
    ev = name.data;
  }
  sio_ack *ack = NULL;
  if (p->id != SIO__SIO_NO_ID) ack = sio__ack_new(s, p->id);
  for (size_t i = 0; (s->hkinds & 1u << SIO__H_ANY) && i < s->h.n && s->state == SIO__S_CONNECTED;
       i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == SIO__H_ANY) ((sio_any_fn)cb.fn)(s, ev, &args, cb.user);
  }
  int refused = 0;
  for (size_t i = 0;
       (s->hkinds & 1u << SIO__H_PACKET_MW) && i < s->h.n && s->state == SIO__S_CONNECTED; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind != SIO__H_PACKET_MW) continue;
    int rc = ((sio_packet_mw_fn)cb.fn)(s, ev, &args, cb.user);
    if (rc) {
      refused = 1;
      report_error(s, rc, sio_strerror(rc));
      break;
    }
  }
  if (!refused) {
    for (size_t i = 0; i < s->h.n && s->state == SIO__S_CONNECTED; i++) {
      sio__cb cb = s->h.v[i];
      if (cb.kind != SIO__H_EVENT || !name_eq(sio__cb_event(&cb), ev)) continue;
      ((sio_event_fn)cb.fn)(s, &args, ack, cb.user);
    }
  }
  if (ack) sio__ack_after_handlers(ack);
  sio__sbuf_free(&name);
  sio__args_free(&args);
}

static void on_ack(sio_socket *s, const sio__sio_packet *p, sio__buf *const *att, unsigned natt) {
  sio_args args;
  int binary = p->type == SIO__SIO_BINARY_ACK;
  if (sio__args_init_packet(&args, p, 0, att, natt, binary)) return;
  sio__ack_deliver(s, p->id, &args);
  sio__args_free(&args);
}

void sio__socket_on_packet(sio_socket *s, const sio__sio_packet *p, sio__buf *const *att,
                           unsigned natt) {
  if (s->state == SIO__S_PENDING && p->type == SIO__SIO_DISCONNECT) { /* left during middleware */
    sio__socket_close(s, "client namespace disconnect", 0);
    return;
  }
  if (s->state != SIO__S_CONNECTED) return;
  sio_socket_ref(s);
  switch (p->type) {
  case SIO__SIO_EVENT:
  case SIO__SIO_BINARY_EVENT:
    on_event(s, p, att, natt);
    break;
  case SIO__SIO_ACK:
  case SIO__SIO_BINARY_ACK:
    if (p->id != SIO__SIO_NO_ID) on_ack(s, p, att, natt);
    break;
  case SIO__SIO_DISCONNECT:
    sio__socket_close(s, "client namespace disconnect", 0);
    break;
  default:
    break;
  }
  sio_socket_unref(s);
}
