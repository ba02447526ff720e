/* iofeatures: a Socket.IO server exercising the whole sio_io API, driven by
 * tests/interop/io-features.test.mjs with the official socket.io-client.
 *
 *   iofeatures [--port N] [--compression] [--cleanup-children] [--allow-eio3]
 *
 * Namespace "/" behaves as the conformance server (auth, message-back, message-with-ack) and
 * adds one event per feature: rooms, broadcasts (to/except/broadcast/volatile), server acks with
 * timeouts, broadcast with acks, fetchSockets/socketsJoin/socketsLeave/disconnectSockets,
 * onAny/onAnyOutgoing, socket.use, disconnect reasons, emits from another thread, a binary
 * broadcast to a room ("to-bin").
 * "/mw": io.use()-style middleware (asynchronous accept; refusal with message + data).
 * "/dyn-*": dynamic namespaces. "/custom": emits "auth" like the conformance server.
 * --compression turns on permessage-deflate and gzip of polling responses (the "compressed"
 * event shows socket.compress(on) per packet). --cleanup-children turns on
 * cleanup_empty_child_namespaces ("nsp-exists" shows whether a namespace exists; a "/dyn-*"
 * client with auth {slow: true} waits 150 ms in the parent's middleware; "hold" keeps the
 * socket 200 ms past its disconnect and uses it then). "dyn-ask-all" is a broadcast with acks
 * on the dynamic parent. --allow-eio3 also serves socket.io-client 2.x (sio_io_allow_eio3;
 * tests/interop/io-eio3.test.mjs). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/compat.h"
#include "sio/io.h"

static sio_io *io;
static sio_nsp *dyn; /* the "/dyn-*" parent */

/* --- conformance behaviour --------------------------------------------------------------- */

static void emit_auth(sio_socket *s) {
  sio_msg *m = sio_msg_new("auth");
  sio_msg_raw(m, sio_handshake_auth(s), 0);
  sio_emit_msg(s, m);
}

static void on_message(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emit_args(s, "message-back", a);
}

static void on_message_with_ack(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_send_args(ack, a);
}

/* --- rooms and broadcast ----------------------------------------------------------------- */

static void on_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  for (size_t i = 0; i < sio_args_count(a); i++) sio_join(s, sio_args_str(a, i, NULL));
  if (ack) sio_ack_send(ack);
}

static void on_leave(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_leave(s, sio_args_str(a, 0, NULL));
  if (ack) sio_ack_send(ack);
}

static int add_room(const char *room, void *user) {
  json_array_append_new(user, json_string(room));
  return 0;
}

static void on_room_size(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack)
    sio_ack_sendf(ack, "I",
                  (json_int_t)sio_nsp_room_size(sio_socket_nsp(s), sio_args_str(a, 0, NULL)));
}

static void on_rooms(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  json_t *rooms = json_array();
  sio_rooms(s, add_room, rooms);
  if (ack)
    sio_ack_sendf(ack, "o", rooms);
  else
    json_decref(rooms);
}

/* "to": (rooms[], except[], event, data, fromSocket) */
static void on_to(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  json_t *rooms = sio_args_value(a, 0), *except = sio_args_value(a, 1);
  const char *ev = sio_args_str(a, 2, NULL);
  sio_op *op = sio_args_bool(a, 4) ? sio_broadcast(s) : sio_io_op(io);
  size_t i;
  json_t *v;
  json_array_foreach(rooms, i, v) op = sio_to(op, json_string_value(v));
  json_array_foreach(except, i, v) op = sio_except(op, json_string_value(v));
  size_t len;
  const char *data = sio_args_json(a, 3, &len);
  sio_msg *m = sio_msg_new(ev);
  sio_msg_raw(m, data, len);
  sio_emit_msg(op, m);
  json_decref(rooms);
  json_decref(except);
  if (ack) sio_ack_send(ack);
}

/* "to-bin": (room, event) -> event(<01 02 03>, "bin") to the room, binary encoded once for
 * every recipient (Engine.IO v3 and v4 clients alike) */
static void on_to_bin(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  static const unsigned char bytes[] = {1, 2, 3};
  const char *room = sio_args_str(a, 0, NULL), *ev = sio_args_str(a, 1, NULL);
  if (!room || !ev) return;
  sio_msg *m = sio_msg_new(ev);
  sio_msg_bin(m, bytes, sizeof bytes);
  sio_msg_str(m, "bin");
  sio_emit_msg(sio_to(sio_io_op(io), room), m);
  if (ack) sio_ack_send(ack);
}

static void on_volatile(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t n = 0;
  sio_args_int(a, 0, &n);
  for (int64_t i = 0; i < n; i++) sio_emitf(sio_volatile(s), "vol", "I", (json_int_t)i);
  if (ack) sio_ack_send(ack);
}

/* --- acks from the client -------------------------------------------------------------------- */

static void asked(sio_socket *s, int status, const sio_args *a, void *user) {
  if (status == 0)
    sio_emit_args(s, "ask-result", a);
  else
    sio_emitf(s, "ask-error", "s", sio_strerror(status));
}

/* "ask": (timeoutMs): server emits "question" with an ack and reports the answer or the error */
static void on_ask(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t t = 0;
  sio_args_int(a, 0, &t);
  sio_emit_ack_raw(s, "question", "[\"what?\"]", (uint32_t)t, asked, NULL);
}

/* "ask2": the same through socket.timeout(ms).emit("question", "what?", cb) */
static void on_ask2(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t t = 0;
  sio_args_int(a, 0, &t);
  sio_msg *m = sio_msg_new("question");
  sio_msg_str(m, "what?");
  sio_msg_ack(m, asked, NULL, 0);
  sio_emit_msg(sio_timeout(s, (uint32_t)t), m);
}

static void all_answered(int status, const sio_acks *acks, void *user) {
  sio_socket *s = user;
  json_t *answers = json_array();
  for (size_t i = 0; i < sio_acks_count(acks); i++)
    json_array_append_new(answers, sio_args_value(sio_acks_args(acks, i), 0));
  sio_emitf(s, "ask-all-result", "{s:s?,s:I,s:o}", "error", status ? sio_strerror(status) : NULL,
            "expected", (json_int_t)sio_acks_expected(acks), "answers", answers);
  sio_socket_unref(s);
}

/* "ask-all": (room, timeoutMs): broadcast with acks to the room */
static void on_ask_all(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t t = 0;
  sio_args_int(a, 1, &t);
  sio_msg *m = sio_msg_new("question-all");
  sio_socket_ref(s);
  sio_msg_acks(m, all_answered, s, (uint32_t)t);
  sio_emit_msg(sio_to(io, sio_args_str(a, 0, NULL)), m);
}

/* deferred ack: answered 50 ms later */
typedef struct later {
  uv_timer_t t;
  sio_ack *ack;
} later;

static void later_closed(uv_handle_t *h) {
  free(h->data);
}
static void later_fire(uv_timer_t *t) {
  later *l = t->data;
  sio_ack_sendf(l->ack, "s", "later");
  uv_close((uv_handle_t *)&l->t, later_closed);
}

static void on_slow(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (!ack) return;
  later *l = calloc(1, sizeof(*l));
  l->ack = ack;
  sio_ack_defer(ack);
  uv_timer_init(sio_io_loop(io), &l->t);
  l->t.data = l;
  uv_timer_start(&l->t, later_fire, 50, 0);
}

/* --- server-side operations ----------------------------------------------------------------- */

typedef struct fetch_ctx {
  json_t *ids;
} fetch_ctx;

static void fetched(sio_socket *const *v, size_t n, void *user) {
  json_t *ids = user;
  for (size_t i = 0; i < n; i++) json_array_append_new(ids, json_string(sio_id(v[i])));
}

static void on_fetch(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  json_t *ids = json_array();
  const char *room = sio_args_str(a, 0, NULL);
  sio_op *op = room ? sio_in(io, room) : sio_io_op(io);
  sio_fetch_sockets(op, fetched, ids);
  if (ack)
    sio_ack_sendf(ack, "o", ids);
  else
    json_decref(ids);
}

/* ("sockets-join", room, newRoom) */
static void on_sockets_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_sockets_join(sio_in(io, sio_args_str(a, 0, NULL)), sio_args_str(a, 1, NULL));
  if (ack) sio_ack_send(ack);
}

static void on_sockets_leave(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_sockets_leave(sio_in(io, sio_args_str(a, 0, NULL)), sio_args_str(a, 1, NULL));
  if (ack) sio_ack_send(ack);
}

static void on_disconnect_sockets(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_send(ack);
  sio_disconnect_sockets(sio_in(io, sio_args_str(a, 0, NULL)), sio_args_bool(a, 1));
}

static void on_disconnect_me(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_disconnect(s, sio_args_bool(a, 0));
}

/* --- catch-all, per-packet middleware, errors --------------------------------------------- */

static void any_in(sio_socket *s, const char *ev, const sio_args *a, void *u) {
  if (strcmp(ev, "count-any") == 0) sio_emitf(s, "any-seen", "s", ev);
}

static void any_out(sio_socket *s, const char *ev, const sio_args *a, void *u) {
  if (strcmp(ev, "probe-out") == 0) sio_emitf(s, "out-seen", "s i", ev, (int)sio_args_count(a));
}

static void on_off_any(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_off_any(s, any_in);
  if (ack) sio_ack_send(ack);
}

/* "once-more": answers while registered; "off-once-more" removes it (socket.off) and answers
 * with sio_off's result (0, then SIO_ENOTFOUND once it is gone). */
static void on_once_more(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_sendf(ack, "s", "still here");
}

static void on_off_once_more(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int rc = sio_off(s, "once-more", on_once_more);
  if (ack) sio_ack_sendf(ack, "i", rc);
}

static void on_count_any(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emitf(s, "probe-out", "i i", 1, 2);
}

static int packet_mw(sio_socket *s, const char *ev, const sio_args *a, void *u) {
  return strcmp(ev, "forbidden") == 0 ? -13 /* EACCES */ : 0;
}

static void on_socket_error(sio_socket *s, int err, const char *msg, void *u) {
  sio_emitf(s, "error-reported", "s", msg);
}

/* --- handshake ------------------------------------------------------------------------------ */

static void on_handshake(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (!ack) return;
  const char *q = sio_handshake_query(s, "foo");
  const char *h = sio_handshake_header(s, "x-test");
  sio_ack_sendf(ack, "{s:s?,s:s?,s:s?,s:s?,s:o}", "query", q, "header", h, "address",
                sio_handshake_address(s), "transport", sio_transport(s), "auth",
                sio_handshake_auth_json(s));
}

/* --- other threads --------------------------------------------------------------------------- */

typedef struct thread_job {
  uv_thread_t t;
  char room[64];
} thread_job;

static void thread_main(void *arg) {
  thread_job *j = arg;
  for (int i = 0; i < 20; i++) {
    char args[32];
    snprintf(args, sizeof args, "[%d]", i);
    sio_emit_async_raw(io, "/", j->room, "tick", args);
  }
}

static void join_thread(sio_io *x, void *user) {
  thread_job *j = user;
  uv_thread_join(&j->t);
  free(j);
}

static void on_start_thread(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  thread_job *j = calloc(1, sizeof(*j));
  snprintf(j->room, sizeof j->room, "%s", sio_id(s));
  uv_thread_create(&j->t, thread_main, j);
  /* queued after the thread's emits? not necessarily: join from the loop later */
  sio_call_async(io, join_thread, j);
  if (ack) sio_ack_send(ack);
}

/* --- disconnect reasons --------------------------------------------------------------------- */

static void on_disconnecting(sio_socket *s, const char *reason, void *u) {
  /* rooms are still joined here: tell the "watchers" room */
  int in_watch = sio_in_room(s, "watched");
  if (in_watch)
    sio_emitf(sio_to(io, "watchers"), "gone", "{s:s,s:s}", "id", sio_id(s), "reason", reason);
}

/* "dyn-ask-all": (timeoutMs[, room]): broadcast with acks to every child of the parent */
static void on_dyn_ask_all(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t t = 0;
  sio_args_int(a, 0, &t);
  const char *room = sio_args_str(a, 1, NULL);
  sio_msg *m = sio_msg_new("question-all");
  sio_socket_ref(s);
  sio_msg_acks(m, all_answered, s, (uint32_t)t);
  int rc = sio_emit_msg(room ? sio_to(dyn, room) : sio_nsp_op(dyn), m);
  if (rc) { /* the callback never runs */
    sio_emitf(s, "ask-all-result", "{s:s,s:i,s:[]}", "error", sio_strerror(rc), "expected", 0,
              "answers");
    sio_socket_unref(s);
  }
}

/* "dyn-kick": every socket of every child of the parent is disconnected */
static void on_dyn_kick(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_disconnect_sockets(sio_nsp_op(dyn), 0);
  if (ack) sio_ack_send(ack);
}

/* "nsp-exists": (name) -> whether the namespace exists now */
static void on_nsp_exists(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  const char *name = sio_args_str(a, 0, NULL);
  if (ack) sio_ack_sendf(ack, "b", name && sio_nsp_find(io, name) != NULL);
}

/* a broadcast on the dynamic parent reaches every child namespace */
static void on_dyn_bcast(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emit_args(dyn, "dyn-hello", a);
  if (ack) sio_ack_send(ack);
}

/* "flood": (count, size) -> that many "blob" events of size bytes (send-buffer limit tests) */
static void on_flood(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t n = 0, size = 0;
  sio_args_int(a, 0, &n);
  sio_args_int(a, 1, &size);
  char *blob = malloc((size_t)size + 1);
  memset(blob, 'x', (size_t)size);
  blob[size] = 0;
  sio_socket_ref(s);
  for (int64_t i = 0; i < n && sio_connected(s); i++) {
    sio_msg *m = sio_msg_new("blob");
    sio_msg_str(m, blob);
    sio_emit_msg(s, m);
  }
  sio_socket_unref(s);
  free(blob);
}

/* "compressed": (on, size[, room]) -> "big" with a string of size bytes, through
 * socket.compress(on).emit, or io.to(room).compress(on).emit when a room is given */
static void on_compressed(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  int64_t size = 0;
  sio_args_int(a, 1, &size);
  if (size < 0 || size > 100000) size = 0;
  char *blob = malloc((size_t)size + 1);
  if (!blob) return;
  for (int64_t i = 0; i < size; i++) blob[i] = (char)('a' + i % 7);
  blob[size] = 0;
  const char *room = sio_args_str(a, 2, NULL);
  sio_op *op = room ? sio_to(io, room) : sio_socket_self_op(s);
  sio_msg *m = sio_msg_new("big");
  sio_msg_str(m, blob);
  sio_emit_msg(sio_compress(op, sio_args_bool(a, 0)), m);
  free(blob);
  if (ack) sio_ack_send(ack);
}

static void on_connection(sio_socket *s, void *u) {
  emit_auth(s);
  sio_on(s, "compressed", on_compressed, NULL);
  sio_on(s, "flood", on_flood, NULL);
  sio_on(s, "dyn-bcast", on_dyn_bcast, NULL);
  sio_on(s, "dyn-ask-all", on_dyn_ask_all, NULL);
  sio_on(s, "nsp-exists", on_nsp_exists, NULL);
  sio_on(s, "dyn-kick", on_dyn_kick, NULL);
  sio_on(s, "message", on_message, NULL);
  sio_on(s, "message-with-ack", on_message_with_ack, NULL);
  sio_on(s, "join", on_join, NULL);
  sio_on(s, "leave", on_leave, NULL);
  sio_on(s, "rooms", on_rooms, NULL);
  sio_on(s, "room-size", on_room_size, NULL);
  sio_on(s, "to", on_to, NULL);
  sio_on(s, "volatile", on_volatile, NULL);
  sio_on(s, "to-bin", on_to_bin, NULL);
  sio_on(s, "ask", on_ask, NULL);
  sio_on(s, "ask2", on_ask2, NULL);
  sio_on(s, "ask-all", on_ask_all, NULL);
  sio_on(s, "slow", on_slow, NULL);
  sio_on(s, "fetch", on_fetch, NULL);
  sio_on(s, "sockets-join", on_sockets_join, NULL);
  sio_on(s, "sockets-leave", on_sockets_leave, NULL);
  sio_on(s, "disconnect-sockets", on_disconnect_sockets, NULL);
  sio_on(s, "disconnect-me", on_disconnect_me, NULL);
  sio_on(s, "count-any", on_count_any, NULL);
  sio_on(s, "off-any", on_off_any, NULL);
  sio_on(s, "once-more", on_once_more, NULL);
  sio_on(s, "off-once-more", on_off_once_more, NULL);
  sio_on(s, "handshake", on_handshake, NULL);
  sio_on(s, "start-thread", on_start_thread, NULL);
  sio_on_any(s, any_in, NULL);
  sio_on_any_outgoing(s, any_out, NULL);
  sio_socket_use(s, packet_mw, NULL);
  sio_on_error(s, on_socket_error, NULL);
  sio_on_disconnecting(s, on_disconnecting, NULL);
}

/* --- /mw: middleware ------------------------------------------------------------------------ */

typedef struct mw_later {
  uv_timer_t t;
  sio_mw *mw;
} mw_later;

static void mw_fire(uv_timer_t *t) {
  mw_later *l = t->data;
  sio_mw_next(l->mw);
  uv_close((uv_handle_t *)&l->t, later_closed);
}

/* first middleware: asynchronous, lets everyone through after 20 ms */
static void mw_async(sio_socket *s, sio_mw *mw, void *u) {
  mw_later *l = calloc(1, sizeof(*l));
  l->mw = mw;
  uv_timer_init(sio_io_loop(io), &l->t);
  l->t.data = l;
  uv_timer_start(&l->t, mw_fire, 20, 0);
}

/* second: auth.token must be "ok" */
static void mw_auth(sio_socket *s, sio_mw *mw, void *u) {
  json_t *auth = sio_handshake_auth_json(s);
  const char *tok = json_string_value(json_object_get(auth, "token"));
  if (tok && strcmp(tok, "ok") == 0) {
    sio_socket_set_data(s, "authorized");
    sio_mw_next(mw);
  } else {
    sio_mw_fail(mw, "not authorized", "{\"code\":42}");
  }
  json_decref(auth);
}

static void on_mw_connection(sio_socket *s, void *u) {
  sio_emitf(s, "welcome", "s", (const char *)sio_socket_data(s));
}

/* --- dynamic ------------------------------------------------------------------------------- */

/* the parent's middleware: auth {slow: true} waits 150 ms (a pending socket in the child) */
static void dyn_mw(sio_socket *s, sio_mw *mw, void *u) {
  json_t *auth = sio_handshake_auth_json(s);
  int slow = json_is_true(json_object_get(auth, "slow"));
  json_decref(auth);
  if (!slow) {
    sio_mw_next(mw);
    return;
  }
  mw_later *l = calloc(1, sizeof(*l));
  l->mw = mw;
  uv_timer_init(sio_io_loop(io), &l->t);
  l->t.data = l;
  uv_timer_start(&l->t, mw_fire, 150, 0);
}

typedef struct held {
  uv_timer_t t;
  sio_socket *s;
  char nsp[64];
} held;

/* 200 ms after "hold": the socket (kept with a reference) has left and its namespace may be
 * gone; every call on it must still be safe */
static void held_fire(uv_timer_t *t) {
  held *h = t->data;
  sio_socket *s = h->s;
  int rc = sio_emitf(s, "late", "i", 1);
  const char *name = sio_nsp_name(sio_socket_nsp(s));
  sio_emitf(sio_socket_nsp(s), "late", "i", 2); /* to a removed child: reaches nobody */
  sio_emit_async_raw(io, h->nsp, NULL, "late", "[3]");
  if (rc != SIO_ECLOSED || !name || strcmp(name, h->nsp) != 0)
    fprintf(stderr, "iofeatures: BUG a held socket misbehaves (%d)\n", rc);
  sio_socket_unref(s);
  uv_close((uv_handle_t *)&h->t, later_closed);
}

static void on_hold(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  held *h = calloc(1, sizeof(*h));
  h->s = s;
  sio_socket_ref(s);
  snprintf(h->nsp, sizeof h->nsp, "%s", sio_nsp_name(sio_socket_nsp(s)));
  uv_timer_init(sio_io_loop(io), &h->t);
  h->t.data = h;
  uv_timer_start(&h->t, held_fire, 200, 0);
  if (ack) sio_ack_send(ack);
}

static void on_dyn_connection(sio_socket *s, void *u) {
  sio_on(s, "hold", on_hold, NULL);
  sio_on(s, "join", on_join, NULL);
  sio_emitf(s, "nsp", "s", sio_nsp_name(sio_socket_nsp(s)));
}

static void on_custom_connection(sio_socket *s, void *u) {
  emit_auth(s);
}

int main(int argc, char **argv) {
  int port = 3000, compression = 0, cleanup = 0, eio3 = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--compression")) {
      compression = 1;
    } else if (!strcmp(argv[i], "--cleanup-children")) {
      cleanup = 1;
    } else if (!strcmp(argv[i], "--allow-eio3")) {
      eio3 = 1;
    } else {
      fprintf(stderr, "usage: iofeatures [--port N] [--compression] [--cleanup-children] "
                      "[--allow-eio3]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &ao);
  sio_io_opts o = sio_io_opts_default();
  o.ping_interval_ms = 300;
  o.ping_timeout_ms = 200;
  o.connect_timeout_ms = 1000;
  o.cors_origin = "*";
  o.per_message_deflate = compression;
  o.http_compression = compression;
  o.cleanup_empty_child_namespaces = cleanup;
  io = sio_io_attach(app, &o);
  if (!app || !io) {
    fprintf(stderr, "iofeatures: cannot start\n");
    return 1;
  }
  if (eio3) sio_io_allow_eio3(io, 1);
  sio_on_connection(io, on_connection, NULL);
  sio_on_connection(sio_of(io, "/custom"), on_custom_connection, NULL);
  sio_nsp *mw = sio_of(io, "/mw");
  sio_nsp_use(mw, mw_async, NULL);
  sio_nsp_use(mw, mw_auth, NULL);
  sio_on_connection(mw, on_mw_connection, NULL);
  dyn = sio_of_pattern(io, "/dyn-*");
  sio_nsp_use(dyn, dyn_mw, NULL);
  sio_on_connection(dyn, on_dyn_connection, NULL);
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "iofeatures: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("http://localhost:%d/ (Socket.IO at /socket.io/)\n", sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  sio_io_free(io);
  return 0;
}
