/* The parser a server speaks (sio/parser.h) and the send path's one place that knows it.
 *
 * Packets are built in the default parser's text form whatever the parser (the adapters,
 * connection state recovery and onAnyOutgoing read that form). With the msgpack parser the
 * message that goes out is its msgpack form (mpcodec.c), made from the text and attachments at
 * the first send and kept on the sio__out, so that a broadcast is converted once and every
 * recipient's session queues the same binary message. */
#include <errno.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"
#include "socketio/mpcodec.h"

int sio_io_set_parser(sio_io *io, sio_parser parser) {
  if (!io || (parser != SIO_PARSER_DEFAULT && parser != SIO_PARSER_MSGPACK)) return -EINVAL;
  if (io->nclients && io->parser != (uint8_t)parser) return -EBUSY;
  io->parser = (uint8_t)parser;
  return 0;
}

sio_parser sio_io_parser(const sio_io *io) {
  return io && io->parser == SIO_PARSER_MSGPACK ? SIO_PARSER_MSGPACK : SIO_PARSER_DEFAULT;
}

static const char *msg_bytes(const sio__eio_msg *m, size_t *len) {
  *len = m->b->len - m->data_off;
  return m->b->data + m->data_off;
}

/* The msgpack message for a text message (its '4' first) and its attachments. */
static int to_msgpack(const sio__eio_msg *text, const sio__eio_msg *att, unsigned natt,
                      sio__eio_msg *out) {
  sio__mp_bin few[4], *bins = natt <= 4 ? few : sio__calloc(natt, sizeof *bins);
  sio__sbuf sb = SIO__SBUF_INIT;
  size_t n;
  const char *s = msg_bytes(text, &n);
  if (!bins) return -ENOMEM;
  for (unsigned i = 0; i < natt; i++) bins[i].data = msg_bytes(&att[i], &bins[i].len);
  int rc = n && s[0] == '4' ? 0 : -EINVAL;
  if (!rc) rc = sio__eio_msg_begin_sized(&sb, 1, n + 16);
  if (!rc) rc = sio__mpk_encode(&sb, s + 1, n - 1, bins, natt);
  if (!rc)
    rc = sio__eio_msg_seal(&sb, 1, out);
  else
    sio__sbuf_free(&sb);
  if (bins != few) sio__free(bins);
  if (!rc) out->compress = text->compress;
  return rc;
}

static void conversion_failed(sio__client *c, int rc) {
  sio__warn("socket.io: session %s: a packet could not be encoded for the msgpack parser (%s)",
            c->es ? sio__eio_sid(c->es) : "?", rc == -ENOMEM ? "out of memory" : "invalid");
}

/* One Engine.IO message to the client, told to the observer (the admin UI's counts) once sent. */
static int send_one(sio__client *c, const sio__eio_msg *m) {
  int rc = sio__eio_send_msg(c->es, m);
  if (!rc) sio__obs_msg(c->io, m);
  return rc;
}

int sio__client_send_msg(sio__client *c, const sio__eio_msg *m) {
  if (!c->es) return SIO_ECLOSED;
  if (c->io->parser != SIO_PARSER_MSGPACK) return send_one(c, m);
  sio__eio_msg mp;
  int rc = to_msgpack(m, NULL, 0, &mp);
  if (rc) {
    conversion_failed(c, rc);
    return rc;
  }
  rc = send_one(c, &mp);
  sio__eio_msg_release(&mp);
  return rc;
}

int sio__client_send_out(sio__client *c, const sio__out *o) {
  if (!c->es) return SIO_ECLOSED;
  if (c->io->parser != SIO_PARSER_MSGPACK) {
    int rc = send_one(c, &o->text);
    for (unsigned i = 0; !rc && i < o->natt; i++) rc = send_one(c, &o->att[i]);
    return rc;
  }
  if (!o->mp.b) {                /* the first recipient: converted once, kept for the others */
    sio__out *w = (sio__out *)o; /* the cache only: the packet is the same */
    int rc = to_msgpack(&o->text, o->att, o->natt, &w->mp);
    if (rc) {
      conversion_failed(c, rc);
      return rc;
    }
  }
  return send_one(c, &o->mp);
}
