/* The emitter's terminal calls: each encodes what @socket.io/redis-emitter 5.1 publishes and
 * hands it to the connection.
 *   emit: channel `<key>#<nsp>#`, or `<key>#<nsp>#<room>#` for exactly one room; payload
 *     notepack ["emitter", {type: 2, data: [ev, ...args], nsp}, {rooms, flags, except}];
 *   socketsJoin/Leave, disconnectSockets: JSON on `<key>-request#<nsp>#`,
 *     {"type":2|3,"opts":{"rooms":[..],"except":[..]},"rooms":[..]} and {"type":4,..,"close":b};
 *   serverSideEmit: {"uid":"emitter","type":6,"data":[..]}.
 * Arguments given as JSON text reach the wire as JSON.stringify(JSON.parse(text)) would write
 * them (a msgpack round trip normalizes the request's data), so the bytes are Node's. */
#include <errno.h>
#include <string.h>

#include "cluster/request.h"
#include "core/alloc.h"
#include "core/json.h"
#include "emitter/emitter_internal.h"

static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                       "disconnecting", "newListener",   "removeListener"};

static int reserved_event(const char *ev) {
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    if (!strcmp(ev, reserved[i])) return 1;
  return 0;
}

static void put_channel(sio__sbuf *ch, const sio_emitter *e, const char *kind, const char *room) {
  sio__sbuf_appends(ch, e->key);
  sio__sbuf_appends(ch, kind);
  sio__sbuf_appends(ch, e->nsp);
  sio__sbuf_appendc(ch, '#');
  if (room) {
    sio__sbuf_appends(ch, room);
    sio__sbuf_appendc(ch, '#');
  }
}

/* {"volatile":true,"compress":b} in the order the flags were set. */
static void put_flags(sio__sbuf *f, const sio_emitter_op *op) {
  sio__sbuf_appendc(f, '{');
  for (int i = 0; i < op->nflags; i++) {
    if (i) sio__sbuf_appendc(f, ',');
    if (op->flag_order[i] == 'v')
      sio__sbuf_appends(f, "\"volatile\":true");
    else
      sio__sbuf_appends(f, op->compress ? "\"compress\":true" : "\"compress\":false");
  }
  sio__sbuf_appendc(f, '}');
  sio__sbuf_appendc(f, 0); /* a C string for the encoder */
}

/* [ev, ...args] from the event and a JSON array text of the arguments (NULL: none). */
static int put_data(sio__sbuf *d, const char *ev, const char *args) {
  sio__json_slice v;
  sio__sbuf_appendc(d, '[');
  sio__json_escape(d, ev, strlen(ev));
  if (args) {
    size_t n = strlen(args);
    if (sio__json_validate(args, n, SIO__MP_DEFAULT_DEPTH, &v) || v.type != SIO__JSON_ARRAY)
      return -EINVAL;
    const char *open = args + v.off + 1, *close = args + v.off + v.len - 1;
    while (open < close && strchr(" \t\r\n", *open)) open++;
    if (open < close) {
      sio__sbuf_appendc(d, ',');
      sio__sbuf_append(d, open, (size_t)(close - open));
    }
  }
  return sio__sbuf_appendc(d, ']') ? -ENOMEM : 0;
}

/* Ends the chain: publishes ch/payload with the operator's done, frees the operator. */
static int publish(sio_emitter_op *op, const sio__sbuf *ch, const sio__sbuf *payload, int rc) {
  if (!rc && (ch->oom || payload->oom)) rc = -ENOMEM;
  if (!rc)
    rc = sio__emitter_publish(op->e->conn, ch->data, ch->len, payload->data, payload->len, op->done,
                              op->user);
  sio_emitter_op_free(op);
  return rc;
}

static int emit(sio_emitter_op *op, const char *ev, const char *args, const sio_emitter_bin *bins,
                size_t nbins) {
  if (!op) return -ENOMEM;
  sio__sbuf ch = SIO__SBUF_INIT, data = SIO__SBUF_INIT, flags = SIO__SBUF_INIT,
            out = SIO__SBUF_INIT;
  int rc = op->err ? op->err : !ev || reserved_event(ev) || (nbins && !bins) ? -EINVAL : 0;
  if (!rc) rc = put_data(&data, ev, args);
  if (!rc) {
    put_flags(&flags, op);
    put_channel(&ch, op->e, "#", op->rooms.n == 1 ? op->rooms.v[0] : NULL);
    sio__redis_out m = {.uid = "emitter", .nsp = op->e->nsp, .emitter_order = 1};
    m.rooms = (const char *const *)op->rooms.v, m.nrooms = op->rooms.n;
    m.except = (const char *const *)op->except.v, m.nexcept = op->except.n;
    m.flags = flags.oom ? NULL : flags.data;
    m.json = data.data, m.json_len = data.len;
    m.bins = (const sio__mp_bin *)bins, m.nbins = nbins;
    rc = data.oom || flags.oom ? -ENOMEM : sio__redis_encode_broadcast(&out, &m);
    if (rc == SIO__CLUSTER_EFORMAT) rc = -EINVAL; /* a placeholder naming no binary */
  }
  rc = publish(op, &ch, &out, rc);
  sio__sbuf_free(&ch), sio__sbuf_free(&data), sio__sbuf_free(&flags), sio__sbuf_free(&out);
  return rc;
}

_Static_assert(sizeof(sio_emitter_bin) == sizeof(sio__mp_bin), "same layout");

int sio_emitter_op_emit_raw(sio_emitter_op *op, const char *event, const char *args_json) {
  return emit(op, event, args_json, NULL, 0);
}

int sio_emitter_op_emit_raw_bins(sio_emitter_op *op, const char *event, const char *args_json,
                                 const sio_emitter_bin *bins, size_t nbins) {
  return emit(op, event, args_json, bins, nbins);
}

int sio_emitter_op_emit_bin(sio_emitter_op *op, const char *event, const void *data, size_t len) {
  sio_emitter_bin b = {data ? data : "", len};
  return emit(op, event, "[{\"_placeholder\":true,\"num\":0}]", &b, 1);
}

/* A jansson array's compact text (NULL array: no arguments). */
static int value_text(sio__sbuf *t, const json_t *arr) {
  if (!arr) return 0;
  if (!json_is_array(arr)) return -EINVAL;
  return sio__json_dump_jansson(t, arr) || sio__sbuf_appendc(t, 0) ? -ENOMEM : 0;
}

int sio_emitter_op_emit_value(sio_emitter_op *op, const char *event, const json_t *args_array) {
  sio__sbuf t = SIO__SBUF_INIT;
  int rc = value_text(&t, args_array);
  if (!rc)
    rc = emit(op, event, args_array ? t.data : NULL, NULL, 0);
  else
    sio_emitter_op_free(op);
  sio__sbuf_free(&t);
  return rc;
}

/* json_pack of "[" fmt "]". */
static json_t *pack_args(const char *fmt, va_list ap) {
  sio__sbuf f = SIO__SBUF_INIT;
  sio__sbuf_printf(&f, "[%s]", fmt ? fmt : "");
  json_t *v = f.oom ? NULL : json_vpack_ex(NULL, 0, f.data, ap);
  sio__sbuf_free(&f);
  return v;
}

int sio_emitter_op_vemitf(sio_emitter_op *op, const char *event, const char *fmt, va_list ap) {
  json_t *v = pack_args(fmt, ap);
  if (!v) {
    sio_emitter_op_free(op);
    return -EINVAL;
  }
  int rc = sio_emitter_op_emit_value(op, event, v);
  json_decref(v);
  return rc;
}

int sio_emitter_op_emitf(sio_emitter_op *op, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_emitter_op_vemitf(op, event, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- requests ---- */

static int request(sio_emitter_op *op, sio__redis_out *m) {
  sio__sbuf ch = SIO__SBUF_INIT, out = SIO__SBUF_INIT;
  int rc = op->err ? op->err : (m->njoin && !m->join) ? -EINVAL : 0;
  for (size_t i = 0; !rc && i < m->njoin; i++)
    if (!m->join[i]) rc = -EINVAL;
  if (!rc) {
    put_channel(&ch, op->e, "-request#", NULL);
    m->rooms = (const char *const *)op->rooms.v, m->nrooms = op->rooms.n;
    m->except = (const char *const *)op->except.v, m->nexcept = op->except.n;
    rc = sio__redis_encode_request(&out, m);
  }
  rc = publish(op, &ch, &out, rc);
  sio__sbuf_free(&ch), sio__sbuf_free(&out);
  return rc;
}

static int join_leave(sio_emitter_op *op, int type, const char *const *rooms, size_t n) {
  if (!op) return -ENOMEM;
  sio__redis_out m = {.type = type, .join = rooms, .njoin = n, .close = -1};
  return request(op, &m);
}

int sio_emitter_op_sockets_joinv(sio_emitter_op *op, const char *const *rooms, size_t n) {
  return join_leave(op, SIO__RR_REMOTE_JOIN, rooms, n);
}

int sio_emitter_op_sockets_join(sio_emitter_op *op, const char *room) {
  return join_leave(op, SIO__RR_REMOTE_JOIN, &room, 1);
}

int sio_emitter_op_sockets_leavev(sio_emitter_op *op, const char *const *rooms, size_t n) {
  return join_leave(op, SIO__RR_REMOTE_LEAVE, rooms, n);
}

int sio_emitter_op_sockets_leave(sio_emitter_op *op, const char *room) {
  return join_leave(op, SIO__RR_REMOTE_LEAVE, &room, 1);
}

int sio_emitter_op_disconnect_sockets(sio_emitter_op *op, int close) {
  if (!op) return -ENOMEM;
  sio__redis_out m = {.type = SIO__RR_REMOTE_DISCONNECT, .close = !!close};
  return request(op, &m);
}

/* serverSideEmit: data as JSON.stringify(JSON.parse(args)) writes it (through jansson, whose
 * numbers core/json writes as JavaScript does; not through msgpack, where notepack's integer
 * forms would wrap a number such as 1.5e300). */
int sio__emitter_server_side_emit(sio_emitter *e, const char *args) {
  sio__sbuf data = SIO__SBUF_INIT;
  sio__json_slice v;
  if (!e) return -EINVAL;
  if (!args || sio__json_validate(args, strlen(args), SIO__MP_DEFAULT_DEPTH, &v) ||
      v.type != SIO__JSON_ARRAY)
    return -EINVAL;
  json_t *tree = sio__json_to_jansson(args, strlen(args));
  int rc = !tree || sio__json_dump_jansson(&data, tree) ? -ENOMEM : 0;
  json_decref(tree);
  sio_emitter_op *op = sio_emitter_op_new(e);
  if (!op) rc = -ENOMEM;
  if (!rc) {
    sio__redis_out m = {.type = SIO__RR_SERVER_SIDE_EMIT, .uid = "emitter", .close = -1};
    m.json = data.data, m.json_len = data.len;
    rc = request(op, &m);
  } else {
    sio_emitter_op_free(op);
  }
  sio__sbuf_free(&data);
  return rc;
}
