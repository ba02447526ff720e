/* cluster: a Socket.IO server in a Redis cluster (sio/redis.h), whose events let a test drive
 * every cluster operation from an ordinary client. The Node twin,
 * tests/interop/reference/cluster-server.mjs (npm socket.io + @socket.io/redis-adapter),
 * answers the same events the same way, so tests/interop/redis-*.test.mjs drive any mix of
 * sio and Node servers; its comment lists the events. Each takes one object and answers
 * through its ack; the namespace is the client's own ("/" or a dynamic "/dyn-*").
 *
 *   cluster --port N --redis URL [--sharded | --streams] [--stream-count N] [--key K]
 *           [--subscription-mode M] [--id NAME] [--requests-timeout MS]
 *   cluster --port N --workers N [--subscription-mode M] [--id NAME] [--requests-timeout MS]
 *
 * --workers N: N worker processes on the port (sio/workers.h) joined by the workers' adapter
 * (sio_workers_adapter_new: the sharded adapter's messages over Unix sockets, no Redis); each
 * worker is server "<id>-w<index>" (the id's default is "c").
 *
 * --streams: the Redis Streams adapter (sio_redis_streams_adapter_new, Node's
 * @socket.io/redis-streams-adapter), --key its channel prefix.
 *
 * socket.data, a C pointer in sio, is given its JSON form for the other servers with
 * sio_socket_set_data_json: {server, name: auth.name}, as the Node twin's. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/cluster.h"
#include "sio/io.h"
#include "sio/redis.h"
#include "sio/workers.h"

static const char *server_id = "c";

/* --- answers ------------------------------------------------------------------------------ */

/* Answers ack with one value (stolen). */
static void answer(sio_ack *ack, json_t *v) {
  json_t *list = json_array();
  json_array_append_new(list, v ? v : json_null());
  if (ack) sio_ack_send_value(ack, list);
  json_decref(list);
}

static void answer_error(sio_ack *ack, const char *message) {
  answer(ack, json_pack("{s:s}", "error", message));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names as a sorted JSON array. */
static json_t *sorted_names(const char *const *names, size_t n) {
  const char **copy = malloc((n ? n : 1) * sizeof *copy);
  json_t *out = json_array();
  if (!copy) return out;
  memcpy(copy, names, n * sizeof *copy);
  qsort(copy, n, sizeof *copy, cmp_str);
  for (size_t i = 0; i < n; i++) json_array_append_new(out, json_string(copy[i]));
  free(copy);
  return out;
}

typedef struct names {
  const char *v[256];
  size_t n;
} room_list;

static int add_room(const char *room, void *u) {
  room_list *r = u;
  if (r->n < sizeof r->v / sizeof r->v[0]) r->v[r->n++] = room;
  return 0;
}

static json_t *rooms_of(sio_socket *s) {
  room_list r = {.n = 0};
  sio_rooms(s, add_room, &r);
  return sorted_names(r.v, r.n);
}

/* --- selections: {to, except} ------------------------------------------------------------- */

static sio_op *select_op(sio_nsp *nsp, json_t *a) {
  sio_op *op = sio_nsp_op(nsp);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(a, "to"), i, v) op = sio_op_to(op, json_string_value(v));
  json_array_foreach(json_object_get(a, "except"), i, v) {
    op = sio_op_except(op, json_string_value(v));
  }
  return op;
}

/* The arguments of an event from {event, args[, bin]}. */
static sio_msg *message(json_t *a) {
  sio_msg *m = sio_msg_new(json_string_value(json_object_get(a, "event")));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(a, "args"), i, v) sio_msg_value(m, v);
  json_t *bin = json_object_get(a, "bin");
  if (json_is_array(bin)) {
    unsigned char bytes[1024];
    size_t n = 0;
    json_array_foreach(bin, i, v) if (n < sizeof bytes) bytes[n++] =
        (unsigned char)json_integer_value(v);
    sio_msg_bin(m, bytes, n);
  }
  return m;
}

/* --- binary values ------------------------------------------------------------------------ */

/* A copy of v (a value of args) with each binary placeholder replaced: attached to m again
 * (binaries going back to a client), or, m NULL, described as {"bin": [bytes...]} (the Node
 * twin's form for a Buffer in its logs). */
static json_t *rebind(json_t *v, const sio_args *args, sio_msg *m) {
  json_t *num = json_object_get(v, "num");
  const void *data;
  size_t len, i;
  if (json_is_true(json_object_get(v, "_placeholder")) && json_is_integer(num) &&
      !sio_args_attachment(args, (size_t)json_integer_value(num), &data, &len)) {
    if (m) return json_pack("{s:b,s:i}", "_placeholder", 1, "num", sio_msg_attach(m, data, len));
    json_t *bytes = json_array();
    for (i = 0; i < len; i++)
      json_array_append_new(bytes, json_integer(((unsigned char *)data)[i]));
    return json_pack("{s:o}", "bin", bytes);
  }
  json_t *out, *e;
  const char *key;
  if (json_is_array(v)) {
    out = json_array();
    json_array_foreach(v, i, e) json_array_append_new(out, rebind(e, args, m));
  } else if (json_is_object(v)) {
    out = json_object();
    json_object_foreach(v, key, e) json_object_set_new(out, key, rebind(e, args, m));
  } else {
    out = json_incref(v);
  }
  return out;
}

/* Every argument of args, binaries described. */
static json_t *described_args(const sio_args *args) {
  json_t *all = sio_args_value_all(args);
  json_t *out = rebind(all, args, NULL);
  json_decref(all);
  return out;
}

/* --- the events --------------------------------------------------------------------------- */

typedef void (*handler_fn)(sio_socket *s, json_t *a, sio_ack *ack);
typedef struct handler {
  const char *event;
  handler_fn fn;
} handler;

static void on_whoami(sio_socket *s, json_t *a, sio_ack *ack) {
  answer(ack, json_pack("{s:s,s:s,s:s}", "server", server_id, "id", sio_id(s), "nsp",
                        sio_nsp_name(sio_socket_nsp(s))));
}

static void on_join(sio_socket *s, json_t *a, sio_ack *ack) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(a, "rooms"), i, v) sio_join(s, json_string_value(v));
  answer(ack, rooms_of(s));
}

static void on_my_rooms(sio_socket *s, json_t *a, sio_ack *ack) {
  answer(ack, rooms_of(s));
}

static void on_broadcast(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_op *op = select_op(sio_socket_nsp(s), a);
  if (json_is_true(json_object_get(a, "volatile"))) op = sio_op_volatile(op);
  json_t *compress = json_object_get(a, "compress");
  if (compress) op = sio_op_compress(op, json_is_true(compress));
  if (json_is_true(json_object_get(a, "local"))) op = sio_op_local(op);
  int rc = sio_op_emit_msg(op, message(a));
  rc ? answer_error(ack, sio_strerror(rc)) : answer(ack, json_true());
}

static void broadcast_acks_done(int status, const sio_acks *acks, void *user) {
  sio_msg *m = sio_msg_new(NULL); /* binary answers go back to the client as binary */
  json_t *responses = json_array();
  for (size_t i = 0; i < sio_acks_count(acks); i++) {
    const sio_args *args = sio_acks_args(acks, i);
    json_t *first = sio_args_value(args, 0);
    json_array_append_new(responses, first ? rebind(first, args, m) : json_null());
    json_decref(first);
  }
  /* Node's message for a broadcast whose clients did not all answer in time */
  json_t *err = status ? json_string(status == SIO_ETIMEDOUT ? "operation has timed out"
                                                             : sio_strerror(status))
                       : json_null();
  json_t *out = json_pack("{s:o,s:o}", "error", err, "responses", responses);
  sio_msg_value(m, out);
  sio_ack_send_msg(user, m);
  json_decref(out);
}

static void on_broadcast_ack(sio_socket *s, json_t *a, sio_ack *ack) {
  json_t *t = json_object_get(a, "timeout");
  uint32_t ms = t ? (uint32_t)json_integer_value(t) : 1000;
  sio_msg *m = message(a);
  sio_ack_defer(ack);
  sio_msg_acks(m, broadcast_acks_done, ack, ms);
  int rc = sio_op_emit_msg(sio_op_timeout(select_op(sio_socket_nsp(s), a), ms), m);
  if (rc) answer_error(ack, sio_strerror(rc));
}

static json_t *describe(const sio_remote_socket *r) {
  json_t *handshake = json_loads(r->handshake_json, JSON_DECODE_ANY, NULL);
  json_t *data = json_loads(r->data_json ? r->data_json : "{}", JSON_DECODE_ANY, NULL);
  return json_pack("{s:s,s:o,s:o,s:o}", "id", r->id, "handshake",
                   handshake ? handshake : json_null(), "rooms", sorted_names(r->rooms, r->nrooms),
                   "data", data ? data : json_object());
}

static void add_described(int status, const sio_remote_socket *sockets, size_t n, void *user) {
  for (size_t i = 0; i < n; i++) json_array_append_new(user, describe(&sockets[i]));
}

typedef struct fetch {
  sio_ack *ack;
  json_t *list;
} fetch;

static int cmp_id(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "id")),
                json_string_value(json_object_get(*(json_t *const *)b, "id")));
}

static void fetch_done(int status, const sio_remote_socket *sockets, size_t n, void *user) {
  fetch *f = user;
  add_described(status, sockets, n, f->list);
  size_t count = json_array_size(f->list);
  json_t **items = malloc((count ? count : 1) * sizeof *items);
  json_t *out = json_array();
  for (size_t i = 0; items && i < count; i++) items[i] = json_array_get(f->list, i);
  if (items) qsort(items, count, sizeof *items, cmp_id);
  for (size_t i = 0; items && i < count; i++) json_array_append(out, items[i]);
  free(items);
  if (status && status != SIO_ETIMEDOUT) {
    answer_error(f->ack, sio_strerror(status));
    json_decref(out);
  } else {
    answer(f->ack, out);
  }
  json_decref(f->list);
  free(f);
}

/* fetchSockets(): this server's sockets and the others', described alike. */
static void on_fetch(sio_socket *s, json_t *a, sio_ack *ack) {
  fetch *f = malloc(sizeof *f);
  if (!f) {
    answer_error(ack, "out of memory");
    return;
  }
  f->ack = ack;
  f->list = json_array();
  sio_ack_defer(ack);
  int rc = sio_fetch_all_sockets(select_op(sio_socket_nsp(s), a), fetch_done, f);
  if (rc) fetch_done(rc, NULL, 0, f);
}

/* A RemoteSocket's calls are operations on the socket's own room, as in Node. */
typedef struct remote {
  sio_ack *ack;
  sio_nsp *nsp;
  json_t *a;
} remote;

static void remote_apply(sio_nsp *nsp, json_t *a) {
  const char *id = json_string_value(json_object_get(a, "id"));
  const char *op = json_string_value(json_object_get(a, "op"));
  json_t *rooms = json_object_get(a, "rooms");
  if (json_is_string(rooms))
    rooms = json_pack("[O]", rooms);
  else
    json_incref(rooms);
  size_t i;
  json_t *v;
  if (!strcmp(op, "emit")) {
    sio_op_emit_msg(sio_op_to(sio_nsp_op(nsp), id), message(a));
  } else if (!strcmp(op, "join")) {
    json_array_foreach(rooms, i, v)
        sio_sockets_join(sio_op_to(sio_nsp_op(nsp), id), json_string_value(v));
  } else if (!strcmp(op, "leave")) {
    json_array_foreach(rooms, i, v)
        sio_sockets_leave(sio_op_to(sio_nsp_op(nsp), id), json_string_value(v));
  } else if (!strcmp(op, "disconnect")) {
    sio_disconnect_sockets(sio_op_to(sio_nsp_op(nsp), id),
                           json_is_true(json_object_get(a, "close")));
  }
  json_decref(rooms);
}

static void remote_found(int status, const sio_remote_socket *sockets, size_t n, void *user) {
  remote *r = user;
  const char *id = json_string_value(json_object_get(r->a, "id"));
  int found = 0;
  for (size_t i = 0; i < n; i++) found |= !strcmp(sockets[i].id, id);
  if (found) remote_apply(r->nsp, r->a);
  answer(r->ack, json_pack("{s:b}", "found", found));
  json_decref(r->a);
  free(r);
}

static void on_remote(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_nsp *nsp = sio_socket_nsp(s);
  const char *id = json_string_value(json_object_get(a, "id"));
  if (!id || !json_is_string(json_object_get(a, "op"))) {
    answer_error(ack, "id and op");
    return;
  }
  remote *r = malloc(sizeof *r);
  if (!r) {
    answer_error(ack, "out of memory");
    return;
  }
  *r = (remote){.ack = ack, .nsp = nsp, .a = json_incref(a)};
  sio_ack_defer(ack);
  int rc = sio_fetch_all_sockets(sio_op_to(sio_nsp_op(nsp), id), remote_found, r);
  if (rc) remote_found(rc, NULL, 0, r);
}

/* socketsJoin / socketsLeave: one call per room (each consumes its operator). */
static void rooms_op(sio_socket *s, json_t *a, sio_ack *ack, int (*fn)(sio_op *, const char *)) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(a, "rooms"), i, v) {
    fn(select_op(sio_socket_nsp(s), a), json_string_value(v));
  }
  answer(ack, json_true());
}

static void on_sockets_join(sio_socket *s, json_t *a, sio_ack *ack) {
  rooms_op(s, a, ack, sio_sockets_join);
}

static void on_sockets_leave(sio_socket *s, json_t *a, sio_ack *ack) {
  rooms_op(s, a, ack, sio_sockets_leave);
}

static void on_disconnect_sockets(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_disconnect_sockets(select_op(sio_socket_nsp(s), a),
                         json_is_true(json_object_get(a, "close")));
  answer(ack, json_true());
}

static void ss_emit_done(int status, const char *const *answers, size_t n, void *user) {
  json_t *responses = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_loads(answers[i], JSON_DECODE_ANY, NULL);
    json_array_append_new(responses, v ? v : json_null());
  }
  json_t *err = status ? json_string(sio_strerror(status)) : json_null();
  answer(user, json_pack("{s:o,s:o}", "error", err, "responses", responses));
}

static void on_ss_emit(sio_socket *s, json_t *a, sio_ack *ack) {
  const char *event = json_string_value(json_object_get(a, "event"));
  json_t *args = json_object_get(a, "args");
  char *args_json = args ? json_dumps(args, JSON_COMPACT) : NULL;
  int rc, bin = json_object_get(a, "bin") != NULL; /* binary: built as a sio_msg */
  if (!json_is_true(json_object_get(a, "ack"))) {
    rc = bin ? sio_server_side_emit_msg(sio_socket_nsp(s), message(a))
             : sio_server_side_emit_raw(sio_socket_nsp(s), event, args_json);
    rc ? answer_error(ack, sio_strerror(rc)) : answer(ack, json_true());
  } else {
    sio_ack_defer(ack);
    rc = bin ? sio_server_side_emit_ack_msg(sio_socket_nsp(s), message(a), 0, ss_emit_done, ack)
             : sio_server_side_emit_ack_raw(sio_socket_nsp(s), event, args_json, 0, ss_emit_done,
                                            ack);
    if (rc) answer_error(ack, sio_strerror(rc));
  }
  free(args_json);
}

/* Each namespace's log of the server-side events it received, by namespace name; a
 * namespace is in it once wired. */
static json_t *ss_logs;

static json_t *ss_log(sio_nsp *nsp) {
  json_t *log = json_object_get(ss_logs, sio_nsp_name(nsp));
  if (!log) {
    log = json_array();
    json_object_set_new(ss_logs, sio_nsp_name(nsp), log);
  }
  return log;
}

static void on_get_ss_log(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_nsp *nsp = sio_socket_nsp(s);
  json_t *log = ss_log(nsp);
  answer(ack, json_incref(log));
  json_array_clear(log);
}

static void count_done(int status, size_t n, void *user) {
  status ? answer_error(user, sio_strerror(status)) : answer(user, json_integer((json_int_t)n));
}

static void on_count(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_ack_defer(ack);
  int rc = sio_server_count(sio_socket_nsp(s), count_done, ack);
  if (rc) count_done(rc, 0, ack);
}

static void rooms_done(int status, const char *const *names, size_t n, void *user) {
  status ? answer_error(user, sio_strerror(status)) : answer(user, sorted_names(names, n));
}

static void on_all_rooms(sio_socket *s, json_t *a, sio_ack *ack) {
  sio_ack_defer(ack);
  int rc = sio_nsp_all_rooms(sio_socket_nsp(s), rooms_done, ack);
  if (rc) rooms_done(rc, NULL, 0, ack);
}

static void on_burst(sio_socket *s, json_t *a, sio_ack *ack) {
  const char *event = json_string_value(json_object_get(a, "event"));
  json_int_t count = json_integer_value(json_object_get(a, "count"));
  for (json_int_t seq = 0; seq < count; seq++) {
    sio_op_emitf(select_op(sio_socket_nsp(s), a), event, "{s:s,s:I}", "from", server_id, "seq",
                 seq);
  }
  answer(ack, json_true());
}

static const handler handlers[] = {
    {"whoami", on_whoami},
    {"join", on_join},
    {"my-rooms", on_my_rooms},
    {"do-broadcast", on_broadcast},
    {"do-broadcast-ack", on_broadcast_ack},
    {"do-fetch", on_fetch},
    {"do-remote", on_remote},
    {"do-join", on_sockets_join},
    {"do-leave", on_sockets_leave},
    {"do-disconnect", on_disconnect_sockets},
    {"do-ss-emit", on_ss_emit},
    {"get-ss-log", on_get_ss_log},
    {"do-count", on_count},
    {"do-rooms", on_all_rooms},
    {"do-burst", on_burst},
};

/* Every event: its object argument parsed, then its handler (user). */
static void on_event(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  json_t *a = sio_args_type(args, 0) == SIO_T_OBJECT ? sio_args_value(args, 0) : json_object();
  const handler *h = user;
  if (a) h->fn(s, a, ack);
  json_decref(a);
}

/* --- server-side events: "ss-note" is recorded, "ss-ask" recorded and answered, "ss-echo"
 * answered with its first argument ---------------------------------------------------------- */

static void on_server_side(sio_nsp *nsp, const sio_args *args, sio_server_ack *ack, void *user) {
  json_t *list = described_args(args);
  json_array_append_new(ss_log(nsp),
                        json_pack("{s:s,s:O}", "event", (const char *)user, "args", list));
  if (ack) {
    json_t *reply = json_pack("{s:s,s:O}", "server", server_id, "args", list);
    char *text = json_dumps(reply, JSON_COMPACT);
    sio_server_ack_send_raw(ack, text);
    free(text);
    json_decref(reply);
  }
  json_decref(list);
}

/* A server-side answer is JSON text: a binary first argument goes back as Node's JSON would
 * carry a Buffer, {"type":"Buffer","data":[...]}. */
static void on_server_echo(sio_nsp *nsp, const sio_args *args, sio_server_ack *ack, void *user) {
  const void *data;
  size_t len, len_json;
  if (!ack) return;
  if (!sio_args_bin(args, 0, &data, &len)) {
    json_t *bytes = json_array();
    for (size_t i = 0; i < len; i++)
      json_array_append_new(bytes, json_integer(((const unsigned char *)data)[i]));
    json_t *buffer = json_pack("{s:s,s:o}", "type", "Buffer", "data", bytes);
    char *text = json_dumps(buffer, JSON_COMPACT);
    sio_server_ack_send_raw(ack, text);
    free(text);
    json_decref(buffer);
    return;
  }
  const char *first = sio_args_json(args, 0, &len_json);
  char *text = first ? strndup(first, len_json) : NULL;
  sio_server_ack_send_raw(ack, text);
  free(text);
}

/* Once per namespace (a dynamic child is made on its first connection). */
static void wire_namespace(sio_nsp *nsp) {
  if (json_object_get(ss_logs, sio_nsp_name(nsp))) return;
  ss_log(nsp);
  sio_nsp_on_server_side(nsp, "ss-note", on_server_side, "ss-note");
  sio_nsp_on_server_side(nsp, "ss-ask", on_server_side, "ss-ask");
  sio_nsp_on_server_side(nsp, "ss-echo", on_server_echo, NULL);
}

/* socket.data as other servers see it: {server, name: auth.name}, as the Node twin's. */
static void set_data(sio_socket *s) {
  json_t *auth = sio_handshake_auth_json(s);
  json_t *name = json_object_get(auth, "name");
  json_t *data = json_pack("{s:s,s:O}", "server", server_id, "name", name ? name : json_null());
  char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
  if (text) sio_socket_set_data_json(s, text);
  free(text);
  json_decref(data);
  json_decref(auth);
}

static void on_connection(sio_socket *s, void *u) {
  wire_namespace(sio_socket_nsp(s));
  set_data(s);
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
    sio_on(s, handlers[i].event, on_event, (void *)&handlers[i]);
  }
}

static int match_dyn(const char *name, const char *auth_json, void *user) {
  if (strncmp(name, "/dyn-", 5) || !name[5]) return 0;
  for (const char *p = name + 5; *p; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) return 0;
  }
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: cluster --port N --redis URL [--sharded | --streams] [--stream-count N] "
                  "[--key K] [--subscription-mode M] [--id NAME] [--requests-timeout MS]\n"
                  "       cluster --port N --workers N [--subscription-mode M] [--id NAME] "
                  "[--requests-timeout MS]\n");
  return 2;
}

typedef struct options {
  int port, streams;
  const char *url;
  sio_redis_adapter_opts ro;
  sio_redis_streams_opts so;
} options;

static int serve(sio_worker *w, void *user);

int main(int argc, char **argv) {
  options op = {.port = 3000,
                .url = "redis://127.0.0.1:6379",
                .ro = sio_redis_adapter_opts_default(),
                .so = sio_redis_streams_opts_default()};
  int workers = -1;
  int port = 3000, streams = 0;
  const char *url = op.url;
  sio_redis_adapter_opts ro = op.ro;
  sio_redis_streams_opts so = op.so;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--sharded"))
      ro.sharded = 1;
    else if (!strcmp(argv[i], "--streams"))
      streams = 1;
    else if (!v)
      return usage();
    else if (!strcmp(argv[i], "--port"))
      port = atoi(v), i++;
    else if (!strcmp(argv[i], "--redis"))
      url = v, i++;
    else if (!strcmp(argv[i], "--key"))
      ro.key = v, i++;
    else if (!strcmp(argv[i], "--subscription-mode"))
      ro.subscription_mode = v, i++;
    else if (!strcmp(argv[i], "--stream-count"))
      so.stream_count = (unsigned)atoi(v), i++;
    else if (!strcmp(argv[i], "--id"))
      server_id = v, i++;
    else if (!strcmp(argv[i], "--requests-timeout"))
      ro.requests_timeout_ms = (uint32_t)atoi(v), i++;
    else if (!strcmp(argv[i], "--workers"))
      workers = atoi(v), i++;
    else
      return usage();
  }
  op.port = port, op.streams = streams, op.url = url, op.ro = ro, op.so = so;
  if (workers < 0) return serve(NULL, &op);
  if (port == 0 || streams) return usage(); /* workers need a fixed port, and no Redis */
  sio_workers_opts wo = sio_workers_opts_default();
  wo.count = workers;
  int rc = sio_workers_run(&wo, serve, &op);
  if (rc < 0) fprintf(stderr, "cluster: workers: %s\n", sio_strerror(rc));
  return rc == 0 ? 0 : 1;
}

/* One server: the whole program, or one worker's life. */
static int serve(sio_worker *w, void *user) {
  options *op = user;
  int port = op->port, streams = op->streams;
  const char *url = op->url;
  sio_redis_adapter_opts ro = op->ro;
  sio_redis_streams_opts so = op->so;
  static char worker_id[64];
  if (w) {
    snprintf(worker_id, sizeof worker_id, "%s-w%d", server_id, sio_worker_index(w));
    server_id = worker_id;
  }
  signal(SIGPIPE, SIG_IGN);
  ss_logs = json_object();
  uv_loop_t *loop = uv_default_loop();
  sio_redis_adapter *ra = NULL;
  if (ro.key) so.channel_prefix = ro.key;
  if (ro.requests_timeout_ms) so.requests_timeout_ms = ro.requests_timeout_ms;
  int rc = w         ? sio_workers_adapter_new(loop, w, &ro, &ra)
           : streams ? sio_redis_streams_adapter_new(loop, url, &so, &ra)
                     : sio_redis_adapter_new(loop, url, &ro, &ra);
  if (rc) {
    fprintf(stderr, "cluster: %s\n", sio_redis_strerror(rc));
    return 1;
  }
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0; /* --port 0: a free one */
  ao.handle_signals = 1;   /* SIGTERM/SIGINT: a graceful shutdown, then uv_run returns */
  ao.worker = w;
  sio_app *app = sio_app_new(loop, &ao);
  sio_io_opts o = sio_io_opts_default();
  o.cors_origin = "*";
  o.adapter = sio_redis_adapter_factory;
  o.adapter_arg = ra;
  sio_io *io = app ? sio_io_attach(app, &o) : NULL;
  if (!io) {
    fprintf(stderr, "cluster: cannot start\n");
    return 1;
  }
  sio_on_connection(io, on_connection, NULL);
  wire_namespace(sio_of(io, "/"));
  sio_on_connection(sio_of_match(io, match_dyn, NULL), on_connection, NULL);
  rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "cluster: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("cluster (%s, %s) listening on http://127.0.0.1:%d\n", server_id,
         w            ? "workers"
         : streams    ? "streams"
         : ro.sharded ? "sharded"
                      : "classic",
         sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app); /* and the Socket.IO server attached to it */
  sio_redis_adapter_free(ra);
  uv_run(loop, UV_RUN_DEFAULT); /* their handles close */
  json_decref(ss_logs);
  return 0;
}
