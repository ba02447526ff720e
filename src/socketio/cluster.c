/* The namespace's side of the adapter seam (sio/adapter.h) that is not about selecting sockets
 * (select.c): packets as the adapter sees them, serverSideEmit both ways (with acks), the
 * server count, every room of the cluster, and broadcasts that arrive from other nodes.
 *
 * Each public call here does this node's part, if any, and asks the namespace's adapter for
 * the rest; with the in-memory adapter there is no rest (see sio/io.h, "the cluster"). A
 * server-side emit never reaches this server's own handlers, as in Node: they are for the
 * emits of other servers (sio_adapter_server_side_deliver). */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

sio_socket *sio_member_socket(sio_member *m) {
  return m ? sio__container_of(m, sio_socket, member) : NULL;
}

/* --- packets ------------------------------------------------------------------------------- */

void sio__packet_of_out(sio_packet *p, const sio_nsp *nsp, const sio__out *o) {
  p->nsp = nsp->name;
  p->data = o->text.b->data + o->data_off;
  p->len = o->text.b->len - o->data_off;
  p->out = o;
  p->offset = NULL;
}

/* The bytes an offset may not hold (a table: this runs for every stored packet). */
#define R16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char offset_refused[256] = {
    R16, R16, [0x22] = 1, [0x5c] = 1, [0x7f] = 1, [0x80] = R16, R16, R16, R16, R16, R16, R16, R16};
#undef R16

int sio_packet_set_offset(const sio_packet *p, const char *offset, size_t len) {
  if (!p || !offset || !p->offset || !len || len >= sizeof p->offset->text) return -EINVAL;
  unsigned char bad = 0; /* printable ASCII but '"' and '\\': it goes in a JSON string as is */
  for (size_t i = 0; i < len; i++) bad |= offset_refused[(unsigned char)offset[i]];
  if (bad) return -EINVAL;
  memcpy(p->offset->text, offset, len);
  p->offset->text[len] = '\0';
  p->offset->len = len;
  return 0;
}

const char *sio_packet_nsp(const sio_packet *p) {
  return p ? p->nsp : NULL;
}
const char *sio_packet_data(const sio_packet *p, size_t *len) {
  if (len) *len = p ? p->len : 0;
  return p ? p->data : NULL;
}
unsigned sio_packet_attachments(const sio_packet *p) {
  return p && p->out ? p->out->natt : 0;
}
const void *sio_packet_attachment(const sio_packet *p, unsigned i, size_t *len) {
  if (!p || !p->out || i >= p->out->natt) {
    if (len) *len = 0;
    return NULL;
  }
  const sio__eio_msg *m = &p->out->att[i];
  if (len) *len = m->b->len - m->data_off;
  return m->b->data + m->data_off;
}

/* --- serverSideEmit ------------------------------------------------------------------------ */

static int reserved(const char *ev) {
  static const char *const names[] = {"connect",       "connect_error", "disconnect",
                                      "disconnecting", "newListener",   "removeListener"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(ev, names[i]) == 0) return 1;
  return 0;
}

/* ["event",args...] from an event and a JSON array text of arguments (NULL: none). */
static int server_packet(sio__sbuf *sb, const char *event, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  if (!m) return rc;
  sio__sbuf_appendc(sb, '[');
  sio__json_escape(sb, event, strlen(event));
  if (m->nargs) {
    sio__sbuf_appendc(sb, ',');
    sio__sbuf_append(sb, m->args.data, m->args.len);
  }
  sio__sbuf_appendc(sb, ']');
  sio_msg_free(m);
  return sb->oom ? -ENOMEM : 0;
}

static int server_side_emit(sio_nsp *nsp, const char *event, const char *args_json,
                            uint32_t timeout_ms, sio_server_acks_fn fn, void *user) {
  if (!nsp || !event || reserved(event) || nsp->kind == SIO__NSP_PARENT) return -EINVAL;
  sio__sbuf sb = SIO__SBUF_INIT;
  int rc = server_packet(&sb, event, args_json);
  if (!rc) {
    sio_packet p = {nsp->name, sb.data, sb.len, NULL, NULL};
    rc = nsp->adapter->ops->server_side_emit(nsp->adapter, &p, timeout_ms, fn, user);
  }
  sio__sbuf_free(&sb);
  return rc;
}

/* A sio_msg's event and arguments, encoded once as for a client, as the adapter's packet (the
 * attachments come with it). Consumes m. */
static int server_side_emit_msg(sio_nsp *nsp, sio_msg *m, uint32_t timeout_ms,
                                sio_server_acks_fn fn, void *user) {
  int rc = !m ? -ENOMEM : m->failed;
  if (!rc && (!nsp || !m->event || reserved(m->event) || nsp->kind == SIO__NSP_PARENT))
    rc = -EINVAL;
  sio__out o;
  if (!rc) rc = sio__out_build(&o, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, SIO__SIO_NO_ID);
  sio_msg_free(m);
  if (rc) return rc;
  sio_packet p;
  sio__packet_of_out(&p, nsp, &o);
  rc = nsp->adapter->ops->server_side_emit(nsp->adapter, &p, timeout_ms, fn, user);
  sio__out_release(&o);
  return rc;
}

int sio_server_side_emit_msg(sio_nsp *nsp, sio_msg *m) {
  return server_side_emit_msg(nsp, m, 0, NULL, NULL);
}

int sio_server_side_emit_ack_msg(sio_nsp *nsp, sio_msg *m, uint32_t timeout_ms,
                                 sio_server_acks_fn fn, void *user) {
  if (!fn) {
    sio_msg_free(m);
    return -EINVAL;
  }
  return server_side_emit_msg(nsp, m, timeout_ms, fn, user);
}

int sio_server_side_emit_raw(sio_nsp *nsp, const char *event, const char *args_json) {
  return server_side_emit(nsp, event, args_json, 0, NULL, NULL);
}

int sio_server_side_emit_ack_raw(sio_nsp *nsp, const char *event, const char *args_json,
                                 uint32_t timeout_ms, sio_server_acks_fn fn, void *user) {
  if (!fn) return -EINVAL;
  return server_side_emit(nsp, event, args_json, timeout_ms, fn, user);
}

int sio_nsp_on_server_side(sio_nsp *nsp, const char *event, sio_server_event_fn fn, void *user) {
  if (!nsp || !event || !fn) return -EINVAL;
  return sio__cbs_add(&nsp->server_side, (void (*)(void))fn, user, event);
}

struct sio_server_ack {
  sio_server_reply_fn reply;
  void *user;
  int answered;
};

int sio_server_ack_send_raw(sio_server_ack *ack, const char *json) {
  if (!ack || !ack->reply) return -EINVAL;
  if (ack->answered) return -EALREADY;
  if (!json) json = "null";
  size_t len = strlen(json);
  if (sio__json_validate(json, len, SIO__JSON_MAX_DEPTH, NULL)) return -EINVAL;
  ack->answered = 1;
  ack->reply(json, len, ack->user);
  return 0;
}

/* The buffers made for a remote packet's attachments (some may be NULL), and their array. */
static void release_bufs(sio__buf **bufs, unsigned n) {
  for (unsigned i = 0; bufs && i < n; i++)
    if (bufs[i]) sio__buf_unref(bufs[i]);
  sio__free(bufs);
}

/* The event name (unescaped) of a validated ["event",...] text, into name. */
static int event_name(const sio_args *a, sio__sbuf *name) {
  if (a->n == 0 || a->v[0].type != SIO__JSON_STRING) return -EINVAL;
  sio__json_string(a->json + a->v[0].off, a->v[0].len, name);
  return sio__sbuf_appendc(name, '\0') ? -ENOMEM : 0;
}

int sio_adapter_server_side_deliver(sio_nsp *nsp, const char *data, size_t len,
                                    const void *const *att, const size_t *att_len, unsigned natt,
                                    sio_server_reply_fn reply, void *user) {
  sio__json_slice arr;
  if (!nsp || !data || (natt && (!att || !att_len)) ||
      sio__json_validate(data, len, SIO__JSON_MAX_DEPTH, &arr) || arr.type != SIO__JSON_ARRAY)
    return -EINVAL;
  sio__buf **bufs = natt ? sio__calloc(natt, sizeof(*bufs)) : NULL;
  int rc = natt && !bufs ? -ENOMEM : 0;
  for (unsigned i = 0; !rc && i < natt; i++)
    if (!(bufs[i] = sio__buf_from(att[i], att_len[i]))) rc = -ENOMEM;
  sio_args args;
  if (!rc) rc = sio__args_init(&args, data, len, 1, bufs, natt, natt > 0, SIO__JSON_MAX_DEPTH);
  if (rc) {
    release_bufs(bufs, natt);
    return rc;
  }
  sio__sbuf name = SIO__SBUF_INIT;
  rc = event_name(&args, &name);
  sio_server_ack ack = {reply, user, 0};
  sio__nsp_ref(nsp); /* a handler may remove a dynamic child */
  for (size_t i = 0; !rc && i < nsp->server_side.n; i++) {
    sio__cb cb = nsp->server_side.v[i];
    if (strcmp(sio__cb_event(&cb), name.data) != 0) continue;
    ((sio_server_event_fn)cb.fn)(nsp, &args, reply ? &ack : NULL, cb.user);
  }
  sio__nsp_unref(nsp);
  sio__sbuf_free(&name);
  sio__args_free(&args);
  release_bufs(bufs, natt);
  return rc;
}

/* --- server count, rooms -------------------------------------------------------------------- */

int sio_server_count(sio_nsp *nsp, sio_count_fn fn, void *user) {
  if (!nsp || !fn || nsp->kind == SIO__NSP_PARENT) return -EINVAL;
  return nsp->adapter->ops->server_count(nsp->adapter, fn, user);
}

int sio_nsp_all_rooms(sio_nsp *nsp, sio_names_fn fn, void *user) {
  if (!nsp || !fn || nsp->kind == SIO__NSP_PARENT) return -EINVAL;
  return nsp->adapter->ops->all_rooms(nsp->adapter, 0, fn, user);
}

/* --- a broadcast from another node ---------------------------------------------------------- */

/* The message of a remote packet: the arguments are a view of data (attachments copied into
 * shared buffers), the event its first element. */
static int remote_msg(sio_msg *m, sio_args *args, sio__sbuf *name, sio__buf **bufs,
                      const char *data, size_t len, const void *const *att, const size_t *att_len,
                      unsigned natt) {
  sio__json_slice arr;
  if (sio__json_validate(data, len, SIO__JSON_MAX_DEPTH, &arr) || arr.type != SIO__JSON_ARRAY)
    return -EINVAL;
  for (unsigned i = 0; i < natt; i++)
    if (!(bufs[i] = sio__buf_from(att[i], att_len[i]))) return -ENOMEM;
  int rc = sio__args_init(args, data, len, 1, bufs, natt, natt > 0, SIO__JSON_MAX_DEPTH);
  if (rc) return rc;
  rc = event_name(args, name);
  if (!rc) sio__msg_init_view(m, name->data, args);
  return rc ? rc : m->failed;
}

int sio_adapter_deliver(sio_nsp *nsp, const char *data, size_t len, const void *const *att,
                        const size_t *att_len, unsigned natt, const sio_bcast_opts *o,
                        const sio_remote_acks *acks) {
  if (!nsp || !data || !o || (natt && (!att || !att_len)) || nsp->kind == SIO__NSP_PARENT)
    return -EINVAL;
  if (!nsp->io) return SIO_ECLOSED; /* the server is gone */
  sio__buf **bufs = natt ? sio__calloc(natt, sizeof(*bufs)) : NULL;
  if (natt && !bufs) return -ENOMEM;
  sio_msg m;
  sio__msg_init_stack(&m, NULL);
  sio_args args;
  memset(&args, 0, sizeof(args));
  sio__sbuf name = SIO__SBUF_INIT;
  int rc = remote_msg(&m, &args, &name, bufs, data, len, att, att_len, natt);
  sio__collector *col = NULL;
  if (!rc && acks && !(col = sio__collector_new(&m))) rc = -ENOMEM;
  if (col) sio__collector_forward(col, acks);
  sio__nsp_ref(nsp); /* a send that disconnects its client may empty it */
  if (!rc) rc = sio__bcast_local(nsp, o, &m, col);
  if (col && rc)
    sio__collector_unref(col);
  else if (col)
    sio__collector_selected(col, nsp->io, o->timeout_ms);
  sio__nsp_unref(nsp);
  sio_msg_free(&m);
  sio__args_free(&args);
  sio__sbuf_free(&name);
  release_bufs(bufs, natt);
  return rc;
}
