/* The client: one sio__client per Engine.IO session, the glue between Engine.IO and Socket.IO.
 *
 * Receive path: each Engine.IO text message is one Socket.IO packet, decoded by the codec
 * (which validates the JSON once and keeps slices). A binary packet (BINARY_EVENT/ACK) is held
 * until its attachments, which arrive as the following binary Engine.IO messages, are all
 * there. Anything invalid (a bad packet, text while attachments are expected, a binary message
 * nobody announced, a client CONNECT_ERROR) closes the session, as the reference server does.
 * CONNECT is routed to its namespace (several namespaces share one session); an unknown one is
 * answered with CONNECT_ERROR "Invalid namespace" and the session stays open. A session that
 * has connected no namespace when connectTimeout fires is closed. An Engine.IO v3 client
 * (socket.io-client 2.x) is connected to "/" at once and names a namespace with its query
 * string, whose pairs are its CONNECT's auth (eio3.c). With the msgpack parser (sio/parser.h)
 * every packet is one binary message, decoded by mpcodec.c into the same form.
 *
 * Send path: every packet is an Engine.IO message encoded once (see io_internal.h); here it is
 * queued on the session, subject to the send-buffer limit: past it a volatile packet is dropped
 * and, by default, the client is disconnected ("send buffer full", logged). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"
#include "socketio/mpcodec.h"

/* --- clients ------------------------------------------------------------------------------ */

static void rs_free(sio__sio_reassembly *r) {
  sio__sio_reassembly_free(r);
  sio__free(r);
}

/* Drops a binary packet still waiting for attachments. */
static void rs_drop(sio__client *c) {
  if (!c->rs) return;
  rs_free(c->rs);
  c->rs = NULL;
}

void sio__client_ref(sio__client *c) {
  c->refs++;
}

void sio__client_unref(sio__client *c) {
  if (--c->refs > 0) return;
  rs_drop(c);
  sio__client_stop_connect_wait(c);
  if (c->addr_long) sio__free(c->addr.ptr);
  sio__free(c);
}

size_t sio__client_buffered(const sio__client *c) {
  return c->es ? sio__eio_buffered(c->es) : 0;
}
/* For volatile packets, as Node's transport.writable: nothing is waiting to go out (the
 * previous write was taken by the kernel, or a polling GET can take it). */
int sio__client_writable(const sio__client *c) {
  return c->es && sio__eio_writable(c->es) && sio__eio_buffered(c->es) == 0;
}
const char *sio__client_transport(const sio__client *c) {
  return c->es ? sio_eio_socket_transport(c->es) : NULL;
}

static void close_sockets(sio__client *c, const char *reason, int send_disconnect) {
  while (!sio__list_empty(&c->sockets)) {
    sio_socket *s = sio__container_of(c->sockets.next, sio_socket, client_link);
    if (s->state == SIO__S_CLOSED || s->closing) { /* already leaving: just unlink */
      sio__list_remove(&s->client_link);
      continue;
    }
    sio__socket_close(s, reason, send_disconnect);
  }
}

void sio__client_close(sio__client *c, const char *reason) {
  if (c->closed) return;
  sio__client_ref(c);
  close_sockets(c, reason, 0);
  if (c->es) sio__eio_session_close(c->es);
  sio__client_unref(c);
}

void sio__client_disconnect_all(sio__client *c) {
  if (c->closed) return;
  sio__client_ref(c);
  close_sockets(c, "server namespace disconnect", 1);
  if (c->es) sio__eio_session_close(c->es);
  sio__client_unref(c);
}

int sio__socket_send_packet(sio_socket *s, const sio__out *o, int vol) {
  sio__client *c = s->client;
  if (!c || !c->es || c->closed) return SIO_ECLOSED;
  sio_io *io = c->io;
  if (vol && !sio__client_writable(c)) {
    io->stats.volatile_dropped++;
    return SIO_ETOOLARGE;
  }
  if (sio__eio_buffered(c->es) > io->opts.send_buffer_limit) {
    io->stats.send_buffer_full++;
    if (vol || io->opts.send_buffer_policy == SIO_SEND_DROP) return SIO_ETOOLARGE;
    sio__warn("socket.io: client %s disconnected: send buffer full (%zu bytes queued, limit %zu)",
              sio__eio_sid(c->es), sio__eio_buffered(c->es), io->opts.send_buffer_limit);
    sio__client_close(c, "send buffer full");
    return SIO_ETOOLARGE;
  }
  int rc = sio__client_send_out(c, o);
  if (rc) return rc;
  size_t bytes = o->text.b->len - o->text.data_off; /* counted in the JSON parser's form */
  for (unsigned i = 0; i < o->natt; i++) bytes += o->att[i].b->len - o->att[i].data_off;
  io->stats.packets_out++, io->stats.bytes_out += bytes;
  return 0;
}

static sio_socket *socket_of(sio__client *c, const char *nsp, size_t len) {
  sio__list *it;
  sio__list_foreach(it, &c->sockets) {
    sio_socket *s = sio__container_of(it, sio_socket, client_link);
    if (s->nsp->name_len == len && memcmp(s->nsp->name, nsp, len) == 0) return s;
  }
  return NULL;
}

static void protocol_error(sio__client *c, const char *why) {
  sio__debug("socket.io: closing session %s: %s", c->es ? sio__eio_sid(c->es) : "?", why);
  sio__client_close(c, "parse error");
}

static int connect_too_late(sio__client *c);

/* A CONNECT to nsp[0..len) with its auth payload (JSON, or NULL for none). */
static void on_connect(sio__client *c, const char *name, size_t len, const char *auth_json,
                       size_t auth_len) {
  sio_io *io = c->io;
  if (socket_of(c, name, len)) return; /* already connected (or connecting) there */
  if (connect_too_late(c)) return;
  char *auth = NULL;
  if (auth_json) {
    auth = sio__strndup(auth_json, auth_len);
    if (!auth) return;
  }
  sio_nsp *nsp = sio__nsp_lookup(io, name, len, auth);
  if (!nsp) {
    sio__send_connect_error(c, name, len, "Invalid namespace", NULL);
  } else {
    sio__nsp_connect(nsp, c, auth_json, auth_json ? auth_len : 0);
  }
  sio__free(auth);
}

static void dispatch(sio__client *c, const sio__sio_packet *p, sio__buf *const *att,
                     unsigned natt) {
  size_t nsp_len = p->nsp_len;
  if (c->v3) { /* "/admin?token=abc": the namespace, and for a CONNECT its auth (eio3.c) */
    const char *query;
    size_t qlen;
    nsp_len = sio__v3_nsp_len(p->nsp, p->nsp_len, &query, &qlen);
    if (p->type == SIO__SIO_CONNECT) {
      char *auth = query ? sio__v3_query_auth(query, qlen) : NULL;
      if (!query || auth) on_connect(c, p->nsp, nsp_len, auth, auth ? strlen(auth) : 0);
      sio__free(auth);
      return;
    }
  }
  switch (p->type) {
  case SIO__SIO_CONNECT:
    on_connect(c, p->nsp, p->nsp_len, p->data, p->data_len);
    return;
  case SIO__SIO_CONNECT_ERROR:
    protocol_error(c, "CONNECT_ERROR from a client");
    return;
  default:
    break;
  }
  sio_socket *s = socket_of(c, p->nsp, nsp_len);
  if (!s) return; /* not connected to that namespace: ignored, as Node does */
  sio__socket_on_packet(s, p, att, natt);
}

static void on_text(sio__client *c, const char *data, size_t len) {
  if (c->rs) {
    protocol_error(c, "text packet while binary attachments were expected");
    return;
  }
  sio__sio_packet p;
  if (sio__sio_decode(data, len, &c->io->limits, &p)) {
    protocol_error(c, "invalid packet");
    return;
  }
  if (p.type == SIO__SIO_BINARY_EVENT || p.type == SIO__SIO_BINARY_ACK) {
    /* held (allocated only while attachments are awaited) until they are all there */
    sio__sio_reassembly *r = sio__calloc(1, sizeof(*r));
    if (!r) {
      protocol_error(c, "out of memory");
      return;
    }
    if (sio__sio_reassembly_start(r, data, len, &c->io->limits)) {
      rs_free(r);
      protocol_error(c, "invalid binary packet");
      return;
    }
    if (sio__sio_reassembly_complete(r)) { /* no attachment announced */
      dispatch(c, &r->packet, r->bufs, r->received);
      rs_free(r);
      return;
    }
    c->rs = r;
    return;
  }
  dispatch(c, &p, NULL, 0);
}

static void on_binary(sio__client *c, const char *data, size_t len) {
  if (!c->rs) {
    protocol_error(c, "unexpected binary message");
    return;
  }
  int rc = sio__sio_reassembly_add(c->rs, data, len);
  if (rc < 0) {
    protocol_error(c, "out of memory");
    return;
  }
  if (rc == 1) { /* complete: take it out first, a handler may close the client */
    sio__sio_reassembly *r = c->rs;
    c->rs = NULL;
    dispatch(c, &r->packet, r->bufs, r->received);
    rs_free(r);
  }
}

/* The msgpack parser: every packet is one binary message (a text one is refused, as Node's
 * decoder throws on it); a valid packet Node would hand to no listener is dropped. */
static void on_msgpack(sio__client *c, const char *data, size_t len, int binary) {
  sio__mpk_packet p;
  if (!binary) {
    protocol_error(c, "text message with the msgpack parser");
    return;
  }
  int rc = sio__mpk_decode(data, len, &c->io->limits, &p);
  if (rc < 0) {
    protocol_error(c, rc == -ENOMEM ? "out of memory" : "invalid msgpack packet");
    return;
  }
  if (rc == 0) dispatch(c, &p.packet, p.att, p.natt);
  sio__mpk_packet_free(&p);
}

/* --- Engine.IO callbacks ------------------------------------------------------------------ */

/* The connect timeout lives in its own small block, freed once a namespace connects, so that
 * a connected client does not carry it. */
struct sio__connect_wait {
  sio__timer timer;
  sio__client *c;
};

void sio__client_stop_connect_wait(sio__client *c) {
  if (!c->connect_wait) return;
  sio__timer_stop(&c->connect_wait->timer);
  sio__free(c->connect_wait);
  c->connect_wait = NULL;
}

static void connect_timeout(sio__timer *t) {
  sio__client *c = sio__container_of(t, struct sio__connect_wait, timer)->c;
  sio__list *it;
  sio__list_foreach(it, &c->sockets) {
    sio_socket *s = sio__container_of(it, sio_socket, client_link);
    if (s->state == SIO__S_CONNECTED) return;
  }
  sio__debug("socket.io: no namespace connected in time, closing the session");
  sio__client_close(c, "connect timeout");
}

/* A CONNECT that arrives past the connect deadline finds the session closed, as if the
 * wheel's tick (late on a busy loop) had run. 1 if it closed. */
static int connect_too_late(sio__client *c) {
  if (!c->connect_wait || !sio__net_past(c->io->net, c->connect_wait->timer.due)) return 0;
  connect_timeout(&c->connect_wait->timer);
  return c->closed;
}

static void eio_connection(sio__eio_session *es, void *user) {
  sio_io *io = user;
  sio__client *c = sio__calloc(1, sizeof(*c));
  if (!c) {
    sio__eio_session_close(es);
    return;
  }
  c->io = io;
  c->es = es;
  c->refs = 1;
  sio__list_init(&c->sockets);
  c->connect_wait = sio__calloc(1, sizeof(*c->connect_wait));
  if (!c->connect_wait) {
    sio__free(c);
    sio__eio_session_close(es);
    return;
  }
  c->connect_wait->c = c;
  sio__timer_init(&c->connect_wait->timer);
  sio__list_insert_tail(&io->clients, &c->link);
  io->nclients++;
  sio__eio_set_user(es, c);
  sio__timer_start(io->net, &c->connect_wait->timer, io->opts.connect_timeout_ms, connect_timeout);
  c->v3 = sio_eio_socket_protocol(es) == 3;
  if (io->obs && io->obs->client_open) io->obs->client_open(c, io->obs_user);
  if (c->v3) { /* a 2.x client sends no CONNECT for "/": it is connected now, as Node does */
    sio__client_ref(c);
    sio__nsp_connect(io->main, c, NULL, 0);
    sio__client_unref(c);
  }
}

static void eio_message(sio__eio_session *es, const char *data, size_t len, int binary,
                        void *user) {
  (void)user;
  sio__client *c = sio__eio_user(es);
  if (!c || c->closed) return;
  c->io->stats.messages_in++;
  c->io->stats.bytes_in += len;
  if (c->io->obs && c->io->obs->packet) c->io->obs->packet(c->io, 0, len, c->io->obs_user);
  sio__client_ref(c);
  if (c->io->parser == SIO_PARSER_MSGPACK)
    on_msgpack(c, data, len, binary);
  else if (binary)
    on_binary(c, data, len);
  else
    on_text(c, data, len);
  sio__client_unref(c);
}

static void eio_close(sio__eio_session *es, const char *reason, void *user) {
  sio_io *io = user;
  sio__client *c = sio__eio_user(es);
  if (!c) return;
  sio__eio_set_user(es, NULL);
  sio__client_ref(c);
  c->closed = 1;
  c->es = NULL; /* nothing can be sent any more */
  sio__client_stop_connect_wait(c);
  close_sockets(c, reason, 0);
  rs_drop(c);
  sio__list_remove(&c->link);
  io->nclients--;
  if (io->obs && io->obs->client_close) io->obs->client_close(c, reason, io->obs_user);
  sio__client_unref(c); /* ours */
  sio__client_unref(c); /* the session's */
}

const sio__eio_handlers sio__client_eio_handlers = {
    .connection = eio_connection,
    .message = eio_message,
    .close = eio_close,
};
