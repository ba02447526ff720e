/* The UI's operations, sent on the admin namespace (Socket.IO v4 forms of the package):
 *   "emit"        (nsp, filter, event, ...args)  io.of(nsp).in(filter).emit(event, ...args)
 *   "join"        (nsp, room, filter)            io.of(nsp).in(filter).socketsJoin(room)
 *   "leave"       (nsp, room, filter)            io.of(nsp).in(filter).socketsLeave(room)
 *   "_disconnect" (nsp, close, filter)           io.of(nsp).in(filter).disconnectSockets(close)
 * filter is a room (the UI gives a socket id) or empty / null / absent for the whole
 * namespace. Unlike Node, an unknown namespace is not created, and a malformed operation (a
 * namespace, room or event that is not a string, a filter that is neither a string nor empty,
 * a reserved event name) is ignored with a warning instead of throwing in the server. In
 * readonly mode every operation is refused (a warning; Node registers no handler). */
#include <string.h>

#include "admin/admin_internal.h"
#include "core/log.h"

const char *const sio__admin_features[] = {
    "EMIT",       "JOIN",   "LEAVE",       "DISCONNECT",
    "MJOIN",      "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS",
    "ALL_EVENTS", NULL};

static const char *str_arg(const sio_args *a, size_t i) {
  return sio_args_type(a, i) == SIO_T_STRING ? sio_args_str(a, i, NULL) : NULL;
}

/* The operator of namespace arg 0, filtered by the room at arg fi; NULL (warned) if invalid. */
static sio_op *target(sio__admin *a, const char *op, const sio_args *args, size_t fi) {
  const char *name = str_arg(args, 0);
  if (!name) {
    sio__warn("admin: %s: the namespace must be a string", op);
    return NULL;
  }
  sio_nsp *nsp = sio_nsp_find(a->io, name);
  if (!nsp) {
    sio__warn("admin: %s: no namespace \"%s\"", op, name);
    return NULL;
  }
  sio_type t = sio_args_type(args, fi);
  const char *filter = str_arg(args, fi);
  if (filter && *filter) return sio_op_to(sio_nsp_op(nsp), filter);
  if (t == SIO_T_NONE || t == SIO_T_NULL || filter || (t == SIO_T_BOOL && !sio_args_bool(args, fi)))
    return sio_nsp_op(nsp);
  sio__warn("admin: %s: the filter must be a room name", op);
  return NULL;
}

static void on_emit(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  const char *ev = str_arg(args, 2);
  if (!ev) {
    sio__warn("admin: emit: the event name must be a string");
    return;
  }
  sio_op *op = target(user, "emit", args, 1);
  if (!op) return;
  sio_msg *m = sio_msg_new(ev);
  int rc = m ? 0 : -ENOMEM;
  for (size_t i = 0; !rc && i < sio_args_attachments(args); i++) { /* placeholders keep nums */
    const void *d;
    size_t n;
    rc = sio_args_attachment(args, i, &d, &n);
    if (!rc && sio_msg_attach(m, d, n) < 0) rc = -ENOMEM;
  }
  for (size_t i = 3; !rc && i < sio_args_count(args); i++) {
    size_t n;
    const char *j = sio_args_json(args, i, &n);
    rc = sio_msg_raw(m, j, n);
  }
  if (rc) {
    sio_msg_free(m);
    sio_op_free(op);
  } else {
    rc = sio_op_emit_msg(op, m);
  }
  if (rc) sio__warn("admin: emit \"%s\": %s", ev, sio_strerror(rc));
}

static void on_rooms(const char *what, sio_socket *s, const sio_args *args, void *user) {
  const char *room = str_arg(args, 1);
  if (!room) {
    sio__warn("admin: %s: the room must be a string", what);
    return;
  }
  sio_op *op = target(user, what, args, 2);
  if (!op) return;
  int rc = what[0] == 'j' ? sio_sockets_join(op, room) : sio_sockets_leave(op, room);
  if (rc < 0) sio__warn("admin: %s \"%s\": %s", what, room, sio_strerror(rc));
}

static void on_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  on_rooms("join", s, args, user);
}

static void on_leave(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  on_rooms("leave", s, args, user);
}

static void on_disconnect_op(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  sio_op *op = target(user, "_disconnect", args, 2);
  if (!op) return;
  int rc = sio_disconnect_sockets(op, sio_args_bool(args, 1));
  if (rc < 0) sio__warn("admin: _disconnect: %s", sio_strerror(rc));
}

static void on_refused(sio_socket *s, const char *event, const sio_args *args, void *user) {
  if (!strcmp(event, "emit") || !strcmp(event, "join") || !strcmp(event, "leave") ||
      !strcmp(event, "_disconnect"))
    sio__warn("admin: %s refused: the admin UI is readonly", event);
}

void sio__admin_ops_register(sio__admin *a, sio_socket *s) {
  if (a->readonly) {
    sio_on_any(s, on_refused, a);
    return;
  }
  sio_on(s, "emit", on_emit, a);
  sio_on(s, "join", on_join, a);
  sio_on(s, "leave", on_leave, a);
  sio_on(s, "_disconnect", on_disconnect_op, a);
}
