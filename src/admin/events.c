/* What happens to the sockets of every namespace, told to the UIs as Node's package tells it
 * (development mode; production mode sends none of it):
 *   socket_connected(socket, date)     before the socket's own connection handlers run
 *   socket_updated({id, nsp, data})    sio_socket_set_data_json on a connected socket
 *   socket_updated({id, nsp, transport})  its client upgraded (seen by the stats tick)
 *   socket_disconnected(nsp, id, reason, date)
 *   room_joined(nsp, room, id, date)   a room the socket was not in (its own id included)
 *   room_left(nsp, room, id, date)     after the current callback (Node's nextTick), so a
 *                                      disconnect's room_left follow its socket_disconnected
 *   event_received / event_sent(nsp, id, [event, ...args], date)  outside the admin namespace
 * A socket is serialized as {id, clientId, transport, nsp, data, handshake: {address, headers,
 * query, issued, secure, time, url, xdomain}, rooms}; address is cf-connecting-ip, else
 * x-forwarded-for, else the peer's. The Engine.IO counts of server_stats are fed here too. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_internal.h"
#include "core/alloc.h"
#include "core/json.h"
#include "sio/handshake.h"

/* --- serializing -------------------------------------------------------------------------- */

static int add_room(const char *room, void *user) {
  json_array_append_new(user, json_string(room));
  return 0;
}

static json_t *data_of(sio_socket *s) {
  json_t *d = json_loads(sio_socket_data_json(s), JSON_DECODE_ANY, NULL);
  if (!json_is_object(d)) {
    json_decref(d);
    return json_object();
  }
  json_object_del(d, "_admin"); /* the package's own key, never shown */
  return d;
}

static json_t *handshake_of(sio_socket *s) {
  json_t *h = sio_handshake_value(s), *o = json_object();
  if (!h || !o) {
    json_decref(h);
    json_decref(o);
    return NULL;
  }
  const char *addr = sio_handshake_header(s, "cf-connecting-ip");
  if (!addr) addr = sio_handshake_header(s, "x-forwarded-for");
  if (addr)
    json_object_set_new(o, "address", json_string(addr));
  else
    json_object_set(o, "address", json_object_get(h, "address"));
  static const char *const keys[] = {"headers", "query", "issued", "secure",
                                     "time",    "url",   "xdomain"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    json_t *v = json_object_get(h, keys[i]);
    if (v) json_object_set(o, keys[i], v);
  }
  json_decref(h);
  return o;
}

json_t *sio__admin_serialize(sio_socket *s) {
  char cid[13] = "";
  if (s->client && s->client->es) {
    strncpy(cid, sio__eio_sid(s->client->es), 12);
    cid[12] = 0;
  }
  const char *t = sio_transport(s);
  json_t *rooms = json_array();
  if (rooms) sio_rooms(s, add_room, rooms);
  return json_pack("{s:s,s:s,s:s?,s:s,s:o,s:o,s:o}", "id", sio_id(s), "clientId", cid, "transport",
                   t, "nsp", sio_nsp_name(s->nsp), "data", data_of(s), "handshake", handshake_of(s),
                   "rooms", rooms);
}

static int by_name(const void *x, const void *y) {
  return strcmp((*(sio_nsp *const *)x)->name, (*(sio_nsp *const *)y)->name);
}

json_t *sio__admin_all_sockets(sio__admin *a) {
  size_t n = a->io->nsps.count, i = 0, k = 0;
  sio_nsp **v = sio__malloc((n ? n : 1) * sizeof *v);
  json_t *arr = json_array();
  sio__map_entry *e;
  while (v && k < n && (e = sio__map_next(&a->io->nsps, &i))) v[k++] = e->value;
  if (v) qsort(v, k, sizeof *v, by_name);
  for (size_t j = 0; v && arr && j < k; j++) {
    size_t m = 0;
    while ((e = sio__map_next(&v[j]->sockets, &m)))
      json_array_append_new(arr, sio__admin_serialize(e->value));
  }
  sio__free(v);
  return arr;
}

/* --- socket events ------------------------------------------------------------------------ */

static json_t *dated(json_t *arr) {
  char date[32];
  sio__admin_date(date, sizeof date);
  if (arr) json_array_append_new(arr, json_string(date));
  return arr;
}

/* event_received / event_sent: the arguments as they came (binary attachments passed on). */
static void emit_event(sio__admin *a, const char *name, sio_socket *s, const char *event,
                       const sio_args *args) {
  if (!sio__admin_listening(a)) return;
  sio_msg *m = sio_msg_new(name);
  sio__sbuf sb = SIO__SBUF_INIT;
  size_t len = 0;
  const char *all = sio_args_json_all(args, &len);
  char date[32];
  sio__admin_date(date, sizeof date);
  sio__sbuf_appendc(&sb, '[');
  sio__json_escape(&sb, event, strlen(event));
  if (all && len > 2) {
    sio__sbuf_appendc(&sb, ',');
    sio__sbuf_append(&sb, all + 1, len - 2);
  }
  sio__sbuf_appendc(&sb, ']');
  int rc = !m || sb.oom;
  if (!rc) rc = sio_msg_str(m, sio_nsp_name(s->nsp)) || sio_msg_str(m, sio_id(s));
  for (size_t i = 0; !rc && i < sio_args_attachments(args); i++) {
    const void *d;
    size_t n;
    rc = sio_args_attachment(args, i, &d, &n) || sio_msg_attach(m, d, n) < 0;
  }
  if (!rc) rc = sio_msg_raw(m, sb.data, sb.len) || sio_msg_str(m, date);
  sio__sbuf_free(&sb);
  if (rc) {
    sio_msg_free(m);
    return;
  }
  sio_op_emit_msg(sio_nsp_op(a->nsp), m);
}

static void on_any_in(sio_socket *s, const char *event, const sio_args *args, void *user) {
  emit_event(user, "event_received", s, event, args);
}

static void on_any_out(sio_socket *s, const char *event, const sio_args *args, void *user) {
  emit_event(user, "event_sent", s, event, args);
}

static void on_disconnect(sio_socket *s, const char *reason, void *user) {
  sio__admin *a = user;
  if (!a->dev || !sio__admin_listening(a)) return;
  sio__admin_emit(a, "socket_disconnected",
                  dated(json_pack("[s,s,s]", sio_nsp_name(s->nsp), sio_id(s), reason)));
}

void sio__admin_socket_updated_transport(sio__admin *a, sio__client *c) {
  sio__list *it;
  sio__list_foreach(it, &c->sockets) {
    sio_socket *s = sio__container_of(it, sio_socket, client_link);
    if (s->state != SIO__S_CONNECTED || !sio__admin_listening(a)) continue;
    sio__admin_emit(a, "socket_updated",
                    json_pack("[{s:s,s:s,s:s}]", "id", sio_id(s), "nsp", sio_nsp_name(s->nsp),
                              "transport", "websocket"));
  }
}

/* --- deferred room_left ------------------------------------------------------------------- */

void sio__admin_left_flush(sio__admin *a, int send) {
  for (size_t i = 0; i < a->nleft; i++) {
    sio__admin_left *l = &a->left[i];
    if (send)
      sio__admin_emit(a, "room_left", json_pack("[s,s,s,s]", l->nsp, l->room, l->id, l->date));
    sio__free(l->nsp);
    sio__free(l->room);
    sio__free(l->id);
  }
  a->nleft = 0;
}

static void on_defer(uv_timer_t *t) {
  sio__admin_left_flush(t->data, 1);
}

static void queue_left(sio__admin *a, sio_socket *s, const char *room) {
  if (a->nleft == a->capleft) {
    size_t cap = a->capleft ? a->capleft * 2 : 16;
    sio__admin_left *v = sio__realloc(a->left, cap * sizeof *v);
    if (!v) return;
    a->left = v;
    a->capleft = cap;
  }
  sio__admin_left *l = &a->left[a->nleft];
  l->nsp = sio__strdup(sio_nsp_name(s->nsp));
  l->room = sio__strdup(room);
  l->id = sio__strdup(sio_id(s));
  if (!l->nsp || !l->room || !l->id) {
    sio__free(l->nsp);
    sio__free(l->room);
    sio__free(l->id);
    return;
  }
  sio__admin_date(l->date, sizeof l->date);
  if (a->nleft++ == 0) uv_timer_start(&a->defer, on_defer, 0, 0);
}

/* --- the observer ------------------------------------------------------------------------- */

static void obs_client_open(sio__client *c, void *user) {
  const char *t = sio__client_transport(c);
  c->obs_ws = t && strcmp(t, "websocket") == 0;
  sio__admin_count(user, "rawConnection", NULL, 1);
}

static void obs_client_close(sio__client *c, const char *reason, void *user) {
  (void)c;
  sio__admin_count(user, "rawDisconnection", reason, 1);
}

static void obs_packet(sio_io *io, int out, size_t bytes, void *user) {
  (void)io;
  sio__admin_count(user, out ? "packetsOut" : "packetsIn", NULL, 1);
  sio__admin_count(user, out ? "bytesOut" : "bytesIn", NULL, bytes);
}

static void obs_socket_connect(sio_socket *s, void *user) {
  sio__admin *a = user;
  if (!a->dev || a->gone) return;
  if (s->nsp != a->nsp) {
    sio_on_any(s, on_any_in, a);
    sio_on_any_outgoing(s, on_any_out, a);
  }
  sio_on_disconnect(s, on_disconnect, a);
  if (sio__admin_listening(a))
    sio__admin_emit(a, "socket_connected", dated(json_pack("[o]", sio__admin_serialize(s))));
}

static void obs_room(sio_socket *s, const char *room, int joined, void *user) {
  sio__admin *a = user;
  if (!a->dev || !sio__admin_listening(a)) return;
  if (!joined) {
    queue_left(a, s, room);
    return;
  }
  sio__admin_emit(a, "room_joined",
                  dated(json_pack("[s,s,s]", sio_nsp_name(s->nsp), room, sio_id(s))));
}

static void obs_data(sio_socket *s, void *user) {
  sio__admin *a = user;
  if (!a->dev || !sio__admin_listening(a)) return;
  sio__admin_emit(a, "socket_updated",
                  json_pack("[{s:s,s:s,s:o}]", "id", sio_id(s), "nsp", sio_nsp_name(s->nsp), "data",
                            data_of(s)));
}

static void obs_io_free(sio_io *io, void *user) {
  (void)io;
  sio__admin_gone(user);
}

const sio__observer sio__admin_observer = {
    .client_open = obs_client_open,
    .client_close = obs_client_close,
    .packet = obs_packet,
    .socket_connect = obs_socket_connect,
    .room = obs_room,
    .data = obs_data,
    .io_free = obs_io_free,
};
